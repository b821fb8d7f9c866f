// EgressShaper in simulated time: the rate holds over a long run, realtime goes first,
// business and bulk share 3:1 while both are backlogged, queues are bounded, and the next
// release time is exact.
#include "edge/shaper.hpp"

#include <gtest/gtest.h>

namespace braid::edge {
namespace {

using policy::Priority;
using std::chrono::microseconds;
using std::chrono::milliseconds;

// 50 Mbit/s (6.25 MB/s) with unbounded queues, and 20 000 bulk packets of 1250 bytes
// waiting: 4 s of backlog.
EgressShaper<int> backlogged() {
  ShaperConfig c;
  c.rateBitsPerSecond = 50'000'000;
  c.otherPackets = 100000;
  c.otherBytes = 1u << 30;
  EgressShaper<int> s(c);
  for (int i = 0; i < 20000; ++i) EXPECT_TRUE(s.push(int(i), Priority::kBulk, 1250));
  return s;
}

TEST(ShaperTest, HoldsTheRateOverALongRun) {
  EgressShaper<int> s = backlogged();
  TimePoint now{};
  uint64_t sent = 0;
  // One second of 100 us ticks.
  for (int t = 0; t < 10000; ++t) {
    now += microseconds(100);
    while (auto x = s.pop(now)) ++sent;
  }
  // 6.25 MB/s / 1250 B = 5000 packets/s, plus the initial burst (3 ms of rate: 15 packets).
  EXPECT_GE(sent, 4990u);
  EXPECT_LE(sent, 5025u);
  EXPECT_EQ(s.counters().sent[2], sent);
}

// The sending thread is sometimes woken late (a loaded machine, a normal-priority braidd).
// The bucket holds 3 ms of rate, so a wake-up up to ~3 ms late costs no rate; a longer stall
// releases at most that burst at once, which bounds the queue it makes in the link.
TEST(ShaperTest, LateWakeUpsWithinTheBurstCostNoRate) {
  EgressShaper<int> s = backlogged();
  TimePoint now{};
  uint64_t sent = 0;
  // One second of 2.5 ms wake-ups: each finds 2.5 ms of tokens waiting.
  for (int t = 0; t < 400; ++t) {
    now += microseconds(2500);
    while (auto x = s.pop(now)) ++sent;
  }
  EXPECT_GE(sent, 4990u);
  EXPECT_LE(sent, 5025u);
  // A 20 ms stall: only the bucket (3 ms, 15 packets) goes out at once, not 20 ms of backlog.
  now += milliseconds(20);
  size_t burst = 0;
  while (auto x = s.pop(now)) ++burst;
  EXPECT_GE(burst, 15u);
  EXPECT_LE(burst, 16u);
}

TEST(ShaperTest, RealtimeFirstThenBusinessAndBulkThreeToOne) {
  ShaperConfig c;
  c.rateBitsPerSecond = 8'000'000;  // 1 MB/s: 1000 B per ms
  c.otherPackets = 1000;
  c.otherBytes = 1u << 30;
  EgressShaper<int> s(c);
  for (int i = 0; i < 400; ++i) {
    ASSERT_TRUE(s.push(100 + i, Priority::kBulk, 1000));
    ASSERT_TRUE(s.push(2000 + i, Priority::kBusiness, 1000));
  }
  ASSERT_TRUE(s.push(1, Priority::kRealtime, 200));
  TimePoint now{};
  auto first = s.pop(now);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, 1);  // the realtime packet jumps 800 queued ones
  int business = 0, bulk = 0;
  for (int t = 0; t < 400; ++t) {
    now += milliseconds(1);
    while (auto x = s.pop(now)) (*x >= 2000 ? business : bulk)++;
  }
  ASSERT_GT(bulk, 0);
  const double ratio = double(business) / bulk;
  EXPECT_NEAR(ratio, 3.0, 0.2) << business << ":" << bulk;
  // A realtime packet arriving now is the very next one out.
  ASSERT_TRUE(s.push(7, Priority::kRealtime, 200));
  now += milliseconds(1);
  auto x = s.pop(now);
  ASSERT_TRUE(x);
  EXPECT_EQ(*x, 7);
}

TEST(ShaperTest, QueuesAreBoundedAndDropsCounted) {
  ShaperConfig c;
  c.rateBitsPerSecond = 1'000'000;
  c.realtimePackets = 4;
  c.otherPackets = 8;
  c.otherBytes = 5000;
  EgressShaper<int> s(c);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(s.push(int(i), Priority::kRealtime, 100));
  EXPECT_FALSE(s.push(9, Priority::kRealtime, 100));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(s.push(int(i), Priority::kBulk, 1000));
  EXPECT_FALSE(s.push(9, Priority::kBulk, 1000));  // 6000 bytes > 5000
  EXPECT_EQ(s.counters().dropped[0], 1u);
  EXPECT_EQ(s.counters().dropped[2], 1u);
  EXPECT_EQ(s.queued(Priority::kBulk), 5u);
}

TEST(ShaperTest, NextReleaseIsWhenTokensAllowTheNextPacket) {
  ShaperConfig c;
  c.rateBitsPerSecond = 8'000'000;  // 1 byte per us
  c.burstBytes = 1000;
  EgressShaper<int> s(c);
  TimePoint now{};
  EXPECT_FALSE(s.nextRelease(now));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(s.push(int(i), Priority::kBusiness, 1000));
  EXPECT_EQ(*s.nextRelease(now), now);
  ASSERT_TRUE(s.pop(now));  // spends the 1000-byte burst
  EXPECT_FALSE(s.pop(now));
  auto when = s.nextRelease(now);
  ASSERT_TRUE(when);
  EXPECT_GT(*when, now);
  EXPECT_LE(*when, now + microseconds(2));  // tokens reached 0 exactly: any time now
  now += microseconds(1);
  EXPECT_TRUE(s.pop(now));  // 1 token > 0: one packet may go (tokens go negative: -999)
  when = s.nextRelease(now);
  ASSERT_TRUE(when);
  EXPECT_NEAR(double((*when - now).count()), 999e3, 2e3);  // ~1 ms to pay the debt back
  EXPECT_FALSE(s.pop(now + microseconds(998)));
  EXPECT_TRUE(s.pop(now + microseconds(1000)));
}

}  // namespace
}  // namespace braid::edge
