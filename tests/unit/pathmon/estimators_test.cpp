// Estimators against known sequences, and the loss window against a slow reference.
#include "pathmon/estimators.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

namespace braid::pathmon {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(RttEstimator, FollowsRfc6298Arithmetic) {
  RttEstimator e;
  EXPECT_FALSE(e.hasSample());
  e.add(milliseconds(100));
  EXPECT_EQ(e.srtt(), milliseconds(100));   // 2.2: SRTT = R
  EXPECT_EQ(e.rttvar(), milliseconds(50));  //      RTTVAR = R/2
  e.add(milliseconds(120));
  // 2.3: RTTVAR = 3/4 * 50 + 1/4 * |100 - 120| = 42.5; SRTT = 7/8 * 100 + 1/8 * 120 = 102.5
  EXPECT_EQ(e.rttvar(), microseconds(42500));
  EXPECT_EQ(e.srtt(), microseconds(102500));
  e.add(milliseconds(80));
  // RTTVAR = 3/4 * 42.5 + 1/4 * 22.5 = 37.5; SRTT = 7/8 * 102.5 + 1/8 * 80 = 99.6875
  EXPECT_EQ(e.rttvar(), microseconds(37500));
  EXPECT_EQ(e.srtt(), Duration(99687500));
  EXPECT_EQ(e.latest(), milliseconds(80));
  EXPECT_EQ(e.samples(), 3u);
}

TEST(RttEstimator, WindowedMinAndPercentiles) {
  RttEstimator e;
  EXPECT_EQ(e.percentile(0.5), Duration::zero());
  // 1..100 ms in a scrambled order: nearest-rank percentiles are exact.
  std::vector<int> v(100);
  for (int i = 0; i < 100; ++i) v[i] = i + 1;
  std::shuffle(v.begin(), v.end(), std::mt19937(7));
  for (int x : v) e.add(milliseconds(x));
  EXPECT_EQ(e.windowMin(), milliseconds(1));
  EXPECT_EQ(e.percentile(0.0), milliseconds(1));
  EXPECT_EQ(e.percentile(0.5), milliseconds(50));
  EXPECT_EQ(e.percentile(0.95), milliseconds(95));
  EXPECT_EQ(e.percentile(0.99), milliseconds(99));
  EXPECT_EQ(e.percentile(1.0), milliseconds(100));
  // Only the last kWindow samples count: 101..300 push the first 44 added out.
  for (int x = 101; x <= 300; ++x) e.add(milliseconds(x));
  int expectedMin = *std::min_element(v.begin() + 44, v.end());
  EXPECT_EQ(e.windowMin(), milliseconds(expectedMin));
  EXPECT_EQ(e.percentile(1.0), milliseconds(300));
}

// Every sample lands in the first bucket whose bound it does not exceed (le), against a slow
// reference over random RTTs and the bounds themselves; the window does not apply.
TEST(RttEstimator, HistogramCountsEverySampleInItsBucket) {
  RttEstimator e;
  const auto& bounds = RttHistogram::kBounds;
  std::vector<Duration> samples;
  std::mt19937_64 rng(11);
  for (int i = 0; i < 2000; ++i) samples.push_back(microseconds(rng() % 3'000'000));
  for (double b : bounds) {
    samples.push_back(std::chrono::round<Duration>(std::chrono::duration<double>(b)));
  }
  Duration sum{0};
  for (Duration d : samples) {
    e.add(d);
    sum += d;
  }
  std::vector<uint64_t> ref(bounds.size() + 1, 0);
  for (Duration d : samples) {
    size_t i = bounds.size();
    for (size_t b = 0; b < bounds.size(); ++b) {
      if (std::chrono::duration<double>(d).count() <= bounds[b]) {
        i = b;
        break;
      }
    }
    ++ref[i];
  }
  const RttHistogram& h = e.histogram();
  for (size_t i = 0; i <= bounds.size(); ++i) EXPECT_EQ(h.bucket(i), ref[i]) << i;
  EXPECT_EQ(h.count(), samples.size());
  EXPECT_EQ(h.sum(), sum);
  EXPECT_GT(h.bucket(bounds.size()), 0u);  // samples above 2 s: +Inf
  EXPECT_TRUE(std::is_sorted(bounds.begin(), bounds.end()));
}

TEST(JitterEstimator, MatchesRfc3550Recurrence) {
  JitterEstimator j;
  EXPECT_FALSE(j.hasSample());
  std::mt19937_64 rng(3);
  double ref = 0;
  int64_t last = 0;
  for (int i = 0; i < 2000; ++i) {
    int64_t transit = static_cast<int64_t>(rng() % 20'000'000);  // 0..20 ms
    j.add(Duration(transit));
    if (i > 0) ref += (std::fabs(static_cast<double>(transit - last)) - ref) / 16.0;
    last = transit;
  }
  EXPECT_TRUE(j.hasSample());
  // Integer A.8 arithmetic tracks the real-valued recurrence to within a few ns.
  EXPECT_NEAR(static_cast<double>(j.jitter().count()), ref, 20.0);
}

TEST(JitterEstimator, KnownSteps) {
  JitterEstimator j;
  j.add(milliseconds(0));
  j.add(milliseconds(10));
  EXPECT_EQ(j.jitter(), microseconds(625));  // 10 / 16
  j.add(milliseconds(10));
  EXPECT_EQ(j.jitter(), Duration(585937));  // 0.625 * 15/16 = 0.5859375 ms
  // A constant transit converges to zero jitter; an alternating one to its step.
  JitterEstimator a;
  for (int i = 0; i < 400; ++i) a.add(milliseconds(i % 2 == 0 ? 0 : 4));
  EXPECT_NEAR(static_cast<double>(a.jitter().count()), 4e6, 1e3);
}

TEST(LossWindow, LateIsNotLost) {
  LossWindow w(10);
  for (uint64_t s = 1; s <= 4; ++s) w.onSent(s);
  EXPECT_EQ(w.pending(), 4u);
  EXPECT_EQ(w.onReply(1), ProbeOutcome::kPending);
  EXPECT_TRUE(w.onTimeout(2));
  EXPECT_TRUE(w.onTimeout(3));
  EXPECT_FALSE(w.onTimeout(1));  // already answered
  EXPECT_EQ(w.lost(), 2u);
  EXPECT_DOUBLE_EQ(w.lossRatio(), 2.0 / 3.0);
  EXPECT_EQ(w.onReply(3), ProbeOutcome::kLost);  // late
  EXPECT_EQ(w.late(), 1u);
  EXPECT_EQ(w.lost(), 1u);
  EXPECT_DOUBLE_EQ(w.lossRatio(), 1.0 / 3.0);
  EXPECT_EQ(w.onReply(3), ProbeOutcome::kLate);  // duplicate: no change
  EXPECT_EQ(w.late(), 1u);
  EXPECT_EQ(w.onReply(99), ProbeOutcome::kNone);  // never sent
}

TEST(LossWindow, SlidesOutOldOutcomes) {
  LossWindow w(4);
  for (uint64_t s = 1; s <= 4; ++s) {
    w.onSent(s);
    EXPECT_TRUE(w.onTimeout(s));
  }
  EXPECT_EQ(w.lost(), 4u);
  w.onSent(5);  // 1 leaves
  EXPECT_EQ(w.lost(), 3u);
  EXPECT_EQ(w.outcome(1), ProbeOutcome::kNone);
  EXPECT_EQ(w.onReply(1), ProbeOutcome::kNone);
  w.onSent(100);  // a jump clears everything
  EXPECT_EQ(w.lost(), 0u);
  EXPECT_EQ(w.pending(), 1u);
  w.forgetResolved();
  EXPECT_EQ(w.pending(), 1u);
}

// Every probe's outcome in a map; counts taken over the last `size` numbers sent.
class ReferenceLoss {
 public:
  explicit ReferenceLoss(uint64_t size) : size_(size) {}
  void onSent(uint64_t seq) {
    if (seq <= last_) return;
    last_ = seq;
    m_[seq] = ProbeOutcome::kPending;
  }
  bool in(uint64_t seq) const { return last_ > 0 && seq <= last_ && last_ - seq < size_; }
  ProbeOutcome outcome(uint64_t seq) const {
    if (!in(seq)) return ProbeOutcome::kNone;
    auto it = m_.find(seq);
    return it == m_.end() ? ProbeOutcome::kNone : it->second;
  }
  ProbeOutcome onReply(uint64_t seq) {
    ProbeOutcome prev = outcome(seq);
    if (prev == ProbeOutcome::kPending) m_[seq] = ProbeOutcome::kReceived;
    if (prev == ProbeOutcome::kLost) m_[seq] = ProbeOutcome::kLate;
    return prev;
  }
  bool onTimeout(uint64_t seq) {
    if (outcome(seq) != ProbeOutcome::kPending) return false;
    m_[seq] = ProbeOutcome::kLost;
    return true;
  }
  void forget(uint64_t from, uint64_t to) {
    for (uint64_t s = from; s < to; ++s) {
      ProbeOutcome o = outcome(s);
      if (o != ProbeOutcome::kPending && o != ProbeOutcome::kNone) m_.erase(s);
    }
  }
  uint32_t count(ProbeOutcome o) const {
    uint32_t n = 0;
    for (uint64_t s = last_ >= size_ ? last_ - size_ + 1 : 1; s <= last_; ++s) {
      if (outcome(s) == o) ++n;
    }
    return n;
  }
  uint64_t last() const { return last_; }

