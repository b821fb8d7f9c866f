// MeteredBudget: day and month periods (billing day, month ends, clock stepped back), the
// warning and exhaustion events once per period, and the saved state across a restart.
#include "policy/budget.hpp"

#include <gtest/gtest.h>

namespace braid::policy {
namespace {

using namespace std::chrono;

LocalSeconds at(int y, unsigned m, unsigned d, int h = 12) {
  return sys_days{year{y} / month{m} / day{d}} + hours{h};
}

TEST(MeteredBudget, MonthStartsOnTheBillingDay) {
  auto start = [](int y, unsigned m, unsigned d, unsigned reset) {
    return year_month_day{MeteredBudget::monthStart(sys_days{year{y} / month{m} / day{d}}, reset)};
  };
  EXPECT_EQ(start(2026, 12, 6, 1), year{2026} / December / 1);
  EXPECT_EQ(start(2026, 12, 6, 15), year{2026} / November / 15);
  EXPECT_EQ(start(2026, 12, 15, 15), year{2026} / December / 15);
  EXPECT_EQ(start(2027, 1, 3, 28), year{2026} / December / 28);  // across the year
  EXPECT_EQ(start(2028, 3, 1, 1), year{2028} / March / 1);
}

TEST(MeteredBudget, WarnsThenExhaustsOncePerPeriod) {
  MeteredBudget b({.dayBytes = 1000, .monthBytes = 0});
  EXPECT_EQ(b.add(500, at(2026, 12, 6)), BudgetEvent::kNone);
  EXPECT_FALSE(b.exhausted());
  EXPECT_EQ(b.add(300, at(2026, 12, 6)), BudgetEvent::kWarn);  // 80 %
  EXPECT_EQ(b.add(100, at(2026, 12, 6)), BudgetEvent::kNone);  // warned once
  EXPECT_EQ(b.add(100, at(2026, 12, 6)), BudgetEvent::kExhausted);
  EXPECT_TRUE(b.exhausted());
  EXPECT_EQ(b.add(100, at(2026, 12, 6, 23)), BudgetEvent::kNone);
  EXPECT_EQ(b.used(BudgetPeriod::kDay), 1100u);
  EXPECT_DOUBLE_EQ(b.ratio(BudgetPeriod::kDay), 1.1);
  EXPECT_DOUBLE_EQ(b.ratio(BudgetPeriod::kMonth), 0.0);  // no monthly limit
  // Local midnight: a new day, usable again, and the warning can come again.
  EXPECT_EQ(b.tick(at(2026, 12, 7, 0)), BudgetEvent::kNewPeriod);
  EXPECT_FALSE(b.exhausted());
  EXPECT_EQ(b.used(BudgetPeriod::kDay), 0u);
  EXPECT_EQ(b.add(850, at(2026, 12, 7)), BudgetEvent::kWarn);
}

TEST(MeteredBudget, ReconfigureKeepsTheCountAndJudgesItByTheNewLimits) {
  MeteredBudget b({.dayBytes = 1000, .monthBytes = 10'000, .resetDay = 1});
  EXPECT_EQ(b.add(850, at(2026, 12, 6)), BudgetEvent::kWarn);
  b.reconfigure({.dayBytes = 800, .monthBytes = 10'000, .resetDay = 1});
  EXPECT_TRUE(b.exhausted());
  EXPECT_EQ(b.used(BudgetPeriod::kDay), 850u);
  EXPECT_EQ(b.add(10, at(2026, 12, 6)), BudgetEvent::kNone);  // no second exhaustion event
  b.reconfigure({.dayBytes = 2000, .monthBytes = 10'000, .resetDay = 1});
  EXPECT_FALSE(b.exhausted());
  EXPECT_EQ(b.add(800, at(2026, 12, 6)), BudgetEvent::kWarn);  // 1660 of 2000: warned anew
  // A new billing day (the 5th) moves this month's start; the count goes with it.
  b.reconfigure({.dayBytes = 2000, .monthBytes = 10'000, .resetDay = 5});
  EXPECT_EQ(year_month_day{b.periodStart(BudgetPeriod::kMonth)}, year{2026} / December / 5);
  EXPECT_EQ(b.used(BudgetPeriod::kMonth), 1660u);
  EXPECT_EQ(b.tick(at(2027, 1, 5)), BudgetEvent::kNewPeriod);
  EXPECT_EQ(b.used(BudgetPeriod::kMonth), 0u);
}

TEST(MeteredBudget, MonthOutlivesDaysAndEndsOnTheBillingDay) {
  MeteredBudget b({.dayBytes = 200, .monthBytes = 1000, .resetDay = 10});
  for (unsigned d = 10; d <= 19; ++d) b.add(90, at(2026, 11, d));
  EXPECT_EQ(b.used(BudgetPeriod::kMonth), 900u);
  EXPECT_EQ(b.used(BudgetPeriod::kDay), 90u);
  EXPECT_FALSE(b.exhausted());
  EXPECT_EQ(b.add(90, at(2026, 11, 20)), BudgetEvent::kNewPeriod);  // a day, no threshold
  EXPECT_EQ(b.add(20, at(2026, 11, 20)), BudgetEvent::kExhausted);  // 1010 of the month
  EXPECT_TRUE(b.exhausted());
  EXPECT_EQ(b.tick(at(2026, 12, 9, 23)), BudgetEvent::kNewPeriod);  // a new day only
  EXPECT_TRUE(b.exhausted());
  EXPECT_EQ(b.tick(at(2026, 12, 10, 0)), BudgetEvent::kNewPeriod);
  EXPECT_FALSE(b.exhausted());
  EXPECT_EQ(year_month_day{b.periodStart(BudgetPeriod::kMonth)}, year{2026} / December / 10);
}

TEST(MeteredBudget, AClockSteppedBackKeepsTheCount) {
  MeteredBudget b({.dayBytes = 1000});
  b.add(1000, at(2026, 12, 7, 0));
  ASSERT_TRUE(b.exhausted());
  EXPECT_EQ(b.add(1, at(2026, 12, 6, 23)), BudgetEvent::kNone);
  EXPECT_TRUE(b.exhausted());
  EXPECT_EQ(b.used(BudgetPeriod::kDay), 1001u);
}

TEST(MeteredBudget, SavedStateRestoresCurrentPeriodsOnly) {
  MeteredBudget a({.dayBytes = 1000, .monthBytes = 5000});
  a.add(900, at(2026, 12, 5));
  a.add(950, at(2026, 12, 6));
  const std::string saved = a.encode();
  EXPECT_EQ(saved, "day 2026-12-06 950\nmonth 2026-12-01 1850\n");

  MeteredBudget same({.dayBytes = 1000, .monthBytes = 5000});
  EXPECT_EQ(same.decode(saved, at(2026, 12, 6, 20)), std::nullopt);
  EXPECT_EQ(same.used(BudgetPeriod::kDay), 950u);
  EXPECT_EQ(same.used(BudgetPeriod::kMonth), 1850u);
  // Already past 80 % before the restart: not reported again.
  EXPECT_EQ(same.add(10, at(2026, 12, 6, 20)), BudgetEvent::kNone);

  MeteredBudget nextDay({.dayBytes = 1000, .monthBytes = 5000});
  EXPECT_EQ(nextDay.decode(saved, at(2026, 12, 7)), std::nullopt);
  EXPECT_EQ(nextDay.used(BudgetPeriod::kDay), 0u);
  EXPECT_EQ(nextDay.used(BudgetPeriod::kMonth), 1850u);

  MeteredBudget nextMonth({.dayBytes = 1000, .monthBytes = 5000});
  EXPECT_EQ(nextMonth.decode(saved, at(2027, 1, 1)), std::nullopt);
  EXPECT_EQ(nextMonth.used(BudgetPeriod::kMonth), 0u);
}

TEST(MeteredBudget, MalformedStateIsRefusedAndChangesNothing) {
  for (const char* bad : {"day 2026-12-06\n", "day 2026-13-06 5\n", "week 2026-12-06 5\n",
                          "day 2026-12-06 -5\n", "month 2026-12-01 5x\n", "day 2026-02-30 1\n",
                          "day\n", "day 2026-12-06 99999999999999999999999\n"}) {
    MeteredBudget b({.dayBytes = 1000});
    b.add(7, at(2026, 12, 6));
    EXPECT_NE(b.decode(bad, at(2026, 12, 6)), std::nullopt) << bad;
    EXPECT_EQ(b.used(BudgetPeriod::kDay), 7u) << bad;
  }
}

}  // namespace
}  // namespace braid::policy
