#include "ipsec/ike/eap_mschapv2.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "ipsec/ike/md4.hpp"

namespace braid::ike::mschapv2 {
namespace {

Status cryptoError(const char* what) {
  return errorStatus(ErrorCode::kCryptoError, std::string("OpenSSL: ") + what);
}

// SHA-1 over the concatenation of the parts.
Result<std::array<uint8_t, 20>> sha1(std::initializer_list<Bytes> parts) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha1(), nullptr) != 1) return cryptoError("SHA-1");
  for (Bytes p : parts) {
    if (EVP_DigestUpdate(ctx.get(), p.data(), p.size()) != 1) return cryptoError("SHA-1");
  }
  std::array<uint8_t, 20> out{};
  unsigned n = 0;
  if (EVP_DigestFinal_ex(ctx.get(), out.data(), &n) != 1 || n != 20) return cryptoError("SHA-1");
  return out;
}

// RFC 2759 8.7, RFC 3079 3.4: the magic constants, ASCII without terminator.
constexpr std::string_view kMagic1 = "Magic server to client signing constant";
constexpr std::string_view kMagic2 = "Pad to make it do more than one iteration";
constexpr std::string_view kKeyMagic1 = "This is the MPPE Master Key";
constexpr std::string_view kKeyMagic2 =
    "On the client side, this is the send key; on the server side, it is the receive key.";
constexpr std::string_view kKeyMagic3 =
    "On the client side, this is the receive key; on the server side, it is the send key.";

Result<std::array<uint8_t, 16>> asymmetricStartKey(Bytes master, std::string_view magic) {
  // RFC 3079 3.4: SHAPad1 is 40 zero bytes, SHAPad2 40 bytes of 0xF2.
  std::array<uint8_t, 40> pad1{}, pad2{};
  pad2.fill(0xF2);
  auto d = sha1({master, pad1, asBytes(magic), pad2});
  if (!d) return d.status();
  std::array<uint8_t, 16> out{};
  std::copy_n(d->begin(), 16, out.begin());
  return out;
}

}  // namespace

std::optional<NtHash> ntPasswordHash(std::string_view s) {
  // UTF-8 to UTF-16LE (RFC 2759 8.3 "Unicode"), surrogate pairs above the BMP.
  std::vector<uint8_t> u;
  for (size_t i = 0; i < s.size();) {
    uint8_t c = uint8_t(s[i]);
    uint32_t cp = 0;
    size_t n = 0;
    if (c < 0x80) {
      cp = c, n = 1;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F, n = 2;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F, n = 3;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07, n = 4;
    } else {
      return std::nullopt;
    }
    if (i + n > s.size()) return std::nullopt;
    for (size_t k = 1; k < n; ++k) {
      uint8_t cc = uint8_t(s[i + k]);
      if ((cc & 0xC0) != 0x80) return std::nullopt;
      cp = cp << 6 | (cc & 0x3F);
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    if (cp >= 0x10000) {
      uint32_t v = cp - 0x10000;
      uint16_t hi = uint16_t(0xD800 + (v >> 10)), lo = uint16_t(0xDC00 + (v & 0x3FF));
      u.insert(u.end(), {uint8_t(hi), uint8_t(hi >> 8), uint8_t(lo), uint8_t(lo >> 8)});
    } else {
      u.insert(u.end(), {uint8_t(cp), uint8_t(cp >> 8)});
    }
    i += n;
  }
  NtHash h = md4(u);
  std::fill(u.begin(), u.end(), 0);
  return h;
}

std::string_view challengeUserName(std::string_view name) {
  size_t p = name.rfind('\\');
  return p == std::string_view::npos ? name : name.substr(p + 1);
}

Result<std::array<uint8_t, 8>> challengeHash(const Challenge16& peer, const Challenge16& auth,
                                             std::string_view userName) {
  auto d = sha1({peer, auth, asBytes(challengeUserName(userName))});
  if (!d) return d.status();
  std::array<uint8_t, 8> out{};
  std::copy_n(d->begin(), 8, out.begin());
  return out;
}

Result<std::array<uint8_t, 8>> desEncrypt(const std::array<uint8_t, 8>& block, Bytes key7) {
  if (key7.size() != 7) return errorStatus(ErrorCode::kInvalidArgument, "DES key is 7 bytes");
  // RFC 2759 8.6: spread 56 bits over 8 bytes, the low bit of each (parity) left zero;
  // OpenSSL does not check parity.
  std::array<uint8_t, 24> key{};
  for (int i = 0; i < 8; ++i) {
    int bit = i * 7;
    unsigned v = unsigned(key7[bit / 8]) << 8 | (bit / 8 + 1 < 7 ? key7[bit / 8 + 1] : 0);
    key[i] = uint8_t((v >> (9 - bit % 8)) << 1);
  }
  for (int i = 8; i < 24; ++i) key[i] = key[i % 8];  // K1 = K2 = K3: EDE is single DES
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      EVP_CIPHER_CTX_free);
  std::array<uint8_t, 8> out{};
  int n = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_des_ede3_ecb(), nullptr, key.data(), nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out.data(), &n, block.data(), 8) != 1 || n != 8) {
    std::fill(key.begin(), key.end(), 0);
    return cryptoError("DES-EDE3");
  }
  std::fill(key.begin(), key.end(), 0);
  return out;
}

