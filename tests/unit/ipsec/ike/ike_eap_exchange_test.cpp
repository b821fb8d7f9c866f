// IKE_AUTH with EAP-MSCHAPv2 (RFC 7296 2.16) in simulated time: braid's initiator plays the
// road-warrior client (no AUTH in its first request), the gateway authenticates with its
// certificate, runs EAP against its user table, and both finish with AUTH over the MSK;
// the CP reply and the Child SA come last. Wrong password, unknown user, a client that Naks
// MSCHAPv2 and a gateway without EAP fail without a lease; lost messages are retransmitted.
#include "ike_harness.hpp"
#include "ipsec/ike/eap_auth.hpp"
#include "ipsec/ike/ike_auth_eap.hpp"
#include "ipsec/ike/remote_access.hpp"

namespace braid::ike::test {
namespace {

const TestPki& pki() {
  static const TestPki p = makePki();
  return p;
}

struct GwCreds {
  PrivateKey key;
  Certificate cert;
};

const GwCreds& gwCreds() {
  static const GwCreds c = [] {
    GwCreds g;
    g.key = *PrivateKey::generateEc(KeyType::kEcP256);
    g.cert = issueLeaf(pki(), g.key, "gw.example");
    return g;
  }();
  return c;
}

class IkeEap : public ::testing::Test {
 protected:
  void SetUp() override {
    users = std::make_shared<EapUserTable>();
    ASSERT_TRUE(users->add({"alice", "staff", *mschapv2::ntPasswordHash("alice pw")}));
    ASSERT_TRUE(users->add({"bob", "", *mschapv2::ntPasswordHash("bob pw")}));
    ra = std::make_shared<RemoteAccessConfig>();
    pool4 = std::make_shared<AddressPool>(
        AddressPool::create("rw-v4", *IpPrefix::parse("10.99.0.0/29")).value());
    ra->pools = {pool4};
    gw = pskPeer("rw", IpAddress{}, "@gw.example", "%any", "unused");
    gw.remoteAny = true;
    gw.localAuth.kind = AuthKind::kPubkey;
    gw.localAuth.key = gwCreds().key;
    gw.localAuth.certs = {gwCreds().cert};
    gw.remoteAuth.kind = AuthKind::kPubkey;
    gw.remoteAuth.cas = pki().store;
    gw.remoteAuth.eapUsers = users;
    gw.remoteAccess = ra;
    gw.children.push_back(child("rw", {ts("10.2.0.0/16")}, {ts("10.99.0.0/29")}));
  }
  void TearDown() override {
    if (HasFailure()) {
      for (const auto& l : log.lines) std::cerr << "log: " << l << "\n";
    }
  }
  // A client whose IDi is its address (as Windows sends), EAP name `user`.
  PeerConfig client(const std::string& user, const std::string& password) const {
    PeerConfig c = pskPeer("vpn", t.b.addr.address, "10.0.0.1", "@gw.example", "unused");
    c.localAuth.kind = AuthKind::kEap;
    c.localAuth.eapIdentity = user;
    c.localAuth.eapNtHash = *mschapv2::ntPasswordHash(password);
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
  void expectRefused() {
    EXPECT_EQ(t.a.events.ikeUp.size(), 0u);
    EXPECT_EQ(t.b.events.ikeUp.size(), 0u);
    EXPECT_EQ(t.b.events.childUp.size(), 0u);
    EXPECT_EQ(pool4->online(), 0u);  // no lease taken
    EXPECT_EQ(pool4->offline(), 0u);
    t.advance(std::chrono::milliseconds(1));
    EXPECT_EQ(t.b.mgr->ikeSaCount(), 0u);
  }

  LogCapture log;
  TwoParty t;
  std::shared_ptr<EapUserTable> users;
  std::shared_ptr<RemoteAccessConfig> ra;
  std::shared_ptr<AddressPool> pool4;
  PeerConfig gw;
};

TEST_F(IkeEap, Mschapv2ClientGetsVirtualIpAndChildSa) {
  start(client("alice", "alice pw"));
  t.run();
  ASSERT_EQ(t.a.events.ikeUp.size(), 1u);
  ASSERT_EQ(t.b.events.ikeUp.size(), 1u);
  ASSERT_EQ(t.a.events.childUp.size(), 1u);
  ASSERT_EQ(t.b.events.childUp.size(), 1u);
  // IKE_SA_INIT, then IKE_AUTH 1 (IDi, no AUTH), 2 Identity, 3 MSCHAPv2 response,
  // 4 success acknowledgement, 5 AUTH over the MSK.
  IkeSa* c = t.a.mgr->findByPeer("vpn");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->tasks().nextRequestId(), 6u);
  ASSERT_TRUE(c->remoteAccess && c->remoteAccess->received);
  ASSERT_EQ(c->remoteAccess->received->ip4Addresses.size(), 1u);
  const IpAddress vip = c->remoteAccess->received->ip4Addresses[0];
  EXPECT_EQ(vip.toString(), "10.99.0.1");
  EXPECT_EQ(t.b.events.childUp[0].remoteTs, std::vector{TrafficSelector::host(vip)});
  EXPECT_EQ(t.b.events.childUp[0].localTs, std::vector{ts("10.2.0.0/16")});
  IkeSa* g = t.b.mgr->findByPeer("rw");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->peerId.toString(), "alice");  // the EAP name, not the IDi address
  ASSERT_NE(g->remoteAccess, nullptr);
  EXPECT_EQ(g->remoteAccess->group, "staff");
  EXPECT_EQ(pool4->addressOf("alice"), vip);
}

TEST_F(IkeEap, GroupPolicyNarrowsTsrAndSplitSubnets) {
  // staff may reach 10.2.1.0/24 only; bob has no group and gets the section's 10.2.0.0/16.
  ra->groupSubnets["staff"] = {*IpPrefix::parse("10.2.1.0/24")};
  ra->splitSubnets = {*IpPrefix::parse("10.2.0.0/16")};
  ASSERT_TRUE(t.b.mgr->addPeer(gw).isOk());
  PeerConfig alice = client("alice", "alice pw");
  PeerConfig bob = client("bob", "bob pw");
  bob.name = "vpn-bob";
  ASSERT_TRUE(t.a.mgr->addPeer(alice).isOk());
  ASSERT_TRUE(t.a.mgr->addPeer(bob).isOk());
  ASSERT_TRUE(t.a.mgr->initiate("vpn", t.a.addr).isOk());
  t.run();
  ASSERT_TRUE(t.a.mgr->initiate("vpn-bob", t.a.addr).isOk());
  t.run();
  ASSERT_EQ(t.b.events.childUp.size(), 2u);
  EXPECT_EQ(t.b.events.childUp[0].localTs, std::vector{ts("10.2.1.0/24")});
  EXPECT_EQ(t.b.events.childUp[1].localTs, std::vector{ts("10.2.0.0/16")});
  ASSERT_EQ(t.a.events.childUp.size(), 2u);
  EXPECT_EQ(t.a.events.childUp[0].remoteTs, std::vector{ts("10.2.1.0/24")});
  const RemoteAccessState* s = t.a.mgr->findByPeer("vpn")->remoteAccess.get();
  ASSERT_TRUE(s && s->received);
  ASSERT_EQ(s->received->ip4Subnets.size(), 1u);
  EXPECT_EQ(s->received->ip4Subnets[0].toString(), "10.2.1.0/24");
  s = t.a.mgr->findByPeer("vpn-bob")->remoteAccess.get();
  ASSERT_TRUE(s && s->received);
  ASSERT_EQ(s->received->ip4Subnets.size(), 1u);
  EXPECT_EQ(s->received->ip4Subnets[0].toString(), "10.2.0.0/16");
}

TEST_F(IkeEap, WrongPasswordGetsEapFailureAndNoLease) {
  start(client("alice", "wrong"));
  t.run();
  EXPECT_EQ(log.count("wrong password for 'alice'"), 1u);
  EXPECT_EQ(log.count("sending EAP-Failure and AUTHENTICATION_FAILED"), 1u);
  EXPECT_EQ(log.count("EAP-MSCHAPv2 as 'alice' failed: gateway sent EAP-Failure"), 1u);
  expectRefused();
}

TEST_F(IkeEap, UnknownUserFailsLikeAWrongPassword) {
  start(client("mallory", "alice pw"));
  t.run();
  EXPECT_EQ(log.count("unknown EAP identity 'mallory'"), 1u);
  EXPECT_EQ(log.count("gateway sent EAP-Failure"), 1u);
  expectRefused();
}

TEST_F(IkeEap, ClientThatNaksMschapv2IsRefused) {
  PeerConfig c = client("alice", "alice pw");
  c.localAuth.eapMethods = {eap_type::kTls};
  start(c);
  t.run();
  EXPECT_EQ(log.count("client refuses EAP-MSCHAPv2 (Nak, proposes type 13)"), 1u);
  expectRefused();
}

TEST_F(IkeEap, GatewayWithoutEapRefusesAClientWithoutAuth) {
  gw.remoteAuth.eapUsers = nullptr;
  start(client("alice", "alice pw"));
  t.run();
  EXPECT_EQ(log.count("sent no AUTH (asks for EAP), which this config does not offer"), 1u);
  EXPECT_EQ(log.count("IKE_AUTH refused by peer: AUTHENTICATION_FAILED"), 1u);
  expectRefused();
}

TEST_F(IkeEap, LostEapMessagesAreRetransmitted) {
  start(client("bob", "bob pw"));
  t.deliver(t.a);  // IKE_SA_INIT
  t.deliver(t.b);
  t.deliver(t.a);  // IKE_AUTH 1
  t.deliver(t.b);  // EAP-Request/Identity
  t.drop(t.a);     // EAP-Response/Identity lost
  t.advance(std::chrono::seconds(5));
  ASSERT_EQ(t.a.net.out.size(), 1u);  // retransmitted
  t.deliver(t.a);
  t.drop(t.b);  // the challenge lost
  t.advance(std::chrono::seconds(8));
  ASSERT_EQ(t.a.net.out.size(), 1u);
  t.deliver(t.a);  // a retransmission: answered from the cache, not processed again
  EXPECT_EQ(t.b.counters().responsesReplayed, 1u);
  t.run();
  ASSERT_EQ(t.a.events.childUp.size(), 1u);
  ASSERT_EQ(t.b.events.childUp.size(), 1u);
  EXPECT_EQ(pool4->online(), 1u);
  IkeSa* g = t.b.mgr->findByPeer("rw");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->remoteAccess->group, "");
}

