// Per-direction loss and measured capacity: ForwardLoss and DeliveryRate on known sequences,
// ForwardLoss against the truth and a slow reference over random loss, reordering and peer
// restarts, and the supervisor in simulated time with a peer that reports its counts over a
// link with separate loss per direction and an optional bottleneck (a fluid queue).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include "pathmon/delivery_rate.hpp"
#include "pathmon/forward_loss.hpp"
#include "pathmon/supervisor.hpp"

namespace braid::pathmon {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// ---- The replier's counts ----

class Capture : public ProbeTransport, public PathListener {
 public:
  void sendProbe(PathId, Bytes shim) override { sent.emplace_back(shim.begin(), shim.end()); }
  void onPathEvent(const PathEvent&) override {}
  std::vector<std::vector<uint8_t>> sent;
};

ProbeMessage answer(PathSupervisor& sup, Capture& cap, PathId path, uint32_t seq) {
  ProbeMessage probe{ProbeType::kProbe, 9, seq, 1000 * uint64_t{seq}, 0, 0};
  std::array<uint8_t, kProbeSize> buf{};
  ByteWriter w(buf);
  EXPECT_TRUE(encodeProbe(probe, w));
  const size_t before = cap.sent.size();
  EXPECT_TRUE(sup.onProbeBytes(path, buf, TimePoint{} + seconds(1)));
  ProbeMessage reply;
  EXPECT_EQ(cap.sent.size(), before + 1);
  if (cap.sent.size() == before + 1) {
    EXPECT_EQ(cap.sent.back().size(), kProbeMaxSize);
    EXPECT_TRUE(decodeProbe(cap.sent.back(), reply));
  }
  return reply;
}

TEST(PathReplier, RepliesCarryTheRunningCounts) {
  ManualClock clock(TimePoint{} + seconds(1));
  TimerQueue timers;
  Capture cap;
  PathSupervisor sup(clock, timers, cap, cap);
  sup.addPath(3, PathConfig{});  // Down: the peer's probes are answered all the same
  for (uint32_t i = 1; i <= 3; ++i) {
    sup.setByteCounts(3, 111, 5000 + 100 * uint64_t{i});
    const ProbeMessage r = answer(sup, cap, 3, 40 + i);
    EXPECT_EQ(r.type, ProbeType::kReply);
    EXPECT_EQ(r.seq, 40 + i);
    EXPECT_TRUE(r.hasRxCounts);
    EXPECT_EQ(r.rxProbes, i);
    EXPECT_EQ(r.rxBytes, 5000 + 100 * uint64_t{i});
  }
  // The path added again (keyed anew with the shim): its count starts from 0, which the
  // prober takes for a restart.
  sup.addPath(3, PathConfig{});
  const ProbeMessage r = answer(sup, cap, 3, 50);
  EXPECT_EQ(r.rxProbes, 1u);
  EXPECT_EQ(r.rxBytes, 0u);
}

// ---- ForwardLoss ----

TEST(ForwardLoss, FromTheOldestAndNewestReportInTheWindow) {
  ForwardLoss f(100);
  EXPECT_FALSE(f.loss(0));
  f.onReport(1, 1, 1);
  EXPECT_FALSE(f.loss(1));  // one report says nothing yet
  // Probes 2..11 sent, the peer got 8 of them.
  f.onReport(11, 9, 11);
  ASSERT_TRUE(f.loss(11));
  EXPECT_DOUBLE_EQ(*f.loss(11), 0.2);
  // A late reply in between changes nothing: oldest and newest are the same.
  f.onReport(5, 4, 12);
  EXPECT_DOUBLE_EQ(*f.loss(12), 0.2);
  // Seq 1 leaves the window: from seq 5 (count 4) to 11 (count 9), 5 of 6.
  EXPECT_NEAR(*f.loss(101), 1.0 / 6, 1e-12);
  // Everything left it: nothing.
  EXPECT_FALSE(f.loss(200));
}

TEST(ForwardLoss, ACountGoingBackwardsIsAPeerRestart) {
  ForwardLoss f(100);
  f.onReport(10, 500, 10);
  f.onReport(20, 510, 20);
  EXPECT_DOUBLE_EQ(*f.loss(20), 0.0);
  f.onReport(30, 3, 30);  // the peer counts afresh
  EXPECT_EQ(f.resets(), 1u);
  EXPECT_FALSE(f.loss(30));
  f.onReport(25, 515, 31);  // a late reply from before the restart: ignored
  EXPECT_FALSE(f.loss(31));
  f.onReport(40, 11, 40);  // 10 sent, 8 received
  EXPECT_DOUBLE_EQ(*f.loss(40), 0.2);
  // More received than sent between two reports (probes reordered across one): clamped.
  ForwardLoss g(100);
  g.onReport(1, 5, 1);
  g.onReport(2, 7, 2);
  EXPECT_DOUBLE_EQ(*g.loss(2), 0.0);
}

TEST(ForwardLoss, ReturnLossIsTheRestOfTheRoundTrip) {
  EXPECT_DOUBLE_EQ(ForwardLoss::returnLoss(0.0, 0.0), 0.0);
  EXPECT_DOUBLE_EQ(ForwardLoss::returnLoss(0.1, 0.0), 0.1);
  EXPECT_NEAR(ForwardLoss::returnLoss(0.1, 0.1), 0.0, 1e-12);
  EXPECT_NEAR(ForwardLoss::returnLoss(0.19, 0.1), 0.1, 1e-12);  // 0.9 x 0.9 = 0.81
  EXPECT_DOUBLE_EQ(ForwardLoss::returnLoss(0.05, 0.1), 0.0);    // windows differ: clamped
  EXPECT_DOUBLE_EQ(ForwardLoss::returnLoss(1.0, 1.0), 0.0);
}

// The slow reference: every accepted report in a map, the same rules spelt out directly.
class SlowForwardLoss {
 public:
  explicit SlowForwardLoss(uint32_t window) : window_(window) {}
  void onReport(uint64_t seq, uint32_t count, uint64_t lastSent) {
    if (!in(seq, lastSent)) return;
    std::erase_if(reports_, [&](const auto& r) { return !in(r.first, lastSent); });
    if (!reports_.empty()) {
      const auto& [newestSeq, newestCount] = *reports_.rbegin();
      if (seq > newestSeq && count < newestCount) {
        reports_.clear();
      } else if (seq < newestSeq && count > newestCount) {
        return;
      }
    }
    reports_[seq] = count;
  }
  std::optional<double> loss(uint64_t lastSent) const {
    std::map<uint64_t, uint32_t> live;
    for (const auto& r : reports_) {
      if (in(r.first, lastSent)) live.insert(r);
    }
    if (live.size() < 2) return std::nullopt;
    const double sent = double(live.rbegin()->first - live.begin()->first);
    const double got = double(live.rbegin()->second) - double(live.begin()->second);
    return std::clamp(1.0 - got / sent, 0.0, 1.0);
  }

