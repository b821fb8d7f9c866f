// Traffic selectors' protocol and ports on inner packets (edge/ts_match.hpp): the packet
// parse (IPv4, IPv6 extension headers, fragments, ICMP type/code) and the matcher, checked
// against a slow reference built on ike::TrafficSelector::contains with random selector sets
// and random packets whose fields the test knows without parsing.
#include "edge/ts_match.hpp"

#include <gtest/gtest.h>

#include <random>

#include "core/bytes.hpp"

namespace braid::edge {
namespace {

using ike::TrafficSelector;

TrafficSelector ts(const char* prefix, uint8_t proto = 0, uint16_t lo = 0, uint16_t hi = 65535) {
  return TrafficSelector::fromPrefix(*IpPrefix::parse(prefix), proto, lo, hi);
}

std::vector<uint8_t> v4(uint8_t proto, const char* src, const char* dst, std::vector<uint8_t> l4,
                        uint16_t fragField = 0) {
  std::vector<uint8_t> p(20);
  p[0] = 0x45;
  storeBe16(&p[6], fragField);
  p[8] = 64;
  p[9] = proto;
  // Kept alive: bytes() views the address (a temporary's view dangles, ASan found it).
  const IpAddress sa = *IpAddress::parse(src), da = *IpAddress::parse(dst);
  auto s = sa.bytes();
  auto d = da.bytes();
  std::copy(s.begin(), s.end(), p.begin() + 12);
  std::copy(d.begin(), d.end(), p.begin() + 16);
  p.insert(p.end(), l4.begin(), l4.end());
  storeBe16(&p[2], uint16_t(p.size()));
  return p;
}

std::vector<uint8_t> ports(uint16_t sport, uint16_t dport) {
  std::vector<uint8_t> l4(8, 0);
  storeBe16(&l4[0], sport);
  storeBe16(&l4[2], dport);
  return l4;
}

TEST(SelectorMatcherTest, UnrestrictedSelectorsNeedNoMatcher) {
  EXPECT_EQ(SelectorMatcher::from({ts("10.1.0.0/16")}, {ts("10.2.0.0/16"), ts("fd00::/8")}),
            nullptr);
  EXPECT_NE(SelectorMatcher::from({ts("10.1.0.0/16")}, {ts("10.2.0.0/16", 6)}), nullptr);
  EXPECT_NE(SelectorMatcher::from({ts("10.1.0.0/16", 0, 1, 65535)}, {ts("10.2.0.0/16")}), nullptr);
}

// strongSwan's local_ts = 10.98.2.0/24[tcp/5201], remote_ts = 10.98.1.0/24[tcp], from
// braid's side (gwA: local 10.98.1.0/24).
TEST(SelectorMatcherTest, TcpPortSelectorBothWays) {
  auto m = SelectorMatcher::from({ts("10.98.2.0/24", 6, 5201, 5201)}, {ts("10.98.1.0/24", 6)});
  ASSERT_NE(m, nullptr);
  auto out = v4(6, "10.98.1.2", "10.98.2.2", ports(40000, 5201));
  EXPECT_TRUE(m->matchOutbound(out.data(), out.size()));
  EXPECT_FALSE(m->matchInbound(out.data(), out.size()));  // wrong direction
  auto back = v4(6, "10.98.2.2", "10.98.1.2", ports(5201, 40000));
  EXPECT_TRUE(m->matchInbound(back.data(), back.size()));
  auto otherPort = v4(6, "10.98.1.2", "10.98.2.2", ports(40000, 5202));
  EXPECT_FALSE(m->matchOutbound(otherPort.data(), otherPort.size()));
  auto udp = v4(17, "10.98.1.2", "10.98.2.2", ports(40000, 5201));
  EXPECT_FALSE(m->matchOutbound(udp.data(), udp.size()));
  auto ping = v4(1, "10.98.1.2", "10.98.2.2", {8, 0, 0, 0, 0, 1, 0, 1});
  EXPECT_FALSE(m->matchOutbound(ping.data(), ping.size()));
  auto otherHost = v4(6, "10.98.1.2", "10.98.3.2", ports(40000, 5201));
  EXPECT_FALSE(m->matchOutbound(otherHost.data(), otherHost.size()));
  // RFC 4301 7: a non-initial fragment's ports are OPAQUE, which only ANY matches.
  auto frag = v4(6, "10.98.1.2", "10.98.2.2", ports(40000, 5201), 0x0010);
  EXPECT_FALSE(m->matchOutbound(frag.data(), frag.size()));
  auto first = v4(6, "10.98.1.2", "10.98.2.2", ports(40000, 5201), 0x2000);  // MF, offset 0
  EXPECT_TRUE(m->matchOutbound(first.data(), first.size()));
  auto anyPort = SelectorMatcher::from({ts("10.98.2.0/24", 6)}, {ts("10.98.1.0/24", 6)});
  EXPECT_TRUE(anyPort->matchOutbound(frag.data(), frag.size()));
}

TEST(SelectorMatcherTest, IcmpTypeAndCodeInThePortFields) {
  // RFC 4301 4.4.1.1: echo request (type 8, code 0) is 0x0800.
  auto m = SelectorMatcher::from({ts("10.2.0.0/16", 1, 0x0800, 0x08ff)}, {ts("10.1.0.0/16")});
  auto echo = v4(1, "10.1.0.1", "10.2.0.1", {8, 0, 0, 0, 0, 1, 0, 1});
  auto reply = v4(1, "10.1.0.1", "10.2.0.1", {0, 0, 0, 0, 0, 1, 0, 1});
  EXPECT_TRUE(m->matchOutbound(echo.data(), echo.size()));
  EXPECT_FALSE(m->matchOutbound(reply.data(), reply.size()));
}

std::vector<uint8_t> v6(uint8_t next, std::vector<uint8_t> ext, std::vector<uint8_t> l4) {
  std::vector<uint8_t> p(40, 0);
  p[0] = 0x60;
  p[6] = next;
  p[7] = 64;
  const IpAddress sa = *IpAddress::parse("fd00:1::1"), da = *IpAddress::parse("fd00:2::1");
  auto s = sa.bytes();
  auto d = da.bytes();
  std::copy(s.begin(), s.end(), p.begin() + 8);
  std::copy(d.begin(), d.end(), p.begin() + 24);
  p.insert(p.end(), ext.begin(), ext.end());
  p.insert(p.end(), l4.begin(), l4.end());
  storeBe16(&p[4], uint16_t(p.size() - 40));
  return p;
}

TEST(SelectorFieldsTest, Ipv6ExtensionHeadersAndFragments) {
  SelectorFields f;
  // Hop-by-hop (8 bytes) -> destination options (16 bytes) -> UDP.
  std::vector<uint8_t> ext = {60, 0, 0, 0, 0, 0, 0, 0, 17, 1};
  ext.resize(24, 0);
  auto p = v6(0, ext, ports(53, 5353));
  ASSERT_TRUE(parseSelectorFields(p.data(), p.size(), f));
  EXPECT_TRUE(f.v6);
  EXPECT_EQ(f.proto, 17);
  EXPECT_FALSE(f.opaque);
  EXPECT_EQ(f.srcPort, 53);
  EXPECT_EQ(f.dstPort, 5353);
  // Fragment header, offset 0 (first fragment): ports read; offset 8: OPAQUE.
  auto first = v6(44, {6, 0, 0, 1, 0, 0, 0, 7}, ports(1, 2));
  ASSERT_TRUE(parseSelectorFields(first.data(), first.size(), f));
  EXPECT_EQ(f.proto, 6);
  EXPECT_FALSE(f.opaque);
  auto later = v6(44, {6, 0, 0, 8, 0, 0, 0, 7}, ports(1, 2));
  ASSERT_TRUE(parseSelectorFields(later.data(), later.size(), f));
  EXPECT_EQ(f.proto, 6);
  EXPECT_TRUE(f.opaque);
  // Nine extension headers: past the bound, the protocol stays unknown (0) and OPAQUE.
  std::vector<uint8_t> chain;
  for (int i = 0; i < 9; ++i) {
    std::vector<uint8_t> h(8, 0);
    h[0] = i == 8 ? 6 : 60;
    chain.insert(chain.end(), h.begin(), h.end());
  }
  auto deep = v6(60, chain, ports(1, 2));
  ASSERT_TRUE(parseSelectorFields(deep.data(), deep.size(), f));
  EXPECT_EQ(f.proto, 0);
  EXPECT_TRUE(f.opaque);
  // ICMPv6 echo request (128): 0x8000.
  auto echo = v6(58, {}, {128, 0, 0, 0});
  ASSERT_TRUE(parseSelectorFields(echo.data(), echo.size(), f));
  EXPECT_EQ(f.srcPort, 0x8000);
  EXPECT_FALSE(f.opaque);
  // Cut short: too short for IPv6, and a TCP header of 3 bytes (OPAQUE).
  EXPECT_FALSE(parseSelectorFields(echo.data(), 39, f));
  auto cut = v6(6, {}, {0, 1, 0});
  ASSERT_TRUE(parseSelectorFields(cut.data(), cut.size(), f));
  EXPECT_EQ(f.proto, 6);
  EXPECT_TRUE(f.opaque);
}

// ---- differential test against the slow reference -----------------------------------------

struct RefPacket {
  std::vector<uint8_t> bytes;
  IpAddress src, dst;
  uint8_t proto = 0;  // 0: unknown
  bool opaque = true;
  uint16_t sport = 0, dport = 0;
};

bool refCovers(const std::vector<TrafficSelector>& list, const IpAddress& a, uint8_t proto,
               bool opaque, uint16_t port) {
  TrafficSelector pkt;
  pkt.ipProtocol = proto;
  pkt.start = pkt.end = a;
  pkt.startPort = opaque ? 0 : port;
  pkt.endPort = opaque ? 65535 : port;
  for (const auto& t : list) {
    if (t.contains(pkt)) return true;
  }
  return false;
}

bool refMatch(const std::vector<TrafficSelector>& remote, const std::vector<TrafficSelector>& local,
              const RefPacket& p, bool inbound) {
  const auto& srcList = inbound ? remote : local;
  const auto& dstList = inbound ? local : remote;
  return refCovers(srcList, p.src, p.proto, p.opaque, p.sport) &&
         refCovers(dstList, p.dst, p.proto, p.opaque, p.dport);
}

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}
  uint32_t below(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_); }
  bool chance(uint32_t percent) { return below(100) < percent; }

  // Addresses from a small space so that ranges and packets meet often.
  IpAddress addr(bool v6) {
    std::array<uint8_t, 16> b{};
    if (!v6) {
      b = {10, 0, 0, uint8_t(below(32))};
      return IpAddress::v4(Bytes(b.data(), 4));
    }
    b[0] = 0xfd;
    b[15] = uint8_t(below(32));
    if (chance(10)) b[7] = 1;  // far away
    return IpAddress::v6(Bytes(b.data(), 16));
  }
  uint16_t port() {
    static const uint16_t pool[] = {0, 1, 53, 80, 443, 5201, 0x0800, 0x8000, 0x8001, 65535};
    uint16_t p = pool[below(10)];
    if (chance(30)) p = uint16_t(p + below(3) - 1);
    return p;
  }
  uint8_t proto() {
    static const uint8_t pool[] = {0, 1, 6, 17, 58, 132, 47};
    return pool[below(7)];
  }

  TrafficSelector selector() {
    const bool v6 = chance(40);
    TrafficSelector t;
    IpAddress a = addr(v6), b = addr(v6);
    t.start = std::min(a, b);
    t.end = std::max(a, b);
    if (chance(60)) t.ipProtocol = proto();
    if (chance(50)) {
      uint16_t x = port(), y = port();
      t.startPort = std::min(x, y);
      t.endPort = std::max(x, y);
    }
    return t;
  }
  std::vector<TrafficSelector> selectors() {
    std::vector<TrafficSelector> v(1 + below(3));
    for (auto& t : v) t = selector();
    return v;
  }

  RefPacket packet() {
    RefPacket r;
    const bool v6 = chance(40);
    r.src = addr(v6);
    r.dst = addr(v6);
    uint8_t l4proto = proto();
    if (v6 && l4proto == 0) l4proto = 59;  // 0 is hop-by-hop there; 59: no next header
    const bool portProto = l4proto == 6 || l4proto == 17 || l4proto == 132;
    const bool icmp = l4proto == (v6 ? 58 : 1);
    // The transport header: full, or cut short.
    const uint16_t sport = port(), dport = port();
    std::vector<uint8_t> l4 = ports(sport, dport);
    if (icmp) {
      l4[0] = uint8_t(sport >> 8);
      l4[1] = uint8_t(sport);
    }
    if (chance(10)) l4.resize(below(4));
    bool later = false;  // a non-initial fragment
    std::vector<uint8_t>& p = r.bytes;
    if (!v6) {
      size_t ihl = chance(20) ? 24 : 20;
      p.assign(ihl, 0);
      p[0] = uint8_t(0x40 | ihl / 4);
      p[9] = l4proto;
      if (chance(20)) {
        later = chance(50);
        storeBe16(&p[6], uint16_t(later ? 0x2000 | (1 + below(100)) : 0x2000));
      }
      auto s = r.src.bytes(), d = r.dst.bytes();
      std::copy(s.begin(), s.end(), p.begin() + 12);
      std::copy(d.begin(), d.end(), p.begin() + 16);
      r.proto = l4proto;
    } else {
      p.assign(40, 0);
      p[0] = 0x60;
      auto s = r.src.bytes(), d = r.dst.bytes();
      std::copy(s.begin(), s.end(), p.begin() + 8);
      std::copy(d.begin(), d.end(), p.begin() + 24);
      // A chain of extension headers (RFC 8200 4): each names the next.
      static const uint8_t kinds[] = {0, 43, 60, 44, 51};
      const size_t n = chance(50) ? 0 : below(11);
      std::vector<uint8_t> types(n);
      for (auto& t : types) t = kinds[below(5)];
      size_t nextAt = 6;  // where the current "next header" byte is
      r.proto = l4proto;
      bool decided = false;
      for (size_t i = 0; i < n; ++i) {
        p[nextAt] = types[i];
        const uint8_t follow = i + 1 < n ? types[i + 1] : l4proto;
        const size_t at = p.size();
        if (!decided && i == size_t(kMaxV6Headers)) {
          r.proto = 0;  // past the bound: unknown
          decided = true;
        }
        if (types[i] == 44) {
          const bool nonInitial = chance(30);
          p.resize(at + 8, 0);
          if (nonInitial) storeBe16(&p[at + 2], uint16_t(8 * (1 + below(50))));
          if (nonInitial && !decided) {
            later = true;
            r.proto = follow;
            decided = true;
          }
        } else if (types[i] == 51) {
          const size_t units = 1 + below(3);  // (len + 2) * 4 bytes
          p.resize(at + (units + 2) * 4, 0);
          p[at + 1] = uint8_t(units);
        } else {
          const size_t len8 = below(2);
          p.resize(at + (len8 + 1) * 8, 0);
          p[at + 1] = uint8_t(len8);
        }
        nextAt = at;
      }
      p[nextAt] = l4proto;
      if (decided && r.proto == 0) later = true;  // unknown protocol: OPAQUE too
    }
    const size_t l4at = p.size();
    p.insert(p.end(), l4.begin(), l4.end());
    if (!v6) storeBe16(&p[2], uint16_t(p.size()));
    if (v6) storeBe16(&p[4], uint16_t(p.size() - 40));
    const size_t avail = p.size() - l4at;
    r.opaque = later || !(portProto ? avail >= 4 : icmp ? avail >= 2 : false);
    if (!r.opaque) {
      r.sport = sport;
      r.dport = icmp ? sport : dport;
    }
    return r;
  }

 private:
  std::mt19937 rng_;
};

