// X.509 for IKEv2: chains against configured CAs, identities, CERTREQ hashes (RFC 7296 3.6,
// 3.7; RFC 4945). Certificates are generated at test time with OpenSSL.
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <fstream>

#include "crypto_test_support.hpp"
#include "ipsec/ike/auth_cert.hpp"

namespace braid::ike {
namespace {

using test::hexOf;
using test::unhex;

// Builds a certificate for `key` signed by `issuerKey` (self-signed when issuer is null).
// keyUsage: nullptr = the usual one for a CA or a leaf, "" = no extension. eku: "" = none.
Certificate makeCert(const PrivateKey& key, const std::string& cn, const Certificate* issuer,
                     const PrivateKey& issuerKey, bool ca, const std::string& san = "",
                     long notBeforeDays = -1, long notAfterDays = 365,
                     const char* keyUsage = nullptr, const std::string& eku = "") {
  X509* x = X509_new();
  X509_set_version(x, 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), notBeforeDays * 86400L);
  X509_gmtime_adj(X509_getm_notAfter(x), notAfterDays * 86400L);
  X509_set_pubkey(x, key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, reinterpret_cast<const uint8_t*>("CH"), -1,
                             -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const uint8_t*>("braid"), -1,
                             -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const uint8_t*>(cn.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->get()) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer->get() : x, x, nullptr, nullptr, 0);
  auto addExt = [&](int nid, const char* value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    ASSERT_NE(ext, nullptr) << value;
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  };
  addExt(NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  if (keyUsage == nullptr) {
    addExt(NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  } else if (*keyUsage != 0) {
    addExt(NID_key_usage, keyUsage);
  }
  if (!eku.empty()) addExt(NID_ext_key_usage, eku.c_str());
  addExt(NID_subject_key_identifier, "hash");
  if (!san.empty()) addExt(NID_subject_alt_name, san.c_str());
  EXPECT_GT(X509_sign(x, issuerKey.get(), EVP_sha256()), 0);
  Certificate c = Certificate::fromX509(x);
  X509_free(x);
  return c;
}

struct Pki {
  PrivateKey rootKey, interKey, leafKey, otherRootKey;
  Certificate root, inter, leaf, otherRoot;
};

const Pki& pki() {
  static const Pki p = [] {
    Pki k;
    k.rootKey = *PrivateKey::generateEc(KeyType::kEcP384);
    k.interKey = *PrivateKey::generateEc(KeyType::kEcP256);
    k.leafKey = *PrivateKey::generateRsa(2048);
    k.otherRootKey = *PrivateKey::generateEc(KeyType::kEcP256);
    k.root = makeCert(k.rootKey, "braid test root", nullptr, k.rootKey, true);
    k.inter = makeCert(k.interKey, "braid test intermediate", &k.root, k.rootKey, true);
    k.leaf = makeCert(k.leafKey, "gw1.example.com", &k.inter, k.interKey, false,
                      "DNS:gw1.example.com,DNS:gw1-alt.example.com,email:ops@example.com,"
                      "IP:192.0.2.1,IP:2001:db8::1");
    k.otherRoot = makeCert(k.otherRootKey, "braid test root", nullptr, k.otherRootKey, true);
    return k;
  }();
  return p;
}

TEST(IkeCert, ChainVerifies) {
  const auto& p = pki();
  TrustStore store;
  ASSERT_TRUE(store.addCa(p.root));
  const std::vector<Certificate> inter{p.inter};
  EXPECT_TRUE(store.verify(p.leaf, inter)) << store.verify(p.leaf, inter).message();
  // Without the intermediate there is no path.
  Status missing = store.verify(p.leaf);
  EXPECT_FALSE(missing);
  EXPECT_EQ(missing.code(), ErrorCode::kPermissionDenied);
}

TEST(IkeCert, WrongCaFails) {
  const auto& p = pki();
  TrustStore store;
  // Same subject name as the real root, different key: signature check must fail.
  ASSERT_TRUE(store.addCa(p.otherRoot));
  const std::vector<Certificate> inter{p.inter};
  Status st = store.verify(p.leaf, inter);
  EXPECT_FALSE(st);
  EXPECT_NE(st.message().find("gw1.example.com"), std::string::npos) << st.message();
}

TEST(IkeCert, ValidityTime) {
  const auto& p = pki();
  TrustStore store;
  ASSERT_TRUE(store.addCa(p.root));
  const std::vector<Certificate> inter{p.inter};
  const int64_t now = time(nullptr);
  EXPECT_TRUE(store.verify(p.leaf, inter, now));
  EXPECT_FALSE(store.verify(p.leaf, inter, now + 400 * 86400LL));  // expired
  EXPECT_FALSE(store.verify(p.leaf, inter, now - 3 * 86400LL));    // not yet valid
}

TEST(IkeCert, IdentityMatching) {
  const auto& c = pki().leaf;
  EXPECT_EQ(c.dnsNames(), (std::vector<std::string>{"gw1.example.com", "gw1-alt.example.com"}));
  EXPECT_EQ(c.emailNames(), (std::vector<std::string>{"ops@example.com"}));
  ASSERT_EQ(c.ipAddresses().size(), 2u);
  EXPECT_EQ(c.ipAddresses()[0].toString(), "192.0.2.1");
  EXPECT_TRUE(c.matchesIdentity(id_type::kFqdn, asBytes("gw1.example.com")));
  EXPECT_TRUE(c.matchesIdentity(id_type::kFqdn, asBytes("GW1-Alt.Example.com.")));
  EXPECT_FALSE(c.matchesIdentity(id_type::kFqdn, asBytes("gw2.example.com")));
  EXPECT_FALSE(c.matchesIdentity(id_type::kFqdn, asBytes("example.com")));
  EXPECT_TRUE(c.matchesIdentity(id_type::kRfc822Addr, asBytes("OPS@example.com")));
  EXPECT_FALSE(c.matchesIdentity(id_type::kRfc822Addr, asBytes("gw1.example.com")));
  EXPECT_TRUE(c.matchesIdentity(id_type::kIpv4Addr, unhex("c0000201")));
  EXPECT_FALSE(c.matchesIdentity(id_type::kIpv4Addr, unhex("c0000202")));
  EXPECT_TRUE(c.matchesIdentity(id_type::kIpv6Addr, unhex("20010db8000000000000000000000001")));
  EXPECT_FALSE(c.matchesIdentity(id_type::kIpv6Addr, unhex("c0000201")));
  // ID_DER_ASN1_DN: the subject DN as DER.
  const auto dn = c.subjectDer();
  EXPECT_TRUE(c.matchesIdentity(id_type::kDerAsn1Dn, dn));
  EXPECT_FALSE(c.matchesIdentity(id_type::kDerAsn1Dn, pki().inter.subjectDer()));
  EXPECT_FALSE(c.matchesIdentity(id_type::kDerAsn1Dn, Bytes(dn).first(dn.size() - 1)));
  EXPECT_FALSE(c.matchesIdentity(id_type::kKeyId, asBytes("gw1.example.com")));
  EXPECT_EQ(c.subjectText(), "CN=gw1.example.com,O=braid,C=CH");
  EXPECT_EQ(c.issuerText(), "CN=braid test intermediate,O=braid,C=CH");
}

TEST(IkeCert, CertReqHashes) {
  const auto& p = pki();
  TrustStore store;
  ASSERT_TRUE(store.addCa(p.root));
  ASSERT_TRUE(store.addCa(p.otherRoot));
  const auto data = store.certReqData();
  ASSERT_EQ(data.size(), 40u);
  // SHA-1 over the DER SubjectPublicKeyInfo (RFC 7296 3.7).
  const auto spki = p.root.publicKey().spkiDer();
  uint8_t sha1[20];
  unsigned len = 0;
  EVP_Digest(spki.data(), spki.size(), sha1, &len, EVP_sha1(), nullptr);
  EXPECT_EQ(hexOf(Bytes(data).first(20)), hexOf(Bytes(sha1, 20)));
  EXPECT_TRUE(store.certReqNamesOurCa(Bytes(data).subspan(20)));
  TrustStore one;
  ASSERT_TRUE(one.addCa(p.root));
  EXPECT_FALSE(one.certReqNamesOurCa(Bytes(data).subspan(20)));
  EXPECT_FALSE(one.certReqNamesOurCa(Bytes(data).first(19)));
  EXPECT_FALSE(one.certReqNamesOurCa({}));
}

// SHA-1 of the SubjectPublicKeyInfo exactly as the certificate carries it, found by walking
// the DER with ASN1_get_object (neither i2d_PUBKEY nor i2d_X509_PUBKEY is involved).
std::string spkiSha1FromCertDer(const Certificate& c) {
  const auto der = c.der();
  const uint8_t* p = der.data();
  const uint8_t* const end = der.data() + der.size();
  long len = 0;
  int tag = 0, cls = 0;
  auto header = [&] {
    return (ASN1_get_object(&p, &len, &tag, &cls, end - p) & 0x80) == 0 && len <= end - p;
  };
  // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber,
  //   signature, issuer, validity, subject, subjectPublicKeyInfo, ... }, ... }  (RFC 5280 4.1)
  if (!header() || !header()) return "bad DER";
  const uint8_t* field = p;
  if (!header()) return "bad DER";
  int skip = cls == V_ASN1_CONTEXT_SPECIFIC && tag == 0 ? 6 : 5;
  p = field;
  for (int i = 0; i < skip; ++i) {
    if (!header()) return "bad DER";
    p += len;
  }
  field = p;
  if (!header() || tag != V_ASN1_SEQUENCE) return "bad DER";
  p += len;
  uint8_t sha1[20];
  unsigned mdLen = 0;
  EVP_Digest(field, static_cast<size_t>(p - field), sha1, &mdLen, EVP_sha1(), nullptr);
  return hexOf(Bytes(sha1, mdLen));
}

TEST(IkeCert, CertReqHashIsSha1OfSpkiForRsaAndEcdsaCas) {
  const auto rsaKey = *PrivateKey::generateRsa(2048);
  const Certificate rsaCa = makeCert(rsaKey, "braid rsa root", nullptr, rsaKey, true);
  const Certificate& ecCa = pki().root;  // ECDSA P-384
  ASSERT_EQ(rsaCa.publicKey().type(), KeyType::kRsa);
  TrustStore store;
  ASSERT_TRUE(store.addCa(rsaCa));
  ASSERT_TRUE(store.addCa(ecCa));
  const auto data = store.certReqData();
  ASSERT_EQ(data.size(), 40u);
  const std::string rsaHash = spkiSha1FromCertDer(rsaCa);
  const std::string ecHash = spkiSha1FromCertDer(ecCa);
  ASSERT_EQ(rsaHash.size(), 40u) << rsaHash;
  EXPECT_NE(rsaHash, ecHash);
  EXPECT_EQ(hexOf(Bytes(data).first(20)), rsaHash);
  EXPECT_EQ(hexOf(Bytes(data).subspan(20)), ecHash);
  EXPECT_EQ(hexOf(rsaCa.spkiSha1()), rsaHash);
  EXPECT_EQ(hexOf(ecCa.spkiSha1()), ecHash);
  // The same bytes as hashing the key's own encoding (what CERTREQ used before).
  for (const Certificate* c : {&rsaCa, &ecCa}) {
    const auto spki = c->publicKey().spkiDer();
    uint8_t sha1[20];
    unsigned len = 0;
    EVP_Digest(spki.data(), spki.size(), sha1, &len, EVP_sha1(), nullptr);
    EXPECT_EQ(hexOf(c->spkiSha1()), hexOf(Bytes(sha1, len)));
  }
  EXPECT_TRUE(store.certReqNamesOurCa(Bytes(data).subspan(20)));
  // A store moved from keeps its hashes with it.
  TrustStore moved = std::move(store);
  EXPECT_EQ(moved.certReqData(), data);
  EXPECT_TRUE(moved.certReqNamesOurCa(Bytes(data).first(20)));
}

TEST(IkeCert, DerPemAndFiles) {
  const auto& p = pki();
  auto der = Certificate::fromDer(p.leaf.der());
  ASSERT_TRUE(der);
  EXPECT_EQ(der->der(), p.leaf.der());
  auto trailing = p.leaf.der();
  trailing.push_back(0);
  EXPECT_FALSE(Certificate::fromDer(trailing));
  EXPECT_FALSE(Certificate::fromDer(unhex("3003020101")));

  const std::string path = ::testing::TempDir() + "braid_ike_chain.pem";
  {
    std::ofstream f(path);
    f << p.leaf.toPem() << p.inter.toPem();
  }
  auto chain = Certificate::loadPemFile(path);
  ASSERT_TRUE(chain);
  ASSERT_EQ(chain->size(), 2u);
  EXPECT_EQ((*chain)[1].subjectText(), p.inter.subjectText());
  TrustStore store;
  const std::string caPath = ::testing::TempDir() + "braid_ike_ca.pem";
  {
    std::ofstream f(caPath);
    f << p.root.toPem();
  }
  ASSERT_TRUE(store.addCaFile(caPath));
  EXPECT_TRUE(store.verify((*chain)[0], std::span(*chain).subspan(1)));
  std::remove(path.c_str());
  std::remove(caPath.c_str());
  EXPECT_FALSE(Certificate::loadPemFile("/nonexistent.pem"));
  EXPECT_FALSE(Certificate::allFromPem("no certificate here"));

  // The leaf's public key verifies what the leaf's private key signed.
  const auto octets = unhex("0102");
  auto choice = chooseSignature(p.leafKey, supportedSignatureHashes());
  auto sig = signAuth(p.leafKey, *choice, octets);
  ASSERT_TRUE(sig);
  EXPECT_TRUE(verifyAuth(der->publicKey(), choice->method, *sig, octets));
}

// ---- RFC 4945 key usage -------------------------------------------------------------------

// A leaf for "gw1.example.com" straight from the root, with the given extensions.
Certificate usageLeaf(const char* keyUsage, const std::string& eku = "") {
  const auto& p = pki();
  return makeCert(p.leafKey, "gw1.example.com", &p.root, p.rootKey, false, "DNS:gw1.example.com",
                  -1, 365, keyUsage, eku);
}

TEST(IkeCert, LeafKeyUsageMustAllowSignatures) {
  const auto& p = pki();
  TrustStore store;
  ASSERT_TRUE(store.addCa(p.root));
  // RFC 4945 5.1.3.2: digitalSignature or nonRepudiation; absent keyUsage = any use.
  for (const char* ok :
       {"critical,digitalSignature", "nonRepudiation", "digitalSignature,keyEncipherment", ""}) {
    Status st = store.verify(usageLeaf(ok));
    EXPECT_TRUE(st) << ok << ": " << st.message();
  }
  for (const char* bad : {"critical,keyEncipherment", "keyAgreement", "dataEncipherment"}) {
    Status st = store.verify(usageLeaf(bad));
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.code(), ErrorCode::kPermissionDenied);
    EXPECT_NE(st.message().find("keyUsage has neither digitalSignature nor nonRepudiation"),
              std::string::npos)
        << st.message();
    EXPECT_NE(st.message().find("gw1.example.com"), std::string::npos) << st.message();
  }
}

TEST(IkeCert, LeafExtendedKeyUsage) {
  const auto& p = pki();
  TrustStore store;
  ASSERT_TRUE(store.addCa(p.root));
  // RFC 4945 5.1.3.12 (ipsecIKE, anyExtendedKeyUsage) and what Windows/cloud PKIs issue.
  for (const char* ok :
       {"ipsecIKE", "anyExtendedKeyUsage", "serverAuth", "clientAuth", "emailProtection,serverAuth",
        "critical,1.3.6.1.5.5.8.2.2", "1.3.6.1.5.5.7.3.17"}) {
    Status st = store.verify(usageLeaf(nullptr, ok));
    EXPECT_TRUE(st) << ok << ": " << st.message();
  }
  for (const char* bad : {"emailProtection", "codeSigning,timeStamping", "1.2.3.4"}) {
    Status st = store.verify(usageLeaf(nullptr, bad));
    ASSERT_FALSE(st) << bad;
    EXPECT_NE(st.message().find("extendedKeyUsage has none of ipsecIKE"), std::string::npos)
        << st.message();
  }
  // No extensions at all: accepted (RFC 4945 5.1.3.2, 5.1.3.12: checks apply where present).
  EXPECT_TRUE(store.verify(usageLeaf("")));
}

TEST(IkeCert, CaWithoutKeyCertSignIsRefused) {
  const auto& p = pki();
  // An intermediate that says CA:TRUE but whose keyUsage does not allow certificate signing.
  const Certificate badInter = makeCert(p.interKey, "braid test intermediate", &p.root, p.rootKey,
                                        true, "", -1, 365, "critical,digitalSignature,cRLSign");
  const Certificate leaf = makeCert(p.leafKey, "gw1.example.com", &badInter, p.interKey, false);
  TrustStore store;
  ASSERT_TRUE(store.addCa(p.root));
  Status st = store.verify(leaf, std::vector<Certificate>{badInter});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), ErrorCode::kPermissionDenied);
  // OpenSSL's path validation already refuses it (X509_check_ca) and names the intermediate.
  EXPECT_NE(st.message().find("invalid CA certificate"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("CN=braid test intermediate"), std::string::npos) << st.message();

  // A trust anchor without keyCertSign is refused the same way (OpenSSL 3 checks the anchor's
  // keyUsage too).
  const Certificate badRoot = makeCert(p.rootKey, "braid test root", nullptr, p.rootKey, true, "",
                                       -1, 365, "critical,digitalSignature");
  const Certificate leaf2 = makeCert(p.leafKey, "gw1.example.com", &badRoot, p.rootKey, false);
  TrustStore anchors;
  ASSERT_TRUE(anchors.addCa(badRoot));
  st = anchors.verify(leaf2);
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("invalid CA certificate (CN=braid test root"), std::string::npos)
      << st.message();
  // The same anchor without keyUsage at all is fine.
  const Certificate plainRoot =
      makeCert(p.rootKey, "braid test root", nullptr, p.rootKey, true, "", -1, 365, "");
  TrustStore plain;
  ASSERT_TRUE(plain.addCa(plainRoot));
  EXPECT_TRUE(plain.verify(makeCert(p.leafKey, "gw1.example.com", &plainRoot, p.rootKey, false)));
}

