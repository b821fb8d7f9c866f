#include "edge/link_monitor.hpp"

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/log.hpp"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000  // linux/if.h; <net/if.h> omits it
#endif

namespace braid::edge {
namespace {

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

LinkEventParser::LinkEventParser(std::vector<IpAddress> uplinkAddresses) {
  for (IpAddress& a : uplinkAddresses) {
    Uplink u;
    u.address = a;
    state_.push_back(std::move(u));
  }
}

void LinkEventParser::feed(Bytes buffer, const std::function<void(size_t, bool)>& changed) {
  const uint8_t* p = buffer.data();
  size_t left = buffer.size();
  while (left >= sizeof(nlmsghdr)) {
    const auto h = load<nlmsghdr>(p);
    if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > left) {
      ++malformed_;
      return;
    }
    const uint8_t* body = p + NLMSG_HDRLEN;
    const size_t bodyLen = h.nlmsg_len - NLMSG_HDRLEN;
    switch (h.nlmsg_type) {
      case RTM_NEWLINK:
      case RTM_DELLINK:
        onLink(body, bodyLen, h.nlmsg_type, changed);
        break;
      case RTM_NEWADDR:
      case RTM_DELADDR:
        onAddress(body, bodyLen, h.nlmsg_type, changed);
        break;
      default:
        break;  // NLMSG_DONE, NLMSG_ERROR (acks of the dumps), others
    }
    const size_t step = NLMSG_ALIGN(h.nlmsg_len);
    if (step >= left) return;
    p += step;
    left -= step;
  }
}

void LinkEventParser::onLink(const uint8_t* msg, size_t len, uint16_t type,
                             const std::function<void(size_t, bool)>& changed) {
  if (len < sizeof(ifinfomsg)) {
    ++malformed_;
    return;
  }
  const auto ifi = load<ifinfomsg>(msg);
  // Usable: administratively up and with carrier (IFF_LOWER_UP, RFC 2863's operational
  // lower layer); a deleted interface is neither.
  const bool up = type == RTM_NEWLINK && (ifi.ifi_flags & IFF_UP) && (ifi.ifi_flags & IFF_LOWER_UP);
  for (size_t u = 0; u < state_.size(); ++u) {
    Uplink& s = state_[u];
    if (s.ifindex == 0 || s.ifindex != ifi.ifi_index || s.linkUp == up) continue;
    const bool was = s.usable();
    s.linkUp = up;
    if (s.usable() != was) changed(u, s.usable());
  }
}

void LinkEventParser::onAddress(const uint8_t* msg, size_t len, uint16_t type,
                                const std::function<void(size_t, bool)>& changed) {
  if (len < sizeof(ifaddrmsg)) {
    ++malformed_;
    return;
  }
  const auto ifa = load<ifaddrmsg>(msg);
  const size_t alen = ifa.ifa_family == AF_INET ? 4 : ifa.ifa_family == AF_INET6 ? 16 : 0;
  if (alen == 0) return;
  // IFA_LOCAL is the interface's own address on point-to-point links; IFA_ADDRESS otherwise.
  std::optional<IpAddress> addr, local;
  size_t off = NLMSG_ALIGN(sizeof(ifaddrmsg));
  while (off + sizeof(rtattr) <= len) {
    const auto a = load<rtattr>(msg + off);
    if (a.rta_len < sizeof(rtattr) || off + a.rta_len > len) {
      ++malformed_;
      return;
    }
    const Bytes v(msg + off + RTA_LENGTH(0), a.rta_len - RTA_LENGTH(0));
    if ((a.rta_type == IFA_ADDRESS || a.rta_type == IFA_LOCAL) && v.size() == alen) {
      IpAddress ip = alen == 4 ? IpAddress::v4(v) : IpAddress::v6(v);
      (a.rta_type == IFA_LOCAL ? local : addr) = ip;
    }
    off += RTA_ALIGN(a.rta_len);
  }
  const std::optional<IpAddress>& mine = local ? local : addr;
  if (!mine) return;
  const bool candidate =
      type == RTM_NEWADDR && ifa.ifa_scope == RT_SCOPE_UNIVERSE &&
      (ifa.ifa_flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED | IFA_F_DEPRECATED)) == 0;
  for (size_t u = 0; u < state_.size(); ++u) {
    Uplink& s = state_[u];
    const bool was = s.usable();
    if (s.address == *mine) {
      if (type == RTM_NEWADDR) {
        s.hasAddress = true;
        s.ifindex = int(ifa.ifa_index);
      } else if (s.ifindex == 0 || s.ifindex == int(ifa.ifa_index)) {
        s.hasAddress = false;
      }
    } else if (s.follow && s.ifindex == int(ifa.ifa_index) &&
               s.address.family() == mine->family()) {
      auto it = std::find(s.others.begin(), s.others.end(), *mine);
      if (candidate && it == s.others.end()) s.others.push_back(*mine);
      if (!candidate && it != s.others.end()) s.others.erase(it);
    }
    if (s.follow && !s.hasAddress && s.ifindex != 0 && !s.others.empty()) {
      s.address = s.others.front();
      s.others.erase(s.others.begin());
      s.hasAddress = true;
      if (moved_) moved_(u, s.address);
    }
    if (s.usable() != was) changed(u, s.usable());
  }
}

