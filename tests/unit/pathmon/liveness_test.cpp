// Liveness of paths without probes (a standard IKEv2 peer, no braid shim), in simulated
// time: inbound ESP silence while we send asks the transport for an IKE liveness check; an
// unanswered check kills the path, an answer after the hold-down brings it back.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "pathmon/supervisor.hpp"

namespace braid::pathmon {
namespace {

using std::chrono::milliseconds;

// A standard peer on one path: answers each liveness check after one round trip unless the
// path is cut, and (optionally) sends ESP of its own every `espEvery`. Like edge, it keeps
// at most one check in flight (the IKE window, RFC 7296 2.3).
class Peer : public ProbeTransport, public PathListener {
 public:
  void sendProbe(PathId, Bytes) override { ++probes; }
  // The answer to a check is an IKE response: it proves both directions (onRoundTrip).
  // `resend` sends the request in flight again now (edge: TaskManager::resendNow).
  void checkLiveness(PathId path, bool resend) override {
    ++checks;
    if (inFlight && !resend) return;
    resends += resend;  // the supervisor's second attempt
    inFlight = true;
    const bool answered = !cut && !cutOurs && !(dropResponses > 0 && dropResponses-- > 0);
    timers.schedule(clock.now() + rtt, [this, path, answered] {
      inFlight = false;
      if (answered && !cut && !cutOurs) sup.onRoundTrip(path, clock.now());
      // A lost request is retransmitted by IKE much later; the supervisor asks again.
    });
  }
  void onPathEvent(const PathEvent& e) override { events.push_back(e); }

  void startEsp(PathId path) {
    if (espEvery <= Duration::zero()) return;
    timers.schedule(clock.now() + espEvery, [this, path] {
      if (!cut && espEvery > Duration::zero()) sup.onTraffic(path, clock.now());
      startEsp(path);
    });
  }
  void runFor(Duration d) { timers.runFor(clock, d); }
  std::optional<PathEvent> last(PathState to) const {
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      if (it->to == to) return *it;
    }
    return std::nullopt;
  }

