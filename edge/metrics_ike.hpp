// The IKE core's counters (ike::IkeCounters), each declared once: braidd's scrape registers
// the table per uplink (metrics_export.cpp), and the stats file's ike.* lines are the same
// table summed over the uplinks (IkeDriver::formatStats, by each field's statsKey).
#pragma once

#include <span>

#include "ipsec/ike/events.hpp"
#include "metrics/descriptor.hpp"

namespace braid::edge {

std::span<const metrics::Field<ike::IkeCounters>> ikeFields();

}  // namespace braid::edge
