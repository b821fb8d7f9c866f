// Road-warrior exchanges in simulated time (RFC 7296 2.19, 3.15.4): a client with a
// certificate asks for a virtual IP in IKE_AUTH; the gateway answers CFG_REPLY from its pool,
// narrows TSi to the address and TSr to what clients may reach; pool exhaustion gives
// INTERNAL_ADDRESS_FAILURE; a client that reconnects gets its address back; a certificate
// from another CA is refused; a certificate's subject OU names the client's group.
#include <openssl/x509v3.h>

#include "ike_harness.hpp"
#include "ipsec/ike/remote_access.hpp"

namespace braid::ike::test {
namespace {

const TestPki& pki() {
  static const TestPki p = makePki();
  return p;
}

struct Creds {
  PrivateKey key;
  Certificate cert;
};

const Creds& creds(const std::string& fqdn, const TestPki& ca = pki()) {
  static std::map<std::string, Creds> cache;
  const std::string k = fqdn + (&ca == &pki() ? "" : "/other");
  auto it = cache.find(k);
  if (it == cache.end()) {
    Creds c;
    c.key = *PrivateKey::generateEc(KeyType::kEcP256);
    c.cert = issueLeaf(ca, c.key, fqdn);
    it = cache.emplace(k, c).first;
  }
  return it->second;
}

IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}

class IkeRemoteAccess : public ::testing::Test {
 protected:
  void SetUp() override {
    ra = std::make_shared<RemoteAccessConfig>();
    pool4 = std::make_shared<AddressPool>(
        AddressPool::create("rw-v4", *IpPrefix::parse("10.99.0.0/29")).value());  // 6 hosts
    ra->pools = {pool4};
    ra->dns = {ip("10.2.0.53"), ip("fd00:2::53")};
    ra->splitSubnets = {*IpPrefix::parse("10.2.0.0/16")};
    // The gateway (b): any address, any identity the CA vouches for.
    gw = pskPeer("rw", IpAddress{}, "@gw.example", "%any", "unused");
    gw.remoteAny = true;
    gw.localAuth.kind = AuthKind::kPubkey;
    gw.localAuth.key = creds("gw.example").key;
    gw.localAuth.certs = {creds("gw.example").cert};
    gw.remoteAuth.kind = AuthKind::kPubkey;
    gw.remoteAuth.cas = pki().store;
    gw.remoteAccess = ra;
    // Clients may reach 10.2.0.0/16; their own side is the pool (narrowed to the lease).
    gw.children.push_back(child("rw", {ts("10.2.0.0/16")}, {ts("10.99.0.0/29")}));
  }
  void TearDown() override {
    if (HasFailure()) {
      for (const auto& l : log.lines) std::cerr << "log: " << l << "\n";
    }
  }
  // A client config on a: `name` authenticates as `fqdn`, proposes 0.0.0.0/0 === 10.0.0.0/8.
  PeerConfig client(const std::string& name, const std::string& fqdn,
                    const TestPki& ca = pki()) const {
    PeerConfig c = pskPeer(name, t.b.addr.address, "@" + fqdn, "@gw.example", "unused");
    c.localAuth.kind = AuthKind::kPubkey;
    c.localAuth.key = creds(fqdn, ca).key;
    c.localAuth.certs = {creds(fqdn, ca).cert};
    c.remoteAuth.kind = AuthKind::kPubkey;
    c.remoteAuth.cas = pki().store;
    c.requestVirtualIp = true;
    c.children.push_back(child("rw", {ts("0.0.0.0/0")}, {ts("10.0.0.0/8")}));
    return c;
  }
  void connect(const std::string& name) {
    ASSERT_TRUE(t.a.mgr->initiate(name, t.a.addr).isOk());
    t.run();
  }
  const RemoteAccessState* clientState(const std::string& name) {
    IkeSa* sa = t.a.mgr->findByPeer(name);
    return sa == nullptr ? nullptr : sa->remoteAccess.get();
  }

