// EAP-TLS (RFC 5216, RFC 9190): the framing codec, the two EapTlsSession ends against each
// other (TLS 1.2 and 1.3, fragments acknowledged both ways, certificates from the wrong CA
// or none, reassembly over the bound), and IKE_AUTH with EAP-TLS (RFC 7296 2.16) in
// simulated time: braid's initiator plays the client with its certificate; the gateway
// checks it against the section's CA, the EAP identity against the certificate, takes the
// group from its OU, and a lost fragment is retransmitted by IKE.
#include <openssl/x509v3.h>

#include "ike_harness.hpp"
#include "ipsec/ike/eap_auth.hpp"
#include "ipsec/ike/eap_tls.hpp"
#include "ipsec/ike/remote_access.hpp"

namespace braid::ike::test {
namespace {

using eap_tls::Frame;
using Outcome = EapTlsSession::Outcome;
using Cause = EapTlsSession::FailureCause;

const TestPki& pki() {
  static const TestPki p = makePki();
  return p;
}
const TestPki& otherPki() {
  static const TestPki p = makePki();
  return p;
}

// A client certificate: CN and OU in the subject, an rfc822Name SAN.
Certificate clientCert(const TestPki& ca, const PrivateKey& key, const std::string& email,
                       const std::string& ou) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  static long serial = 9000;
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -86400L);
  X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400L);
  X509_set_pubkey(x, key.get());
  X509_NAME* name = X509_get_subject_name(x);
  auto add = [&](const char* field, const std::string& v) {
    X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC,
                               reinterpret_cast<const uint8_t*>(v.c_str()), -1, -1, 0);
  };
  add("O", "braid ike");
  if (!ou.empty()) add("OU", ou);
  add("CN", email.substr(0, email.find('@')));
  X509_set_issuer_name(x, X509_get_subject_name(ca.ca.get()));
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.ca.get(), x, nullptr, nullptr, 0);
  auto ext = [&](int nid, const std::string& value) {
    if (X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str())) {
      X509_add_ext(x, e, -1);
      X509_EXTENSION_free(e);
    }
  };
  ext(NID_basic_constraints, "critical,CA:FALSE");
  ext(NID_key_usage, "critical,digitalSignature");
  ext(NID_ext_key_usage, "clientAuth");
  ext(NID_subject_alt_name, "email:" + email);
  X509_sign(x, ca.caKey.get(), EVP_sha256());
  Certificate c = Certificate::fromX509(x);
  X509_free(x);
  return c;
}

struct Creds {
  PrivateKey key;
  Certificate cert;
};

// The gateway: RSA 2048, so that its first flight (certificate, signed key exchange,
// CertificateRequest) is over 1024 bytes and travels in two EAP-TLS fragments.
const Creds& gwCreds() {
  static const Creds c = [] {
    Creds g;
    g.key = *PrivateKey::generateRsa(2048);
    g.cert = issueLeaf(pki(), g.key, "gw.example");
    return g;
  }();
  return c;
}
const Creds& aliceCreds() {
  static const Creds c = [] {
    Creds a;
    a.key = *PrivateKey::generateEc(KeyType::kEcP256);
    a.cert = clientCert(pki(), a.key, "alice@example.com", "staff");
    return a;
  }();
  return c;
}
const Creds& malloryCreds() {  // same name, another CA
  static const Creds c = [] {
    Creds m;
    m.key = *PrivateKey::generateEc(KeyType::kEcP256);
    m.cert = clientCert(otherPki(), m.key, "alice@example.com", "staff");
    return m;
  }();
  return c;
}

EapTlsConfig serverConfig() {
  EapTlsConfig c;
  c.key = gwCreds().key;
  c.certs = {gwCreds().cert};
  c.cas = pki().store;
  return c;
}
EapTlsConfig clientConfig(const Creds* creds) {
  EapTlsConfig c;
  if (creds != nullptr) {
    c.key = creds->key;
    c.certs = {creds->cert};
  }
  c.cas = pki().store;
  return c;
}

// Both sessions, the packets between them counted.
struct Pair {
  std::unique_ptr<EapTlsSession> server, client;
  size_t requests = 0, acksFromClient = 0, acksFromServer = 0, fragments = 0;
  EapTlsSession::Step last;  // the server's last step
  std::string clientFailure;

