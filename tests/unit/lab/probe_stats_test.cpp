#include "deploy/lab/wanem/probe_stats.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace braid::wanem {
namespace {

constexpr int64_t kMs = 1000000;

// A 50 packets/s stream (20 ms spacing) with 4 ms one-way delay, minus the `lost` ones.
std::vector<ProbeSample> stream(uint64_t count, const std::vector<uint64_t>& lost = {}) {
  std::vector<ProbeSample> v;
  for (uint64_t i = 0; i < count; ++i) {
    if (std::find(lost.begin(), lost.end(), i) != lost.end()) continue;
    v.push_back({i, 1000 * kMs + static_cast<int64_t>(i) * 20 * kMs, 4 * kMs, 200});
  }
  return v;
}

TEST(ProbeStats, CleanStream) {
  auto r = analyzeProbe(stream(100), 100);
  EXPECT_EQ(r.received, 100u);
  EXPECT_EQ(r.unique, 100u);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.dup, 0u);
  EXPECT_EQ(r.bursts, 0u);
  EXPECT_EQ(r.maxBurst, 0u);
  EXPECT_DOUBLE_EQ(r.maxGapMs, 20.0);
  EXPECT_DOUBLE_EQ(r.gapP99Ms, 20.0);
  EXPECT_DOUBLE_EQ(r.owdP50Ms, 4.0);
  EXPECT_DOUBLE_EQ(r.owdStdMs, 0.0);
  // 99 intervals of 20 ms carry 99 datagrams of 228 IP bytes.
  EXPECT_NEAR(r.rateBps, 99 * 228 * 8 / 1.98, 1e-6);
}

TEST(ProbeStats, OutageIsTheLongestGapAndOneBurst) {
  // Packets 10..14 lost: 5 missing, so the gap from 9 to 15 is 6 x 20 ms.
  auto r = analyzeProbe(stream(50, {10, 11, 12, 13, 14}), 50);
  EXPECT_EQ(r.lost, 5u);
  EXPECT_EQ(r.bursts, 1u);
  EXPECT_EQ(r.maxBurst, 5u);
  EXPECT_DOUBLE_EQ(r.maxGapMs, 120.0);
  EXPECT_DOUBLE_EQ(r.maxGapAtMs, 9 * 20.0);
  EXPECT_EQ(r.maxGapSeq, 15u);
  // Among 44 intervals the 99th percentile (rank round(0.99 x 43) = 43) is the longest one;
  // among 297 it is the spacing.
  EXPECT_DOUBLE_EQ(r.gapP99Ms, 120.0);
  auto big = analyzeProbe(stream(300, {100, 101}), 300);
  EXPECT_DOUBLE_EQ(big.maxGapMs, 60.0);
  EXPECT_DOUBLE_EQ(big.gapP99Ms, 20.0);
}

TEST(ProbeStats, TailLossShowsInLostNotInGaps) {
  auto r = analyzeProbe(stream(50, {47, 48, 49}), 50);
  EXPECT_EQ(r.lost, 3u);
  EXPECT_EQ(r.maxBurst, 3u);
  EXPECT_DOUBLE_EQ(r.maxGapMs, 20.0);
}

TEST(ProbeStats, DuplicatesAreCountedAndDoNotFillGaps) {
  // Duplication over two paths: every packet also arrives 11 ms later over the slower
  // path, and the fast path loses 10..19. The copies fill the hole; the longest gap
  // between first deliveries is 20 ms + 11 ms at each edge of the outage, no more.
  std::vector<ProbeSample> v;
  for (uint64_t i = 0; i < 40; ++i) {
    int64_t t = static_cast<int64_t>(i) * 20 * kMs;
    if (i < 10 || i >= 20) v.push_back({i, t + 4 * kMs, 4 * kMs, 200});
    v.push_back({i, t + 15 * kMs, 15 * kMs, 200});
  }
  std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.rxNs < b.rxNs; });
  auto r = analyzeProbe(v, 40);
  EXPECT_EQ(r.received, 70u);
  EXPECT_EQ(r.unique, 40u);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.dup, 30u);
  EXPECT_EQ(r.reordered, 0u);
  EXPECT_DOUBLE_EQ(r.maxGapMs, 31.0);  // 9 at 184 ms -> 10 at 215 ms
  EXPECT_EQ(r.maxGapSeq, 10u);
  EXPECT_DOUBLE_EQ(r.owdMinMs, 4.0);
}