// ---- CRLs -------------------------------------------------------------------------------

// A CRL from `issuer` listing `revoked`, valid from yesterday until `nextUpdateDays`.
std::shared_ptr<X509_CRL> makeCrl(const Certificate& issuer, const PrivateKey& key,
                                  const std::vector<const Certificate*>& revoked,
                                  long nextUpdateDays = 30) {
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);  // v2
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer.get()));
  ASN1_TIME* t = ASN1_TIME_adj(nullptr, time(nullptr), -1, 0);
  X509_CRL_set1_lastUpdate(crl, t);
  ASN1_TIME_adj(t, time(nullptr), static_cast<int>(nextUpdateDays), 0);
  X509_CRL_set1_nextUpdate(crl, t);
  ASN1_TIME_adj(t, time(nullptr), 0, -3600);
  for (const Certificate* c : revoked) {
    X509_REVOKED* r = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(c->get()));
    X509_REVOKED_set_revocationDate(r, t);
    X509_CRL_add0_revoked(crl, r);
  }
  ASN1_TIME_free(t);
  X509_CRL_sort(crl);
  EXPECT_GT(X509_CRL_sign(crl, key.get(), EVP_sha256()), 0);
  return {crl, [](X509_CRL* c) { X509_CRL_free(c); }};
}

