// IKE message codec: payload round trips, SK protection, rule tables, unknown payloads,
// truncation at every length, traffic selectors and identities.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "ike_harness.hpp"
#include "ipsec/ike/rules.hpp"

namespace braid::ike::test {
namespace {

Proposal ikeProposal() {
  Proposal p;
  p.number = 1;
  p.protocol = ProtocolId::kIke;
  p.transforms = {{TransformType::kEncr, 20, 256},
                  {TransformType::kEncr, 12, 128},
                  {TransformType::kPrf, 5, 0},
                  {TransformType::kKe, 31, 0}};
  return p;
}

// A message with one of every payload type (not a valid exchange; parse() only).
Message everything() {
  Message m(ExchangeType::kIkeSaInit, false, 0);
  m.header.spiI = 0x0102030405060708ull;
  m.header.flags |= kFlagInitiator;
  Proposal esp = ikeProposal();
  esp.number = 2;
  esp.protocol = ProtocolId::kEsp;
  esp.spi = {0xC0, 0xFF, 0xEE, 0x01};
  m.add(PayloadType::kSa, SaPayload{{ikeProposal(), esp}});
  m.add(PayloadType::kKe, KePayload{31, ByteVec(32, 0x42)});
  m.add(PayloadType::kIdi, IdPayload{IdType::kFqdn, ByteVec{'a', '.', 'b'}});
  m.add(PayloadType::kIdr, IdPayload{IdType::kIpv4Addr, ByteVec{192, 0, 2, 1}});
  m.add(PayloadType::kCert, CertPayload{kCertX509Signature, ByteVec{0x30, 0x03, 1, 2, 3}});
  m.add(PayloadType::kCertReq, CertReqPayload{kCertX509Signature, ByteVec(40, 0x77)});
  m.add(PayloadType::kAuth, AuthPayload{AuthMethod::kDigitalSignature, ByteVec{9, 8, 7}});
  m.add(PayloadType::kNonce, NoncePayload{ByteVec(32, 0x5A)});
  m.addNotify(notify::kRekeySa, {}, ProtocolId::kEsp, {1, 2, 3, 4});
  m.addNotify(notify::kNatDetectionSourceIp, ByteVec(20, 0xAA));
  m.add(PayloadType::kDelete, DeletePayload{ProtocolId::kEsp, {0x11223344, 0x55667788}});
  m.add(PayloadType::kDelete, DeletePayload{ProtocolId::kIke, {}});
  m.add(PayloadType::kVendorId, VendorIdPayload{ByteVec{'b', 'r', 'a', 'i', 'd'}});
  m.add(PayloadType::kTsi, TsPayload{{ts("10.1.0.0/16"), ts("fd00::/64")}});
  TrafficSelector port = ts("10.2.3.4/32");
  port.ipProtocol = 17;
  port.startPort = port.endPort = 4500;
  m.add(PayloadType::kTsr, TsPayload{{port}});
  m.add(PayloadType::kCp, CpPayload{kCfgRequest, {{1, {}}, {8, ByteVec(17, 0)}}});
  m.payloads.push_back(
      Payload{static_cast<PayloadType>(99), false, false, UnknownPayload{{1, 2, 3}}});
  return m;
}

std::unique_ptr<IkeCipher> gcmCipher() {
  Suite s;
  s.encr = EncrId::kAesGcm16;
  s.encrKeyBits = 256;
  ByteVec key(36, 0x11);
  auto c = IkeCipher::create(s, key, {});
  EXPECT_TRUE(c.isOk());
  return std::move(c.value());
}

std::unique_ptr<IkeCipher> cbcCipher() {
  Suite s;
  s.encr = EncrId::kAesCbc;
  s.encrKeyBits = 128;
  s.integ = IntegId::kHmacSha256_128;
  ByteVec key(16, 0x22), integ(32, 0x33);
  auto c = IkeCipher::create(s, key, integ);
  EXPECT_TRUE(c.isOk());
  return std::move(c.value());
}

Message authRequest() {
  Message m(ExchangeType::kIkeAuth, false, 1);
  m.header.spiI = 1;
  m.header.spiR = 2;
  m.header.flags |= kFlagInitiator;
  m.add(PayloadType::kIdi, Identity::fqdn("a.example").toPayload());
  m.add(PayloadType::kAuth, AuthPayload{AuthMethod::kSharedKeyMic, ByteVec(32, 1)});
  m.add(PayloadType::kSa, SaPayload{{ikeProposal()}});
  m.add(PayloadType::kTsi, TsPayload{{ts("10.1.0.0/16")}});
  m.add(PayloadType::kTsr, TsPayload{{ts("10.2.0.0/16")}});
  m.addNotify(notify::kInitialContact);
  return m;
}

TEST(IkeCodec, EveryPayloadRoundTrips) {
  Message m = everything();
  auto bytes = m.encode(nullptr);
  ASSERT_TRUE(bytes.isOk()) << bytes.status().message();
  Message back;
  ASSERT_FALSE(back.parse(*bytes));
  EXPECT_EQ(back.header.spiI, m.header.spiI);
  EXPECT_TRUE(back.header.initiator());
  EXPECT_FALSE(back.header.response());
  ASSERT_EQ(back.payloads.size(), m.payloads.size());
  for (size_t i = 0; i < m.payloads.size(); ++i) {
    EXPECT_EQ(back.payloads[i], m.payloads[i]) << payloadSummary(m.payloads[i]);
  }
  // Encoding the parsed message gives the same bytes.
  EXPECT_EQ(*back.encode(nullptr), *bytes);
  EXPECT_EQ(back.header.length, bytes->size());
}

TEST(IkeCodec, UnknownTransformAttributeNeverMatches) {
  // SA payload body: one proposal, one transform with a TLV attribute type 99.
  ByteVec body = {0, 0,  0, 20, 1, 1, 0, 1,   // proposal: last, len 20, #1, IKE, no SPI, 1 tr
                  0, 0,  0, 12, 1, 0, 0, 20,  // transform: last, len 12, ENCR 20
                  0, 99, 0, 0};               // TLV attribute 99, length 0
  auto p = parsePayloadBody(PayloadType::kSa, body);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(std::get<SaPayload>(*p).proposals[0].transforms[0].keyBits, kUnknownAttributeBits);
}

TEST(IkeCodec, SkRoundTripAeadAndCbc) {
  for (auto make : {gcmCipher, cbcCipher}) {
    auto out = make();
    auto in = make();
    Message m = authRequest();
    auto bytes = m.encode(out.get());
    ASSERT_TRUE(bytes.isOk()) << bytes.status().message();
    Message back;
    ASSERT_FALSE(back.decode(*bytes, in.get()));
    ASSERT_EQ(back.payloads.size(), m.payloads.size());
    for (size_t i = 0; i < m.payloads.size(); ++i) {
      EXPECT_TRUE(back.payloads[i].encrypted);
      EXPECT_EQ(back.payloads[i].body, m.payloads[i].body);
    }
    // Any flipped bit after the header fails integrity: dropped, never answered.
    for (size_t i = kIkeHeaderLength; i < bytes->size(); i += 7) {
      ByteVec bad = *bytes;
      bad[i] ^= 0x01;
      Message x;
      auto e = x.decode(bad, in.get());
      ASSERT_TRUE(e.has_value()) << i;
      EXPECT_EQ(e->notify, 0) << i << " " << e->reason;
    }
  }
}

TEST(IkeCodec, EmptyInformationalIsProtected) {
  auto c = gcmCipher();
  Message m(ExchangeType::kInformational, true, 5);
  auto bytes = m.encode(c.get());
  ASSERT_TRUE(bytes.isOk());
  Message back;
  ASSERT_FALSE(back.decode(*bytes, c.get()));
  EXPECT_TRUE(back.payloads.empty());
  EXPECT_TRUE(back.hasSk());
  EXPECT_FALSE(Message(ExchangeType::kIkeAuth, false, 1).encode(nullptr).isOk());
}

std::optional<DecodeError> rules(const Message& m) {
  auto bytes = m.encode(nullptr);
  EXPECT_TRUE(bytes.isOk());
  Message back;
  if (auto e = back.parse(*bytes)) return e;
  return back.verify();
}

Message initRequest() {
  Message m(ExchangeType::kIkeSaInit, false, 0);
  m.header.spiI = 7;
  m.add(PayloadType::kSa, SaPayload{{ikeProposal()}});
  m.add(PayloadType::kKe, KePayload{31, ByteVec(32, 1)});
  m.add(PayloadType::kNonce, NoncePayload{ByteVec(32, 2)});
  return m;
}

TEST(IkeRules, IkeSaInitRequest) {
  EXPECT_FALSE(rules(initRequest()));
  Message missing = initRequest();
  missing.payloads.erase(missing.payloads.begin() + 1);  // no KE
  auto e = rules(missing);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->notify, notify::kInvalidSyntax);
  EXPECT_NE(e->reason.find("KE payload missing"), std::string::npos);
  Message twice = initRequest();
  twice.add(PayloadType::kNonce, NoncePayload{ByteVec(32, 3)});
  e = rules(twice);
  ASSERT_TRUE(e);
  EXPECT_NE(e->reason.find("2 No payloads"), std::string::npos);
  Message extra = initRequest();
  extra.add(PayloadType::kDelete, DeletePayload{ProtocolId::kIke, {}});
  e = rules(extra);
  ASSERT_TRUE(e);
  EXPECT_NE(e->reason.find("not allowed"), std::string::npos);
  Message unknown = initRequest();
  unknown.payloads.push_back(
      Payload{static_cast<PayloadType>(128), false, false, UnknownPayload{}});
  EXPECT_FALSE(rules(unknown));  // RFC 7296 2.5: skipped
}

TEST(IkeRules, ErrorOrCookieAloneIsComplete) {
  Message m(ExchangeType::kIkeSaInit, true, 0);
  m.addNotify(notify::kNoProposalChosen);
  EXPECT_FALSE(rules(m));
  Message c(ExchangeType::kIkeSaInit, true, 0);
  c.addNotify(notify::kCookie, ByteVec(16, 1));
  EXPECT_FALSE(rules(c));
  Message s(ExchangeType::kIkeSaInit, true, 0);
  s.addNotify(notify::kNatDetectionSourceIp, ByteVec(20, 1));
  EXPECT_TRUE(rules(s));  // a status notify does not make a response complete
}

TEST(IkeRules, ProtectedExchangesNeedSk) {
  Message m = authRequest();
  EXPECT_TRUE(checkRules(m, false).has_value());  // no SK at all
  // Payloads outside SK in an IKE_AUTH that has SK.
  auto e = checkRules(m, true);
  ASSERT_TRUE(e);
  EXPECT_NE(e->reason.find("outside SK"), std::string::npos);
  for (auto& p : m.payloads) p.encrypted = true;
  EXPECT_FALSE(checkRules(m, true));
  Message init = initRequest();
  EXPECT_TRUE(checkRules(init, true).has_value());  // IKE_SA_INIT must not carry SK
  Message weird(static_cast<ExchangeType>(99), false, 0);
  EXPECT_TRUE(checkRules(weird, false).has_value());
}

TEST(IkeRules, AuthResponseWithAuthenticationFailedOnly) {
  Message m(ExchangeType::kIkeAuth, true, 1);
  m.addNotify(notify::kAuthenticationFailed);
  for (auto& p : m.payloads) p.encrypted = true;
  EXPECT_FALSE(checkRules(m, true));
}

TEST(IkeCodec, UnknownCriticalPayloadRejected) {
  Message m = initRequest();
  m.payloads.insert(m.payloads.begin(),
                    Payload{static_cast<PayloadType>(222), true, false, UnknownPayload{{1}}});
  Message back;
  auto e = back.parse(*m.encode(nullptr));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->notify, notify::kUnsupportedCriticalPayload);
  EXPECT_EQ(e->notifyData, ByteVec{222});
  // A known payload with the critical bit set is fine.
  m.payloads[0].critical = false;
  m.payloads[1].critical = true;
  EXPECT_FALSE(back.parse(*m.encode(nullptr)));
}

