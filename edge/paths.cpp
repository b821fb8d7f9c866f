#include "edge/paths.hpp"

#include <cstring>

namespace braid::edge {

PrefixSet::PrefixSet(const std::vector<IpPrefix>& prefixes) {
  for (const IpPrefix& p : prefixes) {
    if (p.family() == IpFamily::kV4) {
      uint32_t mask = p.length() == 0 ? 0 : ~uint32_t{0} << (32 - p.length());
      v4_.push_back({p.address().v4HostOrder() & mask, mask});
    } else {
      v6_.push_back(p);
    }
  }
}

bool PrefixSet::containsV4(uint32_t a) const {
  for (const V4& p : v4_) {
    if ((a & p.mask) == p.net) return true;
  }
  return false;
}

bool PrefixSet::containsV6(const uint8_t* addr16) const {
  if (v6_.empty()) return false;
  IpAddress a = IpAddress::v6(Bytes(addr16, 16));
  for (const IpPrefix& p : v6_) {
    if (p.contains(a)) return true;
  }
  return false;
}

bool PrefixSet::contains(const uint8_t* ip, size_t len, bool dst) const {
  if ((ip[0] >> 4) == 4) {
    if (len < 20) return false;
    return containsV4(loadBe32(ip + (dst ? 16 : 12)));
  }
  if (len < 40) return false;
  return containsV6(ip + (dst ? 24 : 8));
}

RouteSelector::RouteSelector(const std::vector<PeerSpec>& peers) {
  for (size_t i = 0; i < peers.size(); ++i) {
    std::vector<IpPrefix> others;
    for (const IpPrefix& p : peers[i].remoteSubnets) {
      if (p.family() == IpFamily::kV4 && p.length() == 32) {
        hosts4_.emplace(p.address().v4HostOrder(), uint32_t(i));
      } else {
        others.push_back(p);
      }
    }
    if (!others.empty()) scan_.push_back(i);
    peers_.push_back({PrefixSet(others), peers[i].paths});
  }
}

int RouteSelector::select(const uint8_t* ip, size_t len, std::span<const uint8_t> ready) {
  const int i = peerOf(ip, len);
  if (i < 0) return -1;
  const Peer& peer = peers_[size_t(i)];
  for (size_t path : peer.paths) {
    if (path < ready.size() && ready[path]) return static_cast<int>(path);
  }
  // Routed but no keyed path: report the first so the caller counts "no SA".
  return peer.paths.empty() ? -1 : static_cast<int>(peer.paths.front());
}

int RouteSelector::peerOf(const uint8_t* ip, size_t len) {
  // Remote subnets of different peers are disjoint (validated), so the first match is the
  // only match: a host route, else a scan that tries the last peer first.
  if (!hosts4_.empty() && (ip[0] >> 4) == 4 && len >= 20) {
    if (auto it = hosts4_.find(loadBe32(ip + 16)); it != hosts4_.end()) {
      return static_cast<int>(it->second);
    }
  }
  const size_t n = scan_.size();
  for (size_t k = 0; k < n; ++k) {
    const size_t j = (lastScan_ + k) % n;
    if (!peers_[scan_[j]].subnets.contains(ip, len, true)) continue;
    lastScan_ = j;
    return static_cast<int>(scan_[j]);
  }
  return -1;
}

}  // namespace braid::edge