std::string crlPem(const std::shared_ptr<X509_CRL>& crl) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_CRL(bio, crl.get());
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

std::string crlDer(const std::shared_ptr<X509_CRL>& crl) {
  const int len = i2d_X509_CRL(crl.get(), nullptr);
  std::string out(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  i2d_X509_CRL(crl.get(), &p);
  return out;
}

// Two leaves from the intermediate; the intermediate from the root (as pki()).
struct CrlPki {
  Certificate good, bad;
  std::vector<Certificate> inter{pki().inter};
};
const CrlPki& crlPki() {
  static const CrlPki c = [] {
    const auto& p = pki();
    CrlPki k;
    k.good = makeCert(p.leafKey, "good.example.com", &p.inter, p.interKey, false);
    k.bad = makeCert(p.leafKey, "bad.example.com", &p.inter, p.interKey, false);
    return k;
  }();
  return c;
}

TEST(IkeCert, RevokedCertificateIsRefused) {
  const auto& p = pki();
  const auto& c = crlPki();
  TrustStore store;
  ASSERT_TRUE(store.addCa(p.root));
  // Without a CRL both verify; nothing asks for revocation data.
  EXPECT_TRUE(store.verify(c.bad, c.inter));
  ASSERT_TRUE(store.addCrls(crlPem(makeCrl(p.inter, p.interKey, {&c.bad}))));
  EXPECT_EQ(store.crlCount(), 1u);
  Status st = store.verify(c.bad, c.inter);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(st.message().find("revoked"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("bad.example.com"), std::string::npos) << st.message();
  // The other leaf is not on the list; the root has no CRL, so the intermediate is not checked.
  st = store.verify(c.good, c.inter);
  EXPECT_TRUE(st) << st.message();
}

TEST(IkeCert, RevokedIntermediateIsRefused) {
  const auto& p = pki();
  const auto& c = crlPki();
  TrustStore store;
  ASSERT_TRUE(store.addCa(p.root));
  // DER this time; the root's CRL revokes the intermediate, so every leaf below it fails.
  ASSERT_TRUE(store.addCrls(crlDer(makeCrl(p.root, p.rootKey, {&p.inter}))));
  Status st = store.verify(c.good, c.inter);
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("revoked (CN=braid test intermediate"), std::string::npos)
      << st.message();
  // An empty CRL from the root lets it through.
  TrustStore clean;
  ASSERT_TRUE(clean.addCa(p.root));
  ASSERT_TRUE(clean.addCrls(crlDer(makeCrl(p.root, p.rootKey, {}))));
  ASSERT_TRUE(clean.addCrls(crlPem(makeCrl(p.inter, p.interKey, {}))));
  EXPECT_EQ(clean.crlCount(), 2u);
  st = clean.verify(c.good, c.inter);
  EXPECT_TRUE(st) << st.message();
}

TEST(IkeCert, ExpiredOrForgedCrlRefuses) {
  const auto& p = pki();
  const auto& c = crlPki();
  const int64_t now = time(nullptr);
  TrustStore store;
  ASSERT_TRUE(store.addCa(p.root));
  ASSERT_TRUE(store.addCrls(crlPem(makeCrl(p.inter, p.interKey, {}, 2))));
  EXPECT_TRUE(store.verify(c.good, c.inter, now));
  // Past nextUpdate: fail closed (the certificates themselves are still valid then).
  Status st = store.verify(c.good, c.inter, now + 5 * 86400LL);
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("CRL has expired"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("load a fresh one"), std::string::npos) << st.message();
  // A CRL in the intermediate's name signed by another key is not believed.
  TrustStore forged;
  ASSERT_TRUE(forged.addCa(p.root));
  ASSERT_TRUE(forged.addCrls(crlPem(makeCrl(p.inter, p.otherRootKey, {}))));
  st = forged.verify(c.good, c.inter);
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("CRL signature failure"), std::string::npos) << st.message();
}

