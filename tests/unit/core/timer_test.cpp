#include "core/timer.hpp"

#include <gtest/gtest.h>

namespace braid {
namespace {

TEST(TimerQueue, FiresInDeadlineOrderAndSkipsCancelled) {
  ManualClock clock;
  TimerQueue q;
  std::vector<int> fired;
  auto t0 = clock.now();
  q.schedule(t0 + 30ms, [&] { fired.push_back(3); });
  TimerId two = q.schedule(t0 + 20ms, [&] { fired.push_back(2); });
  q.schedule(t0 + 10ms, [&] { fired.push_back(1); });
  q.schedule(t0 + 10ms, [&] { fired.push_back(11); });
  q.cancel(two);
  EXPECT_EQ(*q.nextDeadline(), t0 + 10ms);
  clock.advance(25ms);
  EXPECT_EQ(q.runUntil(clock.now()), 2u);
  EXPECT_EQ(fired, (std::vector<int>{1, 11}));
  clock.advance(10ms);
  q.runUntil(clock.now());
  EXPECT_EQ(fired, (std::vector<int>{1, 11, 3}));
  EXPECT_FALSE(q.nextDeadline());
}

TEST(TimerQueue, CallbackMayScheduleDueTimer) {
  ManualClock clock;
  TimerQueue q;
  int n = 0;
  q.schedule(clock.now(), [&] {
    ++n;
    q.schedule(clock.now(), [&] { ++n; });
  });
  EXPECT_EQ(q.runUntil(clock.now()), 2u);
  EXPECT_EQ(n, 2);
}

TEST(TimerQueue, RunForStepsTheClockThroughEachDeadline) {
  ManualClock clock;
  TimerQueue q;
  const auto t0 = clock.now();
  std::vector<Duration> seen;
  q.schedule(t0 + 10ms, [&] {
    seen.push_back(clock.now() - t0);
    q.schedule(clock.now() + 5ms, [&] { seen.push_back(clock.now() - t0); });
  });
  q.schedule(t0 + 50ms, [&] { seen.push_back(clock.now() - t0); });
  q.runFor(clock, 30ms);
  EXPECT_EQ(seen, (std::vector<Duration>{10ms, 15ms}));  // each at its own time
  EXPECT_EQ(clock.now(), t0 + 30ms);
  EXPECT_EQ(*q.nextDeadline(), t0 + 50ms);
}

TEST(ScopedTimer, RearmCancelsPrevious) {
  ManualClock clock;
  TimerQueue q;
  int a = 0, b = 0;
  {
    ScopedTimer t(q);
    t.arm(clock.now() + 5ms, [&] { ++a; });
    t.arm(clock.now() + 7ms, [&] { ++b; });
    clock.advance(10ms);
    q.runUntil(clock.now());
    EXPECT_FALSE(t.armed());
    t.arm(clock.now() + 1ms, [&] { ++a; });
  }  // destroyed: cancelled
  clock.advance(10ms);
  q.runUntil(clock.now());
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 1);
}

}  // namespace
}  // namespace braid
