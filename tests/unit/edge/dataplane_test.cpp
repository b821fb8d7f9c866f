// Two data planes in one process, joined over loopback UDP; a SOCK_SEQPACKET socketpair
// stands in for each TUN device. SAs are installed and removed while the threads run,
// through the same command API IKE will use.
#include "edge/dataplane.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <thread>

#include "dataplane_test_support.hpp"
#include "edge/uplink_socket.hpp"

namespace braid::edge {
namespace {

using namespace testing;

std::unique_ptr<DataPlane> makePlane(Site& self, const Site& other, const char* local,
                                     const char* remote) {
  DataPlaneOptions o;
  o.batchSize = 8;
  o.poolPackets = 64;
  o.localSubnets = {*IpPrefix::parse(local)};
  std::vector<PathSpec> paths = {
      {"peer/lo", 0, 0, SockAddr::from(*IpAddress::parse("127.0.0.1"), other.port)}};
  std::vector<PeerSpec> peers = {{"peer", {*IpPrefix::parse(remote)}, {0}}};
  return std::make_unique<DataPlane>(o, self.tun[0], std::vector<int>{self.udp.fd()}, paths, peers);
}

TEST(DataPlaneTest, SasInstalledAndRemovedAtRunTime) {
  Site a, b;
  openSite(a);
  openSite(b);
  auto pa = makePlane(a, b, "10.1.0.0/16", "10.2.0.0/16");
  auto pb = makePlane(b, a, "10.2.0.0/16", "10.1.0.0/16");
  pa->start();
  pb->start();

  // No SA yet: counted, not sent.
  auto pkt = udpPacket(1);
  ASSERT_EQ(::write(a.tun[1], pkt.data(), pkt.size()), ssize_t(pkt.size()));
  EXPECT_TRUE(eventually([&] { return pa->snapshot().tx.dropped(TxDrop::kNoSa) == 1; }));

  pa->installOutbound(0, ipsec::EspOutboundSa::create(saConfig(0x1001, 1)).value());
  pb->installInbound(0, ipsec::EspInboundSa::create(saConfig(0x1001, 1)).value());
  pb->snapshot();  // returns once B's thread has applied its commands
  pa->snapshot();
  pkt = udpPacket(2);
  ASSERT_EQ(::write(a.tun[1], pkt.data(), pkt.size()), ssize_t(pkt.size()));
  EXPECT_EQ(readTun(b.tun[1], 10000), pkt);

  // A destination no peer routes.
  auto stray = udpPacket(3);
  stray[16] = 192;
  ASSERT_EQ(::write(a.tun[1], stray.data(), stray.size()), ssize_t(stray.size()));
  EXPECT_TRUE(eventually([&] { return pa->snapshot().tx.dropped(TxDrop::kNoRoute) == 1; }));

  // Inbound SA removed: the next packet is an unknown SPI at B.
  pb->removeInbound(0x1001);
  pb->snapshot();
  ASSERT_EQ(::write(a.tun[1], pkt.data(), pkt.size()), ssize_t(pkt.size()));
  EXPECT_TRUE(
      eventually([&] { return pb->snapshot().inboundTable.drop(ipsec::EspDrop::kBadSpi) == 1; }));
  EXPECT_TRUE(readTun(b.tun[1], 100).empty());

  // Re-installed (as a rekey would): traffic flows again, counters per SA.
  pb->installInbound(0, ipsec::EspInboundSa::create(saConfig(0x1001, 1)).value());
  pb->snapshot();
  pkt = udpPacket(4);
  ASSERT_EQ(::write(a.tun[1], pkt.data(), pkt.size()), ssize_t(pkt.size()));
  EXPECT_EQ(readTun(b.tun[1], 10000), pkt);
  DataPlaneStats sa = pa->snapshot();
  ASSERT_EQ(sa.sas.size(), 1u);
  EXPECT_EQ(sa.sas[0].esp.packetsSealed, 3u);
  EXPECT_EQ(sa.tx.sealed, 3u);
  DataPlaneStats sb = pb->snapshot();
  EXPECT_EQ(sb.rx.opened, 2u);
  EXPECT_NE(formatStats(sb).find("rx.drop.esp_bad_spi 1\n"), std::string::npos);

  // Outbound SA removed on A: back to "no SA".
  pa->removeOutbound(0);
  pa->snapshot();  // applied before the packet is written (the earlier steps sync the same way)
  ASSERT_EQ(::write(a.tun[1], pkt.data(), pkt.size()), ssize_t(pkt.size()));
  EXPECT_TRUE(eventually([&] { return pa->snapshot().tx.dropped(TxDrop::kNoSa) == 2; }));
  pa->stop();
  pb->stop();
}

// Manual keying ([state]): the TX thread seals only up to the reserved limit, asks once for
// more when the SA reaches `requestAt`, drops beyond the limit as seq_reserve (never sends an
// unreserved number), and resumes above it once the next limit arrives.
TEST(DataPlaneTest, SequenceLimitDropsAndAsksForMore) {
  Site a, b;
  openSite(a);
  openSite(b);
  auto pa = makePlane(a, b, "10.1.0.0/16", "10.2.0.0/16");
  auto pb = makePlane(b, a, "10.2.0.0/16", "10.1.0.0/16");
  std::atomic<int> asks{0};
  std::atomic<uint64_t> askedAt{0};
  pa->setSeqReserveHandler([&](size_t path, uint64_t last) {
    EXPECT_EQ(path, 0u);
    askedAt = last;
    ++asks;
  });
  auto out = ipsec::EspOutboundSa::create(saConfig(0x1001, 1)).value();
  out->setLastSequence(100);  // a restart: continue after the old mark
  out->setSequenceLimit(103);
  pa->installOutbound(0, std::move(out));
  pa->setSequenceLimit(0, 103, 102);
  pb->installInbound(0, ipsec::EspInboundSa::create(saConfig(0x1001, 1)).value());
  pa->start();
  pb->start();
  pa->snapshot();
  pb->snapshot();

  for (uint8_t i = 1; i <= 3; ++i) {  // 101, 102, 103
    auto pkt = udpPacket(i);
    ASSERT_EQ(::write(a.tun[1], pkt.data(), pkt.size()), ssize_t(pkt.size()));
    EXPECT_EQ(readTun(b.tun[1], 10000), pkt);
  }
  auto pkt = udpPacket(4);  // 104 is not reserved
  ASSERT_EQ(::write(a.tun[1], pkt.data(), pkt.size()), ssize_t(pkt.size()));
  EXPECT_TRUE(eventually([&] { return pa->snapshot().tx.dropped(TxDrop::kSeqReserve) == 1; }));
  EXPECT_TRUE(readTun(b.tun[1], 100).empty());
  EXPECT_EQ(asks.load(), 1);
  EXPECT_GE(askedAt.load(), 102u);

  pa->setSequenceLimit(0, 200, 150);  // the next block is on disk
  pkt = udpPacket(5);
  ASSERT_EQ(::write(a.tun[1], pkt.data(), pkt.size()), ssize_t(pkt.size()));
  EXPECT_EQ(readTun(b.tun[1], 10000), pkt);
  DataPlaneStats st = pa->snapshot();
  ASSERT_EQ(st.sas.size(), 1u);
  EXPECT_EQ(st.sas[0].esp.packetsSealed, 4u);
  EXPECT_EQ(st.sas[0].esp.sequenceExhausted, 0u);
  EXPECT_NE(formatStats(st).find("tx.drop.seq_reserve 1\n"), std::string::npos);
  EXPECT_EQ(asks.load(), 1);  // not again before 150
  EXPECT_EQ(pb->snapshot().rx.opened, 4u);
  pa->stop();
  pb->stop();
}

TEST(DataPlaneTest, KeepaliveAndIkeHook) {
  Site a, b;
  openSite(a);
  openSite(b);
  auto pb = makePlane(b, a, "10.2.0.0/16", "10.1.0.0/16");
  std::atomic<size_t> ikeBytes{0};
  pb->setIkeHandler([&](size_t uplink, const SockAddr&, Bytes msg) {
    EXPECT_EQ(uplink, 0u);
    ikeBytes = msg.size();
  });
  pb->start();
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(b.port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const uint8_t keepalive = 0xff;
  ASSERT_EQ(::sendto(a.udp.fd(), &keepalive, 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 1);
  std::vector<uint8_t> ike(4 + 28, 0);  // non-ESP marker + IKE header
  ike[4] = 1;
  ASSERT_EQ(
      ::sendto(a.udp.fd(), ike.data(), ike.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
      ssize_t(ike.size()));
  EXPECT_TRUE(eventually([&] {
    auto s = pb->snapshot();
    return s.rx.keepalives == 1 && s.rx.ikeMessages == 1;
  }));
  EXPECT_EQ(ikeBytes.load(), 28u);
  pb->stop();
}

// IPv6 inner packets over an IPv6 uplink ([::1]): sealed, sent, opened and delivered; the
// policy check applies to IPv6 sources; link-scope multicast (the kernel's MLD reports on a
// TUN) is never sent and not counted as a routing miss (RFC 4291 2.7).
std::vector<uint8_t> udp6Packet(uint8_t srcNet, uint8_t dstNet, uint8_t tag) {
  std::vector<uint8_t> p(40 + 8 + 20, tag);
  p[0] = 0x60;
  p[1] = p[2] = p[3] = 0;
  storeBe16(&p[4], uint16_t(p.size() - 40));
  p[6] = 17;
  p[7] = 64;
  std::memset(&p[8], 0, 32);
  p[8] = 0xfd;
  p[11] = srcNet;
  p[23] = 2;
  p[24] = 0xfd;
  p[27] = dstNet;
  p[39] = 3;
  return p;
}

TEST(DataPlaneTest, Ipv6InnerOverIpv6Uplink) {
  Site a, b;
  for (Site* s : {&a, &b}) {
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, s->tun), 0);
    ASSERT_EQ(::fcntl(s->tun[0], F_SETFL, O_NONBLOCK), 0);
    auto u = UplinkSocket::open(*IpAddress::parse("::1"), 0, 1 << 20);
    if (!u.isOk()) GTEST_SKIP() << "no IPv6 loopback: " << u.status().message();
    s->udp = std::move(*u);
    sockaddr_in6 sa{};
    socklen_t len = sizeof sa;
    ASSERT_EQ(::getsockname(s->udp.fd(), reinterpret_cast<sockaddr*>(&sa), &len), 0);
    s->port = ntohs(sa.sin6_port);
  }
  auto plane = [](Site& self, const Site& other, const char* local, const char* remote) {
    DataPlaneOptions o;
    o.batchSize = 8;
    o.poolPackets = 64;
    o.mtu = 1418;
    o.localSubnets = {*IpPrefix::parse(local)};
    std::vector<PathSpec> paths = {
        {"peer/lo6", 0, 0, SockAddr::from(*IpAddress::parse("::1"), other.port)}};
    std::vector<PeerSpec> peers = {{"peer", {*IpPrefix::parse(remote)}, {0}}};
    return std::make_unique<DataPlane>(o, self.tun[0], std::vector<int>{self.udp.fd()}, paths,
                                       peers);
  };
  auto pa = plane(a, b, "fd00:a::/64", "fd00:b::/64");
  auto pb = plane(b, a, "fd00:b::/64", "fd00:a::/64");
  pa->installOutbound(0, ipsec::EspOutboundSa::create(saConfig(0x1001, 1)).value());
  pb->installInbound(0, ipsec::EspInboundSa::create(saConfig(0x1001, 1)).value());
  pa->start();
  pb->start();

  auto pkt = udp6Packet(0x0a, 0x0b, 1);  // fd00:a::2 -> fd00:b::3
  ASSERT_EQ(::write(a.tun[1], pkt.data(), pkt.size()), ssize_t(pkt.size()));
  EXPECT_EQ(readTun(b.tun[1], 10000), pkt);

  auto mld = udp6Packet(0x0a, 0, 2);  // to ff02::16
  std::memset(&mld[24], 0, 16);
  mld[24] = 0xff;
  mld[25] = 0x02;
  mld[39] = 0x16;
  ASSERT_EQ(::write(a.tun[1], mld.data(), mld.size()), ssize_t(mld.size()));
  EXPECT_TRUE(eventually([&] { return pa->snapshot().tx.dropped(TxDrop::kLinkLocal) == 1; }));

  // A's TUN may send from outside fd00:a::/64 (it only routes by destination); B refuses it.
  auto spoofed = udp6Packet(0x0c, 0x0b, 3);
  ASSERT_EQ(::write(a.tun[1], spoofed.data(), spoofed.size()), ssize_t(spoofed.size()));
  EXPECT_TRUE(eventually([&] { return pb->snapshot().rx.dropped(RxDrop::kPolicy) == 1; }));
  EXPECT_TRUE(readTun(b.tun[1], 100).empty());

  DataPlaneStats sa = pa->snapshot();
  EXPECT_EQ(sa.tx.sealed, 2u);
  EXPECT_EQ(sa.tx.dropped(TxDrop::kNoRoute), 0u);
  EXPECT_NE(formatStats(sa).find("tx.drop.link_local 1\n"), std::string::npos);
  EXPECT_EQ(pb->snapshot().rx.opened, 1u);
  pa->stop();
  pb->stop();
}

}  // namespace
}  // namespace braid::edge