TEST(IkeCert, CrlFiles) {
  const auto& p = pki();
  const auto& c = crlPki();
  const std::string dir = ::testing::TempDir();
  auto write = [&](const std::string& name, const std::string& data) {
    std::ofstream(dir + name, std::ios::binary) << data;
    return dir + name;
  };
  // Two PEM CRLs in one file.
  const std::string both =
      write("braid_crls.pem", crlPem(makeCrl(p.root, p.rootKey, {})) +
                                  crlPem(makeCrl(p.inter, p.interKey, {&c.bad})));
  const std::string der = write("braid_crl.der", crlDer(makeCrl(p.inter, p.interKey, {&c.bad})));
  const std::string junk = write("braid_crl.junk", "not a CRL\n");
  const std::string cert = write("braid_cert.pem", p.root.toPem());
  TrustStore store;
  ASSERT_TRUE(store.addCa(p.root));
  ASSERT_TRUE(store.addCrlFile(both));
  EXPECT_EQ(store.crlCount(), 2u);
  EXPECT_FALSE(store.verify(c.bad, c.inter));
  TrustStore derStore;
  ASSERT_TRUE(derStore.addCa(p.root));
  ASSERT_TRUE(derStore.addCrlFile(der));
  EXPECT_FALSE(derStore.verify(c.bad, c.inter));
  EXPECT_TRUE(derStore.verify(c.good, c.inter));
  for (const std::string& bad : {junk, cert, dir + "braid_nonexistent.crl"}) {
    Status st = store.addCrlFile(bad);
    ASSERT_FALSE(st) << bad;
    EXPECT_NE(st.message().find(bad), std::string::npos) << st.message();
  }
  EXPECT_EQ(store.crlCount(), 2u);
  // A truncated DER CRL is refused, not half-read.
  const std::string full = crlDer(makeCrl(p.inter, p.interKey, {}));
  EXPECT_FALSE(store.addCrls(full.substr(0, full.size() - 1)));
  for (const auto& f : {both, der, junk, cert}) std::remove(f.c_str());
}

}  // namespace
}  // namespace braid::ike
