// UplinkBudgets: bytes counted on a budgeted uplink's paths (both directions) are added
// once per sample; the uplink becomes a last resort (or blocked) when its budget is used
// up and fine again in a new period; the counts survive a restart through the state file.
#include "edge/budgets.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "edge/metrics_budget.hpp"
#include "edge/metrics_export.hpp"

namespace braid::edge {
namespace {

using namespace std::chrono;

policy::LocalSeconds at(unsigned d, int h = 12) {
  return sys_days{year{2026} / December / day{d}} + hours{h};
}

class UplinkBudgetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/braid-budget-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Config config(const std::string& budget) {
    auto r =
        parseConfig("[overlay]\nlocal_subnets = [\"10.98.1.0/24\"]\n[state]\ndirectory = \"" +
                        dir_ + "\"\n[[uplink]]\nname = \"fiber\"\nlocal_address = \"10.99.0.1\"\n" +
                        "[[uplink]]\nname = \"lte\"\nlocal_address = \"10.99.1.1\"\n" +
                        "metered = true\n" + budget +
                        "\n[[peer]]\nname = \"b\"\nremote_subnets = [\"10.98.2.0/24\"]\n"
                        "[peer.ike]\npsk = \"0123456789abcdef-long-enough\"\n"
                        "[[peer.path]]\nuplink = \"fiber\"\nremote_address = \"10.99.0.2\"\n"
                        "[[peer.path]]\nuplink = \"lte\"\nremote_address = \"10.99.1.2\"\n",
                    "t.toml");
    EXPECT_TRUE(r.isOk()) << r.status().message();
    return r.isOk() ? std::move(*r) : Config{};
  }
  std::vector<PathSpec> paths() {
    std::vector<PathSpec> p(2);
    p[0].name = "b/fiber";
    p[0].uplink = 0;
    p[0].remote = SockAddr::from(*IpAddress::parse("10.99.0.2"), 4500);
    p[1].name = "b/lte";
    p[1].uplink = 1;
    p[1].remote = SockAddr::from(*IpAddress::parse("10.99.1.2"), 4500);
    return p;
  }
  static void bump(PathActivity& a, size_t path, uint64_t tx, uint64_t rx) {
    a.txWireBytes[path].fetch_add(tx);
    a.rxWireBytes[path].fetch_add(rx);
  }
  std::string file() const { return dir_ + "/budget-lte"; }
  std::string read() const {
    std::ifstream f(file());
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  std::string dir_;
  boost::asio::io_context io_;
};

TEST_F(UplinkBudgetsTest, UsedUpBudgetMakesTheUplinkALastResortUntilTheNextDay) {
  Config cfg = config("budget_day_mb = 1");
  auto b = UplinkBudgets::open(cfg, paths(), at(6));
  ASSERT_TRUE(b.isOk()) << b.status().message();
  EXPECT_EQ(read(), "day 2026-12-06 0\nmonth 2026-12-01 0\n");  // proven writable at once
  PathActivity a(2);
  std::vector<std::pair<size_t, policy::BudgetUse>> applied;
  (*b)->start(io_, a, [&](size_t u, policy::BudgetUse use) { applied.emplace_back(u, use); });
  EXPECT_TRUE(applied.empty());

  bump(a, 0, 5'000'000, 5'000'000);  // fiber: not budgeted
  bump(a, 1, 400'000, 300'000);
  (*b)->sample(a, at(6));
  auto s = (*b)->stats();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].uplink, "lte");
  EXPECT_EQ(s[0].dayUsed, 700'000u);
  EXPECT_EQ(s[0].dayLimit, 1'000'000u);
  EXPECT_FALSE(s[0].exhausted);
  EXPECT_TRUE(applied.empty());

  bump(a, 1, 300'000, 0);
  (*b)->sample(a, at(6, 13));
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_EQ(applied[0], std::make_pair(size_t{1}, policy::BudgetUse::kLastResort));
  EXPECT_EQ(read(), "day 2026-12-06 1000000\nmonth 2026-12-01 1000000\n");  // saved at the event
  EXPECT_NE(budgetStatsFile((*b)->stats()).find("uplink.lte.budget_exhausted 1\n"),
            std::string::npos);

  (*b)->sample(a, at(7, 0));  // local midnight
  ASSERT_EQ(applied.size(), 2u);
  EXPECT_EQ(applied[1], std::make_pair(size_t{1}, policy::BudgetUse::kOk));
}

// Reload (SIGHUP): a changed plan applies at once with the count kept; a lower limit can
// use the budget up, a higher one frees it, `budget_exhausted` switches last resort and
// block, a removed budget frees the uplink, and an uplink gaining one is named for restart.
TEST_F(UplinkBudgetsTest, AReloadAppliesTheNewPlanAndKeepsTheCount) {
  auto b = UplinkBudgets::open(config("budget_day_mb = 2"), paths(), at(6));
  ASSERT_TRUE(b.isOk()) << b.status().message();
  PathActivity a(2);
  std::vector<policy::BudgetUse> applied;
  (*b)->start(io_, a, [&](size_t u, policy::BudgetUse use) {
    EXPECT_EQ(u, 1u);
    applied.push_back(use);
  });
  bump(a, 1, 900'000, 300'000);
  (*b)->sample(a, at(6));
  EXPECT_TRUE(applied.empty());
  EXPECT_TRUE((*b)->reconfigure(config("budget_day_mb = 2")).empty());  // unchanged
  EXPECT_TRUE(applied.empty());

  EXPECT_TRUE((*b)->reconfigure(config("budget_day_mb = 1")).empty());
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_EQ(applied[0], policy::BudgetUse::kLastResort);
  EXPECT_EQ((*b)->stats()[0].dayUsed, 1'200'000u);
  EXPECT_EQ((*b)->stats()[0].dayLimit, 1'000'000u);

  (void)(*b)->reconfigure(config("budget_day_mb = 1\nbudget_exhausted = \"block\""));
  ASSERT_EQ(applied.size(), 2u);
  EXPECT_EQ(applied[1], policy::BudgetUse::kBlocked);

  (void)(*b)->reconfigure(config("budget_day_mb = 5"));
  ASSERT_EQ(applied.size(), 3u);
  EXPECT_EQ(applied[2], policy::BudgetUse::kOk);
  bump(a, 1, 100'000, 0);
  (*b)->sample(a, at(6, 13));
  EXPECT_EQ((*b)->stats()[0].dayUsed, 1'300'000u);  // counting went on

  (void)(*b)->reconfigure(config("budget_day_mb = 1\nbudget_exhausted = \"block\""));
  ASSERT_EQ(applied.size(), 4u);
  (void)(*b)->reconfigure(config(""));  // budget removed: unlimited from now
  ASSERT_EQ(applied.size(), 5u);
  EXPECT_EQ(applied[4], policy::BudgetUse::kOk);

  // fiber gains a budget: not counted before a restart, and said so.
  Config more = config("budget_day_mb = 1");
  more.uplinks[0].budget.dayBytes = 5'000'000;
  const auto restart = (*b)->reconfigure(more);
  ASSERT_EQ(restart.size(), 1u);
  EXPECT_EQ(restart[0], "fiber");
}

TEST_F(UplinkBudgetsTest, CountsSurviveARestartAndABlockedUplinkStaysBlocked) {
  Config cfg = config("budget_month_mb = 2\nbudget_exhausted = \"block\"");
  {
    auto b = UplinkBudgets::open(cfg, paths(), at(6));
    ASSERT_TRUE(b.isOk());
    PathActivity a(2);
    (*b)->start(io_, a, nullptr);
    bump(a, 1, 2'500'000, 0);
    (*b)->sample(a, at(6));
    (*b)->stop();
  }
  EXPECT_EQ(read().substr(read().find("month")), "month 2026-12-01 2500000\n");
  auto b = UplinkBudgets::open(cfg, paths(), at(20));
  ASSERT_TRUE(b.isOk());
  EXPECT_EQ((*b)->stats()[0].monthUsed, 2'500'000u);
  PathActivity a(2);
  std::vector<policy::BudgetUse> applied;
  (*b)->start(io_, a, [&](size_t, policy::BudgetUse use) { applied.push_back(use); });
  ASSERT_EQ(applied.size(), 1u);  // at start: still used up this month
  EXPECT_EQ(applied[0], policy::BudgetUse::kBlocked);
}

TEST_F(UplinkBudgetsTest, MalformedStateStartsFromZeroAndAnUnwritableDirectoryIsAnError) {
  Config cfg = config("budget_day_mb = 1");
  std::ofstream(file()) << "day yesterday lots\n";
  auto b = UplinkBudgets::open(cfg, paths(), at(6));
  ASSERT_TRUE(b.isOk());
  EXPECT_EQ((*b)->stats()[0].dayUsed, 0u);
  EXPECT_EQ(read(), "day 2026-12-06 0\nmonth 2026-12-01 0\n");

  cfg.state.directory = dir_ + "/file/below";
  std::ofstream(dir_ + "/file") << "x";
  auto bad = UplinkBudgets::open(cfg, paths(), at(6));
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("state.directory: uplink lte budget"), std::string::npos)
      << bad.status().message();
}

TEST_F(UplinkBudgetsTest, ExportedAsGaugesOfThePeriodsWithALimit) {
  Config cfg = config("budget_day_mb = 1");
  auto b = UplinkBudgets::open(cfg, paths(), at(6));
  ASSERT_TRUE(b.isOk());
  PathActivity a(2);
  (*b)->start(io_, a, nullptr);
  bump(a, 1, 400'000, 300'000);
  (*b)->sample(a, at(6));
  auto e = MetricsExporter::create(cfg);
  ASSERT_TRUE(e.isOk()) << e.status().message();
  (*e)->setBudgets(b->get());
  const std::string text = (*e)->render(metrics::Format::kPrometheus, DataPlaneStats{}, nullptr);
  EXPECT_NE(text.find("braid_uplink_budget_used_bytes{uplink=\"lte\",period=\"day\"} 700000\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("braid_uplink_budget_limit_bytes{uplink=\"lte\",period=\"day\"} 1000000\n"),
            std::string::npos);
  EXPECT_NE(text.find("braid_uplink_budget_exhausted{uplink=\"lte\"} 0\n"), std::string::npos);
  // No monthly limit: no month series (used / limit would divide by zero in a query).
  EXPECT_EQ(text.find("period=\"month\""), std::string::npos);
  EXPECT_EQ(text.find("uplink=\"fiber\",period"), std::string::npos);
}

TEST_F(UplinkBudgetsTest, NoBudgetNoFiles) {
  Config cfg = config("");
  auto b = UplinkBudgets::open(cfg, paths(), at(6));
  ASSERT_TRUE(b.isOk());
  EXPECT_TRUE((*b)->empty());
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
}

}  // namespace
}  // namespace braid::edge
