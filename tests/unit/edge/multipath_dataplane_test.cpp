// Multipath through two real data planes joined over loopback UDP, two uplinks each (two
// paths, one SA pair per path): per-class steering from the path views, failover when a
// view says a path is down, duplication with the shim and duplicate suppression at the
// receiver, shim probes handed to the probe hook, and "no SA" vs "no usable path".
#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <mutex>

#include "dataplane_test_support.hpp"
#include "edge/dataplane.hpp"
#include "pathmon/probe.hpp"
#include "policy/shim.hpp"

namespace braid::edge {
namespace {

using namespace testing;

struct TwoPathSite {
  Site s;  // TUN pair and uplink 0
  UplinkSocket second;
  uint16_t secondPort = 0;
};

void openTwoPathSite(TwoPathSite& t) {
  openSite(t.s);
  auto u = UplinkSocket::open(*IpAddress::parse("127.0.0.1"), 0, 1 << 20);
  ASSERT_TRUE(u.isOk());
  t.second = std::move(*u);
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(t.second.fd(), reinterpret_cast<sockaddr*>(&a), &len), 0);
  t.secondPort = ntohs(a.sin_port);
}

// Class "voice" (UDP to port 5060) duplicated always on both paths; everything else steered
// to path 0 first ("fiber"), path 1 ("broadband") second.
MultipathConfig policyConfig() {
  MultipathConfig m;
  ClassConfig voice;
  voice.policy.name = "voice";
  voice.policy.duplicate = policy::DuplicateWhen::kAlways;
  voice.policy.copies = 2;
  voice.preferUplinks = {0, 1};
  ClassConfig def;
  def.policy.name = "default";
  def.preferUplinks = {0, 1};
  // "video" (UDP to port 6000): XOR FEC always, groups of 2 (the densest).
  ClassConfig video;
  video.policy.name = "video";
  video.policy.fec = policy::FecWhen::kAlways;
  video.policy.fecLossThreshold = 0.5f;
  video.preferUplinks = {0, 1};
  // "bulk" (UDP to port 7000): bonded, sprayed per packet over both paths.
  ClassConfig bulk;
  bulk.policy.name = "bulk";
  bulk.policy.mode = policy::Mode::kBond;
  bulk.preferUplinks = {0, 1};
  m.classes = {voice, def, video, bulk};
  policy::Rule r;
  r.cls = 0;
  r.proto = kProtoUdp;
  r.dstPorts = {{5060, 5060}};
  policy::Rule v = r;
  v.cls = 2;
  v.dstPorts = {{6000, 6000}};
  policy::Rule k = r;
  k.cls = 3;
  k.dstPorts = {{7000, 7000}};
  m.rules = {r, v, k};
  m.engine.defaultClass = 1;
  return m;
}

// relayPort: path 1 goes through a test relay on that port instead of straight to `other`.
std::unique_ptr<DataPlane> makePlane(TwoPathSite& self, const TwoPathSite& other, const char* local,
                                     const char* remote, uint64_t shapeFiber = 0,
                                     uint16_t relayPort = 0) {
  DataPlaneOptions o;
  o.reorderHold = std::chrono::seconds(10);  // the bond test releases gaps by hand
  o.shapeBitsPerSecond = {shapeFiber, 0};
  o.batchSize = 8;
  o.poolPackets = 128;
  o.localSubnets = {*IpPrefix::parse(local)};
  o.multipath = policyConfig();
  const IpAddress lo = *IpAddress::parse("127.0.0.1");
  std::vector<PathSpec> paths = {
      {"peer/fiber", 0, 0, SockAddr::from(lo, other.s.port)},
      {"peer/broadband", 0, 1, SockAddr::from(lo, relayPort ? relayPort : other.secondPort)}};
  std::vector<PeerSpec> peers = {{"peer", {*IpPrefix::parse(remote)}, {0, 1}}};
  return std::make_unique<DataPlane>(
      o, self.s.tun[0], std::vector<int>{self.s.udp.fd(), self.second.fd()}, paths, peers);
}

std::vector<uint8_t> udpTo(uint16_t dstPort, uint8_t tag) {
  std::vector<uint8_t> p = udpPacket(tag);
  p[6] = p[7] = 0;             // not a fragment: the classifier sees the ports
  storeBe16(&p[20], 40000);    // one flow per destination port (the tag fills the rest)
  storeBe16(&p[22], dstPort);  // UDP header at 20: src port 20, dst port 22
  return p;
}

policy::PathView viewOf(uint16_t id, policy::PathHealth h, uint32_t rttUs) {
  policy::PathView v;
  v.id = id;
  v.keyed = true;
  v.health = h;
  v.rttUs = rttUs;
  return v;
}

class MultipathDataPlaneTest : public ::testing::Test {
 protected:
  uint64_t shapeFiber = 0;
  uint16_t relayPort = 0;
  void SetUp() override {
    openTwoPathSite(a);
    openTwoPathSite(b);
    pa = makePlane(a, b, "10.1.0.0/16", "10.2.0.0/16", shapeFiber, relayPort);
    pb = makePlane(b, a, "10.2.0.0/16", "10.1.0.0/16");
    for (uint8_t path = 0; path < 2; ++path) {
      const uint32_t spi = 0x1000 + path;
      pa->installOutbound(path, ipsec::EspOutboundSa::create(saConfig(spi, path)).value());
      pb->installInbound(path, ipsec::EspInboundSa::create(saConfig(spi, path)).value());
    }
    pa->start();
    pb->start();
  }
  void TearDown() override {
    pa->stop();
    pb->stop();
  }
  void send(const std::vector<uint8_t>& p) {
    ASSERT_EQ(::write(a.s.tun[1], p.data(), p.size()), ssize_t(p.size()));
  }
  uint64_t sealedOn(const DataPlaneStats& s, uint32_t spi) {
    for (auto& sa : s.sas) {
      if (!sa.inbound && sa.spi == spi) return sa.esp.packetsSealed;
    }
    return 0;
  }
  TwoPathSite a, b;
  std::unique_ptr<DataPlane> pa, pb;
};

TEST_F(MultipathDataPlaneTest, SteersByViewsAndFailsOverWhenAPathGoesDown) {
  pa->setPathViews(
      {viewOf(0, policy::PathHealth::kUp, 5000), viewOf(1, policy::PathHealth::kUp, 30000)});
  pa->snapshot();  // applied by the TX thread before the next packet is read
  auto p = udpTo(8080, 1);
  send(p);
  EXPECT_EQ(readTun(b.s.tun[1], 10000), p);
  DataPlaneStats s = pa->snapshot();
  EXPECT_EQ(sealedOn(s, 0x1000), 1u);
  EXPECT_EQ(sealedOn(s, 0x1001), 0u);

  // Path 0 reported dead: the same flow's next packet goes on path 1.
  pa->setPathViews(
      {viewOf(0, policy::PathHealth::kDown, 5000), viewOf(1, policy::PathHealth::kUp, 30000)});
  pa->snapshot();  // applied by the TX thread before the next packet is read
  p = udpTo(8080, 2);
  send(p);
  EXPECT_EQ(readTun(b.s.tun[1], 10000), p);
  s = pa->snapshot();
  EXPECT_EQ(sealedOn(s, 0x1000), 1u);
  EXPECT_EQ(sealedOn(s, 0x1001), 1u);
  ASSERT_EQ(s.engines.size(), 1u);
  EXPECT_EQ(s.engines[0].decisions[size_t(policy::DecisionCause::kPathDown)], 1u);

  // Both down: routed, but no usable path.
  pa->setPathViews(
      {viewOf(0, policy::PathHealth::kDown, 5000), viewOf(1, policy::PathHealth::kDown, 30000)});
  pa->snapshot();  // applied by the TX thread before the next packet is read
  send(udpTo(8080, 3));
  EXPECT_TRUE(eventually([&] { return pa->snapshot().tx.dropped(TxDrop::kNoPath) == 1; }));
  // No SA on any path: "no SA", as before multipath.
  pa->removeOutbound(0);
  pa->removeOutbound(1);
  pa->snapshot();
  send(udpTo(8080, 4));
  EXPECT_TRUE(eventually([&] { return pa->snapshot().tx.dropped(TxDrop::kNoSa) == 1; }));
}

TEST_F(MultipathDataPlaneTest, DuplicatesWithTheShimAndTheReceiverDeliversEachPacketOnce) {
  pa->setPathViews(
      {viewOf(0, policy::PathHealth::kUp, 5000), viewOf(1, policy::PathHealth::kUp, 30000)});
  pa->snapshot();  // applied by the TX thread before the next packet is read
  // Without the shim negotiated, no copies: the receiver could not tell them apart.
  auto p = udpTo(5060, 1);
  send(p);
  EXPECT_EQ(readTun(b.s.tun[1], 10000), p);
  EXPECT_EQ(pa->snapshot().tx.copiesSent, 0u);

  for (size_t path = 0; path < 2; ++path) {
    pa->setPathShim(path, true);
    pb->setPathShim(path, true);
  }
  pa->snapshot();
  pb->snapshot();
  constexpr int kPackets = 20;
  for (int i = 0; i < kPackets; ++i) {
    p = udpTo(5060, uint8_t(10 + i));
    send(p);
    EXPECT_EQ(readTun(b.s.tun[1], 10000), p) << i;
  }
  // Both copies arrive; the second of each is suppressed, never written to the TUN.
  EXPECT_TRUE(eventually(
      [&] { return pb->snapshot().rx.dropped(RxDrop::kDuplicate) == uint64_t(kPackets); }));
  EXPECT_TRUE(readTun(b.s.tun[1], 200).empty());
  DataPlaneStats s = pa->snapshot();
  EXPECT_EQ(s.tx.copiesSent, uint64_t(kPackets));
  EXPECT_EQ(sealedOn(s, 0x1000), 1u + kPackets);
  EXPECT_EQ(sealedOn(s, 0x1001), uint64_t(kPackets));
  EXPECT_EQ(pb->snapshot().rx.shimData, uint64_t(kPackets));
  // Per class: each voice packet once on the sender (copies are not traffic of their own)
  // and once on the receiver, which knows the class from the shim header (duplicates and
  // the first, unmarked packet not counted).
  ASSERT_EQ(s.classes.size(), 4u);
  EXPECT_EQ(s.classes[0].name, "voice");
  EXPECT_EQ(s.classes[0].counters.txPackets, 1u + kPackets);
  EXPECT_EQ(s.classes[0].counters.txBytes, (1u + kPackets) * p.size());
  EXPECT_EQ(s.classes[0].paths, std::vector<std::string>{"peer/fiber"});  // lowest RTT
  EXPECT_EQ(s.classes[1].counters.txPackets, 0u);
  DataPlaneStats sb = pb->snapshot();
  ASSERT_EQ(sb.classes.size(), 4u);
  EXPECT_EQ(sb.classes[0].counters.rxPackets, uint64_t(kPackets));
  EXPECT_EQ(sb.classes[0].counters.rxBytes, kPackets * p.size());
  EXPECT_EQ(sb.classes[0].counters.txPackets, 0u);

  // Other traffic is not duplicated and carries no shim header.
  p = udpTo(8080, 99);
  send(p);
  EXPECT_EQ(readTun(b.s.tun[1], 10000), p);
  s = pa->snapshot();
  EXPECT_EQ(s.tx.copiesSent, uint64_t(kPackets));
  EXPECT_EQ(s.classes[1].name, "default");
  EXPECT_EQ(s.classes[1].counters.txPackets, 1u);
  EXPECT_EQ(pb->snapshot().classes[1].counters.rxPackets, 0u);  // no shim: no class known
}

TEST_F(MultipathDataPlaneTest, ShimProbesReachTheProbeHookOnlyWhenTheShimIsOn) {
  std::mutex mu;
  std::vector<std::pair<size_t, std::vector<uint8_t>>> got;
  pb->setProbeHandler([&](size_t path, Bytes m, TimePoint) {
    std::lock_guard<std::mutex> l(mu);
    got.emplace_back(path, std::vector<uint8_t>(m.begin(), m.end()));
  });
  std::vector<uint8_t> probe(pathmon::kProbeSize);
  ByteWriter w(probe);
  ASSERT_TRUE(pathmon::encodeProbe({pathmon::ProbeType::kProbe, 1, 7, 1234, 0, 0}, w));
  // The receiver has not agreed to the shim on path 1: dropped as shim_invalid.
  pa->sendShim(1, probe);
  EXPECT_TRUE(eventually([&] { return pb->snapshot().rx.dropped(RxDrop::kShimInvalid) == 1; }));
  pb->setPathShim(1, true);
  pa->sendShim(1, probe);
  EXPECT_TRUE(eventually([&] {
    std::lock_guard<std::mutex> l(mu);
    return got.size() == 1;
  }));
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(got[0].first, 1u);
  EXPECT_EQ(got[0].second, probe);
  EXPECT_EQ(pa->snapshot().tx.probesSent, 2u);
  EXPECT_EQ(pb->snapshot().rx.probesReceived, 1u);
}

// FEC: a packet lost on the primary path is rebuilt from its group's other packet and the
// parity, which travels on the other path; the receiver delivers it once.
TEST_F(MultipathDataPlaneTest, FecRebuildsALostPacketFromTheParityOnTheOtherPath) {
  pa->setPathViews(
      {viewOf(0, policy::PathHealth::kUp, 5000), viewOf(1, policy::PathHealth::kUp, 30000)});
  pa->snapshot();  // applied by the TX thread before the next packet is read
  for (size_t path = 0; path < 2; ++path) {
    pa->setPathShim(path, true);
    pb->setPathShim(path, true);
  }
  pa->snapshot();
  pb->snapshot();
  auto first = udpTo(6000, 1);
  send(first);
  EXPECT_EQ(readTun(b.s.tun[1], 10000), first);
  // The second packet of the group is lost: B cannot open path 0 for a moment.
  pb->removeInbound(0x1000);
  pb->snapshot();
  auto second = udpTo(6000, 2);
  send(second);
  EXPECT_EQ(readTun(b.s.tun[1], 10000), second);  // rebuilt from the parity (path 1)
  DataPlaneStats sb = pb->snapshot();
  EXPECT_EQ(sb.rx.fecRecovered, 1u);
  EXPECT_EQ(sb.rx.fecParity, 1u);
  EXPECT_EQ(sb.inboundTable.drop(ipsec::EspDrop::kBadSpi), 1u);
  DataPlaneStats sa = pa->snapshot();
  EXPECT_EQ(sa.tx.fecParity, 1u);
  EXPECT_EQ(sealedOn(sa, 0x1000), 2u);  // data on the primary
  EXPECT_EQ(sealedOn(sa, 0x1001), 1u);  // the parity on the other path
  EXPECT_TRUE(readTun(b.s.tun[1], 200).empty());
}

class ShapedDataPlaneTest : public MultipathDataPlaneTest {
 protected:
  void SetUp() override {
    shapeFiber = 2'000'000;  // 2 Mbit/s: 64 queued 1000-byte packets drain in ~0.3 s
    MultipathDataPlaneTest::SetUp();
  }
};

// A burst far above the rate: the queue takes what it may (its bound), the rest is dropped
// as queue_full; everything queued is delivered, sealed at dequeue in order (no ESP replay
// drops at the receiver).
TEST_F(ShapedDataPlaneTest, QueuesUpToItsBoundDropsTheRestAndDeliversTheQueue) {
  pa->setPathViews(
      {viewOf(0, policy::PathHealth::kUp, 5000), viewOf(1, policy::PathHealth::kUp, 30000)});
  pa->snapshot();  // applied by the TX thread before the next packet is read
  constexpr int kBurst = 150;
  for (int i = 0; i < kBurst; ++i) {
    std::vector<uint8_t> p(1000, uint8_t(i));
    std::vector<uint8_t> h = udpTo(8080, uint8_t(i));
    std::copy(h.begin(), h.begin() + 28, p.begin());
    storeBe16(&p[2], uint16_t(p.size()));
    send(p);
  }
  uint64_t dropped = 0, sent = 0;
  EXPECT_TRUE(eventually([&] {
    DataPlaneStats s = pa->snapshot();
    dropped = s.tx.dropped(TxDrop::kQueueFull);
    sent = s.tx.shaperSent[size_t(policy::Priority::kBusiness)];
    return dropped + sent == uint64_t(kBurst);
  }));
  EXPECT_GT(dropped, 0u);
  EXPECT_GE(sent, 64u);  // the queue's bound (pool 128 / (4 x 2 uplinks) -> at least 64)
  int delivered = 0;
  while (!readTun(b.s.tun[1], 2000).empty()) ++delivered;
  EXPECT_EQ(uint64_t(delivered), sent);
  EXPECT_EQ(pb->snapshot().espDrops()[size_t(ipsec::EspDrop::kReplay)], 0u);
}

// Path 1 of A -> B runs through this relay: the test holds its datagrams and forwards them
// when and in the order it likes (a path of a different, chosen delay).
class BondedDataPlaneTest : public MultipathDataPlaneTest {
 protected:
  void SetUp() override {
    auto r = UplinkSocket::open(*IpAddress::parse("127.0.0.1"), 0, 1 << 20);
    ASSERT_TRUE(r.isOk());
    relay = std::move(*r);
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    ASSERT_EQ(::getsockname(relay.fd(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
    relayPort = ntohs(addr.sin_port);
    MultipathDataPlaneTest::SetUp();
  }
  // Up to `n` datagrams that reached the relay within `ms`.
  std::vector<std::vector<uint8_t>> collect(size_t n, int ms) {
    std::vector<std::vector<uint8_t>> got;
    while (got.size() < n) {
      pollfd p{relay.fd(), POLLIN, 0};
      if (::poll(&p, 1, ms) <= 0) break;
      std::vector<uint8_t> d(65536);
      const ssize_t r = ::recv(relay.fd(), d.data(), d.size(), 0);
      if (r <= 0) break;
      d.resize(size_t(r));
      got.push_back(std::move(d));
    }
    return got;
  }
  void forward(const std::vector<uint8_t>& d) {
    const SockAddr to = SockAddr::from(*IpAddress::parse("127.0.0.1"), b.secondPort);
    ASSERT_EQ(::sendto(relay.fd(), d.data(), d.size(), 0,
                       reinterpret_cast<const sockaddr*>(&to.storage), to.length),
              ssize_t(d.size()));
  }
  UplinkSocket relay;
};

// Bond: a class sprayed per packet over a fast path and a slow one (the relay holds the
// slow path's packets, then lets them go in reverse order) reaches B's TUN in exactly the
// order A sent it; the early packets waited in B's reorder stage, none was given up.
TEST_F(BondedDataPlaneTest, ABondedClassIsSprayedAndDeliveredInTheSendersOrder) {
  pa->setPathViews(
      {viewOf(0, policy::PathHealth::kUp, 5000), viewOf(1, policy::PathHealth::kUp, 30000)});
  for (size_t path = 0; path < 2; ++path) {
    pa->setPathShim(path, true);
    pb->setPathShim(path, true);
  }
  pa->snapshot();  // applied by the TX thread before the next packet is read
  pb->snapshot();
  // A first packet starts B's order; whichever path it took is passed on at once.
  auto warm = udpTo(7000, 1);
  send(warm);
  for (auto& d : collect(1, 300)) forward(d);
  ASSERT_EQ(readTun(b.s.tun[1], 10000), warm);

  constexpr int kPackets = 8;
  std::vector<std::vector<uint8_t>> sent;
  for (int i = 0; i < kPackets; ++i) {
    sent.push_back(udpTo(7000, uint8_t(20 + i)));
    send(sent.back());
  }
  auto held = collect(kPackets / 2, 10000);  // equal weights: every other packet
  ASSERT_EQ(held.size(), size_t(kPackets / 2));
  // B delivers up to the first gap and keeps the rest waiting for the slow path.
  EXPECT_TRUE(eventually([&] { return pb->snapshot().rx.reorderBuffered >= kPackets / 2 - 1; }));
  for (auto it = held.rbegin(); it != held.rend(); ++it) forward(*it);
  for (int i = 0; i < kPackets; ++i) EXPECT_EQ(readTun(b.s.tun[1], 10000), sent[i]) << i;
  EXPECT_TRUE(readTun(b.s.tun[1], 200).empty());
  DataPlaneStats sb = pb->snapshot();
  EXPECT_EQ(sb.rx.reorderGaps, 0u);
  EXPECT_EQ(sb.rx.reorderLate, 0u);
  EXPECT_EQ(sb.rx.reorderTimeouts, 0u);
  EXPECT_EQ(sb.rx.shimData, uint64_t(kPackets + 1));
  DataPlaneStats sa = pa->snapshot();
  EXPECT_EQ(sa.tx.shimData, uint64_t(kPackets + 1));
  EXPECT_GE(sealedOn(sa, 0x1000), uint64_t(kPackets / 2));
  EXPECT_GE(sealedOn(sa, 0x1001), uint64_t(kPackets / 2));
}

// A packet lost on the slow path: the packets after it wait for the hold, then go on, and
// the lost numbers are counted as given up (B's hold here comes from its path figures).
TEST_F(BondedDataPlaneTest, AGapIsGivenUpWhenTheHoldEnds) {
  pa->setPathViews(
      {viewOf(0, policy::PathHealth::kUp, 5000), viewOf(1, policy::PathHealth::kUp, 30000)});
  // B's hold from its own path figures: 25 ms of RTT spread -> 12.5 ms + 5 ms margin.
  pb->setPathViews(
      {viewOf(0, policy::PathHealth::kUp, 5000), viewOf(1, policy::PathHealth::kUp, 30000)});
  for (size_t path = 0; path < 2; ++path) {
    pa->setPathShim(path, true);
    pb->setPathShim(path, true);
  }
  pa->snapshot();
  pb->snapshot();
  auto warm = udpTo(7000, 1);
  send(warm);
  for (auto& d : collect(1, 300)) forward(d);
  ASSERT_EQ(readTun(b.s.tun[1], 10000), warm);
  std::vector<std::vector<uint8_t>> sent;
  for (int i = 0; i < 4; ++i) {
    sent.push_back(udpTo(7000, uint8_t(40 + i)));
    send(sent.back());
  }
  auto held = collect(2, 10000);
  ASSERT_EQ(held.size(), 2u);
  // Nothing from the relay arrives: both of its numbers are given up after the hold.
  std::vector<std::vector<uint8_t>> got;
  for (auto p = readTun(b.s.tun[1], 10000); !p.empty(); p = readTun(b.s.tun[1], 500)) {
    got.push_back(p);
  }
  EXPECT_EQ(got.size(), 2u);
  for (auto& p : got) {
    EXPECT_TRUE(p == sent[0] || p == sent[1] || p == sent[2] || p == sent[3]);
  }
  DataPlaneStats sb = pb->snapshot();
  // The first of the four went on the fast path (one gap before the third), or not (two).
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(sb.rx.reorderGaps, got[0] == sent[0] ? 1u : 2u);
  EXPECT_GE(sb.rx.reorderTimeouts, 1u);
  // The slow path's packets, late now, are still delivered (out of order) once each.
  for (auto& d : held) forward(d);
  EXPECT_FALSE(readTun(b.s.tun[1], 10000).empty());
  EXPECT_FALSE(readTun(b.s.tun[1], 10000).empty());
  EXPECT_TRUE(eventually([&] { return pb->snapshot().rx.reorderLate >= 1; }));
}

}  // namespace
}  // namespace braid::edge
