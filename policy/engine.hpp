// Engine: for each outbound packet, which path(s) carry it. Classifies a new flow once,
// pins it to a path (stickiness: TCP is not reordered), and moves it only when its path
// becomes unusable, breaches the class SLA while another path meets it, or the class's
// preferred path changes (with hysteresis). Bonded classes are scheduled per packet.
// No I/O, no allocation per packet: edge passes the current PathViews of the destination
// peer and `now`.
//
// Duplicating classes (duplicate = always / best-breaches) keep the lowest-latency path as
// primary even while it breaches the SLA, and add copies on the next-best paths: the
// receiver gets the faster copy's latency and the product of the paths' loss.
//
// "Every flow moves off a dead path in the same turn in which its death is learnt": the
// check is made on each packet against the views passed in, so the first packet after the
// path is reported down already goes elsewhere.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "core/clock.hpp"
#include "core/flow_key.hpp"
#include "policy/classifier.hpp"
#include "policy/flow_table.hpp"
#include "policy/types.hpp"

namespace braid::policy {

struct EngineConfig {
  std::vector<ClassPolicy> classes;  // ClassId = index; at least one
  std::vector<Rule> rules;           // first match wins
  ClassId defaultClass = 0;
  size_t maxFlows = 65536;
  Duration flowIdle = std::chrono::seconds(60);
  // Hysteresis of a class's best path: a challenger must beat the current one's score by
  // this share and by at least switchMinUs (ECF's beta = 0.25).
  float switchRatio = 0.25f;
  uint32_t switchMinUs = 2000;
  // A challenger taking over by preference order must meet the SLA with this much room
  // (0.9: within 90 % of each bound), so a path hovering at the bound does not flap.
  float slaEnterFactor = 0.9f;
  // Score penalty of a Degraded path (microseconds of RTT).
  uint32_t degradedPenaltyUs = 50'000;
};

struct EngineCounters {
  std::array<uint64_t, static_cast<size_t>(DecisionCause::kCount)> decisions{};
  uint64_t duplicated = 0;  // packets sent with copies
  uint64_t copies = 0;      // extra copies
  uint64_t fec = 0;         // packets with FEC on
  uint64_t bestChanges = 0;
  uint64_t reloads = 0;
  uint64_t reloadKept = 0;   // flows that kept class and path over a reload
  uint64_t reloadMoved = 0;  // flows that choose again
};

class Engine {
 public:
  static constexpr size_t kMaxPaths = 16;  // views beyond this are ignored

  explicit Engine(EngineConfig config);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  Decision decide(const FlowKey& key, TimePoint now, std::span<const PathView> paths,
                  PacketMeta meta = {});
  // Applies a new policy (SIGHUP) without dropping flows: every flow is classified again;
  // one whose class keeps its name and whose path that class may still use keeps its path,
  // the others choose again at their next packet (cause kPolicyChange). Per-class state
  // (best path, epoch) carries over by class name. Not on the data path: allocates.
  void reload(EngineConfig config);
  // Forgets idle flows (the flow table also drops them lazily on lookup).
  size_t expireFlows(TimePoint now, size_t budget = SIZE_MAX) { return flows_.expire(now, budget); }

  const EngineCounters& counters() const { return counters_; }
  const FlowTable& flows() const { return flows_; }
  const Classifier& classifier() const { return classifier_; }
  const ClassPolicy& classPolicy(ClassId id) const { return config_.classes[id]; }
  size_t classCount() const { return config_.classes.size(); }
  // The class's current best path (kNoPath before its first packet).
  PathId classBest(ClassId id) const { return state_[id].best; }

  // FEC group size for a measured loss p: one parity per k. With XOR parity a lost packet
  // stays lost when another of its group is lost too, so i.i.d. loss leaves
  // p x (1 - (1 - p)^(k - 1)); k is the largest in [2, 20] that keeps this under
  // kFecResidual (0.2 %): 20 up to ~1 %, 6 at 2 %, 3 at 3 %, 2 from 5 % (Juniper SSR's
  // documented ramp runs 1:20 at 1 % to 1:2 at 10 %).
  static uint8_t fecGroupForLoss(float loss);
  static constexpr double kFecResidual = 0.002;
  // Once a class's loss reached its FEC threshold, parity goes on for this long after the
  // last time it did, sized for the highest loss seen meanwhile: the probe window's loss
  // estimate swings (3 % over 100 probes reads 0-7 %), and each dip below the threshold
  // would leave packets unprotected while the loss goes on.
  static constexpr Duration kFecHold = std::chrono::seconds(10);

 private:
  struct Cands {
    std::array<const PathView*, kMaxPaths> v{};
    size_t n = 0;
  };
  struct Swrr {
    std::array<PathId, kMaxPaths> id{};
    std::array<int64_t, kMaxPaths> cur{};
    size_t n = 0;
  };
  struct ClassState {
    PathId best = kNoPath;
    uint32_t epoch = 0;
    Swrr swrr;
    TimePoint fecUntil{};  // kFecHold after the loss was last at the threshold
    TimePoint fecPeakAt{};
    float fecPeak = 0;  // the highest loss since fecPeakAt
  };

  Cands candidates(const ClassPolicy& c, std::span<const PathView> paths) const;
  uint64_t score(const PathView& p, bool withLoss = true) const;
  // Order for the class's primary path. `lossBlind`: duplicating classes rank by latency
  // alone, and answer SLA breaches (loss) with copies instead of moving.
  bool preferredOver(const ClassPolicy& c, const PathView& a, const PathView& b,
                     bool lossBlind = false) const;
  void updateBest(const ClassPolicy& c, ClassState& s, const Cands& cands, bool anyMeets);
  PathId weightedPick(ClassState& s, const Cands& cands,
                      bool (*eligible)(const PathView&, const void*), const void* ctx);
  PathId bondPick(const ClassPolicy& c, ClassState& s, const Cands& cands, bool anyMeets);
  PathId balancePick(const ClassPolicy& c, ClassState& s, const Cands& cands, bool anyMeets);
  void addCopies(const ClassPolicy& c, const Cands& cands, bool anyMeets, Decision& d) const;
  static const PathView* findIn(const Cands& cands, PathId id);
  void normalize();

  EngineConfig config_;
  Classifier classifier_;
  FlowTable flows_;
  std::vector<ClassState> state_;
  EngineCounters counters_;
};

}  // namespace braid::policy
