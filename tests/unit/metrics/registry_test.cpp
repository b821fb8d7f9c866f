// Registry: exact expositions for a small registry (Prometheus 0.0.4, OpenMetrics 1.0, stats
// file, JSON), series bounds, and the histogram against a slow reference.
#include "metrics/registry.hpp"

#include <gtest/gtest.h>

#include <array>
#include <limits>
#include <random>

namespace braid::metrics {
namespace {

constexpr std::array<double, 3> kBounds = {0.1, 0.5, 1};

// Two paths' packet counters, an RTT gauge, an RTT histogram and build info.
Registry smallRegistry() {
  Registry r;
  auto pk =
      r.addFamily({"braid_test_packets_total", "Packets seen.", Type::kCounter, "", {"path"}, {}});
  auto rtt = r.addFamily({"braid_test_rtt_seconds",
                          "Smoothed \"RTT\" \\ probe\nsecond line.",
                          Type::kGauge,
                          "seconds",
                          {"path"},
                          {}});
  auto hist = r.addFamily({"braid_test_probe_rtt_seconds",
                           "Probe RTT.",
                           Type::kHistogram,
                           "seconds",
                           {"path"},
                           {kBounds.begin(), kBounds.end()}});
  auto info =
      r.addFamily({"braid_build_info", "Build information.", Type::kInfo, "", {"version"}, {}});
  EXPECT_TRUE(pk && rtt && hist && info);
  auto a = r.addSeries(*pk, {"a/fiber"});
  auto b = r.addSeries(*pk, {"b/lte"}, "pk.{path}");
  auto ra = r.addSeries(*rtt, {"a\\b \"c\"\nd"});
  auto ha = r.addSeries(*hist, {"a/fiber"});
  EXPECT_TRUE(r.addSeries(*info, {"1.2.3"}));
  EXPECT_TRUE(a && b && ra && ha);
  r.set(*a, uint64_t{3});
  r.set(*b, uint64_t{18446744073709551615u});  // full 64-bit range, no double rounding
  r.set(*ra, 0.025);
  Histogram h(kBounds);
  for (double v : {0.5, 0.25, 0.25, 4.0}) h.observe(v);
  r.set(*ha, h);
  return r;
}

TEST(Registry, PrometheusGolden) {
  EXPECT_EQ(smallRegistry().prometheus(),
            R"(# HELP braid_test_packets_total Packets seen.
# TYPE braid_test_packets_total counter
braid_test_packets_total{path="a/fiber"} 3
braid_test_packets_total{path="b/lte"} 18446744073709551615
# HELP braid_test_rtt_seconds Smoothed "RTT" \\ probe\nsecond line.
# TYPE braid_test_rtt_seconds gauge
braid_test_rtt_seconds{path="a\\b \"c\"\nd"} 0.025
# HELP braid_test_probe_rtt_seconds Probe RTT.
# TYPE braid_test_probe_rtt_seconds histogram
braid_test_probe_rtt_seconds_bucket{path="a/fiber",le="0.1"} 0
braid_test_probe_rtt_seconds_bucket{path="a/fiber",le="0.5"} 3
braid_test_probe_rtt_seconds_bucket{path="a/fiber",le="1.0"} 3
braid_test_probe_rtt_seconds_bucket{path="a/fiber",le="+Inf"} 4
braid_test_probe_rtt_seconds_sum{path="a/fiber"} 5
braid_test_probe_rtt_seconds_count{path="a/fiber"} 4
# HELP braid_build_info Build information.
# TYPE braid_build_info gauge
braid_build_info{version="1.2.3"} 1
)");
}

TEST(Registry, OpenMetricsGolden) {
  EXPECT_EQ(smallRegistry().openMetrics(),
            R"(# HELP braid_test_packets Packets seen.
# TYPE braid_test_packets counter
braid_test_packets_total{path="a/fiber"} 3
braid_test_packets_total{path="b/lte"} 18446744073709551615
# HELP braid_test_rtt_seconds Smoothed \"RTT\" \\ probe\nsecond line.
# TYPE braid_test_rtt_seconds gauge
# UNIT braid_test_rtt_seconds seconds
braid_test_rtt_seconds{path="a\\b \"c\"\nd"} 0.025
# HELP braid_test_probe_rtt_seconds Probe RTT.
# TYPE braid_test_probe_rtt_seconds histogram
# UNIT braid_test_probe_rtt_seconds seconds
braid_test_probe_rtt_seconds_bucket{path="a/fiber",le="0.1"} 0
braid_test_probe_rtt_seconds_bucket{path="a/fiber",le="0.5"} 3
braid_test_probe_rtt_seconds_bucket{path="a/fiber",le="1.0"} 3
braid_test_probe_rtt_seconds_bucket{path="a/fiber",le="+Inf"} 4
braid_test_probe_rtt_seconds_sum{path="a/fiber"} 5
braid_test_probe_rtt_seconds_count{path="a/fiber"} 4
# HELP braid_build Build information.
# TYPE braid_build info
braid_build_info{version="1.2.3"} 1
# EOF
)");
}

TEST(Registry, StatsFileGolden) {
  // Derived keys (name less braid_ and _total, then label values), a {label} template, and
  // blanks in a label value replaced so that each line stays `name value`.
  EXPECT_EQ(smallRegistry().statsFile(),
            "test_packets.a/fiber 3\n"
            "pk.b/lte 18446744073709551615\n"
            "test_rtt_seconds.a\\b_\"c\"_d 0.025\n"
            "test_probe_rtt_seconds.a/fiber.bucket.0.1 0\n"
            "test_probe_rtt_seconds.a/fiber.bucket.0.5 3\n"
            "test_probe_rtt_seconds.a/fiber.bucket.1.0 3\n"
            "test_probe_rtt_seconds.a/fiber.bucket.+Inf 4\n"
            "test_probe_rtt_seconds.a/fiber.sum 5\n"
            "test_probe_rtt_seconds.a/fiber.count 4\n"
            "build_info.1.2.3 1\n");
}

TEST(Registry, JsonGolden) {
  Registry r;
  auto f = r.addFamily({"braid_x_total", "X \"quoted\"\n.", Type::kCounter, "", {"k"}, {}});
  ASSERT_TRUE(f);
  auto s = r.addSeries(*f, {"v\x01"});
  ASSERT_TRUE(s);
  r.set(*s, uint64_t{7});
  auto g = r.addFamily({"braid_y_ratio", "Y.", Type::kGauge, "ratio", {}, {}});
  ASSERT_TRUE(g);
  auto gs = r.addSeries(*g, {});
  ASSERT_TRUE(gs);
  r.set(*gs, std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(
      r.json(),
      R"({"metrics":[{"name":"braid_x_total","type":"counter","unit":"","help":"X \"quoted\"\u000a.","series":[{"labels":{"k":"v\u0001"},"value":7}]},)"
      R"({"name":"braid_y_ratio","type":"gauge","unit":"ratio","help":"Y.","series":[{"labels":{},"value":"NaN"}]}]})"
      "\n");
}

TEST(Registry, SeriesAreBoundedAndExplicit) {
  Registry r(2);
  auto f = r.addFamily({"braid_flows_total", "Flows.", Type::kCounter, "", {"class"}, {}});
  ASSERT_TRUE(f);
  EXPECT_TRUE(r.addSeries(*f, {"voice"}));
  EXPECT_EQ(r.addSeries(*f, {"voice"}).status().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(r.addSeries(*f, {}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.addSeries(*f, {"a", "b"}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.addSeries(*f, {""}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.addSeries(*f, {"x"}, "k.{nope}").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(r.addSeries(*f, {"bulk"}));
  EXPECT_EQ(r.addSeries(*f, {"video"}).status().code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(r.seriesCount(*f), 2u);
}

TEST(Registry, RedeclaringAFamily) {
  Registry r;
  FamilyDesc d{"braid_a_total", "A.", Type::kCounter, "", {"path"}, {}};
  auto first = r.addFamily(d);
  auto again = r.addFamily(d);
  ASSERT_TRUE(first && again);
  EXPECT_EQ(first->index, again->index);
  d.help = "Other.";
  EXPECT_EQ(r.addFamily(d).status().code(), ErrorCode::kAlreadyExists);
  // braid_a would be the same OpenMetrics family as the counter braid_a_total.
  EXPECT_EQ(r.addFamily({"braid_a", "A.", Type::kGauge, "", {}, {}}).status().code(),
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(r.addFamily({"braid_b", "", Type::kGauge, "", {}, {}}).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.familyCount(), 1u);
}

TEST(Histogram, BucketEdgesAreInclusive) {
  Histogram h(kBounds);
  h.observe(0.1);  // le="0.1" holds values <= 0.1
  h.observe(0.1000001);
  h.observe(1);
  h.observe(1e9);
  h.observe(std::numeric_limits<double>::quiet_NaN());  // ignored
  EXPECT_EQ(h.bucket(0), 1u);
  EXPECT_EQ(h.bucket(1), 1u);
  EXPECT_EQ(h.bucket(2), 1u);
  EXPECT_EQ(h.bucket(3), 1u);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_DOUBLE_EQ(h.sum(), 0.1 + 0.1000001 + 1 + 1e9);
}

TEST(Histogram, TooManyBoundsAreCutOff) {
  static constexpr auto kMany = [] {
    std::array<double, Histogram::kMaxBuckets + 5> b{};
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<double>(i + 1);
    return b;
  }();
  Histogram h(kMany);
  EXPECT_EQ(h.bounds().size(), Histogram::kMaxBuckets);
  h.observe(1000);  // lands in +Inf, inside the fixed array
  EXPECT_EQ(h.bucket(Histogram::kMaxBuckets), 1u);
}

// Counts kept elsewhere in the same buckets give the histogram that observe() would.
TEST(Histogram, FromCountsEqualsObserved) {
  Histogram observed(kBounds);
  for (double v : {0.05, 0.1, 0.5, 3.0, 3.0, 1e6}) observed.observe(v);
  std::vector<uint64_t> counts;
  for (size_t i = 0; i <= kBounds.size(); ++i) counts.push_back(observed.bucket(i));
  counts.push_back(99);  // beyond +Inf: ignored
  Histogram h = Histogram::fromCounts(kBounds, counts, observed.sum());
  for (size_t i = 0; i <= kBounds.size(); ++i) EXPECT_EQ(h.bucket(i), observed.bucket(i)) << i;
  EXPECT_EQ(h.count(), observed.count());
  EXPECT_DOUBLE_EQ(h.sum(), observed.sum());
  Histogram few = Histogram::fromCounts(kBounds, std::vector<uint64_t>{2, 3}, 0.4);
  EXPECT_EQ(few.count(), 5u);
  EXPECT_EQ(few.bucket(kBounds.size()), 0u);
}

TEST(Histogram, CumulativeExpositionMatchesReference) {
  static constexpr std::array<double, 6> kB = {0.001, 0.01, 0.05, 0.1, 0.5, 2};
  Registry r;
  auto f = r.addFamily(
      {"braid_ref_seconds", "Ref.", Type::kHistogram, "seconds", {}, {kB.begin(), kB.end()}});
  ASSERT_TRUE(f);
  auto s = r.addSeries(*f, {});
  ASSERT_TRUE(s);
  std::mt19937 rng(7);
  std::exponential_distribution<double> dist(10);
  Histogram h(kB);
  std::vector<double> all;
  for (int i = 0; i < 5000; ++i) {
    double v = dist(rng);
    h.observe(v);
    all.push_back(v);
  }
  r.set(*s, h);
  std::string text = r.prometheus();
  for (size_t i = 0; i <= kB.size(); ++i) {
    size_t want = 0;
    for (double v : all) want += i == kB.size() || v <= kB[i];
    std::string le = i == kB.size() ? "+Inf" : formatDouble(kB[i]);
    if (le.find('.') == std::string::npos && le != "+Inf") le += ".0";
    std::string line = "braid_ref_seconds_bucket{le=\"" + le + "\"} " + std::to_string(want) + "\n";
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace braid::metrics
