#include "edge/metrics_path.hpp"

#include <mutex>
#include <set>

#include "metrics/registry.hpp"

namespace braid::edge {

namespace m = braid::metrics;

void FailoverTracker::onFailover(size_t path, pathmon::PathCause cause, TimePoint at,
                                 Duration detection) {
  if (path >= paths_.size()) return;
  Path& p = paths_[path];
  ++p.stats.failovers[static_cast<size_t>(cause)];
  p.stats.lastFlows = 0;
  p.stats.lastDetection = detection;
  p.stats.lastMove = Duration::zero();
  p.stats.lastDuration = detection;
  p.stats.moving = true;
  p.at = at;
  p.counted = false;
  p.pinned = 0;
}

void FailoverTracker::onFlows(size_t path, TimePoint now, size_t flows) {
  if (path >= paths_.size() || !paths_[path].stats.moving) return;
  Path& p = paths_[path];
  PathFailoverStats& s = p.stats;
  if (!p.counted) {
    p.counted = true;
    s.lastFlows = flows;
  } else if (flows < p.pinned) {
    // Some moved since the last count: the move ends no earlier than now.
    s.lastMove = std::max(now - p.at, Duration::zero());
    s.lastDuration = s.lastDetection + s.lastMove;
  }
  p.pinned = flows;
  if (flows == 0 || now - p.at >= kMoveLimit) s.moving = false;
}

void FailoverTracker::stop(size_t path) {
  if (path < paths_.size()) paths_[path].stats.moving = false;
}

const std::array<std::string_view, kPathCauseCount>& pathCauseNames() {
  static const std::array<std::string_view, kPathCauseCount> names = [] {
    std::array<std::string_view, kPathCauseCount> out{};
    for (size_t i = 0; i < kPathCauseCount; ++i) {
      out[i] = pathmon::pathCauseName(static_cast<pathmon::PathCause>(i));
    }
    return out;
  }();
  return names;
}

m::Histogram rttHistogram(const pathmon::PathStats& s) {
  const pathmon::RttHistogram& h = s.rttHistogram;
  return m::Histogram::fromCounts(pathmon::RttHistogram::kBounds, h.counts(),
                                  std::chrono::duration<double>(h.sum()).count());
}

namespace {

using X = PathExtraStats;

template <auto M>
double failoverSeconds(const X& x) {
  return std::chrono::duration<double>(x.failover.*M).count();
}
template <size_t I>
constexpr uint64_t failovers(const X& x) {
  return x.failover.failovers[I];
}

constexpr std::string_view kFailoversHelp =
    "Failovers: the path carried traffic and turned dead or down, by the cause of that change.";

template <size_t... I>
std::array<m::Field<X>, sizeof...(I)> failoverFields(std::index_sequence<I...>) {
  return {m::Field<X>{.name = "braid_path_failovers_total",
                      .help = kFailoversHelp,
                      .label = {"cause", pathCauseNames()[I]},
                      .count = &failovers<I>}...};
}

m::Field<X> seconds(std::string_view name, std::string_view help, double (*get)(const X&)) {
  return {.name = name, .help = help, .type = m::Type::kGauge, .unit = "seconds", .getter = get};
}

const auto kExtraFields = m::concat(
    std::to_array<m::Field<X>>({
        {.name = "braid_path_probe_rtt_seconds",
         .help = "Probe round-trip times, every sample since start (histogram).",
         .type = m::Type::kHistogram,
         .unit = "seconds",
         .histogram = &X::rtt,
         .buckets = pathmon::RttHistogram::kBounds},
        seconds("braid_path_last_failover_move_seconds",
                "From the path's last failover being learnt until the last flow pinned to it "
                "moved (each moves at its next packet; 0: none pinned or never failed over).",
                &failoverSeconds<&PathFailoverStats::lastMove>),
        seconds("braid_path_last_failover_duration_seconds",
                "The path's last failover in all: the detection (silence before the death) plus "
                "the move of its flows, the longest outage one of them saw.",
                &failoverSeconds<&PathFailoverStats::lastDuration>),
        {.name = "braid_path_last_failover_flows",
         .help = "Flows pinned to the path at its last failover, each moved at its next packet.",
         .type = m::Type::kGauge,
         .count = [](const X& x) { return x.failover.lastFlows; }},
        {.name = "braid_path_shim",
         .help = "1 while the path's peer speaks the braid shim (probes on).",
         .type = m::Type::kGauge,
         .member = &X::shim},
        {.name = "braid_path_active",
         .help = "1 while the path carries traffic (probes at the active interval).",
         .type = m::Type::kGauge,
         .member = &X::active},
    }),
    failoverFields(std::make_index_sequence<kPathCauseCount>{}));

const std::vector<m::Field<X>>& withKeys() {
  static const auto fields = withPathStatsKeys<X>(kExtraFields);
  return fields;
}

using T = PathTotals;
constexpr auto kTotalFields = std::to_array<m::Field<T>>({
    {.name = "braid_paths_events_total",
     .help = "Path state changes, all paths.",
     .member = &T::events,
     .statsKey = "paths.events"},
    {.name = "braid_paths_deaths_total",
     .help = "Paths declared dead, all paths.",
     .member = &T::deaths,
     .statsKey = "paths.deaths"},
    {.name = "braid_paths_recoveries_total",
     .help = "Dead paths up again, all paths.",
     .member = &T::recoveries,
     .statsKey = "paths.recoveries"},
});
static_assert(kTotalFields.size() * sizeof(uint64_t) == sizeof(T),
              "a PathTotals field without a descriptor in kTotalFields");

}  // namespace

std::span<const m::Field<PathExtraStats>> pathExtraFields() {
  return withKeys();
}

std::string_view pathStatsKey(std::string_view family, std::string_view label) {
  std::string_view n = family;
  if (n.starts_with("braid_path_")) n.remove_prefix(11);
  if (n.ends_with("_total")) n.remove_suffix(6);
  std::string key = "path.{path}." + std::string(n);
  if (!label.empty()) key += ".{" + std::string(label) + "}";
  static std::mutex mutex;
  static std::set<std::string, std::less<>> keys;
  std::lock_guard lock(mutex);
  return *keys.insert(std::move(key)).first;
}

std::string pathStatsFile(const std::vector<std::string>& names,
                          const std::vector<pathmon::PathStats>& monitor,
                          const std::vector<PathExtraStats>& extras, const PathTotals& totals) {
  m::Registry r;
  static const auto monitorFields = withPathStatsKeys(pathMonitorFields());
  for (size_t i = 0; i < names.size(); ++i) {
    const m::InstanceLabels label{{"path", names[i]}};
    auto mon = m::StructMetrics<pathmon::PathStats>::add(r, monitorFields, label);
    auto ext = m::StructMetrics<PathExtraStats>::add(r, pathExtraFields(), label);
    // Fixed tables; only a name outside the label rules fails (MetricsExporter refuses it).
    if (!mon || !ext) continue;
    if (i < monitor.size()) mon->update(r, monitor[i]);
    if (i < extras.size()) ext->update(r, extras[i]);
  }
  auto t = m::StructMetrics<T>::add(r, kTotalFields);
  if (t) t->update(r, totals);
  return r.statsFile();
}

}  // namespace braid::edge
