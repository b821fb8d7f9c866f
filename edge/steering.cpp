#include "edge/steering.hpp"

#include <algorithm>
#include <random>

namespace braid::edge {

policy::EngineConfig engineConfigFor(const MultipathConfig& config, const PeerSpec& peer,
                                     const std::vector<PathSpec>& paths) {
  policy::EngineConfig e = config.engine;
  const bool client =
      !peer.paths.empty() && std::all_of(peer.paths.begin(), peer.paths.end(), [&](size_t i) {
        return i < paths.size() && paths[i].remoteAccess;
      });
  if (client) e.maxFlows = std::min(e.maxFlows, kClientMaxFlows);
  e.rules = config.rules;
  e.classes.clear();
  for (const ClassConfig& cc : config.classes) {
    policy::ClassPolicy cp = cc.policy;
    cp.preferred.clear();
    if (cc.pathOrder) {
      for (size_t path : peer.paths) cp.preferred.push_back(policy::PathId(path));
    }
    for (size_t uplink : cc.preferUplinks) {
      for (size_t path : peer.paths) {
        if (paths[path].uplink == uplink) cp.preferred.push_back(policy::PathId(path));
      }
    }
    e.classes.push_back(std::move(cp));
  }
  return e;
}

namespace {
// A random start per class: after a restart (or a reload) the receiver sees numbers far
// from the old ones and starts its dedup window over (rx_worker.cpp) instead of dropping.
std::vector<uint32_t> randomStarts(size_t classes) {
  std::random_device rd;
  std::vector<uint32_t> out(classes);
  for (uint32_t& s : out) s = uint32_t(rd());
  return out;
}
}  // namespace

Steering::Steering(const MultipathConfig& config, const std::vector<PeerSpec>& peers,
                   const std::vector<PathSpec>& paths)
    : routes_(peers),
      peerSpecs_(peers),
      pathSpecs_(paths),
      keyed_(paths.size(), 0),
      shim_(paths.size(), 0),
      where_(paths.size()) {
  for (size_t pi = 0; pi < peers.size(); ++pi) {
    Peer p;
    p.engine = std::make_unique<policy::Engine>(engineConfigFor(config, peers[pi], paths));
    p.paths = peers[pi].paths;
    for (size_t k = 0; k < p.paths.size(); ++k) {
      policy::PathView v;
      v.id = policy::PathId(p.paths[k]);
      // Until the path monitor publishes views, a keyed path is usable (data-plane tests,
      // and the first packets before the control thread's first publication).
      v.health = policy::PathHealth::kUp;
      p.views.push_back(v);
      where_[p.paths[k]] = {pi, k};
    }
    p.nextSeq = randomStarts(config.classes.size());
    peers_.push_back(std::move(p));
  }
}

void Steering::setRoutes(const std::vector<PeerSpec>& peers) {
  routes_ = RouteSelector(peers);
}

void Steering::reload(const MultipathConfig& config) {
  for (size_t pi = 0; pi < peers_.size(); ++pi) {
    Peer& p = peers_[pi];
    p.engine->reload(engineConfigFor(config, peerSpecs_[pi], pathSpecs_));
    // Class ids may have moved: numbering starts afresh (the receiver resyncs its windows).
    p.nextSeq = randomStarts(config.classes.size());
  }
}

void Steering::setViews(const std::vector<policy::PathView>& views) {
  for (const policy::PathView& v : views) {
    if (v.id >= where_.size()) continue;
    auto [pi, k] = where_[v.id];
    policy::PathView& mine = peers_[pi].views[k];
    mine = v;
    mine.keyed = keyed_[v.id] != 0;
  }
}

void Steering::setKeyed(size_t path, bool keyed) {
  if (path >= keyed_.size()) return;
  keyed_[path] = keyed;
  auto [pi, k] = where_[path];
  peers_[pi].views[k].keyed = keyed;
}

bool Steering::peerKeyed(size_t peer) const {
  for (size_t path : peers_[peer].paths) {
    if (keyed_[path]) return true;
  }
  return false;
}

size_t Steering::flowsOn(size_t path) const {
  size_t n = 0;
  for (const Peer& p : peers_) {
    p.engine->flows().forEach([&](const policy::FlowEntry& f) { n += f.path == path; });
  }
  return n;
}

void Steering::setShim(size_t path, bool on) {
  if (path < shim_.size()) shim_[path] = on;
}

bool Steering::choose(const uint8_t* ip, size_t len, TimePoint now, Choice& out) {
  const int peer = routes_.peerOf(ip, len);
  if (peer < 0) return false;
  Peer& p = peers_[size_t(peer)];
  FlowKey key = FlowKey::parse(Bytes(ip, len)).value_or(FlowKey{});
  policy::PacketMeta meta;
  // RFC 2474: DSCP is the high 6 bits of the IPv4 TOS / IPv6 traffic class.
  meta.dscp =
      (ip[0] >> 4) == 4 ? uint8_t(ip[1] >> 2) : uint8_t(((ip[0] & 0x0f) << 2) | (ip[1] >> 6));
  out.peer = size_t(peer);
  out.withHeader = false;
  policy::Decision& d = out.decision;
  d = p.engine->decide(key, now, p.views, meta);
  // A bonded class is sprayed per packet: the receiver restores its order by the shim
  // sequence number (edge/rx_reorder.hpp).
  const bool bonded = d.cause == policy::DecisionCause::kPerPacket;
  if (!d.ok() || (d.copyCount == 0 && d.fecK == 0 && !bonded)) return true;
  // Copies and FEC need the shim on every path they use: the receiver tells copies apart
  // only by the shim sequence number (each SA's own anti-replay window accepts its copy).
  if (!shim(d.primary)) {
    d.copyCount = 0;
    d.fecK = 0;
    return true;
  }
  uint8_t kept = 0;
  for (uint8_t i = 0; i < d.copyCount; ++i) {
    if (shim(d.copies[i])) d.copies[kept++] = d.copies[i];
  }
  for (uint8_t i = kept; i < d.copyCount; ++i) d.copies[i] = policy::kNoPath;
  d.copyCount = kept;
  if (kept == 0 && d.fecK == 0 && !bonded) return true;
  out.withHeader = true;
  out.header = policy::ShimDataHeader{};
  out.header.cls = d.cls;
  out.header.ordered = bonded;
  out.header.seq = d.cls < p.nextSeq.size() ? p.nextSeq[d.cls]++ : 0;
  if (d.fecK > 0) {
    out.header.fec = true;
    out.header.k = d.fecK;
    // The parity on another path when there is one: a loss burst on the primary then
    // cannot take a data packet and its parity together.
    out.parityPath = otherShimPath(p, d.primary);
  }
  return true;
}

size_t Steering::otherShimPath(const Peer& p, size_t not_) const {
  size_t best = not_;
  uint32_t bestRtt = UINT32_MAX;
  for (const policy::PathView& v : p.views) {
    if (v.id == not_ || !shim(v.id) || !policy::usable(v)) continue;
    if (v.rttUs < bestRtt) {
      best = v.id;
      bestRtt = v.rttUs;
    }
  }
  return best;
}

}  // namespace braid::edge
