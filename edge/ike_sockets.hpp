// The IKE driver's datagrams: IKE on an Asio UDP socket per uplink at its address and [ike]
// port; NAT-T IKE on the data plane's uplink socket (4500) behind the non-ESP marker (RFC
// 3948 2.2), received on the RX thread and posted here; NAT keepalives (RFC 3948 2.3).
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <vector>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "edge/config.hpp"
#include "edge/dataplane.hpp"
#include "edge/ike_state.hpp"
#include "edge/ike_support.hpp"
#include "ipsec/ike/events.hpp"

namespace braid::edge {

class IkeSockets {
 public:
  // Counts into state.counters; sends and receives nothing once state.down is set.
  IkeSockets(boost::asio::io_context& io, const Config& cfg, const IkePortMap& ports,
             const Clock& clock, IkeState& state);
  ~IkeSockets();
  IkeSockets(const IkeSockets&) = delete;
  IkeSockets& operator=(const IkeSockets&) = delete;

  // The sender of u's SaManager (it outlives the manager); open(u) binds u's socket.
  ike::DatagramSender& add(IkeUplink& u);
  Status open(IkeUplink& u);
  // Receives on every socket, and NAT-T IKE from the data plane (after dp.start()).
  void start(DataPlane& dp);
  // follow_address: u's IKE socket moves to `address`; if that cannot be bound, the old one
  // stays (logged) and NAT-T IKE still works. u.address is the caller's to change.
  void rebind(IkeUplink& u, const IpAddress& address);
  // Keeps the path's NAT mapping alive while p.keepalive (cfg [ike] nat_keepalive).
  void armKeepalive(IkePath& p);
  void close();

 private:
  struct Socket;
  Socket* socketOf(const IkeUplink& u);
  void receiveNext(Socket& s);
  void deliver(IkeUplink& u, const ike::Endpoint& local, const SockAddr& from, Bytes data);
  void send(IkeUplink& u, Socket& s, const ike::Endpoint& local, const ike::Endpoint& remote,
            Bytes data);

  boost::asio::io_context& io_;
  const Config& cfg_;
  const IkePortMap& ports_;
  const Clock& clock_;
  IkeState& state_;
  std::vector<std::unique_ptr<Socket>> sockets_;
};

}  // namespace braid::edge
