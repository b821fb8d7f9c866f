// The record PathSupervisor keeps per path: private to pathmon/supervisor*.cpp, which
// implement the supervisor in parts (probing and state in supervisor.cpp, the liveness of
// paths without probes in supervisor_liveness.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "pathmon/supervisor.hpp"

namespace braid::pathmon {

inline constexpr size_t kDeathHistory = 8;

struct PathSupervisor::Path {
  Path(PathId i, const PathConfig& c, TimerScheduler& timers)
      : id(i),
        cfg(c),
        loss(c.lossWindow),
        sentAt(loss.size()),
        sentBytes(loss.size()),
        forward(loss.size()),
        rate(c.capacity),
        timer(timers) {
    rng = cfg.seed ^ (uint64_t{i} << 32 | 0x5bd1e995u);
  }
  PathId id;
  PathConfig cfg;
  PathState state = PathState::kDown;
  bool keyed = false;
  bool linkUp = true;
  bool adminDown = false;
  bool active = false;

  RttEstimator rtt;
  JitterEstimator rttJitter;
  JitterEstimator inJitter;
  LossWindow loss;
  std::vector<TimePoint> sentAt;    // by seq % loss.size()
  std::vector<uint64_t> sentBytes;  // txBytes when the probe left, likewise
  ForwardLoss forward;
  DeliveryRate rate;
  uint64_t txBytes = 0, rxBytes = 0;  // edge's counts (setByteCounts)
  uint32_t peerProbes = 0;            // the peer's probes received, reported in replies
  uint64_t nextSeq = 1;
  uint64_t nextTimeoutSeq = 1;  // oldest probe whose timeout is not yet processed

  TimePoint lastAlive{};
  Duration maxIntervalSinceAlive{0};  // so a shortened interval cannot fake a silence
  // Silence is counted from here at the earliest: when the path became active its proof of
  // life came at the idle rate, and the active deadline must not judge that old silence.
  TimePoint silenceFrom{};
  bool settling = false;  // a late timer: input queued meanwhile goes first
  uint32_t missStreak = 0;
  uint32_t goodStreak = 0;
  bool suspect = false;
  // Probes of the last outage: from the first that went unanswered before the path stopped
  // being usable to the last sent before it was probed back. Only these are forgotten when
  // it comes back: the loss measured before (a brownout) still counts.
  uint64_t outageFrom = 0, outageTo = 0;
  TimePoint stateSince{};
  TimePoint upNotBefore{};
  std::array<TimePoint, kDeathHistory> deaths{};
  size_t deathCount = 0;
  Duration lastDetection{0};

  std::optional<TimePoint> nextProbe;
  // Paths without probes (cfg.espSilence): the outstanding liveness check, and while Dead
  // when the next one goes.
  std::optional<TimePoint> checkSentAt;
  // Round-trip check (cfg.roundTripCheck): the last IKE response, the check in flight and
  // whether its request was sent again.
  TimePoint lastRoundTrip{};
  std::optional<TimePoint> rtSentAt;
  bool rtResent = false;
  TimePoint nextCheck{};
  uint64_t rng;
  ScopedTimer timer;
  std::optional<TimePoint> armedAt;
  PathCounters counters;
};

}  // namespace braid::pathmon