  LogCapture log;
  TwoParty t;
  std::shared_ptr<RemoteAccessConfig> ra;
  std::shared_ptr<AddressPool> pool4;
  PeerConfig gw;
};

TEST_F(IkeRemoteAccess, CpRequestGetsVirtualIpDnsAndNarrowedSelectors) {
  ASSERT_TRUE(t.b.mgr->addPeer(gw).isOk());
  ASSERT_TRUE(t.a.mgr->addPeer(client("alice", "alice.example")).isOk());
  connect("alice");
  ASSERT_EQ(t.a.events.ikeUp.size(), 1u);
  ASSERT_EQ(t.b.events.childUp.size(), 1u);
  ASSERT_EQ(t.a.events.childUp.size(), 1u);
  const RemoteAccessState* s = clientState("alice");
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->received.has_value());
  ASSERT_EQ(s->received->ip4Addresses.size(), 1u);
  const IpAddress vip = s->received->ip4Addresses[0];
  EXPECT_EQ(vip, ip("10.99.0.1"));
  EXPECT_TRUE(s->received->ip6Addresses.empty());  // no IPv6 pool
  EXPECT_EQ(s->received->ip4Dns, std::vector<IpAddress>{ip("10.2.0.53")});
  EXPECT_TRUE(s->received->ip6Dns.empty());  // IPv6 DNS only with an IPv6 address
  ASSERT_EQ(s->received->ip4Subnets.size(), 1u);
  EXPECT_EQ(s->received->ip4Subnets[0].toString(), "10.2.0.0/16");
  // TSi narrowed to the virtual IP, TSr to what clients may reach, on both sides.
  const ChildSaEvent& g = t.b.events.childUp[0];
  ASSERT_EQ(g.remoteTs.size(), 1u);
  EXPECT_EQ(g.remoteTs[0], TrafficSelector::host(vip));
  ASSERT_EQ(g.localTs.size(), 1u);
  EXPECT_EQ(g.localTs[0].toString(), "10.2.0.0/16");
  const ChildSaEvent& c = t.a.events.childUp[0];
  EXPECT_EQ(c.localTs, g.remoteTs);
  EXPECT_EQ(c.remoteTs, g.localTs);
  EXPECT_EQ(pool4->online(), 1u);
  EXPECT_EQ(log.count("virtual IP"), 0u);  // an info line, not a warning
}

TEST_F(IkeRemoteAccess, IpAddressAndDnsOfBothFamilies) {
  ra->pools.push_back(std::make_shared<AddressPool>(
      AddressPool::create("rw-v6", *IpPrefix::parse("fd00:99::/120")).value()));
  gw.children[0].remoteTs.push_back(ts("fd00:99::/120"));
  ASSERT_TRUE(t.b.mgr->addPeer(gw).isOk());
  PeerConfig c = client("alice", "alice.example");
  c.children[0].localTs.push_back(ts("::/0"));
  ASSERT_TRUE(t.a.mgr->addPeer(c).isOk());
  connect("alice");
  const RemoteAccessState* s = clientState("alice");
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->received.has_value());
  ASSERT_EQ(s->received->ip6Addresses.size(), 1u);
  EXPECT_EQ(s->received->ip6Addresses[0].address, ip("fd00:99::1"));
  EXPECT_EQ(s->received->ip6Dns, std::vector<IpAddress>{ip("fd00:2::53")});
  ASSERT_EQ(t.b.events.childUp.size(), 1u);
  EXPECT_EQ(t.b.events.childUp[0].remoteTs.size(), 2u);  // both virtual IPs
}

TEST_F(IkeRemoteAccess, PoolExhaustionGivesInternalAddressFailure) {
  pool4 = std::make_shared<AddressPool>(
      AddressPool::create("tiny", *IpPrefix::parse("10.99.0.9/32")).value());
  ra->pools = {pool4};
  ASSERT_TRUE(t.b.mgr->addPeer(gw).isOk());
  ASSERT_TRUE(t.a.mgr->addPeer(client("alice", "alice.example")).isOk());
  ASSERT_TRUE(t.a.mgr->addPeer(client("bob", "bob.example")).isOk());
  connect("alice");
  ASSERT_EQ(t.b.events.childUp.size(), 1u);
  connect("bob");
  // RFC 7296 3.15.4: bob's IKE SA is up, his Child SA is not; the notify says why.
  EXPECT_EQ(t.b.events.ikeUp.size(), 2u);
  EXPECT_EQ(t.b.events.childUp.size(), 1u);
  EXPECT_EQ(t.a.events.childUp.size(), 1u);
  EXPECT_EQ(log.count("pool tiny (1 addresses) exhausted; sending INTERNAL_ADDRESS_FAILURE"), 1u);
  const RemoteAccessState* s = clientState("bob");
  EXPECT_TRUE(s == nullptr || !s->received.has_value());
  EXPECT_EQ(pool4->online(), 1u);
  EXPECT_EQ(pool4->addressOf("bob.example"), std::nullopt);
}