  Pair(const EapTlsConfig& s, const EapTlsConfig& c) {
    server = std::move(EapTlsSession::create(EapTlsSession::Role::kServer, s).value());
    client = std::move(EapTlsSession::create(EapTlsSession::Role::kClient, c).value());
  }
  // Runs until the server is done or fails; false if a side failed.
  bool run() {
    ByteVec request = server->start();
    for (int i = 0; i < 100; ++i) {
      ++requests;
      auto rf = Frame::decode(request);
      if (rf && rf->isAck()) ++acksFromServer;
      if (rf && (rf->flags & eap_tls::kFlagMore)) ++fragments;
      EapTlsSession::Step c = client->process(request);
      if (c.outcome == Outcome::kFailure) {
        clientFailure = c.reason;
        return false;
      }
      auto cf = Frame::decode(c.typeData);
      if (cf && cf->isAck() && rf && (rf->flags & eap_tls::kFlagMore)) ++acksFromClient;
      if (cf && (cf->flags & eap_tls::kFlagMore)) ++fragments;
      last = server->process(c.typeData);
      if (last.outcome != Outcome::kContinue) return last.outcome == Outcome::kDone;
      request = std::move(last.typeData);
    }
    return false;
  }
};

TEST(EapTlsFrame, RoundTripAndMalformed) {
  Frame f;
  f.flags = eap_tls::kFlagMore;
  f.length = 70000;
  f.data = {1, 2, 3};
  ByteVec wire = f.encode();
  EXPECT_EQ(wire, (ByteVec{0xC0, 0x00, 0x01, 0x11, 0x70, 1, 2, 3}));
  auto d = Frame::decode(wire);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->flags, 0xC0);
  EXPECT_EQ(d->length, 70000u);
  EXPECT_EQ(d->data, (ByteVec{1, 2, 3}));
  EXPECT_FALSE(Frame::decode({}));                                      // no flags
  EXPECT_FALSE(Frame::decode(ByteVec{eap_tls::kFlagLength, 0, 0, 1}));  // length cut short
  auto ack = Frame::decode(ByteVec{0});
  ASSERT_TRUE(ack);
  EXPECT_TRUE(ack->isAck());
}

class EapTlsVersions : public ::testing::TestWithParam<bool> {};

TEST_P(EapTlsVersions, HandshakeFragmentsBothWaysAndAgreesOnTheMsk) {
  EapTlsConfig s = serverConfig(), c = clientConfig(&aliceCreds());
  s.allowTls13 = c.allowTls13 = GetParam();
  s.fragmentSize = c.fragmentSize = 200;  // the client's flight is fragmented too
  Pair p(s, c);
  ASSERT_TRUE(p.run()) << p.last.reason << p.clientFailure;
  EXPECT_EQ(p.server->version(), GetParam() ? "TLSv1.3" : "TLSv1.2");
  EXPECT_TRUE(p.client->handshakeDone());
  ASSERT_EQ(p.server->msk().bytes().size(), 64u);
  EXPECT_TRUE(std::ranges::equal(p.server->msk().bytes(), p.client->msk().bytes()));
  EXPECT_EQ(p.server->peerCertificate().der(), aliceCreds().cert.der());
  EXPECT_GT(p.acksFromClient, 3u);  // the server's flight in 200-byte pieces
  EXPECT_GT(p.acksFromServer, 0u);  // and the client's certificate flight
  EXPECT_EQ(certificateOu(p.server->peerCertificate()), "staff");
}

INSTANTIATE_TEST_SUITE_P(Tls, EapTlsVersions, ::testing::Values(false, true),
                         [](const auto& i) { return i.param ? "tls13" : "tls12"; });

TEST(EapTls, DifferentRunsHaveDifferentMsks) {
  Pair a(serverConfig(), clientConfig(&aliceCreds())),
      b(serverConfig(), clientConfig(&aliceCreds()));
  ASSERT_TRUE(a.run());
  ASSERT_TRUE(b.run());
  EXPECT_FALSE(std::ranges::equal(a.server->msk().bytes(), b.server->msk().bytes()));
}

TEST(EapTls, ClientCertificateFromAnotherCaIsRefused) {
  Pair p(serverConfig(), clientConfig(&malloryCreds()));
  EXPECT_FALSE(p.run());
  EXPECT_EQ(p.last.outcome, Outcome::kFailure);
  EXPECT_EQ(p.server->failureCause(), Cause::kCertificate);
  EXPECT_NE(p.last.reason.find("alice"), std::string::npos) << p.last.reason;
  EXPECT_TRUE(p.server->msk().bytes().empty());
}

