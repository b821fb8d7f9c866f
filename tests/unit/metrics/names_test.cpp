// Naming rules, escaping and Accept-header negotiation.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "metrics/metric.hpp"

namespace braid::metrics {
namespace {

FamilyDesc desc(std::string name, Type t, std::string unit = "",
                std::vector<std::string> labels = {}) {
  FamilyDesc d{std::move(name), "Help.", t, std::move(unit), std::move(labels), {}};
  if (t == Type::kHistogram) d.buckets = {0.1, 1};
  return d;
}

TEST(Names, AcceptsConventionalNames) {
  EXPECT_TRUE(validateFamily(desc("braid_path_tx_bytes_total", Type::kCounter, "bytes")));
  EXPECT_TRUE(validateFamily(desc("braid_path_rtt_seconds", Type::kGauge, "seconds", {"path"})));
  EXPECT_TRUE(validateFamily(desc("braid_path_rtt_seconds", Type::kHistogram, "seconds")));
  EXPECT_TRUE(validateFamily(desc("braid_path_loss_ratio", Type::kGauge, "ratio")));
  EXPECT_TRUE(validateFamily(desc("braid_build_info", Type::kInfo, "", {"version"})));
  EXPECT_TRUE(validateFamily(desc("process_open_fds", Type::kGauge)));
  EXPECT_TRUE(validateFamily(desc("braid_esp_drops_total", Type::kCounter, "", {"reason"})));
}

TEST(Names, RejectsBadNames) {
  struct Case {
    FamilyDesc d;
    const char* why;
  };
  std::vector<Case> cases = {
      {desc("tx_packets_total", Type::kCounter), "no braid_ prefix"},
      {desc("braid_tx:packets_total", Type::kCounter), "colon"},
      {desc("braid_tx-packets_total", Type::kCounter), "dash"},
      {desc("9braid_x_total", Type::kCounter), "leading digit"},
      {desc("braid__x_total", Type::kCounter), "double underscore"},
      {desc("braid_tx_packets", Type::kCounter), "counter without _total"},
      {desc("braid_queue_total", Type::kGauge), "gauge with _total"},
      {desc("braid_rtt_milliseconds", Type::kGauge), "non-base unit"},
      {desc("braid_rtt_ms", Type::kGauge), "non-base unit ms"},
      {desc("braid_rx_kilobytes_total", Type::kCounter), "non-base unit kilobytes"},
      {desc("braid_rtt_seconds", Type::kGauge), "unit suffix without # UNIT"},
      {desc("braid_rtt", Type::kGauge, "seconds"), "unit not a suffix"},
      {desc("braid_rtt_hours", Type::kGauge, "hours"), "unit not a base unit"},
      {desc("braid_rtt_count", Type::kGauge), "reserved suffix _count"},
      {desc("braid_rtt_bucket", Type::kGauge), "reserved suffix _bucket"},
      {desc("braid_build", Type::kInfo), "info without _info"},
      {desc("braid_x", Type::kGauge, "", {"__name"}), "reserved label prefix"},
      {desc("braid_x", Type::kGauge, "", {"path", "path"}), "duplicate label"},
      {desc("braid_x", Type::kGauge, "", {"pa-th"}), "bad label char"},
      {desc("braid_x", Type::kGauge, "", {"0path"}), "label leading digit"},
      {desc("braid_x_seconds", Type::kHistogram, "seconds", {"le"}), "le on a histogram"},
      {desc("braid_x", Type::kGauge, "", {"quantile"}), "quantile"},
  };
  for (auto& c : cases) EXPECT_FALSE(validateFamily(c.d)) << c.why << ": " << c.d.name;

  FamilyDesc noHelp = desc("braid_x", Type::kGauge);
  noHelp.help.clear();
  EXPECT_FALSE(validateFamily(noHelp));
  FamilyDesc unsorted = desc("braid_x_seconds", Type::kHistogram, "seconds");
  unsorted.buckets = {1, 0.5};
  EXPECT_FALSE(validateFamily(unsorted));
  unsorted.buckets = {0.5, std::numeric_limits<double>::infinity()};
  EXPECT_FALSE(validateFamily(unsorted));
  unsorted.buckets.clear();
  EXPECT_FALSE(validateFamily(unsorted));
  FamilyDesc gaugeBuckets = desc("braid_x", Type::kGauge);
  gaugeBuckets.buckets = {1};
  EXPECT_FALSE(validateFamily(gaugeBuckets));
}

TEST(Names, LabelValues) {
  EXPECT_TRUE(validateLabelValue("hq/fiber"));
  EXPECT_TRUE(validateLabelValue("ünïcode \"quoted\"\n"));
  EXPECT_FALSE(validateLabelValue(""));
  EXPECT_FALSE(validateLabelValue(std::string(129, 'x')));
  EXPECT_TRUE(validateLabelValue("\xf0\x9f\x93\xa1 lte"));  // U+1F4E1
  EXPECT_FALSE(validateLabelValue("\xff"));
  EXPECT_FALSE(validateLabelValue("a\xc3"));             // truncated
  EXPECT_FALSE(validateLabelValue("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(validateLabelValue("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(validateLabelValue("\xf4\x90\x80\x80"));  // above U+10FFFF
}

TEST(Escaping, LabelValuesAndHelp) {
  EXPECT_EQ(escapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(escapeLabelValue("plain/ü"), "plain/ü");
  // 0.0.4 HELP escapes only backslash and newline; OpenMetrics also the double quote.
  EXPECT_EQ(escapeHelp("a\\b\"c\nd", Format::kPrometheus), "a\\\\b\"c\\nd");
  EXPECT_EQ(escapeHelp("a\\b\"c\nd", Format::kOpenMetrics), "a\\\\b\\\"c\\nd");
}

TEST(Numbers, Format) {
  EXPECT_EQ(formatDouble(0.025), "0.025");
  EXPECT_EQ(formatDouble(1), "1");
  EXPECT_EQ(formatDouble(-2.5), "-2.5");
  EXPECT_EQ(formatDouble(1e21), "1e+21");
  EXPECT_EQ(formatDouble(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(formatDouble(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(formatDouble(std::nan("")), "NaN");
}

TEST(Negotiate, PrometheusServerHeaders) {
  // What Prometheus 2.x sends by default (OpenMetrics preferred) and with only 0.0.4 enabled.
  auto om = negotiate(
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
      "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
  EXPECT_EQ(om.format, Format::kOpenMetrics);
  EXPECT_EQ(om.contentType, kOpenMetricsContentType);
  auto text = negotiate("text/plain;version=0.0.4;q=1,*/*;q=0.1");
  EXPECT_EQ(text.format, Format::kPrometheus);
  EXPECT_EQ(text.contentType, kPrometheusContentType);
}

TEST(Negotiate, Preferences) {
  EXPECT_EQ(negotiate("").format, Format::kPrometheus);
  EXPECT_EQ(negotiate("*/*").format, Format::kPrometheus);
  EXPECT_EQ(negotiate("garbage;;;,,").format, Format::kPrometheus);
  EXPECT_EQ(negotiate("application/openmetrics-text").format, Format::kOpenMetrics);
  EXPECT_EQ(negotiate("Application/OpenMetrics-Text; Version=1.0.0").format, Format::kOpenMetrics);
  EXPECT_EQ(negotiate("application/openmetrics-text;version=0.0.1").format, Format::kOpenMetrics);
  // A version we do not speak, a zero weight, or text/plain ranked higher: 0.0.4.
  EXPECT_EQ(negotiate("application/openmetrics-text;version=2.0.0").format, Format::kPrometheus);
  EXPECT_EQ(negotiate("application/openmetrics-text;q=0").format, Format::kPrometheus);
  EXPECT_EQ(negotiate("application/openmetrics-text;q=0.2, text/plain;q=0.5").format,
            Format::kPrometheus);
  EXPECT_EQ(negotiate("text/plain;q=0.5, application/openmetrics-text;q=0.5").format,
            Format::kOpenMetrics);
  EXPECT_EQ(negotiate("application/openmetrics-text;q=banana").format, Format::kPrometheus);
}

}  // namespace
}  // namespace braid::metrics
