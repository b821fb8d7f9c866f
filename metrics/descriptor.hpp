// "Declare each metric once": a component's counters stay a plain struct that hot code bumps;
// one descriptor per field {name, help, type, unit, field, stats key, fixed label} says how
// the field is exposed. StructMetrics registers a table into a Registry once per instance
// (e.g. per path) and copies a snapshot's fields into it at scrape time, so the Prometheus,
// OpenMetrics, stats-file and JSON outputs all come from the same table.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "metrics/metric.hpp"
#include "metrics/registry.hpp"

namespace braid::metrics {

// A label whose value a field fixes: several fields (e.g. drop counters per reason) then
// form one family, `braid_x_drops_total{reason="..."}`, instead of one name each.
struct FixedLabel {
  std::string_view name;
  std::string_view value;
};

template <class S>
struct Field {
  std::string_view name;  // full Prometheus name, e.g. braid_ike_sa_up_total
  std::string_view help;
  Type type = Type::kCounter;
  std::string_view unit = {};  // "" or a base unit that the name ends with
  // Exactly one source: an integer member, a getter (derived or floating values), an
  // integer getter (array elements, see arrayFields) or a histogram member (with its bounds).
  uint64_t S::*member = nullptr;
  double (*getter)(const S&) = nullptr;
  Histogram S::*histogram = nullptr;
  std::span<const double> buckets = {};
  // Stats-file line name; {label} is replaced by that label's value. Empty: derived.
  std::string_view statsKey = {};
  FixedLabel label = {};
  uint64_t (*count)(const S&) = nullptr;
};

template <class S, size_t N, std::array<uint64_t, N> S::*M, size_t I>
constexpr uint64_t arrayElement(const S& s) {
  return (s.*M)[I];
}

// One field per element of an enum-indexed counter array (drops[reason]): one family whose
// label `labelName` takes values[i] for element i. `statsKey` may use {labelName}.
//   arrayFields<TxCounters, kTxDropCount, &TxCounters::drops>(
//       "braid_tx_drops_total", "...", "reason", kTxDropNames, "tx.drop.{reason}")
template <class S, size_t N, std::array<uint64_t, N> S::*M>
constexpr std::array<Field<S>, N> arrayFields(std::string_view name, std::string_view help,
                                              std::string_view labelName,
                                              const std::array<std::string_view, N>& values,
                                              std::string_view statsKey = {},
                                              std::string_view unit = {}) {
  return [&]<size_t... I>(std::index_sequence<I...>) {
    return std::array<Field<S>, N>{Field<S>{.name = name,
                                            .help = help,
                                            .type = Type::kCounter,
                                            .unit = unit,
                                            .statsKey = statsKey,
                                            .label = {labelName, values[I]},
                                            .count = &arrayElement<S, N, M, I>}...};
  }
  (std::make_index_sequence<N>{});
}

template <class S, auto Get, size_t I>
constexpr uint64_t stateIs(const S& s) {
  return static_cast<size_t>(Get(s)) == I ? 1 : 0;
}

// A state as one gauge per possible value, 1 for the current one (the OpenMetrics "stateset"
// shape, written as a gauge so that 0.0.4 has it too): braid_path_state{state="up"} 1.
// `Get` maps the snapshot to the state's index in `values`.
//   stateFields<PathSnap, kStateCount, &stateIndex>("braid_path_state", "...", "state", kNames)
template <class S, size_t N, auto Get>
constexpr std::array<Field<S>, N> stateFields(std::string_view name, std::string_view help,
                                              std::string_view labelName,
                                              const std::array<std::string_view, N>& values,
                                              std::string_view statsKey = {}) {
  return [&]<size_t... I>(std::index_sequence<I...>) {
    return std::array<Field<S>, N>{Field<S>{.name = name,
                                            .help = help,
                                            .type = Type::kGauge,
                                            .statsKey = statsKey,
                                            .label = {labelName, values[I]},
                                            .count = &stateIs<S, Get, I>}...};
  }
  (std::make_index_sequence<N>{});
}

// Joins descriptor tables into one (scalar fields plus arrayFields, say).
template <class S, size_t A, size_t B>
constexpr std::array<Field<S>, A + B> concat(const std::array<Field<S>, A>& a,
                                             const std::array<Field<S>, B>& b) {
  std::array<Field<S>, A + B> out{};
  for (size_t i = 0; i < A; ++i) out[i] = a[i];
  for (size_t i = 0; i < B; ++i) out[A + i] = b[i];
  return out;
}

using InstanceLabels = std::vector<std::pair<std::string, std::string>>;

template <class S>
class StructMetrics {
 public:
  StructMetrics() = default;

