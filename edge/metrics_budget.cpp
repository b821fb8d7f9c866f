#include "edge/metrics_budget.hpp"

#include <array>

namespace braid::edge {

namespace m = braid::metrics;

namespace {

using B = UplinkBudgetStats;
constexpr std::string_view kUsedHelp =
    "Bytes the metered uplink carried this budget period, both ways, with IP/UDP headers.";
constexpr std::string_view kLimitHelp = "The uplink's budget for the period (budget_*_mb).";

constexpr m::Field<B> gauge(std::string_view name, std::string_view help, uint64_t B::*member,
                            std::string_view period, std::string_view key) {
  return {.name = name,
          .help = help,
          .type = m::Type::kGauge,
          .unit = "bytes",
          .member = member,
          .statsKey = key,
          .label = {"period", period}};
}

const auto kDayFields = std::to_array<m::Field<B>>({
    gauge("braid_uplink_budget_used_bytes", kUsedHelp, &B::dayUsed, "day",
          "uplink.{uplink}.budget_day_used_bytes"),
    gauge("braid_uplink_budget_limit_bytes", kLimitHelp, &B::dayLimit, "day",
          "uplink.{uplink}.budget_day_limit_bytes"),
});
const auto kMonthFields = std::to_array<m::Field<B>>({
    gauge("braid_uplink_budget_used_bytes", kUsedHelp, &B::monthUsed, "month",
          "uplink.{uplink}.budget_month_used_bytes"),
    gauge("braid_uplink_budget_limit_bytes", kLimitHelp, &B::monthLimit, "month",
          "uplink.{uplink}.budget_month_limit_bytes"),
});
const auto kStateFields = std::to_array<m::Field<B>>({
    {.name = "braid_uplink_budget_exhausted",
     .help = "1 while a period's budget is used up (the uplink is a last resort or blocked).",
     .type = m::Type::kGauge,
     .getter = [](const B& b) { return b.exhausted ? 1.0 : 0.0; },
     .statsKey = "uplink.{uplink}.budget_exhausted"},
});

}  // namespace

Result<BudgetMetrics> BudgetMetrics::create(m::Registry& r, const Config& config) {
  std::vector<UplinkBudgetStats> budgets;
  for (const UplinkConfig& u : config.uplinks) {
    if (!u.budget.enabled()) continue;
    budgets.push_back(
        {.uplink = u.name, .dayLimit = u.budget.dayBytes, .monthLimit = u.budget.monthBytes});
  }
  return create(r, budgets);
}

Result<BudgetMetrics> BudgetMetrics::create(m::Registry& r,
                                            const std::vector<UplinkBudgetStats>& budgets) {
  BudgetMetrics out;
  for (const UplinkBudgetStats& u : budgets) {
    Series s;
    s.uplink = u.uplink;
    const m::InstanceLabels label{{"uplink", u.uplink}};
    auto add = [&](std::span<const m::Field<B>> fields) -> Status {
      auto t = m::StructMetrics<B>::add(r, fields, label);
      if (!t) return t.status();
      s.tables.push_back(std::move(*t));
      return Status::ok();
    };
    if (u.dayLimit != 0) {
      if (Status st = add(kDayFields); !st) return st;
    }
    if (u.monthLimit != 0) {
      if (Status st = add(kMonthFields); !st) return st;
    }
    if (Status st = add(kStateFields); !st) return st;
    out.uplinks_.push_back(std::move(s));
  }
  return out;
}

void BudgetMetrics::update(m::Registry& r, const std::vector<UplinkBudgetStats>& budgets) {
  for (Series& s : uplinks_) {
    for (const UplinkBudgetStats& b : budgets) {
      if (b.uplink != s.uplink) continue;
      for (auto& t : s.tables) t.update(r, b);
    }
  }
}

std::string budgetStatsFile(const std::vector<UplinkBudgetStats>& budgets) {
  m::Registry r;
  auto table = BudgetMetrics::create(r, budgets);
  if (!table) return "";  // fixed tables, configured uplink names: a unit test renders them
  table->update(r, budgets);
  return r.statsFile();
}

}  // namespace braid::edge
