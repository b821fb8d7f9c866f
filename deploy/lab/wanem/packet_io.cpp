#include "deploy/lab/wanem/packet_io.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace braid::wanem {
namespace {

Status sysError(const std::string& what) {
  return errorStatus(ErrorCode::kIoError, what + ": " + std::strerror(errno));
}

}  // namespace

PacketSocket& PacketSocket::operator=(PacketSocket&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    ifindex_ = o.ifindex_;
    o.fd_ = -1;
  }
  return *this;
}

PacketSocket::~PacketSocket() {
  if (fd_ >= 0) ::close(fd_);
}

Result<PacketSocket> PacketSocket::open(const std::string& ifname) {
  PacketSocket s;
  s.ifindex_ = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (s.ifindex_ == 0) return sysError("interface " + ifname);
  // Protocol 0 until bound: a socket opened with ETH_P_ALL would queue frames from every
  // interface in the namespace before bind() narrows it.
  s.fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s.fd_ < 0) return sysError("socket(AF_PACKET)");
  int one = 1;
  if (setsockopt(s.fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) != 0) {
    return sysError("PACKET_IGNORE_OUTGOING");
  }
  // Frames go straight to the device: the lab's veths have no qdisc anyway.
  (void)setsockopt(s.fd_, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
  if (setsockopt(s.fd_, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) != 0) {
    return sysError("SO_TIMESTAMPNS");
  }
  int buf = 8 << 20;
  if (setsockopt(s.fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) != 0) {
    (void)setsockopt(s.fd_, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
  }
  buf = 4 << 20;
  if (setsockopt(s.fd_, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) != 0) {
    (void)setsockopt(s.fd_, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
  }
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = s.ifindex_;
  if (bind(s.fd_, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) != 0) {
    return sysError("bind " + ifname);
  }
  packet_mreq mr{};
  mr.mr_ifindex = s.ifindex_;
  mr.mr_type = PACKET_MR_PROMISC;
  if (setsockopt(s.fd_, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) != 0) {
    return sysError("promiscuous " + ifname);
  }
  return s;
}

ClockPair ClockPair::sample() {
  ClockPair c;
  timespec ts;
  c.mono = std::chrono::steady_clock::now();
  clock_gettime(CLOCK_REALTIME, &ts);
  c.realNs = int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
  return c;
}

TimePoint ClockPair::toMono(int64_t stampRealNs) const {
  if (stampRealNs == 0) return mono;
  int64_t age = realNs - stampRealNs;
  if (age < 0) age = 0;
  if (age > 1000000000) age = 1000000000;
  return mono - Duration(age);
}

}  // namespace braid::wanem
