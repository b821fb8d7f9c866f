#include "deploy/lab/wanem/params.hpp"

#include <gtest/gtest.h>

namespace braid::wanem {
namespace {

TEST(WanemParams, ParsesUnits) {
  Duration d;
  ASSERT_TRUE(parseDuration("40ms", d));
  EXPECT_EQ(d, 40ms);
  ASSERT_TRUE(parseDuration("0.5ms", d));
  EXPECT_EQ(d, 500us);
  ASSERT_TRUE(parseDuration("3s", d));
  EXPECT_EQ(d, 3s);
  ASSERT_TRUE(parseDuration("0", d));
  EXPECT_EQ(d, 0ms);
  EXPECT_FALSE(parseDuration("40", d));  // a unit is required except for 0
  EXPECT_FALSE(parseDuration("4 ms", d));
  EXPECT_FALSE(parseDuration("ms", d));

  double p;
  ASSERT_TRUE(parsePercent("2%", p));
  EXPECT_DOUBLE_EQ(p, 0.02);
  ASSERT_TRUE(parsePercent("0.1", p));
  EXPECT_DOUBLE_EQ(p, 0.001);
  EXPECT_FALSE(parsePercent("-1%", p));

  uint64_t r;
  ASSERT_TRUE(parseRate("30mbit", r));
  EXPECT_EQ(r, 30000000u);
  ASSERT_TRUE(parseRate("1.5gbit", r));
  EXPECT_EQ(r, 1500000000u);
  ASSERT_TRUE(parseRate("off", r));
  EXPECT_EQ(r, 0u);
  EXPECT_FALSE(parseRate("30mbps", r));  // ambiguous (bytes in tc), refused
}

TEST(WanemParams, TokensApplyAllOrNothing) {
  LinkParams p;
  std::vector<std::string> changed;
  ASSERT_TRUE(applyTokens(p, {"delay=40ms", "jitter=5ms", "loss=2%", "down"}, &changed));
  EXPECT_EQ(p.delay, 40ms);
  EXPECT_EQ(p.jitter, 5ms);
  EXPECT_DOUBLE_EQ(p.loss, 0.02);
  EXPECT_TRUE(p.down);
  EXPECT_EQ(changed, (std::vector<std::string>{"delay", "jitter", "loss", "state"}));

  LinkParams before = p;
  Status st = applyTokens(p, {"delay=10ms", "loss=150%"});
  EXPECT_FALSE(st);
  EXPECT_NE(st.message().find("loss"), std::string::npos);
  EXPECT_EQ(p.delay, before.delay);  // nothing applied
  EXPECT_FALSE(applyTokens(p, {"colour=blue"}));
  EXPECT_FALSE(applyTokens(p, {"sideways"}));
}

TEST(WanemParams, EveryKeyRoundTripsThroughItsTextForm) {
  LinkParams p;
  ASSERT_TRUE(applyTokens(
      p, {"delay=45ms", "jitter=500us", "dist=normal", "loss=0.1%", "burst=1%:4", "rate=30mbit",
          "bucket=6000", "queue=500", "reorder=1%", "dup=2%", "mtu=1400", "down"}));
  LinkParams q;
  std::vector<std::string> tokens = splitWords(formatParams(p));
  ASSERT_TRUE(applyTokens(q, tokens)) << formatParams(p);
  EXPECT_EQ(formatParams(q), formatParams(p));
  EXPECT_EQ(q.delay, 45ms);
  EXPECT_EQ(q.jitter, 500us);
  EXPECT_NEAR(q.ge.meanLoss(), 0.01, 1e-9);
  EXPECT_NEAR(1.0 / q.ge.r, 4.0, 1e-9);
  EXPECT_EQ(q.mtu, 1400u);
}

TEST(WanemParams, GilbertElliottFromMeanLoss) {
  GilbertElliott ge = GilbertElliott::fromMeanLoss(0.05, 4.0);
  EXPECT_TRUE(ge.enabled);
  EXPECT_DOUBLE_EQ(ge.r, 0.25);
  EXPECT_NEAR(ge.meanLoss(), 0.05, 1e-12);
  LinkParams p;
  ASSERT_TRUE(applyTokens(p, {"ge_p=1%", "ge_r=10%", "ge_bad=50%"}));
  EXPECT_EQ(getSetting(p, "burst"), "custom");  // not expressible as LOSS:LEN
  EXPECT_NE(formatParams(p).find("ge_bad=50%"), std::string::npos);
}

}  // namespace
}  // namespace braid::wanem
