// Descriptor tables used by the metrics tests and by metrics_sample (which feeds promtool and
// the OpenMetrics parser): a struct declared with BRAID_METRICS_STRUCT, and a table for a copy
// of ike::IkeCounters' shape (not linked to ipsec) where reasons are labels while the stats
// file keeps braidd's existing `ike.*` line names.
#pragma once

#include <array>
#include <cstdint>

#include "metrics/descriptor.hpp"
#include "metrics/process.hpp"
#include "metrics/registry.hpp"

namespace braid::metrics::testing {

#define BRAID_TEST_PATH_STATS(COUNTER, GAUGE)                                            \
  COUNTER(txPackets, "braid_path_tx_packets_total", "", "ESP packets sent on the path.", \
          "path.{path}.tx_packets")                                                      \
  COUNTER(txBytes, "braid_path_tx_bytes_total", "bytes", "UDP payload bytes sent.",      \
          "path.{path}.tx_bytes")                                                        \
  GAUGE(childSas, "braid_path_child_sas", "", "Child SAs installed on the path now.",    \
        "ike.path.{path}.child_sas")

BRAID_METRICS_STRUCT(PathStats, BRAID_TEST_PATH_STATS);

// Same fields as ike::IkeCounters (ipsec/ike/events.hpp).
struct IkeCountersLike {
  uint64_t ikeSaUp = 0, ikeSaDown = 0, childSaUp = 0, childSaDown = 0;
  uint64_t authFailed = 0, authFailedByPeer = 0;
  uint64_t noProposal = 0, noProposalByPeer = 0;
  uint64_t unknownIdentity = 0;
  uint64_t tsUnacceptable = 0, tsUnacceptableByPeer = 0;
  uint64_t refusedChildDeletes = 0;
  uint64_t invalidKeSent = 0, invalidKeReceived = 0;
  uint64_t invalidSyntaxSent = 0, invalidSyntaxReceived = 0;
  uint64_t unsupportedCritical = 0;
  uint64_t peerNotAnswering = 0;
  uint64_t retransmits = 0, responsesReplayed = 0;
  uint64_t requestsProcessed = 0, responsesProcessed = 0;
  uint64_t dropsMalformed = 0, dropsUnknownSpi = 0, dropsIntegrity = 0, dropsMessageId = 0;
  uint64_t dropsNoConfig = 0;
  uint64_t dropsState = 0, dropsUnprotected = 0;
  uint64_t initiateRetries = 0;
  uint64_t peerEndpointChanges = 0;
  uint64_t cookiesSent = 0, cookiesValid = 0, cookiesInvalid = 0;
  uint64_t dropsHalfOpenCap = 0, dropsHalfOpenPerSource = 0, dropsInitRate = 0;
  uint64_t halfOpenExpired = 0;
  uint64_t logSuppressed = 0;
};

using IkeField = Field<IkeCountersLike>;
using I = IkeCountersLike;

constexpr IkeField ikeCounter(std::string_view name, std::string_view help, uint64_t I::*m,
                              std::string_view key, FixedLabel label = {}) {
  return IkeField{.name = name,
                  .help = help,
                  .type = Type::kCounter,
                  .member = m,
                  .statsKey = key,
                  .label = label};
}

inline constexpr char kFailHelp[] =
    "IKE negotiations we failed, by reason (notify sent or timeout).";
inline constexpr char kPeerFailHelp[] = "IKE error notifies received from the peer, by reason.";
inline constexpr char kDropHelp[] = "IKE datagrams dropped, by reason.";
inline constexpr char kSaHelp[] = "IKE and Child SAs established or ended.";

inline constexpr auto kIkeFields = std::to_array<IkeField>({
    ikeCounter("braid_ike_sa_events_total", kSaHelp, &I::ikeSaUp, "ike.ike_sa_up",
               {"event", "ike_sa_up"}),
    ikeCounter("braid_ike_sa_events_total", kSaHelp, &I::ikeSaDown, "ike.ike_sa_down",
               {"event", "ike_sa_down"}),
    ikeCounter("braid_ike_sa_events_total", kSaHelp, &I::childSaUp, "ike.child_sa_up",
               {"event", "child_sa_up"}),
    ikeCounter("braid_ike_sa_events_total", kSaHelp, &I::childSaDown, "ike.child_sa_down",
               {"event", "child_sa_down"}),
    ikeCounter("braid_ike_failures_total", kFailHelp, &I::authFailed, "ike.auth_failed",
               {"reason", "auth_failed"}),
    ikeCounter("braid_ike_failures_total", kFailHelp, &I::noProposal, "ike.no_proposal",
               {"reason", "no_proposal"}),
    ikeCounter("braid_ike_failures_total", kFailHelp, &I::unknownIdentity, "ike.unknown_identity",
               {"reason", "unknown_identity"}),
    ikeCounter("braid_ike_failures_total", kFailHelp, &I::tsUnacceptable, "ike.ts_unacceptable",
               {"reason", "ts_unacceptable"}),
    ikeCounter("braid_ike_failures_total", kFailHelp, &I::invalidKeSent, "ike.invalid_ke_sent",
               {"reason", "invalid_ke"}),
    ikeCounter("braid_ike_failures_total", kFailHelp, &I::invalidSyntaxSent,
               "ike.invalid_syntax_sent", {"reason", "invalid_syntax"}),
    ikeCounter("braid_ike_failures_total", kFailHelp, &I::unsupportedCritical,
               "ike.unsupported_critical", {"reason", "unsupported_critical"}),
    ikeCounter("braid_ike_failures_total", kFailHelp, &I::peerNotAnswering,
               "ike.peer_not_answering", {"reason", "peer_not_answering"}),
    ikeCounter("braid_ike_peer_failures_total", kPeerFailHelp, &I::authFailedByPeer,
               "ike.auth_failed_by_peer", {"reason", "auth_failed"}),
    ikeCounter("braid_ike_peer_failures_total", kPeerFailHelp, &I::noProposalByPeer,
               "ike.no_proposal_by_peer", {"reason", "no_proposal"}),
    ikeCounter("braid_ike_peer_failures_total", kPeerFailHelp, &I::tsUnacceptableByPeer,
               "ike.ts_unacceptable_by_peer", {"reason", "ts_unacceptable"}),
    ikeCounter("braid_ike_peer_failures_total", kPeerFailHelp, &I::invalidKeReceived,
               "ike.invalid_ke_received", {"reason", "invalid_ke"}),
    ikeCounter("braid_ike_peer_failures_total", kPeerFailHelp, &I::invalidSyntaxReceived,
               "ike.invalid_syntax_received", {"reason", "invalid_syntax"}),
    ikeCounter("braid_ike_refused_child_deletes_total",
               "Child SAs the peer installed that we refused and deleted.", &I::refusedChildDeletes,
               "ike.refused_child_deletes"),
    ikeCounter("braid_ike_retransmits_total", "IKE requests retransmitted.", &I::retransmits,
               "ike.retransmits"),
    ikeCounter("braid_ike_responses_replayed_total",
               "Cached IKE responses sent again for retransmitted requests.", &I::responsesReplayed,
               "ike.responses_replayed"),
    ikeCounter("braid_ike_requests_processed_total", "IKE requests processed.",
               &I::requestsProcessed, "ike.requests_processed"),
    ikeCounter("braid_ike_responses_processed_total", "IKE responses processed.",
               &I::responsesProcessed, "ike.responses_processed"),
    ikeCounter("braid_ike_drops_total", kDropHelp, &I::dropsMalformed, "ike.drop.malformed",
               {"reason", "malformed"}),
    ikeCounter("braid_ike_drops_total", kDropHelp, &I::dropsUnknownSpi, "ike.drop.unknown_spi",
               {"reason", "unknown_spi"}),
    ikeCounter("braid_ike_drops_total", kDropHelp, &I::dropsIntegrity, "ike.drop.integrity",
               {"reason", "integrity"}),
    ikeCounter("braid_ike_drops_total", kDropHelp, &I::dropsMessageId, "ike.drop.message_id",
               {"reason", "message_id"}),
    ikeCounter("braid_ike_drops_total", kDropHelp, &I::dropsNoConfig, "ike.drop.no_config",
               {"reason", "no_config"}),
    ikeCounter("braid_ike_drops_total", kDropHelp, &I::dropsState, "ike.drop.state",
               {"reason", "state"}),
    ikeCounter("braid_ike_drops_total", kDropHelp, &I::dropsUnprotected, "ike.drop.unprotected",
               {"reason", "unprotected"}),
    ikeCounter("braid_ike_drops_total", kDropHelp, &I::dropsHalfOpenCap, "ike.drop.half_open_cap",
               {"reason", "half_open_cap"}),
    ikeCounter("braid_ike_drops_total", kDropHelp, &I::dropsHalfOpenPerSource,
               "ike.drop.half_open_per_source", {"reason", "half_open_per_source"}),
    ikeCounter("braid_ike_drops_total", kDropHelp, &I::dropsInitRate, "ike.drop.init_rate",
               {"reason", "init_rate"}),
    ikeCounter("braid_ike_initiate_retries_total", "IKE SA initiations retried after a failure.",
               &I::initiateRetries, "ike.initiate_retries"),
    ikeCounter("braid_ike_peer_endpoint_changes_total", "NAT rebindings followed.",
               &I::peerEndpointChanges, "ike.peer_endpoint_changes"),
    ikeCounter("braid_ike_cookies_total", "IKE_SA_INIT cookie handling (RFC 7296 2.6).",
               &I::cookiesSent, "ike.cookies_sent", {"result", "sent"}),
    ikeCounter("braid_ike_cookies_total", "IKE_SA_INIT cookie handling (RFC 7296 2.6).",
               &I::cookiesValid, "ike.cookies_valid", {"result", "valid"}),
    ikeCounter("braid_ike_cookies_total", "IKE_SA_INIT cookie handling (RFC 7296 2.6).",
               &I::cookiesInvalid, "ike.cookies_invalid", {"result", "invalid"}),
    ikeCounter("braid_ike_half_open_expired_total",
               "Half-open IKE SAs removed after half_open_timeout.", &I::halfOpenExpired,
               "ike.half_open_expired"),
    ikeCounter("braid_ike_log_suppressed_total",
               "Log lines caused by unauthenticated input that the rate limit held back.",
               &I::logSuppressed, "ike.log_suppressed"),
});
// Every IkeCounters field has exactly one descriptor.
static_assert(kIkeFields.size() * sizeof(uint64_t) == sizeof(IkeCountersLike));

inline constexpr std::array<double, 4> kRttBuckets = {0.005, 0.025, 0.1, 0.5};

struct ProbeStats {
  Histogram rtt{kRttBuckets};
  double lossRatio = 0;
};
inline constexpr auto kProbeFields = std::to_array<Field<ProbeStats>>({
    {.name = "braid_path_rtt_seconds",
     .help = "Probe round-trip time.",
     .type = Type::kHistogram,
     .unit = "seconds",
     .histogram = &ProbeStats::rtt,
     .buckets = kRttBuckets},
    {.name = "braid_path_loss_ratio",
     .help = "Probe loss over the window, 0..1.",
     .type = Type::kGauge,
     .unit = "ratio",
     .getter = [](const ProbeStats& p) { return p.lossRatio; }},
});

// A registry with every kind of metric and sample values: two paths, the IKE table, probe
// histograms, build info, process metrics and a label value that needs escaping.
inline Status fillSample(Registry& r) {
  if (auto s = addBuildInfo(r, {{"version", "0.1.0"}, {"commit", "abc123"}}); !s) return s;
  PathStats a{.txPackets = 10, .txBytes = 14000, .childSas = 1};
  PathStats b{.txPackets = 0, .txBytes = 0, .childSas = 0};
  for (auto [name, stats] : {std::pair{"hq/fiber", a}, std::pair{"hq/lte \"backup\"\n", b}}) {
    auto m = StructMetrics<PathStats>::add(r, fieldsOf<PathStats>(), {{"path", name}});
    if (!m) return m.status();
    m->update(r, stats);
    ProbeStats p;
    for (double v : {0.004, 0.02, 0.02, 0.3, 0.7}) p.rtt.observe(v);
    p.lossRatio = 0.25;
    auto pm = StructMetrics<ProbeStats>::add(r, kProbeFields, {{"path", name}});
    if (!pm) return pm.status();
    pm->update(r, p);
  }
  IkeCountersLike ike;
  ike.ikeSaUp = 2;
  ike.dropsIntegrity = 5;
  ike.authFailedByPeer = 1;
  auto im = StructMetrics<IkeCountersLike>::add(r, kIkeFields);
  if (!im) return im.status();
  im->update(r, ike);
  auto proc = readProcessStats();
  if (!proc) return errorStatus(ErrorCode::kIoError, "cannot read /proc/self");
  auto pm = StructMetrics<ProcessStats>::add(r, kProcessFields);
  if (!pm) return pm.status();
  pm->update(r, *proc);
  return {};
}

}  // namespace braid::metrics::testing
