#include "edge/paths.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "edge/dataplane.hpp"
#include "policy/reorder.hpp"

namespace braid::edge {
namespace {

std::vector<uint8_t> v4To(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  std::vector<uint8_t> p(20);
  p[0] = 0x45;
  p[16] = a;
  p[17] = b;
  p[18] = c;
  p[19] = d;
  return p;
}

TEST(RouteSelectorTest, PicksThePeerWhoseSubnetContainsTheDestination) {
  std::vector<PeerSpec> peers = {
      {"b", {*IpPrefix::parse("10.98.2.0/24")}, {0, 1}},
      {"c", {*IpPrefix::parse("10.97.0.0/16"), *IpPrefix::parse("fd00:c::/32")}, {2}},
  };
  RouteSelector sel(peers);
  std::vector<uint8_t> ready = {1, 1, 1};
  auto p = v4To(10, 98, 2, 7);
  EXPECT_EQ(sel.select(p.data(), p.size(), ready), 0);
  p = v4To(10, 97, 200, 1);
  EXPECT_EQ(sel.select(p.data(), p.size(), ready), 2);
  p = v4To(10, 96, 0, 1);
  EXPECT_EQ(sel.select(p.data(), p.size(), ready), -1);
  // First path of peer b has no SA: the next ready one is chosen.
  ready = {0, 1, 1};
  p = v4To(10, 98, 2, 7);
  EXPECT_EQ(sel.select(p.data(), p.size(), ready), 1);
  // None ready: still routed (the caller counts "no SA").
  ready = {0, 0, 1};
  EXPECT_EQ(sel.select(p.data(), p.size(), ready), 0);
  std::vector<uint8_t> v6(40);
  v6[0] = 0x60;
  v6[24] = 0xfd;
  v6[26] = 0x00;
  v6[27] = 0x0c;
  EXPECT_EQ(sel.select(v6.data(), v6.size(), ready), 2);
}

// Host routes (a thousand road-warrior clients' virtual IPs, one peer each) beside site
// subnets: the selector against a slow reference (every prefix of every peer in order) for
// addresses of both kinds and misses, with paths ready or not.
TEST(RouteSelectorTest, HostRoutesAndSubnetsMatchTheReference) {
  std::mt19937 rng(11);
  std::vector<PeerSpec> peers;
  std::vector<size_t> order(1000);
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  size_t path = 0;
  for (size_t i = 0; i < 1200; ++i) {
    PeerSpec p;
    p.name = "p" + std::to_string(i);
    if (i % 6 == 5) {  // a site: a /24 (10.1.x.0) and an IPv6 prefix
      const size_t site = i / 6;
      p.remoteSubnets = {*IpPrefix::parse("10.1." + std::to_string(site) + ".0/24"),
                         *IpPrefix::parse("fd00:" + std::to_string(site + 1) + "::/32")};
      p.paths = {path, path + 1};
      path += 2;
    } else {  // a client: its virtual IP in 10.90.0.0/16 (and now and then an IPv6 one)
      const size_t c = order[i - i / 6];
      p.remoteSubnets = {*IpPrefix::parse("10.90." + std::to_string(c / 250) + "." +
                                          std::to_string(c % 250 + 1) + "/32")};
      if (c % 7 == 0)
        p.remoteSubnets.push_back(*IpPrefix::parse("fd90::" + std::to_string(c + 1) + "/128"));
      p.paths = {path++};
    }
    peers.push_back(p);
  }
  std::vector<uint8_t> ready(path);
  for (auto& r : ready) r = rng() % 3 != 0;
  auto reference = [&](const IpAddress& dst) -> int {
    for (const PeerSpec& p : peers) {
      for (const IpPrefix& pre : p.remoteSubnets) {
        if (!pre.contains(dst)) continue;
        for (size_t q : p.paths) {
          if (ready[q]) return int(q);
        }
        return int(p.paths.front());
      }
    }
    return -1;
  };
  RouteSelector sel(peers);
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    switch (rng() % 4) {
      case 0:
      case 1:
        text = "10.90." + std::to_string(rng() % 5) + "." + std::to_string(rng() % 256);
        break;
      case 2:
        text = "10.1." + std::to_string(rng() % 210) + "." + std::to_string(rng() % 256);
        break;
      default:
        text = rng() % 2 ? "fd00:" + std::to_string(rng() % 210) + "::9"
                         : "fd90::" + std::to_string(rng() % 1100);
    }
    const IpAddress dst = *IpAddress::parse(text);
    std::vector<uint8_t> pkt;
    if (dst.isV4()) {
      pkt = v4To(dst.bytes()[0], dst.bytes()[1], dst.bytes()[2], dst.bytes()[3]);
    } else {
      pkt.assign(40, 0);
      pkt[0] = 0x60;
      std::copy(dst.bytes().begin(), dst.bytes().end(), pkt.begin() + 24);
    }
    ASSERT_EQ(sel.select(pkt.data(), pkt.size(), ready), reference(dst)) << text;
  }
}

TEST(PrefixSetTest, SourceAndDestination) {
  PrefixSet s({*IpPrefix::parse("10.98.1.0/24"), *IpPrefix::parse("0.0.0.0/0")});
  auto p = v4To(1, 2, 3, 4);
  EXPECT_TRUE(s.contains(p.data(), p.size(), true));
  PrefixSet only({*IpPrefix::parse("10.98.1.0/24")});
  EXPECT_FALSE(only.contains(p.data(), p.size(), true));
  p[12] = 10;
  p[13] = 98;
  p[14] = 1;
  EXPECT_TRUE(only.contains(p.data(), p.size(), false));
}

// The per-peer reorder holds against the slow reference they replaced (every view scanned
// for every peer), over random peers, paths in any order, health, RTT and jitter.
std::vector<Duration> slowReorderHolds(const std::vector<PathSpec>& paths,
                                       const std::vector<policy::PathView>& views) {
  size_t peers = 0;
  for (const PathSpec& p : paths) peers = std::max(peers, p.peer + 1);
  std::vector<Duration> holds(peers);
  const uint32_t spread = policy::ClassPolicy{}.bondMaxRttSpreadUs;
  for (size_t peer = 0; peer < peers; ++peer) {
    std::vector<policy::PathView> mine;
    uint32_t fastest = UINT32_MAX;
    for (const policy::PathView& v : views) {
      if (v.id >= paths.size() || paths[v.id].peer != peer || !policy::usable(v)) continue;
      mine.push_back(v);
      fastest = std::min(fastest, v.rttUs);
    }
    std::erase_if(mine, [&](const policy::PathView& v) { return v.rttUs > fastest + spread; });
    holds[peer] = policy::reorderHold(mine);
  }
  return holds;
}

TEST(PeerReorderHoldsTest, MatchesTheReferenceForAnyPeersAndViews) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    const size_t peers = 1 + rng() % 40;
    std::vector<PathSpec> paths;
    for (size_t i = 0, n = rng() % 120; i < n; ++i) {
      paths.push_back({"p" + std::to_string(i), rng() % peers, 0, {}});
    }
    std::vector<policy::PathView> views;
    for (size_t i = 0, n = rng() % 130; i < n; ++i) {
      policy::PathView v;
      v.id = policy::PathId(rng() % (paths.size() + 3));  // some beyond the table
      v.keyed = rng() % 4 != 0;
      v.health = policy::PathHealth(rng() % 3);
      v.rttUs = rng() % 300000;
      v.jitterUs = rng() % 20000;
      views.push_back(v);
    }
    ASSERT_EQ(peerReorderHolds(paths, views), slowReorderHolds(paths, views)) << round;
  }
  // One peer per path, as with max_clients road-warrior slots: each its own hold.
  std::vector<PathSpec> slots;
  std::vector<policy::PathView> views;
  for (size_t i = 0; i < 1000; ++i) {
    slots.push_back({"staff#" + std::to_string(i) + "/wan0", i, 0, {}, true});
    policy::PathView v;
    v.id = policy::PathId(999 - i);
    v.keyed = true;
    v.health = policy::PathHealth::kUp;
    v.jitterUs = uint32_t(999 - i);
    views.push_back(v);
  }
  const std::vector<Duration> holds = peerReorderHolds(slots, views);
  ASSERT_EQ(holds.size(), 1000u);
  EXPECT_EQ(holds[3], std::chrono::microseconds(3) + std::chrono::milliseconds(5));
  EXPECT_EQ(holds, slowReorderHolds(slots, views));
}

}  // namespace
}  // namespace braid::edge
