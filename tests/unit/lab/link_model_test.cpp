// The per-direction model in simulated time: statistics over many packets, the token bucket
// against a closed form, and the no-reorder clamp.
#include "deploy/lab/wanem/link_model.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace braid::wanem {
namespace {

LinkParams make(std::vector<std::string> tokens) {
  LinkParams p;
  EXPECT_TRUE(applyTokens(p, tokens));
  return p;
}

TEST(WanemModel, SameSeedSameDecisions) {
  DirectionModel a(42), b(42), c(43);
  LinkParams p = make({"loss=30%", "jitter=5ms", "delay=10ms", "dup=10%"});
  a.setParams(p);
  b.setParams(p);
  c.setParams(p);
  TimePoint t{};
  int differs = 0;
  for (int i = 0; i < 1000; ++i) {
    t += 1ms;
    Decision x = a.onPacket(t, 100), y = b.onPacket(t, 100), z = c.onPacket(t, 100);
    ASSERT_EQ(x.verdict, y.verdict);
    ASSERT_EQ(x.release, y.release);
    ASSERT_EQ(x.duplicate, y.duplicate);
    differs += x.verdict != z.verdict || x.release != z.release;
  }
  EXPECT_GT(differs, 100);
}

TEST(WanemModel, RandomLossRate) {
  DirectionModel m(1);
  m.setParams(make({"loss=2%"}));
  int lost = 0;
  constexpr int kN = 200000;
  for (int i = 0; i < kN; ++i)
    lost += m.onPacket(TimePoint{} + i * 1us, 100).verdict == Verdict::kDropLoss;
  // Binomial sd is 63 packets; 5 sd.
  EXPECT_NEAR(lost, 4000, 315);
}

TEST(WanemModel, GilbertElliottMeanLossAndBurstLength) {
  DirectionModel m(2);
  m.setParams(make({"burst=5%:4"}));
  constexpr int kN = 400000;
  int lost = 0, bursts = 0;
  bool prevLost = false;
  for (int i = 0; i < kN; ++i) {
    bool l = m.onPacket(TimePoint{} + i * 1us, 100).verdict == Verdict::kDropBurst;
    lost += l;
    bursts += l && !prevLost;
    prevLost = l;
  }
  EXPECT_NEAR(static_cast<double>(lost) / kN, 0.05, 0.005);
  EXPECT_NEAR(static_cast<double>(lost) / bursts, 4.0, 0.3);
}

TEST(WanemModel, DelayAndJitterBoundsWithoutReordering) {
  for (const char* dist : {"dist=uniform", "dist=normal"}) {
    DirectionModel m(3);
    m.setParams(make({"delay=20ms", "jitter=5ms", dist}));
    TimePoint t{}, last{};
    double sum = 0, sumSq = 0;
    constexpr int kN = 20000;
    for (int i = 0; i < kN; ++i) {
      t += 20ms;  // gaps > 2J: the clamp never acts, the raw distribution shows
      Decision d = m.onPacket(t, 100);
      ASSERT_EQ(d.verdict, Verdict::kForward);
      Duration delay = d.release - t;
      ASSERT_GE(delay, 15ms);
      ASSERT_LE(delay, 25ms);
      ASSERT_GE(d.release, last);
      last = d.release;
      double x = toMillis(delay) - 20.0;
      sum += x;
      sumSq += x * x;
    }
    double sd = std::sqrt(sumSq / kN - (sum / kN) * (sum / kN));
    // Uniform: J/sqrt(3) = 2.887; normal sigma J/2 truncated at 2 sigma: 0.4398 J = 2.199.
    EXPECT_NEAR(sd, std::string(dist) == "dist=uniform" ? 2.887 : 2.199, 0.06) << dist;
    EXPECT_NEAR(sum / kN, 0.0, 0.1) << dist;
  }
  // Back-to-back packets: releases never go backwards.
  DirectionModel m(4);
  m.setParams(make({"delay=20ms", "jitter=10ms"}));
  TimePoint t{}, last{};
  for (int i = 0; i < 10000; ++i) {
    t += 100us;
    Decision d = m.onPacket(t, 100);
    ASSERT_GE(d.release, last);
    ASSERT_GE(d.release - t, 10ms);
    last = d.release;
  }
}

TEST(WanemModel, TokenBucketRateAndTailDrop) {
  DirectionModel m(5);
  // 8 Mbit/s = 1 byte/us; 1000-byte packets cost 1 ms. Bucket 3000 bytes, queue 10.
  m.setParams(make({"rate=8mbit", "bucket=3000", "queue=10"}));
  TimePoint t0{};
  std::vector<Decision> ds;
  for (int i = 0; i < 20; ++i) ds.push_back(m.onPacket(t0, 1000));  // a burst of 20 at once
  // 3 leave at once (bucket), 10 wait (1 ms apart), the rest are tail drops.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ds[i].release, t0) << i;
  for (int i = 3; i < 13; ++i) {
    ASSERT_EQ(ds[i].verdict, Verdict::kForward) << i;
    EXPECT_EQ(ds[i].release - t0, std::chrono::milliseconds(i - 2)) << i;
  }
  for (int i = 13; i < 20; ++i) EXPECT_EQ(ds[i].verdict, Verdict::kDropQueue) << i;
  EXPECT_EQ(m.rateQueued(t0), 10u);
  EXPECT_EQ(m.rateQueued(t0 + 10ms), 0u);

  // Sustained overload: forwarded bytes over 1 s equal the rate (+ the bucket).
  DirectionModel s(6);
  s.setParams(make({"rate=10mbit", "queue=50"}));
  uint64_t bytes = 0;
  TimePoint last{};
  for (int i = 0; i < 20000; ++i) {  // 1500 B every 50 us = 240 Mbit/s offered for 1 s
    TimePoint t = t0 + i * 50us;
    Decision d = s.onPacket(t, 1500);
    if (d.verdict == Verdict::kForward && d.release < t0 + 1s) {
      bytes += 1500;
      last = d.release;
    }
  }
  EXPECT_NEAR(static_cast<double>(bytes) * 8, 10e6, 10e6 * 0.005);
}

TEST(WanemModel, BlackoutMtuReorderDuplicate) {
  DirectionModel m(7);
  m.setParams(make({"down"}));
  EXPECT_EQ(m.onPacket(TimePoint{}, 100).verdict, Verdict::kDropDown);
  m.setParams(make({"mtu=1400"}));
  EXPECT_EQ(m.onPacket(TimePoint{}, 1401).verdict, Verdict::kDropMtu);
  EXPECT_EQ(m.onPacket(TimePoint{}, 1400).verdict, Verdict::kForward);

  m.setParams(make({"delay=10ms", "reorder=25%", "dup=10%"}));
  int reordered = 0, dups = 0;
  constexpr int kN = 40000;
  for (int i = 0; i < kN; ++i) {
    TimePoint t = TimePoint{} + 1s + i * 1ms;
    Decision d = m.onPacket(t, 100);
    if (d.reordered) {
      ++reordered;
      EXPECT_EQ(d.release, t);  // skipped the delay line
    } else {
      EXPECT_EQ(d.release - t, 10ms);
    }
    dups += d.duplicate;
  }
  EXPECT_NEAR(reordered, kN / 4, 450);
  EXPECT_NEAR(dups, kN / 10, 320);
}

}  // namespace
}  // namespace braid::wanem
