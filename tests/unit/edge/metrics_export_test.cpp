// braidd's metrics: the [metrics] configuration table and the exporter that fills a registry
// from DataPlaneStats and IkeStats (edge/metrics_export.hpp).
#include "edge/metrics_export.hpp"
#include "edge/metrics_ike.hpp"
#include "edge/metrics_path.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "edge/config.hpp"
#include "tests/unit/edge/config_test_support.hpp"

namespace braid::edge {
namespace {

using testing::at;

std::string baseConfig() {
  return R"([overlay]
local_subnets = ["10.98.1.0/24"]
[[uplink]]
name = "wan0"
local_address = "10.99.0.1"
[[peer]]
name = "site-b"
remote_subnets = ["10.98.2.0/24"]
[[peer.path]]
uplink = "wan0"
remote_address = "10.99.0.2"
[peer.path.manual]
cipher = "aes256gcm16"
outbound = { spi = 0x1001, key = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20a1a2a3a4" }
inbound = { spi = 0x2001, key = "2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40b1b2b3b4" }
)";
}

class MetricsConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/braid-metrics-cfg-" + std::to_string(::getpid());
    ::mkdir(dir_.c_str(), 0700);
  }
  void TearDown() override {
    for (auto* f : {"token", "token-open", "empty"}) std::remove((dir_ + "/" + f).c_str());
    ::rmdir(dir_.c_str());
  }
  std::string file(const char* name, const std::string& text, mode_t mode) {
    std::string p = dir_ + "/" + name;
    std::ofstream(p) << text;
    EXPECT_EQ(::chmod(p.c_str(), mode), 0);
    return p;
  }
  std::string dir_;
};

TEST_F(MetricsConfigTest, AbsentTableMeansNoEndpoint) {
  auto c = parseConfig(baseConfig(), "t.toml");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_FALSE(c->metrics.has_value());
}

TEST_F(MetricsConfigTest, EmptyTableListensOnLoopback) {
  auto c = parseConfig(baseConfig() + "[metrics]\n", "t.toml");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  ASSERT_TRUE(c->metrics.has_value());
  EXPECT_EQ(c->metrics->address.toString(), "127.0.0.1");
  EXPECT_EQ(c->metrics->port, kDefaultMetricsPort);
  EXPECT_TRUE(c->metrics->token.empty());
  EXPECT_TRUE(c->metrics->tlsCert.empty());
}

TEST_F(MetricsConfigTest, ListenForms) {
  for (auto [text, addr, port] :
       {std::tuple{"10.0.0.1:9100", "10.0.0.1", 9100}, std::tuple{"[::1]:9469", "::1", 9469},
        std::tuple{"0.0.0.0:1", "0.0.0.0", 1}}) {
    auto c = parseConfig(baseConfig() + "[metrics]\nlisten = \"" + text + "\"\n", "t.toml");
    ASSERT_TRUE(c.isOk()) << text << ": " << c.status().message();
    EXPECT_EQ(c->metrics->address.toString(), addr);
    EXPECT_EQ(c->metrics->port, port);
  }
  for (const char* bad : {"127.0.0.1", "::1:9469", "127.0.0.1:0", "127.0.0.1:65536",
                          "localhost:9469", "[127.0.0.1]:9469", "127.0.0.1:9x", ":9469"}) {
    std::string text = baseConfig() + "[metrics]\nlisten = \"" + bad + "\"\n";
    EXPECT_CONFIG_ERROR(text, at(text, "\"" + std::string(bad)), "'metrics.listen'");
  }
}

TEST_F(MetricsConfigTest, UnknownKeyAndWrongTypes) {
  std::string text = baseConfig() + "[metrics]\nport = 9469\n";
  EXPECT_CONFIG_ERROR(text, at(text, "port = 9469"), "unknown key 'metrics.port'");
  text = baseConfig() + "[metrics]\nlisten = 9469\n";
  EXPECT_CONFIG_ERROR(text, at(text, "9469"), "'metrics.listen' is an integer");
}

