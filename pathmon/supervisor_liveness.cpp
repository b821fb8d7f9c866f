// PathSupervisor, the liveness of paths without probes (a standard IKEv2 peer, no braid
// shim): ESP silence while we send asks for an IKE liveness check (RFC 7296 1.4), and a busy
// path gets a periodic round-trip check that only the peer's IKE response answers. The
// states and transitions are supervisor.cpp's.
#include <algorithm>

#include "pathmon/supervisor.hpp"
#include "pathmon/supervisor_path.hpp"

namespace braid::pathmon {

bool PathSupervisor::checksLiveness(const Path& p) {
  return !p.cfg.probes && p.cfg.espSilence > Duration::zero() && p.state != PathState::kDown;
}

// A path to a standard IKEv2 peer has no probes: the peer's ESP proves it alive, and when
// that falls silent while we send, an IKE liveness check decides. A cut of our direction
// alone leaves the peer's ESP arriving: the round-trip check (serviceRoundTrip) sees it.
void PathSupervisor::serviceLiveness(Path& p, TimePoint now) {
  const PathConfig& c = p.cfg;
  if (p.state == PathState::kDead) {
    p.checkSentAt.reset();
    p.rtSentAt.reset();
    // With round-trip checks, the peer's ESP alone does not bring the path back: it kept
    // arriving while our direction was cut.
    const TimePoint proof = c.roundTripCheck > Duration::zero() ? p.lastRoundTrip : p.lastAlive;
    if (proof > p.stateSince && now >= p.upNotBefore) {
      transition(p, PathState::kUp, PathCause::kLivenessAnswered, now);
      p.silenceFrom = now;
      return;
    }
    if (now >= p.nextCheck) {
      p.nextCheck = now + c.deadLivenessInterval;
      ++p.counters.livenessChecks;
      transport_.checkLiveness(p.id, true);  // an unanswered request goes again each time
    }
    return;
  }
  if (p.state != PathState::kUp && p.state != PathState::kDegraded) return;
  if (p.checkSentAt) {
    if (p.lastAlive >= *p.checkSentAt) {
      p.checkSentAt.reset();  // answered (or ESP came back meanwhile)
    } else if (now - *p.checkSentAt >= c.livenessTimeout) {
      p.checkSentAt.reset();
      transition(p, PathState::kDead, PathCause::kLivenessLost, now);
      p.nextCheck = now + c.deadLivenessInterval;
      return;
    } else {
      return;
    }
  }
  if (p.active && now - std::max(p.lastAlive, p.silenceFrom) >= c.espSilence) {
    p.checkSentAt = now;
    ++p.counters.livenessChecks;
    transport_.checkLiveness(p.id, false);
    return;
  }
  if (c.roundTripCheck > Duration::zero()) serviceRoundTrip(p, now);
}

// Every roundTripCheck on a busy path: a check whose IKE response must come back. One lost
// request or response is forgiven (sent again at the first timeout): on a path with 1 %
// loss each way a single attempt would fail about once in 50 checks.
void PathSupervisor::serviceRoundTrip(Path& p, TimePoint now) {
  const PathConfig& c = p.cfg;
  if (p.rtSentAt) {
    if (p.lastRoundTrip >= *p.rtSentAt) {
      p.rtSentAt.reset();
      p.rtResent = false;
    } else if (now - *p.rtSentAt < c.livenessTimeout) {
      return;
    } else if (!p.rtResent) {
      p.rtResent = true;
      p.rtSentAt = now;
      ++p.counters.livenessChecks;
      transport_.checkLiveness(p.id, true);
      return;
    } else {
      p.rtSentAt.reset();
      p.rtResent = false;
      transition(p, PathState::kDead, PathCause::kRoundTripLost, now);
      p.nextCheck = now + c.deadLivenessInterval;
      return;
    }
  }
  if (p.active && now - std::max(p.lastRoundTrip, p.silenceFrom) >= c.roundTripCheck) {
    p.rtSentAt = now;
    ++p.counters.livenessChecks;
    ++p.counters.roundTripChecks;
    transport_.checkLiveness(p.id, false);
  }
}

std::optional<TimePoint> PathSupervisor::livenessDeadline(const Path& p) const {
  const bool roundTrip = p.cfg.roundTripCheck > Duration::zero();
  if (p.state == PathState::kDead) {
    const TimePoint proof = roundTrip ? p.lastRoundTrip : p.lastAlive;
    if (proof > p.stateSince) return std::max(p.upNotBefore, clock_.now());
    return p.nextCheck;
  }
  if (p.state != PathState::kUp && p.state != PathState::kDegraded) return std::nullopt;
  if (p.checkSentAt) return *p.checkSentAt + p.cfg.livenessTimeout;
  std::optional<TimePoint> due;
  if (p.active) due = std::max(p.lastAlive, p.silenceFrom) + p.cfg.espSilence;
  if (roundTrip && (p.rtSentAt || p.active)) {
    const TimePoint rt = p.rtSentAt
                             ? *p.rtSentAt + p.cfg.livenessTimeout
                             : std::max(p.lastRoundTrip, p.silenceFrom) + p.cfg.roundTripCheck;
    due = due ? std::min(*due, rt) : rt;
  }
  return due;
}

void PathSupervisor::onRoundTrip(PathId id, TimePoint rxTime) {
  Path* p = find(id);
  if (!p) return;
  if (rxTime > p->lastRoundTrip) p->lastRoundTrip = rxTime;
  onTraffic(id, rxTime);
  if (checksLiveness(*p) && (p->rtSentAt || p->state == PathState::kDead)) service(*p);
}

}  // namespace braid::pathmon
