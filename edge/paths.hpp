// Paths and path selection. A path is one (uplink x peer) pair with its own outbound SA.
// The TX thread asks a PathSelector which path carries each packet; today's RouteSelector
// is "the peer whose remote subnets contain the destination, then its first ready path".
// Multipath policies (per-packet choice by SLA) will plug in as other selectors.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/bytes.hpp"
#include "core/ip.hpp"
#include "edge/uplink_socket.hpp"

namespace braid::edge {

struct PathSpec {
  std::string name;  // "peer/uplink", for logs and stats
  size_t peer = 0;
  size_t uplink = 0;
  SockAddr remote;
  bool remoteAccess = false;  // a road-warrior client's slot (edge/remote_access.hpp)
};

struct PeerSpec {
  std::string name;
  std::vector<IpPrefix> remoteSubnets;
  std::vector<size_t> paths;  // indices into the path table
};

// Matches addresses against a set of prefixes; IPv4 without building IpAddress objects.
class PrefixSet {
 public:
  PrefixSet() = default;
  explicit PrefixSet(const std::vector<IpPrefix>& prefixes);
  // `ip` is the inner packet; `dst` picks the destination (else the source) address.
  bool containsV4(uint32_t addrHostOrder) const;
  bool containsV6(const uint8_t* addr16) const;
  bool contains(const uint8_t* ip, size_t len, bool dst) const;

 private:
  struct V4 {
    uint32_t net, mask;
  };
  std::vector<V4> v4_;
  std::vector<IpPrefix> v6_;
};

class PathSelector {
 public:
  virtual ~PathSelector() = default;
  // Chooses the path for an inner IP packet (already checked to be IPv4 or IPv6 and long
  // enough for its header). `ready[i]` is non-zero when path i has an outbound SA.
  // Returns -1 when no peer routes the destination.
  virtual int select(const uint8_t* ip, size_t len, std::span<const uint8_t> ready) = 0;
};

class RouteSelector final : public PathSelector {
 public:
  explicit RouteSelector(const std::vector<PeerSpec>& peers);
  int select(const uint8_t* ip, size_t len, std::span<const uint8_t> ready) override;
  // The index of the peer whose remote subnets contain the destination, or -1.
  int peerOf(const uint8_t* ip, size_t len);

 private:
  struct Peer {
    PrefixSet subnets;  // without the IPv4 host routes (hosts4_)
    std::vector<size_t> paths;
  };
  std::vector<Peer> peers_;
  // IPv4 /32 routes (road-warrior clients' virtual IPs, one peer each): one hash lookup,
  // where a scan of a thousand clients' peers per packet would not scale.
  std::unordered_map<uint32_t, uint32_t> hosts4_;
  std::vector<size_t> scan_;  // the peers with other subnets, scanned in order
  size_t lastScan_ = 0;       // one-entry cache: bulk traffic goes to one peer at a time
};

}  // namespace braid::edge
