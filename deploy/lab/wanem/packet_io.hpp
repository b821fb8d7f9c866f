// AF_PACKET socket bound to one interface, promiscuous, with kernel receive timestamps, that
// never sees its own transmissions (PACKET_IGNORE_OUTGOING, plus a PACKET_OUTGOING check).
// Frames are read with recvmmsg and written with sendmmsg, in batches.
//
// Why not a TPACKET_V3 ring: V3 hands a block to user space only when it is full or its
// retire timer (>= 1 ms) expires, which at low packet rates adds up to a millisecond of
// latency -- as much as the whole delay budget of the fiber profile.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace braid::wanem {

class PacketSocket {
 public:
  PacketSocket() = default;
  PacketSocket(const PacketSocket&) = delete;
  PacketSocket& operator=(const PacketSocket&) = delete;
  PacketSocket(PacketSocket&& o) noexcept : fd_(o.fd_), ifindex_(o.ifindex_) { o.fd_ = -1; }
  PacketSocket& operator=(PacketSocket&& o) noexcept;
  ~PacketSocket();

  static Result<PacketSocket> open(const std::string& ifname);
  int fd() const { return fd_; }
  int ifindex() const { return ifindex_; }

 private:
  int fd_ = -1;
  int ifindex_ = 0;
};

// Offset between the kernel's receive timestamps (CLOCK_REALTIME) and steady_clock, sampled
// per batch so that a wall-clock step does not shift the emulated delays.
struct ClockPair {
  TimePoint mono;
  int64_t realNs;
  static ClockPair sample();
  // Arrival of a packet stamped `realNs` by the kernel, as a steady_clock time; clamped to
  // [mono - 1 s, mono] in case the stamp is missing or the wall clock moved.
  TimePoint toMono(int64_t stampRealNs) const;
};

}  // namespace braid::wanem