Result<NtResponse> challengeResponse(const std::array<uint8_t, 8>& challenge, const NtHash& hash) {
  std::array<uint8_t, 21> z{};  // the hash zero-padded to 21 bytes: three 7-byte keys
  std::copy(hash.begin(), hash.end(), z.begin());
  NtResponse out{};
  for (int i = 0; i < 3; ++i) {
    auto c = desEncrypt(challenge, Bytes(z).subspan(size_t(i) * 7, 7));
    if (!c) return c.status();
    std::copy(c->begin(), c->end(), out.begin() + i * 8);
  }
  return out;
}

Result<NtResponse> generateNtResponse(const Challenge16& auth, const Challenge16& peer,
                                      std::string_view userName, const NtHash& hash) {
  auto ch = challengeHash(peer, auth, userName);
  if (!ch) return ch.status();
  return challengeResponse(*ch, hash);
}

Result<std::string> authenticatorResponse(const NtHash& hash, const NtResponse& ntResponse,
                                          const Challenge16& peer, const Challenge16& auth,
                                          std::string_view userName) {
  NtHash hashHash = md4(hash);
  auto d1 = sha1({hashHash, ntResponse, asBytes(kMagic1)});
  if (!d1) return d1.status();
  auto ch = challengeHash(peer, auth, userName);
  if (!ch) return ch.status();
  auto d2 = sha1({*d1, *ch, asBytes(kMagic2)});
  if (!d2) return d2.status();
  return "S=" + toHex(*d2, true);
}

Result<std::array<uint8_t, 16>> masterKey(const NtHash& hash, const NtResponse& ntResponse) {
  NtHash hashHash = md4(hash);
  auto d = sha1({hashHash, ntResponse, asBytes(kKeyMagic1)});
  if (!d) return d.status();
  std::array<uint8_t, 16> out{};
  std::copy_n(d->begin(), 16, out.begin());
  return out;
}

Result<SecretBytes> msk(const NtHash& hash, const NtResponse& ntResponse) {
  auto mk = masterKey(hash, ntResponse);
  if (!mk) return mk.status();
  auto recv = asymmetricStartKey(*mk, kKeyMagic2);
  auto send = asymmetricStartKey(*mk, kKeyMagic3);
  if (!recv || !send) return cryptoError("SHA-1");
  SecretBytes out(32);
  std::copy(recv->begin(), recv->end(), out.data());
  std::copy(send->begin(), send->end(), out.data() + 16);
  return out;
}

std::optional<NtHash> parseNtHashHex(std::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  NtHash out{};
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < 16; ++i) {
    int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = uint8_t(hi << 4 | lo);
  }
  return out;
}

std::string toHex(Bytes b, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string s;
  for (uint8_t c : b) {
    s += digits[c >> 4];
    s += digits[c & 15];
  }
  return s;
}

}  // namespace braid::ike::mschapv2
