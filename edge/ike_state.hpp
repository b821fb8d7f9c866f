// What the parts of the IKE driver (edge/ike_driver.hpp) share: one record per uplink with
// IKE paths and one per IKE path, made by IkeDriver::open(), and the driver's counters.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/timer.hpp"
#include "edge/config.hpp"
#include "edge/ike_driver.hpp"
#include "edge/remote_access.hpp"
#include "edge/uplink_socket.hpp"
#include "ipsec/ike/events.hpp"
#include "ipsec/ike/sa_manager.hpp"

namespace braid::edge {

struct IkeUplink;

// One IKE path: (peer x uplink), data-plane path `index`.
struct IkePath {
  size_t index = 0;
  std::string name;  // "peer/uplink"
  const PeerConfig* peer = nullptr;
  const PathConfig* config = nullptr;
  IkeUplink* uplink = nullptr;
  std::string state = "idle";
  uint64_t failures = 0;
  std::optional<ike::FailureKind> lastFailure;
  bool failedSinceUp = false;  // the core retries this IKE SA itself
  bool dpdHeld = false;        // DPD found the peer dead, dpd_action clear/hold: stay down
  uint32_t outSpi = 0;
  uint32_t newestInSpi = 0;  // the inbound SPI of the Child SA that set outSpi
  std::set<uint32_t> inSpis;
  std::optional<SockAddr> espRemote;
  std::vector<IpPrefix> remoteNets;  // negotiated remote TS of the newest Child SA
  bool keepalive = false;
  std::unique_ptr<ScopedTimer> keepaliveTimer, childRetryTimer, reinitiateTimer;
  Duration childRetryDelay{};
};

// The events of one uplink's SaManager, told with the uplink they came from.
class IkeUplinkEvents {
 public:
  virtual void ikeSaUp(IkeUplink& u, const ike::IkeSaEvent& e) = 0;
  virtual void ikeSaDown(IkeUplink& u, const ike::IkeSaEvent& e) = 0;
  virtual void childSaUp(IkeUplink& u, const ike::ChildSaEvent& e) = 0;
  virtual void childSaDown(IkeUplink& u, const ike::ChildSaEvent& e) = 0;
  virtual void childSaOutbound(IkeUplink& u, const ike::ChildSaEvent& e) = 0;
  virtual void endpointChanged(IkeUplink& u, const ike::IkeSaEvent& e) = 0;
  virtual void failure(IkeUplink& u, const ike::FailureEvent& e) = 0;

 protected:
  ~IkeUplinkEvents() = default;
};

// An uplink with IKE paths: its SaManager (whose peers are the uplink's IKE paths) and the
// local address now (follow_address: renumbering moves it). Its socket is in IkeSockets.
struct IkeUplink final : ike::SaListener {
  size_t index = 0;
  const UplinkConfig* config = nullptr;
  IpAddress address;
  int nattFd = -1;  // the data plane's uplink socket: NAT-T IKE and keepalives
  IkeUplinkEvents* events = nullptr;
  std::unique_ptr<ike::SaManager> manager;
  std::map<std::string, IkePath*, std::less<>> paths;  // by peer name

  IkePath* path(std::string_view peer) {
    auto it = paths.find(peer);
    return it == paths.end() ? nullptr : it->second;
  }
  void onIkeSaUp(const ike::IkeSaEvent& e) override { events->ikeSaUp(*this, e); }
  void onIkeSaDown(const ike::IkeSaEvent& e) override { events->ikeSaDown(*this, e); }
  void onChildSaUp(const ike::ChildSaEvent& e) override { events->childSaUp(*this, e); }
  void onChildSaDown(const ike::ChildSaEvent& e) override { events->childSaDown(*this, e); }
  void onChildSaOutbound(const ike::ChildSaEvent& e) override { events->childSaOutbound(*this, e); }
  void onPeerEndpointChanged(const ike::IkeSaEvent& e) override {
    events->endpointChanged(*this, e);
  }
  void onFailure(const ike::FailureEvent& e) override { events->failure(*this, e); }
};

struct IkeState {
  std::vector<std::unique_ptr<IkeUplink>> uplinks;  // only uplinks with IKE paths
  std::vector<std::unique_ptr<IkePath>> paths;
  IkeDriverCounters counters;
  uint64_t espEndpointUpdates = 0;   // NAT rebinding learnt from authenticated ESP
  bool down = false;                 // after shutdown(): nothing more is sent or armed
  std::unique_ptr<RoadWarriors> ra;  // [[remote_access]] clients, if any

  // The IKE path with data-plane index `path`, null for a manual path.
  IkePath* pathAt(size_t path) const {
    for (auto& p : paths) {
      if (p->index == path) return p.get();
    }
    return nullptr;
  }
};

}  // namespace braid::edge
