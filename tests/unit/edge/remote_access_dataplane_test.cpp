// Road-warrior slots in the data plane: a client's inbound SA carries its virtual IP as the
// remote selector, so a packet it sends from another address (another client's VIP) is
// dropped and counted (rx.drop.spoofed_source, RFC 4301 5.2); the gateway routes each VIP
// to its client's slot only.
#include <gtest/gtest.h>

#include <cstring>
#include <sstream>
#include <utility>

#include "edge/remote_access.hpp"
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
  std::vector<PathSpec> paths = {{"staff#0/lo", 0, 0, SockAddr{}, true},
                                 {"staff#1/lo", 1, 0, SockAddr{}, true}};
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
  g.snapshot();  // the SAs and routes above are applied before the first packet
  c.snapshot();

  auto good = ipv4("10.90.0.1", "10.2.0.1", 1);
  ASSERT_EQ(::write(client.tun[1], good.data(), good.size()), ssize_t(good.size()));
  EXPECT_EQ(readTun(gw.tun[1], 10000), good);

  // From another client's address, through this client's SA: dropped and counted.
  auto spoofed = ipv4("10.90.0.2", "10.2.0.1", 2);
  ASSERT_EQ(::write(client.tun[1], spoofed.data(), spoofed.size()), ssize_t(spoofed.size()));
  EXPECT_TRUE(eventually([&] { return g.snapshot().rx.dropped(RxDrop::kSpoofedSource) == 1; }));
  EXPECT_EQ(g.snapshot().rx.dropped(RxDrop::kPolicy), 0u);
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

// A datagram on a plain UDP socket within `ms` (the gateway's ESP to a client's endpoint).
bool datagramArrives(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, ms) != 1) return false;
  uint8_t buf[2048];
  return ::recv(fd, buf, sizeof buf, 0) > 0;
}

ike::ChildSaEvent clientSa(const char* vip, uint32_t in, uint32_t out, uint16_t port) {
  ike::ChildSaEvent e;
  e.peer = "staff";
  e.inbound = saConfig(in, 3);
  e.outbound = saConfig(out, 4);
  e.localTs = {ike::TrafficSelector::fromPrefix(*IpPrefix::parse("10.2.0.0/16"))};
  e.remoteTs = {ike::TrafficSelector::host(*IpAddress::parse(vip))};
  e.remote = ike::Endpoint{*IpAddress::parse("127.0.0.1"), port};
  return e;
}

// RoadWarriors as the IKE driver uses it: a slot per client, its route and endpoint, no slot
// left, ESP following a client's new NAT mapping, the slot freed when its SAs go.
TEST(RemoteAccessDataPlaneTest, SlotsRoutesAndEndpoints) {
  Config cfg;
  UplinkConfig lo;
  lo.name = "lo";
  lo.localAddress = *IpAddress::parse("127.0.0.1");
  cfg.uplinks.push_back(lo);
  RemoteAccessSection section;
  section.name = "staff";
  section.uplinks = {0};
  section.pools = {*IpPrefix::parse("10.90.0.0/24")};
  section.maxClients = 2;
  cfg.remoteAccess.push_back(section);
  Site gw, client, moved;
  openSite(gw);
  openSite(client);
  openSite(moved);
  std::vector<PathSpec> paths;
  std::vector<PeerSpec> peers;
  appendRemoteAccessSpecs(cfg, paths, peers);
  ASSERT_EQ(paths.size(), 2u);
  DataPlaneOptions o;
  o.batchSize = 8;
  o.poolPackets = 64;
  o.localSubnets = {*IpPrefix::parse("10.2.0.0/16")};
  DataPlane g(o, gw.tun[0], {gw.udp.fd()}, paths, peers);
  RoadWarriors ra(cfg, g, 0, 0);
  EXPECT_TRUE(ra.owns("staff"));
  EXPECT_FALSE(ra.owns("site-b"));
  auto esp = [](const ike::Endpoint& r) { return SockAddr::from(r.address, r.port); };
  std::vector<std::pair<size_t, bool>> keyed;
  auto keying = [&](size_t path, bool on) { keyed.emplace_back(path, on); };
  auto publish = [&] {
    std::vector<PeerSpec> specs;
    ra.appendRoutes(specs);
    g.setRoutes(specs);
    // The data threads apply posted commands between batches: make sure they did before the
    // next packet (a loaded CI machine once sent it first, to no route).
    g.snapshot();
  };
  g.start();

  const auto alice = clientSa("10.90.0.1", 0x2001, 0x3001, client.port);
  ASSERT_TRUE(ra.childSaUp(0, alice, esp, keying));
  ASSERT_TRUE(ra.childSaUp(0, clientSa("10.90.0.2", 0x2002, 0x3002, client.port), esp, keying));
  EXPECT_FALSE(ra.childSaUp(0, clientSa("10.90.0.3", 0x2003, 0x3003, client.port), esp, keying));
  EXPECT_EQ(ra.noFreeSlot(), 1u);
  EXPECT_EQ(ra.clients(), 2u);
  EXPECT_EQ(keyed, (std::vector<std::pair<size_t, bool>>{{0, true}, {1, true}}));
  publish();

  auto toAlice = ipv4("10.2.0.1", "10.90.0.1", 1);
  ASSERT_EQ(::write(gw.tun[1], toAlice.data(), toAlice.size()), ssize_t(toAlice.size()));
  EXPECT_TRUE(datagramArrives(client.udp.fd(), 10000));
  // Alice's NAT rebound: her authenticated ESP now comes from another port.
  EXPECT_TRUE(ra.espSourceChanged(0, 0x2001, loopback(moved.port)));
  EXPECT_FALSE(ra.espSourceChanged(7, 0x2001, loopback(moved.port)));  // not a slot
  g.snapshot();  // the new endpoint is applied before the next packet
  ASSERT_EQ(::write(gw.tun[1], toAlice.data(), toAlice.size()), ssize_t(toAlice.size()));
  EXPECT_TRUE(datagramArrives(moved.udp.fd(), 10000));
  EXPECT_FALSE(datagramArrives(client.udp.fd(), 100));

  // Alice's Child SA goes: her slot is free, her VIP unrouted; bob keeps his.
  ra.childSaDown(alice, keying);
  publish();
  EXPECT_EQ(ra.clients(), 1u);
  EXPECT_EQ(keyed.back(), (std::pair<size_t, bool>{0, false}));
  ASSERT_EQ(::write(gw.tun[1], toAlice.data(), toAlice.size()), ssize_t(toAlice.size()));
  EXPECT_TRUE(eventually([&] { return g.snapshot().tx.dropped(TxDrop::kNoRoute) == 1; }));
  std::ostringstream stats;
  ra.formatStats(stats);
  EXPECT_NE(stats.str().find("ike.remote_access.clients 1\n"), std::string::npos) << stats.str();
  EXPECT_NE(stats.str().find("ike.remote_access.no_free_slot 1\n"), std::string::npos);
  EXPECT_NE(stats.str().find("ike.remote_access.endpoint_updates 1\n"), std::string::npos);
  // A new client takes the free slot.
  ASSERT_TRUE(ra.childSaUp(0, clientSa("10.90.0.3", 0x2004, 0x3004, client.port), esp, keying));
  EXPECT_EQ(keyed.back(), (std::pair<size_t, bool>{0, true}));
  g.stop();
}

}  // namespace
}  // namespace braid::edge
