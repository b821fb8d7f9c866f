// GSO split (TX) and TCP coalescing (RX) against the original super-packet: splitting and
// coalescing again must give back the same bytes, with every checksum right.
#include "edge/offload.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/bytes.hpp"

namespace braid::edge {
namespace {

// Slow RFC 1071 reference: big-endian 16-bit words.
uint16_t refSum(const std::vector<uint8_t>& d) {
  uint32_t s = 0;
  for (size_t i = 0; i + 1 < d.size(); i += 2) s += uint32_t(d[i] << 8 | d[i + 1]);
  if (d.size() % 2) s += uint32_t(d.back() << 8);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

TEST(ChecksumTest, MatchesReferenceForEveryLengthAndOffset) {
  std::vector<uint8_t> data(300);
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 37 + 11);
  for (size_t len = 0; len < 200; ++len) {
    std::vector<uint8_t> part(data.begin(), data.begin() + long(len));
    uint16_t fast = csumFold(csumPartial(part.data(), part.size(), 0));
    uint8_t be[2];
    std::memcpy(be, &fast, 2);
    EXPECT_EQ(uint16_t(be[0] << 8 | be[1]), refSum(part)) << len;
  }
}

// IPv4 (or IPv6) + TCP with 12 bytes of options, `payload` bytes of data.
std::vector<uint8_t> tcpPacket(bool v6, size_t payload, uint32_t seq, uint8_t flags) {
  const size_t ipHl = v6 ? 40 : 20, tcpHl = 32;
  std::vector<uint8_t> p(ipHl + tcpHl + payload);
  if (!v6) {
    p[0] = 0x45;
    storeBe16(&p[2], uint16_t(p.size()));
    storeBe16(&p[4], 0x1234);
    p[6] = 0x40;  // DF
    p[8] = 64;
    p[9] = 6;
    const uint8_t src[4] = {10, 98, 1, 2}, dst[4] = {10, 98, 2, 2};
    std::memcpy(&p[12], src, 4);
    std::memcpy(&p[16], dst, 4);
  } else {
    p[0] = 0x60;
    storeBe16(&p[4], uint16_t(p.size() - 40));
    p[6] = 6;
    p[7] = 64;
    p[8] = 0xfd;
    p[23] = 2;
    p[24] = 0xfd;
    p[39] = 3;
  }
  uint8_t* t = &p[ipHl];
  storeBe16(t, 40000);
  storeBe16(t + 2, 5201);
  storeBe32(t + 4, seq);
  storeBe32(t + 8, 777);
  t[12] = uint8_t((tcpHl / 4) << 4);
  t[13] = flags;
  storeBe16(t + 14, 512);
  t[20] = 1;
  t[21] = 1;
  t[22] = 8;
  t[23] = 10;  // NOP NOP timestamps
  for (size_t i = 0; i < payload; ++i) t[tcpHl + i] = uint8_t(i * 7 + seq);
  if (!v6) setIpv4HeaderChecksum(p.data());
  const uint32_t l4 = uint32_t(p.size() - ipHl);
  uint16_t s = uint16_t(~csumFold(csumPartial(t, l4, pseudoHeaderSum(p.data(), v6, 6, l4))));
  std::memcpy(t + 16, &s, 2);
  return p;
}

struct Captured {
  std::vector<std::vector<uint8_t>> writes;
  TunWriter::WriteFn fn() {
    return [this](const uint8_t* d, size_t n) {
      writes.emplace_back(d, d + n);
      return long(n);
    };
  }
};

class OffloadRoundTrip : public ::testing::TestWithParam<bool> {};

TEST_P(OffloadRoundTrip, SplitThenCoalesceGivesTheSuperPacketBack) {
  const bool v6 = GetParam();
  const size_t ipHl = v6 ? 40 : 20;
  const uint16_t mss = v6 ? 1366 : 1386;  // MTU 1438 minus IP and TCP headers
  const size_t payload = 10 * mss + 100;  // ten full segments and a short tail
  std::vector<uint8_t> super = tcpPacket(v6, payload, 1000, 0x18 /*ACK|PSH*/);
  VirtioNetHdr h{kVirtioFlagNeedsCsum, uint8_t(v6 ? kVirtioGsoTcpv6 : kVirtioGsoTcpv4),
                 uint16_t(ipHl + 32),  mss,
                 uint16_t(ipHl),       16};
  PacketPool pool(64, 2048, 64);
  std::vector<PacketPtr> out;
  out.reserve(kMaxGsoSegments);
  TxCounters tc;
  std::vector<uint8_t> copy = super;
  ASSERT_EQ(splitTunRead(h, copy.data(), copy.size(), 1438, pool, out, tc), SplitResult::kOk);
  ASSERT_EQ(out.size(), 11u);
  EXPECT_EQ(tc.gsoSuperPackets, 1u);
  for (size_t i = 0; i < out.size(); ++i) {
    const uint8_t* p = out[i]->data();
    const size_t len = out[i]->size();
    EXPECT_EQ(len, ipHl + 32 + (i < 10 ? mss : 100));
    EXPECT_TRUE(tcpChecksumValid(p, len, ipHl, v6)) << i;
    if (!v6) {
      EXPECT_EQ(csumFold(csumPartial(p, 20, 0)), 0xffff) << i;
    }
    EXPECT_EQ(loadBe32(p + ipHl + 4), 1000 + i * mss);
    EXPECT_EQ(p[ipHl + 13], i < 10 ? 0x10 : 0x18) << "PSH only on the last segment";
  }

  // RX: coalesce the segments again, with room in front for the virtio header.
  Captured cap;
  RxCounters rc;
  TunWriter w(cap.fn(), true, true, rc);
  std::vector<std::vector<uint8_t>> bufs;
  for (auto& seg : out) {
    std::vector<uint8_t> b(kVirtioNetHdrLen + seg->size());
    std::memcpy(b.data() + kVirtioNetHdrLen, seg->data(), seg->size());
    bufs.push_back(std::move(b));
  }
  for (auto& b : bufs) w.add(b.data() + kVirtioNetHdrLen, b.size() - kVirtioNetHdrLen);
  w.flush();
  ASSERT_EQ(cap.writes.size(), 1u);
  EXPECT_EQ(rc.groCoalesced, 10u);
  std::vector<uint8_t>& got = cap.writes[0];
  VirtioNetHdr gh;
  std::memcpy(&gh, got.data(), sizeof gh);
  EXPECT_EQ(gh.gsoType, v6 ? kVirtioGsoTcpv6 : kVirtioGsoTcpv4);
  EXPECT_EQ(gh.flags, kVirtioFlagNeedsCsum);
  EXPECT_EQ(gh.gsoSize, mss);
  EXPECT_EQ(gh.csumStart, ipHl);
  EXPECT_EQ(gh.csumOffset, 16);
  std::vector<uint8_t> pkt(got.begin() + kVirtioNetHdrLen, got.end());
  ASSERT_EQ(pkt.size(), super.size());
  // Finish the checksum as the kernel would; then the packet equals the original.
  uint16_t s = uint16_t(~csumFold(csumPartial(&pkt[ipHl], pkt.size() - ipHl, 0)));
  std::memcpy(&pkt[ipHl + 16], &s, 2);
  if (!v6) {
    EXPECT_EQ(csumFold(csumPartial(pkt.data(), 20, 0)), 0xffff);
    pkt[4] = super[4];  // the IP ID of the head segment is the original's
  }
  EXPECT_EQ(pkt, super);
}

INSTANTIATE_TEST_SUITE_P(V4AndV6, OffloadRoundTrip, ::testing::Values(false, true));

TEST(OffloadTest, CompletesPartialChecksum) {
  std::vector<uint8_t> p = tcpPacket(false, 300, 5, 0x10);
  std::vector<uint8_t> want = p;
  uint16_t ph = csumFold(pseudoHeaderSum(p.data(), false, 6, uint32_t(p.size() - 20)));
  std::memcpy(&p[36], &ph, 2);  // CHECKSUM_PARTIAL as the kernel hands it over
  VirtioNetHdr h{kVirtioFlagNeedsCsum, kVirtioGsoNone, 0, 0, 20, 16};
  PacketPool pool(4, 2048, 64);
  std::vector<PacketPtr> out;
  TxCounters tc;
  ASSERT_EQ(splitTunRead(h, p.data(), p.size(), 1438, pool, out, tc), SplitResult::kOk);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(tc.csumCompleted, 1u);
  EXPECT_EQ(std::vector<uint8_t>(out[0]->data(), out[0]->data() + out[0]->size()), want);
}

TEST(OffloadTest, RejectsBadLayouts) {
  PacketPool pool(200, 2048, 64);
  std::vector<PacketPtr> out;
  out.reserve(kMaxGsoSegments);
  TxCounters tc;
  std::vector<uint8_t> p = tcpPacket(false, 3000, 1, 0x10);
  VirtioNetHdr h{0, kVirtioGsoTcpv4, 52, 0, 20, 16};  // gso_size 0
  EXPECT_EQ(splitTunRead(h, p.data(), p.size(), 1438, pool, out, tc), SplitResult::kMalformed);
  h.gsoSize = 1;  // 3000 segments
  EXPECT_EQ(splitTunRead(h, p.data(), p.size(), 1438, pool, out, tc),
            SplitResult::kTooManySegments);
  h.gsoSize = 1400;  // headers + 1400 > MTU
  EXPECT_EQ(splitTunRead(h, p.data(), p.size(), 1438, pool, out, tc), SplitResult::kOversize);
  h.gsoType = kVirtioGsoTcpv6;  // an IPv4 packet announced as IPv6
  h.gsoSize = 1000;
  EXPECT_EQ(splitTunRead(h, p.data(), p.size(), 1438, pool, out, tc), SplitResult::kMalformed);
  h = VirtioNetHdr{kVirtioFlagNeedsCsum, kVirtioGsoNone, 0, 0, 20, 4000};  // field past end
  EXPECT_EQ(splitTunRead(h, p.data(), p.size(), 1438, pool, out, tc), SplitResult::kMalformed);
  EXPECT_TRUE(out.empty());
}

TEST(OffloadTest, DoesNotMergeAcrossGapsOrBadChecksums) {
  Captured cap;
  RxCounters rc;
  TunWriter w(cap.fn(), true, true, rc);
  auto a = tcpPacket(false, 1000, 100, 0x10);
  auto b = tcpPacket(false, 1000, 1100, 0x10);
  auto gap = tcpPacket(false, 1000, 5000, 0x10);  // not adjacent
  auto bad = tcpPacket(false, 1000, 6000, 0x10);
  bad[60] ^= 1;  // checksum no longer valid
  std::vector<std::vector<uint8_t>> bufs;
  for (auto* p : {&a, &b, &gap, &bad}) {
    std::vector<uint8_t> buf(kVirtioNetHdrLen + p->size());
    std::memcpy(buf.data() + kVirtioNetHdrLen, p->data(), p->size());
    bufs.push_back(std::move(buf));
  }
  for (auto& buf : bufs) w.add(buf.data() + kVirtioNetHdrLen, buf.size() - kVirtioNetHdrLen);
  w.flush();
  EXPECT_EQ(rc.groCoalesced, 1u);  // only b onto a
  ASSERT_EQ(cap.writes.size(), 3u);
  size_t total = 0;
  for (auto& wr : cap.writes) total += wr.size() - kVirtioNetHdrLen;
  EXPECT_EQ(total, a.size() + b.size() - 52 + gap.size() + bad.size());
}

// 64 IPv6 segments of 1023 bytes would coalesce to 72 + 64 * 1023 = 65544 bytes: more than
// the item buffer (65535) although the IPv6 payload length (65504) would allow it.
TEST(OffloadTest, CoalescedIpv6StaysWithin65535Bytes) {
  Captured cap;
  RxCounters rc;
  TunWriter w(cap.fn(), true, true, rc);
  std::vector<std::vector<uint8_t>> bufs;
  size_t sent = 0;
  for (uint32_t i = 0; i < 64; ++i) {
    auto p = tcpPacket(true, 1023, 1000 + i * 1023, 0x10);
    std::vector<uint8_t> buf(kVirtioNetHdrLen + p.size());
    std::memcpy(buf.data() + kVirtioNetHdrLen, p.data(), p.size());
    bufs.push_back(std::move(buf));
    sent += 1023;
  }
  for (auto& buf : bufs) w.add(buf.data() + kVirtioNetHdrLen, buf.size() - kVirtioNetHdrLen);
  w.flush();
  ASSERT_EQ(cap.writes.size(), 2u);
  size_t payload = 0;
  for (auto& wr : cap.writes) {
    EXPECT_LE(wr.size(), kVirtioNetHdrLen + 65535);
    const uint8_t* ip = wr.data() + kVirtioNetHdrLen;
    EXPECT_EQ(size_t(loadBe16(ip + 4)) + 40, wr.size() - kVirtioNetHdrLen);
    payload += wr.size() - kVirtioNetHdrLen - 72;
  }
  EXPECT_EQ(payload, sent);
  EXPECT_EQ(rc.groCoalesced, 62u);
}

// CHECKSUM_PARTIAL UDP over IPv6 whose sum comes out as 0: sent as 0xffff (RFC 8200 8.1).
TEST(OffloadTest, PartialUdpChecksumOverIpv6IsNeverZero) {
  std::vector<uint8_t> p(40 + 8 + 64);
  p[0] = 0x60;
  storeBe16(&p[4], uint16_t(p.size() - 40));
  p[6] = 17;
  p[7] = 64;
  p[8] = 0xfd;
  p[23] = 2;
  p[24] = 0xfd;
  p[39] = 3;
  storeBe16(&p[40], 5000);
  storeBe16(&p[42], 5001);
  storeBe16(&p[44], uint16_t(p.size() - 40));
  for (size_t i = 50; i < p.size(); ++i) p[i] = uint8_t(i * 13);
  const uint32_t l4 = uint32_t(p.size() - 40);
  // Choose two payload bytes so that the whole sum folds to 0xffff, i.e. checksum 0.
  p[48] = p[49] = 0;
  uint16_t sum = csumFold(csumPartial(&p[40], l4, pseudoHeaderSum(p.data(), true, 17, l4)));
  uint16_t adj = uint16_t(~sum);
  std::memcpy(&p[48], &adj, 2);
  ASSERT_EQ(csumFold(csumPartial(&p[40], l4, pseudoHeaderSum(p.data(), true, 17, l4))), 0xffff);
  uint16_t ph = csumFold(pseudoHeaderSum(p.data(), true, 17, l4));
  std::memcpy(&p[46], &ph, 2);  // CHECKSUM_PARTIAL as the kernel hands it over
  VirtioNetHdr h{kVirtioFlagNeedsCsum, kVirtioGsoNone, 0, 0, 40, 6};
  PacketPool pool(4, 2048, 64);
  std::vector<PacketPtr> out;
  TxCounters tc;
  ASSERT_EQ(splitTunRead(h, p.data(), p.size(), 1418, pool, out, tc), SplitResult::kOk);
  ASSERT_EQ(out.size(), 1u);
  const uint8_t* got = out[0]->data();
  EXPECT_EQ(loadBe16(got + 46), 0xffff);
  EXPECT_EQ(csumFold(csumPartial(got + 40, l4, pseudoHeaderSum(got, true, 17, l4))), 0xffff);
}

TEST(OffloadTest, PlainWritesWithoutVirtioHeader) {
  Captured cap;
  RxCounters rc;
  TunWriter w(cap.fn(), false, true, rc);
  auto a = tcpPacket(false, 100, 1, 0x10);
  w.add(a.data(), a.size());
  w.flush();
  ASSERT_EQ(cap.writes.size(), 1u);
  EXPECT_EQ(cap.writes[0], a);
}

}  // namespace
}  // namespace braid::edge