TEST(ProbeStats, GapsFollowReceiveTimeNotArrivalOrder) {
  // Two samples handed over in the wrong order: the gap is computed over time order.
  std::vector<ProbeSample> v = {{0, 0, 1, 100}, {2, 40 * kMs, 1, 100}, {1, 10 * kMs, 1, 100}};
  auto r = analyzeProbe(v, 3);
  EXPECT_EQ(r.reordered, 1u);
  EXPECT_DOUBLE_EQ(r.maxGapMs, 30.0);
  EXPECT_EQ(r.maxGapSeq, 2u);
}

TEST(ProbeStats, OutOfRangeSequenceNumbersAreIgnored) {
  auto v = stream(10);
  v.push_back({1000000, 2000 * kMs, 4 * kMs, 200});  // above the sender's count
  auto r = analyzeProbe(v, 10);
  EXPECT_EQ(r.outOfRange, 1u);
  EXPECT_EQ(r.received, 10u);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_DOUBLE_EQ(r.maxGapMs, 20.0);
  // Without a count, a bound on the sequence keeps the receiver from allocating it.
  auto u = analyzeProbe(v, 0, 1000);
  EXPECT_EQ(u.outOfRange, 1u);
  EXPECT_EQ(u.expected, 10u);
}

// Differential: random streams against a plain reference for lost, dup, bursts, gaps.
TEST(ProbeStats, MatchesReferenceOnRandomStreams) {
  std::mt19937_64 rng(12);
  for (int round = 0; round < 200; ++round) {
    uint64_t count = 1 + rng() % 300;
    std::vector<ProbeSample> v;
    for (uint64_t i = 0; i < count; ++i) {
      int copies = static_cast<int>(rng() % 10 == 0 ? 0 : 1 + (rng() % 8 == 0));
      for (int c = 0; c < copies; ++c) {
        int64_t rx = static_cast<int64_t>(i) * 20 * kMs + static_cast<int64_t>(rng() % (30 * kMs));
        v.push_back({i, rx, 1, 100});
      }
    }
    std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.rxNs < b.rxNs; });
    auto r = analyzeProbe(v, count);
    // Reference: first delivery time per sequence number, by brute force.
    std::vector<int64_t> first(count, -1);
    uint64_t dup = 0;
    for (auto& s : v) {
      if (first[s.seq] >= 0) {
        ++dup;
      } else {
        first[s.seq] = s.rxNs;
      }
    }
    std::vector<int64_t> times;
    uint64_t lost = 0, maxBurst = 0, runLen = 0;
    for (uint64_t i = 0; i < count; ++i) {
      if (first[i] < 0) {
        ++lost;
        maxBurst = std::max(maxBurst, ++runLen);
      } else {
        runLen = 0;
        times.push_back(first[i]);
      }
    }
    std::sort(times.begin(), times.end());
    int64_t maxGap = 0;
    for (size_t i = 1; i < times.size(); ++i) maxGap = std::max(maxGap, times[i] - times[i - 1]);
    ASSERT_EQ(r.lost, lost) << round;
    ASSERT_EQ(r.dup, dup) << round;
    ASSERT_EQ(r.maxBurst, maxBurst) << round;
    ASSERT_DOUBLE_EQ(r.maxGapMs, static_cast<double>(maxGap) / 1e6) << round;
    ASSERT_LE(r.gapP99Ms, r.maxGapMs) << round;
  }
}

}  // namespace
}  // namespace braid::wanem
