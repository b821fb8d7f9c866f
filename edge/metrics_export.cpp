#include "edge/metrics_export.hpp"

#include <chrono>
#include <optional>
#include <set>

#include "edge/dataplane.hpp"
#include "edge/metrics_budget.hpp"
#include "edge/metrics_dataplane.hpp"
#include "edge/metrics_export_class.hpp"
#include "edge/metrics_ike.hpp"
#include "edge/metrics_path.hpp"
#include "edge/metrics_server.hpp"
#include "edge/path_control.hpp"
#include "metrics/descriptor.hpp"
#include "metrics/process.hpp"

#ifndef BRAID_VERSION
#define BRAID_VERSION "unknown"
#endif

namespace braid::edge {

namespace m = braid::metrics;

const std::array<std::string_view, 4> kIkePathStates = {"idle", "connecting", "established",
                                                        "failed"};

namespace {

// ---- per peer: the policy engine's decisions (policy/engine.hpp) ----

using PE = policy::EngineCounters;
constexpr size_t kCauseCount = static_cast<size_t>(policy::DecisionCause::kCount);
const std::array<std::string_view, kCauseCount> kDecisionCauses = {
    "new_flow",    "sticky",     "path_down", "sla_breach",
    "better_path", "per_packet", "no_path",   "policy_change"};
static_assert(kCauseCount == 8, "name the new policy::DecisionCause in kDecisionCauses");
constexpr std::string_view kReloadFlowsHelp =
    "Flows at a policy reload that kept or lost their path.";
const auto kEngineFields = m::concat(
    m::arrayFields<PE, kCauseCount, &PE::decisions>(
        "braid_policy_decisions_total",
        "Path decisions of the peer's policy engine, by cause (path_down and sla_breach are "
        "failovers).",
        "cause", kDecisionCauses),
    std::to_array<m::Field<PE>>({
        counterField("braid_policy_duplicated_packets_total", "Packets sent with copies.",
                     &PE::duplicated, {}),
        counterField("braid_policy_copies_total", "Extra copies decided.", &PE::copies, {}),
        counterField("braid_policy_fec_packets_total", "Packets sent with FEC on.", &PE::fec, {}),
        counterField("braid_policy_best_path_changes_total", "Changes of a class's best path.",
                     &PE::bestChanges, {}),
        counterField("braid_policy_reloads_total", "Policy reloads applied.", &PE::reloads, {}),
        {.name = "braid_policy_reload_flows_total",
         .help = kReloadFlowsHelp,
         .member = &PE::reloadKept,
         .label = {"result", "kept"}},
        {.name = "braid_policy_reload_flows_total",
         .help = kReloadFlowsHelp,
         .member = &PE::reloadMoved,
         .label = {"result", "moved"}},
    }));
static_assert(sizeof(PE) == (kCauseCount + 7) * sizeof(uint64_t),
              "a policy::EngineCounters field without a descriptor in kEngineFields");

// ---- per path: ESP over the path's SAs ----

using P = PathEspStats;
constexpr std::string_view kPathPacketsHelp = "Packets sealed (tx) or opened (rx) on the path.";
constexpr std::string_view kPathBytesHelp = "Inner bytes sealed (tx) or opened (rx) on the path.";
constexpr std::string_view kPathSasHelp = "ESP SAs installed on the path now.";

template <auto M>
constexpr uint64_t get(const P& p) {
  return p.*M;
}

m::Field<P> directional(std::string_view name, std::string_view help, std::string_view dir,
                        uint64_t (*count)(const P&), m::Type type = m::Type::kCounter,
                        std::string_view unit = {}) {
  return {.name = name,
          .help = help,
          .type = type,
          .unit = unit,
          .label = {"direction", dir},
          .count = count};
}

const auto kPathFields = m::concat(
    std::to_array<m::Field<P>>({
        directional("braid_path_packets_total", kPathPacketsHelp, "tx", &get<&P::txPackets>),
        directional("braid_path_packets_total", kPathPacketsHelp, "rx", &get<&P::rxPackets>),
        directional("braid_path_bytes_total", kPathBytesHelp, "tx", &get<&P::txBytes>,
                    m::Type::kCounter, "bytes"),
        directional("braid_path_bytes_total", kPathBytesHelp, "rx", &get<&P::rxBytes>,
                    m::Type::kCounter, "bytes"),
        directional("braid_path_sas", kPathSasHelp, "tx", &get<&P::outboundSas>, m::Type::kGauge),
        directional("braid_path_sas", kPathSasHelp, "rx", &get<&P::inboundSas>, m::Type::kGauge),
        counterField("braid_path_sequence_exhausted_total",
                     "Seals refused because the SA's sequence numbers ran out (rekey due).",
                     &P::sequenceExhausted, {}),
    }),
    m::arrayFields<P, ipsec::kEspDropCount, &P::drops>(
        "braid_path_esp_drops_total", "ESP packets of the path's SAs dropped, by reason.", "reason",
        kEspDropReasons));

// ---- per path: the path monitor (pathmon/supervisor.hpp, via PathControl) ----

using PS = pathmon::PathStats;
using PC = pathmon::PathCounters;
const std::array<std::string_view, 5> kPathStates = {"down", "probing", "up", "degraded", "dead"};
static_assert(static_cast<size_t>(pathmon::PathState::kDead) == 4);
constexpr size_t kPathCauseCount = static_cast<size_t>(pathmon::PathCause::kCount);
const std::array<std::string_view, kPathCauseCount> kPathCauses = [] {
  std::array<std::string_view, kPathCauseCount> out{};
  for (size_t i = 0; i < kPathCauseCount; ++i) {
    out[i] = pathmon::pathCauseName(static_cast<pathmon::PathCause>(i));
  }
  return out;
}();

size_t pathStateIndex(const PS& s) {
  return static_cast<size_t>(s.state);
}
template <auto M>
double seconds(const PS& s) {
  return std::chrono::duration<double>(s.*M).count();
}
template <auto M>
constexpr uint64_t probeCounter(const PS& s) {
  return s.counters.*M;
}
template <size_t I>
constexpr uint64_t transitions(const PS& s) {
  return s.counters.transitions[I];
}
m::Field<PS> pathGauge(std::string_view name, std::string_view help, double (*get)(const PS&),
                       std::string_view unit = "seconds", m::FixedLabel label = {}) {
  return {.name = name,
          .help = help,
          .type = m::Type::kGauge,
          .unit = unit,
          .getter = get,
          .label = label};
}
m::Field<PS> pathCounter(std::string_view name, std::string_view help, uint64_t (*count)(const PS&),
                         m::FixedLabel label = {}) {
  return {.name = name, .help = help, .label = label, .count = count};
}
double lossRatio(const PS& s) {
  return s.loss;
}
double lossForwardRatio(const PS& s) {
  return s.lossForward;
}
double lossReturnRatio(const PS& s) {
  return s.lossReturn;
}
double capacityMeasured(const PS& s) {
  return static_cast<double>(s.capacityMeasuredBps) / 8;  // bytes: Prometheus' base unit
}
constexpr std::string_view kPercentileHelp = "Probe RTT percentiles over the window.";
constexpr std::string_view kRepliesHelp = "Probe replies received, by result.";
constexpr std::string_view kProbeErrorHelp = "Probe messages refused, by reason.";
constexpr std::string_view kTransitionsHelp = "Path state changes, by cause.";

template <size_t... I>
std::array<m::Field<PS>, sizeof...(I)> transitionFields(std::index_sequence<I...>) {
  return {pathCounter("braid_path_transitions_total", kTransitionsHelp, &transitions<I>,
                      {"cause", kPathCauses[I]})...};
}

const auto kMonitorFields = m::concat(
    m::concat(
        m::stateFields<PS, 5, &pathStateIndex>("braid_path_state",
                                               "Path monitor state: 1 for the current state.",
                                               "state", kPathStates),
        std::to_array<m::Field<PS>>({
            pathGauge("braid_path_rtt_seconds", "Smoothed probe RTT (RFC 6298 SRTT).",
                      &seconds<&PS::srtt>),
            pathGauge("braid_path_rtt_variation_seconds", "Probe RTT variation (RFC 6298 RTTVAR).",
                      &seconds<&PS::rttvar>),
            pathGauge("braid_path_min_rtt_seconds", "Smallest probe RTT seen.",
                      &seconds<&PS::minRtt>),
            pathGauge("braid_path_rtt_percentile_seconds", kPercentileHelp, &seconds<&PS::p50>,
                      "seconds", {"percentile", "50"}),
            pathGauge("braid_path_rtt_percentile_seconds", kPercentileHelp, &seconds<&PS::p95>,
                      "seconds", {"percentile", "95"}),
            pathGauge("braid_path_rtt_percentile_seconds", kPercentileHelp, &seconds<&PS::p99>,
                      "seconds", {"percentile", "99"}),
            pathGauge("braid_path_jitter_seconds",
                      "Jitter of consecutive probe RTTs (RFC 3550 estimator).",
                      &seconds<&PS::rttJitter>),
            pathGauge("braid_path_inbound_jitter_seconds",
                      "Jitter of the peer's probes towards us (RFC 3550, peer timestamps).",
                      &seconds<&PS::inboundJitter>),
            pathGauge("braid_path_loss_ratio", "Probe loss over the window, 0..1.", &lossRatio,
                      "ratio"),
            pathGauge("braid_path_loss_forward_ratio",
                      "Probe loss on the way to the peer, from its probe count, 0..1 (-1: the "
                      "peer does not report).",
                      &lossForwardRatio, "ratio"),
            pathGauge("braid_path_loss_return_ratio",
                      "Probe loss on the way back: the rest of the round-trip loss, 0..1 (-1: "
                      "the peer does not report).",
                      &lossReturnRatio, "ratio"),
            pathGauge("braid_path_capacity_measured_bytes_per_second",
                      "Delivery rate towards the peer while the path was saturated (windowed "
                      "maximum, wire bytes); lowers the configured egress_kbps weight (0: no "
                      "evidence).",
                      &capacityMeasured, ""),
            pathGauge("braid_path_probe_interval_seconds", "Current probe interval.",
                      &seconds<&PS::probeInterval>),
            pathGauge("braid_path_last_failover_detection_seconds",
                      "Silence before the path's last death while it carried traffic: when its "
                      "flows' failover began after the last proof of life (0: never died).",
                      &seconds<&PS::lastDetection>),
            pathCounter("braid_path_probes_sent_total", "Probes sent.",
                        &probeCounter<&PC::probesSent>),
            pathCounter("braid_path_probe_replies_total", kRepliesHelp,
                        &probeCounter<&PC::repliesReceived>, {"result", "in_time"}),
            pathCounter("braid_path_probe_replies_total", kRepliesHelp,
                        &probeCounter<&PC::repliesLate>, {"result", "late"}),
            pathCounter("braid_path_probe_replies_total", kRepliesHelp,
                        &probeCounter<&PC::repliesDuplicate>, {"result", "duplicate"}),
            pathCounter("braid_path_probe_replies_total", kRepliesHelp,
                        &probeCounter<&PC::repliesStale>, {"result", "stale"}),
            pathCounter("braid_path_probe_replies_total", kRepliesHelp,
                        &probeCounter<&PC::repliesBogus>, {"result", "bogus"}),
            pathCounter("braid_path_probes_timed_out_total", "Probes with no reply in time.",
                        &probeCounter<&PC::probesTimedOut>),
            pathCounter("braid_path_peer_probes_answered_total", "The peer's probes answered.",
                        &probeCounter<&PC::peerProbesAnswered>),
            pathCounter("braid_path_probe_errors_total", kProbeErrorHelp,
                        &probeCounter<&PC::malformed>, {"reason", "malformed"}),
            pathCounter("braid_path_probe_errors_total", kProbeErrorHelp,
                        &probeCounter<&PC::wrongPath>, {"reason", "wrong_path"}),
            pathCounter("braid_path_deaths_total", "Times the path was declared dead.",
                        &probeCounter<&PC::deaths>),
            pathCounter("braid_path_monitor_stalls_total",
                        "Late timers whose verdict waited for queued input.",
                        &probeCounter<&PC::stalls>),
            pathCounter("braid_path_liveness_checks_total",
                        "IKE liveness checks asked on a path without probes (standard peer) "
                        "after inbound ESP silence while sending, or while dead.",
                        &probeCounter<&PC::livenessChecks>),
            pathCounter("braid_path_round_trip_checks_total",
                        "Of those, the periodic checks while sending that need the peer's IKE "
                        "response (a cut of our direction alone; round_trip_check_ms).",
                        &probeCounter<&PC::roundTripChecks>),
            pathCounter("braid_path_suspicions_total",
                        "Times the path became suspect: one probe answer overdue while it "
                        "carried traffic (real-time classes copy onto another path meanwhile).",
                        &probeCounter<&PC::suspicions>),
        })),
    transitionFields(std::make_index_sequence<kPathCauseCount>{}));
static_assert(sizeof(PC) == (15 + kPathCauseCount) * sizeof(uint64_t),
              "a pathmon::PathCounters field without a descriptor in kMonitorFields");

}  // namespace

std::span<const m::Field<PS>> pathMonitorFields() {
  return kMonitorFields;
}

namespace {

// ---- IKE (edge/ike_driver.hpp): per uplink, per IKE path, and the driver's own ----

using I = ike::IkeCounters;

const auto kIkeUplinkFields = std::to_array<m::Field<IkeUplinkStats>>({
    {.name = "braid_ike_half_open_sas",
     .help = "Half-open IKE SAs (responder) now.",
     .type = m::Type::kGauge,
     .member = &IkeUplinkStats::halfOpen,
     .statsKey = "ike.half_open"},
    {.name = "braid_ike_sas",
     .help = "IKE SAs now.",
     .type = m::Type::kGauge,
     .member = &IkeUplinkStats::ikeSas,
     .statsKey = "ike.ike_sas"},
});

template <auto M>
constexpr uint64_t driver(const IkeStats& s) {
  return s.driver.*M;
}
using D = IkeDriverCounters;
const auto kIkeDriverFields = std::to_array<m::Field<IkeStats>>({
    {.name = "braid_ike_datagrams_total",
     .help = "IKE datagrams received (rx) and sent (tx), NAT-T included.",
     .statsKey = "ike.datagrams_received",
     .label = {"direction", "rx"},
     .count = &driver<&D::datagramsReceived>},
    {.name = "braid_ike_datagrams_total",
     .help = "IKE datagrams received (rx) and sent (tx), NAT-T included.",
     .statsKey = "ike.datagrams_sent",
     .label = {"direction", "tx"},
     .count = &driver<&D::datagramsSent>},
    {.name = "braid_ike_send_errors_total",
     .help = "IKE datagrams the kernel refused to send.",
     .statsKey = "ike.send_errors",
     .count = &driver<&D::sendErrors>},
    {.name = "braid_ike_nat_keepalives_sent_total",
     .help = "NAT-keepalives sent (RFC 3948 2.3).",
     .statsKey = "ike.keepalives_sent",
     .count = &driver<&D::keepalivesSent>},
    {.name = "braid_ike_child_retries_total",
     .help = "CREATE_CHILD_SA retried after a refused Child SA.",
     .statsKey = "ike.child_retries",
     .count = &driver<&D::childRetries>},
    {.name = "braid_ike_install_errors_total",
     .help = "Negotiated Child SAs that could not be installed into the data plane.",
     .statsKey = "ike.install_errors",
     .count = &driver<&D::installErrors>},
    {.name = "braid_ike_esp_endpoint_updates_total",
     .help = "ESP peer endpoints moved after authenticated ESP from a new address (NAT).",
     .member = &IkeStats::espEndpointUpdates,
     .statsKey = "ike.esp_endpoint_updates"},
});

size_t ikeStateIndex(const IkePathStats& p) {
  for (size_t i = 0; i < kIkePathStates.size(); ++i) {
    if (p.state == kIkePathStates[i]) return i;
  }
  return kIkePathStates.size();  // unknown: every state series 0
}

const auto kIkePathFields =
    m::concat(m::stateFields<IkePathStats, 4, &ikeStateIndex>(
                  "braid_ike_path_state", "IKE state of the path: 1 for the current state.",
                  "state", kIkePathStates, "ike.path.{path}.state.{state}"),
              std::to_array<m::Field<IkePathStats>>({
                  {.name = "braid_ike_path_child_sas",
                   .help = "Child SAs the path's IKE SA has installed now.",
                   .type = m::Type::kGauge,
                   .member = &IkePathStats::childSas,
                   .statsKey = "ike.path.{path}.child_sas"},
                  {.name = "braid_ike_path_failures_total",
                   .help = "IKE failures on the path (any reason; see braid_ike_failures_total).",
                   .member = &IkePathStats::failures,
                   .statsKey = "ike.path.{path}.failures"},
              }));

// ---- the scrape endpoint itself (edge/metrics_server.hpp) ----

using H = MetricsServerCounters;
constexpr std::string_view kHttpErrorHelp =
    "Scrape endpoint requests and connections that got no metrics, by reason.";
constexpr m::Field<H> httpError(uint64_t H::*member, std::string_view reason) {
  return {.name = "braid_metrics_http_errors_total",
          .help = kHttpErrorHelp,
          .member = member,
          .label = {"reason", reason}};
}
constexpr auto kHttpFields = std::to_array<m::Field<H>>({
    {.name = "braid_metrics_scrapes_total",
     .help = "Scrapes answered with metrics (200).",
     .member = &H::scrapes},
    {.name = "braid_metrics_http_connections_total",
     .help = "Connections accepted by the scrape endpoint.",
     .member = &H::connections},
    httpError(&H::refused, "connection_limit"),
    httpError(&H::unauthorized, "unauthorized"),
    httpError(&H::badRequests, "bad_request"),
    httpError(&H::timeouts, "timeout"),
    httpError(&H::tlsFailures, "tls_handshake"),
});
static_assert(kHttpFields.size() * sizeof(uint64_t) == sizeof(H),
              "every MetricsServerCounters field needs a descriptor in kHttpFields");

struct ScrapeTimes {
  double snapshotSeconds = 0;  // this scrape
  double renderSeconds = 0;    // the previous one
};
const auto kScrapeTimeFields = std::to_array<m::Field<ScrapeTimes>>({
    {.name = "braid_metrics_snapshot_wait_seconds",
     .help = "Time this scrape waited for the data threads to publish their counters.",
     .type = m::Type::kGauge,
     .unit = "seconds",
     .getter = [](const ScrapeTimes& t) { return t.snapshotSeconds; }},
    {.name = "braid_metrics_render_seconds",
     .help = "Time the previous scrape spent updating and formatting the registry.",
     .type = m::Type::kGauge,
     .unit = "seconds",
     .getter = [](const ScrapeTimes& t) { return t.renderSeconds; }},
});

}  // namespace

std::span<const m::Field<IkeUplinkStats>> ikeUplinkFields() {
  return kIkeUplinkFields;
}
std::span<const m::Field<IkeStats>> ikeDriverFields() {
  return kIkeDriverFields;
}
std::span<const m::Field<IkePathStats>> ikePathFields() {
  return kIkePathFields;
}

struct MetricsExporter::Impl {
  m::Registry registry;
  m::StructMetrics<TxCounters> tx;
  m::StructMetrics<RxCounters> rx;
  m::StructMetrics<EspDropTotals> esp;
  m::StructMetrics<m::ProcessStats> process;
  m::StructMetrics<H> http;
  m::StructMetrics<ScrapeTimes> times;
  ScrapeTimes lastTimes;
  std::vector<m::StructMetrics<P>> paths;                // by path index
  std::vector<m::StructMetrics<PE>> engines;             // by peer index
  std::vector<m::StructMetrics<PS>> monitor;             // by path index
  std::vector<m::StructMetrics<PathExtraStats>> extras;  // by path index
  const PathControl* pathSource = nullptr;
  std::map<std::string, size_t, std::less<>> pathIndex;
  std::map<std::string, m::StructMetrics<I>, std::less<>> ikeUplinks;
  std::map<std::string, m::StructMetrics<IkeUplinkStats>, std::less<>> ikeUplinkGauges;
  std::map<std::string, m::StructMetrics<IkePathStats>, std::less<>> ikePaths;
  std::optional<m::StructMetrics<IkeStats>> ikeDriver;
  ClassMetrics classes;   // braid_class_* (metrics_export_class.cpp)
  BudgetMetrics budgets;  // braid_uplink_budget_* (metrics_budget.cpp)
  const UplinkBudgets* budgetSource = nullptr;

