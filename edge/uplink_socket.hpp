// One UDP socket per uplink, bound to the uplink's own local address and port (RFC 3948
// ESP-in-UDP, default 4500). TX and RX threads share the descriptor: sends block (back
// pressure), receives use MSG_DONTWAIT after poll().
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "core/ip.hpp"
#include "core/result.hpp"

namespace braid::edge {

struct SockAddr {
  sockaddr_storage storage{};
  socklen_t length = 0;
  static SockAddr from(const IpAddress& addr, uint16_t port);
  std::string toString() const;
};

class UplinkSocket {
 public:
  UplinkSocket() = default;
  UplinkSocket(UplinkSocket&& o) noexcept { *this = std::move(o); }
  UplinkSocket& operator=(UplinkSocket&& o) noexcept;
  ~UplinkSocket();

  static Result<UplinkSocket> open(const IpAddress& local, uint16_t port, uint32_t bufferBytes);

  // Renumbering: a socket bound to `local` takes the place of this one under the same
  // descriptor number (dup2), so the TX/RX threads that use fd() move with it (RX at its
  // next poll, within 200 ms). `gro`: UDP_GRO on the new socket.
  Status rebind(const IpAddress& local, uint16_t port, uint32_t bufferBytes, bool gro);

  // UDP_GRO (Linux >= 5.0; we rely on it from 5.12 like wireguard-go). False if refused.
  bool setGro(bool on);
  // Whether UDP_SEGMENT is known to this kernel (getsockopt probe).
  bool probeGso() const;

  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace braid::edge
