#include "policy/engine.hpp"

#include <algorithm>
#include <cmath>

namespace braid::policy {

namespace {

bool meetsWithRoom(const PathView& p, const Sla& s, float factor) {
  Sla tight = s;
  if (s.maxRttUs) tight.maxRttUs = static_cast<uint32_t>(s.maxRttUs * factor);
  if (s.maxJitterUs) tight.maxJitterUs = static_cast<uint32_t>(s.maxJitterUs * factor);
  if (s.maxLoss < 1.0f) tight.maxLoss = s.maxLoss * factor;
  return meetsSla(p, tight);
}

bool duplicates(const ClassPolicy& c) {
  return c.duplicate == DuplicateWhen::kAlways || c.duplicate == DuplicateWhen::kBestBreaches;
}

size_t preferenceRank(const ClassPolicy& c, PathId id) {
  for (size_t i = 0; i < c.preferred.size(); ++i) {
    if (c.preferred[i] == id) return i;
  }
  return c.preferred.size();
}

}  // namespace

Engine::Engine(EngineConfig config)
    : config_(std::move(config)),
      classifier_(config_.rules, config_.defaultClass),
      flows_(config_.maxFlows, config_.flowIdle) {
  normalize();
  state_.resize(config_.classes.size());
}

void Engine::normalize() {
  if (config_.classes.empty()) {
    ClassPolicy fallback;
    fallback.name = "default";
    config_.classes.push_back(fallback);
  }
  for (ClassPolicy& c : config_.classes) c.copies = std::clamp<uint8_t>(c.copies, 1, 4);
}

void Engine::reload(EngineConfig config) {
  EngineConfig old = std::move(config_);
  std::vector<ClassState> oldState = std::move(state_);
  config_ = std::move(config);
  normalize();
  classifier_ = Classifier(config_.rules, config_.defaultClass);
  state_.assign(config_.classes.size(), ClassState{});
  // Old class id -> new class id by name (or none).
  std::vector<int> map(old.classes.size(), -1);
  for (size_t o = 0; o < old.classes.size(); ++o) {
    for (size_t n = 0; n < config_.classes.size(); ++n) {
      if (old.classes[o].name == config_.classes[n].name) {
        map[o] = static_cast<int>(n);
        state_[n] = oldState[o];
        state_[n].swrr = Swrr{};
        break;
      }
    }
  }
  // The flow table is rebuilt (its size or idle time may change), least recent first so
  // the LRU order survives.
  std::vector<FlowEntry> live;
  live.reserve(flows_.size());
  flows_.forEach([&live](const FlowEntry& e) { live.push_back(e); });
  flows_ = FlowTable(config_.maxFlows, config_.flowIdle);
  ++counters_.reloads;
  for (auto it = live.rbegin(); it != live.rend(); ++it) {
    FlowEntry* f = flows_.insert(it->key, it->lastSeen);
    *f = *it;
    ClassId cls = classifier_.classify(f->key, f->meta);
    if (cls >= config_.classes.size()) cls = 0;
    const ClassPolicy& c = config_.classes[cls];
    bool sameClass = it->cls < map.size() && map[it->cls] == cls;
    bool pathAllowed = c.mode != Mode::kPin || std::find(c.preferred.begin(), c.preferred.end(),
                                                         f->path) != c.preferred.end();
    bool sameMode = sameClass && old.classes[it->cls].mode == c.mode;
    f->cls = cls;
    if (sameClass && sameMode && pathAllowed) {
      ++counters_.reloadKept;
    } else {
      f->path = kNoPath;
      f->lastMove = DecisionCause::kPolicyChange;
      ++counters_.reloadMoved;
    }
  }
}

uint8_t Engine::fecGroupForLoss(float loss) {
  const double p = loss;
  if (p <= kFecResidual) return 20;
  if (p >= 1.0) return 2;
  // Largest k with p (1 - (1 - p)^(k - 1)) <= target: (k - 1) <= ln(1 - target/p) / ln(1 - p).
  const double k = 1.0 + std::floor(std::log(1.0 - kFecResidual / p) / std::log(1.0 - p));
  return static_cast<uint8_t>(std::clamp(k, 2.0, 20.0));
}

uint64_t Engine::score(const PathView& p, bool withLoss) const {
  // Microseconds: RTT, twice the jitter, 1 % loss as 10 ms, a Degraded path pushed back.
  uint64_t s = uint64_t{p.rttUs} + 2 * uint64_t{p.jitterUs};
  if (withLoss) s += static_cast<uint64_t>(std::max(0.0f, p.loss) * 1e6f);
  if (p.health == PathHealth::kDegraded) s += config_.degradedPenaltyUs;
  return s;
}

const PathView* Engine::findIn(const Cands& cands, PathId id) {
  for (size_t i = 0; i < cands.n; ++i) {
    if (cands.v[i]->id == id) return cands.v[i];
  }
  return nullptr;
}

Engine::Cands Engine::candidates(const ClassPolicy& c, std::span<const PathView> paths) const {
  Cands all, unmetered;
  for (const PathView& p : paths) {
    if (!usable(p) || all.n == kMaxPaths) continue;
    if (c.mode == Mode::kPin && preferenceRank(c, p.id) == c.preferred.size()) continue;
    if (p.metered && c.metered == MeteredUse::kNever) continue;
    if (p.budget == BudgetUse::kBlocked) continue;
    all.v[all.n++] = &p;
    if (!p.metered) unmetered.v[unmetered.n++] = &p;
  }
  // Last resort: metered paths only while no unmetered one is usable.
  const Cands& chosen = c.metered == MeteredUse::kLastResort && unmetered.n > 0 ? unmetered : all;
  // A used-up budget makes its paths a last resort for every class, copies and FEC included.
  Cands within;
  for (size_t i = 0; i < chosen.n; ++i) {
    if (chosen.v[i]->budget == BudgetUse::kOk) within.v[within.n++] = chosen.v[i];
  }
  return within.n > 0 ? within : chosen;
}

// Strict order for choosing a class's path: SLA met first, then the configured preference,
// then the score.
bool Engine::preferredOver(const ClassPolicy& c, const PathView& a, const PathView& b,
                           bool lossBlind) const {
  if (!lossBlind) {
    bool ma = meetsSla(a, c.sla), mb = meetsSla(b, c.sla);
    if (ma != mb) return ma;
  }
  size_t ra = preferenceRank(c, a.id), rb = preferenceRank(c, b.id);
  if (ra != rb) return ra < rb;
  uint64_t sa = score(a, !lossBlind), sb = score(b, !lossBlind);
  if (sa != sb) return sa < sb;
  return a.id < b.id;
}

void Engine::updateBest(const ClassPolicy& c, ClassState& s, const Cands& cands, bool anyMeets) {
  bool lossBlind = duplicates(c);
  const PathView* top = cands.v[0];
  for (size_t i = 1; i < cands.n; ++i) {
    if (preferredOver(c, *cands.v[i], *top, lossBlind)) top = cands.v[i];
  }
  const PathView* cur = findIn(cands, s.best);
  bool change = false;
  if (!cur) {
    change = true;
  } else if (top != cur) {
    bool curMeets = lossBlind || meetsSla(*cur, c.sla);
    if (anyMeets && !curMeets) {
      change = true;  // the current one breaches, the top one meets
    } else if (preferenceRank(c, top->id) < preferenceRank(c, cur->id)) {
      // A more preferred path is back: take it once it meets the SLA with some room.
      change = lossBlind || meetsWithRoom(*top, c.sla, config_.slaEnterFactor) || !curMeets;
    } else if (preferenceRank(c, top->id) == preferenceRank(c, cur->id)) {
      uint64_t st = score(*top, !lossBlind), sc = score(*cur, !lossBlind);
      uint64_t margin =
          std::max<uint64_t>(static_cast<uint64_t>(sc * config_.switchRatio), config_.switchMinUs);
      change = st + margin < sc;
    }
  }
  if (change && (!cur || cur != top)) {
    s.best = top->id;
    ++s.epoch;
    ++counters_.bestChanges;
  }
}

PathId Engine::weightedPick(ClassState& s, const Cands& cands,
                            bool (*eligible)(const PathView&, const void*), const void* ctx) {
  // Smooth weighted round-robin (as in nginx): each eligible path gains its weight, the
  // richest is picked and pays the total. Deterministic and evenly interleaved.
  Swrr& w = s.swrr;
  int64_t total = 0;
  size_t bestSlot = SIZE_MAX;
  PathId bestId = kNoPath;
  for (size_t i = 0; i < cands.n; ++i) {
    const PathView& p = *cands.v[i];
    if (!eligible(p, ctx)) continue;
    size_t slot = 0;
    while (slot < w.n && w.id[slot] != p.id) ++slot;
    if (slot == w.n) {
      if (w.n == kMaxPaths) {
        w.n = 0;  // too many distinct paths seen: start over
        slot = 0;
      }
      w.id[slot] = p.id;
      w.cur[slot] = 0;
      w.n = slot + 1;
    }
    int64_t weight = std::max<int64_t>(p.capacityKbps, 1);
    w.cur[slot] += weight;
    total += weight;
    if (bestSlot == SIZE_MAX || w.cur[slot] > w.cur[bestSlot]) {
      bestSlot = slot;
      bestId = p.id;
    }
  }
  if (bestSlot != SIZE_MAX) w.cur[bestSlot] -= total;
  return bestId;
}

namespace {
struct BondCtx {
  const ClassPolicy* c;
  bool anyMeets;
  uint32_t fastestRtt;
  uint32_t fastestCap;
};
bool bondBase(const PathView& p, const BondCtx& b) {
  if (p.health == PathHealth::kDegraded) return false;
  return !b.anyMeets || meetsSla(p, b.c->sla);
}
bool bondEligible(const PathView& p, const void* ctx) {
  const auto& b = *static_cast<const BondCtx*>(ctx);
  if (!bondBase(p, b)) return false;
  // Drop the path that would drag the bond: too slow relative to the fastest member, or too
  // small a share of its capacity (Peplink's 15 % rule; RFC 6182 section 5.3).
  if (p.rttUs > b.fastestRtt + b.c->bondMaxRttSpreadUs) return false;
  return static_cast<float>(std::max<uint32_t>(p.capacityKbps, 1)) >=
         b.c->bondMinCapacityRatio * static_cast<float>(std::max<uint32_t>(b.fastestCap, 1));
}
struct BalanceCtx {
  const Sla* sla;
  bool anyMeets;
};
bool balanceEligible(const PathView& p, const void* ctx) {
  const auto& b = *static_cast<const BalanceCtx*>(ctx);
  return !b.anyMeets || meetsSla(p, *b.sla);
}
}  // namespace

PathId Engine::bondPick(const ClassPolicy& c, ClassState& s, const Cands& cands, bool anyMeets) {
  BondCtx ctx{&c, anyMeets, UINT32_MAX, 0};
  for (size_t i = 0; i < cands.n; ++i) {
    const PathView& p = *cands.v[i];
    if (!bondBase(p, ctx)) continue;
    if (p.rttUs < ctx.fastestRtt ||
        (p.rttUs == ctx.fastestRtt && p.capacityKbps > ctx.fastestCap)) {
      ctx.fastestRtt = p.rttUs;
      ctx.fastestCap = p.capacityKbps;
    }
  }
  if (ctx.fastestRtt == UINT32_MAX) return s.best;  // only degraded paths: the best one
  return weightedPick(s, cands, bondEligible, &ctx);
}

PathId Engine::balancePick(const ClassPolicy& c, ClassState& s, const Cands& cands, bool anyMeets) {
  BalanceCtx ctx{&c.sla, anyMeets};
  return weightedPick(s, cands, balanceEligible, &ctx);
}

void Engine::addCopies(const ClassPolicy& c, const Cands& cands, bool anyMeets, Decision& d) const {
  bool want = false;
  size_t extra = std::min<size_t>(c.copies - 1, Decision::kMaxCopies);
  switch (c.duplicate) {
    case DuplicateWhen::kNever:
      break;
    case DuplicateWhen::kAlways:
      want = true;
      break;
    case DuplicateWhen::kBestBreaches: {
      const PathView* primary = findIn(cands, d.primary);
      want = !primary || !meetsSla(*primary, c.sla);
      break;
    }
    case DuplicateWhen::kNoneMeets:
      want = !anyMeets;
      break;
  }
  if (!want && c.copyOnSuspect) {
    const PathView* primary = findIn(cands, d.primary);
    if (primary && primary->suspect) {
      want = true;
      extra = std::max<size_t>(extra, 1);
    }
  }
  if (!want) return;
  // Pick the next-best paths by the same order as the primary (selection, no allocation).
  for (size_t k = 0; k < extra; ++k) {
    const PathView* pick = nullptr;
    for (size_t i = 0; i < cands.n; ++i) {
      const PathView* p = cands.v[i];
      if (p->id == d.primary) continue;
      bool taken = false;
      for (size_t j = 0; j < d.copyCount; ++j) taken |= d.copies[j] == p->id;
      if (taken) continue;
      // A suspect path is the last choice for a copy: it may be dying too.
      if (!pick || (pick->suspect && !p->suspect) ||
          (pick->suspect == p->suspect && preferredOver(c, *p, *pick))) {
        pick = p;
      }
    }
    if (!pick) break;
    d.copies[d.copyCount++] = pick->id;
  }
}

Decision Engine::decide(const FlowKey& key, TimePoint now, std::span<const PathView> paths,
                        PacketMeta meta) {
  Decision d;
  FlowEntry* f = flows_.find(key, now);
  bool isNew = f == nullptr;
  if (isNew) {
    f = flows_.insert(key, now);
    f->cls = classifier_.classify(key, meta);
    if (f->cls >= config_.classes.size()) f->cls = 0;
    f->meta = meta;
  }
  ++f->packets;
  d.cls = f->cls;
  const ClassPolicy& c = config_.classes[f->cls];
  ClassState& s = state_[f->cls];

  Cands cands = candidates(c, paths);
  if (cands.n == 0) {
    f->path = kNoPath;
    f->lastMove = DecisionCause::kNoPath;
    d.cause = DecisionCause::kNoPath;
    ++counters_.decisions[static_cast<size_t>(d.cause)];
    return d;
  }
  bool anyMeets = false;
  for (size_t i = 0; i < cands.n; ++i) anyMeets |= meetsSla(*cands.v[i], c.sla);
  updateBest(c, s, cands, anyMeets);

  if (c.mode == Mode::kBond) {
    d.primary = bondPick(c, s, cands, anyMeets);
    d.cause = DecisionCause::kPerPacket;
    f->path = d.primary;
  } else {
    const PathView* cur = f->path == kNoPath ? nullptr : findIn(cands, f->path);
    DecisionCause cause = DecisionCause::kSticky;
    if (isNew) {
      cause = DecisionCause::kNewFlow;
    } else if (f->path == kNoPath && f->lastMove == DecisionCause::kPolicyChange) {
      cause = DecisionCause::kPolicyChange;
    } else if (!cur) {
      // Gone from the candidates: unusable (failover), or a metered path no longer needed.
      bool stillUsable = false;
      for (const PathView& p : paths) stillUsable |= p.id == f->path && usable(p);
      cause = stillUsable ? DecisionCause::kBetterPath : DecisionCause::kPathDown;
    } else if (!duplicates(c) && anyMeets && !meetsSla(*cur, c.sla)) {
      cause = DecisionCause::kSlaBreach;
    } else if (c.mode != Mode::kBalance && f->epoch != s.epoch && f->path != s.best) {
      cause = DecisionCause::kBetterPath;
    }
    if (cause == DecisionCause::kSticky) {
      d.primary = f->path;
    } else {
      d.primary = c.mode == Mode::kBalance ? balancePick(c, s, cands, anyMeets) : s.best;
      f->path = d.primary;
      f->epoch = s.epoch;
      f->lastMove = cause;
    }
    if (cause == DecisionCause::kSticky) f->epoch = s.epoch;
    d.cause = cause;
    addCopies(c, cands, anyMeets, d);
  }

  if (c.fec != FecWhen::kNever) {
    const PathView* primary = findIn(cands, d.primary);
    // Parity protects only our direction: replies lost on the way back need none.
    float loss = primary ? fecLoss(*primary) : 0.0f;
    ClassState& fs = state_[f->cls];
    if (loss >= c.fecLossThreshold && loss > 0.0f) {
      // The peak is renewed at least every half hold, so an old burst does not size the
      // groups for the whole of a long, milder loss.
      if (now >= fs.fecUntil || loss >= fs.fecPeak || now - fs.fecPeakAt >= kFecHold / 2) {
        fs.fecPeak = loss;
        fs.fecPeakAt = now;
      }
      fs.fecUntil = now + kFecHold;
    }
    if (c.fec == FecWhen::kAlways) {
      d.fecK = fecGroupForLoss(std::max(loss, c.fecLossThreshold));
    } else if (now < fs.fecUntil) {
      d.fecK = fecGroupForLoss(std::max(loss, fs.fecPeak));
    }
  }
  ++counters_.decisions[static_cast<size_t>(d.cause)];
  if (d.copyCount > 0) {
    ++counters_.duplicated;
    counters_.copies += d.copyCount;
  }
  if (d.fecK > 0) ++counters_.fec;
  return d;
}

}  // namespace braid::policy
