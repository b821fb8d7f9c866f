// AUTH payload data: signed octets, PSK (RFC 7296 2.15), signatures (RFC 7296 3.8, RFC 4754,
// RFC 7427).
#include <gtest/gtest.h>

#include "crypto_test_support.hpp"
#include "ipsec/ike/auth_psk.hpp"
#include "ipsec/ike/auth_signature.hpp"
#include "ipsec/ike/crypto_prf.hpp"

namespace braid::ike {
namespace {

using test::hexOf;
using test::unhex;

TEST(IkeAuthPsk, SignedOctetsLayout) {
  const auto msg = unhex("0011223344"), nonce = unhex("a0a1a2"), skP = unhex("5555");
  const auto id = unhex("02000000");
  auto octets = authSignedOctets(PrfId::kHmacSha256, msg, nonce, skP, id);
  ASSERT_TRUE(octets);
  auto maced = prf(PrfId::kHmacSha256, skP, id);
  EXPECT_EQ(octets->size(), msg.size() + nonce.size() + 32);
  EXPECT_EQ(hexOf(Bytes(*octets).first(8)), "0011223344a0a1a2");
  EXPECT_EQ(hexOf(Bytes(*octets).subspan(8)), hexOf(maced->bytes()));
}

TEST(IkeAuthPsk, AuthIsNestedPrfWithKeyPad) {
  const auto octets = unhex("0102030405060708090a");
  auto auth = pskAuthData(PrfId::kHmacSha256, asBytes("secret"), octets);
  ASSERT_TRUE(auth);
  // Independently: prf(prf("secret", "Key Pad for IKEv2"), octets), computed with Python hmac.
  EXPECT_EQ(hexOf(auth->bytes()),
            "8aedfe15f31ee44dd6a3a01f39ab0da83074cdfd17f008266de9319deab0edf7");
}

TEST(IkeAuthPsk, VerifyConstantTime) {
  const auto octets = unhex("cafe");
  auto auth = pskAuthData(PrfId::kHmacSha512, asBytes("pre-shared"), octets);
  ASSERT_TRUE(auth);
  EXPECT_EQ(auth->size(), 64u);
  EXPECT_TRUE(verifyPskAuthData(PrfId::kHmacSha512, asBytes("pre-shared"), octets, auth->bytes()));
  auto bad = std::vector<uint8_t>(auth->bytes().begin(), auth->bytes().end());
  bad[10] ^= 1;
  EXPECT_FALSE(verifyPskAuthData(PrfId::kHmacSha512, asBytes("pre-shared"), octets, bad));
  EXPECT_FALSE(verifyPskAuthData(PrfId::kHmacSha512, asBytes("pre-shareD"), octets, auth->bytes()));
  EXPECT_FALSE(verifyPskAuthData(PrfId::kHmacSha512, asBytes("pre-shared"), octets,
                                 auth->bytes().first(63)));
  EXPECT_FALSE(pskAuthData(PrfId::kHmacSha256, {}, octets));
  EXPECT_TRUE(constantTimeEqual({}, {}));
  EXPECT_FALSE(constantTimeEqual(unhex("01"), unhex("0102")));
}

TEST(IkeSignatureHashes, NotifyEncoding) {
  auto data = encodeSignatureHashAlgorithms(supportedSignatureHashes());
  EXPECT_EQ(hexOf(data), "000200030004");
  auto parsed = parseSignatureHashAlgorithms(unhex("0002000500ff"));
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->size(), 3u);
  EXPECT_EQ((*parsed)[1], HashAlgorithm::kIdentity);
  EXPECT_EQ(static_cast<uint16_t>((*parsed)[2]), 0xff);
  EXPECT_FALSE(parseSignatureHashAlgorithms(unhex("000200")));
}

struct Keys {
  PrivateKey rsa, p256, p384, p521;
};
const Keys& keys() {
  static const Keys k = [] {
    Keys out;
    out.rsa = *PrivateKey::generateRsa(2048);
    out.p256 = *PrivateKey::generateEc(KeyType::kEcP256);
    out.p384 = *PrivateKey::generateEc(KeyType::kEcP384);
    out.p521 = *PrivateKey::generateEc(KeyType::kEcP521);
    return out;
  }();
  return k;
}

TEST(IkeSignature, ChooseMethod) {
  const auto& k = keys();
  const std::vector<HashAlgorithm> all{HashAlgorithm::kSha256, HashAlgorithm::kSha384,
                                       HashAlgorithm::kSha512};
  using S = SignatureScheme;
  EXPECT_EQ(*chooseSignature(k.rsa, {}),
            (SignatureChoice{AuthMethod::kRsaSignature, S::kRsaPkcs1Sha1}));
  EXPECT_EQ(*chooseSignature(k.rsa, all),
            (SignatureChoice{AuthMethod::kDigitalSignature, S::kRsaPkcs1Sha256}));
  EXPECT_EQ(*chooseSignature(k.rsa, all, true),
            (SignatureChoice{AuthMethod::kDigitalSignature, S::kRsaPssSha256}));
  EXPECT_EQ(*chooseSignature(k.p256, {}),
            (SignatureChoice{AuthMethod::kEcdsaSha256P256, S::kEcdsaSha256}));
  EXPECT_EQ(*chooseSignature(k.p384, {}),
            (SignatureChoice{AuthMethod::kEcdsaSha384P384, S::kEcdsaSha384}));
  EXPECT_EQ(*chooseSignature(k.p521, {}),
            (SignatureChoice{AuthMethod::kEcdsaSha512P521, S::kEcdsaSha512}));
  EXPECT_EQ(*chooseSignature(k.p384, all),
            (SignatureChoice{AuthMethod::kDigitalSignature, S::kEcdsaSha384}));
  const std::vector<HashAlgorithm> only512{HashAlgorithm::kSha512};
  EXPECT_EQ(*chooseSignature(k.p256, only512),
            (SignatureChoice{AuthMethod::kDigitalSignature, S::kEcdsaSha512}));
  // A peer offering only hashes we do not use falls back to the classic method.
  const std::vector<HashAlgorithm> unknown{HashAlgorithm::kIdentity};
  EXPECT_EQ(chooseSignature(k.p256, unknown)->method, AuthMethod::kEcdsaSha256P256);
}

TEST(IkeSignature, SignVerifyAllMethods) {
  const auto& k = keys();
  const auto octets = unhex("000102030405060708090a0b0c0d0e0f1011121314151617");
  using S = SignatureScheme;
  struct Case {
    const PrivateKey* key;
    SignatureChoice choice;
    size_t rawLength;  // 0 = variable
  } cases[] = {
      {&k.rsa, {AuthMethod::kRsaSignature, S::kRsaPkcs1Sha1}, 256},
      {&k.p256, {AuthMethod::kEcdsaSha256P256, S::kEcdsaSha256}, 64},
      {&k.p384, {AuthMethod::kEcdsaSha384P384, S::kEcdsaSha384}, 96},
      {&k.p521, {AuthMethod::kEcdsaSha512P521, S::kEcdsaSha512}, 132},
      {&k.rsa, {AuthMethod::kDigitalSignature, S::kRsaPkcs1Sha256}, 0},
      {&k.rsa, {AuthMethod::kDigitalSignature, S::kRsaPkcs1Sha384}, 0},
      {&k.rsa, {AuthMethod::kDigitalSignature, S::kRsaPkcs1Sha512}, 0},
      {&k.rsa, {AuthMethod::kDigitalSignature, S::kRsaPssSha256}, 0},
      {&k.p256, {AuthMethod::kDigitalSignature, S::kEcdsaSha256}, 0},
      {&k.p384, {AuthMethod::kDigitalSignature, S::kEcdsaSha384}, 0},
      {&k.p256, {AuthMethod::kDigitalSignature, S::kEcdsaSha512}, 0},
      {&k.p521, {AuthMethod::kDigitalSignature, S::kEcdsaSha512}, 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(signatureSchemeName(c.choice.scheme)) + " method " +
                 std::to_string(static_cast<int>(c.choice.method)));
    auto sig = signAuth(*c.key, c.choice, octets);
    ASSERT_TRUE(sig) << sig.status().message();
    if (c.rawLength != 0) {
      EXPECT_EQ(sig->size(), c.rawLength);
    }
    if (c.choice.method == AuthMethod::kDigitalSignature) {
      // RFC 7427 3: ASN.1 length | AlgorithmIdentifier | signature.
      const auto algId = signatureAlgorithmIdentifier(c.choice.scheme);
      ASSERT_FALSE(algId.empty());
      EXPECT_EQ((*sig)[0], algId.size());
      EXPECT_TRUE(std::equal(algId.begin(), algId.end(), sig->begin() + 1));
    }
    const PublicKey pub = c.key->publicKey();
    EXPECT_TRUE(verifyAuth(pub, c.choice.method, *sig, octets)) << "verify";
    auto tampered = octets;
    tampered[0] ^= 1;
    Status st = verifyAuth(pub, c.choice.method, *sig, tampered);
    EXPECT_FALSE(st);
    EXPECT_EQ(st.code(), ErrorCode::kPermissionDenied);
    auto badSig = *sig;
    badSig.back() ^= 0x40;
    EXPECT_FALSE(verifyAuth(pub, c.choice.method, badSig, octets));
    // Another key of the same type does not verify.
    const PrivateKey other = c.key->type() == KeyType::kRsa
                                 ? *PrivateKey::generateRsa(2048)
                                 : *PrivateKey::generateEc(c.key->type());
    EXPECT_FALSE(verifyAuth(other.publicKey(), c.choice.method, *sig, octets));
  }
}

TEST(IkeSignature, MismatchesAreRejected) {
  const auto& k = keys();
  const auto octets = unhex("aa");
  using S = SignatureScheme;
  // Method 9 needs P-256 with SHA-256; method 1 needs SHA-1 and RSA.
  EXPECT_FALSE(signAuth(k.p384, {AuthMethod::kEcdsaSha256P256, S::kEcdsaSha256}, octets));
  EXPECT_FALSE(signAuth(k.rsa, {AuthMethod::kRsaSignature, S::kRsaPkcs1Sha256}, octets));
  EXPECT_FALSE(signAuth(k.p256, {AuthMethod::kDigitalSignature, S::kRsaPkcs1Sha256}, octets));
  EXPECT_FALSE(signAuth(k.rsa, {AuthMethod::kSharedKeyMic, S::kRsaPkcs1Sha256}, octets));
  auto ec = signAuth(k.p256, {AuthMethod::kEcdsaSha256P256, S::kEcdsaSha256}, octets);
  ASSERT_TRUE(ec);
  EXPECT_FALSE(verifyAuth(k.p384.publicKey(), AuthMethod::kEcdsaSha256P256, *ec, octets));
  EXPECT_FALSE(verifyAuth(k.rsa.publicKey(), AuthMethod::kEcdsaSha256P256, *ec, octets));
  // RFC 7427: an ECDSA AlgorithmIdentifier against an RSA key, a hash we did not announce,
  // an unknown AlgorithmIdentifier, and a truncated blob.
  auto d = signAuth(k.p256, {AuthMethod::kDigitalSignature, S::kEcdsaSha384}, octets);
  ASSERT_TRUE(d);
  EXPECT_FALSE(verifyAuth(k.rsa.publicKey(), AuthMethod::kDigitalSignature, *d, octets));
  const std::vector<HashAlgorithm> only256{HashAlgorithm::kSha256};
  EXPECT_FALSE(verifyAuth(k.p256.publicKey(), AuthMethod::kDigitalSignature, *d, octets, only256));
  EXPECT_TRUE(verifyAuth(k.p256.publicKey(), AuthMethod::kDigitalSignature, *d, octets,
                         supportedSignatureHashes()));
  auto unknownAlg = *d;
  unknownAlg[unknownAlg[0]] ^= 0x01;  // last byte of the OID
  EXPECT_FALSE(verifyAuth(k.p256.publicKey(), AuthMethod::kDigitalSignature, unknownAlg, octets));
  EXPECT_FALSE(
      verifyAuth(k.p256.publicKey(), AuthMethod::kDigitalSignature, Bytes(*d).first(5), octets));
  EXPECT_FALSE(verifyAuth(k.p256.publicKey(), AuthMethod::kDigitalSignature, {}, octets));
  EXPECT_FALSE(
      verifyAuth(k.p256.publicKey(), AuthMethod::kEcdsaSha256P256, Bytes(*ec).first(63), octets));
}

TEST(IkeSignature, KeysThroughPem) {
  const auto& k = keys();
  for (const PrivateKey* key : {&k.rsa, &k.p384}) {
    const std::string pem = key->toPem();
    ASSERT_NE(pem.find("BEGIN PRIVATE KEY"), std::string::npos);
    auto back = PrivateKey::fromPem(pem);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->type(), key->type());
    EXPECT_EQ(back->publicKey().spkiDer(), key->publicKey().spkiDer());
    auto pub = PublicKey::fromDer(key->publicKey().spkiDer());
    ASSERT_TRUE(pub);
    EXPECT_EQ(pub->type(), key->type());
  }
  EXPECT_FALSE(
      PrivateKey::fromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
  EXPECT_FALSE(PrivateKey::loadPemFile("/nonexistent/key.pem"));
  EXPECT_FALSE(PublicKey::fromDer(unhex("3000")));
}

}  // namespace
}  // namespace braid::ike
