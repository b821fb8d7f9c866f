// Shared helpers for the ESP tests: the test hooks of esp.hpp, fixed SAs, and an
// independent reference sealer written directly against OpenSSL's one-shot AEAD calls.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "core/bytes.hpp"
#include "core/hex.hpp"
#include "core/packet_buffer.hpp"
#include "ipsec/esp.hpp"

namespace braid::ipsec {

class EspTestAccess {
 public:
  static void setNextExplicitIv(EspOutboundSa& sa, uint64_t iv) { sa.setNextExplicitIv(iv); }
  static void primeReplayWindow(EspInboundSa& sa, uint64_t seq) { sa.primeReplayWindow(seq); }
};

namespace testing_support {

inline std::vector<uint8_t> hex(std::string_view s) {
  auto v = fromHex(s);
  return v ? *v : std::vector<uint8_t>{};
}

inline SecretBytes testKeymat(EspCipher cipher, uint8_t base = 0x10) {
  SecretBytes k(espKeymatLength(cipher));
  for (size_t i = 0; i < k.size(); ++i) k.data()[i] = static_cast<uint8_t>(base + i * 7);
  return k;
}

inline EspSaConfig testConfig(EspCipher cipher, bool esn, uint32_t spi = 0x1000abcd,
                              uint32_t window = 1024) {
  EspSaConfig c;
  c.spi = spi;
  c.cipher = cipher;
  c.keymat = testKeymat(cipher);
  c.esn = esn;
  c.replayWindow = window;
  return c;
}

inline std::unique_ptr<EspOutboundSa> makeOut(const EspSaConfig& c) {
  auto r = EspOutboundSa::create(c);
  return r ? std::move(r).value() : nullptr;
}
inline std::unique_ptr<EspInboundSa> makeIn(const EspSaConfig& c) {
  auto r = EspInboundSa::create(c);
  return r ? std::move(r).value() : nullptr;
}

// PacketBuffer::assign() hands its span to memcpy even when empty, and an empty vector's
// data() may be null (undefined behaviour that UBSan reports): give it a valid pointer.
[[nodiscard]] inline bool load(PacketBuffer& b, const std::vector<uint8_t>& v) {
  static const uint8_t kNothing = 0;
  return b.assign(v.empty() ? Bytes(&kNothing, 0) : Bytes(v));
}

inline std::vector<uint8_t> contents(const PacketBuffer& b) {
  return {b.data(), b.data() + b.size()};
}

// A made-up inner IPv4 packet of `n` bytes (contents only need to be deterministic).
inline std::vector<uint8_t> innerPacket(size_t n, uint8_t seed = 1) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed * 31 + i * 13);
  if (n > 0) v[0] = 0x45;
  return v;
}

// Reference ESP sealer: encrypts `plaintext` (which already ends with its trailer) with
// explicit IV `iv`, using EVP one-shot calls and no braid code. Used to build packets the
// real sealer refuses to (bad padding) and to cross-check it.
inline std::vector<uint8_t> referenceSeal(EspCipher cipher, Bytes keymat, uint32_t spi,
                                          uint64_t seq, bool esn, uint64_t iv, Bytes plaintext) {
  const EVP_CIPHER* evp = cipher == EspCipher::kAesGcm16_128   ? EVP_aes_128_gcm()
                          : cipher == EspCipher::kAesGcm16_256 ? EVP_aes_256_gcm()
                                                               : EVP_chacha20_poly1305();
  const size_t keyLen = keymat.size() - 4;
  std::vector<uint8_t> out(16 + plaintext.size() + 16);
  storeBe32(out.data(), spi);
  storeBe32(out.data() + 4, static_cast<uint32_t>(seq));
  storeBe64(out.data() + 8, iv);
  uint8_t nonce[12];
  std::memcpy(nonce, keymat.data() + keyLen, 4);
  storeBe64(nonce + 4, iv);
  uint8_t aad[12];
  storeBe32(aad, spi);
  size_t aadLen = 8;
  if (esn) {
    storeBe64(aad + 4, seq);
    aadLen = 12;
  } else {
    storeBe32(aad + 4, static_cast<uint32_t>(seq));
  }
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  bool ok =
      EVP_EncryptInit_ex(ctx, evp, nullptr, keymat.data(), nonce) == 1 &&
      EVP_EncryptUpdate(ctx, nullptr, &len, aad, static_cast<int>(aadLen)) == 1 &&
      EVP_EncryptUpdate(ctx, out.data() + 16, &len, plaintext.data(),
                        static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx, out.data() + 16 + len, &len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out.data() + 16 + plaintext.size()) == 1;
  EVP_CIPHER_CTX_free(ctx);
  return ok ? out : std::vector<uint8_t>{};
}

}  // namespace testing_support
}  // namespace braid::ipsec
