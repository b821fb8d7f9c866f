// Child SA events -> the data plane: a path's ESP SAs are installed and removed with the
// negotiated selectors and sent to the peer's ESP endpoint, the peers' routes follow the
// paths that are up, and the keying handler hears of it. Road-warrior Child SAs go to
// RoadWarriors (edge/remote_access.hpp).
#pragma once

#include <utility>

#include "edge/config.hpp"
#include "edge/dataplane.hpp"
#include "edge/ike_driver.hpp"
#include "edge/ike_state.hpp"
#include "edge/ike_support.hpp"
#include "ipsec/ike/events.hpp"

namespace braid::edge {

class ChildSaInstaller {
 public:
  // Counts install errors into state.counters.
  ChildSaInstaller(const Config& cfg, DataPlane& dp, const IkePortMap& ports, IkeState& state)
      : cfg_(cfg), dp_(dp), ports_(ports), state_(state) {}

  void setKeyingHandler(IkeDriver::KeyingHandler h) { keying_ = std::move(h); }

  void childSaUp(IkeUplink& u, const ike::ChildSaEvent& e);
  void childSaDown(IkeUplink& u, const ike::ChildSaEvent& e);
  void childSaOutbound(IkeUplink& u, const ike::ChildSaEvent& e);
  // RFC 7296 2.23 NAT rebinding: the path's ESP goes where its IKE SA's peer now is.
  void endpointChanged(IkeUplink& u, const ike::IkeSaEvent& e);

 private:
  // Routes published to the data plane: a peer's IKE paths that are up send only to their
  // (possibly narrowed) remote TS; with nothing up, the configured subnets (tx no_sa). Only
  // routes: which path carries what is the policy engines' business.
  void publishRoutes();

  const Config& cfg_;
  DataPlane& dp_;
  const IkePortMap& ports_;
  IkeState& state_;
  IkeDriver::KeyingHandler keying_;  // path keyed / unkeyed (multipath: the path monitor)
};

}  // namespace braid::edge
