// PRF, prf+ and the IKEv2 key schedule (RFC 7296 2.13, 2.14, 2.17, 2.18).
#include <gtest/gtest.h>

#include "crypto_test_support.hpp"
#include "ipsec/ike/crypto_keys.hpp"
#include "ipsec/ike/crypto_prf.hpp"

namespace braid::ike {
namespace {

using test::hexOf;
using test::unhex;

#include "crypto_kdf_vectors.inc"

// RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
TEST(IkePrf, Rfc4231HmacSha2) {
  struct Case {
    PrfId prf;
    const char* mac;
  } cases[] = {
      {PrfId::kHmacSha256, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {PrfId::kHmacSha384,
       "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecf"
       "ab21649"},
      {PrfId::kHmacSha512,
       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f"
       "8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
  };
  for (const auto& c : cases) {
    auto out = prf(c.prf, asBytes("Jefe"), asBytes("what do ya want for nothing?"));
    ASSERT_TRUE(out);
    EXPECT_EQ(hexOf(out->bytes()), c.mac);
    EXPECT_EQ(out->size(), prfOutputLength(c.prf));
  }
  EXPECT_FALSE(prf(PrfId::kNone, asBytes("k"), asBytes("d")));
}

// SP 800-135 IKEv2 KDF: SKEYSEED, DKM, Child DKM (with and without g^ir new), rekey SKEYSEED.
TEST(IkeKdf, Sp800135Vectors) {
  const auto ni = unhex(kNistNi), nr = unhex(kNistNr), gir = unhex(kNistGir);
  const auto girNew = unhex(kNistGirn), spii = unhex(kNistSpii), spir = unhex(kNistSpir);
  for (const auto& c : kKdfCases) {
    SCOPED_TRACE(static_cast<int>(c.prf));
    auto skeyseed = computeSkeyseed(c.prf, ni, nr, gir);
    ASSERT_TRUE(skeyseed);
    EXPECT_EQ(hexOf(skeyseed->bytes()), c.skeyseed);

    std::vector<uint8_t> seed = ni;
    seed.insert(seed.end(), nr.begin(), nr.end());
    seed.insert(seed.end(), spii.begin(), spii.end());
    seed.insert(seed.end(), spir.begin(), spir.end());
    auto dkm = prfPlus(c.prf, skeyseed->bytes(), seed, c.dkmLength);
    ASSERT_TRUE(dkm);
    EXPECT_EQ(hexOf(dkm->bytes()), c.dkm);

    const SecretBytes skD = dkm->slice(0, prfOutputLength(c.prf));
    auto child = computeChildKeymat(c.prf, skD.bytes(), {}, ni, nr, c.dkmLength);
    ASSERT_TRUE(child);
    EXPECT_EQ(hexOf(child->bytes()), c.child);
    auto childDh = computeChildKeymat(c.prf, skD.bytes(), girNew, ni, nr, c.dkmLength);
    ASSERT_TRUE(childDh);
    EXPECT_EQ(hexOf(childDh->bytes()), c.childDh);
    auto rekey = computeRekeySkeyseed(c.prf, skD.bytes(), girNew, ni, nr);
    ASSERT_TRUE(rekey);
    EXPECT_EQ(hexOf(rekey->bytes()), c.rekey);
  }
}

TEST(IkeKdf, PrfPlusPrefixAndLimit) {
  const auto key = unhex("000102030405060708090a0b0c0d0e0f");
  auto longer = prfPlus(PrfId::kHmacSha256, key, asBytes("seed"), 100);
  auto shorter = prfPlus(PrfId::kHmacSha256, key, asBytes("seed"), 33);
  ASSERT_TRUE(longer && shorter);
  EXPECT_TRUE(std::equal(shorter->bytes().begin(), shorter->bytes().end(), longer->data()));
  // RFC 7296 2.13: one-octet counter, so 255 blocks at most.
  EXPECT_TRUE(prfPlus(PrfId::kHmacSha256, key, asBytes("s"), 255 * 32));
  EXPECT_FALSE(prfPlus(PrfId::kHmacSha256, key, asBytes("s"), 255 * 32 + 1));
}

TEST(IkeKdf, IkeSaKeyLayoutCbc) {
  Suite s;
  s.encr = EncrId::kAesCbc;
  s.encrKeyBits = 256;
  s.prf = PrfId::kHmacSha384;
  s.integ = IntegId::kHmacSha256_128;
  s.dh = DhGroup::kEcp384;
  const auto ni = unhex("0102030405060708"), nr = unhex("1112131415161718");
  const auto gir = unhex("aabbccdd");
  auto keys = deriveInitialIkeSaKeys(s, gir, ni, nr, 0x0123456789abcdefULL, 0xfedcba9876543210ULL);
  ASSERT_TRUE(keys);
  EXPECT_EQ(keys->skD.size(), 48u);
  EXPECT_EQ(keys->skAi.size(), 32u);
  EXPECT_EQ(keys->skEi.size(), 32u);
  EXPECT_EQ(keys->skPr.size(), 48u);
  // The keys are consecutive slices of prf+(SKEYSEED, Ni | Nr | SPIi | SPIr).
  auto skeyseed = computeSkeyseed(s.prf, ni, nr, gir);
  std::vector<uint8_t> seed = ni;
  seed.insert(seed.end(), nr.begin(), nr.end());
  for (auto b : unhex("0123456789abcdeffedcba9876543210")) seed.push_back(b);
  auto stream = prfPlus(s.prf, skeyseed->bytes(), seed, 48 * 3 + 32 * 4);
  ASSERT_TRUE(stream);
  SecretBytes joined;
  for (const auto* k :
       {&keys->skD, &keys->skAi, &keys->skAr, &keys->skEi, &keys->skEr, &keys->skPi, &keys->skPr}) {
    joined.append(k->bytes());
  }
  EXPECT_EQ(joined, *stream);
}

TEST(IkeKdf, IkeSaKeyLengthsAead) {
  Suite s;
  s.encr = EncrId::kAesGcm16;
  s.encrKeyBits = 128;
  s.prf = PrfId::kHmacSha256;
  s.dh = DhGroup::kCurve25519;
  auto keys = deriveIkeSaKeys(s, unhex("00112233"), unhex("01"), unhex("02"), 1, 2);
  ASSERT_TRUE(keys);
  EXPECT_TRUE(keys->skAi.empty());
  EXPECT_TRUE(keys->skAr.empty());
  EXPECT_EQ(keys->skEi.size(), 20u);  // 16-byte key + 4-byte salt (RFC 5282 7.1)
  s.encr = EncrId::kChaCha20Poly1305;
  s.encrKeyBits = 256;
  keys = deriveIkeSaKeys(s, unhex("00112233"), unhex("01"), unhex("02"), 1, 2);
  ASSERT_TRUE(keys);
  EXPECT_EQ(keys->skEr.size(), 36u);  // RFC 7634 2
  EXPECT_NE(keys->skEi, keys->skEr);
}

TEST(IkeKdf, ChildSaKeysSplitInRfcOrder) {
  Suite esp;
  esp.protocol = ProtocolId::kEsp;
  esp.encr = EncrId::kAesCbc;
  esp.encrKeyBits = 128;
  esp.integ = IntegId::kHmacSha512_256;
  const auto skD = unhex("5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a");
  const auto ni = unhex("a1a2"), nr = unhex("b1b2"), gir = unhex("c1c2c3");
  auto keys = deriveChildSaKeys(PrfId::kHmacSha256, skD, esp, gir, ni, nr);
  ASSERT_TRUE(keys);
  auto keymat = computeChildKeymat(PrfId::kHmacSha256, skD, gir, ni, nr, 2 * (16 + 64));
  ASSERT_TRUE(keymat);
  // RFC 7296 2.17: encr_i | integ_i | encr_r | integ_r.
  EXPECT_EQ(keys->encrI, keymat->slice(0, 16));
  EXPECT_EQ(keys->integI, keymat->slice(16, 64));
  EXPECT_EQ(keys->encrR, keymat->slice(80, 16));
  EXPECT_EQ(keys->integR, keymat->slice(96, 64));
  // Without PFS the KEYMAT differs.
  auto noPfs = deriveChildSaKeys(PrfId::kHmacSha256, skD, esp, {}, ni, nr);
  ASSERT_TRUE(noPfs);
  EXPECT_NE(noPfs->encrI, keys->encrI);

  Suite gcm;
  gcm.protocol = ProtocolId::kEsp;
  gcm.encr = EncrId::kAesGcm16;
  gcm.encrKeyBits = 256;
  auto aead = deriveChildSaKeys(PrfId::kHmacSha256, skD, gcm, {}, ni, nr);
  ASSERT_TRUE(aead);
  EXPECT_EQ(aead->encrI.size(), 36u);  // ESP keymat: key || salt
  EXPECT_TRUE(aead->integI.empty());
}

}  // namespace
}  // namespace braid::ike