TEST_F(IkeEap, ForgedAuthInsteadOfEapFails) {
  // After the EAP-Request/Identity the client sends AUTH instead of EAP: the gateway ends.
  start(client("alice", "alice pw"));
  t.deliver(t.a);
  t.deliver(t.b);
  t.deliver(t.a);
  t.deliver(t.b);
  ASSERT_TRUE(t.rewrite(t.a, [](Message& m) {
    m.payloads.clear();
    m.add(PayloadType::kAuth, AuthPayload{AuthMethod::kSharedKeyMic, ByteVec(32, 1)});
  }));
  t.run();
  EXPECT_EQ(log.count("no EAP payload in an EAP exchange"), 1u);
  expectRefused();
}

TEST_F(IkeEap, MskAuthMustVerify) {
  // The final AUTH with a wrong MIC: AUTHENTICATION_FAILED, and still no lease.
  start(client("alice", "alice pw"));
  for (int i = 0; i < 4; ++i) {  // IKE_SA_INIT and three EAP rounds
    t.deliver(t.a);
    t.deliver(t.b);
  }
  t.deliver(t.a);  // the success acknowledgement
  t.deliver(t.b);  // EAP-Success
  ASSERT_EQ(t.a.net.out.size(), 1u);
  ASSERT_TRUE(t.rewrite(t.a, [](Message& m) {
    for (auto& p : m.payloads) {
      if (auto* a = std::get_if<AuthPayload>(&p.body)) a->data[0] ^= 1;
    }
  }));
  t.run();
  EXPECT_EQ(log.count("AUTH over the EAP MSK does not verify"), 1u);
  expectRefused();
}

}  // namespace
}  // namespace braid::ike::test
