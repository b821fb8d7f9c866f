// Diffie-Hellman groups 14, 15, 16, 19, 20, 21, 31: RFC 5903 8, RFC 7748 5.2/6.1 vectors,
// RFC 6989 checks.
#include <gtest/gtest.h>

#include <openssl/bn.h>

#include "crypto_test_support.hpp"
#include "ipsec/ike/crypto_dh.hpp"

namespace braid::ike {
namespace {

using test::hexOf;
using test::unhex;

std::unique_ptr<KeyExchange> fixed(DhGroup g, const std::string& priv) {
  auto k = KeyExchange::createWithPrivateKey(g, unhex(priv));
  EXPECT_TRUE(k) << k.status().message();
  return k ? std::move(*k) : nullptr;
}

struct EcVector {
  DhGroup group;
  const char *i, *gi, *r, *gr, *gir;
};

// RFC 5903 section 8.1 and 8.2 (KE data is x || y; shared secret is the x coordinate).
const EcVector kRfc5903[] = {
    {DhGroup::kEcp256, "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
     "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180"
     "5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
     "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53",
     "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63"
     "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
     "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE"},
    {DhGroup::kEcp384,
     "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655E35B538041E649EE3FAEF896783AB"
     "194",
     "667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6DE3AC808ACB4BDB4C88732AEE95F4"
     "1AA"
     "9482ED1FC0EEB9CAFC4984625CCFC23F65032149E0E144ADA024181535A0F38EEB9FCFF3C2C947DAE69B4C634573A"
     "81C",
     "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942E0308312916B8ED2960E4BD55A744"
     "8FC",
     "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D0D1AC43A0336DEF96FDA41D0774A3"
     "571"
     "DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FFF83FA40142209DFF5EAAD96DB9E63"
     "86C",
     "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4D603135569B9E9D09CF5D4A270F59"
     "746"},
    // RFC 5903 8.3: every value is 66 bytes (x || y: 132), the top byte 0x00 or 0x01.
    {DhGroup::kEcp521,
     "0037ADE9319A89F4DABDB3EF411AACCCA5123C61ACAB57B5393DCE47608172A095AA85A30FE1C2952C6771D937BA"
     "9777F5957B2639BAB072462F68C27A57382D4A52",
     "0015417E84DBF28C0AD3C278713349DC7DF153C897A1891BD98BAB4357C9ECBEE1E3BF42E00B8E380AEAE57C2D10"
     "7564941885942AF5A7F4601723C4195D176CED3E"
     "017CAE20B6641D2EEB695786D8C946146239D099E18E1D5A514C739D7CB4A10AD8A788015AC405D7799DC75E7B7D"
     "5B6CF2261A6A7F1507438BF01BEB6CA3926F9582",
     "0145BA99A847AF43793FDD0E872E7CDFA16BE30FDC780F97BCCC3F078380201E9C677D600B343757A3BDBF2A3163"
     "E4C2F869CCA7458AA4A4EFFC311F5CB151685EB9",
     "00D0B3975AC4B799F5BEA16D5E13E9AF971D5E9B984C9F39728B5E5739735A219B97C356436ADC6E95BB0352F6BE"
     "64A6C2912D4EF2D0433CED2B6171640012D9460F"
     "015C68226383956E3BD066E797B623C27CE0EAC2F551A10C2C724D9852077B87220B6536C5C408A1D2AEBB8E86D6"
     "78AE49CB57091F4732296579AB44FCD17F0FC56A",
     "01144C7D79AE6956BC8EDB8E7C787C4521CB086FA64407F97894E5E6B2D79B04D1427E73CA4BAA240A3478685981"
     "0C06B3C715A3A8CC3151F2BEE417996D19F3DDEA"},
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

TEST(IkeDh, Rfc5903Vectors) {
  for (const auto& v : kRfc5903) {
    auto a = fixed(v.group, v.i);
    auto b = fixed(v.group, v.r);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(hexOf(a->publicValue()), lower(v.gi));
    EXPECT_EQ(hexOf(b->publicValue()), lower(v.gr));
    EXPECT_EQ(a->publicValue().size(), dhPublicValueLength(v.group));
    auto s1 = a->computeSharedSecret(b->publicValue());
    auto s2 = b->computeSharedSecret(a->publicValue());
    ASSERT_TRUE(s1 && s2) << s1.status().message();
    EXPECT_EQ(hexOf(s1->bytes()), lower(v.gir));
    EXPECT_EQ(*s1, *s2);
  }
}

TEST(IkeDh, Rfc7748X25519) {
  // RFC 7748 6.1 (as used by RFC 8031).
  auto alice = fixed(DhGroup::kCurve25519,
                     "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  auto bob = fixed(DhGroup::kCurve25519,
                   "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  ASSERT_TRUE(alice && bob);
  EXPECT_EQ(hexOf(alice->publicValue()),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(hexOf(bob->publicValue()),
            "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  auto k1 = alice->computeSharedSecret(bob->publicValue());
  auto k2 = bob->computeSharedSecret(alice->publicValue());
  ASSERT_TRUE(k1 && k2);
  EXPECT_EQ(hexOf(k1->bytes()), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  EXPECT_EQ(*k1, *k2);
  // RFC 7748 5.2, first scalar-multiplication vector.
  auto c = fixed(DhGroup::kCurve25519,
                 "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
  auto out = c->computeSharedSecret(
      unhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"));
  ASSERT_TRUE(out);
  EXPECT_EQ(hexOf(out->bytes()),
            "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
}

TEST(IkeDh, X25519RejectsAllZeroSharedSecret) {
  auto k = KeyExchange::create(DhGroup::kCurve25519);
  ASSERT_TRUE(k);
  // Low-order points: 0 and 1 give an all-zero result (RFC 7748 6.1).
  std::vector<uint8_t> zero(32, 0), one(32, 0);
  one[0] = 1;
  for (const auto& p : {zero, one}) {
    auto s = (*k)->computeSharedSecret(p);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.status().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_FALSE((*k)->computeSharedSecret(std::vector<uint8_t>(31, 9)));
}

struct ModpGroup {
  DhGroup group;
  size_t bytes;
  BIGNUM* (*prime)(BIGNUM*);
};
const ModpGroup kModp[] = {{DhGroup::kModp2048, 256, BN_get_rfc3526_prime_2048},
                           {DhGroup::kModp3072, 384, BN_get_rfc3526_prime_3072},
                           {DhGroup::kModp4096, 512, BN_get_rfc3526_prime_4096}};

std::vector<uint8_t> modpPrime(const ModpGroup& m, int delta) {
  BIGNUM* p = m.prime(nullptr);
  if (delta < 0) BN_sub_word(p, static_cast<BN_ULONG>(-delta));
  if (delta > 0) BN_add_word(p, static_cast<BN_ULONG>(delta));
  std::vector<uint8_t> out(m.bytes);
  BN_bn2binpad(p, out.data(), static_cast<int>(m.bytes));
  BN_free(p);
  return out;
}

// y^x mod p computed here with plain BIGNUM arithmetic, padded to the modulus length: the
// expected g^ir for a peer value y and our fixed exponent x (RFC 7296 2.14).
std::vector<uint8_t> modExp(const ModpGroup& m, Bytes y, const std::string& xHex) {
  const auto x = unhex(xHex);
  BIGNUM* by = BN_bin2bn(y.data(), static_cast<int>(y.size()), nullptr);
  BIGNUM* bx = BN_bin2bn(x.data(), static_cast<int>(x.size()), nullptr);
  BIGNUM* p = m.prime(nullptr);
  BIGNUM* r = BN_new();
  BN_CTX* ctx = BN_CTX_new();
  BN_mod_exp(r, by, bx, p, ctx);
  std::vector<uint8_t> out(m.bytes);
  BN_bn2binpad(r, out.data(), static_cast<int>(m.bytes));
  BN_CTX_free(ctx);
  BN_free(r);
  BN_free(p);
  BN_free(bx);
  BN_free(by);
  return out;
}

TEST(IkeDh, Modp2048TwoPartyFixedAndRandom) {
  auto a =
      fixed(DhGroup::kModp2048, "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20");
  auto b =
      fixed(DhGroup::kModp2048, "2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->publicValue().size(), 256u);
  auto s1 = a->computeSharedSecret(b->publicValue());
  auto s2 = b->computeSharedSecret(a->publicValue());
  ASSERT_TRUE(s1 && s2) << s1.status().message();
  EXPECT_EQ(s1->size(), 256u);
  EXPECT_EQ(*s1, *s2);
  // g^x for x = 1 is 2: the public value of a tiny fixed key is checkable by hand.
  auto tiny = fixed(DhGroup::kModp2048, "01");
  ASSERT_TRUE(tiny);
  std::vector<uint8_t> two(256, 0);
  two[255] = 2;
  EXPECT_TRUE(std::equal(two.begin(), two.end(), tiny->publicValue().begin()));

  auto r1 = KeyExchange::create(DhGroup::kModp2048);
  auto r2 = KeyExchange::create(DhGroup::kModp2048);
  ASSERT_TRUE(r1 && r2);
  auto t1 = (*r1)->computeSharedSecret((*r2)->publicValue());
  auto t2 = (*r2)->computeSharedSecret((*r1)->publicValue());
  ASSERT_TRUE(t1 && t2);
  EXPECT_EQ(*t1, *t2);
}

TEST(IkeDh, Modp3072And4096KnownAnswerAndLengths) {
  const std::string xa = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";
  const std::string xb = "2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40";
  for (const auto& m : kModp) {
    SCOPED_TRACE(static_cast<int>(m.group));
    EXPECT_TRUE(isDhGroupSupported(m.group));
    EXPECT_EQ(dhPublicValueLength(m.group), m.bytes);
    EXPECT_EQ(dhSharedSecretLength(m.group), m.bytes);
    auto a = fixed(m.group, xa);
    auto b = fixed(m.group, xb);
    ASSERT_TRUE(a && b);
    // The public values are g^x mod p with g = 2 (RFC 3526), computed independently here.
    std::vector<uint8_t> two(m.bytes, 0);
    two.back() = 2;
    EXPECT_EQ(hexOf(a->publicValue()), hexOf(modExp(m, two, xa)));
    EXPECT_EQ(hexOf(b->publicValue()), hexOf(modExp(m, two, xb)));
    EXPECT_EQ(a->publicValue().size(), m.bytes);
    auto s1 = a->computeSharedSecret(b->publicValue());
    auto s2 = b->computeSharedSecret(a->publicValue());
    ASSERT_TRUE(s1 && s2) << s1.status().message();
    EXPECT_EQ(s1->size(), m.bytes);
    EXPECT_EQ(hexOf(s1->bytes()), hexOf(modExp(m, b->publicValue(), xa)));
    EXPECT_EQ(*s1, *s2);
    // A private key as long as the modulus is accepted, a longer one is not.
    EXPECT_TRUE(KeyExchange::createWithPrivateKey(m.group, std::vector<uint8_t>(m.bytes, 0x11)));
    EXPECT_FALSE(
        KeyExchange::createWithPrivateKey(m.group, std::vector<uint8_t>(m.bytes + 1, 0x11)));

    // Random keys (OpenSSL's generator for the named group) agree too.
    auto r1 = KeyExchange::create(m.group);
    auto r2 = KeyExchange::create(m.group);
    ASSERT_TRUE(r1 && r2);
    EXPECT_EQ((*r1)->group(), m.group);
    EXPECT_EQ((*r1)->publicValue().size(), m.bytes);
    auto t1 = (*r1)->computeSharedSecret((*r2)->publicValue());
    auto t2 = (*r2)->computeSharedSecret((*r1)->publicValue());
    ASSERT_TRUE(t1 && t2);
    EXPECT_EQ(*t1, *t2);
  }
}

TEST(IkeDh, Rfc6989ModpRejects) {
  for (const auto& m : kModp) {
    SCOPED_TRACE(static_cast<int>(m.group));
    auto k = KeyExchange::create(m.group);
    ASSERT_TRUE(k);
    std::vector<uint8_t> y(m.bytes, 0);
    EXPECT_FALSE((*k)->computeSharedSecret(y));  // 0
    y.back() = 1;
    EXPECT_FALSE((*k)->computeSharedSecret(y));                                    // 1
    EXPECT_FALSE((*k)->computeSharedSecret(modpPrime(m, -1)));                     // p - 1
    EXPECT_FALSE((*k)->computeSharedSecret(modpPrime(m, 0)));                      // p
    EXPECT_FALSE((*k)->computeSharedSecret(std::vector<uint8_t>(m.bytes, 0xff)));  // > p
    auto r = (*k)->computeSharedSecret(modpPrime(m, -1));
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
    y.back() = 2;
    EXPECT_TRUE((*k)->computeSharedSecret(y));  // 2 is in range (RFC 6989 checks only the range)
    EXPECT_TRUE((*k)->computeSharedSecret(modpPrime(m, -2)));
    EXPECT_FALSE((*k)->computeSharedSecret(std::vector<uint8_t>(m.bytes - 1, 7)));  // too short
    EXPECT_FALSE((*k)->computeSharedSecret(std::vector<uint8_t>(m.bytes + 1, 7)));  // too long
  }
  // A 2048-bit value is the wrong length for group 15, even though it is below p.
  auto k15 = KeyExchange::create(DhGroup::kModp3072);
  auto k14 = KeyExchange::create(DhGroup::kModp2048);
  ASSERT_TRUE(k15 && k14);
  auto wrong = (*k15)->computeSharedSecret((*k14)->publicValue());
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.status().code(), ErrorCode::kInvalidArgument);
}

TEST(IkeDh, Rfc6989EcpRejects) {
  for (const auto& v : kRfc5903) {
    SCOPED_TRACE(static_cast<int>(v.group));
    auto a = fixed(v.group, v.i);
    ASSERT_TRUE(a);
    auto good = unhex(v.gr);
    auto offCurve = good;
    offCurve.back() ^= 1;
    auto s = a->computeSharedSecret(offCurve);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.status().code(), ErrorCode::kInvalidArgument);
    // The point at infinity has no affine x || y encoding; all zeros is not on the curve.
    EXPECT_FALSE(a->computeSharedSecret(std::vector<uint8_t>(good.size(), 0)));
    // Wrong length: with a 0x04 prefix (RFC 5903 has none), or truncated.
    std::vector<uint8_t> prefixed(good.size() + 1, 0x04);
    std::copy(good.begin(), good.end(), prefixed.begin() + 1);
    EXPECT_FALSE(a->computeSharedSecret(prefixed));
    EXPECT_FALSE(a->computeSharedSecret(Bytes(good).first(good.size() - 1)));
    // Coordinates >= p are rejected too.
    EXPECT_FALSE(a->computeSharedSecret(std::vector<uint8_t>(good.size(), 0xff)));
    EXPECT_TRUE(a->computeSharedSecret(good));
  }
  // P-521: the top 7 bits of each 66-byte coordinate must be zero; setting one makes x >= p.
  auto a = fixed(DhGroup::kEcp521, kRfc5903[2].i);
  ASSERT_TRUE(a);
  auto big = unhex(kRfc5903[2].gr);
  big[0] |= 0x02;
  EXPECT_FALSE(a->computeSharedSecret(big));
  big = unhex(kRfc5903[2].gr);
  big[66] |= 0x80;  // y's top byte
  EXPECT_FALSE(a->computeSharedSecret(big));
  // A P-384 point (96 bytes) is the wrong length for group 21.
  EXPECT_FALSE(a->computeSharedSecret(unhex(kRfc5903[1].gr)));
}

TEST(IkeDh, UnsupportedGroupsAndBadKeys) {
  EXPECT_FALSE(KeyExchange::create(DhGroup::kNone));
  EXPECT_FALSE(KeyExchange::create(static_cast<DhGroup>(2)));
  EXPECT_FALSE(KeyExchange::createWithPrivateKey(DhGroup::kEcp256, unhex("0102")));
  EXPECT_FALSE(KeyExchange::createWithPrivateKey(DhGroup::kCurve25519, unhex("0102")));
  EXPECT_FALSE(KeyExchange::createWithPrivateKey(DhGroup::kEcp521, std::vector<uint8_t>(48, 1)));
  EXPECT_EQ(dhPublicValueLength(DhGroup::kEcp384), 96u);
  EXPECT_EQ(dhSharedSecretLength(DhGroup::kEcp384), 48u);
  EXPECT_EQ(dhPublicValueLength(DhGroup::kEcp521), 132u);
  EXPECT_EQ(dhSharedSecretLength(DhGroup::kEcp521), 66u);
  EXPECT_EQ(dhPublicValueLength(DhGroup::kModp3072), 384u);
  EXPECT_EQ(dhPublicValueLength(DhGroup::kModp4096), 512u);
  // Groups braid does not implement (MODP 1024/1536, MODP 6144/8192).
  for (int g : {2, 5, 17, 18}) {
    EXPECT_FALSE(isDhGroupSupported(static_cast<DhGroup>(g))) << g;
    EXPECT_EQ(dhPublicValueLength(static_cast<DhGroup>(g)), 0u) << g;
  }
  for (auto g : {DhGroup::kEcp256, DhGroup::kEcp384, DhGroup::kEcp521, DhGroup::kCurve25519}) {
    auto a = KeyExchange::create(g);
    auto b = KeyExchange::create(g);
    ASSERT_TRUE(a && b);
    EXPECT_EQ((*a)->group(), g);
    EXPECT_EQ((*a)->publicValue().size(), dhPublicValueLength(g));
    EXPECT_EQ(*(*a)->computeSharedSecret((*b)->publicValue()),
              *(*b)->computeSharedSecret((*a)->publicValue()));
  }
}

}  // namespace
}  // namespace braid::ike
