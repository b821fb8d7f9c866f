// The shim data header and the 32 -> 64-bit sequence extension, against a slow reference.
#include "policy/shim.hpp"

#include <gtest/gtest.h>

#include <array>
#include <random>

namespace braid::policy {
namespace {

TEST(ShimTest, DataHeaderRoundTrip) {
  std::array<uint8_t, 12> buf{};
  encodeShimData(buf.data(), {7, 0xdeadbeef});
  EXPECT_EQ(buf[0], 0x13);
  EXPECT_EQ(buf[1], 0);
  ShimDataHeader h;
  ASSERT_TRUE(decodeShimData(buf, h));
  EXPECT_EQ(h, (ShimDataHeader{7, 0xdeadbeef}));
  EXPECT_EQ(shimType(buf), ShimType::kData);
}

TEST(ShimTest, RejectsShortWrongVersionAndOtherTypes) {
  std::array<uint8_t, 8> buf{};
  encodeShimData(buf.data(), {1, 1});
  ShimDataHeader h;
  EXPECT_FALSE(decodeShimData(Bytes(buf.data(), 7), h));
  buf[0] = 0x23;  // version 2
  EXPECT_FALSE(decodeShimData(buf, h));
  EXPECT_FALSE(shimType(buf).has_value());
  buf[0] = 0x11;  // a probe is not data
  EXPECT_FALSE(decodeShimData(buf, h));
  EXPECT_EQ(shimType(buf), ShimType::kProbe);
  buf[0] = 0x15;
  EXPECT_FALSE(shimType(buf).has_value());
  buf[0] = 0x10;
  EXPECT_FALSE(shimType(buf).has_value());
  EXPECT_FALSE(shimType(Bytes()).has_value());
}

TEST(ShimTest, FecDataHeaderAndParityHeader) {
  std::array<uint8_t, 20> buf{};
  ShimDataHeader f{5, 0x01020304, true, 77, 2, 5};
  EXPECT_EQ(f.size(), kShimFecHeaderSize);
  encodeShimData(buf.data(), f);
  EXPECT_EQ(buf[1], kShimFlagFec);
  EXPECT_EQ(loadBe32(buf.data() + kShimFecPayloadOffset), 0x01020304u);  // protected with it
  ShimDataHeader h;
  ASSERT_TRUE(decodeShimData(buf, h));
  EXPECT_EQ(h, f);
  EXPECT_FALSE(decodeShimData(Bytes(buf.data(), 15), h));  // FEC flag, short
  buf[8] = 5;                                              // index == k
  EXPECT_FALSE(decodeShimData(buf, h));
  ShimParityHeader p{5, 77, 5};
  encodeShimParity(buf.data(), p);
  EXPECT_EQ(shimType(buf), ShimType::kParity);
  ShimParityHeader q;
  ASSERT_TRUE(decodeShimParity(buf, q));
  EXPECT_EQ(q, p);
  buf[8] = 1;  // k < 2 protects nothing
  EXPECT_FALSE(decodeShimParity(buf, q));
  EXPECT_FALSE(decodeShimData(buf, h));
}

TEST(ShimTest, OrderedFlagRoundTripsWithAndWithoutFec) {
  std::array<uint8_t, 20> buf{};
  ShimDataHeader plain{3, 9, false, 0, 0, 0, true};
  encodeShimData(buf.data(), plain);
  EXPECT_EQ(buf[1], kShimFlagOrdered);
  ShimDataHeader h;
  ASSERT_TRUE(decodeShimData(buf, h));
  EXPECT_EQ(h, plain);
  ShimDataHeader fec{3, 10, true, 4, 1, 4, true};
  encodeShimData(buf.data(), fec);
  EXPECT_EQ(buf[1], kShimFlagFec | kShimFlagOrdered);
  ASSERT_TRUE(decodeShimData(buf, h));
  EXPECT_EQ(h, fec);
  encodeShimData(buf.data(), {3, 11});
  ASSERT_TRUE(decodeShimData(buf, h));
  EXPECT_FALSE(h.ordered);
}

TEST(ShimTest, FlagsAreIgnored) {
  std::array<uint8_t, 8> buf{};
  encodeShimData(buf.data(), {3, 9});
  buf[1] = 0xfc;  // every flag but FEC and ordered
  ShimDataHeader h;
  ASSERT_TRUE(decodeShimData(buf, h));
  EXPECT_EQ(h, (ShimDataHeader{3, 9}));
}

// Slow reference: the candidate with the given low bits closest to `highest`, never
// negative, ties towards the future.
uint64_t referenceExtend(uint64_t highest, uint32_t low) {
  const uint64_t base = highest & ~uint64_t{0xffffffff};
  uint64_t best = 0;
  bool have = false;
  for (int k = -1; k <= 1; ++k) {
    if (k < 0 && base == 0) continue;
    uint64_t c = base + uint64_t(int64_t(k) << 32) + low;
    if (!have) {
      best = c;
      have = true;
      continue;
    }
    auto dist = [&](uint64_t x) { return x > highest ? x - highest : highest - x; };
    // A forward distance of exactly 2^31 counts as behind, as the serial comparison does.
    auto key = [&](uint64_t x) {
      uint64_t d = dist(x);
      return x > highest ? (d >= (uint64_t{1} << 31) ? d + 1 : d) : d;
    };
    if (key(c) < key(best)) best = c;
  }
  return best;
}

TEST(ShimTest, ExtendSequenceMatchesReference) {
  std::mt19937_64 rng(5);
  const uint64_t highs[] = {0,          1,           5,           0x7fffffff,    0x80000000,
                            0xffffffff, 0x100000000, 0x1fffffff0, 0x12345678abcd};
  for (uint64_t h : highs) {
    for (int64_t d : {-3LL, -1LL, 0LL, 1LL, 2LL, 1000LL, -1000LL, (1LL << 31) - 1, -(1LL << 31)}) {
      const uint32_t low = static_cast<uint32_t>(h + uint64_t(d));
      EXPECT_EQ(extendSequence(h, low), referenceExtend(h, low)) << h << " " << d;
    }
  }
  for (int i = 0; i < 20000; ++i) {
    uint64_t h = rng() >> (rng() % 40);
    uint32_t low = static_cast<uint32_t>(h + (rng() % 4096) - 2048);
    if (i % 4 == 0) low = static_cast<uint32_t>(rng());
    ASSERT_EQ(extendSequence(h, low), referenceExtend(h, low)) << h << " " << low;
  }
}

TEST(ShimTest, ExtendSequenceAcrossTheWrap) {
  EXPECT_EQ(extendSequence(0xfffffffe, 1), 0x100000001u);
  EXPECT_EQ(extendSequence(0x100000001, 0xfffffffe), 0xfffffffeu);
  EXPECT_EQ(extendSequence(3, 0xfffffff0), 0xfffffff0u);  // no negative numbers at the start
}

}  // namespace
}  // namespace braid::policy
