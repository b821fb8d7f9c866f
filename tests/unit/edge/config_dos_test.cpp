// [ike] responder DoS limits: defaults without config, values load, errors at line:col.
#include <gtest/gtest.h>

#include <string>

#include "edge/config.hpp"
#include "ipsec/ike/sa_manager.hpp"
#include "tests/unit/edge/config_test_support.hpp"

namespace braid::edge {
namespace {

using testing::at;

std::string config(const std::string& ikeLines) {
  return R"([overlay]
local_subnets = ["10.98.1.0/24"]

[ike]
)" + ikeLines +
         R"(

[[uplink]]
name = "wan0"
local_address = "10.99.0.1"

[[peer]]
name = "site-b"
remote_subnets = ["10.98.2.0/24"]

[peer.ike]
psk = "0123456789abcdef-long-enough"

[[peer.path]]
uplink = "wan0"
remote_address = "10.99.0.2"
)";
}

TEST(ConfigDosTest, UnsetKeepsTheCoreDefaults) {
  auto r = parseConfig(config(""), "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_FALSE(r->ike.cookieThreshold);
  EXPECT_FALSE(r->ike.halfOpenMax);
  EXPECT_FALSE(r->ike.halfOpenMaxPerSource);
  EXPECT_FALSE(r->ike.halfOpenTimeoutSeconds);
  EXPECT_FALSE(r->ike.initRatePerSource);
  const ike::ResponderLimits d;
  EXPECT_LT(d.cookieThreshold, d.halfOpenMax);
  EXPECT_LE(d.halfOpenMaxPerSource, d.halfOpenMax);
  EXPECT_EQ(d.halfOpenTimeout, std::chrono::seconds(30));
}

TEST(ConfigDosTest, ValuesLoad) {
  auto r = parseConfig(config("cookie_threshold = 0\nhalf_open_max = 50\n"
                              "half_open_max_per_source = 2\nhalf_open_timeout = 10\n"
                              "init_rate_per_source = 0"),
                       "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->ike.cookieThreshold, 0u);
  EXPECT_EQ(r->ike.halfOpenMax, 50u);
  EXPECT_EQ(r->ike.halfOpenMaxPerSource, 2u);
  EXPECT_EQ(r->ike.halfOpenTimeoutSeconds, 10u);
  EXPECT_EQ(r->ike.initRatePerSource, 0u);
}

TEST(ConfigDosTest, ErrorsAtTheirPosition) {
  std::string t = config("half_open_timeout = 0");
  EXPECT_CONFIG_ERROR(t, at(t, "half_open_timeout = 0", 20),
                      "'ike.half_open_timeout' = 0 is out of range; expected");
  t = config("half_open_max = -5");
  EXPECT_CONFIG_ERROR(t, at(t, "-5"), "'ike.half_open_max' = -5 is out of range");
  t = config("init_rate_per_source = \"fast\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"fast\""), "'ike.init_rate_per_source'");
  t = config("half_open_max = 10\ncookie_threshold = 10");
  EXPECT_CONFIG_ERROR(t, at(t, "cookie_threshold = 10", 19),
                      "'ike.cookie_threshold' = 10 is not below the half-open limit 10; "
                      "expected a value below ike.half_open_max");
  t = config("cookie_threshold = 5000");  // above the default cap
  EXPECT_CONFIG_ERROR(t, at(t, "5000"), "is not below the half-open limit 1000");
  t = config("half_open_max = 10\nhalf_open_max_per_source = 11");
  EXPECT_CONFIG_ERROR(t, at(t, "= 11", 2), "'ike.half_open_max_per_source' = 11 is above");
  t = config("cookie_treshold = 1");
  EXPECT_CONFIG_ERROR(t, at(t, "cookie_treshold"), "unknown key 'ike.cookie_treshold'");
}

}  // namespace
}  // namespace braid::edge
