// Road-warrior clients in edge (docs/remote-access.md). Each [[remote_access]] section has
// max_clients data-plane "slots" per uplink: a slot is a path of its own (and a peer of its
// own for routing) that is free until a client's Child SA comes up on that uplink. Then the
// slot carries the client's SAs, its ESP goes to the client's (NAT) endpoint, and the route
// to the client's virtual IPs points at the slot; the inbound SA's selectors (the VIPs) make
// the RX thread drop anything else the client sends (rx.drop.spoofed_source).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "edge/config.hpp"
#include "edge/dataplane.hpp"
#include "edge/paths.hpp"
#include "ipsec/ike/events.hpp"
#include "ipsec/ike/remote_access.hpp"

namespace braid::edge {

// The data-plane paths and peers of the slots, appended after the site peers' (daemon).
// `firstPeer`: the number of site peers.
void appendRemoteAccessSpecs(const Config& cfg, std::vector<PathSpec>& paths,
                             std::vector<PeerSpec>& peers);

// The IKE core's config for a section on one uplink (responder, any address).
ike::PeerConfig remoteAccessPeerConfig(const RemoteAccessSection& section,
                                       const UplinkConfig& uplink,
                                       std::shared_ptr<const ike::RemoteAccessConfig> ra);

class RoadWarriors {
 public:
  // Slot path indices start at `firstPath` (after the site paths); `firstPeer` likewise.
  RoadWarriors(const Config& cfg, DataPlane& dp, size_t firstPath, size_t firstPeer);

  // The pools of a section, shared by every uplink's IKE SA manager.
  std::shared_ptr<const ike::RemoteAccessConfig> coreConfig(size_t section) const {
    return core_[section];
  }
  bool owns(const std::string& peer) const;

  using EspEndpoint = std::function<SockAddr(const ike::Endpoint&)>;
  using Keying = std::function<void(size_t path, bool keyed)>;
  // False (and a log line) if the SA could not be installed.
  bool childSaUp(size_t uplink, const ike::ChildSaEvent& e, const EspEndpoint& esp,
                 const Keying& keying);
  void childSaDown(const ike::ChildSaEvent& e, const Keying& keying);
  void childSaOutbound(const ike::ChildSaEvent& e);
  // Authenticated ESP of a client's SA came from a new source (its NAT rebound): ESP to the
  // client follows it (RFC 7296 2.23; we are not the side behind the NAT). False if `path`
  // is not a slot.
  bool espSourceChanged(size_t path, uint32_t spi, const SockAddr& from);
  // "ike.remote_access.*" lines for the stats file.
  void formatStats(std::ostream& os) const;
  // The slots' routes (client virtual IPs), appended to the site peers' specs.
  void appendRoutes(std::vector<PeerSpec>& specs) const;
  size_t clients() const;
  size_t slotsInUse() const;
  uint64_t noFreeSlot() const { return noFreeSlot_; }

 private:
  struct Slot {
    size_t section = 0, uplink = 0;
    size_t path = 0;  // data-plane path index (also the slot's peer: see appendRoutes)
    std::string name;
    std::string client;  // the virtual IPs, as text ("" = free)
    std::vector<IpPrefix> vips;
    std::set<uint32_t> inSpis;
    uint32_t outSpi = 0;
    SockAddr remote;  // where its ESP goes
  };
  Slot* slotOf(const ike::ChildSaEvent& e);

  const Config& cfg_;
  DataPlane& dp_;
  std::vector<std::shared_ptr<ike::RemoteAccessConfig>> core_;
  std::vector<Slot> slots_;
  uint64_t noFreeSlot_ = 0;
  uint64_t endpointUpdates_ = 0;
};

}  // namespace braid::edge
