// The braid shim: braid's own header inside ESP, between two braid peers that both offered
// it in IKE_AUTH (private-use notify BRAID_SHIM_SUPPORTED) or that are configured for it
// (manual keys). The ESP next header is 253, from RFC 3692's range for experimentation, so
// a standard peer never sees it. The first byte of every shim message is
// version (high 4 bits, = 1) | type (low 4 bits):
//   1 probe, 2 probe reply   pathmon/probe.hpp (28 bytes)
//   3 data                   this header, then the inner IPv4/IPv6 packet
//
// Data header, 8 bytes, big-endian:
//   0  u8  version | type (0x13)
//   1  u8  flags, sent as 0, ignored on receipt
//   2  u16 class id (the sender's ClassId; only compared between copies of one packet)
//   4  u32 sequence number, per (peer, class) on the sender, shared by every copy
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

enum class ShimType : uint8_t { kProbe = 1, kProbeReply = 2, kData = 3 };

// The type of a shim message, or nothing for an empty message, another version or an
// unknown type.
std::optional<ShimType> shimType(Bytes message);

struct ShimDataHeader {
  ClassId cls = 0;
  uint32_t seq = 0;
  bool operator==(const ShimDataHeader&) const = default;
};

// Writes kShimDataHeaderSize bytes at `out`.
void encodeShimData(uint8_t* out, const ShimDataHeader& h);
// False for input shorter than the header or not a version-1 data message.
[[nodiscard]] bool decodeShimData(Bytes message, ShimDataHeader& out);

// The 64-bit number nearest to `highest` whose low 32 bits are `low` (serial arithmetic,
// RFC 1982): a copy late by up to 2^31 numbers still maps to its own number.
uint64_t extendSequence(uint64_t highest, uint32_t low);

}  // namespace braid::policy
