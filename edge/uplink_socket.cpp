#include "edge/uplink_socket.hpp"

#include <arpa/inet.h>
#include <netinet/udp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace braid::edge {

SockAddr SockAddr::from(const IpAddress& addr, uint16_t port) {
  SockAddr s;
  if (addr.isV4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&s.storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, addr.bytes().data(), 4);
    s.length = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&s.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    std::memcpy(&in6->sin6_addr, addr.bytes().data(), 16);
    s.length = sizeof(sockaddr_in6);
  }
  return s;
}

std::string SockAddr::toString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (storage.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(in->sin_port));
  }
  auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
  inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
  return "[" + std::string(buf) + "]:" + std::to_string(ntohs(in6->sin6_port));
}

UplinkSocket& UplinkSocket::operator=(UplinkSocket&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

UplinkSocket::~UplinkSocket() {
  if (fd_ >= 0) ::close(fd_);
}

Result<UplinkSocket> UplinkSocket::open(const IpAddress& local, uint16_t port,
                                        uint32_t bufferBytes) {
  SockAddr addr = SockAddr::from(local, port);
  int fd = ::socket(addr.storage.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) return errorStatus(ErrorCode::kIoError, std::string("socket: ") + strerror(errno));
  UplinkSocket s;
  s.fd_ = fd;
  int size = static_cast<int>(bufferBytes);
  // The FORCE variants ignore net.core.[rw]mem_max (root); fall back to the plain ones.
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0) {
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  }
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0) {
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  if (local.isV6()) {
    int one = 1;
    (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr.storage), addr.length) < 0) {
    return errorStatus(ErrorCode::kIoError,
                       "bind " + addr.toString() + ": " + std::string(strerror(errno)));
  }
  return s;
}

Status UplinkSocket::rebind(const IpAddress& local, uint16_t port, uint32_t bufferBytes, bool gro) {
  auto s = open(local, port, bufferBytes);
  if (!s) return s.status();
  if (gro) (void)s->setGro(true);
  // dup2 replaces the file behind fd_ atomically; `s` then closes only its own number.
  if (::dup2(s->fd_, fd_) < 0) {
    return errorStatus(ErrorCode::kIoError, std::string("dup2: ") + strerror(errno));
  }
  return Status::ok();
}

bool UplinkSocket::setGro(bool on) {
  int v = on ? 1 : 0;
  return setsockopt(fd_, SOL_UDP, UDP_GRO, &v, sizeof v) == 0;
}

bool UplinkSocket::probeGso() const {
  int v = 0;
  socklen_t len = sizeof v;
  return getsockopt(fd_, SOL_UDP, UDP_SEGMENT, &v, &len) == 0;
}

}  // namespace braid::edge
