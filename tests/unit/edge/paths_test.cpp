#include "edge/paths.hpp"

#include <gtest/gtest.h>

#include <vector>

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

}  // namespace
}  // namespace braid::edge
