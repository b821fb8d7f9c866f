// The policy model: plain structs, no parsing (edge reads TOML into these). What the engine
// sees of a path (PathView), what a class asks for (ClassPolicy, Sla), and what it decides
// for one packet (Decision, fixed size, no allocation).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace braid::policy {

// Same small integer as pathmon::PathId: edge's index into its path table.
using PathId = uint16_t;
inline constexpr PathId kNoPath = 0xffff;
using ClassId = uint16_t;

// Edge maps pathmon's PathState: kUp -> kUp, kDegraded -> kDegraded, the rest -> kDown.
enum class PathHealth : uint8_t { kDown, kUp, kDegraded };

// A metered uplink's byte budget (policy/budget.hpp) as edge applies it to the uplink's
// paths once the budget is used up (`budget_exhausted` in the config).
enum class BudgetUse : uint8_t {
  kOk,
  kLastResort,  // used up: only when no path within its budget is usable, for any class
  kBlocked,     // used up: no data at all (probes go on)
};

struct PathView {
  PathId id = kNoPath;
  bool keyed = false;  // outbound SA installed
  PathHealth health = PathHealth::kDown;
  uint32_t rttUs = 0;  // smoothed RTT
  uint32_t jitterUs = 0;
  float loss = 0;  // 0..1, probe loss over pathmon's window (round trip)
  bool metered = false;
  uint32_t capacityKbps = 0;  // bond/balance weight: boundedCapacityKbps() below
  BudgetUse budget = BudgetUse::kOk;
  bool suspect = false;  // an answer overdue: maybe dying (pathmon's suspicion)
  // 0..1, loss on our way to the peer (pathmon's split of `loss`); < 0: not reported (a
  // standard or older peer). FEC protects only our direction, so it follows this.
  float lossForward = -1;
};

// The weight of a path: the operator's configured egress rate is an upper bound, and a
// measured delivery rate under saturation (pathmon/delivery_rate.hpp) can only lower it: such
// a sample underestimates whenever the sender did not fill the path, so it is evidence of a
// lower ceiling, never of a higher one. 0 configured (unknown): the measurement, if any.
inline uint32_t boundedCapacityKbps(uint32_t configuredKbps, uint64_t measuredBps) {
  if (measuredBps == 0) return configuredKbps;
  const uint64_t measured = std::max<uint64_t>(measuredBps / 1000, 1);
  if (configuredKbps == 0) return static_cast<uint32_t>(std::min<uint64_t>(measured, UINT32_MAX));
  return static_cast<uint32_t>(std::min<uint64_t>(configuredKbps, measured));
}

// The loss FEC should cover on a path: our direction's when the peer reports it.
inline float fecLoss(const PathView& p) {
  return p.lossForward >= 0 ? p.lossForward : p.loss;
}

// What the classifier sees besides the 5-tuple.
struct PacketMeta {
  uint8_t dscp = 0;  // 6-bit DSCP (RFC 2474), not the whole TOS byte
  uint8_t ingress = 0;
};

inline bool usable(const PathView& p) {
  return p.keyed && p.health != PathHealth::kDown;
}

// A bound of 0 (or maxLoss >= 1) means "no bound". Latency is round-trip: that is what the
// probes measure without synchronised clocks.
struct Sla {
  uint32_t maxRttUs = 0;
  uint32_t maxJitterUs = 0;
  float maxLoss = 1.0f;
};

inline bool meetsSla(const PathView& p, const Sla& s) {
  return usable(p) && (s.maxRttUs == 0 || p.rttUs <= s.maxRttUs) &&
         (s.maxJitterUs == 0 || p.jitterUs <= s.maxJitterUs) &&
         (s.maxLoss >= 1.0f || p.loss <= s.maxLoss);
}

enum class Mode : uint8_t {
  kSteer,    // per flow: first preferred path meeting the SLA, else the best quality
  kBalance,  // per flow: new flows spread over SLA-meeting paths, weighted by capacity
  kBond,     // per packet over eligible paths, weighted by capacity
  kPin,      // per flow: only the listed paths, in order; nothing else even if all fail
};

enum class DuplicateWhen : uint8_t {
  kNever,
  kAlways,        // `duplicate = "always"`
  kBestBreaches,  // while the chosen path breaches the SLA
  kNoneMeets,     // while no path meets the SLA
};

enum class FecWhen : uint8_t { kNever, kAlways, kLossAbove };

enum class MeteredUse : uint8_t {
  kLastResort,  // only when no unmetered path is usable
  kAllowed,     // like any other path
  kNever,
};

enum class Priority : uint8_t { kRealtime, kBusiness, kBulk };

struct ClassPolicy {
  std::string name;
  Sla sla;
  Mode mode = Mode::kSteer;
  Priority priority = Priority::kBusiness;
  std::vector<PathId> preferred;  // steer: ordered preference; pin: the allowed paths
  DuplicateWhen duplicate = DuplicateWhen::kNever;
  uint8_t copies = 2;  // total copies when duplicating, primary included (2..4)
  // One copy on the next-best path while the primary is suspect, so a dying path loses
  // only what was in flight before the first overdue answer (config `copy_on_suspect`).
  bool copyOnSuspect = false;
  FecWhen fec = FecWhen::kNever;
  float fecLossThreshold = 0.01f;
  MeteredUse metered = MeteredUse::kLastResort;
  // Bond eligibility (Peplink's rule, RFC 6182's "use only the fastest paths"): a path joins
  // the bond if its RTT is within this spread of the fastest member and its capacity is at
  // least this share of the fastest member's.
  uint32_t bondMaxRttSpreadUs = 80'000;
  float bondMinCapacityRatio = 0.15f;
};

// Why a flow is on its path (counted per cause by the engine).
enum class DecisionCause : uint8_t {
  kNewFlow,
  kSticky,        // kept its path
  kPathDown,      // its path became unusable: failover
  kSlaBreach,     // its path breaches the class SLA and another meets it: failover
  kBetterPath,    // the class's preferred path changed (with hysteresis): move back
  kPerPacket,     // bond: chosen per packet
  kNoPath,        // nothing usable (or a pin with all its paths down): drop
  kPolicyChange,  // reload() changed the flow's class or made its path invalid
  kCount,
};

struct Decision {
  static constexpr size_t kMaxCopies = 3;  // extra copies beyond the primary
  PathId primary = kNoPath;
  uint8_t copyCount = 0;
  std::array<PathId, kMaxCopies> copies{kNoPath, kNoPath, kNoPath};
  uint8_t fecK = 0;  // 0: no FEC; else one parity packet per fecK data packets
  ClassId cls = 0;
  DecisionCause cause = DecisionCause::kNoPath;
  bool ok() const { return primary != kNoPath; }
};

}  // namespace braid::policy
