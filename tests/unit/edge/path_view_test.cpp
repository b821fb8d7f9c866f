// The monitor's figures as the policy engines see them (edge/path_view.hpp), end to end in
// simulated time: a supervisor probing a braid peer that reports its counts, over a link
// that loses only one direction, decides the FEC of a real policy engine; a measured
// capacity lowers a bond member's weight, never raises it.
#include "edge/path_view.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "policy/engine.hpp"

namespace braid::edge {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class Reflector : public pathmon::ProbeTransport, public pathmon::PathListener {
 public:
  explicit Reflector(uint64_t seed) : rng_(seed) {}
  void sendProbe(pathmon::PathId path, Bytes shim) override {
    pathmon::ProbeMessage m;
    if (!pathmon::decodeProbe(shim, m) || m.type != pathmon::ProbeType::kProbe) return;
    if (draw(forwardLoss)) return;
    timers.schedule(clock.now() + milliseconds(5), [this, path, m] {
      ++count_;
      if (draw(returnLoss)) return;
      const uint64_t now = pathmon::toWireMicros(clock.now());
      pathmon::ProbeMessage r = pathmon::makeReply(m, now, now);
      r.hasRxCounts = reports;
      r.rxProbes = count_;
      std::array<uint8_t, pathmon::kProbeMaxSize> buf{};
      ByteWriter w(buf);
      ASSERT_TRUE(pathmon::encodeProbe(r, w));
      const size_t n = w.position();
      timers.schedule(clock.now() + milliseconds(5), [this, path, buf, n] {
        (void)sup.onProbeBytes(path, Bytes(buf.data(), n), clock.now());
      });
    });
  }
  void onPathEvent(const pathmon::PathEvent&) override {}
  void runFor(Duration d) { timers.runFor(clock, d); }

  ManualClock clock;
  TimerQueue timers;
  pathmon::PathSupervisor sup{clock, timers, *this, *this};
  double forwardLoss = 0, returnLoss = 0;
  bool reports = true;

 private:
  bool draw(double p) { return p > 0 && static_cast<double>(rng_() >> 11) * 0x1.0p-53 < p; }
  std::mt19937_64 rng_;
  uint32_t count_ = 0;
};

// The FEC group the engine picks for a UDP flow on a path monitored for 10 s.
uint8_t fecAfter(double forwardLoss, double returnLoss, bool reports) {
  Reflector sim(11);
  sim.forwardLoss = forwardLoss;
  sim.returnLoss = returnLoss;
  sim.reports = reports;
  pathmon::PathConfig c;
  c.degradeLoss = 0.5;  // stay Up: this is about FEC, not the state machine
  sim.sup.addPath(0, c);
  sim.sup.setActive(0, true);
  sim.sup.setKeyed(0, true);
  sim.runFor(seconds(10));
  policy::PathView v = monitorView(0, sim.sup.stats(0), false, 50'000);
  v.keyed = true;
  EXPECT_EQ(v.health, policy::PathHealth::kUp);
  EXPECT_GT(v.loss, 0.03f);
  policy::EngineConfig cfg;
  cfg.classes.resize(1);
  cfg.classes[0].fec = policy::FecWhen::kLossAbove;
  cfg.classes[0].fecLossThreshold = 0.01f;
  policy::Engine e(cfg);
  const FlowKey key{IpAddress::v4(0x0a000001u), IpAddress::v4(0x0a140001u), kProtoUdp, 1000, 5000};
  const std::vector<policy::PathView> views{v};
  const policy::Decision d = e.decide(key, sim.clock.now(), views);
  EXPECT_EQ(d.primary, 0);
  return d.fecK;
}

TEST(PathView, ReturnLossAloneGetsNoFec) {
  EXPECT_EQ(fecAfter(0.0, 0.08, true), 0);
}

TEST(PathView, ForwardLossGetsFecAsBefore) {
  const uint8_t k = fecAfter(0.08, 0.0, true);
  EXPECT_GE(k, 2);
  EXPECT_LE(k, 3);  // 2 for 8 % (Engine::fecGroupForLoss)
}

TEST(PathView, WithoutReportsRoundTripLossDecidesAsBefore) {
  EXPECT_GE(fecAfter(0.0, 0.08, false), 2);
}

TEST(PathView, CapacityIsTheConfiguredRateLoweredByAMeasurement) {
  pathmon::PathStats s;
  s.state = pathmon::PathState::kUp;
  EXPECT_EQ(monitorView(0, s, false, 50'000).capacityKbps, 50'000u);
  EXPECT_EQ(monitorView(0, s, false, 50'000).lossForward, -1.0f);
  s.capacityMeasuredBps = 5'000'000;
  EXPECT_EQ(monitorView(0, s, false, 50'000).capacityKbps, 5'000u);
  s.capacityMeasuredBps = 90'000'000;
  EXPECT_EQ(monitorView(0, s, false, 50'000).capacityKbps, 50'000u);
}

}  // namespace
}  // namespace braid::edge