TEST(EapTls, ClientWithoutCertificateIsRefused) {
  for (bool tls13 : {false, true}) {
    EapTlsConfig s = serverConfig(), c = clientConfig(nullptr);
    s.allowTls13 = c.allowTls13 = tls13;
    Pair p(s, c);
    EXPECT_FALSE(p.run());
    EXPECT_EQ(p.last.outcome, Outcome::kFailure);
    EXPECT_EQ(p.server->failureCause(), Cause::kCertificate) << p.last.reason;
    EXPECT_TRUE(p.server->msk().bytes().empty());
  }
}

TEST(EapTls, ServerRefusesAnAnnouncedLengthOverTheBound) {
  auto server =
      std::move(EapTlsSession::create(EapTlsSession::Role::kServer, serverConfig()).value());
  server->start();
  Frame f;
  f.flags = eap_tls::kFlagMore;
  f.length = eap_tls::kDefaultMaxMessage + 1;
  f.data = ByteVec(1000, 0x16);
  auto step = server->process(f.encode());
  EXPECT_EQ(step.outcome, Outcome::kFailure);
  EXPECT_EQ(server->failureCause(), Cause::kOversize);
}

TEST(EapTls, ServerRefusesFragmentsOverTheBoundWithoutLength) {
  EapTlsConfig cfg = serverConfig();
  auto server = std::move(EapTlsSession::create(EapTlsSession::Role::kServer, cfg).value());
  server->start();
  Frame f;
  f.flags = eap_tls::kFlagMore;
  f.data = ByteVec(1000, 0x16);
  size_t accepted = 0;
  EapTlsSession::Step step;
  for (int i = 0; i < 100; ++i) {
    step = server->process(f.encode());
    if (step.outcome != Outcome::kContinue) break;
    EXPECT_TRUE(Frame::decode(step.typeData)->isAck());
    accepted += f.data.size();
  }
  EXPECT_EQ(step.outcome, Outcome::kFailure);
  EXPECT_EQ(server->failureCause(), Cause::kOversize);
  EXPECT_EQ(accepted, 65000u);  // 65 fragments fit in 64 KiB, the 66th does not
}

TEST(EapTls, FragmentsLongerThanAnnouncedAreMalformed) {
  auto server =
      std::move(EapTlsSession::create(EapTlsSession::Role::kServer, serverConfig()).value());
  server->start();
  Frame f;
  f.flags = eap_tls::kFlagMore;
  f.length = 1500;
  f.data = ByteVec(1000, 0x16);
  ASSERT_EQ(server->process(f.encode()).outcome, Outcome::kContinue);
  f.length.reset();
  EXPECT_EQ(server->process(f.encode()).outcome, Outcome::kFailure);
  EXPECT_EQ(server->failureCause(), Cause::kMalformed);
}

TEST(EapTls, IdentityMustBeNamedByTheCertificate) {
  const Certificate& c = aliceCreds().cert;
  EXPECT_TRUE(certificateMatchesEapIdentity(c, "alice@example.com"));
  EXPECT_TRUE(certificateMatchesEapIdentity(c, "alice"));  // the CN
  EXPECT_TRUE(certificateMatchesEapIdentity(c, "CN=alice,OU=staff,O=braid ike"));
  EXPECT_TRUE(certificateMatchesEapIdentity(c, "O=braid ike, OU=staff, CN=alice"));
  EXPECT_FALSE(certificateMatchesEapIdentity(c, "bob@example.com"));
  EXPECT_FALSE(certificateMatchesEapIdentity(c, "O=braid ike, OU=staff, CN=bob"));
  EXPECT_FALSE(certificateMatchesEapIdentity(c, ""));
}

// ---- IKE_AUTH with EAP-TLS ------------------------------------------------------------------

