// Probe and probe-reply messages of the braid shim (braid-to-braid only, carried inside ESP).
// A reply echoes the probe's transmit timestamp and says how long the replier held the
// probe, so the prober's RTT excludes the peer's processing time (the same idea as the
// NTP/TWAMP "reflector hold" term). Timestamps are microseconds of each sender's own
// monotonic clock; only differences of one clock are ever taken, plus the one-way transit
// variation for RFC 3550 jitter, where the unknown clock offset cancels.
//
// Wire layout, 28 bytes, big-endian (trailing bytes are padding and ignored):
//   0  u8  version (high 4 bits, = 1) | type (low 4 bits: 1 probe, 2 reply)
//   1  u8  flags: bit 0 (reply only) = the receive counts below follow; other bits sent as
//          0 and ignored. Older peers send 0 here and ignore it, so this stays version 1.
//   2  u16 path id (the sender's id of the path the message travels on)
//   4  u32 probe sequence number (a reply carries the probe's number)
//   8  u64 tx timestamp, microseconds, sender's clock
//  16  u64 echo timestamp: the probe's tx timestamp (reply), 0 (probe)
//  24  u32 hold time, microseconds, between receiving the probe and sending the reply
// A reply with flag bit 0 is 40 bytes: the replier's running counts on this path, so the
// prober can split loss by direction and measure its delivery rate (docs/multipath.md):
//  28  u32 probes received from the prober on this path (every probe, this one included)
//  32  u64 ESP-carried bytes received on this path (wire bytes, as edge counts them)
// A reply without the flag (an older peer, 28 bytes) reports nothing.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/bytes.hpp"
#include "core/clock.hpp"

namespace braid::pathmon {

// Small integer naming one path (uplink x peer); edge's index into its path table.
using PathId = uint16_t;

enum class ProbeType : uint8_t { kProbe = 1, kReply = 2 };

inline constexpr uint8_t kProbeVersion = 1;
inline constexpr size_t kProbeSize = 28;
inline constexpr size_t kReplyCountsSize = 12;
inline constexpr size_t kProbeMaxSize = kProbeSize + kReplyCountsSize;
inline constexpr uint8_t kFlagRxCounts = 0x01;

struct ProbeMessage {
  ProbeType type = ProbeType::kProbe;
  PathId path = 0;
  uint32_t seq = 0;
  uint64_t txUs = 0;
  uint64_t echoUs = 0;
  uint32_t holdUs = 0;
  // Reply only: the replier's receive counts (kFlagRxCounts).
  bool hasRxCounts = false;
  uint32_t rxProbes = 0;
  uint64_t rxBytes = 0;
  bool operator==(const ProbeMessage&) const = default;
};

// Writes kProbeSize bytes, kProbeMaxSize for a reply with counts; false (nothing usable
// written) if the writer is too short.
[[nodiscard]] bool encodeProbe(const ProbeMessage& m, ByteWriter& w);
size_t encodedSize(const ProbeMessage& m);
// False for short input (counts flagged but missing included), a version other than 1 or
// an unknown type.
[[nodiscard]] bool decodeProbe(Bytes data, ProbeMessage& out);

// The reply to `probe`, received at rxUs and sent at txUs (both the replier's clock).
ProbeMessage makeReply(const ProbeMessage& probe, uint64_t rxUs, uint64_t txUs);

// Microseconds since the clock's epoch, the unit of the wire timestamps.
inline uint64_t toWireMicros(TimePoint t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  return us < 0 ? 0 : static_cast<uint64_t>(us);
}

}  // namespace braid::pathmon
