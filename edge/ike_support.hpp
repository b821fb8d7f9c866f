// Edge-side pieces the IKE driver plugs into the IKE core: an Asio-backed TimerScheduler,
// the Wireshark key log, IKE port translation and selector/address conversions.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "core/timer.hpp"
#include "edge/config.hpp"
#include "edge/uplink_socket.hpp"
#include "ipsec/ike/events.hpp"
#include "ipsec/ike/traffic_selector.hpp"

namespace braid::edge {

// TimerScheduler on one Asio steady_timer armed at the earliest deadline of a TimerQueue.
// Callbacks run on the io_context's thread.
class AsioTimers final : public TimerScheduler {
 public:
  explicit AsioTimers(boost::asio::io_context& io) : timer_(io) {}
  ~AsioTimers() override { timer_.cancel(); }
  TimerId schedule(TimePoint deadline, std::function<void()> callback) override;
  void cancel(TimerId id) override;
  size_t pending() const { return queue_.pending(); }

 private:
  void rearm();
  TimerQueue queue_;
  boost::asio::steady_timer timer_;
  std::optional<TimePoint> armedAt_;
  bool firing_ = false;
};

// The MTU of the interface that holds `local` (getifaddrs + SIOCGIFMTU), 0 if no interface
// has it. The uplink's IKE socket is bound to that address and unconnected, so its own
// IP_MTU says nothing; the IKE core cuts fragments for this MTU (RFC 7383 2.5.2).
uint32_t interfaceMtu(const IpAddress& local);

// Lines for the key log ([ike] keylog, docs/configuration.md): "TABLE:RECORD" usable as
// tshark's `-o uat:TABLE:RECORD`, or a "# ..." comment for suites tshark 4.0 cannot decrypt.
std::string ikeKeyLogLine(const ike::IkeKeyLog& k);
std::string espKeyLogLine(const ike::EspKeyLog& k);

// Appends key log lines to a file created with mode 0600; flushed after each line.
class KeyLogFile final : public ike::KeySink {
 public:
  static Result<std::unique_ptr<KeyLogFile>> open(const std::string& path);
  ~KeyLogFile() override;
  void ikeSaKeys(const ike::IkeKeyLog& k) override { write(ikeKeyLogLine(k)); }
  void childSaKeys(const ike::EspKeyLog& k) override { write(espKeyLogLine(k)); }

 private:
  explicit KeyLogFile(std::FILE* f) : f_(f) {}
  void write(std::string line);
  std::FILE* f_;
};

// The IKE core speaks of ports 500 and 4500; [ike] port / natt_port may move them (labs).
// The mapping swaps 500 <-> port and 4500 <-> natt_port, so it is its own inverse.
struct IkePortMap {
  uint16_t port = ike::kIkePort;
  uint16_t nattPort = ike::kNattPort;
  uint16_t map(uint16_t p) const {
    if (p == ike::kIkePort) return port;
    if (p == ike::kNattPort) return nattPort;
    if (p == port) return ike::kIkePort;
    if (p == nattPort) return ike::kNattPort;
    return p;
  }
};

std::optional<ike::Endpoint> endpointOf(const SockAddr& a);

// braid's data plane only does ESP-in-UDP: the peer's NAT-T port, or the port a NAT mapped.
SockAddr espEndpoint(const IkePortMap& ports, const ike::Endpoint& remote);

// Prefixes covering a selector's address range exactly (ports and protocol are not
// enforced by the data plane), for IPv4 and IPv6 ranges.
std::vector<IpPrefix> selectorPrefixes(const ike::TrafficSelector& ts);
std::vector<IpPrefix> selectorPrefixes(const std::vector<ike::TrafficSelector>& list);

// The ESP cipher of a negotiated Child SA that braid's data plane can run.
bool dataPlaneSupports(const ipsec::EspSaConfig& sa);

// The IKE core's view of one IKE path (peer x uplink).
ike::PeerConfig ikePeerConfig(const PeerConfig& peer, const PathConfig& path,
                              const UplinkConfig& uplink);

}  // namespace braid::edge
