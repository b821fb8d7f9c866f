// The failover timing (edge/metrics_path.hpp) in simulated time: the TX thread's steering
// moves each flow pinned to a dead path at its next packet, the tracker is fed the counts
// PathControl would take every 10 ms, and the exported figures are checked.
#include "edge/metrics_path.hpp"

#include <gtest/gtest.h>

#include "core/bytes.hpp"
#include "edge/steering.hpp"
#include "metrics/registry.hpp"

namespace braid::edge {
namespace {

using std::chrono::milliseconds;

std::vector<uint8_t> udp(uint16_t dport) {
  std::vector<uint8_t> p(48, 0);
  p[0] = 0x45;
  storeBe16(&p[2], uint16_t(p.size()));
  p[8] = 64;
  p[9] = 17;
  storeBe32(&p[12], IpAddress::parse("10.1.0.1")->v4HostOrder());
  storeBe32(&p[16], IpAddress::parse("10.2.0.9")->v4HostOrder());
  storeBe16(&p[20], 40000);
  storeBe16(&p[22], dport);
  return p;
}

policy::PathView view(uint16_t id, bool up) {
  policy::PathView v;
  v.id = id;
  v.health = up ? policy::PathHealth::kUp : policy::PathHealth::kDown;
  v.rttUs = 10000;
  return v;
}

// One peer with fiber (path 0, preferred) and broadband (path 1).
struct Site {
  std::vector<PathSpec> paths = {{"hq/fiber", 0, 0, {}}, {"hq/broadband", 0, 1, {}}};
  std::vector<PeerSpec> peers = {{"hq", {*IpPrefix::parse("10.2.0.0/16")}, {0, 1}}};
  MultipathConfig config() const {
    MultipathConfig m;
    ClassConfig def;
    def.policy.name = "default";
    def.pathOrder = true;
    m.classes = {def};
    m.engine.defaultClass = 0;
    return m;
  }
};

TEST(FailoverTracker, TimesTheMoveOfThePinnedFlowsInSimulatedTime) {
  Site site;
  Steering s(site.config(), site.peers, site.paths);
  s.setKeyed(0, true);
  s.setKeyed(1, true);
  s.setViews({view(0, true), view(1, true)});
  Steering::Choice c;
  TimePoint now{};
  auto send = [&](uint16_t port) { ASSERT_TRUE(s.choose(udp(port).data(), 48, now, c)); };
  for (uint16_t port : {1000, 1001, 1002, 1003}) send(port);
  ASSERT_EQ(s.flowsOn(0), 4u);

  FailoverTracker t(2);
  // Fiber dies, learnt after 70 ms of silence: PathControl counts the pinned flows before
  // the new views reach the TX thread.
  now += milliseconds(500);
  const TimePoint death = now;
  t.onFailover(0, pathmon::PathCause::kSilence, death, milliseconds(70));
  EXPECT_TRUE(t.moving(0));
  EXPECT_EQ(t.stats(0).lastDuration, milliseconds(70));  // the detection, until flows move
  t.onFlows(0, now, s.flowsOn(0));
  s.setViews({view(0, false), view(1, true)});
  // Three flows send again 4, 23 and 41 ms later; the fourth stays idle for a while and
  // sends after 63 ms. Counts every 10 ms, as PathControl::poll takes them.
  const std::vector<std::pair<int, uint16_t>> sends = {
      {4, 1000}, {23, 1001}, {41, 1002}, {63, 1003}};
  size_t next = 0;
  for (int ms = 1; ms <= 100; ++ms) {
    now = death + milliseconds(ms);
    while (next < sends.size() && sends[next].first == ms) send(sends[next++].second);
    if (ms % 10 == 0) t.onFlows(0, now, s.flowsOn(0));
  }
  EXPECT_EQ(s.flowsOn(0), 0u);
  EXPECT_EQ(s.flowsOn(1), 4u);
  const PathFailoverStats& f = t.stats(0);
  EXPECT_FALSE(f.moving);
  EXPECT_EQ(f.lastFlows, 4u);
  EXPECT_EQ(f.lastDetection, milliseconds(70));
  EXPECT_EQ(f.lastMove, milliseconds(70));  // the count after the last move (at 63 ms)
  EXPECT_EQ(f.lastDuration, milliseconds(140));
  EXPECT_EQ(f.failovers[size_t(pathmon::PathCause::kSilence)], 1u);
  EXPECT_EQ(t.stats(1).lastDuration, Duration::zero());

  // Broadband taken down by the operator with its 4 flows, one of which never sends again:
  // timing stops after kMoveLimit at the last move seen.
  s.setViews({view(0, false), view(1, true)});
  const TimePoint down = now;
  t.onFailover(1, pathmon::PathCause::kAdminDown, down, Duration::zero());
  t.onFlows(1, now, s.flowsOn(1));
  s.setViews({view(0, true), view(1, false)});
  for (int ms = 10; t.moving(1); ms += 10) {
    now = down + milliseconds(ms);
    if (ms == 30) send(1000);
    if (ms == 40) send(1001);
    if (ms == 250) send(1002);
    t.onFlows(1, now, s.flowsOn(1));
    ASSERT_LE(now - down, FailoverTracker::kMoveLimit);
  }
  EXPECT_EQ(t.stats(1).lastFlows, 4u);
  EXPECT_EQ(t.stats(1).lastMove, milliseconds(250));
  EXPECT_EQ(t.stats(1).lastDuration, milliseconds(250));
  EXPECT_EQ(t.stats(1).failovers[size_t(pathmon::PathCause::kAdminDown)], 1u);

  // A failover with nothing pinned takes no time; a recovery stops the timing.
  t.onFailover(0, pathmon::PathCause::kLinkDown, now, Duration::zero());
  t.onFlows(0, now, 0);
  EXPECT_FALSE(t.moving(0));
  EXPECT_EQ(t.stats(0).lastDuration, Duration::zero());
  EXPECT_EQ(t.stats(0).failovers[size_t(pathmon::PathCause::kSilence)], 1u);
  t.onFailover(0, pathmon::PathCause::kMissedProbes, now, milliseconds(80));
  t.stop(0);
  EXPECT_FALSE(t.moving(0));
  t.onFlows(0, now + milliseconds(5), 0);  // late count: ignored
  EXPECT_EQ(t.stats(0).lastDuration, milliseconds(80));
}

TEST(FailoverTracker, ExportedFromOneTable) {
  PathExtraStats x;
  x.failover.failovers[size_t(pathmon::PathCause::kMissedProbes)] = 2;
  x.failover.lastMove = milliseconds(12);
  x.failover.lastDuration = milliseconds(92);
  x.failover.lastFlows = 3;
  x.shim = 1;
  pathmon::PathStats ps;
  pathmon::RttEstimator rtt;
  rtt.add(milliseconds(20));
  ps.rttHistogram = rtt.histogram();
  x.rtt = rttHistogram(ps);
  metrics::Registry r;
  auto t = metrics::StructMetrics<PathExtraStats>::add(r, pathExtraFields(), {{"path", "hq/a"}});
  ASSERT_TRUE(t.isOk()) << t.status().message();
  t->update(r, x);
  const std::string text = r.prometheus();
  EXPECT_NE(text.find("braid_path_failovers_total{path=\"hq/a\",cause=\"missed_probes\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("braid_path_last_failover_duration_seconds{path=\"hq/a\"} 0.092\n"),
            std::string::npos);
  EXPECT_NE(text.find("braid_path_last_failover_move_seconds{path=\"hq/a\"} 0.012\n"),
            std::string::npos);
  EXPECT_NE(text.find("braid_path_probe_rtt_seconds_bucket{path=\"hq/a\",le=\"0.02\"} 1\n"),
            std::string::npos);
  const std::string stats = r.statsFile();
  for (const char* line :
       {"path.hq/a.failovers.missed_probes 2\n", "path.hq/a.last_failover_flows 3\n",
        "path.hq/a.shim 1\n", "path.hq/a.active 0\n", "path.hq/a.probe_rtt_seconds.count 1\n"}) {
    EXPECT_NE(stats.find(line), std::string::npos) << line << stats;
  }
}

}  // namespace
}  // namespace braid::edge
