#include "core/bytes.hpp"

#include <gtest/gtest.h>

#include "core/hex.hpp"
#include "core/secure.hpp"

namespace braid {
namespace {

TEST(ByteReader, ReadsBigEndianAndStopsAtEnd) {
  const uint8_t data[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
  ByteReader r(data);
  uint16_t a = 0;
  uint32_t b = 0;
  ASSERT_TRUE(r.readU16(a));
  EXPECT_EQ(a, 0x0102);
  ASSERT_TRUE(r.readU32(b));
  EXPECT_EQ(b, 0x03040506u);
  uint16_t c = 0xFFFF;
  EXPECT_FALSE(r.readU16(c));  // only one byte left
  EXPECT_EQ(c, 0xFFFF);        // untouched on failure
  EXPECT_EQ(r.remaining(), 1u);
  uint8_t d = 0;
  ASSERT_TRUE(r.readU8(d));
  EXPECT_EQ(d, 7);
  EXPECT_TRUE(r.empty());
  Bytes none;
  EXPECT_FALSE(r.readBytes(1, none));
  EXPECT_FALSE(r.skip(1));
}

TEST(ByteReader, EveryReadChecksBoundsForEveryLength) {
  std::vector<uint8_t> buf(9, 0xAB);
  for (size_t len = 0; len <= buf.size(); ++len) {
    ByteReader r(Bytes(buf.data(), len));
    uint64_t v64 = 0;
    uint32_t v24 = 0;
    EXPECT_EQ(r.readU64(v64), len >= 8);
    ByteReader r2(Bytes(buf.data(), len));
    EXPECT_EQ(r2.readU24(v24), len >= 3);
  }
}

TEST(ByteWriter, WritesAndRefusesOverflow) {
  uint8_t buf[6] = {};
  ByteWriter w(buf);
  ASSERT_TRUE(w.writeU16(0xBEEF));
  ASSERT_TRUE(w.writeU24(0x010203));
  EXPECT_FALSE(w.writeU16(1));
  ASSERT_TRUE(w.writeU8(9));
  EXPECT_FALSE(w.writeU8(1));
  EXPECT_EQ(toHex(w.written()), "beef01020309");
}

TEST(Hex, RoundTripAndRejectsBadInput) {
  auto v = fromHex("0xDEad:be ef");
  ASSERT_TRUE(v);
  EXPECT_EQ(toHex(*v), "deadbeef");
  EXPECT_FALSE(fromHex("abc"));
  EXPECT_FALSE(fromHex("zz"));
  EXPECT_FALSE(fromHex("a:b"));
}

TEST(SecretBytes, SliceAndAppend) {
  SecretBytes s(asBytes("abcdef"));
  s.append(asBytes("gh"));
  EXPECT_EQ(s.size(), 8u);
  auto mid = s.slice(2, 3);
  EXPECT_EQ(std::string(mid.data(), mid.data() + mid.size()), "cde");
}

}  // namespace
}  // namespace braid
