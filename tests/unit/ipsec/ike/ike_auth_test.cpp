// Certificate authentication in full exchanges: ECDSA and RSA with RFC 7427 (method 14) and
// the classic methods (1, 9-11), CERTREQ, and the failure cases.
#include <iostream>

#include "ike_harness.hpp"

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

const Creds& creds(KeyType type, const std::string& fqdn) {
  static std::map<std::string, Creds> cache;
  std::string k = std::to_string(static_cast<int>(type)) + fqdn;
  auto it = cache.find(k);
  if (it == cache.end()) {
    Creds c;
    c.key = type == KeyType::kRsa ? *PrivateKey::generateRsa(2048) : *PrivateKey::generateEc(type);
    c.cert = issueLeaf(pki(), c.key, fqdn);
    it = cache.emplace(k, c).first;
  }
  return it->second;
}

class IkeCertAuth : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) {
      for (const auto& l : log.lines) std::cerr << "log: " << l << "\n";
    }
  }
  static void usePubkey(PeerConfig& pc, const Creds& c, std::shared_ptr<TrustStore> cas) {
    pc.localAuth.kind = AuthKind::kPubkey;
    pc.localAuth.key = c.key;
    pc.localAuth.certs = {c.cert};
    pc.remoteAuth.kind = AuthKind::kPubkey;
    pc.remoteAuth.cas = std::move(cas);
  }
  void configure(KeyType ta, KeyType tb, bool rfc7427) {
    pa = pskPeer("to-b", t.b.addr.address, "@a.example", "@b.example", "unused");
    pb = pskPeer("to-a", t.a.addr.address, "@b.example", "@a.example", "unused");
    pa.children.push_back(child("net", {ts("10.1.0.0/16")}, {ts("10.2.0.0/16")}));
    pb.children.push_back(child("net", {ts("10.2.0.0/16")}, {ts("10.1.0.0/16")}));
    usePubkey(pa, creds(ta, "a.example"), pki().store);
    usePubkey(pb, creds(tb, "b.example"), pki().store);
    pa.signatureHashNotify = pb.signatureHashNotify = rfc7427;
  }
  void expectUp() {
    EXPECT_EQ(t.a.events.ikeUp.size(), 1u);
    EXPECT_EQ(t.b.events.ikeUp.size(), 1u);
    EXPECT_EQ(t.a.events.childUp.size(), 1u);
    EXPECT_EQ(t.b.events.childUp.size(), 1u);
  }
  // Decrypts b's copy of a's IKE_AUTH request to read the AUTH method.
  AuthMethod authMethodOfRequest() {
    IkeSa* sa = t.b.mgr->findByPeer("to-a");
    Message m;
    EXPECT_FALSE(m.parse(authRequest));
    EXPECT_FALSE(m.decrypt(*sa->inCipher()));
    const auto* a = m.get<AuthPayload>(PayloadType::kAuth);
    EXPECT_NE(a, nullptr);
    EXPECT_EQ(m.count(PayloadType::kCert), 1u);
    EXPECT_EQ(m.count(PayloadType::kCertReq), 1u);
    return a ? a->method : AuthMethod::kDssSignature;
  }
  void runCapturing() {
    ASSERT_TRUE(t.a.mgr->addPeer(pa).isOk());
    ASSERT_TRUE(t.b.mgr->addPeer(pb).isOk());
    ASSERT_TRUE(t.a.mgr->initiate("to-b", t.a.addr).isOk());
    t.deliver(t.a);
    t.deliver(t.b);
    ASSERT_EQ(t.a.net.out.size(), 1u);
    authRequest = t.a.net.out[0].data;
    t.run();
  }

  LogCapture log;
  TwoParty t;
  PeerConfig pa, pb;
  ByteVec authRequest;
};

TEST_F(IkeCertAuth, EcdsaDigitalSignature) {
  configure(KeyType::kEcP256, KeyType::kEcP384, true);
  runCapturing();
  expectUp();
  EXPECT_EQ(authMethodOfRequest(), AuthMethod::kDigitalSignature);
}

TEST_F(IkeCertAuth, RsaDigitalSignature) {
  configure(KeyType::kRsa, KeyType::kRsa, true);
  runCapturing();
  expectUp();
  EXPECT_EQ(authMethodOfRequest(), AuthMethod::kDigitalSignature);
}

TEST_F(IkeCertAuth, ClassicMethodsWithoutSignatureHashNotify) {
  configure(KeyType::kEcP256, KeyType::kRsa, false);
  runCapturing();
  expectUp();
  EXPECT_EQ(authMethodOfRequest(), AuthMethod::kEcdsaSha256P256);
}

TEST_F(IkeCertAuth, ClassicRsaMethod) {
  configure(KeyType::kRsa, KeyType::kEcP384, false);
  runCapturing();
  expectUp();
  EXPECT_EQ(authMethodOfRequest(), AuthMethod::kRsaSignature);
}

TEST_F(IkeCertAuth, MixedPskAndCertificate) {
  configure(KeyType::kEcP256, KeyType::kEcP256, true);
  // a authenticates with a certificate, b with the PSK (asymmetric auth, RFC 7296 2.15).
  pb.localAuth.kind = AuthKind::kPsk;
  pb.localAuth.psk = SecretBytes(asBytes("k"));
  pa.remoteAuth.kind = AuthKind::kPsk;
  pa.remoteAuth.psk = SecretBytes(asBytes("k"));
  runCapturing();
  expectUp();
}

TEST_F(IkeCertAuth, UntrustedCertificateFails) {
  configure(KeyType::kEcP256, KeyType::kEcP256, true);
  TestPki other = makePki();
  Creds rogue;
  rogue.key = *PrivateKey::generateEc(KeyType::kEcP256);
  rogue.cert = issueLeaf(other, rogue.key, "a.example");
  usePubkey(pa, rogue, pki().store);
  runCapturing();
  EXPECT_EQ(t.b.counters().authFailed, 1u);
  EXPECT_EQ(t.a.counters().authFailedByPeer, 1u);
  EXPECT_EQ(log.count("not trusted"), 1u);
  EXPECT_TRUE(t.b.events.ikeUp.empty());
}

TEST_F(IkeCertAuth, CertificateForAnotherIdentityFails) {
  configure(KeyType::kEcP256, KeyType::kEcP256, true);
  pa.localAuth.certs = {creds(KeyType::kEcP256, "b.example").cert};
  pa.localAuth.key = creds(KeyType::kEcP256, "b.example").key;
  runCapturing();
  EXPECT_EQ(t.b.counters().authFailed, 1u);
  EXPECT_EQ(log.count("does not vouch for identity a.example"), 1u);
}

TEST_F(IkeCertAuth, WrongKeyForCertificateFails) {
  configure(KeyType::kEcP256, KeyType::kEcP256, true);
  pa.localAuth.key = *PrivateKey::generateEc(KeyType::kEcP256);
  runCapturing();
  EXPECT_EQ(t.b.counters().authFailed, 1u);
  EXPECT_EQ(log.count("signature invalid"), 1u);
}

TEST_F(IkeCertAuth, PskWhereSignatureExpectedFails) {
  configure(KeyType::kEcP256, KeyType::kEcP256, true);
  pa.localAuth.kind = AuthKind::kPsk;
  pa.localAuth.psk = SecretBytes(asBytes("k"));
  runCapturing();
  EXPECT_EQ(t.b.counters().authFailed, 1u);
  EXPECT_EQ(log.count("we expect a signature"), 1u);
}

}  // namespace
}  // namespace braid::ike::test
