// [pathmon], [policy], [[class]], [[rule]] and the uplinks' multipath keys: defaults, values,
// and every error at its file:line:col with what is expected.
#include <gtest/gtest.h>

#include <string>

#include "edge/config.hpp"
#include "tests/unit/edge/config_test_support.hpp"

namespace braid::edge {
namespace {

using testing::at;

std::string config(const std::string& extra, const std::string& uplinkExtra = "") {
  return R"([overlay]
local_subnets = ["10.98.1.0/24"]

[[uplink]]
name = "fiber"
local_address = "10.99.0.1"
)" + uplinkExtra +
         R"(
[[uplink]]
name = "lte"
local_address = "10.99.1.1"
metered = true
egress_kbps = 20000

[[peer]]
name = "site-b"
remote_subnets = ["10.98.2.0/24"]

[peer.ike]
psk = "0123456789abcdef-long-enough"

[[peer.path]]
uplink = "fiber"
remote_address = "10.99.0.2"

[[peer.path]]
uplink = "lte"
remote_address = "10.99.1.2"

)" + extra;
}

TEST(ConfigMultipathTest, WithoutPolicyOneDefaultClassInPathOrder) {
  auto r = parseConfig(config(""), "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const MultipathConfig& m = r->multipath;
  ASSERT_EQ(m.classes.size(), 1u);
  EXPECT_EQ(m.classes[0].policy.name, "default");
  EXPECT_TRUE(m.classes[0].pathOrder);
  EXPECT_TRUE(m.rules.empty());
  EXPECT_EQ(m.pathmon.activeInterval, std::chrono::milliseconds(20));
  EXPECT_FALSE(r->uplinks[0].metered);
  EXPECT_TRUE(r->uplinks[1].metered);
  EXPECT_EQ(r->uplinks[1].egressKbps, 20000u);
  EXPECT_TRUE(r->peers[0].ike->braidShim);
}

TEST(ConfigMultipathTest, ClassesRulesAndPathmonLoad) {
  auto r = parseConfig(config(R"(
[pathmon]
probe_interval_ms = 10
hold_down_ms = 2000
detect_multiplier = 4
degrade_loss = 0.05

[policy]
default_class = "bulk"
max_flows = 1000

[[class]]
name = "voice"
priority = "realtime"
prefer = ["fiber", "lte"]
duplicate = "on_breach"
copies = 2
metered = "allowed"
[class.sla]
max_rtt_ms = 150
max_jitter_ms = 30
max_loss = 0.01

[[class]]
name = "bulk"
mode = "bond"

[[rule]]
class = "voice"
protocol = "udp"
dst_ports = ["5060-5061", 10000]
dscp = [46]

[[rule]]
class = "bulk"
dst = ["10.98.2.0/25"]
)",
                              "probe_interval_ms = 50\n"),
                       "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const MultipathConfig& m = r->multipath;
  EXPECT_EQ(m.pathmon.activeInterval, std::chrono::milliseconds(10));
  EXPECT_EQ(m.pathmon.holdDown, std::chrono::milliseconds(2000));
  EXPECT_EQ(m.pathmon.detectMultiplier, 4u);
  EXPECT_DOUBLE_EQ(m.pathmon.degradeLoss, 0.05);
  EXPECT_EQ(r->uplinks[0].probeIntervalMs, 50u);
  ASSERT_EQ(m.classes.size(), 2u);
  const policy::ClassPolicy& v = m.classes[0].policy;
  EXPECT_EQ(v.priority, policy::Priority::kRealtime);
  EXPECT_EQ(v.duplicate, policy::DuplicateWhen::kBestBreaches);
  EXPECT_EQ(v.metered, policy::MeteredUse::kAllowed);
  EXPECT_EQ(v.sla.maxRttUs, 150000u);
  EXPECT_EQ(v.sla.maxJitterUs, 30000u);
  EXPECT_FLOAT_EQ(v.sla.maxLoss, 0.01f);
  EXPECT_EQ(m.classes[0].preferUplinks, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(m.classes[1].policy.mode, policy::Mode::kBond);
  EXPECT_EQ(m.engine.defaultClass, 1);
  EXPECT_EQ(m.engine.maxFlows, 1000u);
  ASSERT_EQ(m.rules.size(), 2u);
  EXPECT_EQ(m.rules[0].proto, kProtoUdp);
  ASSERT_EQ(m.rules[0].dstPorts.size(), 2u);
  EXPECT_EQ(m.rules[0].dstPorts[0].lo, 5060);
  EXPECT_EQ(m.rules[0].dstPorts[0].hi, 5061);
  EXPECT_EQ(m.rules[0].dstPorts[1].lo, 10000);
  EXPECT_EQ(m.rules[0].dscp, uint64_t{1} << 46);
  EXPECT_EQ(m.rules[1].cls, 1);
}

TEST(ConfigMultipathTest, UplinkBudgetLoadsInMegabytes) {
  auto r = parseConfig(config("",
                              "metered = true\nbudget_day_mb = 500\nbudget_month_mb = 20000\n"
                              "budget_reset_day = 15\nbudget_warn_percent = 90\n"
                              "budget_exhausted = \"block\"\n"),
                       "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const UplinkConfig& u = r->uplinks[0];
  EXPECT_EQ(u.budget.dayBytes, 500'000'000u);
  EXPECT_EQ(u.budget.monthBytes, 20'000'000'000u);
  EXPECT_EQ(u.budget.resetDay, 15u);
  EXPECT_EQ(u.budget.warnPercent, 90u);
  EXPECT_EQ(u.budgetExhausted, policy::BudgetUse::kBlocked);
  EXPECT_FALSE(r->uplinks[1].budget.enabled());
  EXPECT_EQ(r->uplinks[1].budgetExhausted, policy::BudgetUse::kLastResort);
}

TEST(ConfigMultipathTest, ErrorsSayWhereAndWhatIsExpected) {
  std::string t = config("[[class]]\nname = \"voice\"\nprefer = [\"fibre\"]\n");
  EXPECT_CONFIG_ERROR(t, at(t, "\"fibre\""), "is not an uplink; expected one of: fiber, lte");

  t = config("[[class]]\nname = \"default\"\n[[rule]]\nclass = \"video\"\nprotocol = \"udp\"\n");
  EXPECT_CONFIG_ERROR(t, at(t, "\"video\""), "is not a class; expected one of: default");

  t = config("[[class]]\nname = \"default\"\n[[rule]]\nclass = \"default\"\n");
  EXPECT_CONFIG_ERROR(t, at(t, "[[rule]]"), "has no match field");

  t = config(
      "[[class]]\nname = \"default\"\n[[rule]]\nclass = \"default\"\nprotocol = \"udp\"\n"
      "dst_ports = [\"20-10\"]\n");
  EXPECT_CONFIG_ERROR(t, at(t, "\"20-10\""), "is not a port range");

  t = config("[[class]]\nname = \"default\"\n[[rule]]\nclass = \"default\"\ndst_ports = [80]\n");
  EXPECT_CONFIG_ERROR(t, at(t, "[[rule]]"), "without protocol tcp or udp");

  t = config("[[class]]\nname = \"a\"\n[[class]]\nname  = \"a\"\n");
  EXPECT_CONFIG_ERROR(t, at(t, "name  = \"a\"", 8), "is a duplicate");

  t = config("[[class]]\nname = \"voice\"\n");
  EXPECT_CONFIG_ERROR(t, "t.toml:", "no class is the default");

  t = config("[[class]]\nname = \"default\"\nmode = \"spray\"\n");
  EXPECT_CONFIG_ERROR(t, at(t, "\"spray\""),
                      "is unknown; expected one of steer, balance, bond, pin");

  t = config("[[class]]\nname = \"default\"\nmode = \"pin\"\n");
  EXPECT_CONFIG_ERROR(t, "t.toml:", "without 'prefer'");

  t = config("[pathmon]\nprobe_interval_ms = 1\n");
  EXPECT_CONFIG_ERROR(t, at(t, "1\n", 0), "is out of range; expected an integer in 5..10000");

  t = config("[pathmon]\nprobe_intervall_ms = 20\n");
  EXPECT_CONFIG_ERROR(t, at(t, "probe_intervall_ms"), "unknown key 'pathmon.probe_intervall_ms'");

  t = config("", "budget_month_mb = 100\nbudget_reset_day = 31\n");
  EXPECT_CONFIG_ERROR(t, at(t, "31\n"), "is out of range; expected an integer in 1..28");

  t = config("", "budget_day_mb = 100\nbudget_exhausted = \"stop\"\n");
  EXPECT_CONFIG_ERROR(t, at(t, "\"stop\""), "expected \"last_resort\" or \"block\"");

  t = config("", "budget_reset_day = 5\n");
  EXPECT_CONFIG_ERROR(t, at(t, "5\n"),
                      "without a budget; expected budget_day_mb or budget_month_mb");

  t = config("[[class]]\nname = \"default\"\n[class.sla]\nmax_loss = 2\n");
  EXPECT_CONFIG_ERROR(t, at(t, "2\n"), "is out of range; expected a number in 0..1");
}

}  // namespace
}  // namespace braid::edge
