#include "pathmon/supervisor.hpp"

#include <algorithm>

#include "pathmon/supervisor_path.hpp"

namespace braid::pathmon {

namespace {

uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

const char* pathStateName(PathState s) {
  switch (s) {
    case PathState::kDown:
      return "down";
    case PathState::kProbing:
      return "probing";
    case PathState::kUp:
      return "up";
    case PathState::kDegraded:
      return "degraded";
    case PathState::kDead:
      return "dead";
  }
  return "?";
}

const char* pathCauseName(PathCause c) {
  switch (c) {
    case PathCause::kKeyed:
      return "keyed";
    case PathCause::kUnkeyed:
      return "unkeyed";
    case PathCause::kLinkDown:
      return "link_down";
    case PathCause::kLinkUp:
      return "link_up";
    case PathCause::kProbesAnswered:
      return "probes_answered";
    case PathCause::kReplyReceived:
      return "reply_received";
    case PathCause::kSilence:
      return "silence";
    case PathCause::kMissedProbes:
      return "missed_probes";
    case PathCause::kLossHigh:
      return "loss_high";
    case PathCause::kRttHigh:
      return "rtt_high";
    case PathCause::kQualityOk:
      return "quality_ok";
    case PathCause::kExternal:
      return "external";
    case PathCause::kProbingOff:
      return "probing_off";
    case PathCause::kAdminDown:
      return "admin_down";
    case PathCause::kAdminUp:
      return "admin_up";
    case PathCause::kLivenessLost:
      return "liveness_lost";
    case PathCause::kRoundTripLost:
      return "round_trip_lost";
    case PathCause::kLivenessAnswered:
      return "liveness_answered";
    case PathCause::kCount:
      break;
  }
  return "?";
}

PathSupervisor::PathSupervisor(const Clock& clock, TimerScheduler& timers,
                               ProbeTransport& transport, PathListener& listener)
    : clock_(clock), timers_(timers), transport_(transport), listener_(listener) {}

PathSupervisor::~PathSupervisor() = default;

PathSupervisor::Path* PathSupervisor::find(PathId id) {
  return id < paths_.size() ? paths_[id].get() : nullptr;
}
const PathSupervisor::Path* PathSupervisor::find(PathId id) const {
  return id < paths_.size() ? paths_[id].get() : nullptr;
}
bool PathSupervisor::hasPath(PathId id) const {
  return find(id) != nullptr;
}

void PathSupervisor::addPath(PathId id, const PathConfig& config) {
  if (id >= paths_.size()) paths_.resize(size_t{id} + 1);
  paths_[id] = std::make_unique<Path>(id, config, timers_);
  paths_[id]->stateSince = clock_.now();
}

void PathSupervisor::removePath(PathId id) {
  if (id < paths_.size()) paths_[id].reset();
}

PathState PathSupervisor::state(PathId id) const {
  const Path* p = find(id);
  return p ? p->state : PathState::kDown;
}

Duration PathSupervisor::interval(const Path& p) const {
  switch (p.state) {
    case PathState::kDown:
      return Duration::zero();
    case PathState::kProbing:
      return p.cfg.activeInterval;
    case PathState::kDead:
      return p.cfg.deadInterval;
    case PathState::kUp:
    case PathState::kDegraded:
      if (p.active) return p.cfg.activeInterval;
      if (p.cfg.metered) return p.cfg.meteredIdleInterval;
      // An idle Degraded path is measuring its way back (a brownout moved its classes
      // away): at the active rate its window clears in lossWindow x 20 ms, not x 100 ms, so
      // SLA-bound classes return seconds sooner (lab_brownout: 6.5 s). Only Degraded: a path
      // with a little steady loss (LTE) must not be probed 50 times a second for ever.
      return p.state == PathState::kDegraded ? p.cfg.activeInterval : p.cfg.idleInterval;
  }
  return p.cfg.activeInterval;
}

Duration PathSupervisor::lossTimeout(const Path& p) const {
  if (!p.rtt.hasSample()) return p.cfg.initialLossTimeout;
  Duration t = std::max(p.rtt.srtt() + 4 * p.rtt.rttvar(), p.cfg.lossTimeoutFloor);
  return std::min(t, p.cfg.lossTimeoutMax);
}

Duration PathSupervisor::deadline(const Path& p) const {
  Duration iv = std::max(interval(p), p.maxIntervalSinceAlive);
  Duration margin = std::clamp<Duration>(4 * p.rtt.rttvar(), std::chrono::milliseconds(2), iv);
  Duration d = std::max({static_cast<int64_t>(p.cfg.detectMultiplier) * iv + margin,
                         p.rtt.srtt() + 4 * p.rtt.rttvar(), p.cfg.silenceFloor});
  return std::min(d, p.cfg.maxDeadline);
}

Duration PathSupervisor::silenceDeadline(const Path& p) const {
  Duration d = deadline(p);
  // Counted from an activation or a stall, not from an answer: the first probe sent since
  // needs a round trip before it can be answered (a 50 ms path probed every 10 ms would
  // otherwise die before its first active reply; found in the lab).
  if (p.silenceFrom > p.lastAlive) d += p.rtt.srtt() + 4 * p.rtt.rttvar();
  return std::min(d, p.cfg.maxDeadline);
}

Duration PathSupervisor::suspectDeadline(const Path& p) const {
  // The silence deadline with a multiplier of one: the next answer is overdue.
  Duration iv = std::max(interval(p), p.maxIntervalSinceAlive);
  Duration margin = std::clamp<Duration>(4 * p.rtt.rttvar(), std::chrono::milliseconds(2), iv);
  Duration d = iv + margin;
  if (p.silenceFrom > p.lastAlive) d += p.rtt.srtt() + 4 * p.rtt.rttvar();
  return std::min(d, silenceDeadline(p));
}

void PathSupervisor::setSuspect(Path& p, bool suspect, TimePoint now) {
  if (p.suspect == suspect) return;
  p.suspect = suspect;
  if (suspect) ++p.counters.suspicions;
  listener_.onSuspect(p.id, suspect, now);
}

Duration PathSupervisor::currentHoldDown(const Path& p, TimePoint now) const {
  // Deaths inside the flap window, this one included, double the hold-down each.
  size_t recent = 0;
  for (size_t i = 0; i < std::min(p.deathCount, kDeathHistory); ++i) {
    if (now - p.deaths[i] < p.cfg.flapWindow) ++recent;
  }
  Duration h = p.cfg.holdDown;
  for (size_t i = 1; i < recent && h < p.cfg.maxHoldDown; ++i) h *= 2;
  return std::min(h, p.cfg.maxHoldDown);
}

void PathSupervisor::transition(Path& p, PathState to, PathCause cause, TimePoint now) {
  if (p.state == to) return;
  p.suspect = false;  // the event that follows tells the listener more than suspicion would
  PathEvent e;
  e.path = p.id;
  e.from = p.state;
  e.to = to;
  e.cause = cause;
  e.at = now;
  e.srtt = p.rtt.srtt();
  e.silence = now - p.lastAlive;
  e.missStreak = p.missStreak;
  e.loss = p.loss.lossRatio();
  bool wasUsable = p.state == PathState::kUp || p.state == PathState::kDegraded;
  if (to == PathState::kDead && wasUsable) {
    p.deaths[p.deathCount % kDeathHistory] = now;
    ++p.deathCount;
    ++p.counters.deaths;
    p.lastDetection = e.silence;
    e.holdDown = currentHoldDown(p, now);
    p.upNotBefore = now + e.holdDown;
  }
  if (to == PathState::kDown && wasUsable) {
    // An administrative cut is not a flap, but the path must prove itself again.
    p.upNotBefore = now;
  }
  if (wasUsable && to != PathState::kUp && to != PathState::kDegraded) {
    // The misses that ended it and the probes still in flight belong to the outage.
    const uint64_t recent = uint64_t(p.missStreak) + p.loss.pending();
    p.outageFrom = p.nextSeq > recent ? p.nextSeq - recent : 0;
  }
  if (to == PathState::kProbing) p.outageTo = p.nextSeq;
  if (to == PathState::kUp && !wasUsable) {
    // A fresh start: the silence deadline counts from now, and probes lost while the path
    // was out say nothing about its quality now. Those from before the outage do: a path
    // that died of a brownout's losses must not come back looking clean (it would take
    // SLA-bound traffic back at once, and lose it again).
    p.lastAlive = std::max(p.lastAlive, now);
    p.maxIntervalSinceAlive = Duration::zero();
    p.loss.forgetResolved(p.outageFrom, std::max(p.outageTo, p.outageFrom));
  }
  p.state = to;
  p.stateSince = now;
  if (to != PathState::kUp && to != PathState::kDegraded) p.goodStreak = 0;
  ++p.counters.transitions[static_cast<size_t>(cause)];
  listener_.onPathEvent(e);
}

void PathSupervisor::restartProbing(Path& p, TimePoint now) {
  if (!p.keyed || !p.linkUp || p.adminDown) return;
  if (!p.cfg.probes) {
    transition(p, PathState::kUp, PathCause::kProbingOff, now);
    return;
  }
  p.missStreak = 0;
  p.goodStreak = 0;
  transition(p, PathState::kProbing, PathCause::kKeyed, now);
  p.nextProbe = now;
  service(p);
}

void PathSupervisor::setKeyed(PathId id, bool keyed) {
  Path* p = find(id);
  if (!p || p->keyed == keyed) return;
  p->keyed = keyed;
  TimePoint now = clock_.now();
  if (!keyed) {
    p->nextProbe.reset();
    transition(*p, PathState::kDown, PathCause::kUnkeyed, now);
    rearm(*p);
    return;
  }
  restartProbing(*p, now);
}

void PathSupervisor::setLinkUp(PathId id, bool up) {
  Path* p = find(id);
  if (!p || p->linkUp == up) return;
  p->linkUp = up;
  TimePoint now = clock_.now();
  if (!up) {
    p->nextProbe.reset();
    transition(*p, PathState::kDown, PathCause::kLinkDown, now);
    rearm(*p);
    return;
  }
  if (p->adminDown) return;
  if (p->keyed && p->cfg.probes) {
    p->missStreak = 0;
    p->goodStreak = 0;
    transition(*p, PathState::kProbing, PathCause::kLinkUp, now);
    p->nextProbe = now;
    service(*p);
  } else {
    restartProbing(*p, now);
  }
}

void PathSupervisor::setAdminDown(PathId id, bool down) {
  Path* p = find(id);
  if (!p || p->adminDown == down) return;
  p->adminDown = down;
  TimePoint now = clock_.now();
  if (down) {
    p->nextProbe.reset();
    transition(*p, PathState::kDown, PathCause::kAdminDown, now);
    rearm(*p);
    return;
  }
  if (!p->keyed || !p->linkUp) return;
  if (!p->cfg.probes) {
    transition(*p, PathState::kUp, PathCause::kAdminUp, now);
    return;
  }
  p->missStreak = 0;
  p->goodStreak = 0;
  transition(*p, PathState::kProbing, PathCause::kAdminUp, now);
  p->nextProbe = now;
  service(*p);
}

bool PathSupervisor::adminDown(PathId id) const {
  const Path* p = find(id);
  return p != nullptr && p->adminDown;
}

void PathSupervisor::setActive(PathId id, bool active) {
  Path* p = find(id);
  if (!p || p->active == active) return;
  p->active = active;
  if (active) p->silenceFrom = clock_.now();
  if (checksLiveness(*p)) rearm(*p);
  if (p->nextProbe) {
    // Probe at once when the path becomes busy (its silence now counts, from here); a
    // slower rate applies from the next.
    TimePoint now = clock_.now();
    p->nextProbe = std::min(*p->nextProbe, active ? now : now + interval(*p));
    service(*p);
  }
}

void PathSupervisor::markDead(PathId id) {
  Path* p = find(id);
  if (!p || p->state == PathState::kDown) return;
  TimePoint now = clock_.now();
  transition(*p, PathState::kDead, PathCause::kExternal, now);
  if (p->cfg.probes && !p->nextProbe) p->nextProbe = now + interval(*p);
  p->nextCheck = now + p->cfg.deadLivenessInterval;
  rearm(*p);
}

void PathSupervisor::sendProbe(Path& p, TimePoint now) {
  uint64_t seq = p.nextSeq++;
  ProbeMessage m;
  m.type = ProbeType::kProbe;
  m.path = p.id;
  m.seq = static_cast<uint32_t>(seq);
  m.txUs = toWireMicros(now);
  std::array<uint8_t, kProbeSize> buf{};
  ByteWriter w(buf);
  if (!encodeProbe(m, w)) return;
  p.loss.onSent(seq);
  p.sentAt[seq % p.sentAt.size()] = now;
  p.sentBytes[seq % p.sentBytes.size()] = p.txBytes;
  ++p.counters.probesSent;
  Duration iv = interval(p);
  p.maxIntervalSinceAlive = std::max(p.maxIntervalSinceAlive, iv);
  // RFC 5880 6.8.7: shorten each interval by a random 0..N % so that probes of many paths
  // do not synchronise.
  Duration cut{0};
  if (p.cfg.txJitterPercent > 0) {
    uint64_t span = static_cast<uint64_t>(iv.count()) * p.cfg.txJitterPercent / 100;
    if (span > 0) cut = Duration(static_cast<int64_t>(splitmix(p.rng) % (span + 1)));
  }
  p.nextProbe = now + iv - cut;
  transport_.sendProbe(p.id, Bytes(buf.data(), buf.size()));
}

void PathSupervisor::processTimeouts(Path& p, TimePoint now) {
  Duration timeout = lossTimeout(p);
  while (p.nextTimeoutSeq < p.nextSeq) {
    uint64_t seq = p.nextTimeoutSeq;
    if (p.loss.outcome(seq) == ProbeOutcome::kPending) {
      if (p.sentAt[seq % p.sentAt.size()] + timeout > now) break;
      (void)p.loss.onTimeout(seq);
      ++p.counters.probesTimedOut;
      ++p.missStreak;
      p.goodStreak = 0;
    }
    ++p.nextTimeoutSeq;
  }
}

void PathSupervisor::evaluate(Path& p, TimePoint now) {
  const PathConfig& c = p.cfg;
  switch (p.state) {
    case PathState::kUp:
    case PathState::kDegraded: {
      if (!c.probes) return;
      if (now - std::max(p.lastAlive, p.silenceFrom) >= silenceDeadline(p)) {
        transition(p, PathState::kDead, PathCause::kSilence, now);
        return;
      }
      if (p.missStreak >= c.detectMultiplier) {
        transition(p, PathState::kDead, PathCause::kMissedProbes, now);
        return;
      }
      setSuspect(p, p.active && now - std::max(p.lastAlive, p.silenceFrom) >= suspectDeadline(p),
                 now);
      bool enoughSamples = p.loss.resolved() >= c.degradeMinSamples;
      double loss = p.loss.lossRatio();
      bool rttHigh = c.degradeRtt > Duration::zero() && p.rtt.srtt() >= c.degradeRtt;
      if (p.state == PathState::kUp) {
        if (enoughSamples && loss >= c.degradeLoss) {
          transition(p, PathState::kDegraded, PathCause::kLossHigh, now);
        } else if (rttHigh) {
          transition(p, PathState::kDegraded, PathCause::kRttHigh, now);
        }
      } else {
        bool lossOk = !enoughSamples || loss < c.degradeLoss / 2;
        bool rttOk = c.degradeRtt == Duration::zero() || p.rtt.srtt() < c.degradeRtt * 4 / 5;
        if (lossOk && rttOk && now - p.stateSince >= c.minDegradedTime) {
          transition(p, PathState::kUp, PathCause::kQualityOk, now);
        }
      }
      return;
    }
    case PathState::kProbing:
      if (p.goodStreak >= c.recoverProbes && now >= p.upNotBefore) {
        transition(p, PathState::kUp, PathCause::kProbesAnswered, now);
      } else if (p.missStreak >= c.detectMultiplier) {
        transition(p, PathState::kDead, PathCause::kMissedProbes, now);
      }
      return;
    case PathState::kDead:
    case PathState::kDown:
      return;
  }
}

void PathSupervisor::service(Path& p) {
  TimePoint now = clock_.now();
  // A timer that fires much later than armed means this process (or its receive thread)
  // was not scheduled: it sent no probes meanwhile, and replies that did arrive may still be
  // queued behind us. So a stall never kills a path: silence counts afresh from now (a probe
  // goes out at once), and the verdict waits for the queued input.
  if (p.armedAt && now - *p.armedAt > p.cfg.stallTolerance && !p.settling) {
    ++p.counters.stalls;
    p.settling = true;
    p.silenceFrom = std::max(p.silenceFrom, now);
    if (p.nextProbe) p.nextProbe = std::min(*p.nextProbe, now + p.cfg.stallSettle);
    p.armedAt = now + p.cfg.stallSettle;
    p.timer.arm(*p.armedAt, [this, &p] { service(p); });
    return;
  }
  p.settling = false;
  p.armedAt.reset();
  if (p.state != PathState::kDown && p.cfg.probes) {
    processTimeouts(p, now);
    evaluate(p, now);
    if (p.nextProbe && *p.nextProbe <= now) sendProbe(p, now);
  } else if (checksLiveness(p)) {
    serviceLiveness(p, now);
  }
  rearm(p);
}

void PathSupervisor::rearm(Path& p) {
  std::optional<TimePoint> next;
  auto consider = [&next](TimePoint t) { next = next ? std::min(*next, t) : t; };
  if (p.state != PathState::kDown && p.cfg.probes) {
    if (p.nextProbe) consider(*p.nextProbe);
    // The oldest probe still waiting for its reply.
    for (uint64_t seq = p.nextTimeoutSeq; seq < p.nextSeq; ++seq) {
      if (p.loss.outcome(seq) == ProbeOutcome::kPending) {
        consider(p.sentAt[seq % p.sentAt.size()] + lossTimeout(p));
        break;
      }
    }
    if (p.state == PathState::kUp || p.state == PathState::kDegraded) {
      const TimePoint from = std::max(p.lastAlive, p.silenceFrom);
      consider(from + silenceDeadline(p));
      if (p.active && !p.suspect) consider(from + suspectDeadline(p));
    }
    if (p.state == PathState::kProbing && p.goodStreak >= p.cfg.recoverProbes) {
      consider(p.upNotBefore);
    }
  } else if (checksLiveness(p)) {
    if (auto t = livenessDeadline(p)) consider(*t);
  }
  if (!next) {
    p.timer.cancel();
    p.armedAt.reset();
    return;
  }
  if (p.armedAt && *p.armedAt == *next && p.timer.armed()) return;
  p.armedAt = next;
  p.timer.arm(*next, [this, &p] { service(p); });
}

void PathSupervisor::handleReply(Path& p, const ProbeMessage& m, TimePoint rx) {
  // Extend the 32-bit wire number to the 64-bit number nearest below the last one sent.
  uint64_t last = p.nextSeq - 1;
  uint64_t seq = (last & ~uint64_t{0xffffffff}) | m.seq;
  if (seq > last) {
    if (seq < (uint64_t{1} << 32)) {
      ++p.counters.repliesStale;
      return;
    }
    seq -= uint64_t{1} << 32;
  }
  if (!p.loss.inWindow(seq)) {
    ++p.counters.repliesStale;
    return;
  }
  TimePoint sent = p.sentAt[seq % p.sentAt.size()];
  uint64_t rxUs = toWireMicros(rx);
  if (m.echoUs != toWireMicros(sent) || rxUs < m.echoUs || rxUs - m.echoUs < m.holdUs) {
    ++p.counters.repliesBogus;
    return;
  }
  ProbeOutcome prev = p.loss.onReply(seq);
  if (prev != ProbeOutcome::kPending && prev != ProbeOutcome::kLost) {
    ++p.counters.repliesDuplicate;
    return;
  }
  // RTT without the peer's hold time; microsecond wire resolution.
  Duration rtt = std::chrono::microseconds(rxUs - m.echoUs - m.holdUs);
  p.rtt.add(rtt);
  p.rttJitter.add(rtt);
  p.inJitter.add(std::chrono::microseconds(static_cast<int64_t>(rxUs - m.txUs)));
  p.lastAlive = std::max(p.lastAlive, rx);
  p.maxIntervalSinceAlive = Duration::zero();
  p.missStreak = 0;
  if (m.hasRxCounts) {
    // A late reply's counts are as good as a timely one's.
    p.forward.onReport(seq, m.rxProbes, p.nextSeq - 1);
    const uint64_t peerRxUs = m.txUs > m.holdUs ? m.txUs - m.holdUs : 0;
    p.rate.onReply({sent, p.sentBytes[seq % p.sentBytes.size()], peerRxUs, m.rxBytes},
                   p.rtt.windowMin(), rx);
  }
  if (prev == ProbeOutcome::kPending) {
    ++p.counters.repliesReceived;
    ++p.goodStreak;
  } else {
    ++p.counters.repliesLate;
  }
  if (p.state == PathState::kDead) {
    transition(p, PathState::kProbing, PathCause::kReplyReceived, clock_.now());
    p.goodStreak = prev == ProbeOutcome::kPending ? 1 : 0;
  }
}

bool PathSupervisor::onProbeBytes(PathId id, Bytes shim, TimePoint rxTime) {
  Path* p = find(id);
  ProbeMessage m;
  if (!decodeProbe(shim, m)) {
    if (p) ++p->counters.malformed;
    return false;
  }
  if (!p) return true;
  TimePoint now = clock_.now();
  if (m.type == ProbeType::kProbe) {
    // Answer even while Down: the peer measures its own view of the path. Our counts let
    // it tell its direction's loss and delivery rate from the round trip's.
    ++p->peerProbes;
    ProbeMessage reply = makeReply(m, toWireMicros(rxTime), toWireMicros(now));
    reply.hasRxCounts = true;
    reply.rxProbes = p->peerProbes;
    reply.rxBytes = p->rxBytes;
    std::array<uint8_t, kProbeMaxSize> buf{};
    ByteWriter w(buf);
    if (encodeProbe(reply, w)) {
      ++p->counters.peerProbesAnswered;
      transport_.sendProbe(id, Bytes(buf.data(), w.position()));
    }
    p->inJitter.add(std::chrono::microseconds(static_cast<int64_t>(toWireMicros(rxTime)) -
                                              static_cast<int64_t>(m.txUs)));
    p->lastAlive = std::max(p->lastAlive, rxTime);
    p->maxIntervalSinceAlive = Duration::zero();
  } else {
    if (m.path != id) {
      ++p->counters.wrongPath;
      return true;
    }
    if (p->state == PathState::kDown || !p->cfg.probes) return true;
    handleReply(*p, m, rxTime);
  }
  service(*p);
  return true;
}

void PathSupervisor::onTraffic(PathId id, TimePoint rxTime) {
  Path* p = find(id);
  if (!p) return;
  if (rxTime > p->lastAlive) {
    p->lastAlive = rxTime;
    p->maxIntervalSinceAlive = Duration::zero();
  }
  // No rearm: the silence deadline only moves later, the armed timer re-checks then. But a
  // path without probes acts on it: an answered check, or a dead path's proof of life.
  if (checksLiveness(*p) && (p->checkSentAt || p->state == PathState::kDead)) service(*p);
  if (p->suspect) service(*p);  // heard from again: clear it now, not at the next timer
}

void PathSupervisor::setByteCounts(PathId id, uint64_t txBytes, uint64_t rxBytes) {
  if (Path* p = find(id)) {
    p->txBytes = txBytes;
    p->rxBytes = rxBytes;
  }
}

PathStats PathSupervisor::stats(PathId id) const {
  PathStats s;
  const Path* p = find(id);
  if (!p) return s;
  s.state = p->state;
  s.srtt = p->rtt.srtt();
  s.rttvar = p->rtt.rttvar();
  s.minRtt = p->rtt.windowMin();
  s.p50 = p->rtt.percentile(0.50);
  s.p95 = p->rtt.percentile(0.95);
  s.p99 = p->rtt.percentile(0.99);
  s.rttJitter = p->rttJitter.jitter();
  s.inboundJitter = p->inJitter.jitter();
  s.loss = p->loss.lossRatio();
  if (auto fwd = p->forward.loss(p->nextSeq - 1)) {
    s.lossForward = *fwd;
    s.lossReturn = ForwardLoss::returnLoss(s.loss, *fwd);
  }
  s.capacityMeasuredBps = p->rate.capacityBps(clock_.now()).value_or(0);
  s.lost = p->loss.lost();
  s.late = p->loss.late();
  s.received = p->loss.received();
  s.missStreak = p->missStreak;
  s.suspect = p->suspect;
  s.probeInterval = interval(*p);
  s.deadline = deadline(*p);
  s.lastDetection = p->lastDetection;
  s.rttHistogram = p->rtt.histogram();
  s.counters = p->counters;
  return s;
}

}  // namespace braid::pathmon
