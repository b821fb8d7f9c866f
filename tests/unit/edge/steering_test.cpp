// Steering (the TX thread's path choice) without threads or sockets: routes to peers,
// per-class engines with preferences resolved to each peer's paths, SA state from the TX
// thread over the control thread's views, and copies only where the shim is spoken.
#include "edge/steering.hpp"

#include <gtest/gtest.h>

#include "edge/path_control.hpp"

#include <cstring>

namespace braid::edge {
namespace {

std::vector<uint8_t> udp(const char* dst, uint16_t dport, uint8_t tos = 0) {
  std::vector<uint8_t> p(48, 0);
  p[0] = 0x45;
  p[1] = tos;
  storeBe16(&p[2], uint16_t(p.size()));
  p[8] = 64;
  p[9] = 17;
  storeBe32(&p[12], IpAddress::parse("10.1.0.1")->v4HostOrder());
  storeBe32(&p[16], IpAddress::parse(dst)->v4HostOrder());
  storeBe16(&p[20], 40000);
  storeBe16(&p[22], dport);
  return p;
}

// Two peers; peer 0 has paths 0 (fiber), 1 (broadband), 2 (lte); peer 1 has path 3 (fiber).
struct World {
  std::vector<PathSpec> paths = {{"p0/fiber", 0, 0, {}},
                                 {"p0/broadband", 0, 1, {}},
                                 {"p0/lte", 0, 2, {}},
                                 {"p1/fiber", 1, 0, {}}};
  std::vector<PeerSpec> peers = {{"p0", {*IpPrefix::parse("10.2.0.0/16")}, {0, 1, 2}},
                                 {"p1", {*IpPrefix::parse("10.3.0.0/16")}, {3}}};
  MultipathConfig config() const {
    MultipathConfig m;
    ClassConfig voice;
    voice.policy.name = "voice";
    voice.policy.duplicate = policy::DuplicateWhen::kAlways;
    voice.preferUplinks = {1, 0};  // broadband first
    ClassConfig def;
    def.policy.name = "default";
    def.pathOrder = true;
    m.classes = {voice, def};
    policy::Rule r;
    r.cls = 0;
    r.dscp = uint64_t{1} << 46;  // EF
    m.rules = {r};
    m.engine.defaultClass = 1;
    return m;
  }
};

policy::PathView up(uint16_t id, uint32_t rtt) {
  policy::PathView v;
  v.id = id;
  v.health = policy::PathHealth::kUp;
  v.rttUs = rtt;
  return v;
}

TEST(SteeringTest, PreferencesResolveToEachPeersPaths) {
  World w;
  MultipathConfig m = w.config();
  policy::EngineConfig e0 = engineConfigFor(m, w.peers[0], w.paths);
  policy::EngineConfig e1 = engineConfigFor(m, w.peers[1], w.paths);
  EXPECT_EQ(e0.classes[0].preferred, (std::vector<policy::PathId>{1, 0}));
  EXPECT_EQ(e0.classes[1].preferred, (std::vector<policy::PathId>{0, 1, 2}));
  EXPECT_EQ(e1.classes[0].preferred, (std::vector<policy::PathId>{3}));
  EXPECT_EQ(e1.classes[1].preferred, (std::vector<policy::PathId>{3}));
}

TEST(SteeringTest, RoadWarriorClientsGetASmallFlowTable) {
  // Path 4 is a [[remote_access]] slot (its own peer, one path); the site peers keep the
  // configured table. 1000 slots x 65536 flows would be 6 GB before any client connects.
  World w;
  w.paths.push_back({"staff#0/fiber", 2, 0, {}, true});
  w.peers.push_back({"staff#0/fiber", {*IpPrefix::parse("10.90.0.1/32")}, {4}});
  MultipathConfig m = w.config();
  m.engine.maxFlows = 65536;
  EXPECT_EQ(engineConfigFor(m, w.peers[0], w.paths).maxFlows, 65536u);
  EXPECT_EQ(engineConfigFor(m, w.peers[2], w.paths).maxFlows, kClientMaxFlows);
  m.engine.maxFlows = 16;  // a smaller configured table stays
  EXPECT_EQ(engineConfigFor(m, w.peers[2], w.paths).maxFlows, 16u);
  m.engine.maxFlows = 65536;
  Steering s(m, w.peers, w.paths);
  EXPECT_EQ(s.engine(0).flows().capacity(), 65536u);
  EXPECT_EQ(s.engine(2).flows().capacity(), kClientMaxFlows);
  // More flows than the table holds: each still goes to the client's one path.
  s.setKeyed(4, true);
  Steering::Choice c;
  for (uint16_t port = 1; port <= 3 * kClientMaxFlows; ++port) {
    auto p = udp("10.90.0.1", port);
    ASSERT_TRUE(s.choose(p.data(), p.size(), TimePoint{}, c));
    ASSERT_EQ(c.peer, 2u);
    ASSERT_EQ(c.decision.primary, 4);
  }
  EXPECT_EQ(s.engine(2).flows().size(), kClientMaxFlows);
}

TEST(SteeringTest, RoutesClassesAndKeyedPaths) {
  World w;
  Steering s(w.config(), w.peers, w.paths);
  Steering::Choice c;
  const TimePoint now{};
  auto plain = udp("10.2.0.9", 80);
  // Nothing keyed: routed, no path, and "not keyed" so the caller counts no_sa.
  ASSERT_TRUE(s.choose(plain.data(), plain.size(), now, c));
  EXPECT_FALSE(c.decision.ok());
  EXPECT_FALSE(s.peerKeyed(0));
  for (size_t i = 0; i < 4; ++i) s.setKeyed(i, true);
  s.setViews({up(0, 5000), up(1, 30000), up(2, 90000), up(3, 5000)});
  ASSERT_TRUE(s.choose(plain.data(), plain.size(), now, c));
  EXPECT_EQ(c.peer, 0u);
  EXPECT_EQ(c.decision.primary, 0);  // default class: config order
  EXPECT_EQ(c.decision.copyCount, 0);
  EXPECT_FALSE(c.withHeader);
  auto other = udp("10.3.0.9", 80);
  ASSERT_TRUE(s.choose(other.data(), other.size(), now, c));
  EXPECT_EQ(c.peer, 1u);
  EXPECT_EQ(c.decision.primary, 3);
  auto stray = udp("192.0.2.1", 80);
  EXPECT_FALSE(s.choose(stray.data(), stray.size(), now, c));
  // The TX thread's SA state wins over the views: path 0 loses its SA.
  s.setKeyed(0, false);
  auto next = udp("10.2.0.10", 80);
  ASSERT_TRUE(s.choose(next.data(), next.size(), now, c));
  EXPECT_EQ(c.decision.primary, 1);
  s.setViews({up(0, 5000), up(1, 30000), up(2, 90000), up(3, 5000)});  // still unkeyed
  ASSERT_TRUE(s.choose(next.data(), next.size(), now, c));
  EXPECT_EQ(c.decision.primary, 1);
}

TEST(SteeringTest, CopiesOnlyOnShimPathsWithOneSequencePerClass) {
  World w;
  Steering s(w.config(), w.peers, w.paths);
  for (size_t i = 0; i < 4; ++i) s.setKeyed(i, true);
  s.setViews({up(0, 5000), up(1, 30000), up(2, 90000), up(3, 5000)});
  const TimePoint now{};
  auto voice = udp("10.2.0.9", 4000, 46 << 2);  // DSCP EF
  Steering::Choice c;
  // No shim anywhere: no copies, no header.
  ASSERT_TRUE(s.choose(voice.data(), voice.size(), now, c));
  EXPECT_EQ(c.decision.cls, 0);
  EXPECT_EQ(c.decision.copyCount, 0);
  EXPECT_FALSE(c.withHeader);
  // Shim on fiber and broadband only: one copy, never on lte.
  s.setShim(0, true);
  s.setShim(1, true);
  ASSERT_TRUE(s.choose(voice.data(), voice.size(), now, c));
  ASSERT_TRUE(c.withHeader);
  ASSERT_EQ(c.decision.copyCount, 1);
  EXPECT_NE(c.decision.copies[0], c.decision.primary);
  EXPECT_TRUE(c.decision.copies[0] == 0 || c.decision.copies[0] == 1);
  EXPECT_EQ(c.header.cls, 0);
  const uint32_t first = c.header.seq;
  ASSERT_TRUE(s.choose(voice.data(), voice.size(), now, c));
  EXPECT_EQ(c.header.seq, first + 1);
  // The primary without the shim: no copies at all.
  s.setShim(c.decision.primary, false);
  ASSERT_TRUE(s.choose(voice.data(), voice.size(), now, c));
  EXPECT_EQ(c.decision.copyCount, 0);
  EXPECT_FALSE(c.withHeader);
}

TEST(SteeringTest, ReloadKeepsFlowsAndAppliesNewClasses) {
  World w;
  Steering s(w.config(), w.peers, w.paths);
  for (size_t i = 0; i < 4; ++i) s.setKeyed(i, true);
  s.setViews({up(0, 5000), up(1, 30000), up(2, 90000), up(3, 5000)});
  const TimePoint now{};
  auto web = udp("10.2.0.9", 443);
  Steering::Choice c;
  ASSERT_TRUE(s.choose(web.data(), web.size(), now, c));
  ASSERT_EQ(c.decision.primary, 0);
  // Path 0 degrades a little: the sticky flow stays; then a new policy adds "video" (UDP
  // 443 to broadband) in front of the others.
  MultipathConfig m = w.config();
  ClassConfig video;
  video.policy.name = "video";
  video.policy.mode = policy::Mode::kPin;
  video.preferUplinks = {1};
  m.classes.insert(m.classes.begin(), video);
  for (policy::Rule& r : m.rules) ++r.cls;
  policy::Rule r;
  r.cls = 0;
  r.proto = kProtoUdp;
  r.dstPorts = {{443, 443}};
  m.rules.insert(m.rules.begin(), r);
  m.engine.defaultClass = 2;
  auto dns = udp("10.2.0.9", 53);
  ASSERT_TRUE(s.choose(dns.data(), dns.size(), now, c));
  ASSERT_EQ(c.decision.primary, 0);
  s.reload(m);
  // The web flow is now "video", pinned to broadband: it moves (its class changed).
  ASSERT_TRUE(s.choose(web.data(), web.size(), now, c));
  EXPECT_EQ(c.decision.cls, 0);
  EXPECT_EQ(c.decision.primary, 1);
  // The DNS flow keeps its class (by name) and its path.
  ASSERT_TRUE(s.choose(dns.data(), dns.size(), now, c));
  EXPECT_EQ(c.decision.cls, 2);
  EXPECT_EQ(c.decision.primary, 0);
  EXPECT_EQ(c.decision.cause, policy::DecisionCause::kSticky);
  EXPECT_EQ(s.engine(0).counters().reloads, 1u);
  EXPECT_EQ(s.engine(0).counters().reloadKept, 1u);
  EXPECT_EQ(s.engine(0).counters().reloadMoved, 1u);
  // The shaper's priority follows the new classes.
  EXPECT_EQ(s.priority(0, 0), policy::Priority::kBusiness);
}

}  // namespace
}  // namespace braid::edge

