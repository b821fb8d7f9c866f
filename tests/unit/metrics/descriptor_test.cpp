// Descriptor tables: the X-macro struct, the IKE-counters table (reasons as labels, braidd's
// stats-file keys kept) and scrape-time updates from snapshots.
#include "metrics/descriptor.hpp"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "tests/unit/metrics/sample_registry.hpp"

namespace braid::metrics {
namespace {

using testing::IkeCountersLike;
using testing::PathStats;

std::map<std::string, std::string> parseStats(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string k, v;
  while (in >> k >> v) EXPECT_TRUE(out.emplace(k, v).second) << "duplicate key " << k;
  return out;
}

TEST(Descriptor, MacroDeclaresStructAndTable) {
  constexpr auto fields = fieldsOf<PathStats>();
  static_assert(fields.size() == 3);
  static_assert(sizeof(PathStats) == 3 * sizeof(uint64_t));
  EXPECT_EQ(fields[0].name, "braid_path_tx_packets_total");
  EXPECT_EQ(fields[0].type, Type::kCounter);
  EXPECT_EQ(fields[1].unit, "bytes");
  EXPECT_EQ(fields[2].type, Type::kGauge);
  EXPECT_EQ(fields[2].member, &PathStats::childSas);
}

TEST(Descriptor, InstancesShareFamiliesAndUpdateFromSnapshots) {
  Registry r;
  auto a = StructMetrics<PathStats>::add(r, fieldsOf<PathStats>(), {{"path", "hq/fiber"}});
  auto b = StructMetrics<PathStats>::add(r, fieldsOf<PathStats>(), {{"path", "hq/lte"}});
  ASSERT_TRUE(a && b);
  EXPECT_EQ(r.familyCount(), 3u);
  // The same label value set twice is refused: series are registered once per instance.
  EXPECT_FALSE(StructMetrics<PathStats>::add(r, fieldsOf<PathStats>(), {{"path", "hq/lte"}}));

  PathStats hot;  // what the data plane bumps
  hot.txPackets += 2;
  hot.txBytes += 2800;
  hot.childSas = 1;
  a->update(r, hot);  // scrape 1: from a snapshot copy
  b->update(r, PathStats{});
  std::string text = r.prometheus();
  EXPECT_NE(text.find("braid_path_tx_packets_total{path=\"hq/fiber\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("braid_path_tx_bytes_total{path=\"hq/fiber\"} 2800\n"), std::string::npos);
  EXPECT_NE(text.find("braid_path_tx_packets_total{path=\"hq/lte\"} 0\n"), std::string::npos);
  hot.txPackets += 1;
  a->update(r, hot);  // scrape 2 sees the new value
  auto stats = parseStats(r.statsFile());
  EXPECT_EQ(stats["path.hq/fiber.tx_packets"], "3");
  EXPECT_EQ(stats["ike.path.hq/fiber.child_sas"], "1");
  EXPECT_EQ(stats["ike.path.hq/lte.child_sas"], "0");
  EXPECT_EQ(stats.size(), 6u);
}

TEST(Descriptor, IkeTableKeepsStatsFileKeys) {
  // braidd's existing `ike.<key>` lines (edge/ike_driver.cpp), written out independently.
  using I = IkeCountersLike;
  const std::vector<std::pair<std::string, uint64_t I::*>> old = {
      {"ike_sa_up", &I::ikeSaUp},
      {"ike_sa_down", &I::ikeSaDown},
      {"child_sa_up", &I::childSaUp},
      {"child_sa_down", &I::childSaDown},
      {"auth_failed", &I::authFailed},
      {"auth_failed_by_peer", &I::authFailedByPeer},
      {"no_proposal", &I::noProposal},
      {"no_proposal_by_peer", &I::noProposalByPeer},
      {"unknown_identity", &I::unknownIdentity},
      {"ts_unacceptable", &I::tsUnacceptable},
      {"ts_unacceptable_by_peer", &I::tsUnacceptableByPeer},
      {"refused_child_deletes", &I::refusedChildDeletes},
      {"invalid_ke_sent", &I::invalidKeSent},
      {"invalid_ke_received", &I::invalidKeReceived},
      {"invalid_syntax_sent", &I::invalidSyntaxSent},
      {"invalid_syntax_received", &I::invalidSyntaxReceived},
      {"unsupported_critical", &I::unsupportedCritical},
      {"peer_not_answering", &I::peerNotAnswering},
      {"retransmits", &I::retransmits},
      {"responses_replayed", &I::responsesReplayed},
      {"requests_processed", &I::requestsProcessed},
      {"responses_processed", &I::responsesProcessed},
      {"drop.malformed", &I::dropsMalformed},
      {"drop.unknown_spi", &I::dropsUnknownSpi},
      {"drop.integrity", &I::dropsIntegrity},
      {"drop.message_id", &I::dropsMessageId},
      {"drop.no_config", &I::dropsNoConfig},
      {"drop.state", &I::dropsState},
      {"drop.unprotected", &I::dropsUnprotected},
      {"initiate_retries", &I::initiateRetries},
      {"peer_endpoint_changes", &I::peerEndpointChanges},
      {"cookies_sent", &I::cookiesSent},
      {"cookies_valid", &I::cookiesValid},
      {"cookies_invalid", &I::cookiesInvalid},
      {"drop.half_open_cap", &I::dropsHalfOpenCap},
      {"drop.half_open_per_source", &I::dropsHalfOpenPerSource},
      {"drop.init_rate", &I::dropsInitRate},
      {"half_open_expired", &I::halfOpenExpired},
      {"log_suppressed", &I::logSuppressed},
  };
  IkeCountersLike c;
  uint64_t n = 100;
  for (auto& [key, m] : old) c.*m = n++;  // distinct values catch a swapped field

  Registry r;
  auto m = StructMetrics<IkeCountersLike>::add(r, testing::kIkeFields);
  ASSERT_TRUE(m) << m.status().message();
  m->update(r, c);
  auto stats = parseStats(r.statsFile());
  EXPECT_EQ(stats.size(), old.size());
  for (auto& [key, mp] : old) EXPECT_EQ(stats["ike." + key], std::to_string(c.*mp)) << key;

  // Reasons are labels of one family, not names.
  std::string text = r.prometheus();
  auto count = [&](const std::string& s) {
    size_t k = 0;
    for (size_t p = text.find(s); p != std::string::npos; p = text.find(s, p + 1)) ++k;
    return k;
  };
  EXPECT_EQ(count("# TYPE braid_ike_drops_total counter\n"), 1u);
  EXPECT_EQ(count("braid_ike_drops_total{reason="), 10u);
  EXPECT_NE(text.find("braid_ike_drops_total{reason=\"integrity\"} " +
                      std::to_string(c.dropsIntegrity) + "\n"),
            std::string::npos);
  EXPECT_NE(text.find("braid_ike_peer_failures_total{reason=\"auth_failed\"} " +
                      std::to_string(c.authFailedByPeer) + "\n"),
            std::string::npos);
}

enum class Drop : size_t { kMalformed, kNoRoute, kNoSa, kCount };
constexpr size_t kDropCount = static_cast<size_t>(Drop::kCount);
constexpr std::array<std::string_view, kDropCount> kDropNames = {"malformed", "no_route", "no_sa"};
// Shaped like edge's TxCounters: scalars plus a drops[reason] array.
struct TxLike {
  uint64_t sealed = 0;
  std::array<uint64_t, kDropCount> drops{};
};
constexpr std::array<Field<TxLike>, 1> kTxScalars = {{
    {.name = "braid_tx_sealed_total",
     .help = "ESP packets sealed.",
     .member = &TxLike::sealed,
     .statsKey = "tx.sealed"},
}};
constexpr auto kTxFields =
    concat(kTxScalars, arrayFields<TxLike, kDropCount, &TxLike::drops>(
                           "braid_tx_drops_total", "Outbound packets dropped, by reason.", "reason",
                           kDropNames, "tx.drop.{reason}"));
static_assert(kTxFields.size() == 4);

TEST(Descriptor, ArrayFieldsBecomeOneLabelledFamily) {
  Registry r;
  auto m = StructMetrics<TxLike>::add(r, kTxFields, {{"uplink", "fiber"}});
  ASSERT_TRUE(m) << m.status().message();
  TxLike t;
  t.sealed = 9;
  t.drops[static_cast<size_t>(Drop::kNoRoute)] = 4;
  t.drops[static_cast<size_t>(Drop::kNoSa)] = 1;
  m->update(r, t);
  EXPECT_EQ(r.prometheus(),
            "# HELP braid_tx_sealed_total ESP packets sealed.\n"
            "# TYPE braid_tx_sealed_total counter\n"
            "braid_tx_sealed_total{uplink=\"fiber\"} 9\n"
            "# HELP braid_tx_drops_total Outbound packets dropped, by reason.\n"
            "# TYPE braid_tx_drops_total counter\n"
            "braid_tx_drops_total{uplink=\"fiber\",reason=\"malformed\"} 0\n"
            "braid_tx_drops_total{uplink=\"fiber\",reason=\"no_route\"} 4\n"
            "braid_tx_drops_total{uplink=\"fiber\",reason=\"no_sa\"} 1\n");
  EXPECT_EQ(r.statsFile(),
            "tx.sealed 9\ntx.drop.malformed 0\ntx.drop.no_route 4\ntx.drop.no_sa 1\n");
  // A second uplink would write the same stats lines: its keys must name {uplink}.
  auto lte = StructMetrics<TxLike>::add(r, kTxFields, {{"uplink", "lte"}});
  EXPECT_EQ(lte.status().code(), ErrorCode::kAlreadyExists);
}

enum class PathState : uint8_t { kDown, kProbing, kUp, kCount };
struct PathSnap {
  PathState state = PathState::kDown;
};
constexpr size_t stateIndex(const PathSnap& p) {
  return static_cast<size_t>(p.state);
}
constexpr std::array<std::string_view, 3> kStateNames = {"down", "probing", "up"};
constexpr auto kStateFields =
    stateFields<PathSnap, 3, &stateIndex>("braid_path_state", "Path state: 1 for the current one.",
                                          "state", kStateNames, "path.{path}.state.{state}");

TEST(Descriptor, StateIsOneHot) {
  Registry r;
  auto m = StructMetrics<PathSnap>::add(r, kStateFields, {{"path", "hq/fiber"}});
  ASSERT_TRUE(m) << m.status().message();
  m->update(r, PathSnap{PathState::kUp});
  EXPECT_EQ(r.prometheus(),
            "# HELP braid_path_state Path state: 1 for the current one.\n"
            "# TYPE braid_path_state gauge\n"
            "braid_path_state{path=\"hq/fiber\",state=\"down\"} 0\n"
            "braid_path_state{path=\"hq/fiber\",state=\"probing\"} 0\n"
            "braid_path_state{path=\"hq/fiber\",state=\"up\"} 1\n");
  m->update(r, PathSnap{PathState::kDown});
  EXPECT_EQ(r.statsFile(),
            "path.hq/fiber.state.down 1\npath.hq/fiber.state.probing 0\n"
            "path.hq/fiber.state.up 0\n");
}

TEST(Descriptor, BadTablesAreRefusedAtRegistration) {
  struct S {
    uint64_t a = 0;
  };
  Registry r;
  std::array<Field<S>, 1> noSource = {{{.name = "braid_a_total", .help = "A."}}};
  EXPECT_FALSE(StructMetrics<S>::add(r, noSource));
  std::array<Field<S>, 1> twoSources = {
      {{.name = "braid_a_total", .help = "A.", .member = &S::a, .getter = [](const S&) {
          return 1.0;
        }}}};
  EXPECT_FALSE(StructMetrics<S>::add(r, twoSources));
  std::array<Field<S>, 1> badName = {{{.name = "braid_a", .help = "A.", .member = &S::a}}};
  EXPECT_EQ(StructMetrics<S>::add(r, badName).status().code(), ErrorCode::kInvalidArgument);
  // Two fields fixing the same label value of one family.
  std::array<Field<S>, 2> dup = {{
      {.name = "braid_d_total", .help = "D.", .member = &S::a, .label = {"reason", "x"}},
      {.name = "braid_d_total", .help = "D.", .member = &S::a, .label = {"reason", "x"}},
  }};
  EXPECT_EQ(StructMetrics<S>::add(r, dup).status().code(), ErrorCode::kAlreadyExists);
}

TEST(Descriptor, SampleRegistryBuilds) {
  Registry r;
  auto s = testing::fillSample(r);
  ASSERT_TRUE(s) << s.message();
  std::string om = r.openMetrics();
  EXPECT_TRUE(om.ends_with("# EOF\n"));
  EXPECT_NE(
      om.find("# TYPE braid_path_rtt_seconds histogram\n# UNIT braid_path_rtt_seconds seconds\n"),
      std::string::npos);
  EXPECT_NE(
      om.find("braid_path_rtt_seconds_bucket{path=\"hq/lte \\\"backup\\\"\\n\",le=\"0.025\"} 3\n"),
      std::string::npos);
}

}  // namespace
}  // namespace braid::metrics
