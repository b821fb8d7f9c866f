// PathSupervisor: the state machine of every path (uplink x peer). No I/O: probes go out
// through a ProbeTransport, state changes through a PathListener, time comes from a Clock
// and a TimerScheduler, so tests drive it in simulated time.
//
// States (an enum; pathStateName() is only for logs):
//   kDown      not usable by configuration: no SA (unkeyed) or the link is down
//   kProbing   keyed, collecting `recoverProbes` answered probes in a row
//   kUp        answering probes
//   kDegraded  answering, but probe loss or RTT above the path-level thresholds
//   kDead      keyed but silent: K probes in a row unanswered, or no proof of life for the
//              detection deadline (BFD-style, RFC 5880 6.8.4: multiplier x interval)
//
// Failure detection. Proof of life = a probe reply, a probe from the peer, or data
// (onTraffic). Two criteria, whichever comes first:
//   - silence: now - lastAlive >= deadline, deadline = max(K x interval + margin,
//     srtt + 4 rttvar, silenceFloor), margin = 4 rttvar clamped to [2 ms, interval];
//   - misses: K consecutive probes whose reply did not come within the loss timeout
//     max(srtt + 4 rttvar, lossTimeoutFloor). Data from the peer does not reset this
//     count: it proves only the inbound direction.
// With 20 ms probes and K = 3 a cut is declared 60-85 ms after the last proof of life.
//
// Suspicion: an Up or Degraded path that carries traffic and has heard nothing for one
// interval plus the margin (one answer overdue) is suspect until its next proof of life.
// It is not a state: the path keeps its flows, but the listener hears of it at once so that
// real-time classes can copy onto another path while the verdict is out (BFD's multiplier
// is what makes a death slow; one missed answer is the earliest hint, and mostly a false one).
//
// Recovery and damping: a Dead path needs `recoverProbes` answered probes in a row and the
// hold-down to have passed. The hold-down doubles with every death inside `flapWindow`
// (capped), so a flapping link stays out instead of flapping the traffic.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/timer.hpp"
#include "pathmon/delivery_rate.hpp"
#include "pathmon/estimators.hpp"
#include "pathmon/forward_loss.hpp"
#include "pathmon/probe.hpp"

