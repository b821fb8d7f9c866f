// A site IKE path's life: initiated, up, down, failed. The core retries failed IKE SAs; here
// an initiator starts again after a clean end (braid's tunnels are always on) and asks again
// for a refused Child SA under a live IKE SA (RFC 7296 2.21.2), both after [peer.ike]
// retry_initial, the Child SA doubling up to retry_max.
#pragma once

#include "core/clock.hpp"
#include "edge/ike_sockets.hpp"
#include "edge/ike_state.hpp"
#include "edge/ike_support.hpp"
#include "ipsec/ike/events.hpp"

namespace braid::edge {

class IkePathLifecycle {
 public:
  // Counts Child SA retries into state.counters; arms nothing once state.down is set.
  IkePathLifecycle(const Clock& clock, const IkePortMap& ports, IkeSockets& sockets,
                   IkeState& state)
      : clock_(clock), ports_(ports), sockets_(sockets), state_(state) {}

  void initiate(IkePath& p);
  // Up: the path's ESP endpoint and NAT keepalives (RFC 3948 2.3) when a NAT was detected.
  void ikeSaUp(IkeUplink& u, const ike::IkeSaEvent& e);
  void ikeSaDown(IkeUplink& u, const ike::IkeSaEvent& e);
  void failure(IkeUplink& u, const ike::FailureEvent& e);

 private:
  const Clock& clock_;
  const IkePortMap& ports_;
  IkeSockets& sockets_;
  IkeState& state_;
};

}  // namespace braid::edge