 private:
  uint64_t size_;
  uint64_t last_ = 0;
  std::map<uint64_t, ProbeOutcome> m_;
};

TEST(LossWindow, MatchesSlowReference) {
  for (uint32_t size : {1u, 7u, 64u, 100u}) {
    std::mt19937_64 rng(size);
    LossWindow w(size);
    ReferenceLoss ref(size);
    uint64_t next = 1;
    for (int op = 0; op < 20000; ++op) {
      uint64_t r = rng() % 100;
      uint64_t span = 2 * size + 3;
      uint64_t target = ref.last() + 2 > span ? ref.last() + 2 - span + rng() % span : rng() % span;
      if (r < 30) {
        next += rng() % 50 == 0 ? 1 + rng() % (2 * size) : 1;  // sometimes a gap
        w.onSent(next);
        ref.onSent(next);
      } else if (r < 65) {
        ASSERT_EQ(w.onReply(target), ref.onReply(target)) << "size " << size << " op " << op;
      } else if (r < 97) {
        ASSERT_EQ(w.onTimeout(target), ref.onTimeout(target)) << "size " << size;
      } else {
        const uint64_t to = target + rng() % (size + 2);
        w.forgetResolved(target, to);  // the supervisor's "forget the outage"
        ref.forget(target, to);
      }
      ASSERT_EQ(w.outcome(target), ref.outcome(target));
      if (op % 97 == 0) {
        ASSERT_EQ(w.received(), ref.count(ProbeOutcome::kReceived)) << op;
        ASSERT_EQ(w.lost(), ref.count(ProbeOutcome::kLost)) << op;
        ASSERT_EQ(w.late(), ref.count(ProbeOutcome::kLate)) << op;
        ASSERT_EQ(w.pending(), ref.count(ProbeOutcome::kPending)) << op;
      }
    }
  }
}

}  // namespace
}  // namespace braid::pathmon
