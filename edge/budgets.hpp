// UplinkBudgets: the metered uplinks' byte budgets (policy::MeteredBudget) on the control
// thread. Every 200 ms it adds what the data threads counted on each budgeted uplink's
// paths (PathActivity's wire bytes, both directions), logs the 80 % and 100 % crossings,
// and tells PathControl when a budget is used up or a new period starts, so the policy
// engines treat the uplink's paths as a last resort or leave them (`budget_exhausted`).
// The counts survive restarts in state.directory/budget-<uplink> (written once a minute, on
// every event and at shutdown, through a rename so a crash leaves the old or the new file).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "edge/config.hpp"
#include "edge/dataplane.hpp"
#include "edge/paths.hpp"
#include "policy/budget.hpp"

namespace braid::edge {

struct UplinkBudgetStats {
  std::string uplink;
  uint64_t dayUsed = 0, dayLimit = 0;
  uint64_t monthUsed = 0, monthLimit = 0;
  bool exhausted = false;
};

// The local wall-clock time (plans reset at local midnight).
policy::LocalSeconds localNow();

class UplinkBudgets {
 public:
  // `apply`: the uplink's paths are now `use` (PathControl::setUplinkBudget).
  using Apply = std::function<void(size_t uplink, policy::BudgetUse use)>;

  // Reads the saved state of every uplink with a budget, or writes a first one: a directory
  // that cannot be written is an error before anything is sent. A malformed file is logged
  // and the period starts from zero.
  static Result<std::unique_ptr<UplinkBudgets>> open(const Config& cfg,
                                                     const std::vector<PathSpec>& paths,
                                                     policy::LocalSeconds now = localNow());
  ~UplinkBudgets();
  UplinkBudgets(const UplinkBudgets&) = delete;
  UplinkBudgets& operator=(const UplinkBudgets&) = delete;

  bool empty() const { return uplinks_.empty(); }
  // Applies the loaded state (a budget already used up stays so) and samples every 200 ms.
  void start(boost::asio::io_context& io, const PathActivity& activity, Apply apply);
  // Saves the counts (braidd's shutdown).
  void stop();
  // One sample at local time `now` (the timer's job; tests call it directly).
  void sample(const PathActivity& activity, policy::LocalSeconds now);

  // Reload: applies changed limits and `budget_exhausted` of the budgeted uplinks at once,
  // keeping their counts (a budget removed leaves the uplink unlimited). An uplink that
  // gains a budget needs a restart (no state file or sampling yet): its name is returned.
  std::vector<std::string> reconfigure(const Config& next);
  // What the metrics and the stats file show (edge/metrics_budget.hpp).
  std::vector<UplinkBudgetStats> stats() const;
  // The state file of uplink `name` under `directory`.
  static std::string statePath(const std::string& directory, const std::string& name);

 private:
  struct Uplink {
    size_t index = 0;  // in config.uplinks
    std::string name;
    std::string file;
    policy::BudgetUse whenExhausted = policy::BudgetUse::kLastResort;
    std::vector<size_t> paths;
    std::vector<uint64_t> lastTx, lastRx;
    std::unique_ptr<policy::MeteredBudget> budget;
    policy::BudgetUse applied = policy::BudgetUse::kOk;
    bool dirty = false;
    bool saveFailed = false;
  };
  UplinkBudgets() = default;
  void applyState(Uplink& u);
  Status save(Uplink& u);
  void arm();

  std::vector<Uplink> uplinks_;
  Apply apply_;
  const PathActivity* activity_ = nullptr;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  unsigned ticks_ = 0;
};

}  // namespace braid::edge