TEST(IkeCodec, HeaderChecks) {
  ByteVec bytes = *initRequest().encode(nullptr);
  Message m;
  bytes[17] = 0x30;  // version 3.0
  auto e = m.parse(bytes);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->notify, notify::kInvalidMajorVersion);
  bytes[17] = 0x21;  // 2.1: minor versions are accepted (RFC 7296 2.5)
  EXPECT_FALSE(m.parse(bytes));
  bytes.push_back(0);  // length field no longer matches
  EXPECT_TRUE(m.parse(bytes));
}

// Every prefix, with the header length patched to match so the payload chain itself is
// truncated, fails cleanly.
void truncateEverywhere(const ByteVec& full, const IkeCipher* cipher) {
  for (size_t len = 0; len < full.size(); ++len) {
    ByteVec cut(full.begin(), full.begin() + static_cast<long>(len));
    if (len >= kIkeHeaderLength) storeBe32(cut.data() + 24, static_cast<uint32_t>(len));
    Message m;
    EXPECT_TRUE(m.decode(cut, cipher).has_value()) << "prefix " << len;
  }
  Message m;
  EXPECT_FALSE(m.decode(full, cipher).has_value());
}

TEST(IkeCodec, TruncationAtEveryLength) {
  truncateEverywhere(*initRequest().encode(nullptr), nullptr);
  auto c = gcmCipher();
  truncateEverywhere(*authRequest().encode(c.get()), c.get());
  // Payload bodies alone: no crash for any prefix, and a short one never parses.
  Message all = everything();
  for (const auto& p : all.payloads) {
    ByteVec body(1024);
    ByteWriter w(body);
    ASSERT_TRUE(serializePayloadBody(p.body, w));
    body.resize(w.position());
    for (size_t len = 0; len < body.size(); ++len) {
      (void)parsePayloadBody(p.type, Bytes(body).first(len));
    }
  }
  EXPECT_FALSE(parsePayloadBody(PayloadType::kNonce, ByteVec(15, 0)).has_value());
  EXPECT_FALSE(parsePayloadBody(PayloadType::kSa, ByteVec{}).has_value());
  EXPECT_FALSE(parsePayloadBody(PayloadType::kTsi, ByteVec{0, 0, 0, 0}).has_value());
}