  // Registers every field of `fields` for one instance of S, labelled with `instance`
  // (e.g. {{"path", "hq/fiber"}}), ahead of the field's own fixed label.
  static Result<StructMetrics> add(Registry& r, std::span<const Field<S>> fields,
                                   const InstanceLabels& instance = {}) {
    StructMetrics m;
    // A copy: tables are often temporaries (fieldsOf<S>()), and they are small.
    m.fields_.assign(fields.begin(), fields.end());
    for (const Field<S>& f : fields) {
      int sources = (f.member != nullptr) + (f.getter != nullptr) + (f.histogram != nullptr) +
                    (f.count != nullptr);
      if (sources != 1) {
        return errorStatus(ErrorCode::kInvalidArgument,
                           std::string(f.name) + ": a field needs exactly one source");
      }
      FamilyDesc d{std::string(f.name), std::string(f.help), f.type, std::string(f.unit), {}, {}};
      std::vector<std::string> values;
      for (auto& [k, v] : instance) {
        d.labelNames.push_back(k);
        values.push_back(v);
      }
      if (!f.label.name.empty()) {
        d.labelNames.emplace_back(f.label.name);
        values.emplace_back(f.label.value);
      }
      d.buckets.assign(f.buckets.begin(), f.buckets.end());
      auto fam = r.addFamily(std::move(d));
      if (!fam) return fam.status();
      auto series = r.addSeries(*fam, std::move(values), std::string(f.statsKey));
      if (!series) return series.status();
      m.ids_.push_back(*series);
    }
    return m;
  }

  // Scrape time: copy the snapshot's values into the registry.
  void update(Registry& r, const S& snapshot) const {
    for (size_t i = 0; i < fields_.size(); ++i) {
      const Field<S>& f = fields_[i];
      if (f.getter) {
        r.set(ids_[i], f.getter(snapshot));
      } else if (f.count) {
        r.set(ids_[i], f.count(snapshot));
      } else if constexpr (sizeof(S) >= sizeof(Histogram)) {
        // (The size tests keep GCC's -Warray-bounds quiet for small snapshots, which cannot
        // hold such members anyway.)
        if (f.member) {
          r.set(ids_[i], snapshot.*(f.member));
        } else {
          r.set(ids_[i], snapshot.*(f.histogram));
        }
      } else if constexpr (sizeof(S) >= sizeof(uint64_t)) {
        r.set(ids_[i], snapshot.*(f.member));
      }
    }
  }

 private:
  std::vector<Field<S>> fields_;
  std::vector<SeriesId> ids_;
};

// The table of a struct declared with BRAID_METRICS_STRUCT, found by argument-dependent
// lookup: fieldsOf<S>().
template <class S>
constexpr auto fieldsOf() {
  return braidMetricFields(static_cast<const S*>(nullptr));
}

}  // namespace braid::metrics

// Envoy-style X-macro: declares the counter struct and its descriptor table from one list.
//   #define MY_STATS(COUNTER, GAUGE)
//     COUNTER(packets, "braid_x_packets_total", "", "Packets seen.", "x.packets")
//     GAUGE(queueBytes, "braid_x_queue_bytes", "bytes", "Queued bytes now.", "x.queue_bytes")
//   BRAID_METRICS_STRUCT(MyStats, MY_STATS);
// gives `struct MyStats { uint64_t packets = 0; uint64_t queueBytes = 0; };` and
// metrics::fieldsOf<MyStats>(), a std::array of Field<MyStats>.
#define BRAID_METRICS_MEMBER_(member_, name_, unit_, help_, key_) uint64_t member_ = 0;
#define BRAID_METRICS_COUNTER_(member_, name_, unit_, help_, key_)        \
  ::braid::metrics::Field<Self>{.name = name_,                            \
                                .help = help_,                            \
                                .type = ::braid::metrics::Type::kCounter, \
                                .unit = unit_,                            \
                                .member = &Self::member_,                 \
                                .statsKey = key_},
#define BRAID_METRICS_GAUGE_(member_, name_, unit_, help_, key_)        \
  ::braid::metrics::Field<Self>{.name = name_,                          \
                                .help = help_,                          \
                                .type = ::braid::metrics::Type::kGauge, \
                                .unit = unit_,                          \
                                .member = &Self::member_,               \
                                .statsKey = key_},
#define BRAID_METRICS_STRUCT(Name, LIST)                           \
  struct Name {                                                    \
    LIST(BRAID_METRICS_MEMBER_, BRAID_METRICS_MEMBER_)             \
  };                                                               \
  [[maybe_unused]] constexpr auto braidMetricFields(const Name*) { \
    using Self = Name;                                             \
    return std::to_array<::braid::metrics::Field<Self>>(           \
        {LIST(BRAID_METRICS_COUNTER_, BRAID_METRICS_GAUGE_)});     \
  }                                                                \
  static_assert(true, "")