TEST_F(MetricsConfigTest, TokenFileReadTrimmedAndPrivate) {
  std::string p = file("token", "s3cret-token\n", 0600);
  auto c = parseConfig(baseConfig() + "[metrics]\ntoken_file = \"" + p + "\"\n", "t.toml");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(c->metrics->token.data()),
                        c->metrics->token.size()),
            "s3cret-token");

  std::string open = file("token-open", "s3cret-token\n", 0644);
  std::string text = baseConfig() + "[metrics]\ntoken_file = \"" + open + "\"\n";
  EXPECT_CONFIG_ERROR(text, at(text, "\"" + open), "'metrics.token_file'");

  std::string empty = file("empty", "\n", 0600);
  text = baseConfig() + "[metrics]\ntoken_file = \"" + empty + "\"\n";
  EXPECT_CONFIG_ERROR(text, at(text, "\"" + empty), "holds no token");

  text = baseConfig() + "[metrics]\ntoken_file = \"" + dir_ + "/missing\"\n";
  EXPECT_CONFIG_ERROR(text, at(text, "\"" + dir_), "'metrics.token_file'");
}

TEST_F(MetricsConfigTest, TlsNeedsCertAndKey) {
  std::string key = file("token", "-----BEGIN PRIVATE KEY-----\n", 0600);
  std::string text = baseConfig() + "[metrics]\ntls_key = \"" + key + "\"\n";
  EXPECT_CONFIG_ERROR(text, at(text, "[metrics]"), "only one of tls_cert and tls_key");
  text = baseConfig() + "[metrics]\ntls_cert = \"/etc/hostname\"\n";
  EXPECT_CONFIG_ERROR(text, at(text, "[metrics]"), "only one of tls_cert and tls_key");
  std::string open = file("token-open", "k", 0644);
  text = baseConfig() + "[metrics]\ntls_cert = \"/etc/hostname\"\ntls_key = \"" + open + "\"\n";
  EXPECT_CONFIG_ERROR(text, at(text, "\"" + open), "'metrics.tls_key'");
}

// ---- exporter ----

TEST(MetricsExportTest, DropReasonNamesMatchTheStatsFile) {
  for (size_t i = 0; i < kTxDropCount; ++i) {
    EXPECT_EQ(kTxDropReasons[i], txDropName(static_cast<TxDrop>(i)));
  }
  for (size_t i = 0; i < kRxDropCount; ++i) {
    EXPECT_EQ(kRxDropReasons[i], rxDropName(static_cast<RxDrop>(i)));
  }
}

Config twoPaths() {
  Config c;
  c.uplinks.resize(2);
  c.uplinks[0].name = "wan0";
  c.uplinks[1].name = "lte";
  PeerConfig p;
  p.name = "hq";
  p.paths.resize(2);
  p.paths[0].uplink = "wan0";
  p.paths[0].manual = ManualKeying{};
  p.paths[1].uplink = "lte";  // IKE
  p.paths[1].uplinkIndex = 1;
  c.peers.push_back(std::move(p));
  return c;
}

SaStats sa(uint32_t spi, bool inbound, const std::string& path, uint64_t packets, uint64_t bytes) {
  SaStats s{spi, inbound, path, {}};
  if (inbound) {
    s.esp.packetsOpened = packets;
    s.esp.bytesOpened = bytes;
  } else {
    s.esp.packetsSealed = packets;
    s.esp.bytesSealed = bytes;
  }
  return s;
}

bool hasLine(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l == line) return true;
  }
  return false;
}