namespace braid::pathmon {

enum class PathState : uint8_t { kDown, kProbing, kUp, kDegraded, kDead };

enum class PathCause : uint8_t {
  kKeyed,             // IKE installed the path's SAs
  kUnkeyed,           // IKE removed them
  kLinkDown,          // carrier loss / address removed (netlink)
  kLinkUp,            // link back (and keyed)
  kProbesAnswered,    // recoverProbes answered in a row (and hold-down over)
  kReplyReceived,     // a dead path answered again: probing for recovery
  kSilence,           // no proof of life within the deadline
  kMissedProbes,      // K probes in a row unanswered
  kLossHigh,          // windowed probe loss >= degradeLoss
  kRttHigh,           // srtt >= degradeRtt
  kQualityOk,         // loss and RTT back under the thresholds (with hysteresis)
  kExternal,          // markDead(): e.g. IKE liveness failed
  kProbingOff,        // keyed path of a peer without the shim: up on keying
  kAdminDown,         // setAdminDown(true): an operator took the path out (braidctl)
  kAdminUp,           // setAdminDown(false): probing again, Up after recoverProbes
  kLivenessLost,      // path without probes: its IKE liveness check went unanswered
  kLivenessAnswered,  // path without probes: proof of life after its death (hold-down over)
  kRoundTripLost,     // path without probes: its round-trip check went unanswered twice
  kCount,
};

const char* pathStateName(PathState s);
const char* pathCauseName(PathCause c);

struct PathConfig {
  bool probes = true;    // false: peer without the braid shim; Up while keyed
  bool metered = false;  // LTE: relaxed probing while idle
  Duration activeInterval = std::chrono::milliseconds(20);  // carrying traffic, or recovering
  Duration idleInterval = std::chrono::milliseconds(100);
  Duration meteredIdleInterval = std::chrono::seconds(1);
  Duration deadInterval = std::chrono::milliseconds(100);
  // BFD-style (RFC 5880 6.8.7) TX jitter: each interval shortened by 0..N percent.
  uint32_t txJitterPercent = 10;
  uint32_t detectMultiplier = 3;
  Duration silenceFloor = std::chrono::milliseconds(60);
  Duration maxDeadline = std::chrono::seconds(3);
  Duration lossTimeoutFloor = std::chrono::milliseconds(50);
  Duration lossTimeoutMax = std::chrono::seconds(1);
  Duration initialLossTimeout = std::chrono::milliseconds(500);  // before any RTT sample
  uint32_t lossWindow = 100;                                     // probes
  uint32_t recoverProbes = 5;
  Duration holdDown = std::chrono::seconds(1);  // after a death, doubled per recent flap
  Duration maxHoldDown = std::chrono::seconds(30);
  Duration flapWindow = std::chrono::seconds(60);
  double degradeLoss = 0.10;  // enter Degraded at this loss; leave below half of it
  uint32_t degradeMinSamples = 20;
  Duration degradeRtt{0};  // 0: no RTT threshold; leave below 80 % of it
  Duration minDegradedTime = std::chrono::seconds(2);
  uint64_t seed = 1;  // TX jitter PRNG, mixed with the path id
  // A timer firing this late means the process was not scheduled (it sent no probes
  // meanwhile): silence counts afresh and the verdict waits `stallSettle` for the input
  // queued meanwhile (counted as `stalls`).
  Duration stallTolerance = std::chrono::milliseconds(15);
  Duration stallSettle = std::chrono::milliseconds(5);
  // Paths without probes (a standard IKEv2 peer): inbound ESP silence while we send asks
  // for a liveness check (an empty INFORMATIONAL on the path's IKE SA, RFC 7296 1.4, in the
  // spirit of RFC 3706's traffic-driven DPD); no proof of life (ESP or IKE from the peer)
  // within `livenessTimeout` of it: Dead. While Dead a check goes every
  // `deadLivenessInterval`; proof of life after the hold-down brings it back Up. 0: off.
  Duration espSilence{0};
  Duration livenessTimeout = std::chrono::milliseconds(500);
  Duration deadLivenessInterval = std::chrono::seconds(1);
  // The peer's ESP proves only its direction: a cut of ours alone leaves it arriving. So a
  // path without probes that carries our traffic also asks for a liveness check every
  // `roundTripCheck` and needs the peer's IKE *response* (onRoundTrip) within
  // `livenessTimeout`; unanswered, the request is sent once more, and a second
  // `livenessTimeout` without a response is Dead (kRoundTripLost). While this is on, a
  // dead path comes back only by a response too. 0: off (needs espSilence).
  Duration roundTripCheck{0};
  // Measured capacity from the peer's byte counts (pathmon/delivery_rate.hpp).
  DeliveryRateConfig capacity;
};

struct PathEvent {
  PathId path = 0;
  PathState from = PathState::kDown;
  PathState to = PathState::kDown;
  PathCause cause = PathCause::kKeyed;
  TimePoint at{};
  // Figures at the moment of the change, for the one log line and the counters.
  Duration srtt{0};
  Duration silence{0};  // now - last proof of life
  uint32_t missStreak = 0;
  double loss = 0;
  Duration holdDown{0};  // for a death: how long the path stays out at least
};

struct PathCounters {
  uint64_t probesSent = 0;
  uint64_t repliesReceived = 0;  // in time
  uint64_t repliesLate = 0;      // after the loss timeout
  uint64_t repliesDuplicate = 0;
  uint64_t repliesStale = 0;  // outside the loss window
  uint64_t repliesBogus = 0;  // echo does not match what we sent
  uint64_t probesTimedOut = 0;
  uint64_t peerProbesAnswered = 0;
  uint64_t malformed = 0;
  uint64_t wrongPath = 0;  // message names another path than the one it arrived on
  uint64_t deaths = 0;
  uint64_t stalls = 0;           // late timers whose verdict waited for queued input
  uint64_t livenessChecks = 0;   // liveness checks asked of IKE (paths without probes)
  uint64_t roundTripChecks = 0;  // of them: round-trip checks while the peer's ESP arrives
  uint64_t suspicions = 0;       // times the path became suspect (one answer overdue)
  std::array<uint64_t, static_cast<size_t>(PathCause::kCount)> transitions{};
};

struct PathStats {
  PathState state = PathState::kDown;
  Duration srtt{0}, rttvar{0}, minRtt{0}, p50{0}, p95{0}, p99{0};
  Duration rttJitter{0};      // RFC 3550 estimator over consecutive RTT samples
  Duration inboundJitter{0};  // RFC 3550 over the peer's timestamps (peer -> us)
  double loss = 0;            // probe loss over the window (round trip)
  // Split by direction from the peer's probe count (pathmon/forward_loss.hpp); -1: the
  // peer does not report counts (an older braid) or too few replies yet.
  double lossForward = -1;  // our probes lost on the way to the peer
  double lossReturn = -1;   // the rest of the round-trip loss: replies lost on the way back
  // Delivery rate of our direction while saturated (pathmon/delivery_rate.hpp), bits per
  // second; 0: no recent evidence.
  uint64_t capacityMeasuredBps = 0;
  uint32_t lost = 0, late = 0, received = 0;
  uint32_t missStreak = 0;
  bool suspect = false;  // one answer overdue while carrying traffic (see above)
  Duration probeInterval{0};
  Duration deadline{0};  // current silence deadline
  // The silence when the path was last declared Dead while carrying traffic (Up or
  // Degraded): how long after its last proof of life the failover began. 0: never died.
  Duration lastDetection{0};
  RttHistogram rttHistogram;  // every probe RTT sample
  PathCounters counters;
};

class ProbeTransport {
 public:
  virtual ~ProbeTransport() = default;
  // Send shim bytes (a probe or a reply) on `path`. Must not call back into the
  // supervisor synchronously.
  virtual void sendProbe(PathId path, Bytes shim) = 0;
  // A path without probes: check the peer's liveness on this path (IKE, RFC 7296 1.4); its
  // answer comes back as onTraffic() and onRoundTrip(). At most one in flight is enough:
  // the transport may ignore a request while one is outstanding, or with `resend` send the
  // outstanding one again now. Must not call back synchronously.
  virtual void checkLiveness(PathId /*path*/, bool /*resend*/) {}
};

class PathListener {
 public:
  virtual ~PathListener() = default;
  virtual void onPathEvent(const PathEvent& event) = 0;
  // A path became suspect (one answer overdue) or heard from again. Not a state change.
  virtual void onSuspect(PathId /*path*/, bool /*suspect*/, TimePoint /*at*/) {}
};

class PathSupervisor {
 public:
  PathSupervisor(const Clock& clock, TimerScheduler& timers, ProbeTransport& transport,
                 PathListener& listener);
  ~PathSupervisor();
  PathSupervisor(const PathSupervisor&) = delete;
  PathSupervisor& operator=(const PathSupervisor&) = delete;