  ManualClock clock;
  TimerQueue timers;
  PathSupervisor sup{clock, timers, *this, *this};
  std::vector<PathEvent> events;
  Duration rtt = milliseconds(20);
  Duration espEvery{0};
  bool cut = false;       // both directions
  bool cutOurs = false;   // only ours: the peer's ESP still arrives, our requests do not
  int dropResponses = 0;  // the next N checks go unanswered (a lossy path)
  bool inFlight = false;
  uint64_t checks = 0, probes = 0, resends = 0;
};

PathConfig standardPeer() {
  PathConfig c;
  c.probes = false;
  c.espSilence = milliseconds(300);
  c.livenessTimeout = milliseconds(500);
  c.deadLivenessInterval = milliseconds(1000);
  c.holdDown = milliseconds(1000);
  return c;
}

TEST(PathLiveness, OneWayTrafficToALivePeerChecksButNeverDies) {
  Peer t;
  t.sup.addPath(0, standardPeer());
  t.sup.setKeyed(0, true);
  t.sup.setActive(0, true);
  t.runFor(std::chrono::seconds(60));
  EXPECT_EQ(t.sup.state(0), PathState::kUp);
  EXPECT_EQ(t.probes, 0u);
  // One check per silence (300 ms) plus its answer (20 ms): about 187 in 60 s.
  EXPECT_GE(t.checks, 150u);
  EXPECT_LE(t.checks, 200u);
  EXPECT_EQ(t.sup.stats(0).counters.livenessChecks, t.checks);
}

TEST(PathLiveness, PeerEspIsProofEnoughAndIdlePathsAreNotChecked) {
  Peer t;
  t.espEvery = milliseconds(20);
  t.sup.addPath(0, standardPeer());
  t.sup.setKeyed(0, true);
  t.sup.setActive(0, true);
  t.startEsp(0);
  t.runFor(std::chrono::seconds(10));
  EXPECT_EQ(t.checks, 0u);
  // Idle: silence means nothing, whatever its length.
  t.espEvery = Duration::zero();
  t.sup.setActive(0, false);
  t.runFor(std::chrono::seconds(30));
  EXPECT_EQ(t.checks, 0u);
  EXPECT_EQ(t.sup.state(0), PathState::kUp);
}

TEST(PathLiveness, OffWithoutEspSilenceAsBefore) {
  Peer t;
  PathConfig c = standardPeer();
  c.espSilence = Duration::zero();
  t.sup.addPath(0, c);
  t.sup.setKeyed(0, true);
  t.sup.setActive(0, true);
  t.cut = true;
  t.runFor(std::chrono::seconds(10));
  EXPECT_EQ(t.checks, 0u);
  EXPECT_EQ(t.sup.state(0), PathState::kUp);
}

// A cut at 100 different moments of the check cycle, with and without the peer's ESP: the
// death is declared espSilence + livenessTimeout after the last proof of life at most (the
// silence that starts the check, then its timeout), never earlier than the timeout.
TEST(PathLiveness, CutIsDetectedWithinSilencePlusTimeout) {
  const PathConfig c = standardPeer();
  for (int esp = 0; esp < 2; ++esp) {
    Duration worst{0}, best = std::chrono::hours(1);
    for (int i = 0; i < 100; ++i) {
      Peer t;
      t.espEvery = esp ? milliseconds(20) : Duration::zero();
      t.sup.addPath(0, c);
      t.sup.setKeyed(0, true);
      t.sup.setActive(0, true);
      t.startEsp(0);
      t.runFor(std::chrono::seconds(2) + milliseconds(7 * i));
      ASSERT_EQ(t.sup.state(0), PathState::kUp);
      t.cut = true;
      t.runFor(std::chrono::seconds(3));
      auto death = t.last(PathState::kDead);
      ASSERT_TRUE(death.has_value()) << "cut " << i;
      EXPECT_EQ(death->cause, PathCause::kLivenessLost);
      worst = std::max(worst, death->silence);
      best = std::min(best, death->silence);
    }
    EXPECT_LE(worst, c.espSilence + c.livenessTimeout + milliseconds(1)) << "esp " << esp;
    EXPECT_GE(best, c.livenessTimeout) << "esp " << esp;
  }
}

TEST(PathLiveness, DeadPathIsCheckedSlowlyAndReturnsAfterHoldDown) {
  Peer t;
  const PathConfig c = standardPeer();
  t.sup.addPath(0, c);
  t.sup.setKeyed(0, true);
  t.sup.setActive(0, true);
  t.runFor(std::chrono::seconds(1));
  t.cut = true;
  t.runFor(std::chrono::seconds(2));
  ASSERT_EQ(t.sup.state(0), PathState::kDead);
  // Its flows moved away: the path goes idle, and is still checked, once a second.
  t.sup.setActive(0, false);
  const uint64_t before = t.checks;
  t.runFor(std::chrono::seconds(10));
  EXPECT_GE(t.checks - before, 9u);
  EXPECT_LE(t.checks - before, 11u);
  EXPECT_EQ(t.sup.state(0), PathState::kDead);
  // Healed: the next answered check brings it back (hold-down long over).
  t.cut = false;
  const TimePoint healed = t.clock.now();
  t.runFor(std::chrono::seconds(2));
  ASSERT_EQ(t.sup.state(0), PathState::kUp);
  auto up = t.last(PathState::kUp);
  EXPECT_EQ(up->cause, PathCause::kLivenessAnswered);
  EXPECT_LE(up->at - healed, c.deadLivenessInterval + t.rtt + milliseconds(1));
}

TEST(PathLiveness, AnAnswerDuringTheHoldDownWaitsForIt) {
  Peer t;
  PathConfig c = standardPeer();
  c.holdDown = std::chrono::seconds(5);
  c.maxHoldDown = std::chrono::seconds(5);
  t.sup.addPath(0, c);
  t.sup.setKeyed(0, true);
  t.sup.setActive(0, true);
  t.runFor(std::chrono::seconds(1));
  t.cut = true;
  t.runFor(std::chrono::seconds(1));
  auto death = t.last(PathState::kDead);
  ASSERT_TRUE(death.has_value());
  t.cut = false;  // answers again from the next check (1 s later)
  t.runFor(std::chrono::seconds(10));
  auto up = t.last(PathState::kUp);
  ASSERT_TRUE(up.has_value());
  EXPECT_EQ(up->cause, PathCause::kLivenessAnswered);
  EXPECT_GE(up->at - death->at, c.holdDown);
  EXPECT_LE(up->at - death->at, c.holdDown + milliseconds(1));
}

TEST(PathLiveness, ExternalDeathRecoversByLivenessToo) {
  Peer t;
  t.sup.addPath(0, standardPeer());
  t.sup.setKeyed(0, true);
  t.sup.markDead(0);
  ASSERT_EQ(t.sup.state(0), PathState::kDead);
  t.runFor(std::chrono::seconds(3));
  EXPECT_EQ(t.sup.state(0), PathState::kUp);
  EXPECT_EQ(t.last(PathState::kUp)->cause, PathCause::kLivenessAnswered);
}

PathConfig withRoundTrip() {
  PathConfig c = standardPeer();
  c.roundTripCheck = std::chrono::seconds(1);
  return c;
}

// Our direction cut alone: the peer's ESP keeps arriving (it proves only its direction),
// so only the periodic round-trip check can see it. A cut at 50 moments of the check
// cycle: Dead by kRoundTripLost within roundTripCheck + 2 x livenessTimeout, never by
// the peer's ESP brought back, and back Up only once a check is answered again.
TEST(PathLiveness, ACutOfOurDirectionAloneIsSeenByTheRoundTripCheck) {
  const PathConfig c = withRoundTrip();
  Duration worst{0}, best = std::chrono::hours(1);
  for (int i = 0; i < 50; ++i) {
    Peer t;
    t.espEvery = milliseconds(20);
    t.sup.addPath(0, c);
    t.sup.setKeyed(0, true);
    t.sup.setActive(0, true);
    t.startEsp(0);
    t.runFor(std::chrono::seconds(3) + milliseconds(41 * i));
    ASSERT_EQ(t.sup.state(0), PathState::kUp);
    const TimePoint cutAt = t.clock.now();
    t.cutOurs = true;
    t.runFor(std::chrono::seconds(3));
    auto death = t.last(PathState::kDead);
    ASSERT_TRUE(death.has_value()) << "cut " << i;
    EXPECT_EQ(death->cause, PathCause::kRoundTripLost);
    worst = std::max(worst, death->at - cutAt);
    best = std::min(best, death->at - cutAt);
    // The peer's ESP goes on arriving: it does not bring the path back.
    t.runFor(std::chrono::seconds(5));
    ASSERT_EQ(t.sup.state(0), PathState::kDead) << "cut " << i;
    t.cutOurs = false;
    const TimePoint healed = t.clock.now();
    t.runFor(std::chrono::seconds(3));
    ASSERT_EQ(t.sup.state(0), PathState::kUp) << "cut " << i;
    EXPECT_LE(t.last(PathState::kUp)->at - healed,
              c.deadLivenessInterval + t.rtt + milliseconds(1));
  }
  EXPECT_LE(worst, c.roundTripCheck + 2 * c.livenessTimeout + milliseconds(1));
  EXPECT_GE(best, 2 * c.livenessTimeout - milliseconds(20));  // a check already on its way
}

TEST(PathLiveness, RoundTripChecksAreOnePerIntervalAndOneLostAnswerIsForgiven) {
  Peer t;
  t.espEvery = milliseconds(20);
  t.sup.addPath(0, withRoundTrip());
  t.sup.setKeyed(0, true);
  t.sup.setActive(0, true);
  t.startEsp(0);
  t.runFor(std::chrono::seconds(60));
  // One per second plus its 20 ms answer: about 59 in 60 s.
  const PathCounters& n = t.sup.stats(0).counters;
  EXPECT_GE(n.roundTripChecks, 55u);
  EXPECT_LE(n.roundTripChecks, 61u);
  EXPECT_EQ(n.livenessChecks, n.roundTripChecks);
  // A lossy path: every third check loses its request or response once; the resend is
  // answered, so the path never dies.
  for (int i = 0; i < 20; ++i) {
    t.dropResponses = 1;
    t.runFor(std::chrono::seconds(3));
  }
  EXPECT_EQ(t.sup.state(0), PathState::kUp);
  EXPECT_FALSE(t.last(PathState::kDead).has_value());
  EXPECT_GE(t.resends, 19u);
  // Idle, the round-trip check stops too.
  t.sup.setActive(0, false);
  const uint64_t before = t.checks;
  t.runFor(std::chrono::seconds(30));
  EXPECT_EQ(t.checks, before);
}

TEST(PathLiveness, UnkeyedPathIsNeverChecked) {
  Peer t;
  t.sup.addPath(0, standardPeer());
  t.sup.setKeyed(0, true);
  t.sup.setActive(0, true);
  t.sup.setKeyed(0, false);
  t.runFor(std::chrono::seconds(5));
  EXPECT_EQ(t.checks, 0u);
  EXPECT_EQ(t.sup.state(0), PathState::kDown);
}

}  // namespace
}  // namespace braid::pathmon
