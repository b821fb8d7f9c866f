// The IKEv2 control plane of braidd: runs the IKE core (ipsec/ike, no I/O) on the daemon's
// Asio thread and connects it to sockets and the data plane.
//   * one ike::SaManager per uplink with an IKE path: its peers are that uplink's IKE paths,
//     so "one IKE SA per uplink per peer" and responders pick the path by arrival uplink;
//   * IKE on an Asio UDP socket at the uplink address, [ike] port (500); NAT-T IKE arrives on
//     the data plane's uplink socket (4500) behind the non-ESP marker, is copied on the RX
//     thread and posted here; NAT-T IKE is sent on that socket's fd with the marker;
//   * Child SA up/down -> ESP SAs installed into / removed from the path (negotiated
//     selectors, peer endpoint), NAT rebinding -> path endpoint, NAT-keepalives;
//   * failures: the core logs and counts; initiators retry (IKE SA: the core's backoff;
//     a refused Child SA under a live IKE SA: CREATE_CHILD_SA with the same backoff here).
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "edge/config.hpp"
#include "edge/control_commands.hpp"
#include "edge/dataplane.hpp"
#include "ipsec/ike/events.hpp"

namespace braid::edge {

// Edge-level IKE counters (the core's ike::IkeCounters are summed beside them).
struct IkeDriverCounters {
  uint64_t datagramsReceived = 0, datagramsSent = 0, sendErrors = 0;
  uint64_t keepalivesSent = 0;
  uint64_t childRetries = 0;
  uint64_t installErrors = 0;
};

// A copy of the driver's counters for the metrics exporter (edge/metrics_export.hpp).
struct IkeUplinkStats {
  std::string uplink;
  ike::IkeCounters core;
  uint64_t halfOpen = 0;  // gauges
  uint64_t ikeSas = 0;
};
struct IkePathStats {
  std::string name;   // "peer/uplink"
  std::string state;  // idle, connecting, established, failed
  uint64_t childSas = 0;
  uint64_t failures = 0;
};
struct IkeStats {
  std::vector<IkeUplinkStats> uplinks;
  IkeDriverCounters driver;
  uint64_t espEndpointUpdates = 0;
  std::vector<IkePathStats> paths;
};

class IkeDriver {
 public:
  // `uplinkFds` are the data plane's uplink sockets (index = uplink), used for NAT-T sends.
  IkeDriver(boost::asio::io_context& io, const Config& config, DataPlane& dataPlane,
            std::vector<int> uplinkFds);
  ~IkeDriver();
  IkeDriver(const IkeDriver&) = delete;
  IkeDriver& operator=(const IkeDriver&) = delete;

  // Opens the IKE sockets and the key log and registers the IKE peers. Fails (before any
  // SA exists) if a socket cannot be bound or the key log cannot be opened.
  Status open();
  // Installs the NAT-T hook into the data plane and starts initiating (after dp.start()).
  void start();
  // Sends Delete for every IKE SA (best effort) and drops all IKE state. Idempotent.
  void shutdown();

  // Called on the Asio thread when a path's ESP SAs are installed (keyed, with `shim` when
  // both sides negotiated the braid shim) or its outbound SA is removed.
  // `responder`: we answered the exchange that created the SA, so the peer installs its
  // SAs only when our response arrives; our first probes would meet no SA there.
  using KeyingHandler = std::function<void(size_t path, bool keyed, bool shim, bool responder)>;
  void setKeyingHandler(KeyingHandler h);

  // "name value" lines for the stats file (docs/configuration.md "IKE counters").
  std::string formatStats() const;
  // The same figures as values, on the Asio thread (the scrape endpoint's source).
  IkeStats stats() const;
  // braidctl sas: the path's ("peer/uplink") newest IKE SA and its Child SAs, empty if it
  // has none. Bytes and packets are the core's (the data plane's, polled every second).
  std::vector<ControlIkeSa> describeSas(std::string_view path) const;
  // Multipath liveness of a path to a standard peer (pathmon's checkLiveness): an empty
  // INFORMATIONAL on the path's IKE SA unless an exchange is in flight there already; with
  // `resend`, that exchange's request is sent again now.
  void checkLiveness(size_t path, bool resend = false);
  // The uplink's local address changed (follow_address, from netlink), after the data
  // plane's uplink socket moved: the IKE socket follows, and each IKE SA on the uplink moves
  // with MOBIKE (RFC 4555) or is re-established from the new address.
  void localAddressChanged(size_t uplink, const IpAddress& address);
  // When the path's IKE SA last received an authenticated message (zero: none, no SA).
  TimePoint lastPeerMessage(size_t path) const;
  // When it last received an authenticated response to one of our requests.
  TimePoint lastPeerResponse(size_t path) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace braid::edge
