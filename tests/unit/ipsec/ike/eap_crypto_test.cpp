// MD4 against RFC 1320 A.5, MS-CHAPv2 against RFC 2759 9.2, the master key against RFC 3079
// 3.5.3, and DES through DES-EDE3 against a FIPS 81 known answer.
#include <gtest/gtest.h>

#include "ipsec/ike/eap_mschapv2.hpp"
#include "ipsec/ike/md4.hpp"

namespace braid::ike {
namespace {

using namespace mschapv2;

std::string hex(Bytes b) {
  return toHex(b, false);
}

template <size_t N>
std::array<uint8_t, N> arr(std::string_view h) {
  std::array<uint8_t, N> a{};
  EXPECT_EQ(h.size(), 2 * N);
  for (size_t i = 0; i < N; ++i)
    a[i] = uint8_t(std::stoul(std::string(h.substr(2 * i, 2)), nullptr, 16));
  return a;
}

TEST(Md4, Rfc1320Vectors) {
  EXPECT_EQ(hex(md4(asBytes(""))), "31d6cfe0d16ae931b73c59d7e0c089c0");
  EXPECT_EQ(hex(md4(asBytes("a"))), "bde52cb31de33e46245e05fbdbd6fb24");
  EXPECT_EQ(hex(md4(asBytes("abc"))), "a448017aaf21d8525fc10ae87aa6729d");
  EXPECT_EQ(hex(md4(asBytes("message digest"))), "d9130a8164549fe818874806e1c7014b");
  EXPECT_EQ(hex(md4(asBytes("abcdefghijklmnopqrstuvwxyz"))), "d79e1c308aa5bbcdeea8ed63df412da9");
  EXPECT_EQ(hex(md4(asBytes("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))),
            "043f8582f241db351ce627e153e7f0e4");
  std::string s;
  for (int i = 0; i < 8; ++i) s += "1234567890";
  EXPECT_EQ(hex(md4(asBytes(s))), "e33b4ddc9c38f2199c3e7b164fcc0536");
}

TEST(Md4, PaddingBoundaries) {
  // 55, 56 and 64 bytes: the length fits the first pad block, needs a second one, or
  // follows a full block. Each must differ from its neighbours (no truncation).
  std::string a(55, 'x'), b(56, 'x'), c(64, 'x'), d(119, 'x');
  EXPECT_NE(hex(md4(asBytes(a))), hex(md4(asBytes(b))));
  EXPECT_NE(hex(md4(asBytes(b))), hex(md4(asBytes(c))));
  EXPECT_EQ(hex(md4(asBytes(c))), hex(md4(asBytes(std::string(64, 'x')))));
  EXPECT_NE(hex(md4(asBytes(d))), hex(md4(asBytes(std::string(120, 'x')))));
}

TEST(Des, KnownAnswerThroughEde3) {
  // FIPS 81 / the classic "Now is the time for all " example: key 0123456789ABCDEF (with
  // parity), plaintext "Now is t" -> 3FA40E8A984D4815.
  // The 56-bit key without parity bits: each key byte's top 7 bits.
  std::array<uint8_t, 8> full = arr<8>("0123456789abcdef");
  std::array<uint8_t, 7> k7{};
  uint64_t bits = 0;
  for (uint8_t b : full) bits = bits << 7 | (b >> 1);
  for (int i = 0; i < 7; ++i) k7[i] = uint8_t(bits >> (8 * (6 - i)));
  std::array<uint8_t, 8> pt{};
  std::string_view now = "Now is t";
  std::copy(now.begin(), now.end(), pt.begin());
  auto ct = desEncrypt(pt, k7);
  ASSERT_TRUE(ct.isOk()) << ct.status().message();
  EXPECT_EQ(hex(*ct), "3fa40e8a984d4815");
  EXPECT_FALSE(desEncrypt(pt, Bytes(k7).first(6)).isOk());
}

struct Rfc2759 : ::testing::Test {
  Challenge16 auth = arr<16>("5b5d7c7d7b3f2f3e3c2c602132262628");
  Challenge16 peer = arr<16>("21402324255e262a28295f2b3a337c7e");
  std::string user = "User";
  std::string password = "clientPass";
};

TEST_F(Rfc2759, Section9_2) {
  auto hash = ntPasswordHash(password);
  ASSERT_TRUE(hash);
  EXPECT_EQ(hex(*hash), "44ebba8d5312b8d611474411f56989ae");
  EXPECT_EQ(hex(md4(*hash)), "41c00c584bd2d91c4017a2a12fa59f3f");  // PasswordHashHash
  auto ch = challengeHash(peer, auth, user);
  ASSERT_TRUE(ch.isOk());
  EXPECT_EQ(hex(*ch), "d02e4386bce91226");
  auto nt = generateNtResponse(auth, peer, user, *hash);
  ASSERT_TRUE(nt.isOk());
  EXPECT_EQ(hex(*nt), "82309ecd8d708b5ea08faa3981cd83544233114a3d85d6df");
  auto ar = authenticatorResponse(*hash, *nt, peer, auth, user);
  ASSERT_TRUE(ar.isOk());
  EXPECT_EQ(*ar, "S=407A5589115FD0D6209F510FE9C04566932CDA56");
  // A domain prefix does not enter the challenge hash (RFC 2759 8.2).
  EXPECT_EQ(hex(*challengeHash(peer, auth, "CORP\\User")), "d02e4386bce91226");
}

TEST_F(Rfc2759, MasterKeyAndMskRfc3079) {
  auto hash = ntPasswordHash(password);
  auto nt = generateNtResponse(auth, peer, user, *hash);
  auto mk = masterKey(*hash, *nt);
  ASSERT_TRUE(mk.isOk());
  EXPECT_EQ(hex(*mk), "fdece3717a8c838cb388e527ae3cdd31");  // RFC 3079 3.5.3
  auto key = msk(*hash, *nt);
  ASSERT_TRUE(key.isOk());
  ASSERT_EQ(key->size(), 32u);
  // RFC 3079 3.5.3 SendStartKey128 is the server's send key (Magic3): the MSK's second half.
  EXPECT_EQ(hex(key->bytes().subspan(16)), "8b7cdc149b993a1ba118cb153f56dccb");
  EXPECT_NE(hex(key->bytes().first(16)), hex(key->bytes().subspan(16)));
}

TEST(NtHash, UnicodeAndHex) {
  // UTF-16LE: a non-ASCII password hashes as its code units, not its UTF-8 bytes.
  auto a = ntPasswordHash("p\xC3\xA4ss");  // "päss"
  ASSERT_TRUE(a);
  uint8_t utf16[] = {'p', 0, 0xE4, 0, 's', 0, 's', 0};
  EXPECT_EQ(*a, md4(utf16));
  auto b = ntPasswordHash("\xF0\x9F\x94\x91");  // U+1F511: a surrogate pair D83D DD11
  uint8_t pair[] = {0x3D, 0xD8, 0x11, 0xDD};
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, md4(pair));
  EXPECT_FALSE(ntPasswordHash("\xC3"));          // truncated sequence
  EXPECT_FALSE(ntPasswordHash("\xED\xA0\x80"));  // an encoded surrogate
  EXPECT_FALSE(ntPasswordHash("\xFF"));
  auto h = parseNtHashHex("44EBBA8D5312B8D611474411F56989ae");
  ASSERT_TRUE(h);
  EXPECT_EQ(*h, *ntPasswordHash("clientPass"));
  EXPECT_FALSE(parseNtHashHex("44ebba8d5312b8d611474411f56989a"));
  EXPECT_FALSE(parseNtHashHex("44ebba8d5312b8d611474411f56989ag"));
}

}  // namespace
}  // namespace braid::ike
