// Classifier: each field, first-match order, and a differential test against a linear
// reference that uses IpPrefix::contains directly on random rules and flows.
#include "policy/classifier.hpp"

#include <gtest/gtest.h>

#include <random>

namespace braid::policy {
namespace {

IpPrefix pfx(const char* s) {
  return *IpPrefix::parse(s);
}
IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}
FlowKey flow(const char* src, const char* dst, uint8_t proto, uint16_t sp, uint16_t dp) {
  return FlowKey{ip(src), ip(dst), proto, sp, dp};
}

TEST(Classifier, FieldsAndFirstMatch) {
  std::vector<Rule> rules(5);
  rules[0].cls = 1;  // voice: UDP 10000-20000 or DSCP EF
  rules[0].proto = kProtoUdp;
  rules[0].dstPorts = {{10000, 20000}};
  rules[1].cls = 1;
  rules[1].dscp = uint64_t{1} << 46;
  rules[2].cls = 2;  // to the DC
  rules[2].dst = {pfx("10.20.0.0/16"), pfx("fd00:20::/32")};
  rules[3].cls = 3;  // ssh from one host, on LAN port 2
  rules[3].src = {pfx("192.168.1.10/32")};
  rules[3].proto = kProtoTcp;
  rules[3].dstPorts = {{22, 22}};
  rules[3].ingress = 2;
  rules[4].cls = 4;
  rules[4].srcPorts = {{1, 1023}};
  Classifier c(rules, 9);
  EXPECT_EQ(c.size(), 5u);
  EXPECT_EQ(c.classify(flow("1.1.1.1", "2.2.2.2", kProtoUdp, 5000, 15000)), 1);
  EXPECT_EQ(c.classify(flow("1.1.1.1", "2.2.2.2", kProtoTcp, 5000, 15000)), 9);
  EXPECT_EQ(c.classify(flow("1.1.1.1", "2.2.2.2", kProtoTcp, 5000, 15000), {46, 0}), 1);
  EXPECT_EQ(c.classify(flow("1.1.1.1", "10.20.3.4", kProtoUdp, 5000, 15000)), 1);  // order
  EXPECT_EQ(c.classify(flow("1.1.1.1", "10.20.3.4", kProtoTcp, 5000, 443)), 2);
  EXPECT_EQ(c.classify(flow("fd00::1", "fd00:20::9", kProtoTcp, 5000, 443)), 2);
  EXPECT_EQ(c.classify(flow("fd00::1", "fd00:21::9", kProtoTcp, 5000, 443)), 9);
  EXPECT_EQ(c.classify(flow("192.168.1.10", "8.8.8.8", kProtoTcp, 5000, 22), {0, 2}), 3);
  EXPECT_EQ(c.classify(flow("192.168.1.10", "8.8.8.8", kProtoTcp, 5000, 22), {0, 1}), 9);
  EXPECT_EQ(c.classify(flow("192.168.1.11", "8.8.8.8", kProtoTcp, 5000, 22), {0, 2}), 9);
  EXPECT_EQ(c.classify(flow("192.168.1.11", "8.8.8.8", kProtoTcp, 80, 22)), 4);
  EXPECT_EQ(c.match(flow("192.168.1.11", "8.8.8.8", kProtoTcp, 5000, 22)), -1);
  // A rule with only IPv6 prefixes does not match IPv4 traffic.
  std::vector<Rule> v6only(1);
  v6only[0].cls = 1;
  v6only[0].src = {pfx("::/0")};
  EXPECT_EQ(Classifier(v6only, 0).classify(flow("1.1.1.1", "2.2.2.2", 6, 1, 2)), 0);
  EXPECT_EQ(Classifier(v6only, 0).classify(flow("::1", "::2", 6, 1, 2)), 1);
}

// The obvious implementation, field by field.
int referenceMatch(const std::vector<Rule>& rules, const FlowKey& k, PacketMeta m) {
  for (size_t i = 0; i < rules.size(); ++i) {
    const Rule& r = rules[i];
    auto anyPrefix = [](const std::vector<IpPrefix>& ps, const IpAddress& a) {
      if (ps.empty()) return true;
      for (const auto& p : ps) {
        if (p.contains(a)) return true;
      }
      return false;
    };
    auto anyPort = [](const std::vector<PortRange>& rs, uint16_t p) {
      if (rs.empty()) return true;
      for (const auto& x : rs) {
        if (p >= x.lo && p <= x.hi) return true;
      }
      return false;
    };
    if (r.proto && r.proto != k.proto) continue;
    if (r.dscp && !((r.dscp >> m.dscp) & 1)) continue;
    if (r.ingress >= 0 && r.ingress != m.ingress) continue;
    if (!anyPrefix(r.src, k.src) || !anyPrefix(r.dst, k.dst)) continue;
    if (!anyPort(r.srcPorts, k.srcPort) || !anyPort(r.dstPorts, k.dstPort)) continue;
    return static_cast<int>(i);
  }
  return -1;
}

TEST(Classifier, MatchesLinearReference) {
  std::mt19937_64 rng(2024);
  auto addr = [&](bool v6) {
    // A small address space so that prefixes hit often.
    if (!v6)
      return IpAddress::v4(0x0a000000u | static_cast<uint32_t>(rng() % 4096) << 8 |
                           static_cast<uint32_t>(rng() % 4));
    std::array<uint8_t, 16> b{0xfd, 0x00};
    b[2] = static_cast<uint8_t>(rng() % 4);
    b[15] = static_cast<uint8_t>(rng() % 4);
    return IpAddress::v6(b);
  };
  auto prefix = [&]() {
    bool v6 = rng() % 4 == 0;
    uint8_t len = static_cast<uint8_t>(v6 ? rng() % 129 : 8 + rng() % 25);
    return IpPrefix(addr(v6), len);
  };
  auto ports = [&]() {
    std::vector<PortRange> r;
    size_t n = rng() % 3 == 0 ? 1 + rng() % 3 : 0;
    for (size_t i = 0; i < n; ++i) {
      uint16_t lo = static_cast<uint16_t>(rng() % 2000);
      r.push_back({lo, static_cast<uint16_t>(lo + rng() % 500)});
    }
    return r;
  };
  for (int round = 0; round < 20; ++round) {
    std::vector<Rule> rules(1 + rng() % 200);
    for (size_t i = 0; i < rules.size(); ++i) {
      Rule& r = rules[i];
      r.cls = static_cast<ClassId>(i % 7);
      for (size_t n = rng() % 3; n > 0; --n) r.src.push_back(prefix());
      for (size_t n = rng() % 3; n > 0; --n) r.dst.push_back(prefix());
      r.proto = rng() % 3 == 0 ? (rng() % 2 ? kProtoTcp : kProtoUdp) : 0;
      r.srcPorts = ports();
      r.dstPorts = ports();
      if (rng() % 5 == 0) r.dscp = rng();
      if (rng() % 6 == 0) r.ingress = static_cast<int16_t>(rng() % 3);
    }
    Classifier c(rules, 99);
    for (int i = 0; i < 2000; ++i) {
      bool v6 = rng() % 4 == 0;
      FlowKey k{addr(v6), addr(v6), static_cast<uint8_t>(rng() % 2 ? kProtoTcp : kProtoUdp),
                static_cast<uint16_t>(rng() % 2500), static_cast<uint16_t>(rng() % 2500)};
      PacketMeta m{static_cast<uint8_t>(rng() % 64), static_cast<uint8_t>(rng() % 3)};
      int want = referenceMatch(rules, k, m);
      ASSERT_EQ(c.match(k, m), want) << k.toString();
      ASSERT_EQ(c.classify(k, m), want < 0 ? 99 : rules[want].cls);
    }
  }
}

}  // namespace
}  // namespace braid::policy
