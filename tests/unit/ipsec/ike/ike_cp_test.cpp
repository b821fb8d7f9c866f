// Configuration payload (RFC 7296 3.15): typed attributes through the wire codec, the length
// rules of 3.15.1, and CP inside an IKE_AUTH message.
#include "ike_harness.hpp"
#include "ipsec/ike/payload_cp.hpp"
#include "ipsec/ike/rules.hpp"

namespace braid::ike::test {
namespace {

IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}
IpPrefix pfx(const char* s) {
  return *IpPrefix::parse(s);
}

// Through CpPayload's wire form and back.
ConfigPayload wire(const ConfigPayload& c) {
  ByteVec buf(4096);
  ByteWriter w(buf);
  EXPECT_TRUE(c.toPayload().serialize(w));
  buf.resize(w.position());
  ByteReader r(buf);
  CpPayload cp;
  EXPECT_TRUE(cp.parse(r));
  auto back = ConfigPayload::fromPayload(cp);
  EXPECT_TRUE(back.isOk()) << back.status().message();
  return back.isOk() ? *back : ConfigPayload{};
}

TEST(IkeCp, RequestAsStrongSwanSendsIt) {
  // A road-warrior's CFG_REQUEST: empty IPv4/IPv6 address and DNS attributes.
  CpPayload cp;
  cp.cfgType = kCfgRequest;
  cp.attributes = {{cfg::kInternalIp4Address, {}},
                   {cfg::kInternalIp6Address, {}},
                   {cfg::kInternalIp4Dns, {}},
                   {cfg::kInternalIp6Dns, {}},
                   {0x7000, {1, 2}}};
  auto c = ConfigPayload::fromPayload(cp);
  ASSERT_TRUE(c.isOk());
  EXPECT_EQ(c->cfgType, kCfgRequest);
  EXPECT_TRUE(c->wantIp4Address);
  EXPECT_TRUE(c->wantIp6Address);
  EXPECT_TRUE(c->wantIp4Dns);
  EXPECT_TRUE(c->wantIp6Dns);
  EXPECT_FALSE(c->wantIp4Subnet);
  EXPECT_TRUE(c->ip4Addresses.empty());
  ASSERT_EQ(c->other.size(), 1u);
  EXPECT_EQ(c->other[0].type, 0x7000);
  EXPECT_EQ(wire(*c), *c);
}

TEST(IkeCp, ReplyRoundTripsEveryAttribute) {
  ConfigPayload c;
  c.cfgType = kCfgReply;
  c.ip4Addresses = {ip("10.99.0.1")};
  c.ip4Netmask = ip("255.255.255.0");
  c.ip6Addresses = {{ip("fd00:99::1"), 64}};
  c.ip4Dns = {ip("10.2.0.53"), ip("10.2.0.54")};
  c.ip6Dns = {ip("fd00:2::53")};
  c.ip4Subnets = {pfx("10.2.0.0/16"), pfx("0.0.0.0/0")};
  c.ip6Subnets = {pfx("fd00:2::/48")};
  ConfigPayload back = wire(c);
  EXPECT_EQ(back, c);
  // INTERNAL_IP4_SUBNET is the address and a netmask (RFC 7296 3.15.1), 8 bytes.
  const CpPayload cp = c.toPayload();
  size_t subnets = 0;
  for (const auto& a : cp.attributes) {
    if (a.type != cfg::kInternalIp4Subnet) continue;
    ASSERT_EQ(a.value.size(), 8u);
    if (subnets++ == 0) {
      EXPECT_EQ(a.value, (ByteVec{10, 2, 0, 0, 255, 255, 0, 0}));
    }
  }
  EXPECT_EQ(subnets, 2u);
}

TEST(IkeCp, LengthRulesOfEachAttribute) {
  struct Case {
    uint16_t type;
    size_t len;
    bool ok;
  };
  const Case cases[] = {
      {cfg::kInternalIp4Address, 0, true},  {cfg::kInternalIp4Address, 4, true},
      {cfg::kInternalIp4Address, 3, false}, {cfg::kInternalIp4Address, 16, false},
      {cfg::kInternalIp4Dns, 4, true},      {cfg::kInternalIp4Dns, 5, false},
      {cfg::kInternalIp6Dns, 16, true},     {cfg::kInternalIp6Dns, 4, false},
      {cfg::kInternalIp6Address, 17, true}, {cfg::kInternalIp6Address, 16, false},
      {cfg::kInternalIp4Subnet, 8, true},   {cfg::kInternalIp4Subnet, 4, false},
      {cfg::kInternalIp6Subnet, 17, true},  {cfg::kInternalIp6Subnet, 18, false},
      {cfg::kInternalIp4Netmask, 4, true},  {cfg::kInternalIp4Netmask, 2, false},
      {cfg::kInternalIp4Nbns, 7, true},  // not interpreted: kept as is
  };
  for (const auto& k : cases) {
    CpPayload cp;
    cp.cfgType = kCfgReply;
    ByteVec v(k.len, 0);
    if (k.type == cfg::kInternalIp4Netmask && k.len == 4) v = {255, 255, 255, 0};
    if (k.type == cfg::kInternalIp4Subnet && k.len == 8) v = {10, 0, 0, 0, 255, 0, 0, 0};
    cp.attributes = {{k.type, v}};
    EXPECT_EQ(ConfigPayload::fromPayload(cp).isOk(), k.ok) << k.type << " len " << k.len;
  }
}

TEST(IkeCp, RejectsBadMasksPrefixesAndTypes) {
  CpPayload cp;
  cp.cfgType = kCfgReply;
  cp.attributes = {{cfg::kInternalIp4Netmask, {255, 0, 255, 0}}};
  EXPECT_FALSE(ConfigPayload::fromPayload(cp).isOk());
  cp.attributes = {{cfg::kInternalIp4Subnet, {10, 0, 0, 0, 0, 255, 0, 0}}};
  EXPECT_FALSE(ConfigPayload::fromPayload(cp).isOk());
  ByteVec v6(17, 0);
  v6[16] = 129;
  cp.attributes = {{cfg::kInternalIp6Address, v6}};
  EXPECT_FALSE(ConfigPayload::fromPayload(cp).isOk());
  cp.attributes = {};
  cp.cfgType = 0;
  EXPECT_FALSE(ConfigPayload::fromPayload(cp).isOk());
  cp.cfgType = 5;
  EXPECT_FALSE(ConfigPayload::fromPayload(cp).isOk());
  for (uint8_t t : {kCfgRequest, kCfgReply, kCfgSet, kCfgAck}) {
    cp.cfgType = t;
    EXPECT_TRUE(ConfigPayload::fromPayload(cp).isOk());
  }
}

TEST(IkeCp, TruncatedAttributeIsMalformed) {
  // Type, length 4, but only 3 value bytes.
  const ByteVec body = {kCfgRequest, 0, 0, 0, 0, 1, 0, 4, 10, 0, 0};
  EXPECT_FALSE(parsePayloadBody(PayloadType::kCp, body).has_value());
  const ByteVec ok = {kCfgRequest, 0, 0, 0, 0, 1, 0, 0};
  EXPECT_TRUE(parsePayloadBody(PayloadType::kCp, ok).has_value());
}

TEST(IkeCp, AllowedOnceInIkeAuthAndNotInCreateChildSa) {
  ConfigPayload req;
  req.wantIp4Address = true;
  Message m(ExchangeType::kIkeAuth, false, 1);
  m.add(PayloadType::kIdi, Identity::parse("@client").value().toPayload());
  m.add(PayloadType::kAuth, AuthPayload{AuthMethod::kSharedKeyMic, ByteVec(32, 1)});
  m.add(PayloadType::kCp, req.toPayload());
  for (auto& p : m.payloads) p.encrypted = true;
  EXPECT_FALSE(checkRules(m, true).has_value());
  m.add(PayloadType::kCp, req.toPayload());
  m.payloads.back().encrypted = true;
  EXPECT_TRUE(checkRules(m, true).has_value());  // at most one CP
  Message r(ExchangeType::kIkeAuth, true, 1);
  r.add(PayloadType::kIdr, Identity::parse("@gw").value().toPayload());
  r.add(PayloadType::kAuth, AuthPayload{AuthMethod::kSharedKeyMic, ByteVec(32, 1)});
  ConfigPayload reply;
  reply.cfgType = kCfgReply;
  reply.ip4Addresses = {ip("10.99.0.1")};
  r.add(PayloadType::kCp, reply.toPayload());
  for (auto& p : r.payloads) p.encrypted = true;
  EXPECT_FALSE(checkRules(r, true).has_value());
  Message c(ExchangeType::kCreateChildSa, false, 2);
  c.add(PayloadType::kCp, req.toPayload());
  c.payloads.back().encrypted = true;
  auto e = checkRules(c, true);
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->reason.find("CP payload not allowed"), std::string::npos) << e->reason;
}

}  // namespace
}  // namespace braid::ike::test
