// The data plane enforces the protocol and ports of a Child SA's traffic selectors (RFC 4301
// 5.1 outbound, 5.2 inbound): two sites in one process (socketpair "TUN"s, loopback UDP),
// site B's inbound SA restricted to TCP port 5201, then site A's outbound SA too.
#include <gtest/gtest.h>

#include "dataplane_test_support.hpp"
#include "edge/ts_match.hpp"

namespace braid::edge {
namespace {

using testing::eventually;
using testing::openSite;
using testing::readTun;
using testing::saConfig;
using testing::Site;

std::vector<uint8_t> packet(uint8_t proto, uint16_t sport, uint16_t dport, uint8_t tag) {
  std::vector<uint8_t> p(60, tag);
  p[0] = 0x45;
  storeBe16(&p[2], uint16_t(p.size()));
  storeBe16(&p[6], 0);
  p[8] = 64;
  p[9] = proto;
  const uint8_t src[4] = {10, 1, 0, 1}, dst[4] = {10, 2, 0, 1};
  std::memcpy(&p[12], src, 4);
  std::memcpy(&p[16], dst, 4);
  storeBe16(&p[20], sport);
  storeBe16(&p[22], dport);
  return p;
}

std::unique_ptr<DataPlane> plane(Site& self, const Site& other, const char* local,
                                 const char* remote) {
  DataPlaneOptions o;
  o.batchSize = 8;
  o.poolPackets = 64;
  o.mtu = 1400;
  o.localSubnets = {*IpPrefix::parse(local)};
  std::vector<PathSpec> paths = {
      {"peer/lo", 0, 0, SockAddr::from(*IpAddress::parse("127.0.0.1"), other.port)}};
  std::vector<PeerSpec> peers = {{"peer", {*IpPrefix::parse(remote)}, {0}}};
  return std::make_unique<DataPlane>(o, self.tun[0], std::vector<int>{self.udp.fd()}, paths, peers);
}

ike::TrafficSelector ts(const char* prefix, uint8_t proto, uint16_t lo, uint16_t hi) {
  return ike::TrafficSelector::fromPrefix(*IpPrefix::parse(prefix), proto, lo, hi);
}

TEST(SelectorDataPlaneTest, PortSelectorsDropOtherTrafficBothWays) {
  Site a, b;
  openSite(a);
  openSite(b);
  auto pa = plane(a, b, "10.1.0.0/16", "10.2.0.0/16");
  auto pb = plane(b, a, "10.2.0.0/16", "10.1.0.0/16");
  // B's view: remote (A's side) TCP any port, local TCP port 5201 only.
  auto selB =
      SelectorMatcher::from({ts("10.1.0.0/16", 6, 0, 65535)}, {ts("10.2.0.0/16", 6, 5201, 5201)});
  ASSERT_NE(selB, nullptr);
  // A sends without selectors first, so that B's inbound check is what drops.
  pa->installOutbound(0, ipsec::EspOutboundSa::create(saConfig(0x2001, 3)).value());
  pb->installInbound(0, ipsec::EspInboundSa::create(saConfig(0x2001, 3)).value(),
                     {*IpPrefix::parse("10.1.0.0/16")}, {*IpPrefix::parse("10.2.0.0/16")}, selB);
  pa->start();
  pb->start();

  auto tcp = packet(6, 40000, 5201, 1);
  ASSERT_EQ(::write(a.tun[1], tcp.data(), tcp.size()), ssize_t(tcp.size()));
  EXPECT_EQ(readTun(b.tun[1], 10000), tcp);
  for (auto p : {packet(17, 40000, 5201, 2), packet(6, 40000, 5202, 3), packet(1, 0x0800, 0, 4)}) {
    ASSERT_EQ(::write(a.tun[1], p.data(), p.size()), ssize_t(p.size()));
  }
  EXPECT_TRUE(eventually([&] { return pb->snapshot().rx.dropped(RxDrop::kSelector) == 3; }));
  EXPECT_TRUE(readTun(b.tun[1], 100).empty());
  EXPECT_EQ(pb->snapshot().rx.dropped(RxDrop::kPolicy), 0u);  // addresses were fine

  // Now A's outbound SA carries the selectors from its side: the same three never leave A.
  auto selA =
      SelectorMatcher::from({ts("10.2.0.0/16", 6, 5201, 5201)}, {ts("10.1.0.0/16", 6, 0, 65535)});
  pa->installOutbound(0, ipsec::EspOutboundSa::create(saConfig(0x2002, 5)).value(), selA);
  pb->installInbound(0, ipsec::EspInboundSa::create(saConfig(0x2002, 5)).value(),
                     {*IpPrefix::parse("10.1.0.0/16")}, {*IpPrefix::parse("10.2.0.0/16")}, selB);
  for (auto p : {packet(17, 40000, 5201, 5), packet(6, 40000, 5202, 6), packet(1, 0x0800, 0, 7)}) {
    ASSERT_EQ(::write(a.tun[1], p.data(), p.size()), ssize_t(p.size()));
  }
  EXPECT_TRUE(eventually([&] { return pa->snapshot().tx.dropped(TxDrop::kSelector) == 3; }));
  auto tcp2 = packet(6, 40001, 5201, 8);
  ASSERT_EQ(::write(a.tun[1], tcp2.data(), tcp2.size()), ssize_t(tcp2.size()));
  EXPECT_EQ(readTun(b.tun[1], 10000), tcp2);
  DataPlaneStats sa = pa->snapshot();
  EXPECT_EQ(sa.tx.sealed, 5u);  // 1 + 3 before, 1 after
  EXPECT_NE(formatStats(sa).find("tx.drop.selector 3\n"), std::string::npos);
  EXPECT_EQ(pb->snapshot().rx.dropped(RxDrop::kSelector), 3u);
  pa->stop();
  pb->stop();
}

}  // namespace
}  // namespace braid::edge
