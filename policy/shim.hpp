// The braid shim: braid's own header inside ESP, between two braid peers that both offered
// it in IKE_AUTH (private-use notify BRAID_SHIM_SUPPORTED) or that are configured for it
// (manual keys). The ESP next header is 253, from RFC 3692's range for experimentation, so
// a standard peer never sees it. The first byte of every shim message is
// version (high 4 bits, = 1) | type (low 4 bits):
//   1 probe, 2 probe reply   pathmon/probe.hpp (28 bytes, a reply with counts 40)
//   3 data                   this header, then the inner IPv4/IPv6 packet
//   4 FEC parity             a parity header, then policy/fec.hpp's parity payload
//
// Data header, 8 bytes (16 with FEC), big-endian:
//   0  u8  version | type (0x13)
//   1  u8  flags: bit 0 FEC (the 8 FEC bytes follow); bit 1 ordered (a bonded class: the
//          receiver restores the sequence order before delivery); other bits 0, ignored
//   2  u16 class id (the sender's ClassId; only compared between copies of one packet)
//   without FEC:
//   4  u32 sequence number, per (peer, class) on the sender, shared by every copy
//   with FEC:
//   4  u32 FEC group (low 32 bits), 8 u8 index in the group, 9 u8 k (0: not protected),
//  10  u16 reserved (0), 12 u32 sequence number
// With FEC the protected payload is the sequence number and the inner packet (bytes 12 to
// the end), so a rebuilt packet comes with its own number for duplicate suppression.
//
// Parity header, 12 bytes: 0 u8 0x14, 1 u8 flags (0), 2 u16 class id, 4 u32 group,
// 8 u8 k, 9..11 reserved (0); then the parity payload.
// The receiver extends the 32-bit number to 64 bits against the highest one seen (as ESN
// does, RFC 4303 appendix A) and suppresses copies with a sliding window (DedupWindow).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "core/bytes.hpp"
#include "policy/types.hpp"

namespace braid::policy {

inline constexpr uint8_t kShimNextHeader = 253;  // RFC 3692: experimentation and testing
inline constexpr uint8_t kShimVersion = 1;
inline constexpr size_t kShimDataHeaderSize = 8;
inline constexpr size_t kShimFecHeaderSize = 16;
inline constexpr size_t kShimFecPayloadOffset = 12;  // sequence number + inner packet
inline constexpr size_t kShimParityHeaderSize = 12;
inline constexpr uint8_t kShimFlagFec = 0x01;
inline constexpr uint8_t kShimFlagOrdered = 0x02;

enum class ShimType : uint8_t { kProbe = 1, kProbeReply = 2, kData = 3, kParity = 4 };

// The type of a shim message, or nothing for an empty message, another version or an
// unknown type.
std::optional<ShimType> shimType(Bytes message);

struct ShimDataHeader {
  ClassId cls = 0;
  uint32_t seq = 0;
  bool fec = false;  // the FEC fields are present
  uint32_t group = 0;
  uint8_t index = 0;
  uint8_t k = 0;         // 0: this packet is not FEC-protected
  bool ordered = false;  // sprayed over several paths: reorder by seq before delivery
  size_t size() const { return fec ? kShimFecHeaderSize : kShimDataHeaderSize; }
  bool operator==(const ShimDataHeader&) const = default;
};

// Writes h.size() bytes at `out`.
void encodeShimData(uint8_t* out, const ShimDataHeader& h);
// False for input shorter than the header or not a version-1 data message.
[[nodiscard]] bool decodeShimData(Bytes message, ShimDataHeader& out);

struct ShimParityHeader {
  ClassId cls = 0;
  uint32_t group = 0;
  uint8_t k = 0;
  bool operator==(const ShimParityHeader&) const = default;
};
void encodeShimParity(uint8_t* out, const ShimParityHeader& h);  // kShimParityHeaderSize
[[nodiscard]] bool decodeShimParity(Bytes message, ShimParityHeader& out);

// The 64-bit number nearest to `highest` whose low 32 bits are `low` (serial arithmetic,
// RFC 1982): a copy late by up to 2^31 numbers still maps to its own number.
uint64_t extendSequence(uint64_t highest, uint32_t low);

}  // namespace braid::policy
