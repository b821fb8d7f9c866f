// Addresses that move under live SAs: our uplink's (follow_address: the IKE socket follows,
// the core moves each IKE SA with MOBIKE, RFC 4555) and the NATed peer's, seen first on its
// authenticated ESP (RFC 7296 2.23).
#pragma once

#include <cstdint>

#include "core/ip.hpp"
#include "edge/ike_sockets.hpp"
#include "edge/ike_state.hpp"
#include "edge/ike_support.hpp"
#include "edge/uplink_socket.hpp"

namespace braid::edge {

class IkeMobility {
 public:
  // Counts ESP endpoint updates into state.espEndpointUpdates; nothing moves once state.down.
  IkeMobility(const IkePortMap& ports, IkeSockets& sockets, IkeState& state)
      : ports_(ports), sockets_(sockets), state_(state) {}

  void localAddressChanged(size_t uplink, const IpAddress& address);
  // The newest authenticated ESP of SA `spi` on data-plane path `path` came from `from`.
  void espSourceChanged(size_t path, uint32_t spi, const SockAddr& from);

 private:
  const IkePortMap& ports_;
  IkeSockets& sockets_;
  IkeState& state_;
};

}  // namespace braid::edge