TEST_F(IkeRemoteAccess, ReconnectGetsTheSameAddressAndDeleteReleasesIt) {
  ASSERT_TRUE(t.b.mgr->addPeer(gw).isOk());
  ASSERT_TRUE(t.a.mgr->addPeer(client("alice", "alice.example")).isOk());
  ASSERT_TRUE(t.a.mgr->addPeer(client("bob", "bob.example")).isOk());
  connect("bob");
  connect("alice");
  ASSERT_NE(clientState("alice"), nullptr);
  const IpAddress first = clientState("alice")->received->ip4Addresses.at(0);
  EXPECT_EQ(first, ip("10.99.0.2"));
  EXPECT_EQ(pool4->online(), 2u);
  // The client deletes its IKE SA (RFC 7296 1.4.1): the lease goes offline, reserved.
  ASSERT_TRUE(t.a.mgr->deleteIkeSa("alice").isOk());
  t.run();
  t.advance(std::chrono::seconds(1));
  EXPECT_EQ(t.b.events.ikeDown.size(), 1u);
  EXPECT_EQ(pool4->online(), 1u);
  EXPECT_EQ(pool4->offline(), 1u);
  // Another client meanwhile takes a never-used address, not alice's.
  ASSERT_TRUE(t.a.mgr->addPeer(client("carol", "carol.example")).isOk());
  connect("carol");
  EXPECT_EQ(clientState("carol")->received->ip4Addresses.at(0), ip("10.99.0.3"));
  connect("alice");
  ASSERT_NE(clientState("alice"), nullptr);
  ASSERT_TRUE(clientState("alice")->received.has_value());
  EXPECT_EQ(clientState("alice")->received->ip4Addresses.at(0), first);
  EXPECT_EQ(t.b.events.childUp.back().remoteTs.at(0), TrafficSelector::host(first));
  EXPECT_EQ(pool4->online(), 3u);
}

TEST_F(IkeRemoteAccess, LeaseFollowsAnIkeSaRekey) {
  ASSERT_TRUE(t.b.mgr->addPeer(gw).isOk());
  ASSERT_TRUE(t.a.mgr->addPeer(client("alice", "alice.example")).isOk());
  connect("alice");
  IkeSa* sa = t.a.mgr->findByPeer("alice");
  ASSERT_NE(sa, nullptr);
  ASSERT_TRUE(sa->rekeyIke());
  t.run();
  t.advance(std::chrono::seconds(5));
  t.run();
  EXPECT_EQ(t.b.counters().ikeRekeysResponded, 1u);
  // The old IKE SA is gone; the new one holds the lease.
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 1u);
  EXPECT_EQ(pool4->online(), 1u);
  IkeSa* gwSa = t.b.mgr->findByPeer("rw");
  ASSERT_NE(gwSa, nullptr);
  ASSERT_NE(gwSa->remoteAccess, nullptr);
  EXPECT_EQ(gwSa->remoteAccess->virtualIps(), std::vector<IpAddress>{ip("10.99.0.1")});
}

TEST_F(IkeRemoteAccess, CertificateFromAnotherCaIsRefused) {
  static const TestPki other = makePki();
  ASSERT_TRUE(t.b.mgr->addPeer(gw).isOk());
  ASSERT_TRUE(t.a.mgr->addPeer(client("mallory", "mallory.example", other)).isOk());
  connect("mallory");
  EXPECT_EQ(t.b.counters().authFailed, 1u);
  EXPECT_EQ(t.a.counters().authFailedByPeer, 1u);
  EXPECT_EQ(log.count("not trusted"), 1u);
  EXPECT_TRUE(t.b.events.ikeUp.empty());
  EXPECT_EQ(pool4->online(), 0u);  // no lease for an unauthenticated client
  EXPECT_EQ(pool4->offline(), 0u);
}

