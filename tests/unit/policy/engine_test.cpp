// Engine: path choice per class mode, stickiness and failover causes, hysteresis,
// duplication on demand, metered last resort, bond eligibility, and a randomized property
// test of the decision invariants.
#include "policy/engine.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include <map>
#include <random>

namespace braid::policy {
namespace {

using std::chrono::seconds;

constexpr PathId kFiber = 0, kBroadband = 1, kLte = 2;

std::vector<PathView> referencePaths() {
  std::vector<PathView> v(3);
  v[0] = {kFiber, true, PathHealth::kUp, 4000, 300, 0.0f, false, 500'000};
  v[1] = {kBroadband, true, PathHealth::kUp, 15000, 1000, 0.0f, false, 100'000};
  v[2] = {kLte, true, PathHealth::kUp, 50000, 5000, 0.0f, true, 20'000};
  return v;
}

FlowKey udp(uint32_t n, uint16_t dport = 5000) {
  return FlowKey{IpAddress::v4(0x0a000001u + n), IpAddress::v4(0x0a140001u), kProtoUdp,
                 static_cast<uint16_t>(1024 + n), dport};
}

enum : ClassId { kDefault, kVoice, kBulk, kBalanced, kPinned, kVoiceSteer };

EngineConfig referenceConfig() {
  EngineConfig cfg;
  cfg.classes.resize(6);
  cfg.classes[kDefault].name = "default";
  ClassPolicy& voice = cfg.classes[kVoice];
  voice.name = "voice";
  voice.priority = Priority::kRealtime;
  voice.sla = {150'000, 30'000, 0.01f};
  voice.duplicate = DuplicateWhen::kBestBreaches;
  ClassPolicy& bulk = cfg.classes[kBulk];
  bulk.name = "bulk";
  bulk.mode = Mode::kBond;
  bulk.priority = Priority::kBulk;
  cfg.classes[kBalanced].name = "web";
  cfg.classes[kBalanced].mode = Mode::kBalance;
  cfg.classes[kPinned].name = "backup";
  cfg.classes[kPinned].mode = Mode::kPin;
  cfg.classes[kPinned].preferred = {kBroadband};
  ClassPolicy& vs = cfg.classes[kVoiceSteer];
  vs.name = "voice-steer";
  vs.sla = {150'000, 30'000, 0.01f};
  vs.preferred = {kFiber, kBroadband};
  // Rules by destination port.
  auto port = [](ClassId cls, uint16_t p) {
    Rule r;
    r.cls = cls;
    r.dstPorts = {{p, p}};
    return r;
  };
  cfg.rules = {port(kVoice, 5060), port(kBulk, 873), port(kBalanced, 443), port(kPinned, 22),
               port(kVoiceSteer, 5061)};
  return cfg;
}

TEST(Engine, SteersToBestAndSticks) {
  Engine e(referenceConfig());
  auto paths = referencePaths();
  TimePoint now{};
  Decision d = e.decide(udp(1), now, paths);
  EXPECT_EQ(d.cls, kDefault);
  EXPECT_EQ(d.primary, kFiber);
  EXPECT_EQ(d.cause, DecisionCause::kNewFlow);
  EXPECT_EQ(d.copyCount, 0);
  EXPECT_EQ(d.fecK, 0);
  d = e.decide(udp(1), now, paths);
  EXPECT_EQ(d.cause, DecisionCause::kSticky);
  EXPECT_EQ(e.flows().size(), 1u);
}

TEST(Engine, FailoverOnDeathAndBackAfterRecovery) {
  Engine e(referenceConfig());
  auto paths = referencePaths();
  TimePoint now{};
  for (uint32_t f = 0; f < 10; ++f) ASSERT_EQ(e.decide(udp(f), now, paths).primary, kFiber);
  paths[kFiber].health = PathHealth::kDown;
  // Every flow moves at its next packet, with the cause recorded once.
  for (uint32_t f = 0; f < 10; ++f) {
    Decision d = e.decide(udp(f), now, paths);
    EXPECT_EQ(d.primary, kBroadband);
    EXPECT_EQ(d.cause, DecisionCause::kPathDown);
    EXPECT_EQ(e.decide(udp(f), now, paths).cause, DecisionCause::kSticky);
  }
  EXPECT_EQ(e.counters().decisions[static_cast<size_t>(DecisionCause::kPathDown)], 10u);
  // Fiber back (pathmon applied its hold-down): flows return, once.
  paths[kFiber].health = PathHealth::kUp;
  for (uint32_t f = 0; f < 10; ++f) {
    Decision d = e.decide(udp(f), now, paths);
    EXPECT_EQ(d.primary, kFiber);
    EXPECT_EQ(d.cause, DecisionCause::kBetterPath);
  }
}

TEST(Engine, HysteresisKeepsFlowsOnOneOfTwoSimilarPaths) {
  Engine e(referenceConfig());
  auto paths = referencePaths();
  paths[kFiber].rttUs = 10000;
  paths[kBroadband].rttUs = 10500;
  paths[kFiber].jitterUs = paths[kBroadband].jitterUs = 0;
  TimePoint now{};
  std::mt19937_64 rng(1);
  std::map<PathId, int> moves;
  for (int i = 0; i < 5000; ++i) {
    // The two RTTs wobble by +-1.5 ms around each other.
    paths[kFiber].rttUs = 10000 + static_cast<uint32_t>(rng() % 3000);
    paths[kBroadband].rttUs = 10000 + static_cast<uint32_t>(rng() % 3000);
    Decision d = e.decide(udp(i % 50), now, paths);
    if (d.cause == DecisionCause::kBetterPath) ++moves[d.primary];
  }
  EXPECT_EQ(e.counters().bestChanges, 1u);  // the first choice, never flipped
  EXPECT_TRUE(moves.empty());
  // A clearly better path (beyond 25 % and 2 ms) does take over.
  paths[kFiber].rttUs = 4000;
  paths[kBroadband].rttUs = 13000;
  EXPECT_EQ(e.decide(udp(1), now, paths).primary, kFiber);
}

TEST(Engine, SteerClassMovesOnSlaBreachOnly) {
  Engine e(referenceConfig());
  auto paths = referencePaths();
  TimePoint now{};
  ASSERT_EQ(e.decide(udp(1, 5061), now, paths).primary, kFiber);
  ASSERT_EQ(e.decide(udp(2), now, paths).primary, kFiber);
  paths[kFiber].loss = 0.05f;  // breaches voice's 1 %
  Decision d = e.decide(udp(1, 5061), now, paths);
  EXPECT_EQ(d.cls, kVoiceSteer);
  EXPECT_EQ(d.primary, kBroadband);
  EXPECT_EQ(d.cause, DecisionCause::kSlaBreach);
  // The default class has no SLA: score counts loss (5 % = 50 ms) so its best moves too,
  // but as a better path, not a breach.
  EXPECT_EQ(e.decide(udp(2), now, paths).cause, DecisionCause::kBetterPath);
  // Fiber recovers, but only at 0.95 % (within the bound, not with 10 % room): stay.
  paths[kFiber].loss = 0.0095f;
  EXPECT_EQ(e.decide(udp(1, 5061), now, paths).primary, kBroadband);
  paths[kFiber].loss = 0.0f;
  d = e.decide(udp(1, 5061), now, paths);
  EXPECT_EQ(d.primary, kFiber);
  EXPECT_EQ(d.cause, DecisionCause::kBetterPath);
}

TEST(Engine, VoiceDuplicatesOnlyWhileItsPathBreaches) {
  Engine e(referenceConfig());
  auto paths = referencePaths();
  TimePoint now{};
  Decision d = e.decide(udp(1, 5060), now, paths);
  EXPECT_EQ(d.cls, kVoice);
  EXPECT_EQ(d.primary, kFiber);
  EXPECT_EQ(d.copyCount, 0);  // clean fiber: no copies
  paths[kFiber].loss = 0.05f;
  d = e.decide(udp(1, 5060), now, paths);
  EXPECT_EQ(d.primary, kFiber);  // keeps the fastest path...
  ASSERT_EQ(d.copyCount, 1);     // ...and adds a copy on the best other one
  EXPECT_EQ(d.copies[0], kBroadband);
  EXPECT_EQ(d.cause, DecisionCause::kSticky);
  paths[kFiber].loss = 0.0f;
  EXPECT_EQ(e.decide(udp(1, 5060), now, paths).copyCount, 0);
  EXPECT_EQ(e.counters().duplicated, 1u);
}

// copy_on_suspect: a steered class copies onto the next path (never the metered one while
// another is up, and a suspect one last) only while its primary is suspect; the flow stays.
TEST(Engine, CopyOnSuspectCopiesOnlyWhileThePrimaryIsSuspect) {
  EngineConfig cfg = referenceConfig();
  cfg.classes[kVoiceSteer].copyOnSuspect = true;
  Engine e(cfg);
  auto paths = referencePaths();
  TimePoint now{};
  Decision d = e.decide(udp(1, 5061), now, paths);
  ASSERT_EQ(d.cls, kVoiceSteer);
  EXPECT_EQ(d.primary, kFiber);
  EXPECT_EQ(d.copyCount, 0);
  paths[kFiber].suspect = true;
  d = e.decide(udp(1, 5061), now, paths);
  EXPECT_EQ(d.primary, kFiber);  // suspicion moves nothing
  EXPECT_EQ(d.cause, DecisionCause::kSticky);
  ASSERT_EQ(d.copyCount, 1);
  EXPECT_EQ(d.copies[0], kBroadband);
  // The default class (copy_on_suspect off) and a suspect broadband: no copy for the one,
  // and the other copies onto the suspect broadband only if nothing else is allowed.
  EXPECT_EQ(e.decide(udp(2), now, paths).copyCount, 0);
  paths[kBroadband].suspect = true;
  d = e.decide(udp(1, 5061), now, paths);
  ASSERT_EQ(d.copyCount, 1);
  EXPECT_EQ(d.copies[0], kBroadband);  // lte is last resort: not a candidate while others work
  paths[kFiber].suspect = false;
  paths[kBroadband].suspect = false;
  EXPECT_EQ(e.decide(udp(1, 5061), now, paths).copyCount, 0);
  // Suspect and dead are different: a dead fiber moves the flow, no copy needed.
  paths[kFiber].health = PathHealth::kDown;
  d = e.decide(udp(1, 5061), now, paths);
  EXPECT_EQ(d.primary, kBroadband);
  EXPECT_EQ(d.cause, DecisionCause::kPathDown);
  EXPECT_EQ(d.copyCount, 0);
}

// Among allowed paths, a copy avoids a suspect one.
TEST(Engine, CopyOnSuspectPrefersAPathThatIsNotSuspect) {
  EngineConfig cfg = referenceConfig();
  cfg.classes[kVoiceSteer].copyOnSuspect = true;
  cfg.classes[kVoiceSteer].metered = MeteredUse::kAllowed;
  Engine e(cfg);
  auto paths = referencePaths();
  ASSERT_EQ(e.decide(udp(1, 5061), TimePoint{}, paths).primary, kFiber);
  paths[kFiber].suspect = true;
  paths[kBroadband].suspect = true;
  Decision d = e.decide(udp(1, 5061), TimePoint{}, paths);
  ASSERT_EQ(d.copyCount, 1);
  EXPECT_EQ(d.copies[0], kLte);
}

TEST(Engine, DuplicateAlwaysAndNoneMeets) {
  EngineConfig cfg;
  cfg.classes.resize(2);
  cfg.classes[0].duplicate = DuplicateWhen::kAlways;
  cfg.classes[0].copies = 3;
  cfg.classes[0].metered = MeteredUse::kAllowed;
  cfg.classes[1].duplicate = DuplicateWhen::kNoneMeets;
  cfg.classes[1].sla.maxRttUs = 10'000;
  Rule r;
  r.cls = 1;
  r.dstPorts = {{9, 9}};
  cfg.rules = {r};
  Engine e(cfg);
  auto paths = referencePaths();
  Decision d = e.decide(udp(1), TimePoint{}, paths);
  ASSERT_EQ(d.copyCount, 2);
  EXPECT_EQ(d.copies[0], kBroadband);
  EXPECT_EQ(d.copies[1], kLte);
  d = e.decide(udp(2, 9), TimePoint{}, paths);
  EXPECT_EQ(d.copyCount, 0);  // fiber meets 10 ms
  paths[kFiber].rttUs = 12'000;
  d = e.decide(udp(2, 9), TimePoint{}, paths);
  EXPECT_EQ(d.primary, kFiber);
  ASSERT_EQ(d.copyCount, 1);  // no path meets: one copy (LTE is last resort)
  EXPECT_EQ(d.copies[0], kBroadband);
}

TEST(Engine, MeteredIsLastResort) {
  Engine e(referenceConfig());
  auto paths = referencePaths();
  TimePoint now{};
  paths[kFiber].health = PathHealth::kDown;
  EXPECT_EQ(e.decide(udp(1, 5060), now, paths).primary, kBroadband);
  paths[kBroadband].keyed = false;
  Decision d = e.decide(udp(1, 5060), now, paths);
  EXPECT_EQ(d.primary, kLte);  // both down: voice on LTE
  EXPECT_EQ(d.cause, DecisionCause::kPathDown);
  // Broadband back: off LTE although LTE still works.
  paths[kBroadband].keyed = true;
  d = e.decide(udp(1, 5060), now, paths);
  EXPECT_EQ(d.primary, kBroadband);
  EXPECT_EQ(d.cause, DecisionCause::kBetterPath);
  // And bond/balance classes never touch LTE while anything else is up.
  paths[kFiber].health = PathHealth::kUp;
  for (int i = 0; i < 100; ++i) {
    EXPECT_NE(e.decide(udp(i, 873), now, paths).primary, kLte);
    EXPECT_NE(e.decide(udp(i, 443), now, paths).primary, kLte);
  }
}

TEST(Engine, UsedUpBudgetIsLastResortOrBlocked) {
  // A class allowed on LTE takes it like any path, duplicates onto it, and loses it to the
  // budget: no copies there while other paths work, primary only when nothing else is up.
  EngineConfig cfg;
  cfg.classes.resize(1);
  cfg.classes[0].metered = MeteredUse::kAllowed;
  cfg.classes[0].preferred = {kLte, kFiber, kBroadband};
  cfg.classes[0].duplicate = DuplicateWhen::kAlways;
  Engine e(cfg);
  auto paths = referencePaths();
  TimePoint now{};
  Decision d = e.decide(udp(1), now, paths);
  EXPECT_EQ(d.primary, kLte);
  ASSERT_EQ(d.copyCount, 1);
  EXPECT_EQ(d.copies[0], kFiber);

  paths[kLte].budget = BudgetUse::kLastResort;
  d = e.decide(udp(1), now, paths);
  EXPECT_EQ(d.primary, kFiber);
  ASSERT_EQ(d.copyCount, 1);
  EXPECT_EQ(d.copies[0], kBroadband);
  paths[kBroadband].health = PathHealth::kDown;
  d = e.decide(udp(1), now, paths);
  EXPECT_EQ(d.primary, kFiber);
  EXPECT_EQ(d.copyCount, 0);  // the only other path is out of budget
  paths[kFiber].keyed = false;
  d = e.decide(udp(1), now, paths);
  EXPECT_EQ(d.primary, kLte);  // the last resort still carries the class

  paths[kLte].budget = BudgetUse::kBlocked;
  d = e.decide(udp(1), now, paths);
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(d.cause, DecisionCause::kNoPath);
  paths[kLte].budget = BudgetUse::kOk;  // a new billing period
  EXPECT_EQ(e.decide(udp(1), now, paths).primary, kLte);
}

TEST(Engine, BondWeighsByCapacityAndDropsDraggingPaths) {
  auto share = [](std::vector<PathView> paths) {
    Engine e(referenceConfig());
    std::map<PathId, int> n;
    for (int i = 0; i < 6000; ++i) {
      Decision d = e.decide(udp(1, 873), TimePoint{}, paths);
      EXPECT_EQ(d.cause, DecisionCause::kPerPacket);
      ++n[d.primary];
    }
    return n;
  };
  auto paths = referencePaths();
  auto n = share(paths);
  EXPECT_EQ(n[kFiber], 5000);  // 500:100 by capacity, exactly with smooth WRR
  EXPECT_EQ(n[kBroadband], 1000);
  EXPECT_EQ(n[kLte], 0);
  // Broadband 300 ms away: it would drag the bond; fiber alone.
  paths[kBroadband].rttUs = 300'000;
  n = share(paths);
  EXPECT_EQ(n[kFiber], 6000);
  // Broadband under 15 % of fiber's capacity: out as well.
  paths = referencePaths();
  paths[kBroadband].capacityKbps = 50'000;
  EXPECT_EQ(share(paths)[kFiber], 6000);
  // A degraded member leaves the bond.
  paths = referencePaths();
  paths[kBroadband].health = PathHealth::kDegraded;
  EXPECT_EQ(share(paths)[kFiber], 6000);
}

TEST(Engine, BalanceSpreadsNewFlowsAndKeepsThem) {
  Engine e(referenceConfig());
  auto paths = referencePaths();
  std::map<PathId, int> n;
  for (uint32_t f = 0; f < 600; ++f) ++n[e.decide(udp(f, 443), TimePoint{}, paths).primary];
  EXPECT_EQ(n[kFiber], 500);
  EXPECT_EQ(n[kBroadband], 100);
  for (uint32_t f = 0; f < 600; ++f) {
    EXPECT_EQ(e.decide(udp(f, 443), TimePoint{}, paths).cause, DecisionCause::kSticky);
  }
}

TEST(Engine, PinNeverLeavesItsPaths) {
  Engine e(referenceConfig());
  auto paths = referencePaths();
  EXPECT_EQ(e.decide(udp(1, 22), TimePoint{}, paths).primary, kBroadband);
  paths[kBroadband].health = PathHealth::kDown;
  Decision d = e.decide(udp(1, 22), TimePoint{}, paths);
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(d.cause, DecisionCause::kNoPath);
}

// One class with `fec = "auto"` above `threshold`, and paths with only fiber up.
EngineConfig fecConfig(float threshold) {
  EngineConfig cfg;
  cfg.classes.resize(1);
  cfg.classes[0].fec = FecWhen::kLossAbove;
  cfg.classes[0].fecLossThreshold = threshold;
  return cfg;
}
std::vector<PathView> fiberOnly() {
  auto paths = referencePaths();
  paths[kBroadband].health = PathHealth::kDown;
  return paths;
}

// The largest k whose residual loss p (1 - (1 - p)^(k - 1)) stays under 0.2 %, checked
// against that formula for every loss from 0.1 % to 20 %.
TEST(Engine, FecFollowsLoss) {
  EXPECT_EQ(Engine::fecGroupForLoss(0.01f), 20);
  EXPECT_EQ(Engine::fecGroupForLoss(0.02f), 6);
  EXPECT_EQ(Engine::fecGroupForLoss(0.03f), 3);
  EXPECT_EQ(Engine::fecGroupForLoss(0.05f), 2);
  EXPECT_EQ(Engine::fecGroupForLoss(0.10f), 2);
  EXPECT_EQ(Engine::fecGroupForLoss(0.5f), 2);
  EXPECT_EQ(Engine::fecGroupForLoss(0.001f), 20);
  auto residual = [](double p, int k) { return p * (1 - std::pow(1 - p, k - 1)); };
  for (int i = 1; i <= 200; ++i) {
    const double p = i / 1000.0;
    const int k = Engine::fecGroupForLoss(float(p));
    if (k > 2) {
      EXPECT_LE(residual(p, k), Engine::kFecResidual * 1.001) << p;
    }
    if (k < 20) {
      EXPECT_GT(residual(p, k + 1), Engine::kFecResidual * 0.999) << p;
    }
  }
  Engine e(fecConfig(0.02f));
  auto paths = fiberOnly();
  paths[kFiber].loss = 0.01f;
  EXPECT_EQ(e.decide(udp(1), TimePoint{}, paths).fecK, 0);
  paths[kFiber].loss = 0.05f;
  EXPECT_EQ(e.decide(udp(1), TimePoint{}, paths).fecK, 2);
}

// The window's loss estimate swings: a class keeps parity for kFecHold after its loss was
// last at the threshold, sized for the highest loss meanwhile (renewed every half hold).
TEST(Engine, FecHoldsThroughDipsOfTheEstimate) {
  Engine e(fecConfig(0.01f));
  auto paths = fiberOnly();
  const TimePoint t0 = TimePoint{} + std::chrono::seconds(100);
  paths[kFiber].loss = 0.03f;
  EXPECT_EQ(e.decide(udp(1), t0, paths).fecK, 3);
  paths[kFiber].loss = 0.0f;  // a window without a loss
  EXPECT_EQ(e.decide(udp(1), t0 + std::chrono::seconds(4), paths).fecK, 3);
  paths[kFiber].loss = 0.02f;  // milder: the 3 % peak still sizes the groups
  EXPECT_EQ(e.decide(udp(1), t0 + std::chrono::seconds(4), paths).fecK, 3);
  // Half a hold after the peak, the current loss sizes them again.
  EXPECT_EQ(e.decide(udp(1), t0 + std::chrono::seconds(6), paths).fecK, 6);
  paths[kFiber].loss = 0.0f;
  EXPECT_EQ(e.decide(udp(1), t0 + std::chrono::seconds(15), paths).fecK, 6);
  EXPECT_EQ(e.decide(udp(1), t0 + std::chrono::seconds(16), paths).fecK, 0);  // 10 s clean
}

TEST(Engine, FecFollowsForwardLossWhenReported) {
  EngineConfig cfg = fecConfig(0.02f);
  Engine e(cfg);
  auto paths = fiberOnly();
  paths[kFiber].loss = 0.05f;
  // Not reported (a standard or older peer): the round trip's loss, as before.
  EXPECT_EQ(e.decide(udp(1), TimePoint{}, paths).fecK, 2);
  // All of it on the way back: parity would protect nothing that is lost (a fresh engine:
  // this one holds its parity on for kFecHold).
  paths[kFiber].lossForward = 0.0f;
  EXPECT_EQ(Engine(cfg).decide(udp(1), TimePoint{}, paths).fecK, 0);
  paths[kFiber].lossForward = 0.05f;
  EXPECT_EQ(Engine(cfg).decide(udp(1), TimePoint{}, paths).fecK, 2);
  paths[kFiber].lossForward = 0.025f;  // part of it forward: sized for that part
  EXPECT_EQ(Engine(cfg).decide(udp(1), TimePoint{}, paths).fecK, Engine::fecGroupForLoss(0.025f));
  EXPECT_EQ(Engine::fecGroupForLoss(0.025f), 4);
  // `fec = "always"` keeps its floor of the threshold.
  cfg.classes[0].fec = FecWhen::kAlways;
  Engine always(cfg);
  paths[kFiber].lossForward = 0.0f;
  EXPECT_EQ(always.decide(udp(1), TimePoint{}, paths).fecK, Engine::fecGroupForLoss(0.02f));
}

TEST(Engine, MeasuredCapacityOnlyLowersTheConfiguredWeight) {
  EXPECT_EQ(boundedCapacityKbps(50'000, 0), 50'000u);           // no measurement
  EXPECT_EQ(boundedCapacityKbps(50'000, 5'000'000), 5'000u);    // delivers 5 Mbit/s
  EXPECT_EQ(boundedCapacityKbps(50'000, 80'000'000), 50'000u);  // never above the operator's
  EXPECT_EQ(boundedCapacityKbps(0, 5'000'000), 5'000u);         // unknown: the measurement
  EXPECT_EQ(boundedCapacityKbps(0, 0), 0u);
  EXPECT_EQ(boundedCapacityKbps(50'000, 10), 1u);
}

TEST(Engine, BondFollowsMeasuredCapacity) {
  auto share = [](const std::vector<PathView>& paths) {
    Engine e(referenceConfig());
    std::map<PathId, int> n;
    for (int i = 0; i < 6000; ++i) ++n[e.decide(udp(1, 873), TimePoint{}, paths).primary];
    return n;
  };
  // Fiber configured at 50 Mbit/s, broadband at 20: 5:2.
  auto paths = referencePaths();
  paths[kFiber].capacityKbps = boundedCapacityKbps(50'000, 0);
  paths[kBroadband].capacityKbps = boundedCapacityKbps(20'000, 0);
  auto n = share(paths);
  EXPECT_NEAR(n[kFiber], 6000 * 5 / 7, 1);
  EXPECT_NEAR(n[kBroadband], 6000 * 2 / 7, 1);
  // Fiber really delivers 5 Mbit/s under saturation: it weighs 5 against broadband's 20.
  paths[kFiber].capacityKbps = boundedCapacityKbps(50'000, 5'000'000);
  n = share(paths);
  EXPECT_EQ(n[kFiber], 1200);
  EXPECT_EQ(n[kBroadband], 4800);
}

TEST(Engine, IdleFlowIsReclassifiedAsNew) {
  EngineConfig cfg = referenceConfig();
  cfg.flowIdle = seconds(30);
  Engine e(cfg);
  auto paths = referencePaths();
  TimePoint now{};
  e.decide(udp(1), now, paths);
  EXPECT_EQ(e.decide(udp(1), now + seconds(29), paths).cause, DecisionCause::kSticky);
  EXPECT_EQ(e.decide(udp(1), now + seconds(61), paths).cause, DecisionCause::kNewFlow);
  e.decide(udp(2), now + seconds(61), paths);
  EXPECT_EQ(e.expireFlows(now + seconds(200)), 2u);
}

TEST(Engine, ReloadKeepsUnaffectedFlows) {
  Engine e(referenceConfig());
  auto paths = referencePaths();
  TimePoint now{};
  for (uint32_t f = 0; f < 20; ++f) {
    e.decide(udp(f, 5060), now, paths);               // voice
    e.decide(udp(100 + f, 443), now, paths);          // web (balance)
    e.decide(udp(200 + f, 22), now, paths);           // pinned to broadband
    e.decide(udp(300 + f, 80), now, paths, {46, 0});  // default class, DSCP EF
  }
  ASSERT_EQ(e.flows().size(), 80u);
  // New policy: web becomes steer under a new name; DSCP EF now means voice; the pinned
  // class now pins to fiber; voice untouched. Class order changes too.
  EngineConfig next = referenceConfig();
  std::swap(next.classes[kVoice], next.classes[kDefault]);  // ids change, names do not
  for (Rule& r : next.rules) {
    if (r.cls == kVoice) r.cls = kDefault;
  }
  next.defaultClass = kVoice;
  next.classes[kBalanced].name = "web2";
  next.classes[kBalanced].mode = Mode::kSteer;
  next.classes[kPinned].preferred = {kFiber};
  Rule ef;
  ef.cls = kDefault;  // now "voice"
  ef.dscp = uint64_t{1} << 46;
  next.rules.push_back(ef);
  e.reload(next);
  EXPECT_EQ(e.flows().size(), 80u);
  EXPECT_EQ(e.counters().reloads, 1u);
  EXPECT_EQ(e.counters().reloadKept, 20u);   // voice flows
  EXPECT_EQ(e.counters().reloadMoved, 60u);  // web, pinned, EF
  for (uint32_t f = 0; f < 20; ++f) {
    Decision d = e.decide(udp(f, 5060), now, paths);
    EXPECT_EQ(d.cause, DecisionCause::kSticky);
    EXPECT_EQ(e.classPolicy(d.cls).name, "voice");
    d = e.decide(udp(100 + f, 443), now, paths);
    EXPECT_EQ(d.cause, DecisionCause::kPolicyChange);
    EXPECT_EQ(e.classPolicy(d.cls).name, "web2");
    d = e.decide(udp(200 + f, 22), now, paths);
    EXPECT_EQ(d.cause, DecisionCause::kPolicyChange);
    EXPECT_EQ(d.primary, kFiber);
    d = e.decide(udp(300 + f, 80), now, paths);
    EXPECT_EQ(d.cause, DecisionCause::kPolicyChange);
    EXPECT_EQ(e.classPolicy(d.cls).name, "voice");
    EXPECT_EQ(e.decide(udp(300 + f, 80), now, paths).cause, DecisionCause::kSticky);
  }
}

// Random path states, flows and classes: every decision obeys the invariants.
TEST(Engine, RandomizedDecisionInvariants) {
  EngineConfig cfg = referenceConfig();
  cfg.maxFlows = 64;
  Engine e(cfg);
  std::mt19937_64 rng(77);
  auto paths = referencePaths();
  std::map<uint32_t, PathId> last;  // flow -> path, for steer stickiness
  const uint16_t ports[] = {5060, 873, 443, 22, 5061, 80};
  for (int i = 0; i < 50000; ++i) {
    if (rng() % 50 == 0) {
      PathView& p = paths[rng() % 3];
      switch (rng() % 4) {
        case 0:
          p.health = static_cast<PathHealth>(rng() % 3);
          break;
        case 1:
          p.keyed = rng() % 4 != 0;
          break;
        case 2:
          p.loss = static_cast<float>(rng() % 8) / 100.0f;
          break;
        case 3:
          p.rttUs = 2000 + static_cast<uint32_t>(rng() % 200'000);
          break;
      }
    }
    uint32_t flow = static_cast<uint32_t>(rng() % 200);
    uint16_t port = ports[flow % 6];
    Decision d = e.decide(udp(flow, port), TimePoint{}, paths);
    const ClassPolicy& c = e.classPolicy(d.cls);
    bool unmeteredUp = false;
    for (const auto& p : paths) unmeteredUp |= usable(p) && !p.metered;
    if (!d.ok()) {
      ASSERT_EQ(d.cause, DecisionCause::kNoPath);
      ASSERT_EQ(d.copyCount, 0);
      continue;
    }
    const PathView& primary = paths[d.primary];
    ASSERT_TRUE(usable(primary)) << i;
    if (primary.metered) {
      ASSERT_FALSE(unmeteredUp) << i;
    }
    if (c.mode == Mode::kPin) {
      ASSERT_EQ(d.primary, kBroadband);
    }
    for (size_t k = 0; k < d.copyCount; ++k) {
      ASSERT_NE(d.copies[k], d.primary);
      ASSERT_TRUE(usable(paths[d.copies[k]]));
      for (size_t j = 0; j < k; ++j) ASSERT_NE(d.copies[j], d.copies[k]);
    }
    if (c.duplicate == DuplicateWhen::kNever) {
      ASSERT_EQ(d.copyCount, 0);
    }
    if (c.mode != Mode::kBond) {
      auto it = last.find(flow);
      if (it != last.end() && d.cause == DecisionCause::kSticky) {
        ASSERT_EQ(d.primary, it->second) << i;
      }
      last[flow] = d.primary;
    }
  }
  EXPECT_GT(e.counters().decisions[static_cast<size_t>(DecisionCause::kPathDown)], 0u);
  EXPECT_GT(e.flows().counters().evicted, 0u);
}

}  // namespace
}  // namespace braid::policy
