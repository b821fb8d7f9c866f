// Certificate policy in full exchanges: a peer certificate refused for its key usage (RFC 4945
// 5.1.3.2, 5.1.3.12) or because a configured CRL revokes it gets AUTHENTICATION_FAILED, with
// the reason in the responder's one log line; the same setup with an acceptable certificate
// comes up.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ike_harness.hpp"

namespace braid::ike::test {
namespace {

const TestPki& pki() {
  static const TestPki p = makePki();
  return p;
}

// A leaf for `fqdn` signed by the test CA with the given keyUsage / extendedKeyUsage ("" =
// extension absent).
Certificate leafWith(const PrivateKey& key, const std::string& fqdn, const std::string& ku,
                     const std::string& eku) {
  static long serial = 5000;
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -86400L);
  X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400L);
  X509_set_pubkey(x, key.get());
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             reinterpret_cast<const uint8_t*>(fqdn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(pki().ca.get()));
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, pki().ca.get(), x, nullptr, nullptr, 0);
  auto ext = [&](int nid, const std::string& value) {
    if (value.empty()) return;
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    EXPECT_NE(e, nullptr) << value;
    if (e == nullptr) return;
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
  };
  ext(NID_basic_constraints, "critical,CA:FALSE");
  ext(NID_key_usage, ku);
  ext(NID_ext_key_usage, eku);
  ext(NID_subject_alt_name, "DNS:" + fqdn);
  X509_sign(x, pki().caKey.get(), EVP_sha256());
  Certificate c = Certificate::fromX509(x);
  X509_free(x);
  return c;
}

// PEM of a CRL from the test CA that revokes `revoked`.
std::string crlRevoking(const Certificate& revoked) {
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(pki().ca.get()));
  ASN1_TIME* t = ASN1_TIME_adj(nullptr, time(nullptr), -1, 0);
  X509_CRL_set1_lastUpdate(crl, t);
  ASN1_TIME_adj(t, time(nullptr), 7, 0);
  X509_CRL_set1_nextUpdate(crl, t);
  X509_REVOKED* r = X509_REVOKED_new();
  X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(revoked.get()));
  ASN1_TIME_adj(t, time(nullptr), 0, -60);
  X509_REVOKED_set_revocationDate(r, t);
  X509_CRL_add0_revoked(crl, r);
  ASN1_TIME_free(t);
  X509_CRL_sort(crl);
  X509_CRL_sign(crl, pki().caKey.get(), EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_CRL(bio, crl);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  X509_CRL_free(crl);
  return out;
}

class IkeCertPolicy : public IkeTwoPartyTest {
 protected:
  // a authenticates with `aCert`; b checks it against `bStore`. b uses a plain leaf.
  void usePubkey(const Certificate& aCert, std::shared_ptr<TrustStore> bStore) {
    static const PrivateKey bKey = *PrivateKey::generateEc(KeyType::kEcP256);
    pa.localAuth.kind = AuthKind::kPubkey;
    pa.localAuth.key = aKey();
    pa.localAuth.certs = {aCert};
    pa.remoteAuth.kind = AuthKind::kPubkey;
    pa.remoteAuth.cas = pki().store;
    pb.localAuth.kind = AuthKind::kPubkey;
    pb.localAuth.key = bKey;
    pb.localAuth.certs = {leafWith(bKey, "b.example", "critical,digitalSignature", "")};
    pb.remoteAuth.kind = AuthKind::kPubkey;
    pb.remoteAuth.cas = std::move(bStore);
  }
  static const PrivateKey& aKey() {
    static const PrivateKey k = *PrivateKey::generateEc(KeyType::kEcP256);
    return k;
  }
  void expectRefused(const std::string& reason) {
    start();
    t.run();
    EXPECT_EQ(t.b.counters().authFailed, 1u);
    EXPECT_EQ(t.a.counters().authFailedByPeer, 1u);
    EXPECT_TRUE(t.b.events.ikeUp.empty());
    EXPECT_TRUE(t.a.events.ikeUp.empty());
    EXPECT_EQ(log.count("not trusted"), 1u);
    EXPECT_EQ(log.count(reason), 1u) << reason;
    EXPECT_EQ(log.count("AUTHENTICATION_FAILED"), 2u);  // b's cause, a's refusal
  }
};

TEST_F(IkeCertPolicy, KeyEnciphermentOnlyLeafIsRefused) {
  usePubkey(leafWith(aKey(), "a.example", "critical,keyEncipherment", ""), pki().store);
  expectRefused("keyUsage has neither digitalSignature nor nonRepudiation");
}

TEST_F(IkeCertPolicy, EmailProtectionOnlyLeafIsRefused) {
  usePubkey(leafWith(aKey(), "a.example", "digitalSignature", "emailProtection"), pki().store);
  expectRefused("extendedKeyUsage has none of ipsecIKE");
}

TEST_F(IkeCertPolicy, IpsecIkeLeafComesUp) {
  usePubkey(leafWith(aKey(), "a.example", "critical,digitalSignature", "ipsecIKE"), pki().store);
  start();
  t.run();
  EXPECT_EQ(t.a.events.childUp.size(), 1u);
  EXPECT_EQ(t.b.events.childUp.size(), 1u);
  EXPECT_TRUE(log.lines.empty()) << log.lines[0];
}

TEST_F(IkeCertPolicy, RevokedLeafIsRefused) {
  const Certificate revoked = leafWith(aKey(), "a.example", "digitalSignature", "");
  auto store = std::make_shared<TrustStore>();
  ASSERT_TRUE(store->addCa(pki().ca));
  ASSERT_TRUE(store->addCrls(crlRevoking(revoked)));
  usePubkey(revoked, store);
  expectRefused("certificate revoked");
}

TEST_F(IkeCertPolicy, NotRevokedLeafComesUpWithCrlLoaded) {
  const Certificate revoked = leafWith(aKey(), "a.example", "digitalSignature", "");
  const Certificate fresh = leafWith(aKey(), "a.example", "digitalSignature", "");
  auto store = std::make_shared<TrustStore>();
  ASSERT_TRUE(store->addCa(pki().ca));
  ASSERT_TRUE(store->addCrls(crlRevoking(revoked)));
  usePubkey(fresh, store);
  start();
  t.run();
  EXPECT_EQ(t.b.events.ikeUp.size(), 1u);
  EXPECT_EQ(t.b.events.childUp.size(), 1u);
  EXPECT_TRUE(log.lines.empty()) << log.lines[0];
}

}  // namespace
}  // namespace braid::ike::test
