// RFC 4303 tunnel-mode ESP: seal and open in place, with no I/O. One outbound SA is owned
// by the thread that seals, one inbound SA by the thread that opens; neither locks.
//
// Layout of a sealed packet (RFC 4303 section 2, RFC 4106 section 3, RFC 7634 section 3):
//   SPI(4) | Seq(4) | IV(8) | ciphertext(inner | pad | padlen | next header) | ICV(16)
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "core/bytes.hpp"
#include "core/packet_buffer.hpp"
#include "core/result.hpp"
#include "core/secure.hpp"
#include "ipsec/replay_window.hpp"

namespace braid::ipsec {

enum class EspCipher : uint8_t {
  kAesGcm16_128,      // RFC 4106, IKEv2 transform ENCR_AES_GCM_16 (20), 128-bit key
  kAesGcm16_256,      // same, 256-bit key
  kChaCha20Poly1305,  // RFC 7634, ENCR_CHACHA20_POLY1305 (28)
};

// strongSwan-style names: "aes128gcm16", "aes256gcm16", "chacha20poly1305".
std::optional<EspCipher> parseEspCipher(std::string_view name);
std::string_view espCipherName(EspCipher cipher);
// Cipher key length plus the 4-byte salt: 20, 36 and 36 bytes.
size_t espKeymatLength(EspCipher cipher);

inline constexpr size_t kEspHeaderLength = 8;  // SPI + sequence number
inline constexpr size_t kEspIvLength = 8;      // explicit IV for all three ciphers
inline constexpr size_t kEspIcvLength = 16;
// Room sealing needs around the inner packet.
inline constexpr size_t kEspHeadroom = kEspHeaderLength + kEspIvLength;
inline constexpr size_t kEspMaxTrailer = 3 + 2 + kEspIcvLength;  // pad to 4, padlen, nh, ICV

// Next header values (IANA protocol numbers) the data plane uses.
inline constexpr uint8_t kNextHeaderIpv4 = 4;
inline constexpr uint8_t kNextHeaderIpv6 = 41;
inline constexpr uint8_t kNextHeaderDummy = 59;  // RFC 4303 section 2.6: discard on receive

struct EspSaConfig {
  uint32_t spi = 0;
  EspCipher cipher = EspCipher::kAesGcm16_256;
  SecretBytes keymat;            // key || salt, espKeymatLength(cipher) bytes
  bool esn = false;              // RFC 4303 section 2.2.1: 64-bit sequence numbers
  uint32_t replayWindow = 1024;  // inbound only, 64..4096 packets
};

enum class EspDrop : uint8_t {
  kTooShort = 0,  // shorter than header + IV + ICV, or trailer longer than the payload
  kBadSpi,        // no inbound SA for this SPI
  kReplay,        // duplicate, or left of the anti-replay window
  kIcv,           // authentication failed
  kPadding,       // pad bytes not 1, 2, 3, ... (RFC 4303 section 2.4)
  kCount,
};
std::string_view espDropName(EspDrop reason);
inline constexpr size_t kEspDropCount = static_cast<size_t>(EspDrop::kCount);

// Plain counters owned by the SA (or table) that counts them; the metrics registry reads them.
struct EspCounters {
  uint64_t packetsSealed = 0;
  uint64_t bytesSealed = 0;  // inner bytes
  uint64_t packetsOpened = 0;
  uint64_t bytesOpened = 0;        // inner bytes
  uint64_t dummyDiscarded = 0;     // next header 59 received and dropped
  uint64_t sequenceExhausted = 0;  // seal refused: the SA must be rekeyed
  std::array<uint64_t, kEspDropCount> drops{};
  uint64_t drop(EspDrop r) const { return drops[static_cast<size_t>(r)]; }
};

// kSequenceLimit: the next number is above the limit set by setSequenceLimit (manual keying
// has not yet reserved it on disk); the packet is refused, the counter does not move.
enum class SealStatus : uint8_t { kOk, kSequenceExhausted, kNoRoom, kCryptoError, kSequenceLimit };

// Test-only access to the hooks below, defined by the ESP unit tests: published vectors use
// explicit IVs other than the sequence number and ESN vectors start high in the sequence
// space. Production code has no way to reach them.
class EspTestAccess;

class EspOutboundSa {
 public:
  static Result<std::unique_ptr<EspOutboundSa>> create(const EspSaConfig& config);
  virtual ~EspOutboundSa() = default;

