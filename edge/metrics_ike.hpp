// The IKE core's counters (ike::IkeCounters), each declared once: braidd's scrape registers
// the table per uplink (metrics_export.cpp), and the stats file's ike.* lines are the same
// table summed over the uplinks (IkeDriver::formatStats, by each field's statsKey).
#pragma once

#include <span>

#include "edge/ike_driver.hpp"
#include "ipsec/ike/events.hpp"
#include "metrics/descriptor.hpp"

namespace braid::edge {

std::span<const metrics::Field<ike::IkeCounters>> ikeFields();

// The IKE driver's own tables (defined with the scrape, metrics_export.cpp), with the stats
// file's ike.* keys: gauges per uplink (the stats file sums them), the driver's counters and
// the per-path figures. IkeDriver::formatStats writes its numeric lines from these.
std::span<const metrics::Field<IkeUplinkStats>> ikeUplinkFields();
std::span<const metrics::Field<IkeStats>> ikeDriverFields();
std::span<const metrics::Field<IkePathStats>> ikePathFields();

}  // namespace braid::edge
