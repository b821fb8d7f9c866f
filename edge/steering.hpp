// Steering: the TX thread's path choice for each outbound packet. Routes the inner
// destination to a peer (the peer's remote subnets, from the config or IKE's traffic
// selectors), then asks that peer's policy::Engine which of its paths carry the packet,
// using the path views the control thread publishes (pathmon state and figures) and the
// TX thread's own knowledge of which paths have an outbound SA.
// No I/O and no allocation per packet; owned by one thread. Routes, views and SAs change
// between batches (TxWorker commands), never during a decision.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/clock.hpp"
#include "edge/config.hpp"
#include "edge/paths.hpp"
#include "policy/engine.hpp"
#include "policy/shim.hpp"

namespace braid::edge {

struct SteeringCounters {
  uint64_t noRoute = 0;
  uint64_t noPath = 0;
};

// A road-warrior client's peer (edge/remote_access.hpp) has one path, so its flow table
// only keeps flows' classes: a small one (a site peer's default of 65536 flows takes 6.2 MB,
// which max_clients slots would multiply; docs/performance.md "Remote access scale").
inline constexpr size_t kClientMaxFlows = 256;

class Steering {
 public:
  Steering(const MultipathConfig& config, const std::vector<PeerSpec>& peers,
           const std::vector<PathSpec>& paths);

  // The peers' remote subnets (routes published by IKE or the config); engines keep state.
  void setRoutes(const std::vector<PeerSpec>& peers);
  // A new policy (SIGHUP): every engine reloads (policy::Engine::reload keeps the flows
  // whose class and path stay valid). Allocates: a command, not the data path.
  void reload(const MultipathConfig& config);
  // Path figures from the control thread (index = path id); `keyed` is ignored here: the
  // TX thread's own SA state (setKeyed) is what counts.
  void setViews(const std::vector<policy::PathView>& views);
  void setKeyed(size_t path, bool keyed);
  // The path's peer speaks the braid shim (negotiated in IKE_AUTH, or manual keys).
  void setShim(size_t path, bool on);
  bool shim(size_t path) const { return path < shim_.size() && shim_[path] != 0; }

  struct Choice {
    policy::Decision decision;
    size_t peer = 0;
    // Shim data header for this packet (duplicated to shim paths, or FEC-protected).
    bool withHeader = false;
    policy::ShimDataHeader header;  // with FEC: header.k = group size, group/index to fill
    size_t parityPath = 0;          // FEC: where the group's parity goes
  };
  // false: no peer routes the destination (kNoRoute). Otherwise `out.decision.ok()` says
  // whether a path was found.
  bool choose(const uint8_t* ip, size_t len, TimePoint now, Choice& out);

  // Some path of the peer has an outbound SA ("no path" vs "no SA" when nothing is chosen).
  bool peerKeyed(size_t peer) const;
  size_t classCount(size_t peer) const { return peers_[peer].nextSeq.size(); }

  void expireFlows(TimePoint now) {
    for (auto& p : peers_) p.engine->expireFlows(now, 256);
  }
  const policy::Engine& engine(size_t peer) const { return *peers_[peer].engine; }
  policy::Priority priority(size_t peer, policy::ClassId cls) const {
    return peers_[peer].engine->classPolicy(cls).priority;
  }
  size_t peerCount() const { return peers_.size(); }
  // Flows pinned to `path` now (every peer's flow table). When the path turns unusable,
  // each of them moves at its next packet: the failover log line counts them.
  size_t flowsOn(size_t path) const;

 private:
  struct Peer {
    std::unique_ptr<policy::Engine> engine;
    std::vector<size_t> paths;            // global path ids, config order
    std::vector<policy::PathView> views;  // same order
    std::vector<uint32_t> nextSeq;        // per class: shim sequence numbers
  };
  // A usable shim path of the peer other than `not_`, lowest RTT first; `not_` if none.
  size_t otherShimPath(const Peer& p, size_t not_) const;

  RouteSelector routes_;
  std::vector<PeerSpec> peerSpecs_;
  std::vector<PathSpec> pathSpecs_;
  std::vector<Peer> peers_;
  std::vector<uint8_t> keyed_;
  std::vector<uint8_t> shim_;
  std::vector<std::pair<size_t, size_t>> where_;  // path -> (peer, index in its views)
};

// The engine configuration of one peer: classes with preferences resolved to its paths.
policy::EngineConfig engineConfigFor(const MultipathConfig& config, const PeerSpec& peer,
                                     const std::vector<PathSpec>& paths);

}  // namespace braid::edge
