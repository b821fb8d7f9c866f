#include "core/rate_limit.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace braid {
namespace {

TEST(LogRateLimiter, AllowsLinesPerIntervalAndCountsTheRest) {
  ManualClock clock;
  uint64_t counter = 0;
  LogRateLimiter lim("init", 3, std::chrono::seconds(10), &counter);
  int allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += lim.allow(clock.now());
  EXPECT_EQ(allowed, 3);
  EXPECT_EQ(lim.suppressed(), 97u);
  EXPECT_EQ(counter, 97u);
  clock.advance(std::chrono::seconds(9));
  EXPECT_FALSE(lim.allow(clock.now()));  // same window
  clock.advance(std::chrono::seconds(1));
  EXPECT_TRUE(lim.allow(clock.now()));  // a new window
  EXPECT_EQ(lim.takeSuppressed(), 98u);
  EXPECT_EQ(lim.takeSuppressed(), 0u);
  EXPECT_EQ(lim.suppressed(), 98u);
}

TEST(LogRateLimiter, MacroLogsTheSuppressedCountBeforeTheNextLine) {
  std::vector<std::string> lines;
  Logger::instance().setLevel(LogLevel::kInfo);
  Logger::instance().setSink(
      [&](LogLevel, std::string_view, std::string_view l) { lines.emplace_back(l); });
  ManualClock clock;
  LogRateLimiter lim("unknown SPI", 2, std::chrono::seconds(5));
  for (int i = 0; i < 10; ++i) BRAID_LOG_LIMITED(lim, clock.now(), kWarn, "t") << "line " << i;
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1], "line 1");
  clock.advance(std::chrono::seconds(5));
  BRAID_LOG_LIMITED(lim, clock.now(), kWarn, "t") << "line 10";
  Logger::instance().setSink({});
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[2], "unknown SPI: 8 similar lines suppressed");
  EXPECT_EQ(lines[3], "line 10");
}

TEST(LogRateLimiter, DisabledLevelNeitherLogsNorCounts) {
  Logger::instance().setLevel(LogLevel::kWarn);
  ManualClock clock;
  LogRateLimiter lim("x", 1);
  int evaluated = 0;
  for (int i = 0; i < 5; ++i) BRAID_LOG_LIMITED(lim, clock.now(), kDebug, "t") << ++evaluated;
  Logger::instance().setLevel(LogLevel::kInfo);
  EXPECT_EQ(evaluated, 0);
  EXPECT_EQ(lim.suppressed(), 0u);
}

TEST(TokenBucket, RefillsAtRateUpToBurst) {
  ManualClock clock;
  TokenBucket b(clock.now(), 5);
  int n = 0;
  for (int i = 0; i < 20; ++i) n += b.take(clock.now(), 2.0, 5);
  EXPECT_EQ(n, 5);
  clock.advance(std::chrono::milliseconds(500));  // one token at 2/s
  EXPECT_TRUE(b.take(clock.now(), 2.0, 5));
  EXPECT_FALSE(b.take(clock.now(), 2.0, 5));
  clock.advance(std::chrono::hours(1));  // capped at the burst
  n = 0;
  for (int i = 0; i < 20; ++i) n += b.take(clock.now(), 2.0, 5);
  EXPECT_EQ(n, 5);
}

TEST(KeyedRateLimiter, PerKeyBucketsInABoundedTable) {
  ManualClock clock;
  KeyedRateLimiter<int> lim(1.0, 2, 100);
  EXPECT_TRUE(lim.allow(1, clock.now()));
  EXPECT_TRUE(lim.allow(1, clock.now()));
  EXPECT_FALSE(lim.allow(1, clock.now()));
  EXPECT_TRUE(lim.allow(2, clock.now()));  // another key has its own bucket
  for (int k = 0; k < 100000; ++k) {
    (void)lim.allow(1000 + k, clock.now());
    ASSERT_LE(lim.size(), 100u);
  }
  EXPECT_EQ(lim.evictions(), 100000u + 2 - 100);
}

TEST(KeyedRateLimiter, EvictsTheLeastRecentlyUsedKey) {
  ManualClock clock;
  KeyedRateLimiter<int> lim(1.0, 1, 2);
  EXPECT_TRUE(lim.allow(1, clock.now()));
  EXPECT_TRUE(lim.allow(2, clock.now()));
  EXPECT_FALSE(lim.allow(1, clock.now()));  // 1 is now the most recently used
  EXPECT_TRUE(lim.allow(3, clock.now()));   // evicts 2
  EXPECT_FALSE(lim.allow(1, clock.now()));  // 1 kept its empty bucket
  EXPECT_TRUE(lim.allow(2, clock.now()));   // 2 starts again (evicted)
}

}  // namespace
}  // namespace braid