  // Encrypts the inner packet held in `pkt` in place. Needs kEspHeadroom bytes of headroom
  // and kEspMaxTrailer bytes of tailroom. On success `pkt` holds the ESP packet.
  // Refuses (kSequenceExhausted) once the sequence space is used up (RFC 4303 3.3.3).
  virtual SealStatus seal(PacketBuffer& pkt, uint8_t nextHeader) = 0;

  virtual uint32_t spi() const = 0;
  virtual uint64_t lastSequence() const = 0;  // 0 before the first packet
  // Test and rekey aid: continue from a given sequence number.
  virtual void setLastSequence(uint64_t seq) = 0;
  // Seal at most up to sequence number `limit` (kSequenceLimit beyond it). Manual keying
  // raises it as blocks are reserved in its state file, so that a restart never reuses a
  // number (RFC 4106 section 3.1: the IV must not repeat under one key). Default: the
  // whole sequence space; clamped to it.
  virtual void setSequenceLimit(uint64_t limit) = 0;
  virtual const EspCounters& counters() const = 0;

 protected:
  friend class EspTestAccess;
  // The next seal writes `iv` as explicit IV instead of the sequence number.
  virtual void setNextExplicitIv(uint64_t iv) { (void)iv; }
};

class EspInboundSa {
 public:
  static Result<std::unique_ptr<EspInboundSa>> create(const EspSaConfig& config);
  virtual ~EspInboundSa() = default;

  // Verifies and decrypts the ESP packet in `pkt` in place. On success (nullopt) `pkt`
  // holds the inner packet and `nextHeader` its protocol; otherwise the drop reason, which
  // is also counted. The replay window advances only after the ICV verifies.
  // A next header of 59 (dummy) returns kOk with nextHeader 59; callers discard it.
  virtual std::optional<EspDrop> open(PacketBuffer& pkt, uint8_t& nextHeader) = 0;

  virtual uint32_t spi() const = 0;
  virtual const EspCounters& counters() const = 0;

 protected:
  friend class EspTestAccess;
  // Marks `seq` as received, so the window (and ESN inference) continues from there.
  virtual void primeReplayWindow(uint64_t seq) { (void)seq; }
};

// Inbound SAD: demultiplexes ESP by SPI, whatever socket or uplink it arrived on.
class EspInboundTable {
 public:
  Status add(std::unique_ptr<EspInboundSa> sa);
  bool remove(uint32_t spi);
  EspInboundSa* find(uint32_t spi) const;
  // Reads the SPI, looks the SA up and opens. Unknown SPIs and short packets are counted
  // in this table's own counters; everything else in the SA's.
  std::optional<EspDrop> open(PacketBuffer& pkt, uint8_t& nextHeader);
  const EspCounters& counters() const { return counters_; }
  size_t size() const { return sas_.size(); }

 private:
  std::unordered_map<uint32_t, std::unique_ptr<EspInboundSa>> sas_;
  EspCounters counters_;
};

// RFC 3948 section 2: what a datagram on the ESP-in-UDP port carries.
enum class UdpEncapKind : uint8_t {
  kEsp,        // first four bytes non-zero: an ESP packet
  kIke,        // non-ESP marker (four zero bytes), IKE follows after the marker
  kKeepalive,  // NAT-keepalive, the single byte 0xFF (RFC 3948 section 2.3)
  kInvalid,    // too short to be any of the above
};
UdpEncapKind classifyUdpEncap(Bytes payload);

}  // namespace braid::ipsec
