// Per-path figures beyond the path monitor's own (docs/metrics.md): the probe RTT histogram
// and the failovers, timed from the death of a carrying path until the last flow pinned to
// it moved. FailoverTracker has no I/O: PathControl feeds it the monitor's events and the
// TX thread's flow counts (Steering::flowsOn), and tests feed it in simulated time.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "metrics/descriptor.hpp"
#include "pathmon/supervisor.hpp"

namespace braid::edge {

inline constexpr size_t kPathCauseCount = static_cast<size_t>(pathmon::PathCause::kCount);

struct PathFailoverStats {
  // Failovers (a carrying path turned Dead or Down) by the cause of that change.
  std::array<uint64_t, kPathCauseCount> failovers{};
  uint64_t lastFlows = 0;     // flows pinned to the path when it last failed over
  Duration lastDetection{0};  // silence before that death (0 for Down: learnt at once)
  Duration lastMove{0};       // from the death being learnt until its last pinned flow moved
  Duration lastDuration{0};   // lastDetection + lastMove: the longest outage a flow saw
  bool moving = false;        // flows of the last failover still pinned, timing runs
};

class FailoverTracker {
 public:
  // Flows still pinned this long after a death are idle ones (each moves at its next
  // packet): timing stops at the last move seen.
  static constexpr Duration kMoveLimit = std::chrono::seconds(10);

  explicit FailoverTracker(size_t paths = 0) : paths_(paths) {}

  // A carrying path turned unusable at `at` (when the death was learnt), silent for
  // `detection` before that (0 when Down was learnt at once: link, keys, operator).
  void onFailover(size_t path, pathmon::PathCause cause, TimePoint at, Duration detection);
  // Flows pinned to the path at `now`. The first count after onFailover is the one taken
  // before the new views reached the TX thread: the flows that have to move.
  void onFlows(size_t path, TimePoint now, size_t flows);
  // The path is usable again (or removed): flows still on it stay, timing ends.
  void stop(size_t path);

  bool moving(size_t path) const { return path < paths_.size() && paths_[path].stats.moving; }
  size_t pathCount() const { return paths_.size(); }
  const PathFailoverStats& stats(size_t path) const { return paths_[path].stats; }

 private:
  struct Path {
    PathFailoverStats stats;
    TimePoint at{};
    bool counted = false;  // the first count arrived
    uint64_t pinned = 0;   // flows still pinned at the last count
  };
  std::vector<Path> paths_;
};

// Label values of braid_path_failovers_total's `cause` (pathmon::pathCauseName).
const std::array<std::string_view, kPathCauseCount>& pathCauseNames();

// What the exporter adds per path to the monitor's figures (PathControl's view of it).
struct PathExtraStats {
  metrics::Histogram rtt{pathmon::RttHistogram::kBounds};  // from PathStats::rttHistogram
  PathFailoverStats failover;
  uint64_t shim = 0;    // the path's peer speaks the braid shim (probes on)
  uint64_t active = 0;  // the path carries traffic (fast probes)
};

// The probe RTT histogram in the registry's type, from the monitor's buckets.
metrics::Histogram rttHistogram(const pathmon::PathStats& s);

std::span<const metrics::Field<PathExtraStats>> pathExtraFields();
// The path monitor's table (pathmon::PathStats; defined with the scrape, metrics_export.cpp).
std::span<const metrics::Field<pathmon::PathStats>> pathMonitorFields();

// Path state changes summed over the paths (PathControl), stats file only: paths.<name>.
struct PathTotals {
  uint64_t events = 0;
  uint64_t deaths = 0;
  uint64_t recoveries = 0;  // dead -> up
};

// A per-path field's stats-file line, derived from its declaration: path.{path}. + the name
// less braid_path_ and _total, + .{label} for its fixed label (braid_path_probe_replies_total
// {result} -> path.{path}.probe_replies.{result}). The strings are kept for the process.
std::string_view pathStatsKey(std::string_view family, std::string_view label);
template <class S>
std::vector<metrics::Field<S>> withPathStatsKeys(std::span<const metrics::Field<S>> fields) {
  std::vector<metrics::Field<S>> out(fields.begin(), fields.end());
  for (metrics::Field<S>& f : out) {
    if (f.statsKey.empty()) f.statsKey = pathStatsKey(f.name, f.label.name);
  }
  return out;
}

// The stats file's path.<path>.* and paths.* lines, from the same tables as the scrape.
// `names`, `monitor` and `extras` by path index.
std::string pathStatsFile(const std::vector<std::string>& names,
                          const std::vector<pathmon::PathStats>& monitor,
                          const std::vector<PathExtraStats>& extras, const PathTotals& totals);

}  // namespace braid::edge
