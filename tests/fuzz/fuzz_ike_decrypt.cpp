// Fuzz target: the protected-message path (SK payload ICV check, decryption, inner payload
// chain, rules) with a fixed AES-GCM-256 key (36 bytes of 0x11, as the seed corpus uses).
// First byte even: the rest is a whole IKE message (the ICV check must hold the line).
// First byte odd: byte 2 is the exchange type, byte 3 the first inner payload type and the
// rest an inner payload chain, which is sealed with the fixed key first, so the fuzzer
// reaches the inner parser and the rule tables behind a valid ICV.
// An Encrypted Fragment (SKF, RFC 7383) goes to a fresh Reassembler (numbering checks, ICV,
// a 1-fragment message completes); every decrypted message is split into fragments and
// reassembled again, which must give back the same payloads.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "ipsec/ike/fragmentation.hpp"
#include "ipsec/ike/message.hpp"

namespace {
std::unique_ptr<braid::ike::IkeCipher> makeCipher() {
  braid::ike::Suite s;
  s.encr = braid::ike::EncrId::kAesGcm16;
  s.encrKeyBits = 256;
  std::vector<uint8_t> key(36, 0x11);
  auto c = braid::ike::IkeCipher::create(s, key, {});
  return c ? std::move(c.value()) : nullptr;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace braid::ike;
  static std::unique_ptr<IkeCipher> cipher = makeCipher();
  if (!cipher) __builtin_trap();
  if (size < 1) return 0;
  std::vector<uint8_t> sealed;
  braid::Bytes input(data + 1, size - 1);
  if (data[0] & 1) {
    if (input.size() < 2) return 0;
    uint8_t header[kIkeHeaderLength] = {
        0,    0,        0,    0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, kPayloadTypeSk,
        0x20, input[0], 0x08, 0, 0, 0, 1};
    auto s = sealMessage(*cipher, braid::Bytes(header, sizeof header), input[1], input.subspan(2));
    if (!s) return 0;
    sealed = std::move(s.value());
    input = sealed;
  }
  Message m;
  if (m.parse(input)) return 0;
  if (!m.hasSk()) return 0;
  IkeCounters counters;
  std::optional<DecodeError> error;
  if (m.isFragment()) {
    Reassembler r;
    if (r.offer(m, *cipher, braid::TimePoint{}, counters, error) !=
            Reassembler::Verdict::kComplete ||
        error) {
      return 0;
    }
  } else if (m.decrypt(*cipher)) {
    return 0;
  }
  if (m.header.exchange != ExchangeType::kIkeSaInit) {
    // The split and the reassembly are each other's inverse, whatever the payloads.
    auto frags = fragmentMessage(m, *cipher, 100 + data[0] % 128);
    // (Within the reassembler's default bound of 64 fragments.)
    if (frags && frags->size() > 1 && frags->size() <= ReassemblyLimits{}.maxFragments) {
      Reassembler r;
      Message whole;
      for (const auto& f : *frags) {
        Message part;
        if (part.parse(f) || !part.isFragment()) __builtin_trap();
        auto v = r.offer(part, *cipher, braid::TimePoint{}, counters, error);
        if (v == Reassembler::Verdict::kDropped) __builtin_trap();
        if (v == Reassembler::Verdict::kComplete) whole = std::move(part);
      }
      if (error || whole.payloads.size() != m.payloads.size()) __builtin_trap();
    }
  }
  (void)m.verify();
  (void)m.summary();
  // Decrypted payloads re-encrypt and decrypt to the same chain.
  auto bytes = m.encode(cipher.get());
  if (!bytes) return 0;
  Message again;
  if (again.parse(*bytes) || again.decrypt(*cipher) || again.payloads.size() != m.payloads.size()) {
    __builtin_trap();
  }
  return 0;
}
