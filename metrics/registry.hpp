// Registry of metric families with bounded, explicitly registered label value sets, and the
// four outputs generated from it: Prometheus text 0.0.4, OpenMetrics 1.0, the key/value
// stats file and JSON.
//
// The registry belongs to the scrape side: it is built once (families, then series), and at
// scrape time its values are set from a snapshot (see descriptor.hpp) and formatted. Hot
// code never touches it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "metrics/metric.hpp"

namespace braid::metrics {

struct FamilyId {
  size_t index = 0;
};
struct SeriesId {
  size_t family = 0;
  size_t index = 0;
};

class Registry {
 public:
  static constexpr size_t kDefaultMaxSeries = 1024;

  explicit Registry(size_t maxSeriesPerFamily = kDefaultMaxSeries)
      : maxSeries_(maxSeriesPerFamily) {}

  // Declares a family after validateFamily(). Declaring the same name again with an
  // identical description returns the existing family (so several instances of a
  // component share it); a different description is an error.
  Result<FamilyId> addFamily(FamilyDesc desc);

  // Registers one label value set (one value per declared label name). Duplicates and
  // sets beyond the per-family bound are refused: label values name configured things
  // (paths, classes, reasons), never flows.
  // `statsKey` is the series' line name in the stats file; `{label}` is replaced by that
  // label's value. Empty: the family name less braid_ and _total, then ".value" for
  // each label. Two series with the same stats key are refused.
  Result<SeriesId> addSeries(FamilyId family, std::vector<std::string> labelValues,
                             std::string statsKey = {});

  // Values, set at scrape time. Counters and gauges take integers or doubles.
  void set(SeriesId s, uint64_t v);
  void set(SeriesId s, double v);
  // The histogram's bounds must equal the family's buckets (checked in debug builds).
  void set(SeriesId s, const Histogram& h);

  std::string format(Format f) const;
  std::string prometheus() const { return format(Format::kPrometheus); }
  std::string openMetrics() const { return format(Format::kOpenMetrics); }
  std::string statsFile() const { return format(Format::kStatsFile); }
  std::string json() const { return format(Format::kJson); }

  size_t familyCount() const { return families_.size(); }
  size_t seriesCount(FamilyId f) const { return families_[f.index].series.size(); }

 private:
  struct Series {
    std::vector<std::string> labelValues;
    std::string statsKey;
    bool isDouble = false;
    uint64_t u = 0;
    double d = 0;
    std::vector<uint64_t> buckets;  // histograms: cumulative, one per bound plus +Inf
    double sum = 0;
  };
  struct Family {
    FamilyDesc desc;
    std::vector<Series> series;
  };

  void writeText(std::string& out, Format f) const;
  void writeStats(std::string& out) const;
  void writeJson(std::string& out) const;

  size_t maxSeries_;
  std::vector<Family> families_;
  std::set<std::string, std::less<>> statsKeys_;  // a stats-file line name is used once
};

}  // namespace braid::metrics
