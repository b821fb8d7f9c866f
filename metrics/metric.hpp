// Vocabulary of the metrics library: metric types, the plain histogram that hot code bumps,
// name/label validation and content negotiation. No I/O.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace braid::metrics {

enum class Type { kCounter, kGauge, kHistogram, kInfo };

std::string_view typeName(Type t);  // "counter", "gauge", "histogram", "info"

// Fixed-bucket histogram: plain fields, no allocation, so the data plane can own one and a
// snapshot copies it. Counts are per bucket (not cumulative); exposition makes them cumulative.
// `bounds` are the upper bounds (le), ascending, static storage; one implicit +Inf bucket.
class Histogram {
 public:
  static constexpr size_t kMaxBuckets = 24;

  Histogram() = default;
  // More than kMaxBuckets bounds are cut off (validateFamily refuses such families).
  explicit Histogram(std::span<const double> bounds)
      : bounds_(bounds.first(std::min(bounds.size(), kMaxBuckets))) {}

  // A histogram counted elsewhere in the same buckets (a component without this library,
  // e.g. pathmon's RTT buckets): `counts` per bucket, not cumulative, the last one +Inf;
  // missing counts are 0, extra ones are ignored.
  static Histogram fromCounts(std::span<const double> bounds, std::span<const uint64_t> counts,
                              double sum) {
    Histogram h(bounds);
    for (size_t i = 0; i < counts.size() && i <= h.bounds_.size(); ++i) {
      h.counts_[i] = counts[i];
      h.count_ += counts[i];
    }
    h.sum_ = sum;
    return h;
  }

  void observe(double v) {
    if (v != v) return;  // NaN: no bucket, and it would poison the sum
    size_t i = 0;
    while (i < bounds_.size() && v > bounds_[i]) ++i;  // le: v <= bound
    ++counts_[i];
    sum_ += v;
    ++count_;
  }

  std::span<const double> bounds() const { return bounds_; }
  // Non-cumulative count of bucket i; i == bounds().size() is the +Inf bucket.
  uint64_t bucket(size_t i) const { return counts_[i]; }
  double sum() const { return sum_; }
  uint64_t count() const { return count_; }

 private:
  std::span<const double> bounds_;
  std::array<uint64_t, kMaxBuckets + 1> counts_{};
  double sum_ = 0;
  uint64_t count_ = 0;
};

// Units allowed in `# UNIT` and as name suffixes: Prometheus base units only.
inline constexpr std::array<std::string_view, 6> kBaseUnits = {"seconds", "bytes", "ratio",
                                                               "meters",  "volts", "celsius"};

// Declaration of one metric family. Label names are fixed here; series are registered
// with values for exactly these labels.
struct FamilyDesc {
  std::string name;  // full name: counters end in _total, info in _info
  std::string help;
  Type type = Type::kGauge;
  std::string unit;  // "" or one of kBaseUnits; the name (less _total) must end in _<unit>
  std::vector<std::string> labelNames;
  std::vector<double> buckets;  // histograms: upper bounds, ascending, finite
};

// Checks a family against the naming rules (docs/metrics.md): braid_ or process_ prefix,
// Prometheus charset without colons, _total exactly on counters, base units, no reserved
// suffixes, valid and unique label names (no __ prefix, no le on histograms).
Status validateFamily(const FamilyDesc& d);
Status validateMetricName(std::string_view name);
Status validateLabelName(std::string_view name);
// Label values: valid UTF-8 (escaped on output), not empty, at most 128 bytes.
Status validateLabelValue(std::string_view value);

// Exposition formats.
enum class Format { kPrometheus, kOpenMetrics, kStatsFile, kJson };

inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";
inline constexpr std::string_view kOpenMetricsContentType =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

struct Negotiated {
  Format format;
  std::string_view contentType;
};
// Picks the scrape format from an HTTP Accept header: OpenMetrics when the client ranks
// application/openmetrics-text (version 1.0.0 or 0.0.1, or none) at least as high as any
// text/plain it accepts, else Prometheus text 0.0.4 (also for an empty or unusable header).
Negotiated negotiate(std::string_view accept);

// Escaping per the exposition formats: label values escape \ " and newline; HELP text in
// 0.0.4 escapes \ and newline only, in OpenMetrics also ".
std::string escapeLabelValue(std::string_view v);
std::string escapeHelp(std::string_view v, Format f);
// Number formatting: shortest round-trip, +Inf/-Inf/NaN as the formats spell them.
std::string formatDouble(double v);

}  // namespace braid::metrics
