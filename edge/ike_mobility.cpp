#include "edge/ike_mobility.hpp"

#include <cstdio>

#include "core/log.hpp"
#include "edge/ike_support.hpp"

namespace braid::edge {

// Renumbering (follow_address; edge/link_monitor.hpp): the IKE socket moves to the new
// address (the data plane's uplink socket, which carries NAT-T IKE, has already), then the
// core moves each IKE SA with MOBIKE or re-establishes it (RFC 4555 3.5; issue 12).
void IkeMobility::localAddressChanged(size_t uplink, const IpAddress& address) {
  if (state_.down) return;
  for (auto& up : state_.uplinks) {
    IkeUplink& u = *up;
    if (u.index != uplink || u.address == address) continue;
    const IpAddress old = u.address;
    sockets_.rebind(u, address);
    u.address = address;
    BRAID_LOG(kInfo, "ike") << "uplink " << u.config->name << ": local address " << old.toString()
                            << " -> " << address.toString() << ", moving its IKE SAs";
    u.manager->localAddressChanged(old, address);
  }
}

// RFC 7296 2.23: a host that is not behind a NAT SHOULD send to the address and port of
// the newest authenticated packet of a NAT-T SA. IKE messages do this in the core; here ESP
// does it too, so traffic from the NATed peer after its NAT rebound (new mapping, new port)
// brings our ESP and IKE to the new port at once instead of waiting for its next IKE message.
void IkeMobility::espSourceChanged(size_t path, uint32_t spi, const SockAddr& from) {
  if (state_.down) return;
  if (state_.ra && state_.ra->espSourceChanged(path, spi, from)) return;  // a road-warrior client
  IkePath* p = state_.pathAt(path);
  if (p == nullptr || !p->espRemote) return;  // a manual path: its endpoint is configured
  ike::IkeSa* sa = p->uplink->manager->findByPeer(p->peer->name);
  // Only for the current SA of an established, NAT-T IKE SA, and never when we are the one
  // behind the NAT (then a spoofed source could cut us off; RFC 7296 2.23).
  if (sa == nullptr || sa->state() != ike::IkeSaState::kEstablished ||
      sa->findChildByInbound(spi) == nullptr || !sa->natDetected() || sa->natLocal()) {
    return;
  }
  auto remote = endpointOf(from);
  if (!remote || from.toString() == p->espRemote->toString()) return;
  char spiText[12];
  std::snprintf(spiText, sizeof spiText, "0x%08x", spi);
  BRAID_LOG(kInfo, "ike") << "path " << p->name << ": authenticated ESP (SPI " << spiText
                          << ") from " << from.toString() << ", was " << p->espRemote->toString()
                          << ": following the peer's new NAT mapping";
  ++state_.espEndpointUpdates;
  remote->port = ports_.map(remote->port);
  // The core moves the IKE SA (so IKE follows too), counts ike.peer_endpoint_changes and
  // calls ChildSaInstaller::endpointChanged(), which points the path's ESP at the new port.
  sa->setEndpoints(sa->local(), *remote);
}

}  // namespace braid::edge
