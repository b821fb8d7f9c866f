#include "edge/remote_access.hpp"

#include <cstdio>

#include "core/log.hpp"
#include "edge/ike_support.hpp"
#include "edge/ts_match.hpp"

namespace braid::edge {
namespace {

std::string slotName(const RemoteAccessSection& s, const UplinkConfig& u, size_t i) {
  return s.name + "#" + std::to_string(i) + "/" + u.name;
}

std::string vipText(const std::vector<IpPrefix>& vips) {
  std::string out;
  for (const auto& v : vips) out += (out.empty() ? "" : ",") + v.address().toString();
  return out;
}

}  // namespace

void appendRemoteAccessSpecs(const Config& cfg, std::vector<PathSpec>& paths,
                             std::vector<PeerSpec>& peers) {
  for (const RemoteAccessSection& s : cfg.remoteAccess) {
    for (size_t u : s.uplinks) {
      for (size_t i = 0; i < s.maxClients; ++i) {
        const std::string name = slotName(s, cfg.uplinks[u], i);
        peers.push_back(PeerSpec{name, {}, {paths.size()}});
        // The client's endpoint is learnt from IKE (setPathRemote); until then, nowhere.
        paths.push_back({name, peers.size() - 1, u, SockAddr{}, true});
      }
    }
  }
}

ike::PeerConfig remoteAccessPeerConfig(const RemoteAccessSection& section,
                                       const UplinkConfig& uplink,
                                       std::shared_ptr<const ike::RemoteAccessConfig> ra) {
  PeerConfig peer;
  peer.name = section.name;
  peer.ike = section.ike;
  // Clients propose their side as "any" (they do not know their address yet); the core
  // narrows it to the lease. Our side is what they may reach.
  peer.ike->localSubnets = section.allowedSubnets;
  peer.ike->remoteSubnets = section.pools;
  peer.ike->braidShim = false;
  peer.ike->mobike = false;  // a client's move would not reach its slot's ESP endpoint
  PathConfig path;
  path.remoteAny = true;
  ike::PeerConfig pc = ikePeerConfig(peer, path, uplink);
  pc.remoteAny = true;
  pc.remoteAccess = std::move(ra);
  pc.remoteAuth.eapUsers = section.eapUsers;  // clients without AUTH: EAP (RFC 7296 2.16)
  pc.remoteAuth.eapMethods = section.eapMethods;
  // No client CA (EAP-only section): no CERTREQ naming none (RFC 7296 3.7).
  if (section.ike.cas == nullptr || section.ike.cas->size() == 0) pc.sendCertReq = false;
  return pc;
}

RoadWarriors::RoadWarriors(const Config& cfg, DataPlane& dp, size_t firstPath, size_t firstPeer)
    : cfg_(cfg), dp_(dp) {
  (void)firstPeer;
  size_t path = firstPath;
  for (size_t si = 0; si < cfg.remoteAccess.size(); ++si) {
    const RemoteAccessSection& s = cfg.remoteAccess[si];
    auto ra = std::make_shared<ike::RemoteAccessConfig>();
    for (const IpPrefix& p : s.pools) {
      ra->pools.push_back(
          std::make_shared<ike::AddressPool>(ike::AddressPool::create(s.name, p).value()));
    }
    ra->dns = s.dns;
    ra->splitSubnets = s.splitSubnets;
    for (const auto& [group, nets] : s.groups) ra->groupSubnets[group] = nets;
    core_.push_back(std::move(ra));
    for (size_t u : s.uplinks) {
      for (size_t i = 0; i < s.maxClients; ++i) {
        Slot slot;
        slot.section = si;
        slot.uplink = u;
        slot.path = path++;
        slot.name = slotName(s, cfg.uplinks[u], i);
        slots_.push_back(std::move(slot));
      }
    }
  }
}

bool RoadWarriors::owns(const std::string& peer) const {
  for (const auto& s : cfg_.remoteAccess) {
    if (s.name == peer) return true;
  }
  return false;
}

RoadWarriors::Slot* RoadWarriors::slotOf(const ike::ChildSaEvent& e) {
  for (Slot& s : slots_) {
    if (s.inSpis.count(e.inbound.spi) || (s.outSpi != 0 && s.outSpi == e.outbound.spi)) return &s;
  }
  return nullptr;
}

bool RoadWarriors::childSaUp(size_t uplink, const ike::ChildSaEvent& e, const EspEndpoint& esp,
                             const Keying& keying) {
  const std::vector<IpPrefix> vips = selectorPrefixes(e.remoteTs);
  const std::string client = vipText(vips);
  const std::vector<IpPrefix> local = selectorPrefixes(e.localTs);
  auto fail = [&](const std::string& why) {
    BRAID_LOG(kError, "ike") << "remote access " << e.peer << ": client " << client
                             << ": Child SA not installed: " << why;
    return false;
  };
  if (vips.empty() || local.empty()) return fail("selectors are not address prefixes");
  if (!dataPlaneSupports(e.inbound) || !dataPlaneSupports(e.outbound)) {
    return fail("cipher not supported by the data plane");
  }
  // The client's slot: the one already carrying its virtual IPs (a rekey, or the same
  // identity again), else a free one on this uplink.
  Slot* slot = nullptr;
  for (Slot& s : slots_) {
    if (s.client == client && s.uplink == uplink && cfg_.remoteAccess[s.section].name == e.peer) {
      slot = &s;
    }
  }
  for (Slot& s : slots_) {
    if (slot == nullptr && s.client.empty() && s.uplink == uplink &&
        cfg_.remoteAccess[s.section].name == e.peer) {
      slot = &s;
    }
  }
  if (slot == nullptr) {
    ++noFreeSlot_;
    return fail("all max_clients slots of this uplink are in use");
  }
  auto out = ipsec::EspOutboundSa::create(e.outbound);
  if (!out) return fail(out.status().message());
  auto in = ipsec::EspInboundSa::create(e.inbound);
  if (!in) return fail(in.status().message());
  const SockAddr remote = esp(e.remote);
  slot->client = client;
  slot->vips = vips;
  slot->remote = remote;
  dp_.setPathRemote(slot->path, remote);
  // The client's selectors (its virtual IPs) are the inbound SA's: any other inner source
  // is a spoof and dropped on the RX thread.
  auto ports = SelectorMatcher::from(e.remoteTs, e.localTs);  // protocol/ports, if any
  dp_.installInbound(slot->path, std::move(*in), vips, local, ports);
  slot->inSpis.insert(e.inbound.spi);
  if (!e.outboundActive) return true;  // a rekey by the client: sends move later
  dp_.installOutbound(slot->path, std::move(*out), ports);
  slot->outSpi = e.outbound.spi;
  keying(slot->path, true);
  char spis[40];
  std::snprintf(spis, sizeof spis, "out 0x%08x in 0x%08x", e.outbound.spi, e.inbound.spi);
  BRAID_LOG(kInfo, "ike") << "remote access " << e.peer << ": client " << client << " ("
                          << slot->name << ") ESP SAs installed (" << spis << "), sending to "
                          << remote.toString();
  return true;
}

void RoadWarriors::childSaOutbound(const ike::ChildSaEvent& e) {
  Slot* slot = slotOf(e);
  if (slot == nullptr) return;
  auto out = ipsec::EspOutboundSa::create(e.outbound);
  if (!out) return;
  dp_.installOutbound(slot->path, std::move(*out), SelectorMatcher::from(e.remoteTs, e.localTs));
  slot->outSpi = e.outbound.spi;
}

void RoadWarriors::childSaDown(const ike::ChildSaEvent& e, const Keying& keying) {
  Slot* slot = slotOf(e);
  if (slot == nullptr) return;
  dp_.removeInbound(e.inbound.spi);
  slot->inSpis.erase(e.inbound.spi);
  if (slot->outSpi == e.outbound.spi) {
    dp_.removeOutbound(slot->path);
    slot->outSpi = 0;
  }
  if (slot->inSpis.empty() && slot->outSpi == 0) {
    BRAID_LOG(kInfo, "ike") << "remote access " << e.peer << ": client " << slot->client << " ("
                            << slot->name << ") gone";
    slot->client.clear();
    slot->vips.clear();
    keying(slot->path, false);
  }
}

bool RoadWarriors::espSourceChanged(size_t path, uint32_t spi, const SockAddr& from) {
  for (Slot& s : slots_) {
    if (s.path != path) continue;
    // The data plane also reports an SA's first packet: only a new endpoint counts.
    if (s.inSpis.count(spi) != 0 && from.toString() != s.remote.toString()) {
      s.remote = from;
      dp_.setPathRemote(path, from);
      ++endpointUpdates_;
      BRAID_LOG(kInfo, "ike") << "remote access: client " << s.client << " (" << s.name
                              << ") now at " << from.toString();
    }
    return true;
  }
  return false;
}

void RoadWarriors::formatStats(std::ostream& os) const {
  os << "ike.remote_access.clients " << clients() << '\n';
  os << "ike.remote_access.no_free_slot " << noFreeSlot_ << '\n';
  os << "ike.remote_access.endpoint_updates " << endpointUpdates_ << '\n';
  for (size_t si = 0; si < core_.size(); ++si) {
    for (const auto& pool : core_[si]->pools) {
      const std::string base = "ike.remote_access." + cfg_.remoteAccess[si].name + ".pool." +
                               pool->range().toString() + ".";
      os << base << "size " << pool->size() << '\n';
      os << base << "online " << pool->online() << '\n';
      os << base << "offline " << pool->offline() << '\n';
    }
  }
}

void RoadWarriors::appendRoutes(std::vector<PeerSpec>& specs) const {
  for (const Slot& s : slots_) {
    specs.push_back(PeerSpec{s.name, s.outSpi != 0 ? s.vips : std::vector<IpPrefix>{}, {s.path}});
  }
}

size_t RoadWarriors::clients() const {
  std::set<std::string> c;
  for (const Slot& s : slots_) {
    if (!s.client.empty()) c.insert(s.client);
  }
  return c.size();
}

size_t RoadWarriors::slotsInUse() const {
  size_t n = 0;
  for (const Slot& s : slots_) n += !s.client.empty();
  return n;
}

}  // namespace braid::edge