class IkeEapTls : public ::testing::Test {
 protected:
  void SetUp() override {
    ra = std::make_shared<RemoteAccessConfig>();
    pool4 = std::make_shared<AddressPool>(
        AddressPool::create("rw-v4", *IpPrefix::parse("10.99.0.0/29")).value());
    ra->pools = {pool4};
    ra->groupSubnets["staff"] = {*IpPrefix::parse("10.2.1.0/24")};
    gw = pskPeer("rw", IpAddress{}, "@gw.example", "%any", "unused");
    gw.remoteAny = true;
    gw.localAuth.kind = AuthKind::kPubkey;
    gw.localAuth.key = gwCreds().key;
    gw.localAuth.certs = {gwCreds().cert};
    gw.remoteAuth.kind = AuthKind::kPubkey;
    gw.remoteAuth.cas = pki().store;
    gw.remoteAuth.eapMethods = {eap_type::kTls};
    gw.remoteAccess = ra;
    gw.children.push_back(child("rw", {ts("10.2.0.0/16")}, {ts("10.99.0.0/29")}));
  }
  void TearDown() override {
    if (HasFailure()) {
      for (const auto& l : log.lines) std::cerr << "log: " << l << "\n";
    }
  }
  PeerConfig client(const std::string& eapId, const Creds& creds) const {
    PeerConfig c = pskPeer("vpn", t.b.addr.address, "10.0.0.1", "@gw.example", "unused");
    c.localAuth.kind = AuthKind::kEap;
    c.localAuth.eapIdentity = eapId;
    c.localAuth.eapMethods = {eap_type::kTls};
    c.localAuth.key = creds.key;
    c.localAuth.certs = {creds.cert};
    c.remoteAuth.kind = AuthKind::kPubkey;
    c.remoteAuth.cas = pki().store;
    c.requestVirtualIp = true;
    c.children.push_back(child("rw", {ts("0.0.0.0/0")}, {ts("10.0.0.0/8")}));
    return c;
  }
  void start(const PeerConfig& c) {
    ASSERT_TRUE(t.b.mgr->addPeer(gw).isOk());
    ASSERT_TRUE(t.a.mgr->addPeer(c).isOk());
    ASSERT_TRUE(t.a.mgr->initiate("vpn", t.a.addr).isOk());
  }
  void expectUp(const std::string& identity) {
    ASSERT_EQ(t.a.events.childUp.size(), 1u);
    ASSERT_EQ(t.b.events.childUp.size(), 1u);
    IkeSa* g = t.b.mgr->findByPeer("rw");
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(g->peerId.toString(), identity);
    ASSERT_NE(g->remoteAccess, nullptr);
    EXPECT_EQ(g->remoteAccess->group, "staff");  // the certificate's OU
    EXPECT_EQ(t.b.events.childUp[0].localTs, std::vector{ts("10.2.1.0/24")});
    IkeSa* c = t.a.mgr->findByPeer("vpn");
    ASSERT_TRUE(c && c->remoteAccess && c->remoteAccess->received);
    ASSERT_EQ(c->remoteAccess->received->ip4Addresses.size(), 1u);
    EXPECT_EQ(pool4->addressOf(identity), c->remoteAccess->received->ip4Addresses[0]);
  }
  void expectRefused() {
    EXPECT_EQ(t.a.events.ikeUp.size(), 0u);
    EXPECT_EQ(t.b.events.ikeUp.size(), 0u);
    EXPECT_EQ(t.b.events.childUp.size(), 0u);
    EXPECT_EQ(pool4->online(), 0u);
    EXPECT_EQ(pool4->offline(), 0u);
    t.advance(std::chrono::milliseconds(1));
    EXPECT_EQ(t.b.mgr->ikeSaCount(), 0u);
  }

  LogCapture log;
  TwoParty t;
  std::shared_ptr<RemoteAccessConfig> ra;
  std::shared_ptr<AddressPool> pool4;
  PeerConfig gw;
};

TEST_F(IkeEapTls, ClientWithCertificateGetsVirtualIpAndItsGroupsSubnets) {
  start(client("alice@example.com", aliceCreds()));
  t.run();
  expectUp("alice@example.com");
  // IKE_SA_INIT; IKE_AUTH 1 (no AUTH), 2 Identity, 3 Start -> ClientHello, 4 and 5 the
  // server flight in two fragments, 6 the client's flight, 7 the acknowledgement of our
  // last flight (EAP-Success), 8 AUTH over the MSK.
  IkeSa* c = t.a.mgr->findByPeer("vpn");
  ASSERT_NE(c, nullptr);
  EXPECT_GE(c->tasks().nextRequestId(), 8u);
  EXPECT_EQ(t.b.counters().dropsEapTlsOversize, 0u);
}