TEST(TrafficSelectors, NarrowingAndContainment) {
  auto wide = ts("10.0.0.0/8");
  auto a = ts("10.1.0.0/16");
  auto v6 = ts("fd00::/16");
  EXPECT_EQ(narrowSelectors({wide}, {a, v6}), (std::vector<TrafficSelector>{a}));
  EXPECT_EQ(narrowSelectors({a}, {wide}), (std::vector<TrafficSelector>{a}));
  EXPECT_TRUE(narrowSelectors({v6}, {a}).empty());
  EXPECT_TRUE(selectorsWithin({a}, {wide}));
  EXPECT_FALSE(selectorsWithin({wide}, {a}));
  TrafficSelector udp = a;
  udp.ipProtocol = 17;
  udp.startPort = 1000;
  udp.endPort = 2000;
  auto r = intersect(udp, wide);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ipProtocol, 17);
  EXPECT_EQ(r->toString(), "10.1.0.0/16[17/1000-2000]");
  TrafficSelector tcp = udp;
  tcp.ipProtocol = 6;
  EXPECT_FALSE(intersect(udp, tcp));
  TrafficSelector range;
  range.start = *IpAddress::parse("10.0.0.5");
  range.end = *IpAddress::parse("10.0.0.9");
  EXPECT_EQ(range.toString(), "10.0.0.5..10.0.0.9");
  EXPECT_FALSE(range.toPrefix());
}