namespace braid::edge {
namespace {

// The failover log line counts the flows pinned to a path when it dies: each of them moves
// at its next packet, so the count equals the moves that follow.
TEST(SteeringTest, FailoverCountsTheFlowsThatMove) {
  World w;
  Steering s(w.config(), w.peers, w.paths);
  for (size_t i = 0; i < 4; ++i) s.setKeyed(i, true);
  s.setViews({up(0, 5000), up(1, 30000), up(2, 90000), up(3, 5000)});
  Steering::Choice c;
  TimePoint now{};
  std::vector<std::vector<uint8_t>> flows;
  for (uint16_t port = 1000; port < 1005; ++port) flows.push_back(udp("10.2.0.9", port));
  flows.push_back(udp("10.3.0.9", 80));  // another peer's fiber: not on path 0
  for (auto& f : flows) {
    ASSERT_TRUE(s.choose(f.data(), f.size(), now, c));
  }
  EXPECT_EQ(s.flowsOn(0), 5u);
  EXPECT_EQ(s.flowsOn(3), 1u);
  EXPECT_EQ(s.flowsOn(1), 0u);
  // Fiber dies: the count is taken before the flows' next packets move them.
  policy::PathView dead = up(0, 5000);
  dead.health = policy::PathHealth::kDown;
  s.setViews({dead, up(1, 30000), up(2, 90000), up(3, 5000)});
  const size_t moved = s.flowsOn(0);
  EXPECT_EQ(moved, 5u);
  EXPECT_EQ(
      failoverLine("p0/fiber", pathmon::PathState::kDead, pathmon::PathCause::kMissedProbes, moved),
      "failover from p0/fiber (dead, missed_probes): 5 flows moved");
  now += std::chrono::milliseconds(1);
  for (auto& f : flows) {
    ASSERT_TRUE(s.choose(f.data(), f.size(), now, c));
  }
  EXPECT_EQ(s.flowsOn(0), 0u);
  EXPECT_EQ(s.flowsOn(1), moved);  // all to broadband, the next in config order
  EXPECT_EQ(s.engine(0).counters().decisions[size_t(policy::DecisionCause::kPathDown)], moved);
  EXPECT_EQ(failoverLine("p0/lte", pathmon::PathState::kDown, pathmon::PathCause::kAdminDown, 1),
            "failover from p0/lte (down, admin_down): 1 flow moved");
  EXPECT_TRUE(isFailover(pathmon::PathState::kUp, pathmon::PathState::kDead));
  EXPECT_TRUE(isFailover(pathmon::PathState::kDegraded, pathmon::PathState::kDown));
  EXPECT_FALSE(isFailover(pathmon::PathState::kDead, pathmon::PathState::kDown));
  EXPECT_FALSE(isFailover(pathmon::PathState::kUp, pathmon::PathState::kDegraded));
}

}  // namespace
}  // namespace braid::edge
