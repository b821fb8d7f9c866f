// braid_uplink_budget_* (docs/metrics.md): each metered uplink's byte budget, from
// UplinkBudgets::stats(). Only the periods that have a limit are exported, so that
// used / limit never divides by zero in a query. Part of MetricsExporter (Asio thread only).
#pragma once

#include <string>
#include <vector>

#include "core/result.hpp"
#include "edge/budgets.hpp"
#include "metrics/descriptor.hpp"
#include "metrics/registry.hpp"

namespace braid::edge {

class BudgetMetrics {
 public:
  // Registers the series of every uplink with a budget in `config` (or in `budgets`, whose
  // limits say which periods have series).
  static Result<BudgetMetrics> create(metrics::Registry& r, const Config& config);
  static Result<BudgetMetrics> create(metrics::Registry& r,
                                      const std::vector<UplinkBudgetStats>& budgets);
  BudgetMetrics() = default;

  void update(metrics::Registry& r, const std::vector<UplinkBudgetStats>& budgets);

 private:
  struct Series {
    std::string uplink;
    std::vector<metrics::StructMetrics<UplinkBudgetStats>> tables;
  };
  std::vector<Series> uplinks_;
};

// The stats file's `uplink.<name>.budget_*` lines, from the same descriptor table.
std::string budgetStatsFile(const std::vector<UplinkBudgetStats>& budgets);

}  // namespace braid::edge