 private:
  bool in(uint64_t seq, uint64_t lastSent) const {
    return seq != 0 && seq <= lastSent && lastSent - seq < window_;
  }
  uint32_t window_;
  std::map<uint64_t, uint32_t> reports_;
};

// Probes every 20 ms, each lost forward or its reply lost back at random, replies delayed
// by up to `maxDelay` (reordered), and (optionally) the peer restarting its count at random.
// Without restarts the estimate is exactly the share of probes lost forward between the
// oldest and newest report in the window; always it matches the slow reference and stays
// in [0, 1].
void runRandomPattern(uint64_t seed, bool restarts) {
  std::mt19937_64 rng(seed);
  auto uniform = [&rng] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  const uint32_t window = 50 + static_cast<uint32_t>(rng() % 100);
  const double fwd = uniform() * 0.4, ret = uniform() * 0.4;
  const int64_t maxDelayMs = static_cast<int64_t>(rng() % 200);
  constexpr uint64_t kProbes = 3000;
  struct Arrival {
    int64_t atMs;
    uint64_t seq;
    uint32_t count;
  };
  std::vector<Arrival> arrivals;
  std::vector<bool> gotThere(kProbes + 1, false);
  std::vector<uint64_t> restartAt;  // seqs whose arrival restarted the count
  uint32_t count = 0;
  for (uint64_t seq = 1; seq <= kProbes; ++seq) {
    if (restarts && rng() % 700 == 0) {
      count = 0;
      restartAt.push_back(seq);
    }
    if (uniform() < fwd) continue;
    gotThere[seq] = true;
    ++count;
    if (uniform() < ret) continue;
    const int64_t delay = 10 + (maxDelayMs > 0 ? static_cast<int64_t>(rng() % maxDelayMs) : 0);
    arrivals.push_back({static_cast<int64_t>(seq) * 20 + delay, seq, count});
  }
  std::stable_sort(arrivals.begin(), arrivals.end(),
                   [](const Arrival& a, const Arrival& b) { return a.atMs < b.atMs; });
  ForwardLoss f(window);
  SlowForwardLoss slow(window);
  std::vector<uint64_t> reported;  // seqs reported so far
  for (const Arrival& a : arrivals) {
    const uint64_t lastSent = std::min<uint64_t>(static_cast<uint64_t>(a.atMs / 20), kProbes);
    f.onReport(a.seq, a.count, lastSent);
    slow.onReport(a.seq, a.count, lastSent);
    reported.push_back(a.seq);
    const auto got = f.loss(lastSent);
    const auto want = slow.loss(lastSent);
    ASSERT_EQ(got.has_value(), want.has_value()) << "seed " << seed << " seq " << a.seq;
    if (!got) continue;
    ASSERT_NEAR(*got, *want, 1e-12) << "seed " << seed << " seq " << a.seq;
    ASSERT_GE(*got, 0.0);
    ASSERT_LE(*got, 1.0);
    if (restarts) continue;
    // The truth over the same span: the oldest and newest reported seq in the window.
    uint64_t lo = UINT64_MAX, hi = 0;
    for (uint64_t s : reported) {
      if (s <= lastSent && lastSent - s < window) {
        lo = std::min(lo, s);
        hi = std::max(hi, s);
      }
    }
    ASSERT_LT(lo, hi);
    uint64_t lost = 0;
    for (uint64_t s = lo + 1; s <= hi; ++s) lost += !gotThere[s];
    ASSERT_NEAR(*got, double(lost) / double(hi - lo), 1e-12) << "seed " << seed;
  }
}

TEST(ForwardLoss, MatchesTheTruthOverRandomLossAndReordering) {
  for (uint64_t seed = 1; seed <= 40; ++seed) runRandomPattern(seed, false);
}

TEST(ForwardLoss, MatchesASlowReferenceAcrossPeerRestarts) {
  for (uint64_t seed = 100; seed <= 140; ++seed) runRandomPattern(seed, true);
}

// ---- DeliveryRate ----

// A reply's figures: our probe sent at `ms`, received by the peer `owdMs` later than the
// path's quiet one-way delay (its clock runs 7 us apart from ours: only differences count).
DeliverySample at(int64_t ms, uint64_t sent, uint64_t peerBytes, int64_t owdMs = 0) {
  return {TimePoint{} + milliseconds(ms), sent, static_cast<uint64_t>(ms + owdMs) * 1000 + 7,
          peerBytes};
}

TEST(DeliveryRate, OnlySaturatedSpansAreEvidence) {
  const TimePoint t0 = TimePoint{} + seconds(100);
  const Duration minRtt = milliseconds(10);
  // A quiet sample gives the one-way delay's minimum; the span measured starts 1 s later
  // with `owd` ms of queue, which both of its ends see.
  auto start = [&](DeliveryRate& r, int64_t owd) {
    r.onReply(at(0, 0, 0), minRtt, t0);
    r.onReply(at(1000, 0, 0, owd), minRtt, t0);
  };
  // 62 500 bytes per 100 ms delivered: 5 Mbit/s. Sent 625 000: 50 Mbit/s; 30 ms of queue.
  DeliveryRate r;
  start(r, 30);
  r.onReply(at(1100, 625'000, 62'500, 30), minRtt, t0);
  ASSERT_TRUE(r.capacityBps(t0));
  EXPECT_EQ(*r.capacityBps(t0), 5'000'000u);
  // No queue in our direction (one-way delay within 5 ms of its minimum): not evidence,
  // however fast we sent.
  DeliveryRate idle;
  start(idle, 4);
  idle.onReply(at(1100, 625'000, 62'500, 4), minRtt, t0);
  EXPECT_FALSE(idle.capacityBps(t0));
  EXPECT_EQ(idle.lastRateBps(), 5'000'000u);
  // A queue, but we sent less than 80 % of what arrived (someone else filled it).
  DeliveryRate other;
  start(other, 30);
  other.onReply(at(1100, 40'000, 62'500, 30), minRtt, t0);
  EXPECT_FALSE(other.capacityBps(t0));
  // Spans shorter than minSpan wait for a longer one.
  DeliveryRate shortSpan;
  start(shortSpan, 30);
  shortSpan.onReply(at(1050, 312'500, 31'250, 30), minRtt, t0);
  EXPECT_EQ(shortSpan.lastRateBps(), 0u);
  shortSpan.onReply(at(1120, 750'000, 75'000, 30), minRtt, t0);
  EXPECT_EQ(*shortSpan.capacityBps(t0), 5'000'000u);
}

TEST(DeliveryRate, AQueueInThePeersDirectionIsNotEvidence) {
  DeliveryRate r;
  const TimePoint t0 = TimePoint{} + seconds(100);
  uint64_t bytes = 0;
  for (int i = 0; i <= 50; ++i) {
    r.onReply(at(100 * i, bytes, bytes), milliseconds(10), t0 + milliseconds(100 * i));
    bytes += 25'000;  // 2 Mbit/s of ACKs, all delivered
  }
  EXPECT_FALSE(r.capacityBps(t0 + seconds(5)));
  EXPECT_EQ(r.lastRateBps(), 2'000'000u);
}

TEST(DeliveryRate, WindowedMaxThenExpiry) {
  DeliveryRateConfig c;
  DeliveryRate r(c);
  const TimePoint t0 = TimePoint{} + seconds(100);
  const Duration minRtt = milliseconds(10);
  uint64_t sent = 0, got = 0;
  int64_t ms = 0;
  auto step = [&](uint64_t deliveredPer100ms, TimePoint now) {
    ms += 100;
    sent += deliveredPer100ms * 2;
    got += deliveredPer100ms;
    r.onReply(at(ms, sent, got, 30), minRtt, now);
  };
  r.onReply(at(0, 0, 0), minRtt, t0);  // quiet: the one-way delay's minimum
  ms = 1000;
  r.onReply(at(ms, 0, 0, 30), minRtt, t0);
  step(125'000, t0);  // 10 Mbit/s
  step(62'500, t0 + seconds(5));
  EXPECT_EQ(*r.capacityBps(t0 + seconds(5)), 10'000'000u);  // the max within 10 s
  step(62'500, t0 + seconds(11));
  EXPECT_EQ(*r.capacityBps(t0 + seconds(11)), 5'000'000u);  // the 10 Mbit/s one aged out
  EXPECT_TRUE(r.capacityBps(t0 + seconds(11) + c.expiry - milliseconds(1)));
  EXPECT_FALSE(r.capacityBps(t0 + seconds(11) + c.expiry));
  // A peer restart (its count back to 0) starts a new span instead of a huge rate.
  r.onReply(at(ms + 100, sent + 1000, 10, 30), minRtt, t0 + seconds(12));
  EXPECT_EQ(r.evidence(), 3u);
  // Replies out of order (the peer's time went backwards) are ignored.
  r.onReply(at(ms - 50, sent, got, 30), minRtt, t0 + seconds(12));
  EXPECT_EQ(r.evidence(), 3u);
}

// ---- The supervisor with a reporting peer ----

// One path to a braid peer that counts what it receives and reports it in its replies.
// Loss is drawn per direction. With `bottleneckBps` set, our data goes through a drop-tail
// queue of `bufferTime` at that rate (a fluid model in 1 ms steps) and probes wait behind
// it; `sendBps` is what we offer. Edge's 5 ms poll of the byte counters is modelled too.
class DirSim : public ProbeTransport, public PathListener {
 public:
  explicit DirSim(uint64_t seed = 1) : rng_(seed) { tick(); }

  void sendProbe(PathId path, Bytes shim) override {
    ProbeMessage m;
    if (!decodeProbe(shim, m) || m.type != ProbeType::kProbe) return;
    txBytes_ += shim.size();
    if (draw(forwardLoss)) return;
    const Duration queueing = bottleneckBps > 0 ? queueDelay() : Duration::zero();
    timers.schedule(clock.now() + queueing, [this, path, m] {
      // Leaves the bottleneck: the peer's byte count is what had left it before.
      const uint64_t peerBytes = delivered_;
      timers.schedule(clock.now() + owd, [this, path, m, peerBytes] {
        ++peerCount;
        if (draw(returnLoss)) return;
        const uint64_t now = toWireMicros(clock.now());
        ProbeMessage reply = makeReply(m, now, now);
        reply.hasRxCounts = reports;
        reply.rxProbes = peerCount;
        reply.rxBytes = peerBytes;
        std::array<uint8_t, kProbeMaxSize> buf{};
        ByteWriter w(buf);
        ASSERT_TRUE(encodeProbe(reply, w));
        const size_t n = w.position();
        timers.schedule(clock.now() + owd, [this, path, buf, n] {
          (void)sup.onProbeBytes(path, Bytes(buf.data(), n), clock.now());
        });
      });
    });
  }
  void onPathEvent(const PathEvent& e) override { events.push_back(e); }

  void runFor(Duration d) { timers.runFor(clock, d); }

  ManualClock clock;
  TimerQueue timers;
  PathSupervisor sup{clock, timers, *this, *this};
  std::vector<PathEvent> events;
  Duration owd = milliseconds(2);
  double forwardLoss = 0, returnLoss = 0;
  bool reports = true;  // false: an older peer (28-byte replies)
  uint32_t peerCount = 0;
  double bottleneckBps = 0;
  double sendBps = 0;
  Duration bufferTime = milliseconds(30);

 private:
  Duration queueDelay() const {
    return std::chrono::duration_cast<Duration>(
        std::chrono::duration<double>(queue_ * 8 / bottleneckBps));
  }
  // Every millisecond: our offered data enters the queue, the bottleneck drains it; every
  // 5 ms edge's poll hands the byte counts to the supervisor.
  void tick() {
    timers.schedule(clock.now() + milliseconds(1), [this] {
      const double offered = sendBps / 8 / 1000;
      txBytes_ += static_cast<uint64_t>(offered);
      if (bottleneckBps > 0) {
        queue_ += offered;
        const double out = std::min(queue_, bottleneckBps / 8 / 1000);
        queue_ -= out;
        delivered_ += static_cast<uint64_t>(out);
        queue_ =
            std::min(queue_, bottleneckBps / 8 * std::chrono::duration<double>(bufferTime).count());
      } else {
        delivered_ += static_cast<uint64_t>(offered);
      }
      if (++ticks_ % 5 == 0) sup.setByteCounts(0, txBytes_, 0);
      tick();
    });
  }
  bool draw(double p) { return p > 0 && static_cast<double>(rng_() >> 11) * 0x1.0p-53 < p; }
  std::mt19937_64 rng_;
  double queue_ = 0;
  uint64_t delivered_ = 0;
  uint64_t txBytes_ = 0;
  uint64_t ticks_ = 0;
};

void startPath(DirSim& sim, PathConfig c = {}) {
  c.activeInterval = milliseconds(20);
  sim.sup.addPath(0, c);
  sim.sup.setActive(0, true);
  sim.sup.setKeyed(0, true);
}

TEST(PathDirections, LostRepliesAreReturnLossNotForward) {
  DirSim sim(7);
  sim.returnLoss = 0.08;
  startPath(sim);
  sim.runFor(seconds(20));
  const PathStats s = sim.sup.stats(0);
  EXPECT_GT(s.loss, 0.03);  // the round trip sees it
  EXPECT_EQ(s.lossForward, 0.0);
  EXPECT_NEAR(s.lossReturn, s.loss, 1e-9);
}

TEST(PathDirections, LostProbesAreForwardLoss) {
  DirSim sim(8);
  sim.forwardLoss = 0.08;
  startPath(sim);
  sim.runFor(seconds(20));
  const PathStats s = sim.sup.stats(0);
  EXPECT_GT(s.loss, 0.03);
  // Over nearly the same window as the round trip (oldest to newest reply).
  EXPECT_NEAR(s.lossForward, s.loss, 0.03);
  EXPECT_LT(s.lossReturn, 0.03);
}

TEST(PathDirections, BothDirectionsSplit) {
  DirSim sim(9);
  sim.forwardLoss = 0.10;
  sim.returnLoss = 0.05;
  PathConfig c;
  c.lossWindow = 1000;  // a long window: the split converges on the configured figures
  c.degradeLoss = 0.5;
  startPath(sim, c);
  sim.runFor(seconds(40));
  const PathStats s = sim.sup.stats(0);
  EXPECT_NEAR(s.lossForward, 0.10, 0.025);
  EXPECT_NEAR(s.lossReturn, 0.05, 0.025);
}

TEST(PathDirections, AnOlderPeerReportsNothing) {
  DirSim sim;
  sim.reports = false;
  sim.returnLoss = 0.05;
  startPath(sim);
  sim.runFor(seconds(5));
  const PathStats s = sim.sup.stats(0);
  EXPECT_EQ(s.lossForward, -1.0);
  EXPECT_EQ(s.lossReturn, -1.0);
  EXPECT_EQ(s.capacityMeasuredBps, 0u);
}

TEST(PathDirections, APeerRestartNeverYieldsLossOutsideZeroToOne) {
  DirSim sim(3);
  sim.forwardLoss = 0.05;
  startPath(sim);
  for (int i = 0; i < 40; ++i) {
    sim.runFor(milliseconds(250));
    if (i % 10 == 5) sim.peerCount = 0;  // the peer started again
    const PathStats s = sim.sup.stats(0);
    if (s.lossForward != -1.0) {
      EXPECT_GE(s.lossForward, 0.0);
      EXPECT_LE(s.lossForward, 1.0);
    }
  }
  EXPECT_GE(sim.sup.stats(0).lossForward, 0.0);
}

TEST(PathCapacity, SaturatedBottleneckIsMeasuredWithinAFewProbes) {
  DirSim sim;
  sim.bottleneckBps = 5e6;
  startPath(sim);
  sim.runFor(seconds(3));  // idle: probes only, the min RTT is the base RTT
  EXPECT_EQ(sim.sup.stats(0).capacityMeasuredBps, 0u);
  sim.sendBps = 50e6;  // what a 50 Mbit/s configured path would be sent
  sim.runFor(milliseconds(300));
  const uint64_t c = sim.sup.stats(0).capacityMeasuredBps;
  EXPECT_GE(c, 4'750'000u);
  EXPECT_LE(c, 5'250'000u);
  EXPECT_EQ(sim.sup.state(0), PathState::kUp);
  sim.runFor(seconds(3));  // stays measured while saturated
  EXPECT_NEAR(double(sim.sup.stats(0).capacityMeasuredBps), 5e6, 0.25e6);
}

TEST(PathCapacity, AnIdleOrAppLimitedPathSaysNothing) {
  DirSim sim;
  sim.bottleneckBps = 5e6;
  startPath(sim);
  sim.runFor(seconds(5));
  EXPECT_EQ(sim.sup.stats(0).capacityMeasuredBps, 0u);
  sim.sendBps = 3e6;  // under the bottleneck: no queue, no evidence
  sim.runFor(seconds(5));
  EXPECT_EQ(sim.sup.stats(0).capacityMeasuredBps, 0u);
}

TEST(PathCapacity, MeasurementExpiresWithoutEvidence) {
  DirSim sim;
  sim.bottleneckBps = 5e6;
  PathConfig c;
  startPath(sim, c);
  sim.runFor(seconds(3));
  sim.sendBps = 50e6;
  sim.runFor(seconds(1));
  ASSERT_GT(sim.sup.stats(0).capacityMeasuredBps, 0u);
  sim.sendBps = 0;
  sim.runFor(c.capacity.expiry - seconds(1));
  EXPECT_GT(sim.sup.stats(0).capacityMeasuredBps, 0u);  // held: no contrary evidence
  sim.runFor(seconds(2));
  EXPECT_EQ(sim.sup.stats(0).capacityMeasuredBps, 0u);
}

}  // namespace
}  // namespace braid::pathmon
