#include "edge/path_view.hpp"

#include <algorithm>

namespace braid::edge {

policy::PathView monitorView(policy::PathId id, const pathmon::PathStats& s, bool fresh,
                             uint32_t configuredKbps) {
  policy::PathView v;
  v.id = id;
  switch (s.state) {
    case pathmon::PathState::kUp:
      v.health = policy::PathHealth::kUp;
      break;
    case pathmon::PathState::kDegraded:
      v.health = policy::PathHealth::kDegraded;
      break;
    case pathmon::PathState::kProbing:
      // A newly keyed path carries traffic while its first probes run (penalised like a
      // degraded one); a path recovering from a death waits for its hold-down.
      v.health = fresh ? policy::PathHealth::kDegraded : policy::PathHealth::kDown;
      break;
    default:
      v.health = policy::PathHealth::kDown;
  }
  auto us = [](Duration d) {
    return uint32_t(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
  };
  v.rttUs = us(s.srtt);
  v.jitterUs = us(std::max(s.rttJitter, s.inboundJitter));
  v.loss = float(s.loss);
  v.lossForward = float(s.lossForward);
  v.suspect = s.suspect;
  v.capacityKbps = policy::boundedCapacityKbps(configuredKbps, s.capacityMeasuredBps);
  return v;
}

}  // namespace braid::edge