  // Monotonic per-path sums: the last figures of each live SA, and what retired SAs (rekeyed
  // away, removed) had when last seen. Counts between the last scrape and a removal are lost.
  struct SaKey {
    bool inbound;
    uint32_t spi;
    auto operator<=>(const SaKey&) const = default;
  };
  struct SaSeen {
    size_t path;
    ipsec::EspCounters esp;
  };
  std::map<SaKey, SaSeen> live;
  std::vector<PathEspStats> retired, current;

  void addEsp(PathEspStats& p, bool inbound, const ipsec::EspCounters& e) {
    if (inbound) {
      p.rxPackets += e.packetsOpened;
      p.rxBytes += e.bytesOpened;
      for (size_t i = 0; i < e.drops.size(); ++i) p.drops[i] += e.drops[i];
    } else {
      p.txPackets += e.packetsSealed;
      p.txBytes += e.bytesSealed;
      p.sequenceExhausted += e.sequenceExhausted;
    }
  }

  void updatePaths(const DataPlaneStats& dp) {
    std::map<SaKey, SaSeen> now;
    for (const SaStats& sa : dp.sas) {
      auto it = pathIndex.find(sa.path);
      if (it == pathIndex.end()) continue;
      SaKey key{sa.inbound, sa.spi};
      // The same SPI with smaller counts is a new SA (an SPI used again): retire the old one.
      if (auto old = live.find(key); old != live.end()) {
        const ipsec::EspCounters& o = old->second.esp;
        if (sa.esp.packetsSealed < o.packetsSealed || sa.esp.packetsOpened < o.packetsOpened) {
          addEsp(retired[old->second.path], key.inbound, o);
          live.erase(old);
        }
      }
      now[key] = SaSeen{it->second, sa.esp};
    }
    for (auto& [key, seen] : live) {
      if (!now.contains(key)) addEsp(retired[seen.path], key.inbound, seen.esp);
    }
    live = std::move(now);
    current = retired;
    for (auto& c : current) c.outboundSas = c.inboundSas = 0;
    for (auto& [key, seen] : live) {
      addEsp(current[seen.path], key.inbound, seen.esp);
      ++(key.inbound ? current[seen.path].inboundSas : current[seen.path].outboundSas);
    }
  }
};

Result<std::unique_ptr<MetricsExporter>> MetricsExporter::create(const Config& cfg) {
  auto impl = std::make_unique<Impl>();
  m::Registry& r = impl->registry;
  if (Status s = m::addBuildInfo(r, {{"version", BRAID_VERSION}, {"compiler", __VERSION__}}); !s) {
    return s;
  }
  auto proc = m::StructMetrics<m::ProcessStats>::add(r, m::kProcessFields);
  if (!proc) return proc.status();
  impl->process = std::move(*proc);
  auto http = m::StructMetrics<H>::add(r, kHttpFields);
  if (!http) return http.status();
  impl->http = std::move(*http);
  auto times = m::StructMetrics<ScrapeTimes>::add(r, kScrapeTimeFields);
  if (!times) return times.status();
  impl->times = std::move(*times);
  auto tx = m::StructMetrics<TxCounters>::add(r, txFields());
  if (!tx) return tx.status();
  impl->tx = std::move(*tx);
  auto rx = m::StructMetrics<RxCounters>::add(r, rxFields());
  if (!rx) return rx.status();
  impl->rx = std::move(*rx);
  auto esp = m::StructMetrics<EspDropTotals>::add(r, espDropFields());
  if (!esp) return esp.status();
  impl->esp = std::move(*esp);

  // Paths in configuration order, named as the data plane names them ("peer/uplink"), with
  // the stats file's path.* keys (PathControl::formatStats writes the same lines).
  static const auto monitorFields = withPathStatsKeys(pathMonitorFields());
  std::set<std::string> ikeUplinks;
  for (const PeerConfig& peer : cfg.peers) {
    auto em = m::StructMetrics<PE>::add(r, kEngineFields, {{"peer", peer.name}});
    if (!em) return em.status();
    impl->engines.push_back(std::move(*em));
    for (const PathConfig& path : peer.paths) {
      const std::string name = peer.name + "/" + path.uplink;
      const m::InstanceLabels label{{"path", name}};
      auto pm = m::StructMetrics<P>::add(r, kPathFields, label);
      if (!pm) return pm.status();
      auto mm = m::StructMetrics<PS>::add(r, monitorFields, label);
      if (!mm) return mm.status();
      impl->monitor.push_back(std::move(*mm));
      auto xm = m::StructMetrics<PathExtraStats>::add(r, pathExtraFields(), label);
      if (!xm) return xm.status();
      impl->extras.push_back(std::move(*xm));
      impl->pathIndex.emplace(name, impl->paths.size());
      impl->paths.push_back(std::move(*pm));
      if (path.manual) continue;
      auto ip = m::StructMetrics<IkePathStats>::add(r, kIkePathFields, label);
      if (!ip) return ip.status();
      impl->ikePaths.emplace(name, std::move(*ip));
      ikeUplinks.insert(path.uplink);
    }
  }
  impl->retired.resize(impl->paths.size());
  std::vector<std::string> pathNames(impl->paths.size());
  for (auto& [name, i] : impl->pathIndex) pathNames[i] = name;
  impl->classes = ClassMetrics(std::move(pathNames));
  auto budgets = BudgetMetrics::create(r, cfg);
  if (!budgets) return budgets.status();
  impl->budgets = std::move(*budgets);
  impl->current.resize(impl->paths.size());
  // Per uplink, without the stats file's keys: its ike.* lines are the uplinks' sums.
  std::vector<m::Field<I>> ikeTable(ikeFields().begin(), ikeFields().end());
  for (m::Field<I>& f : ikeTable) f.statsKey = {};
  std::vector<m::Field<IkeUplinkStats>> uplinkGauges(kIkeUplinkFields.begin(),
                                                     kIkeUplinkFields.end());
  for (auto& f : uplinkGauges) f.statsKey = {};
  for (const std::string& u : ikeUplinks) {
    const m::InstanceLabels label{{"uplink", u}};
    auto c = m::StructMetrics<I>::add(r, ikeTable, label);
    if (!c) return c.status();
    impl->ikeUplinks.emplace(u, std::move(*c));
    auto g = m::StructMetrics<IkeUplinkStats>::add(r, uplinkGauges, label);
    if (!g) return g.status();
    impl->ikeUplinkGauges.emplace(u, std::move(*g));
  }
  if (!ikeUplinks.empty()) {
    auto d = m::StructMetrics<IkeStats>::add(r, kIkeDriverFields);
    if (!d) return d.status();
    impl->ikeDriver = std::move(*d);
  }
  return std::unique_ptr<MetricsExporter>(new MetricsExporter(std::move(impl)));
}

MetricsExporter::MetricsExporter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsExporter::~MetricsExporter() = default;

std::string MetricsExporter::render(m::Format format, const DataPlaneStats& dp, const IkeStats* ike,
                                    const MetricsServerCounters* http,
                                    const std::vector<pathmon::PathStats>* monitor) {
  const auto start = std::chrono::steady_clock::now();
  Impl& x = *impl_;
  m::Registry& r = x.registry;
  x.times.update(r, x.lastTimes);
  if (http != nullptr) x.http.update(r, *http);
  if (auto p = m::readProcessStats()) x.process.update(r, *p);
  x.tx.update(r, dp.tx);
  x.rx.update(r, dp.rx);
  x.esp.update(r, EspDropTotals{dp.espDrops()});
  x.updatePaths(dp);
  for (size_t i = 0; i < x.paths.size(); ++i) x.paths[i].update(r, x.current[i]);
  for (size_t i = 0; monitor != nullptr && i < x.monitor.size() && i < monitor->size(); ++i) {
    x.monitor[i].update(r, (*monitor)[i]);
  }
  for (size_t i = 0; i < x.extras.size(); ++i) {
    PathExtraStats e;
    if (x.pathSource != nullptr && i < x.pathSource->pathCount()) {
      e = x.pathSource->extraStats(i);
    }
    if (monitor != nullptr && i < monitor->size()) e.rtt = rttHistogram((*monitor)[i]);
    x.extras[i].update(r, e);
  }
  for (size_t i = 0; i < x.engines.size() && i < dp.engines.size(); ++i) {
    x.engines[i].update(r, dp.engines[i]);
  }
  // Only a registry full of classes fails here (1024 series a family): those go unexported.
  (void)x.classes.update(r, dp.classes);
  if (x.budgetSource != nullptr) x.budgets.update(r, x.budgetSource->stats());
  if (ike != nullptr) {
    for (const IkeUplinkStats& u : ike->uplinks) {
      if (auto it = x.ikeUplinks.find(u.uplink); it != x.ikeUplinks.end()) {
        it->second.update(r, u.core);
      }
      if (auto it = x.ikeUplinkGauges.find(u.uplink); it != x.ikeUplinkGauges.end()) {
        it->second.update(r, u);
      }
    }
    for (const IkePathStats& p : ike->paths) {
      if (auto it = x.ikePaths.find(p.name); it != x.ikePaths.end()) it->second.update(r, p);
    }
    if (x.ikeDriver) x.ikeDriver->update(r, *ike);
  }
  std::string text = r.format(format);
  x.lastTimes.renderSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return text;
}

void MetricsExporter::setSnapshotSeconds(double seconds) {
  impl_->lastTimes.snapshotSeconds = seconds;
}

const std::vector<PathEspStats>& MetricsExporter::pathEsp() const {
  return impl_->current;
}

void MetricsExporter::setBudgets(const UplinkBudgets* budgets) {
  impl_->budgetSource = budgets;
}

void MetricsExporter::setPathControl(const PathControl* paths) {
  impl_->pathSource = paths;
}

const m::Registry& MetricsExporter::registry() const {
  return impl_->registry;
}

std::string renderMetrics(MetricsExporter& e, m::Format format, DataPlane& dp, const IkeDriver* ike,
                          const PathControl* paths, const MetricsServerCounters* http) {
  const auto start = std::chrono::steady_clock::now();
  DataPlaneStats s = dp.snapshot();
  e.setSnapshotSeconds(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  std::vector<pathmon::PathStats> monitor;
  if (paths != nullptr) {
    for (size_t i = 0; i < paths->pathCount(); ++i) monitor.push_back(paths->stats(i));
  }
  IkeStats is;
  if (ike != nullptr) is = ike->stats();
  return e.render(format, s, ike != nullptr ? &is : nullptr, http,
                  paths != nullptr ? &monitor : nullptr);
}

Result<std::unique_ptr<MetricsServer>> startMetricsEndpoint(boost::asio::io_context& io,
                                                            const Config& cfg, DataPlane& dp,
                                                            const IkeDriver* ike,
                                                            const PathControl* paths,
                                                            const UplinkBudgets* budgets) {
  auto exporter = MetricsExporter::create(cfg);
  if (!exporter) {
    return errorStatus(exporter.status().code(), "metrics: " + exporter.status().message());
  }
  (*exporter)->setBudgets(budgets);
  (*exporter)->setPathControl(paths);
  const MetricsConfig& mc = *cfg.metrics;
  MetricsServerOptions o;
  o.address = mc.address;
  o.port = mc.port;
  o.token = mc.token;
  o.tlsCertFile = mc.tlsCert;
  o.tlsKeyPem = mc.tlsKeyPem;
  std::shared_ptr<MetricsExporter> e = std::move(*exporter);
  // The server's counters live in the server, which owns this callback: set once it exists.
  auto http = std::make_shared<const MetricsServerCounters*>(nullptr);
  auto server = MetricsServer::start(io, std::move(o), [e, &dp, ike, paths, http](m::Format f) {
    return renderMetrics(*e, f, dp, ike, paths, *http);
  });
  if (server) *http = &(*server)->counters();
  return server;
}

}  // namespace braid::edge
