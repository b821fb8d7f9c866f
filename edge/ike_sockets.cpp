#include "edge/ike_sockets.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <string>
#include <utility>

#include "core/log.hpp"

namespace braid::edge {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

constexpr size_t kMaxIkeDatagram = 65535;

IpAddress fromAsio(const asio::ip::address& a) {
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    return IpAddress::v4(Bytes(b.data(), b.size()));
  }
  auto b = a.to_v6().to_bytes();
  return IpAddress::v6(Bytes(b.data(), b.size()));
}

asio::ip::address toAsio(const IpAddress& a) {
  if (a.isV4()) {
    asio::ip::address_v4::bytes_type b;
    std::copy_n(a.bytes().data(), 4, b.begin());
    return asio::ip::address_v4(b);
  }
  asio::ip::address_v6::bytes_type b;
  std::copy_n(a.bytes().data(), 16, b.begin());
  return asio::ip::address_v6(b);
}

// A UDP socket bound to address:port; `ec` says why not.
std::unique_ptr<udp::socket> bound(asio::io_context& io, const IpAddress& address, uint16_t port,
                                   boost::system::error_code& ec) {
  udp::endpoint ep(toAsio(address), port);
  auto sock = std::make_unique<udp::socket>(io);
  if (sock->open(ep.protocol(), ec); !ec) sock->bind(ep, ec);
  return sock;
}

}  // namespace

// One uplink's IKE socket, and the sender of its SaManager.
struct IkeSockets::Socket final : ike::DatagramSender {
  IkeSockets* owner = nullptr;
  IkeUplink* uplink = nullptr;
  std::unique_ptr<udp::socket> socket;
  uint64_t generation = 0;  // a receive of a replaced socket stops there
  std::vector<uint8_t> rxBuffer;
  udp::endpoint rxFrom;

  void sendDatagram(const ike::Endpoint& local, const ike::Endpoint& remote, Bytes data) override {
    owner->send(*uplink, *this, local, remote, data);
  }
};

IkeSockets::IkeSockets(asio::io_context& io, const Config& cfg, const IkePortMap& ports,
                       const Clock& clock, IkeState& state)
    : io_(io), cfg_(cfg), ports_(ports), clock_(clock), state_(state) {}

IkeSockets::~IkeSockets() = default;

ike::DatagramSender& IkeSockets::add(IkeUplink& u) {
  auto s = std::make_unique<Socket>();
  s->owner = this;
  s->uplink = &u;
  s->rxBuffer.resize(kMaxIkeDatagram);
  sockets_.push_back(std::move(s));
  return *sockets_.back();
}

IkeSockets::Socket* IkeSockets::socketOf(const IkeUplink& u) {
  for (auto& s : sockets_) {
    if (s->uplink == &u) return s.get();
  }
  return nullptr;
}

Status IkeSockets::open(IkeUplink& u) {
  Socket& s = *socketOf(u);
  boost::system::error_code ec;
  s.socket = bound(io_, u.address, cfg_.ike.port, ec);
  if (ec) {
    return errorStatus(ErrorCode::kIoError, "uplink " + u.config->name + ": IKE socket " +
                                                u.config->localAddress.toString() + " port " +
                                                std::to_string(cfg_.ike.port) + ": " +
                                                ec.message());
  }
  return Status::ok();
}

void IkeSockets::start(DataPlane& dp) {
  // RX thread: copy the message, hand it to this (control) thread.
  dp.setIkeHandler([this](size_t uplink, const SockAddr& from, Bytes message) {
    auto copy = std::make_shared<std::vector<uint8_t>>(message.begin(), message.end());
    asio::post(io_, [this, uplink, from, copy] {
      for (auto& u : state_.uplinks) {
        if (u->index == uplink) {
          deliver(*u, ike::Endpoint{u->address, ike::kNattPort}, from, *copy);
          return;
        }
      }
      BRAID_LOG(kDebug, "ike") << "NAT-T IKE datagram on an uplink without IKE paths: dropped";
    });
  });
  for (auto& u : state_.uplinks) receiveNext(*socketOf(*u));
}