TEST_F(IkeEapTls, ClientCertificateFromAnotherCaIsRefusedWithoutLease) {
  start(client("alice@example.com", malloryCreds()));
  t.run();
  EXPECT_EQ(log.count("EAP-TLS of "), 1u);
  expectRefused();
}

TEST_F(IkeEapTls, EapIdentityNotInTheCertificateIsRefused) {
  start(client("bob@example.com", aliceCreds()));
  t.run();
  EXPECT_EQ(log.count("does not name EAP identity 'bob@example.com'"), 1u);
  expectRefused();
}

TEST_F(IkeEapTls, Mschapv2FirstThenNakToTls) {
  // The gateway prefers MSCHAPv2; the client Naks it for EAP-TLS (RFC 3748 5.3.1).
  auto users = std::make_shared<EapUserTable>();
  ASSERT_TRUE(users->add({"bob", "", *mschapv2::ntPasswordHash("bob pw")}));
  gw.remoteAuth.eapUsers = users;
  gw.remoteAuth.eapMethods = {eap_type::kMschapv2, eap_type::kTls};
  start(client("alice@example.com", aliceCreds()));
  t.run();
  expectUp("alice@example.com");
}

TEST_F(IkeEapTls, LostFragmentIsRetransmittedByIke) {
  start(client("alice@example.com", aliceCreds()));
  t.deliver(t.a);  // IKE_SA_INIT
  t.deliver(t.b);
  t.deliver(t.a);  // IKE_AUTH 1
  t.deliver(t.b);  // EAP-Request/Identity
  t.deliver(t.a);  // Identity
  t.deliver(t.b);  // EAP-TLS Start
  t.deliver(t.a);  // ClientHello
  t.deliver(t.b);  // the server flight's first fragment
  t.drop(t.a);     // its acknowledgement is lost
  t.advance(std::chrono::seconds(5));
  ASSERT_EQ(t.a.net.out.size(), 1u);  // retransmitted
  t.deliver(t.a);
  t.drop(t.b);  // the second fragment lost
  t.advance(std::chrono::seconds(8));
  ASSERT_EQ(t.a.net.out.size(), 1u);
  t.deliver(t.a);  // answered from the cache, not processed again
  EXPECT_EQ(t.b.counters().responsesReplayed, 1u);
  t.run();
  expectUp("alice@example.com");
  EXPECT_GE(t.a.counters().retransmits, 2u);
}

TEST_F(IkeEapTls, OversizeMessageIsCountedAndRefused) {
  start(client("alice@example.com", aliceCreds()));
  for (int i = 0; i < 3; ++i) {  // IKE_SA_INIT, Identity, EAP-TLS Start
    t.deliver(t.a);
    t.deliver(t.b);
  }
  // The ClientHello replaced by a first fragment announcing 1 MiB.
  ASSERT_TRUE(t.rewrite(t.a, [](Message& m) {
    for (auto& p : m.payloads) {
      auto* e = std::get_if<EapPayload>(&p.body);
      if (e == nullptr) continue;
      auto packet = EapPacket::decode(e->message);
      ASSERT_TRUE(packet);
      Frame f;
      f.flags = eap_tls::kFlagMore;
      f.length = 1 << 20;
      f.data = ByteVec(500, 0x16);
      packet->data = f.encode();
      e->message = packet->encode();
    }
  }));
  t.run();
  EXPECT_EQ(t.b.counters().dropsEapTlsOversize, 1u);
  EXPECT_EQ(log.count("over the limit of 65536"), 1u);
  expectRefused();
}

TEST_F(IkeEapTls, GatewayWithoutTlsRefusesTheNak) {
  auto users = std::make_shared<EapUserTable>();
  ASSERT_TRUE(users->add({"bob", "", *mschapv2::ntPasswordHash("bob pw")}));
  gw.remoteAuth.eapUsers = users;
  gw.remoteAuth.eapMethods = {};  // MSCHAPv2 only
  start(client("alice@example.com", aliceCreds()));
  t.run();
  EXPECT_EQ(log.count("client refuses EAP-MSCHAPv2 (Nak, proposes type 13)"), 1u);
  expectRefused();
}

}  // namespace
}  // namespace braid::ike::test
