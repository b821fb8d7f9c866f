// Shared by the data-plane tests: a "site" is a SOCK_SEQPACKET socketpair standing in for
// the TUN device plus loopback UDP uplink sockets; packets and polling helpers.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#include "edge/dataplane.hpp"
#include "edge/uplink_socket.hpp"

namespace braid::edge::testing {

struct Site {
  int tun[2] = {-1, -1};  // [0] data plane side, [1] test side
  UplinkSocket udp;
  uint16_t port = 0;
  ~Site() {
    for (int fd : tun) {
      if (fd >= 0) ::close(fd);
    }
  }
};

inline void openSite(Site& s) {
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, s.tun), 0);
  ASSERT_EQ(::fcntl(s.tun[0], F_SETFL, O_NONBLOCK), 0);
  auto u = UplinkSocket::open(*IpAddress::parse("127.0.0.1"), 0, 1 << 20);
  ASSERT_TRUE(u.isOk()) << u.status().message();
  s.udp = std::move(*u);
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(s.udp.fd(), reinterpret_cast<sockaddr*>(&a), &len), 0);
  s.port = ntohs(a.sin_port);
}

inline ipsec::EspSaConfig saConfig(uint32_t spi, uint8_t seed) {
  std::vector<uint8_t> key(36);
  for (size_t i = 0; i < key.size(); ++i) key[i] = uint8_t(seed + i);
  return {spi, ipsec::EspCipher::kAesGcm16_256, SecretBytes(key), false, 1024};
}

inline std::vector<uint8_t> udpPacket(uint8_t tag) {
  std::vector<uint8_t> p(60, tag);
  p[0] = 0x45;
  storeBe16(&p[2], uint16_t(p.size()));
  p[8] = 64;
  p[9] = 17;
  const uint8_t src[4] = {10, 1, 0, 1}, dst[4] = {10, 2, 0, 1};
  std::memcpy(&p[12], src, 4);
  std::memcpy(&p[16], dst, 4);
  return p;
}

// Reads one packet from the test side of a "TUN", waiting up to `ms`.
inline std::vector<uint8_t> readTun(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, ms) != 1) return {};
  std::vector<uint8_t> buf(2048);
  ssize_t n = ::read(fd, buf.data(), buf.size());
  buf.resize(n > 0 ? size_t(n) : 0);
  return buf;
}

inline bool eventually(const std::function<bool()>& cond) {
  for (int i = 0; i < 1000; ++i) {  // up to 10 s: a loaded 2-core VM is slow, never wrong
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace braid::edge::testing
