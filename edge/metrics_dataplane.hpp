// The data plane's descriptor tables (edge/counters.hpp): every TxCounters and RxCounters
// field and the ESP drop reasons are declared once, here. The stats file (formatStats),
// braidd's scrape (MetricsExporter) and braidctl's JSON come from these tables
// (docs/metrics.md "Declare each metric once").
#pragma once

#include <array>
#include <span>
#include <string_view>

#include "edge/counters.hpp"
#include "metrics/descriptor.hpp"

namespace braid::edge {

// Label values of the drop reasons, in enum order (txDropName/rxDropName; a unit test checks
// it) and the ESP layer's reasons under braid's own stable names.
extern const std::array<std::string_view, kTxDropCount> kTxDropReasons;
extern const std::array<std::string_view, kRxDropCount> kRxDropReasons;
extern const std::array<std::string_view, ipsec::kEspDropCount> kEspDropReasons;

// A counter with its stats-file key.
template <class S>
constexpr metrics::Field<S> counterField(std::string_view name, std::string_view help,
                                         uint64_t S::*member, std::string_view key,
                                         std::string_view unit = {}) {
  return {.name = name,
          .help = help,
          .type = metrics::Type::kCounter,
          .unit = unit,
          .member = member,
          .statsKey = key};
}

// ESP drops summed over the SPI table and every inbound SA (DataPlaneStats::espDrops).
struct EspDropTotals {
  std::array<uint64_t, ipsec::kEspDropCount> drops{};
};

std::span<const metrics::Field<TxCounters>> txFields();
std::span<const metrics::Field<RxCounters>> rxFields();
std::span<const metrics::Field<EspDropTotals>> espDropFields();

}  // namespace braid::edge
