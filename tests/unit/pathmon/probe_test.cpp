// Probe codec: layout, round trip, rejection of bad input, reply construction, the
// reply's receive counts (present, absent for an older peer, truncated).
#include "pathmon/probe.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <vector>

namespace braid::pathmon {
namespace {

TEST(Probe, LayoutIsFixedAndBigEndian) {
  ProbeMessage m{ProbeType::kReply,     0x0102,    0x03040506, 0x1112131415161718ull,
                 0x2122232425262728ull, 0x31323334};
  std::array<uint8_t, kProbeSize> buf{};
  ByteWriter w(buf);
  ASSERT_TRUE(encodeProbe(m, w));
  EXPECT_EQ(w.position(), kProbeSize);
  const std::array<uint8_t, kProbeSize> expected = {
      0x12, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
      0x17, 0x18, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x31, 0x32, 0x33, 0x34};
  EXPECT_EQ(buf, expected);
  ProbeMessage back;
  ASSERT_TRUE(decodeProbe(buf, back));
  EXPECT_EQ(back, m);
}

TEST(Probe, ShortWriterFails) {
  std::array<uint8_t, kProbeSize - 1> buf{};
  ByteWriter w(buf);
  EXPECT_FALSE(encodeProbe(ProbeMessage{}, w));
}

TEST(Probe, RejectsShortBadVersionAndUnknownType) {
  std::array<uint8_t, kProbeSize> buf{};
  ByteWriter w(buf);
  ASSERT_TRUE(encodeProbe(ProbeMessage{}, w));
  ProbeMessage m;
  for (size_t n = 0; n < kProbeSize; ++n) EXPECT_FALSE(decodeProbe(Bytes(buf.data(), n), m));
  auto bad = buf;
  bad[0] = 0x21;  // version 2
  EXPECT_FALSE(decodeProbe(bad, m));
  for (uint8_t t : {0, 3, 15}) {
    bad = buf;
    bad[0] = static_cast<uint8_t>(0x10 | t);
    EXPECT_FALSE(decodeProbe(bad, m)) << int{t};
  }
}

TEST(Probe, PaddingAndReservedByteAreIgnored) {
  std::vector<uint8_t> buf(kProbeSize + 100, 0xee);
  ByteWriter w(buf);
  ProbeMessage m{ProbeType::kProbe, 7, 9, 1000, 0, 0};
  ASSERT_TRUE(encodeProbe(m, w));
  buf[1] = 0xff;
  ProbeMessage back;
  ASSERT_TRUE(decodeProbe(buf, back));
  EXPECT_EQ(back, m);
}

TEST(Probe, ReplyWithCountsIs40BytesAndRoundTrips) {
  ProbeMessage m{ProbeType::kReply,     0x0102,    0x03040506, 0x1112131415161718ull,
                 0x2122232425262728ull, 0x31323334};
  m.hasRxCounts = true;
  m.rxProbes = 0x41424344;
  m.rxBytes = 0x5152535455565758ull;
  EXPECT_EQ(encodedSize(m), kProbeMaxSize);
  std::array<uint8_t, kProbeMaxSize> buf{};
  ByteWriter w(buf);
  ASSERT_TRUE(encodeProbe(m, w));
  EXPECT_EQ(w.position(), kProbeMaxSize);
  EXPECT_EQ(buf[1], kFlagRxCounts);
  const std::array<uint8_t, kReplyCountsSize> tail = {0x41, 0x42, 0x43, 0x44, 0x51, 0x52,
                                                      0x53, 0x54, 0x55, 0x56, 0x57, 0x58};
  EXPECT_TRUE(std::equal(tail.begin(), tail.end(), buf.begin() + kProbeSize));
  ProbeMessage back;
  ASSERT_TRUE(decodeProbe(buf, back));
  EXPECT_EQ(back, m);
  // Too short a writer for the counts: nothing usable.
  std::array<uint8_t, kProbeMaxSize - 1> small{};
  ByteWriter ws(small);
  EXPECT_FALSE(encodeProbe(m, ws));
  // Flagged but cut short: malformed.
  for (size_t n = kProbeSize; n < kProbeMaxSize; ++n) {
    EXPECT_FALSE(decodeProbe(Bytes(buf.data(), n), back)) << n;
  }
}

TEST(Probe, ReplyWithoutCountsReportsNothing) {
  // An older peer: 28 bytes, flags 0; padded or not, no counts.
  ProbeMessage m{ProbeType::kReply, 4, 5, 6000, 5000, 10};
  std::vector<uint8_t> buf(kProbeSize + 40, 0xee);
  ByteWriter w(buf);
  ASSERT_TRUE(encodeProbe(m, w));
  EXPECT_EQ(w.position(), kProbeSize);
  ProbeMessage back;
  ASSERT_TRUE(decodeProbe(Bytes(buf.data(), kProbeSize), back));
  EXPECT_FALSE(back.hasRxCounts);
  EXPECT_EQ(back, m);
  ASSERT_TRUE(decodeProbe(buf, back));
  EXPECT_FALSE(back.hasRxCounts);
  EXPECT_EQ(back.rxProbes, 0u);
  // A probe never carries counts: the flag is ignored there, and not sent.
  ProbeMessage p{ProbeType::kProbe, 4, 5, 6000, 0, 0};
  p.hasRxCounts = true;
  EXPECT_EQ(encodedSize(p), kProbeSize);
  std::array<uint8_t, kProbeSize> pb{};
  ByteWriter pw(pb);
  ASSERT_TRUE(encodeProbe(p, pw));
  EXPECT_EQ(pb[1], 0);
  pb[1] = kFlagRxCounts;
  ASSERT_TRUE(decodeProbe(pb, back));
  EXPECT_FALSE(back.hasRxCounts);
}

TEST(Probe, ReplyEchoesAndCountsHoldTime) {
  ProbeMessage p{ProbeType::kProbe, 3, 77, 5000, 0, 0};
  ProbeMessage r = makeReply(p, 9000, 9250);
  EXPECT_EQ(r.type, ProbeType::kReply);
  EXPECT_EQ(r.path, 3);
  EXPECT_EQ(r.seq, 77u);
  EXPECT_EQ(r.echoUs, 5000u);
  EXPECT_EQ(r.txUs, 9250u);
  EXPECT_EQ(r.holdUs, 250u);
  EXPECT_EQ(makeReply(p, 9000, 8000).holdUs, 0u);  // clock went backwards: no hold
  EXPECT_EQ(makeReply(p, 0, uint64_t{1} << 40).holdUs, UINT32_MAX);
}

}  // namespace
}  // namespace braid::pathmon