Result<std::unique_ptr<LinkMonitor>> LinkMonitor::open(boost::asio::io_context& io,
                                                       std::vector<IpAddress> addrs,
                                                       Handler handler,
                                                       const std::vector<bool>& follow,
                                                       LinkEventParser::Moved moved) {
  const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0)
    return errorStatus(ErrorCode::kIoError, std::string("netlink socket: ") + std::strerror(errno));
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    const int e = errno;
    ::close(fd);
    return errorStatus(ErrorCode::kIoError, std::string("netlink bind: ") + std::strerror(e));
  }
  std::unique_ptr<LinkMonitor> m(new LinkMonitor(io, fd, std::move(addrs), std::move(handler)));
  for (size_t u = 0; u < follow.size() && u < m->parser_.size(); ++u) {
    if (follow[u]) m->parser_.follow(u);
  }
  m->parser_.setMovedHandler(std::move(moved));
  // Addresses first (they name each uplink's interface), then the links' states.
  for (uint8_t family : {uint8_t(AF_INET), uint8_t(AF_INET6)}) {
    if (Status s = m->dump(RTM_GETADDR, family); !s) return s;
    m->drain(false);
  }
  if (Status s = m->dump(RTM_GETLINK, AF_UNSPEC); !s) return s;
  m->drain(false);
  for (size_t u = 0; u < m->parser_.size(); ++u) {
    if (!m->parser_.usable(u)) m->handler_(u, false);
  }
  m->read();
  return m;
}

LinkMonitor::LinkMonitor(boost::asio::io_context& io, int fd, std::vector<IpAddress> addrs,
                         Handler h)
    : sock_(io, fd), parser_(std::move(addrs)), handler_(std::move(h)) {}

LinkMonitor::~LinkMonitor() {
  boost::system::error_code ec;
  sock_.cancel(ec);
  sock_.close(ec);
}

Status LinkMonitor::dump(uint16_t type, uint8_t family) {
  struct {
    nlmsghdr h;
    rtgenmsg g;
  } req{};
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = type;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = seq_++;
  req.g.rtgen_family = family;
  if (::send(sock_.native_handle(), &req, sizeof req, 0) < 0) {
    return errorStatus(ErrorCode::kIoError,
                       std::string("netlink dump request: ") + std::strerror(errno));
  }
  return Status::ok();
}

// Reads what the socket has (blocking briefly for a dump's answer to start arriving).
void LinkMonitor::drain(bool notify) {
  auto changed = [&](size_t u, bool usable) {
    if (notify) handler_(u, usable);
  };
  for (int idle = 0; idle < 50;) {
    const ssize_t n = ::recv(sock_.native_handle(), buf_.data(), buf_.size(), 0);
    if (n > 0) {
      parser_.feed(Bytes(buf_.data(), size_t(n)), changed);
      // A dump ends with NLMSG_DONE; the last message of this read says whether it came.
      const auto* h = reinterpret_cast<const nlmsghdr*>(buf_.data());
      bool done = false;
      for (size_t off = 0; off + sizeof(nlmsghdr) <= size_t(n);) {
        h = reinterpret_cast<const nlmsghdr*>(buf_.data() + off);
        if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) done = true;
        if (h->nlmsg_len < sizeof(nlmsghdr)) break;
        off += NLMSG_ALIGN(h->nlmsg_len);
      }
      if (done) return;
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return;
    ++idle;
    ::usleep(2000);  // start-up only: the kernel answers a dump within microseconds
  }
}

void LinkMonitor::read() {
  sock_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                   [this](const boost::system::error_code& ec) {
                     if (ec) return;
                     for (;;) {
                       const ssize_t n = ::recv(sock_.native_handle(), buf_.data(), buf_.size(), 0);
                       if (n <= 0) break;
                       parser_.feed(Bytes(buf_.data(), size_t(n)), handler_);
                     }
                     read();
                   });
}

}  // namespace braid::edge
