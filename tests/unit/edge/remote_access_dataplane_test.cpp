// Road-warrior slots in the data plane: a client's inbound SA carries its virtual IP as the
// remote selector, so a packet it sends from another address (another client's VIP) is
// dropped and counted (rx.drop.policy, RFC 4301 5.2); the gateway routes each VIP to its
// client's slot only.
#include <gtest/gtest.h>

#include <cstring>

#include "tests/unit/edge/dataplane_test_support.hpp"

namespace braid::edge {
namespace {

using testing::eventually;
using testing::openSite;
using testing::readTun;
using testing::saConfig;
using testing::Site;

std::vector<uint8_t> ipv4(const char* src, const char* dst, uint8_t tag) {
  std::vector<uint8_t> p(60, tag);
  p[0] = 0x45;
  storeBe16(&p[2], uint16_t(p.size()));
  p[8] = 64;
  p[9] = 17;
  std::memcpy(&p[12], IpAddress::parse(src)->bytes().data(), 4);
  std::memcpy(&p[16], IpAddress::parse(dst)->bytes().data(), 4);
  return p;
}

SockAddr loopback(uint16_t port) {
  return SockAddr::from(*IpAddress::parse("127.0.0.1"), port);
}

TEST(RemoteAccessDataPlaneTest, ClientCannotSpoofAnotherVirtualIp) {
  Site gw, client;
  openSite(gw);
  openSite(client);
  // The gateway: two client slots (each its own path and peer), no route until keyed.
  DataPlaneOptions o;
  o.batchSize = 8;
  o.poolPackets = 64;
  o.localSubnets = {*IpPrefix::parse("10.2.0.0/16")};
  std::vector<PathSpec> paths = {{"staff#0/lo", 0, 0, SockAddr{}},
                                 {"staff#1/lo", 1, 0, SockAddr{}}};
  std::vector<PeerSpec> peers = {{"staff#0/lo", {}, {0}}, {"staff#1/lo", {}, {1}}};
  DataPlane g(o, gw.tun[0], {gw.udp.fd()}, paths, peers);
  // The client: one path to the gateway, the allowed subnet behind it.
  DataPlaneOptions co = o;
  co.localSubnets = {*IpPrefix::parse("10.90.0.1/32")};
  DataPlane c(co, client.tun[0], {client.udp.fd()}, {{"gw/lo", 0, 0, loopback(gw.port)}},
              {{"gw", {*IpPrefix::parse("10.2.0.0/16")}, {0}}});
  // Slot 0 is the client with virtual IP 10.90.0.1 (selectors as IKE narrowed them).
  g.setPathRemote(0, loopback(client.port));
  g.installInbound(0, ipsec::EspInboundSa::create(saConfig(0x2001, 3)).value(),
                   {*IpPrefix::parse("10.90.0.1/32")}, {*IpPrefix::parse("10.2.0.0/16")});
  g.installOutbound(0, ipsec::EspOutboundSa::create(saConfig(0x3001, 4)).value());
  g.setRoutes({{"staff#0/lo", {*IpPrefix::parse("10.90.0.1/32")}, {0}}, {"staff#1/lo", {}, {1}}});
  c.installOutbound(0, ipsec::EspOutboundSa::create(saConfig(0x2001, 3)).value());
  c.installInbound(0, ipsec::EspInboundSa::create(saConfig(0x3001, 4)).value());
  g.start();
  c.start();

  auto good = ipv4("10.90.0.1", "10.2.0.1", 1);
  ASSERT_EQ(::write(client.tun[1], good.data(), good.size()), ssize_t(good.size()));
  EXPECT_EQ(readTun(gw.tun[1], 10000), good);

  // From another client's address, through this client's SA: dropped and counted.
  auto spoofed = ipv4("10.90.0.2", "10.2.0.1", 2);
  ASSERT_EQ(::write(client.tun[1], spoofed.data(), spoofed.size()), ssize_t(spoofed.size()));
  EXPECT_TRUE(eventually([&] { return g.snapshot().rx.dropped(RxDrop::kPolicy) == 1; }));
  EXPECT_TRUE(readTun(gw.tun[1], 100).empty());

  // Gateway -> client by the VIP's route; the other VIP has no route yet.
  auto back = ipv4("10.2.0.1", "10.90.0.1", 3);
  ASSERT_EQ(::write(gw.tun[1], back.data(), back.size()), ssize_t(back.size()));
  EXPECT_EQ(readTun(client.tun[1], 10000), back);
  auto other = ipv4("10.2.0.1", "10.90.0.2", 4);
  ASSERT_EQ(::write(gw.tun[1], other.data(), other.size()), ssize_t(other.size()));
  EXPECT_TRUE(eventually([&] { return g.snapshot().tx.dropped(TxDrop::kNoRoute) == 1; }));
  EXPECT_TRUE(readTun(client.tun[1], 100).empty());
  EXPECT_EQ(g.snapshot().rx.opened, 1u);  // the spoofed packet is not counted as opened
  g.stop();
  c.stop();
}

}  // namespace
}  // namespace braid::edge