TEST(SelectorMatcherTest, MatchesTheReferenceOnRandomPacketsAndSelectors) {
  Gen g(20261207);
  size_t matched = 0, total = 0, opaque = 0;
  for (int round = 0; round < 400; ++round) {
    auto remote = g.selectors();
    auto local = g.selectors();
    auto m = SelectorMatcher::from(remote, local);
    if (m == nullptr) continue;  // nothing restricted: the address check alone decides
    for (int i = 0; i < 250; ++i) {
      RefPacket p = g.packet();
      SelectorFields f;
      ASSERT_TRUE(parseSelectorFields(p.bytes.data(), p.bytes.size(), f));
      ASSERT_EQ(f.proto, p.proto) << "round " << round << " packet " << i;
      ASSERT_EQ(f.opaque, p.opaque) << "round " << round << " packet " << i;
      if (!p.opaque) {
        ASSERT_EQ(f.srcPort, p.sport);
        ASSERT_EQ(f.dstPort, p.dport);
      }
      for (bool inbound : {true, false}) {
        const bool want = refMatch(remote, local, p, inbound);
        ASSERT_EQ(m->match(f, inbound), want)
            << "round " << round << " packet " << i << (inbound ? " in" : " out") << ": "
            << ike::selectorsToString(remote) << " / " << ike::selectorsToString(local);
        ASSERT_EQ(inbound ? m->matchInbound(p.bytes.data(), p.bytes.size())
                          : m->matchOutbound(p.bytes.data(), p.bytes.size()),
                  want);
        matched += want;
        ++total;
      }
      opaque += p.opaque;
    }
  }
  // The generator must exercise both outcomes and OPAQUE packets, or the test proves little.
  EXPECT_GT(total, 50000u);
  EXPECT_GT(matched, total / 100);
  EXPECT_LT(matched, total / 2);
  EXPECT_GT(opaque, total / 40);
}

}  // namespace
}  // namespace braid::edge
