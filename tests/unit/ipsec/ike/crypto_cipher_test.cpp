// SK payload protection (RFC 7296 3.14, RFC 5282, RFC 7634) including RFC 7634 appendix B.
#include <gtest/gtest.h>

#include <cctype>

#include <cstring>

#include "crypto_test_support.hpp"
#include "ipsec/ike/crypto_cipher.hpp"

namespace braid::ike {
namespace {

using test::hexOf;
using test::unhex;

Suite suite(std::string_view text) {
  auto p = parseProposal(text, ProtocolId::kIke);
  EXPECT_TRUE(p) << p.status().message();
  auto s = suiteOf(*p);
  EXPECT_TRUE(s) << s.status().message();
  return *s;
}

IvGenerator fixedIv(std::vector<uint8_t> iv) {
  return [iv](MutableBytes out) { std::memcpy(out.data(), iv.data(), out.size()); };
}

// RFC 7634 appendix B: an INFORMATIONAL request protected with ChaCha20-Poly1305.
TEST(IkeCipherVectors, Rfc7634AppendixB) {
  const auto keymat = unhex(
      "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"  // key
      "a0a1a2a3");                                                        // salt
  const auto message = unhex(
      "c0c1c2c3c4c5c6c7d0d1d2d3d4d5d6d72e202500000000090000004529000029"  // header + SK header
      "1011121314151617"                                                  // IV
      "610394701f8d017f7c12924889"                                        // ciphertext
      "6b71bfe25236efd7cdc67066906315b2");                                // ICV
  auto cipher = IkeCipher::create(suite("chacha20poly1305-prfsha256-x25519"), keymat, {});
  ASSERT_TRUE(cipher) << cipher.status().message();
  auto inner = openMessage(**cipher, message, kIkeHeaderLength);
  ASSERT_TRUE(inner) << inner.status().message();
  // A Notify payload (12 bytes); the Pad Length byte (0) is stripped.
  EXPECT_EQ(hexOf(*inner), "0000000c000040010000000a");

  (*cipher)->setIvGenerator(fixedIv(unhex("1011121314151617")));
  auto sealed = sealMessage(**cipher, Bytes(message).first(kIkeHeaderLength), message[28], *inner);
  ASSERT_TRUE(sealed) << sealed.status().message();
  EXPECT_EQ(hexOf(*sealed), hexOf(message));
}

struct SuiteCase {
  const char* text;
  size_t iv, icv;
};

class IkeCipherRoundTrip : public ::testing::TestWithParam<SuiteCase> {};

TEST_P(IkeCipherRoundTrip, SealOpenAndTamper) {
  const SuiteCase& c = GetParam();
  const Suite s = suite(c.text);
  std::vector<uint8_t> ekey(encrKeyLength(s.encr, s.encrKeyBits), 0x11);
  std::vector<uint8_t> akey(integKeyLength(s.integ), 0x22);
  auto out = IkeCipher::create(s, ekey, akey);
  auto in = IkeCipher::create(s, ekey, akey);
  ASSERT_TRUE(out && in);
  EXPECT_EQ((*out)->ivLength(), c.iv);
  EXPECT_EQ((*out)->icvLength(), c.icv);

  // IKE header with Next Payload = SK; fields other than Length are arbitrary here.
  std::vector<uint8_t> header = unhex("0102030405060708a1a2a3a4a5a6a7a82e20230800000001");
  header.resize(kIkeHeaderLength, 0);
  for (size_t len : {0u, 1u, 15u, 16u, 17u, 100u, 1000u}) {
    SCOPED_TRACE(len);
    std::vector<uint8_t> inner(len);
    for (size_t i = 0; i < len; ++i) inner[i] = static_cast<uint8_t>(i * 7);
    auto msg = sealMessage(**out, header, 35, inner);
    ASSERT_TRUE(msg) << msg.status().message();
    EXPECT_EQ(msg->size(), kIkeHeaderLength + 4 + (*out)->encryptedLength(len));
    EXPECT_EQ(loadBe32(msg->data() + 24), msg->size());
    EXPECT_EQ((*msg)[kIkeHeaderLength], 35);
    if (s.isAead()) {
      EXPECT_EQ((*out)->encryptedLength(len), 8 + len + 1 + 16);
    } else {
      EXPECT_EQ(((*out)->encryptedLength(len) - c.iv - c.icv) % 16, 0u);
    }
    auto opened = openMessage(**in, *msg, kIkeHeaderLength);
    ASSERT_TRUE(opened) << opened.status().message();
    EXPECT_EQ(*opened, inner);

    // Any flipped bit -- header (AAD / integrity-covered), IV, ciphertext or ICV -- fails.
    for (size_t pos : {size_t{3}, kIkeHeaderLength + 5, msg->size() - c.icv - 1, msg->size() - 1}) {
      auto bad = *msg;
      bad[pos] ^= 0x01;
      auto r = openMessage(**in, bad, kIkeHeaderLength);
      ASSERT_FALSE(r) << "pos " << pos;
      EXPECT_EQ(r.status().code(), ErrorCode::kCryptoError);
    }
  }
  // Fresh IVs for every message.
  auto m1 = sealMessage(**out, header, 35, unhex("00"));
  auto m2 = sealMessage(**out, header, 35, unhex("00"));
  EXPECT_NE(*m1, *m2);
  // Wrong keys fail. With CBC+HMAC only the integrity key decides: a wrong encryption key
  // alone yields garbage whose pad length is valid one time in sixteen.
  std::vector<uint8_t> other(ekey.size(), 0x33);
  std::vector<uint8_t> otherIntegrity(akey.size(), 0x44);
  auto wrong = IkeCipher::create(s, other, otherIntegrity);
  EXPECT_FALSE(openMessage(**wrong, *m1, kIkeHeaderLength));
}

INSTANTIATE_TEST_SUITE_P(
    AllSuites, IkeCipherRoundTrip,
    ::testing::Values(SuiteCase{"aes128-sha256-modp2048", 16, 16},
                      SuiteCase{"aes256-sha384-modp2048", 16, 24},
                      SuiteCase{"aes256-sha512-modp2048", 16, 32},
                      SuiteCase{"aes128gcm16-prfsha256-x25519", 8, 16},
                      SuiteCase{"aes256gcm16-prfsha256-x25519", 8, 16},
                      SuiteCase{"chacha20poly1305-prfsha256-x25519", 8, 16}),
    // Stable test names (the default prints the struct's bytes, including a pointer).
    [](const ::testing::TestParamInfo<SuiteCase>& info) {
      std::string name = info.param.text;
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

TEST(IkeCipher, AeadDefaultIvIsCounter) {
  const Suite s = suite("aes256gcm16-prfsha256-x25519");
  std::vector<uint8_t> k(36, 1);
  auto c = IkeCipher::create(s, k, {});
  std::vector<uint8_t> body((*c)->encryptedLength(4));
  ASSERT_TRUE((*c)->encrypt(unhex("00"), unhex("01020304"), body));
  EXPECT_EQ(hexOf(Bytes(body).first(8)), "0000000000000001");
  ASSERT_TRUE((*c)->encrypt(unhex("00"), unhex("01020304"), body));
  EXPECT_EQ(hexOf(Bytes(body).first(8)), "0000000000000002");
}

TEST(IkeCipher, PaddingAcceptedAndRejected) {
  // The receiver accepts any Pad Length that fits (RFC 7296 3.14): craft one with 3 pad bytes
  // through the AEAD encryptor by encrypting "inner | 0 0 0 | 3" with a pad length byte of 0.
  const Suite s = suite("aes128gcm16-prfsha256-x25519");
  std::vector<uint8_t> k(20, 7);
  auto c = IkeCipher::create(s, k, {});
  const auto plain = unhex("aabbcc00000003");
  std::vector<uint8_t> body((*c)->encryptedLength(plain.size()));
  ASSERT_TRUE((*c)->encrypt(unhex("1234"), plain, body));
  // decrypt strips our own Pad Length 0 only: the inner payloads are "aabbcc00000003".
  auto r = (*c)->decrypt(unhex("1234"), body);
  ASSERT_TRUE(r);
  EXPECT_EQ(hexOf(*r), "aabbcc00000003");
  // Too short for IV + ICV.
  auto shortBody = (*c)->decrypt(unhex("1234"), Bytes(body).first(20));
  ASSERT_FALSE(shortBody);
  EXPECT_EQ(shortBody.status().code(), ErrorCode::kParseError);
  // CBC: ciphertext not a multiple of the block size.
  const Suite cbc = suite("aes128-sha256-modp2048");
  auto cc = IkeCipher::create(cbc, std::vector<uint8_t>(16, 1), std::vector<uint8_t>(32, 2));
  std::vector<uint8_t> odd(16 + 17 + 16, 0);
  auto r2 = (*cc)->decrypt({}, odd);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.status().code(), ErrorCode::kParseError);
}

TEST(IkeCipher, MaxPlaintextFitsBody) {
  for (const char* text :
       {"aes128-sha256-modp2048", "aes256-sha512-modp2048", "aes256gcm16-prfsha256-x25519"}) {
    const Suite s = suite(text);
    auto c = IkeCipher::create(s, std::vector<uint8_t>(encrKeyLength(s.encr, s.encrKeyBits)),
                               std::vector<uint8_t>(integKeyLength(s.integ)));
    for (size_t body = 40; body < 600; body += 13) {
      const size_t n = (*c)->maxPlaintextLength(body);
      if (n == 0) continue;
      EXPECT_LE((*c)->encryptedLength(n), body) << text << " " << body;
      EXPECT_GT((*c)->encryptedLength(n + 1), body) << text << " " << body;
    }
  }
}

TEST(IkeCipher, CreateRejectsBadKeys) {
  EXPECT_FALSE(IkeCipher::create(suite("aes128-sha256-modp2048"), std::vector<uint8_t>(15),
                                 std::vector<uint8_t>(32)));
  EXPECT_FALSE(IkeCipher::create(suite("aes128-sha256-modp2048"), std::vector<uint8_t>(16),
                                 std::vector<uint8_t>(31)));
  EXPECT_FALSE(
      IkeCipher::create(suite("aes128gcm16-prfsha256-x25519"), std::vector<uint8_t>(16), {}));
}

TEST(IkeCipher, PairDirections) {
  const Suite s = suite("aes256-sha256-ecp256");
  auto keys = deriveInitialIkeSaKeys(s, unhex("0102"), unhex("aa"), unhex("bb"), 1, 2);
  ASSERT_TRUE(keys);
  auto i = createIkeCiphers(s, *keys, true);
  auto r = createIkeCiphers(s, *keys, false);
  ASSERT_TRUE(i && r);
  std::vector<uint8_t> hdr(kIkeHeaderLength, 0);
  auto m = sealMessage(*i->outbound, hdr, 41, unhex("0102030405"));
  ASSERT_TRUE(m);
  EXPECT_TRUE(openMessage(*r->inbound, *m, kIkeHeaderLength));
  EXPECT_FALSE(openMessage(*i->inbound, *m, kIkeHeaderLength));  // reflected message
  // Length mismatches are parse errors, not crashes.
  auto cut = *m;
  cut.pop_back();
  EXPECT_FALSE(openMessage(*r->inbound, cut, kIkeHeaderLength));
  EXPECT_FALSE(openMessage(*r->inbound, *m, m->size()));
}

}  // namespace
}  // namespace braid::ike