  // A path starts Down (unkeyed, link up). Re-adding an id replaces it.
  void addPath(PathId id, const PathConfig& config);
  void removePath(PathId id);
  bool hasPath(PathId id) const;

  // IKE: the path's SAs are installed (true) or gone (false).
  void setKeyed(PathId id, bool keyed);
  // Netlink: carrier / address. Down takes effect at once.
  void setLinkUp(PathId id, bool up);
  // Administrative override (braidctl path down|up): while set the path is Down whatever
  // its keying, link and probes say (peer probes are still answered: the peer judges its
  // own direction). Cleared, a keyed path probes again and needs recoverProbes answers.
  void setAdminDown(PathId id, bool down);
  bool adminDown(PathId id) const;
  // Edge: the path carries traffic (fast probes) or is idle (slow, or metered-slow).
  void setActive(PathId id, bool active);
  // External proof of death (IKE liveness failed). A probing path recovers by probes as
  // usual; a path without probes (peer without the shim) by a liveness check answered after
  // the hold-down (espSilence set), or else only by being keyed again.
  void markDead(PathId id);

  // Shim bytes of a probe or reply received on `id` at rxTime (the reply's hold time is
  // counted from it). Returns false for malformed input.
  bool onProbeBytes(PathId id, Bytes shim, TimePoint rxTime);
  // Passive liveness: data from the peer arrived on `id`.
  void onTraffic(PathId id, TimePoint rxTime);
  // A path without probes: the peer answered one of our IKE requests on `id` at rxTime,
  // which proves both directions (and counts as traffic).
  void onRoundTrip(PathId id, TimePoint rxTime);
  // Edge's running counts of the ESP bytes sent and received on `id` (wire bytes): replies
  // report the received count to the peer, probes keep the sent one for the delivery rate.
  void setByteCounts(PathId id, uint64_t txBytes, uint64_t rxBytes);

  PathState state(PathId id) const;
  PathStats stats(PathId id) const;

 private:
  struct Path;
  Path* find(PathId id);
  const Path* find(PathId id) const;
  void service(Path& p);
  void processTimeouts(Path& p, TimePoint now);
  void evaluate(Path& p, TimePoint now);
  void sendProbe(Path& p, TimePoint now);
  void rearm(Path& p);
  void transition(Path& p, PathState to, PathCause cause, TimePoint now);
  void handleReply(Path& p, const ProbeMessage& m, TimePoint rx);
  Duration interval(const Path& p) const;
  Duration lossTimeout(const Path& p) const;
  Duration deadline(const Path& p) const;
  Duration silenceDeadline(const Path& p) const;
  Duration suspectDeadline(const Path& p) const;
  void setSuspect(Path& p, bool suspect, TimePoint now);
  Duration currentHoldDown(const Path& p, TimePoint now) const;
  void restartProbing(Path& p, TimePoint now);
  void serviceLiveness(Path& p, TimePoint now);
  void serviceRoundTrip(Path& p, TimePoint now);
  std::optional<TimePoint> livenessDeadline(const Path& p) const;
  static bool checksLiveness(const Path& p);

  const Clock& clock_;
  TimerScheduler& timers_;
  ProbeTransport& transport_;
  PathListener& listener_;
  std::vector<std::unique_ptr<Path>> paths_;  // indexed by PathId
};

}  // namespace braid::pathmon