TEST(MetricsExportTest, DataPlaneCountersBecomeLabelledFamilies) {
  auto e = MetricsExporter::create(twoPaths());
  ASSERT_TRUE(e.isOk()) << e.status().message();
  DataPlaneStats s;
  s.tx.tunPackets = 7;
  s.tx.bytesSent = 1234;
  s.tx.drop(TxDrop::kNoRoute, 3);
  s.rx.drop(RxDrop::kPolicy, 2);
  s.inboundTable.drops[static_cast<size_t>(ipsec::EspDrop::kBadSpi)] = 4;
  s.sas.push_back(sa(0x2001, true, "hq/wan0", 5, 500));
  s.sas.back().esp.drops[static_cast<size_t>(ipsec::EspDrop::kReplay)] = 1;
  s.engines.resize(1);
  s.engines[0].decisions[static_cast<size_t>(policy::DecisionCause::kPathDown)] = 2;
  s.engines[0].copies = 9;
  std::string text = (*e)->render(metrics::Format::kPrometheus, s, nullptr);
  EXPECT_TRUE(hasLine(text, "braid_tx_tun_packets_total 7")) << text;
  EXPECT_TRUE(hasLine(text, "braid_tx_bytes_total 1234"));
  EXPECT_TRUE(hasLine(text, "braid_tx_drops_total{reason=\"no_route\"} 3"));
  EXPECT_TRUE(hasLine(text, "braid_tx_drops_total{reason=\"no_sa\"} 0"));
  EXPECT_TRUE(hasLine(text, "braid_rx_drops_total{reason=\"policy\"} 2"));
  EXPECT_TRUE(hasLine(text, "braid_esp_drops_total{reason=\"bad_spi\"} 4"));
  EXPECT_TRUE(hasLine(text, "braid_esp_drops_total{reason=\"replay\"} 1"));
  EXPECT_TRUE(hasLine(text, "braid_path_packets_total{path=\"hq/wan0\",direction=\"rx\"} 5"));
  EXPECT_TRUE(hasLine(text, "braid_path_esp_drops_total{path=\"hq/wan0\",reason=\"replay\"} 1"));
  EXPECT_TRUE(hasLine(text, "braid_path_sas{path=\"hq/lte\",direction=\"rx\"} 0"));
  EXPECT_NE(text.find("braid_build_info{version=\""), std::string::npos);
  // Multipath: the shaper per priority, the policy engine per peer.
  EXPECT_TRUE(hasLine(text, "braid_tx_shaper_sent_packets_total{priority=\"bulk\"} 0"));
  EXPECT_TRUE(hasLine(text, "braid_policy_decisions_total{peer=\"hq\",cause=\"path_down\"} 2"));
  EXPECT_TRUE(hasLine(text, "braid_policy_copies_total{peer=\"hq\"} 9"));
  EXPECT_NE(text.find("\nprocess_cpu_seconds_total "), std::string::npos);
  // One HELP per family: the drop reasons did not become names.
  EXPECT_EQ(text.find("# HELP braid_tx_drops_total"), text.rfind("# HELP braid_tx_drops_total"));
  // Without IKE stats the IKE families stay at zero but exist (for the IKE path's uplink).
  EXPECT_TRUE(hasLine(text, "braid_ike_drops_total{uplink=\"lte\",reason=\"integrity\"} 0"));
  EXPECT_EQ(text.find("uplink=\"wan0\""), std::string::npos);  // manual path: no IKE
}

// braid_class_*: traffic per class and direction, and the path(s) each class uses now.
TEST(MetricsExportTest, ClassTrafficAndCurrentPaths) {
  auto e = MetricsExporter::create(twoPaths());
  ASSERT_TRUE(e.isOk());
  DataPlaneStats s;
  s.classes = {{"voice", {10, 1000, 4, 400}, {"hq/lte"}}, {"default", {1, 84, 0, 0}, {}}};
  std::string text = (*e)->render(metrics::Format::kPrometheus, s, nullptr);
  EXPECT_TRUE(hasLine(text, "braid_class_packets_total{class=\"voice\",direction=\"tx\"} 10"))
      << text;
  EXPECT_TRUE(hasLine(text, "braid_class_bytes_total{class=\"voice\",direction=\"tx\"} 1000"));
  EXPECT_TRUE(hasLine(text, "braid_class_packets_total{class=\"voice\",direction=\"rx\"} 4"));
  EXPECT_TRUE(hasLine(text, "braid_class_bytes_total{class=\"voice\",direction=\"rx\"} 400"));
  EXPECT_TRUE(hasLine(text, "braid_class_path{class=\"voice\",path=\"hq/lte\"} 1"));
  EXPECT_TRUE(hasLine(text, "braid_class_path{class=\"voice\",path=\"hq/wan0\"} 0"));
  EXPECT_TRUE(hasLine(text, "braid_class_path{class=\"default\",path=\"hq/wan0\"} 0"));
  EXPECT_TRUE(hasLine(text, "braid_class_packets_total{class=\"default\",direction=\"tx\"} 1"));
  EXPECT_EQ(text.find("# HELP braid_class_packets_total"),
            text.rfind("# HELP braid_class_packets_total"));
  // A class a reload adds appears at the next scrape; one it removes keeps its figures.
  s.classes = {{"bulk", {5, 7000, 0, 0}, {"hq/wan0"}}};
  text = (*e)->render(metrics::Format::kPrometheus, s, nullptr);
  EXPECT_TRUE(hasLine(text, "braid_class_packets_total{class=\"bulk\",direction=\"tx\"} 5"));
  EXPECT_TRUE(hasLine(text, "braid_class_path{class=\"bulk\",path=\"hq/wan0\"} 1"));
  EXPECT_TRUE(hasLine(text, "braid_class_packets_total{class=\"voice\",direction=\"tx\"} 10"));
  const std::string stats = (*e)->registry().statsFile();
  EXPECT_TRUE(hasLine(stats, "class.voice.tx_packets 10")) << stats;
  EXPECT_TRUE(hasLine(stats, "class.bulk.path.hq/wan0 1"));
}

