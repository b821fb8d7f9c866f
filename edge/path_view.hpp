// What the policy engines see of a path, from the monitor's figures (PathControl publishes
// these; keying, metering and budget it adds itself). A pure function, so tests can drive a
// simulated monitor into a real policy engine.
#pragma once

#include <cstdint>

#include "pathmon/supervisor.hpp"
#include "policy/types.hpp"

namespace braid::edge {

// `fresh`: keyed and not yet Up or Dead (usable while its first probes run).
// `configuredKbps`: the uplink's egress_kbps (0: unknown); a measured capacity can only
// lower it (policy::boundedCapacityKbps).
policy::PathView monitorView(policy::PathId id, const pathmon::PathStats& s, bool fresh,
                             uint32_t configuredKbps);

}  // namespace braid::edge