TEST(Identities, ParseAndMatch) {
  EXPECT_TRUE(Identity::parse("%any")->any());
  EXPECT_EQ(Identity::parse("@gw.example")->type(), IdType::kFqdn);
  EXPECT_EQ(Identity::parse("gw.example")->type(), IdType::kFqdn);
  EXPECT_EQ(Identity::parse("ops@example.com")->type(), IdType::kRfc822Addr);
  EXPECT_EQ(Identity::parse("192.0.2.1")->type(), IdType::kIpv4Addr);
  EXPECT_EQ(Identity::parse("2001:db8::1")->type(), IdType::kIpv6Addr);
  EXPECT_FALSE(Identity::parse("CN=x, O=y").has_value());
  EXPECT_TRUE(Identity::parse("@GW.example")->matches(*Identity::parse("gw.EXAMPLE")));
  EXPECT_FALSE(Identity::parse("@gw.example")->matches(*Identity::parse("192.0.2.1")));
  EXPECT_TRUE(Identity().matches(*Identity::parse("192.0.2.1")));
  EXPECT_EQ(Identity::parse("192.0.2.1")->toString(), "192.0.2.1");
  EXPECT_EQ(Identity::parse("@gw.example")->payloadBody(),
            (ByteVec{2, 0, 0, 0, 'g', 'w', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e'}));
}

// Writes the fuzz seed corpora when BRAID_IKE_DUMP_CORPUS names the tests/fuzz/corpus dir:
// plaintext messages of a real exchange for ike_message, and messages protected with the
// fixed key of fuzz_ike_decrypt.cpp (AES-GCM-256, 36 bytes of 0x11) for ike_decrypt.
TEST(IkeCorpus, DumpWhenAsked) {
  const char* dir = std::getenv("BRAID_IKE_DUMP_CORPUS");
  if (dir == nullptr) GTEST_SKIP() << "set BRAID_IKE_DUMP_CORPUS to write seed corpora";
  namespace fs = std::filesystem;
  auto write = [](const fs::path& p, Bytes b) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  };
  TwoParty t;
  PeerConfig pa = pskPeer("to-b", t.b.addr.address, "@a.example", "@b.example", "s");
  PeerConfig pb = pskPeer("to-a", t.a.addr.address, "@b.example", "@a.example", "s");
  pa.children.push_back(child("net", {ts("10.1.0.0/16")}, {ts("10.2.0.0/16")}));
  pb.children.push_back(child("net", {ts("10.2.0.0/16")}, {ts("10.1.0.0/16")}));
  ASSERT_TRUE(t.a.mgr->addPeer(pa).isOk());
  ASSERT_TRUE(t.b.mgr->addPeer(pb).isOk());
  ASSERT_TRUE(t.a.mgr->initiate("to-b", t.a.addr).isOk());
  int n = 0;
  for (int i = 0; i < 4; ++i) {
    Party& from = i % 2 == 0 ? t.a : t.b;
    write(fs::path(dir) / "ike_message" / ("exchange_" + std::to_string(n++)),
          from.net.out[0].data);
    t.deliver(from);
  }
  write(fs::path(dir) / "ike_message" / "everything", *everything().encode(nullptr));
  Message nak(ExchangeType::kIkeSaInit, true, 0);
  nak.addNotify(notify::kInvalidKePayload, {0, 19});
  write(fs::path(dir) / "ike_message" / "invalid_ke", *nak.encode(nullptr));
  // ike_decrypt: mode 0 = 0x00 | whole protected message; mode 1 = 0x01 | exchange |
  // first inner payload | inner chain (see fuzz_ike_decrypt.cpp).
  auto c = gcmCipher();
  auto writeProtected = [&](const std::string& name, const Message& m) {
    ByteVec whole{0};
    auto sealed = *m.encode(c.get());
    whole.insert(whole.end(), sealed.begin(), sealed.end());
    write(fs::path(dir) / "ike_decrypt" / name, whole);
    Message plain = m;
    plain.header.exchange = ExchangeType::kIkeSaInit;
    auto chain = *plain.encode(nullptr);
    ByteVec inner{
        1, static_cast<uint8_t>(m.header.exchange),
        static_cast<uint8_t>(m.payloads.empty() ? PayloadType::kNone : m.payloads[0].type)};
    inner.insert(inner.end(), chain.begin() + kIkeHeaderLength, chain.end());
    write(fs::path(dir) / "ike_decrypt" / (name + "_inner"), inner);
  };
  writeProtected("auth_request", authRequest());
  Message del(ExchangeType::kInformational, false, 3);
  del.add(PayloadType::kDelete, DeletePayload{ProtocolId::kEsp, {0x1234}});
  writeProtected("delete", del);
  Message cc(ExchangeType::kCreateChildSa, false, 2);
  cc.add(PayloadType::kSa, SaPayload{{ikeProposal()}});
  cc.add(PayloadType::kNonce, NoncePayload{ByteVec(32, 9)});
  cc.add(PayloadType::kKe, KePayload{31, ByteVec(32, 1)});
  cc.add(PayloadType::kTsi, TsPayload{{ts("10.1.0.0/16")}});
  cc.add(PayloadType::kTsr, TsPayload{{ts("fd00::/64")}});
  writeProtected("create_child", cc);
}

}  // namespace
}  // namespace braid::ike::test