// The tables keep the stats file's names: the registry's tx.* and rx.* lines are exactly the
// lines formatStats writes.
TEST(MetricsExportTest, StatsKeysEqualTheStatsFile) {
  auto e = MetricsExporter::create(twoPaths());
  ASSERT_TRUE(e.isOk());
  DataPlaneStats s;
  for (size_t i = 0; i < kTxDropCount; ++i) s.tx.drops[i] = 100 + i;
  for (size_t i = 0; i < kRxDropCount; ++i) s.rx.drops[i] = 200 + i;
  s.tx.tunReads = 1;
  s.tx.udpGsoDisabled = 2;
  s.rx.tunGroDisabled = 3;
  s.inboundTable.drops[1] = 9;
  (*e)->render(metrics::Format::kPrometheus, s, nullptr);
  auto pick = [](const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
      if (l.starts_with("tx.") || l.starts_with("rx.")) out.push_back(l);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  auto fromTables = pick((*e)->registry().statsFile());
  auto fromStats = pick(formatStats(s));
  EXPECT_EQ(fromTables, fromStats);
  EXPECT_GT(fromStats.size(), 40u);
  // formatStats is generated from the tables now: the names that scripts and tests read
  // are the ones it wrote by hand before, and the per-SA lines stay.
  s.sas.push_back(sa(0x2001, true, "hq/wan0", 5, 500));
  s.sas.push_back(sa(0x3001, false, "hq/wan0", 6, 600));
  s.classes = {{"voice", {1, 2, 3, 4}, {}}};
  const std::string stats = formatStats(s);
  for (const char* line :
       {"tx.tun_reads 1", "tx.udp_gso_disabled 2", "rx.tun_gro_disabled 3", "tx.drop.malformed 100",
        "tx.drop.no_route 101", "rx.drop.invalid 200", "rx.drop.spoofed_source 210",
        "rx.drop.esp_bad_spi 9", "tx.shaper.bulk.sent 0", "rx.reorder_overflows 0", "rx.opened 0",
        "sa.in.0x00002001.packets 5", "sa.in.0x00002001.bytes 500",
        "sa.in.0x00002001.drop.replay 0", "sa.out.0x00003001.packets 6",
        "sa.out.0x00003001.sequence_exhausted 0", "class.voice.tx_packets 1",
        "class.voice.rx_bytes 4"}) {
    EXPECT_TRUE(hasLine(stats, line)) << line << "\n" << stats;
  }
}

// The stats file's ike.* lines come from the scrape's IKE table: every field has its own
// key, the names scripts read are the ones the driver wrote before, and the per-uplink
// registration (no keys) still works with two IKE uplinks.
TEST(MetricsExportTest, IkeTableCarriesTheStatsFileKeys) {
  metrics::Registry r;
  auto t = metrics::StructMetrics<ike::IkeCounters>::add(r, ikeFields());
  ASSERT_TRUE(t.isOk()) << t.status().message();
  ike::IkeCounters c;
  c.ikeSaUp = 1;
  c.childRekeysInitiated = 2;
  c.authFailedByPeer = 3;
  c.dropsInitRate = 4;
  c.cookiesValid = 5;
  c.fragmentsSent = 6;
  t->update(r, c);
  const std::string stats = r.statsFile();
  for (const char* line :
       {"ike.ike_sa_up 1", "ike.child_rekeys_initiated 2", "ike.auth_failed_by_peer 3",
        "ike.drop.init_rate 4", "ike.cookies_valid 5", "ike.fragments_sent 6",
        "ike.log_suppressed 0", "ike.dpd_checks 0", "ike.ts_unacceptable_by_peer 0"}) {
    EXPECT_TRUE(hasLine(stats, line)) << line << "\n" << stats;
  }
  for (const auto& f : ikeFields()) EXPECT_TRUE(f.statsKey.starts_with("ike.")) << f.name;
  Config cfg = twoPaths();
  cfg.peers[0].paths[0].manual.reset();  // both paths IKE: two IKE uplinks
  auto e = MetricsExporter::create(cfg);
  ASSERT_TRUE(e.isOk()) << e.status().message();
}

// Per-path sums stay monotonic when a rekey replaces an SA.
TEST(MetricsExportTest, PathCountersSurviveRekeys) {
  auto e = MetricsExporter::create(twoPaths());
  ASSERT_TRUE(e.isOk());
  DataPlaneStats s;
  s.sas = {sa(0x10, false, "hq/lte", 10, 1000), sa(0x11, true, "hq/lte", 20, 2000)};
  (*e)->render(metrics::Format::kPrometheus, s, nullptr);
  EXPECT_EQ((*e)->pathEsp()[1].txPackets, 10u);
  EXPECT_EQ((*e)->pathEsp()[1].outboundSas, 1u);
  // Rekey overlap: old and new SA both installed.
  s.sas = {sa(0x10, false, "hq/lte", 12, 1200), sa(0x11, true, "hq/lte", 25, 2500),
           sa(0x20, false, "hq/lte", 1, 100), sa(0x21, true, "hq/lte", 1, 100)};
  (*e)->render(metrics::Format::kPrometheus, s, nullptr);
  EXPECT_EQ((*e)->pathEsp()[1].txPackets, 13u);
  EXPECT_EQ((*e)->pathEsp()[1].inboundSas, 2u);
  // The old SAs are gone: their last figures stay in the sums.
  s.sas = {sa(0x20, false, "hq/lte", 4, 400), sa(0x21, true, "hq/lte", 3, 300)};
  std::string text = (*e)->render(metrics::Format::kPrometheus, s, nullptr);
  EXPECT_EQ((*e)->pathEsp()[1].txPackets, 16u);
  EXPECT_EQ((*e)->pathEsp()[1].rxPackets, 28u);
  EXPECT_EQ((*e)->pathEsp()[1].rxBytes, 2800u);
  EXPECT_EQ((*e)->pathEsp()[1].inboundSas, 1u);
  EXPECT_TRUE(hasLine(text, "braid_path_bytes_total{path=\"hq/lte\",direction=\"tx\"} 1600"));
  // An SPI used again with fresh counters is a new SA.
  s.sas = {sa(0x20, false, "hq/lte", 1, 100)};
  (*e)->render(metrics::Format::kPrometheus, s, nullptr);
  EXPECT_EQ((*e)->pathEsp()[1].txPackets, 17u);
  // SAs of unknown paths are ignored.
  s.sas.push_back(sa(0x99, false, "nowhere/x", 1000, 1));
  (*e)->render(metrics::Format::kPrometheus, s, nullptr);
  EXPECT_EQ((*e)->pathEsp()[1].txPackets, 17u);
  EXPECT_EQ((*e)->pathEsp()[0].txPackets, 0u);
}

TEST(MetricsExportTest, IkeStatsPerUplinkAndPath) {
  auto e = MetricsExporter::create(twoPaths());
  ASSERT_TRUE(e.isOk());
  IkeStats ike;
  IkeUplinkStats u{"lte", {}, 2, 1};
  u.core.authFailed = 3;
  u.core.cookiesSent = 4;
  ike.uplinks.push_back(u);
  ike.driver.datagramsSent = 8;
  ike.espEndpointUpdates = 1;
  ike.paths.push_back({"hq/lte", "established", 2, 5});
  std::string om = (*e)->render(metrics::Format::kOpenMetrics, DataPlaneStats{}, &ike);
  EXPECT_TRUE(hasLine(om, "braid_ike_failures_total{uplink=\"lte\",reason=\"auth_failed\"} 3"))
      << om;
  EXPECT_TRUE(hasLine(om, "braid_ike_cookies_total{uplink=\"lte\",result=\"sent\"} 4"));
  EXPECT_TRUE(hasLine(om, "braid_ike_half_open_sas{uplink=\"lte\"} 2"));
  EXPECT_TRUE(hasLine(om, "braid_ike_datagrams_total{direction=\"tx\"} 8"));
  EXPECT_TRUE(hasLine(om, "braid_ike_esp_endpoint_updates_total 1"));
  EXPECT_TRUE(hasLine(om, "braid_ike_path_state{path=\"hq/lte\",state=\"established\"} 1"));
  EXPECT_TRUE(hasLine(om, "braid_ike_path_state{path=\"hq/lte\",state=\"failed\"} 0"));
  EXPECT_TRUE(hasLine(om, "braid_ike_path_child_sas{path=\"hq/lte\"} 2"));
  EXPECT_TRUE(hasLine(om, "braid_ike_path_failures_total{path=\"hq/lte\"} 5"));
  EXPECT_TRUE(hasLine(om, "# TYPE braid_ike_failures counter"));
  EXPECT_TRUE(om.ends_with("# EOF\n"));
  // An unknown state: no state series is 1.
  ike.paths[0].state = "rekeying";
  std::string text = (*e)->render(metrics::Format::kPrometheus, DataPlaneStats{}, &ike);
  EXPECT_TRUE(hasLine(text, "braid_ike_path_state{path=\"hq/lte\",state=\"established\"} 0"));
}

TEST(MetricsExportTest, EndpointCounters) {
  auto e = MetricsExporter::create(twoPaths());
  ASSERT_TRUE(e.isOk());
  MetricsServerCounters http;
  http.scrapes = 4;
  http.unauthorized = 2;
  http.refused = 1;
  std::string text = (*e)->render(metrics::Format::kPrometheus, DataPlaneStats{}, nullptr, &http);
  EXPECT_TRUE(hasLine(text, "braid_metrics_scrapes_total 4")) << text;
  EXPECT_TRUE(hasLine(text, "braid_metrics_http_errors_total{reason=\"unauthorized\"} 2"));
  EXPECT_TRUE(hasLine(text, "braid_metrics_http_errors_total{reason=\"connection_limit\"} 1"));
  EXPECT_TRUE(hasLine(text, "braid_metrics_http_errors_total{reason=\"timeout\"} 0"));
  // The first render has no previous one to report; the snapshot wait is the caller's.
  EXPECT_TRUE(hasLine(text, "braid_metrics_render_seconds 0")) << text;
  (*e)->setSnapshotSeconds(0.25);
  text = (*e)->render(metrics::Format::kPrometheus, DataPlaneStats{}, nullptr, &http);
  EXPECT_TRUE(hasLine(text, "braid_metrics_snapshot_wait_seconds 0.25"));
  EXPECT_FALSE(hasLine(text, "braid_metrics_render_seconds 0"));
}

TEST(MetricsExportTest, PathMonitorFigures) {
  auto e = MetricsExporter::create(twoPaths());
  ASSERT_TRUE(e.isOk());
  std::vector<pathmon::PathStats> monitor(2);
  monitor[1].state = pathmon::PathState::kDegraded;
  monitor[1].srtt = std::chrono::microseconds(25500);
  monitor[1].p99 = std::chrono::milliseconds(40);
  monitor[1].loss = 0.125;
  monitor[1].lossForward = 0.1;
  monitor[1].lossReturn = 0.025;
  monitor[1].capacityMeasuredBps = 5'000'000;
  monitor[1].counters.probesSent = 17;
  monitor[1].counters.repliesLate = 2;
  monitor[1].counters.transitions[static_cast<size_t>(pathmon::PathCause::kLossHigh)] = 3;
  std::string text =
      (*e)->render(metrics::Format::kPrometheus, DataPlaneStats{}, nullptr, nullptr, &monitor);
  const std::string lte = "path=\"hq/lte\"";
  EXPECT_TRUE(hasLine(text, "braid_path_state{" + lte + ",state=\"degraded\"} 1")) << text;
  EXPECT_TRUE(hasLine(text, "braid_path_state{" + lte + ",state=\"up\"} 0"));
  EXPECT_TRUE(hasLine(text, "braid_path_state{path=\"hq/wan0\",state=\"down\"} 1"));
  EXPECT_TRUE(hasLine(text, "braid_path_rtt_seconds{" + lte + "} 0.0255"));
  EXPECT_TRUE(
      hasLine(text, "braid_path_rtt_percentile_seconds{" + lte + ",percentile=\"99\"} 0.04"));
  EXPECT_TRUE(hasLine(text, "braid_path_loss_ratio{" + lte + "} 0.125"));
  EXPECT_TRUE(hasLine(text, "braid_path_loss_forward_ratio{" + lte + "} 0.1"));
  EXPECT_TRUE(hasLine(text, "braid_path_loss_return_ratio{" + lte + "} 0.025"));
  EXPECT_TRUE(hasLine(text, "braid_path_loss_forward_ratio{path=\"hq/wan0\"} -1"));  // unreported
  EXPECT_TRUE(hasLine(text, "braid_path_capacity_measured_bytes_per_second{" + lte + "} 625000"));
  EXPECT_TRUE(hasLine(text, "braid_path_capacity_measured_bytes_per_second{path=\"hq/wan0\"} 0"));
  EXPECT_TRUE(hasLine(text, "braid_path_probes_sent_total{" + lte + "} 17"));
  EXPECT_TRUE(hasLine(text, "braid_path_probe_replies_total{" + lte + ",result=\"late\"} 2"));
  EXPECT_TRUE(hasLine(text, "braid_path_transitions_total{" + lte + ",cause=\"" +
                                pathmon::pathCauseName(pathmon::PathCause::kLossHigh) + "\"} 3"));
  // The probe RTT histogram: cumulative buckets from the monitor's counts.
  EXPECT_TRUE(hasLine(text, "braid_path_probe_rtt_seconds_count{" + lte + "} 0"));
  pathmon::RttEstimator rtt;
  for (int ms : {3, 12, 12, 45, 2500}) rtt.add(std::chrono::milliseconds(ms));
  monitor[1].rttHistogram = rtt.histogram();
  text = (*e)->render(metrics::Format::kPrometheus, DataPlaneStats{}, nullptr, nullptr, &monitor);
  EXPECT_TRUE(hasLine(text, "braid_path_probe_rtt_seconds_bucket{" + lte + ",le=\"0.0025\"} 0"));
  EXPECT_TRUE(hasLine(text, "braid_path_probe_rtt_seconds_bucket{" + lte + ",le=\"0.005\"} 1"));
  EXPECT_TRUE(hasLine(text, "braid_path_probe_rtt_seconds_bucket{" + lte + ",le=\"0.02\"} 3"));
  EXPECT_TRUE(hasLine(text, "braid_path_probe_rtt_seconds_bucket{" + lte + ",le=\"2.0\"} 4"));
  EXPECT_TRUE(hasLine(text, "braid_path_probe_rtt_seconds_bucket{" + lte + ",le=\"+Inf\"} 5"));
  EXPECT_TRUE(hasLine(text, "braid_path_probe_rtt_seconds_sum{" + lte + "} 2.572"));
  EXPECT_TRUE(hasLine(text, "braid_path_probe_rtt_seconds_count{" + lte + "} 5"));
  // Without PathControl the failover series exist, at 0.
  EXPECT_TRUE(hasLine(text, "braid_path_last_failover_duration_seconds{" + lte + "} 0"));
  EXPECT_TRUE(hasLine(text, "braid_path_failovers_total{" + lte + ",cause=\"silence\"} 0"));
}

// braidctl metrics renders the same registry as JSON: every family of the scrape, each with
// as many series.
TEST(MetricsExportTest, JsonHoldsEveryFamilyOfTheScrape) {
  auto e = MetricsExporter::create(twoPaths());
  ASSERT_TRUE(e.isOk());
  std::vector<pathmon::PathStats> monitor(2);
  const std::string text =
      (*e)->render(metrics::Format::kPrometheus, DataPlaneStats{}, nullptr, nullptr, &monitor);
  const std::string json =
      (*e)->render(metrics::Format::kJson, DataPlaneStats{}, nullptr, nullptr, &monitor);
  std::istringstream is(text);
  size_t families = 0;
  for (std::string l; std::getline(is, l);) {
    if (l.rfind("# TYPE ", 0) != 0) continue;
    const std::string name = l.substr(7, l.find(' ', 7) - 7);
    EXPECT_NE(json.find("{\"name\":\"" + name + "\","), std::string::npos) << name;
    ++families;
  }
  EXPECT_GT(families, 50u);
  size_t jsonFamilies = 0;
  for (size_t at = json.find("{\"name\":"); at != std::string::npos;
       at = json.find("{\"name\":", at + 1)) {
    ++jsonFamilies;
  }
  EXPECT_EQ(jsonFamilies, families);
  EXPECT_NE(json.find("\"name\":\"braid_path_probe_rtt_seconds\",\"type\":\"histogram\""),
            std::string::npos);
}

// The stats file's path.* lines (PathControl::formatStats -> pathStatsFile) and the
// exporter's registry come from the same tables: the same lines for the same figures.
TEST(MetricsExportTest, PathStatsFileComesFromTheScrapeTables) {
  auto e = MetricsExporter::create(twoPaths());
  ASSERT_TRUE(e.isOk());
  std::vector<pathmon::PathStats> monitor(2);
  monitor[1].state = pathmon::PathState::kUp;
  monitor[1].srtt = std::chrono::milliseconds(20);
  monitor[1].loss = 0.25;
  monitor[1].counters.probesSent = 9;
  monitor[1].counters.repliesReceived = 8;
  monitor[1].counters.deaths = 1;
  pathmon::RttEstimator rtt;
  rtt.add(std::chrono::milliseconds(20));
  monitor[1].rttHistogram = rtt.histogram();
  (*e)->render(metrics::Format::kPrometheus, DataPlaneStats{}, nullptr, nullptr, &monitor);
  std::vector<PathExtraStats> extras(2);
  extras[1].rtt = rttHistogram(monitor[1]);
  const std::string file =
      pathStatsFile({"hq/wan0", "hq/lte"}, monitor, extras, PathTotals{3, 1, 0});
  for (const char* line :
       {"path.hq/lte.rtt_seconds 0.02", "path.hq/lte.loss_ratio 0.25", "path.hq/lte.state.up 1",
        "path.hq/lte.state.down 0", "path.hq/lte.probes_sent 9",
        "path.hq/lte.probe_replies.in_time 8", "path.hq/lte.deaths 1",
        "path.hq/lte.rtt_percentile_seconds.99 0", "path.hq/lte.transitions.silence 0",
        "path.hq/lte.probe_rtt_seconds.bucket.0.02 1", "path.hq/lte.probe_rtt_seconds.count 1",
        "path.hq/lte.last_failover_duration_seconds 0", "path.hq/lte.failovers.silence 0",
        "path.hq/wan0.shim 0", "paths.events 3", "paths.deaths 1", "paths.recoveries 0"}) {
    EXPECT_TRUE(hasLine(file, line)) << line << "\n" << file;
  }
  auto pick = [](const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
      if (l.starts_with("path.")) out.push_back(l);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  auto fromFile = pick(file);
  EXPECT_EQ(pick((*e)->registry().statsFile()), fromFile);
  EXPECT_GT(fromFile.size(), 100u);
}

// The IKE driver's stats lines: its tables' keys are the names scripts and docs use.
TEST(MetricsExportTest, IkeDriverTablesCarryTheStatsFileNames) {
  metrics::Registry r;
  IkeStats st;
  st.driver.datagramsReceived = 4;
  st.driver.childRetries = 2;
  st.espEndpointUpdates = 1;
  IkeUplinkStats g;
  g.halfOpen = 3;
  g.ikeSas = 5;
  IkePathStats p{"site-b/wan0", "established", 2, 1};
  auto gt = metrics::StructMetrics<IkeUplinkStats>::add(r, ikeUplinkFields());
  auto dt = metrics::StructMetrics<IkeStats>::add(r, ikeDriverFields());
  auto pt = metrics::StructMetrics<IkePathStats>::add(r, ikePathFields(), {{"path", p.name}});
  auto ct = metrics::StructMetrics<ike::IkeCounters>::add(r, ikeFields());
  ASSERT_TRUE(gt && dt && pt && ct);
  gt->update(r, g);
  dt->update(r, st);
  pt->update(r, p);
  const std::string file = r.statsFile();
  for (const char* line :
       {"ike.half_open 3", "ike.ike_sas 5", "ike.datagrams_received 4", "ike.datagrams_sent 0",
        "ike.child_retries 2", "ike.send_errors 0", "ike.keepalives_sent 0", "ike.install_errors 0",
        "ike.esp_endpoint_updates 1", "ike.path.site-b/wan0.state.established 1",
        "ike.path.site-b/wan0.child_sas 2", "ike.path.site-b/wan0.failures 1"}) {
    EXPECT_TRUE(hasLine(file, line)) << line << "\n" << file;
  }
}

TEST(MetricsExportTest, NamesOutsideTheLabelRulesAreRefused) {
  Config c = twoPaths();
  c.peers[0].name = std::string(200, 'x');  // label values are at most 128 bytes
  auto e = MetricsExporter::create(c);
  ASSERT_FALSE(e.isOk());
  EXPECT_NE(e.status().message().find("longer than 128 bytes"), std::string::npos)
      << e.status().message();
}

}  // namespace
}  // namespace braid::edge
