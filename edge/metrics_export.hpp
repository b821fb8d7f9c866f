// braidd's metrics: one metrics::Registry filled from the snapshots braidd already takes
// (DataPlaneStats, the IKE driver's IkeStats) through descriptor tables, so that each metric
// is declared once (docs/metrics.md "braidd's metrics"). Built once from the configuration:
// label values are configured names (uplinks, paths) and fixed reasons, never SPIs or flows.
// Not thread-safe: used on the Asio thread only.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "edge/budgets.hpp"
#include "edge/config.hpp"
#include "edge/counters.hpp"
#include "edge/ike_driver.hpp"
#include "edge/metrics_dataplane.hpp"
#include "edge/metrics_server.hpp"
#include "metrics/registry.hpp"
#include "pathmon/supervisor.hpp"

namespace braid::edge {

// Values of braid_ike_path_state's `state` label (IkePathStats::state).
extern const std::array<std::string_view, 4> kIkePathStates;

// Per-path ESP figures summed over the path's SAs, kept monotonic across rekeys.
struct PathEspStats {
  uint64_t txPackets = 0, txBytes = 0, rxPackets = 0, rxBytes = 0;
  uint64_t sequenceExhausted = 0;
  uint64_t outboundSas = 0, inboundSas = 0;  // gauges: installed now
  std::array<uint64_t, ipsec::kEspDropCount> drops{};
};

class PathControl;

class MetricsExporter {
 public:
  // Registers every series for `config`'s uplinks and paths. An error names the metric.
  static Result<std::unique_ptr<MetricsExporter>> create(const Config& config);
  ~MetricsExporter();
  MetricsExporter(const MetricsExporter&) = delete;
  MetricsExporter& operator=(const MetricsExporter&) = delete;

  // Copies the snapshots into the registry, then formats it. `ike` may be null (no IKE paths),
  // `http` too (the endpoint's own counters: those of the requests answered before this one).
  // `monitor`: the path monitor's figures by path index (PathControl), or null.
  std::string render(metrics::Format format, const DataPlaneStats& dp, const IkeStats* ike,
                     const MetricsServerCounters* http = nullptr,
                     const std::vector<pathmon::PathStats>* monitor = nullptr);

  // Metered budgets (braid_uplink_budget_*), read at each render; null: none exported.
  void setBudgets(const UplinkBudgets* budgets);
  // Failovers, shim and activity per path (braid_path_failovers_total, ..._last_failover_*),
  // read at each render; null: those series stay 0.
  void setPathControl(const PathControl* paths);

  // How long the caller waited for `dp` (data-plane snapshot) before this render: exported
  // with it, next to the previous render's own duration (docs/metrics.md, "Cost").
  void setSnapshotSeconds(double seconds);

  // The per-path sums of the last render (index = path index in the configuration).
  const std::vector<PathEspStats>& pathEsp() const;
  const metrics::Registry& registry() const;

  struct Impl;

 private:
  explicit MetricsExporter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One scrape: dp.snapshot() (as SIGUSR1 does; its wait is exported), ike->stats() and the path
// monitor's figures, rendered by `e` in `format`. Asio thread; `ike`, `paths` may be null.
std::string renderMetrics(MetricsExporter& e, metrics::Format format, DataPlane& dp,
                          const IkeDriver* ike, const PathControl* paths,
                          const MetricsServerCounters* http = nullptr);

// braidd's scrape endpoint for config.metrics (which must be set): an exporter built from the
// configuration, served on `io`. Each scrape takes dp.snapshot() (as SIGUSR1 does),
// ike->stats(), the path monitor's figures and the budgets on the Asio thread. `ike`,
// `paths` and `budgets` may be null; what is given must outlive the server.
Result<std::unique_ptr<MetricsServer>> startMetricsEndpoint(boost::asio::io_context& io,
                                                            const Config& config, DataPlane& dp,
                                                            const IkeDriver* ike,
                                                            const PathControl* paths = nullptr,
                                                            const UplinkBudgets* budgets = nullptr);

}  // namespace braid::edge
