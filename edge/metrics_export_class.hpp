// braid_class_* (docs/metrics.md): traffic per application class and the path(s) it uses
// now, from DataPlaneStats::classes. A class's series are registered the first time it
// appears in a snapshot (the configuration's classes at the first scrape, a class a reload
// adds at the next one), so the label values are configured class names only; a class a
// reload removes keeps its last figures. Part of MetricsExporter (Asio thread only).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "edge/counters.hpp"
#include "metrics/descriptor.hpp"
#include "metrics/registry.hpp"

namespace braid::edge {

class ClassMetrics {
 public:
  // `paths`: every path's name ("peer/uplink"), the values of braid_class_path's label.
  explicit ClassMetrics(std::vector<std::string> paths = {}) : paths_(std::move(paths)) {}

  // Registers what is new in `classes`, then copies their figures.
  Status update(metrics::Registry& r, const std::vector<ClassStats>& classes);

  struct OnPath {
    uint64_t on = 0;
  };

 private:
  struct Series {
    metrics::StructMetrics<ClassCounters> traffic;
    std::vector<metrics::StructMetrics<OnPath>> paths;  // as paths_
  };
  std::vector<std::string> paths_;
  std::map<std::string, Series, std::less<>> classes_;
};

}  // namespace braid::edge
