// Fuzzes the ESP receive path with fixed keys. Input: one mode byte, then the UDP payload.
//   mode % 3       -> cipher (AES-GCM-16-128, AES-GCM-16-256, ChaCha20-Poly1305)
//   (mode / 3) % 2 -> ESN off / on
// The payload goes through classifyUdpEncap and EspInboundTable::open. Invariants checked:
// an opened packet shrinks by exactly header + IV + trailer + ICV, the same bytes opened
// twice are a replay, and seal() followed by open() of the payload as an inner packet
// returns it unchanged.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/packet_buffer.hpp"
#include "ipsec/esp.hpp"

namespace {

using namespace braid;
using namespace braid::ipsec;

constexpr uint32_t kSpi = 0x0000e5b1;
constexpr EspCipher kCiphers[] = {EspCipher::kAesGcm16_128, EspCipher::kAesGcm16_256,
                                  EspCipher::kChaCha20Poly1305};

EspSaConfig fuzzConfig(uint8_t mode) {
  EspSaConfig c;
  c.spi = kSpi;
  c.cipher = kCiphers[mode % 3];
  c.esn = (mode / 3) % 2 == 1;
  c.replayWindow = 128;
  SecretBytes k(espKeymatLength(c.cipher));
  for (size_t i = 0; i < k.size(); ++i) k.data()[i] = static_cast<uint8_t>(0x40 + i);
  c.keymat = std::move(k);
  return c;
}

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static PacketPool pool(2, 70000, 128);
  const uint8_t mode = data[0];
  const Bytes payload(data + 1, size - 1);

  const UdpEncapKind kind = classifyUdpEncap(payload);
  check(kind != UdpEncapKind::kEsp ||
        (payload.size() >= 8 && payload[0] | payload[1] | payload[2] | payload[3]));

  const EspSaConfig config = fuzzConfig(mode);
  auto inbound = EspInboundSa::create(config);
  auto outbound = EspOutboundSa::create(config);
  check(inbound.isOk() && outbound.isOk());
  EspInboundTable table;
  check(table.add(std::move(inbound).value()).isOk());

  auto pkt = pool.acquire();
  if (!pkt->assign(payload)) return 0;
  uint8_t nh = 0;
  auto drop = table.open(*pkt, nh);
  if (!drop) {
    check(pkt->size() + kEspHeadroom + 2 + kEspIcvLength <= payload.size());
    check(payload.size() - pkt->size() <= kEspHeadroom + 2 + 255 + kEspIcvLength);
    check(pkt->assign(payload));
    check(table.open(*pkt, nh) == EspDrop::kReplay);
  }

  // Round trip of the payload as an inner packet through a fresh SA pair.
  auto in = EspInboundSa::create(config);
  check(in.isOk());
  if (!pkt->assign(payload) || pkt->tailroom() < kEspMaxTrailer) return 0;
  check(outbound.value()->seal(*pkt, mode) == SealStatus::kOk);
  check(!in.value()->open(*pkt, nh).has_value());
  check(nh == mode);
  check(pkt->size() == payload.size() &&
        (payload.empty() || std::memcmp(pkt->data(), payload.data(), payload.size()) == 0));
  return 0;
}
