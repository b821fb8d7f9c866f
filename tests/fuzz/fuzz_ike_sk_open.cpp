// Fuzz target: the SK payload (RFC 7296 3.14) with fixed keys for each IKE cipher suite:
// AES-CBC + HMAC-SHA2 (RFC 3602, 4868), AES-GCM-16 (RFC 5282), ChaCha20-Poly1305 (RFC 7634).
// Byte 0 chooses the suite (kSuites), byte 1 the mode:
//   0: bytes 2.. are a whole message, byte 2 also says how many bytes of unencrypted payloads
//      follow the IKE header (the SK offset); openMessage() must refuse it or return the
//      inner payloads, which then seal and open again to the same bytes.
//   1: byte 2 is the first inner payload type, bytes 3-4 a bit position, the rest the inner
//      payloads: seal with a fixed header, open (must give the same bytes back), then flip
//      the chosen bit anywhere in the message: open must now fail (the ICV covers it all).
//   2: bytes 2-3 are an SK body length: maxPlaintextLength() and encryptedLength() agree.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "ipsec/ike/crypto_cipher.hpp"

namespace {

using namespace braid::ike;

struct SuiteSpec {
  EncrId encr;
  uint16_t keyBits;
  IntegId integ;
};
constexpr std::array kSuites{
    SuiteSpec{EncrId::kAesCbc, 128, IntegId::kHmacSha256_128},
    SuiteSpec{EncrId::kAesCbc, 256, IntegId::kHmacSha256_128},
    SuiteSpec{EncrId::kAesCbc, 256, IntegId::kHmacSha384_192},
    SuiteSpec{EncrId::kAesCbc, 128, IntegId::kHmacSha512_256},
    SuiteSpec{EncrId::kAesGcm16, 128, IntegId::kNone},
    SuiteSpec{EncrId::kAesGcm16, 256, IntegId::kNone},
    SuiteSpec{EncrId::kChaCha20Poly1305, 256, IntegId::kNone},
};

std::unique_ptr<IkeCipher> makeCipher(const SuiteSpec& spec) {
  Suite s;
  s.encr = spec.encr;
  s.encrKeyBits = spec.keyBits;
  s.integ = spec.integ;
  std::vector<uint8_t> ek(encrKeyLength(s.encr, s.encrKeyBits), 0x11);
  std::vector<uint8_t> ak(integKeyLength(s.integ), 0x22);
  auto c = IkeCipher::create(s, ek, ak);
  if (!c) __builtin_trap();
  // Fixed IVs: the same input always gives the same message (reproducible findings).
  c.value()->setIvGenerator([](braid::MutableBytes iv) {
    for (size_t i = 0; i < iv.size(); ++i) iv[i] = static_cast<uint8_t>(0xA0 + i);
  });
  return std::move(c.value());
}

IkeCipher& cipherFor(uint8_t selector) {
  static std::array<std::unique_ptr<IkeCipher>, kSuites.size()> ciphers = [] {
    std::array<std::unique_ptr<IkeCipher>, kSuites.size()> out;
    for (size_t i = 0; i < kSuites.size(); ++i) out[i] = makeCipher(kSuites[i]);
    return out;
  }();
  return *ciphers[selector % kSuites.size()];
}

void check(bool condition) {
  if (!condition) __builtin_trap();
}

// An IKE header whose Next Payload is SK (exchange IKE_AUTH, initiator request).
std::vector<uint8_t> header() {
  std::vector<uint8_t> h(kIkeHeaderLength, 0);
  for (size_t i = 0; i < 16; ++i) h[i] = static_cast<uint8_t>(i + 1);  // SPIs
  h[16] = kPayloadTypeSk;
  h[17] = 0x20;  // version 2.0
  h[18] = 35;    // IKE_AUTH
  h[19] = 0x08;  // Initiator
  h[23] = 1;     // Message ID
  return h;
}

void openRaw(IkeCipher& cipher, braid::Bytes message, size_t skOffset) {
  auto inner = openMessage(cipher, message, skOffset);
  if (!inner) return;
  // Whatever opened was sealed with our key: re-sealing it must open to the same payloads.
  auto sealed = sealMessage(cipher, message.first(skOffset), message[skOffset], *inner);
  check(sealed.isOk());
  auto again = openMessage(cipher, *sealed, skOffset);
  check(again.isOk() && again.value() == inner.value());
}

void sealFlipOpen(IkeCipher& cipher, uint8_t firstPayload, size_t bit, braid::Bytes inner) {
  auto sealed = sealMessage(cipher, header(), firstPayload, inner);
  if (!sealed) {
    check(inner.size() > 0xFFFF - 64);  // only an oversized body may fail
    return;
  }
  check(sealed->size() == kIkeHeaderLength + 4 + cipher.encryptedLength(inner.size()));
  auto opened = openMessage(cipher, *sealed, kIkeHeaderLength);
  check(opened.isOk() && opened->size() == inner.size() &&
        std::equal(opened->begin(), opened->end(), inner.begin()));
  std::vector<uint8_t> bad = *sealed;
  bit %= bad.size() * 8;
  bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  check(!openMessage(cipher, bad, kIkeHeaderLength).isOk());
}

void lengths(const IkeCipher& cipher, size_t body) {
  const size_t p = cipher.maxPlaintextLength(body);
  if (p > 0) check(cipher.encryptedLength(p) <= body);
  check(cipher.encryptedLength(p + 1) > body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  IkeCipher& cipher = cipherFor(data[0]);
  switch (data[1] % 3) {
    case 0: {
      const braid::Bytes message(data + 2, size - 2);
      openRaw(cipher, message, kIkeHeaderLength + data[2]);
      // The body alone, with the first 28 bytes as associated data.
      if (message.size() >= kIkeHeaderLength) {
        (void)cipher.decrypt(message.first(kIkeHeaderLength), message.subspan(kIkeHeaderLength));
      }
      break;
    }
    case 1: {
      if (size < 5) return 0;
      const size_t bit = size_t{data[3]} << 8 | data[4];
      sealFlipOpen(cipher, data[2], bit, braid::Bytes(data + 5, size - 5));
      break;
    }
    default: {
      if (size < 4) return 0;
      lengths(cipher, size_t{data[2]} << 8 | data[3]);
      break;
    }
  }
  return 0;
}