void IkeSockets::receiveNext(Socket& s) {
  const uint64_t generation = s.generation;
  s.socket->async_receive_from(
      asio::buffer(s.rxBuffer), s.rxFrom,
      [this, &s, generation](const boost::system::error_code& ec, size_t n) {
        if (ec == asio::error::operation_aborted || state_.down || generation != s.generation) {
          return;
        }
        if (!ec) {
          SockAddr from = SockAddr::from(fromAsio(s.rxFrom.address()), s.rxFrom.port());
          deliver(*s.uplink, ike::Endpoint{s.uplink->address, ike::kIkePort}, from,
                  Bytes(s.rxBuffer.data(), n));
        }
        receiveNext(s);
      });
}

void IkeSockets::deliver(IkeUplink& u, const ike::Endpoint& local, const SockAddr& from,
                         Bytes data) {
  if (state_.down) return;
  auto remote = endpointOf(from);
  if (!remote) return;
  remote->port = ports_.map(remote->port);
  ++state_.counters.datagramsReceived;
  u.manager->receive(local, *remote, data);
}

void IkeSockets::send(IkeUplink& u, Socket& s, const ike::Endpoint& local,
                      const ike::Endpoint& remote, Bytes data) {
  const uint16_t port = ports_.map(remote.port);
  if (local.port == ike::kNattPort) {
    // RFC 3948 2.2: IKE on the ESP-in-UDP port carries the 4-byte non-ESP marker.
    std::vector<uint8_t> buf(4 + data.size(), 0);
    std::copy(data.begin(), data.end(), buf.begin() + 4);
    SockAddr to = SockAddr::from(remote.address, port);
    ssize_t n = ::sendto(u.nattFd, buf.data(), buf.size(), 0,
                         reinterpret_cast<const sockaddr*>(&to.storage), to.length);
    if (n < 0) {
      ++state_.counters.sendErrors;
      BRAID_LOG(kDebug, "ike") << "send to " << to.toString() << ": " << std::strerror(errno);
      return;
    }
  } else {
    boost::system::error_code ec;
    s.socket->send_to(asio::buffer(data.data(), data.size()),
                      udp::endpoint(toAsio(remote.address), port), 0, ec);
    if (ec) {
      ++state_.counters.sendErrors;
      BRAID_LOG(kDebug, "ike") << "send to " << remote.address.toString() << " port " << port
                               << ": " << ec.message();
      return;
    }
  }
  ++state_.counters.datagramsSent;
}

void IkeSockets::rebind(IkeUplink& u, const IpAddress& address) {
  Socket& s = *socketOf(u);
  boost::system::error_code ec;
  auto sock = bound(io_, address, cfg_.ike.port, ec);
  if (ec) {
    BRAID_LOG(kError, "ike") << "uplink " << u.config->name << ": IKE socket " << address.toString()
                             << " port " << cfg_.ike.port << ": " << ec.message()
                             << " (NAT-T IKE still works)";
    return;
  }
  s.socket->close(ec);
  s.socket = std::move(sock);
  ++s.generation;
  receiveNext(s);
}

void IkeSockets::armKeepalive(IkePath& p) {
  if (!p.keepalive || cfg_.ike.natKeepaliveSeconds == 0) return;
  p.keepaliveTimer->arm(clock_.now() + std::chrono::seconds(cfg_.ike.natKeepaliveSeconds),
                        [this, &p] {
                          if (p.espRemote) {
                            // RFC 3948 2.3: one 0xFF byte keeps the NAT mapping alive.
                            const uint8_t ka = 0xFF;
                            if (::sendto(p.uplink->nattFd, &ka, 1, 0,
                                         reinterpret_cast<const sockaddr*>(&p.espRemote->storage),
                                         p.espRemote->length) == 1) {
                              ++state_.counters.keepalivesSent;
                            }
                          }
                          armKeepalive(p);
                        });
}

void IkeSockets::close() {
  for (auto& s : sockets_) {
    boost::system::error_code ec;
    if (s->socket) s->socket->close(ec);
  }
}

}  // namespace braid::edge