TEST_F(IkeRemoteAccess, ClientWithoutCpRequestGetsFailedCpRequired) {
  ASSERT_TRUE(t.b.mgr->addPeer(gw).isOk());
  PeerConfig c = client("alice", "alice.example");
  c.requestVirtualIp = false;
  ASSERT_TRUE(t.a.mgr->addPeer(c).isOk());
  connect("alice");
  EXPECT_EQ(t.b.events.ikeUp.size(), 1u);
  EXPECT_TRUE(t.b.events.childUp.empty());
  EXPECT_EQ(log.count("no CP(CFG_REQUEST); sending FAILED_CP_REQUIRED"), 1u);
  EXPECT_EQ(pool4->online(), 0u);
}

TEST_F(IkeRemoteAccess, ClientCannotClaimAnotherAddressInTsi) {
  ASSERT_TRUE(t.b.mgr->addPeer(gw).isOk());
  // Proposes only someone else's address as its side: nothing of it is its virtual IP.
  PeerConfig c = client("alice", "alice.example");
  c.children[0].localTs = {ts("10.99.0.5/32")};
  ASSERT_TRUE(t.a.mgr->addPeer(c).isOk());
  connect("alice");
  EXPECT_EQ(t.b.events.ikeUp.size(), 1u);
  EXPECT_TRUE(t.b.events.childUp.empty());
  EXPECT_EQ(t.b.counters().tsUnacceptable, 1u);
}

// A client certificate for `fqdn` (SAN dNSName) with `ou` in its subject.
Certificate leafWithOu(const PrivateKey& key, const std::string& fqdn, const std::string& ou) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  static long serial = 7000;
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -86400L);
  X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400L);
  X509_set_pubkey(x, key.get());
  X509_NAME* name = X509_get_subject_name(x);
  for (auto [f, v] :
       {std::pair<const char*, std::string>{"O", "braid ike"}, {"OU", ou}, {"CN", fqdn}}) {
    X509_NAME_add_entry_by_txt(name, f, MBSTRING_ASC, reinterpret_cast<const uint8_t*>(v.c_str()),
                               -1, -1, 0);
  }
  X509_set_issuer_name(x, X509_get_subject_name(pki().ca.get()));
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, pki().ca.get(), x, nullptr, nullptr, 0);
  if (X509_EXTENSION* e =
          X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, ("DNS:" + fqdn).c_str())) {
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
  }
  X509_sign(x, pki().caKey.get(), EVP_sha256());
  Certificate c = Certificate::fromX509(x);
  X509_free(x);
  return c;
}

// Groups from certificate fields: the subject OU is the group, and a group with a policy
// narrows TSr and the CP split subnets; an OU without a policy gets the section's.
TEST_F(IkeRemoteAccess, CertificateOuNamesTheGroup) {
  ra->groupSubnets["lab"] = {*IpPrefix::parse("10.2.7.0/24")};
  ASSERT_TRUE(t.b.mgr->addPeer(gw).isOk());
  PeerConfig carol = client("carol", "carol.example");
  carol.localAuth.certs = {leafWithOu(carol.localAuth.key, "carol.example", "lab")};
  PeerConfig dave = client("dave", "dave.example");
  dave.localAuth.certs = {leafWithOu(dave.localAuth.key, "dave.example", "sales")};
  ASSERT_TRUE(t.a.mgr->addPeer(carol).isOk());
  ASSERT_TRUE(t.a.mgr->addPeer(dave).isOk());
  connect("carol");
  ASSERT_EQ(t.b.events.childUp.size(), 1u);
  EXPECT_EQ(t.b.events.childUp[0].localTs, std::vector{ts("10.2.7.0/24")});
  const RemoteAccessState* s = clientState("carol");
  ASSERT_TRUE(s && s->received);
  ASSERT_EQ(s->received->ip4Subnets.size(), 1u);
  EXPECT_EQ(s->received->ip4Subnets[0].toString(), "10.2.7.0/24");
  IkeSa* g = t.b.mgr->findByPeer("rw");
  ASSERT_TRUE(g && g->remoteAccess);
  EXPECT_EQ(g->remoteAccess->group, "lab");
  connect("dave");
  ASSERT_EQ(t.b.events.childUp.size(), 2u);
  EXPECT_EQ(t.b.events.childUp[1].localTs, std::vector{ts("10.2.0.0/16")});
  s = clientState("dave");
  ASSERT_TRUE(s && s->received);
  EXPECT_EQ(s->received->ip4Subnets[0].toString(), "10.2.0.0/16");
}

}  // namespace
}  // namespace braid::ike::test
