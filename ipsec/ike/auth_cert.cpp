#include "ipsec/ike/auth_cert.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace braid::ike {
namespace {

struct Free {
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_NAME* p) const { X509_NAME_free(p); }
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
  void operator()(STACK_OF(X509) * p) const { sk_X509_free(p); }
  void operator()(EXTENDED_KEY_USAGE* p) const { EXTENDED_KEY_USAGE_free(p); }
  void operator()(ASN1_OBJECT* p) const { ASN1_OBJECT_free(p); }
};
template <typename T>
using Ptr = std::unique_ptr<T, Free>;

std::shared_ptr<X509> share(X509* x) {
  return {x, [](X509* c) { X509_free(c); }};
}

std::string nameText(const X509_NAME* name) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

// Calls f(GENERAL_NAME*) for every subjectAltName entry.
template <typename F>
void forEachSan(X509* x, F f) {
  Ptr<GENERAL_NAMES> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i)
    f(sk_GENERAL_NAME_value(names.get(), i));
}

std::string asn1Text(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

bool equalsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view stripDot(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return s;
}

std::shared_ptr<X509_CRL> shareCrl(X509_CRL* c) {
  return {c, [](X509_CRL* p) { X509_CRL_free(p); }};
}

// RFC 4945 5.1.3.2: a signing key for IKE needs digitalSignature or nonRepudiation.
bool leafKeyUsageOk(X509* x) {
  if ((X509_get_extension_flags(x) & EXFLAG_KUSAGE) == 0) return true;
  return (X509_get_key_usage(x) & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) != 0;
}

// RFC 4945 5.1.3.12 accepts anyExtendedKeyUsage and id-kp-ipsecIKE. Certificates from
// Windows/Azure/AWS PKIs carry serverAuth/clientAuth (and Microsoft's iKEIntermediate)
// instead, and strongSwan does not reject them, so braid accepts those too.
bool leafExtendedKeyUsageOk(X509* x) {
  if ((X509_get_extension_flags(x) & EXFLAG_XKUSAGE) == 0) return true;
  Ptr<EXTENDED_KEY_USAGE> eku(
      static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(x, NID_ext_key_usage, nullptr, nullptr)));
  if (!eku) return false;  // present but undecodable: refuse
  Ptr<ASN1_OBJECT> ikeIntermediate(OBJ_txt2obj("1.3.6.1.5.5.8.2.2", 1));
  for (int i = 0; i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
    const ASN1_OBJECT* o = sk_ASN1_OBJECT_value(eku.get(), i);
    switch (OBJ_obj2nid(o)) {
      case NID_anyExtendedKeyUsage:
      case NID_ipsec_IKE:
      case NID_server_auth:
      case NID_client_auth:
        return true;
      default:
        if (ikeIntermediate && OBJ_cmp(o, ikeIntermediate.get()) == 0) return true;
    }
  }
  return false;
}

// Revocation is checked only where a CRL from the certificate's issuer is loaded:
// X509_V_FLAG_CRL_CHECK_ALL asks for a CRL for every certificate in the chain, and this
// callback forgives a missing one when we have none from that issuer (RFC 5280 6.3 leaves
// the choice of CRLs to the relying party).
int verifyCallback(int ok, X509_STORE_CTX* ctx) {
  if (ok != 0 || X509_STORE_CTX_get_error(ctx) != X509_V_ERR_UNABLE_TO_GET_CRL) return ok;
  const auto* crls =
      static_cast<const std::vector<std::shared_ptr<X509_CRL>>*>(X509_STORE_CTX_get_app_data(ctx));
  X509* cert = X509_STORE_CTX_get_current_cert(ctx);
  if (crls == nullptr || cert == nullptr) return ok;
  const X509_NAME* issuer = X509_get_issuer_name(cert);
  for (const auto& crl : *crls) {
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), issuer) == 0) return ok;
  }
  return 1;
}

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ErrorCode::kIoError, path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<Certificate> Certificate::fromDer(Bytes der) {
  const uint8_t* p = der.data();
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (x == nullptr || p != der.data() + der.size()) {
    X509_free(x);
    ERR_clear_error();
    return Status(ErrorCode::kParseError, "bad DER certificate");
  }
  Certificate c;
  c.x509_ = share(x);
  return c;
}

Result<std::vector<Certificate>> Certificate::allFromPem(std::string_view pem) {
  Ptr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status(ErrorCode::kInternal, "BIO");
  std::vector<Certificate> out;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    Certificate c;
    c.x509_ = share(x);
    out.push_back(std::move(c));
  }
  ERR_clear_error();  // the loop ends on "no start line"
  if (out.empty()) return Status(ErrorCode::kParseError, "no PEM certificate");
  return out;
}

Result<Certificate> Certificate::fromPem(std::string_view pem) {
  auto all = allFromPem(pem);
  if (!all) return all.status();
  return all->front();
}

Result<std::vector<Certificate>> Certificate::loadPemFile(const std::string& path) {
  auto text = readFile(path);
  if (!text) return text.status();
  auto all = allFromPem(*text);
  if (!all) return Status(all.status().code(), path + ": " + all.status().message());
  return all;
}

Certificate Certificate::fromX509(X509* x509) {
  Certificate c;
  if (x509 != nullptr && X509_up_ref(x509) == 1) c.x509_ = share(x509);
  return c;
}

std::vector<uint8_t> Certificate::der() const {
  if (!x509_) return {};
  const int len = i2d_X509(x509_.get(), nullptr);
  if (len <= 0) return {};
  std::vector<uint8_t> out(static_cast<size_t>(len));
  uint8_t* p = out.data();
  i2d_X509(x509_.get(), &p);
  return out;
}

std::string Certificate::toPem() const {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!x509_ || !bio || PEM_write_bio_X509(bio.get(), x509_.get()) != 1) return {};
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::vector<uint8_t> Certificate::subjectDer() const {
  if (!x509_) return {};
  const X509_NAME* name = X509_get_subject_name(x509_.get());
  const int len = i2d_X509_NAME(name, nullptr);
  if (len <= 0) return {};
  std::vector<uint8_t> out(static_cast<size_t>(len));
  uint8_t* p = out.data();
  i2d_X509_NAME(name, &p);
  return out;
}

std::string Certificate::subjectText() const {
  return x509_ ? nameText(X509_get_subject_name(x509_.get())) : std::string();
}

std::string Certificate::issuerText() const {
  return x509_ ? nameText(X509_get_issuer_name(x509_.get())) : std::string();
}

std::vector<std::string> Certificate::dnsNames() const {
  std::vector<std::string> out;
  if (x509_) {
    forEachSan(x509_.get(), [&](GENERAL_NAME* gn) {
      if (gn->type == GEN_DNS) out.push_back(asn1Text(gn->d.dNSName));
    });
  }
  return out;
}

std::vector<std::string> Certificate::emailNames() const {
  std::vector<std::string> out;
  if (x509_) {
    forEachSan(x509_.get(), [&](GENERAL_NAME* gn) {
      if (gn->type == GEN_EMAIL) out.push_back(asn1Text(gn->d.rfc822Name));
    });
  }
  return out;
}

std::vector<IpAddress> Certificate::ipAddresses() const {
  std::vector<IpAddress> out;
  if (x509_) {
    forEachSan(x509_.get(), [&](GENERAL_NAME* gn) {
      if (gn->type != GEN_IPADD) return;
      const auto* s = gn->d.iPAddress;
      auto ip = IpAddress::fromBytes(
          Bytes(ASN1_STRING_get0_data(s), static_cast<size_t>(ASN1_STRING_length(s))));
      if (ip) out.push_back(*ip);
    });
  }
  return out;
}

PublicKey Certificate::publicKey() const {
  return x509_ ? PublicKey::fromEvp(X509_get0_pubkey(x509_.get())) : PublicKey();
}

std::array<uint8_t, kCertReqHashLength> Certificate::spkiSha1() const {
  // The certificate's own SubjectPublicKeyInfo through i2d_X509_PUBKEY: the same DER as
  // i2d_PUBKEY of the key, without OpenSSL 3's OSSL_ENCODER round trip (~90 us per call).
  std::array<uint8_t, kCertReqHashLength> out{};
  const X509_PUBKEY* spki = x509_ ? X509_get_X509_PUBKEY(x509_.get()) : nullptr;
  const int len = spki != nullptr ? i2d_X509_PUBKEY(spki, nullptr) : 0;
  if (len <= 0) return out;
  std::vector<uint8_t> der(static_cast<size_t>(len));
  uint8_t* p = der.data();
  i2d_X509_PUBKEY(spki, &p);
  unsigned mdLen = 0;
  EVP_Digest(der.data(), der.size(), out.data(), &mdLen, EVP_sha1(), nullptr);
  return out;
}

bool Certificate::matchesIdentity(uint8_t idType, Bytes idData) const {
  if (!x509_ || idData.empty()) return false;
  const std::string_view text(reinterpret_cast<const char*>(idData.data()), idData.size());
  switch (idType) {
    case id_type::kDerAsn1Dn: {
      const uint8_t* p = idData.data();
      Ptr<X509_NAME> name(d2i_X509_NAME(nullptr, &p, static_cast<long>(idData.size())));
      if (!name || p != idData.data() + idData.size()) {
        ERR_clear_error();
        return false;
      }
      // X509_NAME_cmp compares canonical encodings (case and spacing normalised).
      return X509_NAME_cmp(name.get(), X509_get_subject_name(x509_.get())) == 0;
    }
    case id_type::kFqdn: {
      const auto names = dnsNames();
      return std::any_of(names.begin(), names.end(), [&](const std::string& n) {
        return equalsNoCase(stripDot(n), stripDot(text));
      });
    }
    case id_type::kRfc822Addr: {
      const auto names = emailNames();
      return std::any_of(names.begin(), names.end(),
                         [&](const std::string& n) { return equalsNoCase(n, text); });
    }
    case id_type::kIpv4Addr:
    case id_type::kIpv6Addr: {
      if (idData.size() != (idType == id_type::kIpv4Addr ? 4u : 16u)) return false;
      auto ip = IpAddress::fromBytes(idData);
      const auto ips = ipAddresses();
      return ip && std::find(ips.begin(), ips.end(), *ip) != ips.end();
    }
    default:
      return false;
  }
}

// ---- trust store -------------------------------------------------------------------------
TrustStore::TrustStore() : store_(X509_STORE_new()) {}
TrustStore::~TrustStore() {
  X509_STORE_free(store_);
}
TrustStore::TrustStore(TrustStore&& o) noexcept
    : store_(std::exchange(o.store_, nullptr)),
      cas_(std::move(o.cas_)),
      crls_(std::move(o.crls_)),
      certReq_(std::move(o.certReq_)) {}
TrustStore& TrustStore::operator=(TrustStore&& o) noexcept {
  if (this != &o) {
    X509_STORE_free(store_);
    store_ = std::exchange(o.store_, nullptr);
    cas_ = std::move(o.cas_);
    crls_ = std::move(o.crls_);
    certReq_ = std::move(o.certReq_);
  }
  return *this;
}

Status TrustStore::addCa(const Certificate& ca) {
  if (!ca.valid() || store_ == nullptr) return Status(ErrorCode::kInvalidArgument, "no CA");
  if (X509_STORE_add_cert(store_, ca.get()) != 1) {
    ERR_clear_error();
    return Status(ErrorCode::kInvalidArgument, "cannot add CA " + ca.subjectText());
  }
  cas_.push_back(ca);
  // Hashed once here: CERTREQ is built on every IKE_SA_INIT/IKE_AUTH (RFC 7296 3.7).
  const auto h = ca.spkiSha1();
  certReq_.insert(certReq_.end(), h.begin(), h.end());
  return Status::ok();
}

Status TrustStore::addCaFile(const std::string& pemPath) {
  auto certs = Certificate::loadPemFile(pemPath);
  if (!certs) return certs.status();
  for (const auto& c : *certs) {
    if (Status st = addCa(c); !st) return Status(st.code(), pemPath + ": " + st.message());
  }
  return Status::ok();
}

Status TrustStore::addCrls(std::string_view data) {
  if (store_ == nullptr) return Status(ErrorCode::kInvalidArgument, "no store");
  std::vector<std::shared_ptr<X509_CRL>> found;
  Ptr<BIO> bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) return Status(ErrorCode::kInternal, "BIO");
  while (X509_CRL* c = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) {
    found.push_back(shareCrl(c));
  }
  ERR_clear_error();  // the loop ends on "no start line"
  if (found.empty()) {
    const auto* p = reinterpret_cast<const uint8_t*>(data.data());
    X509_CRL* c = d2i_X509_CRL(nullptr, &p, static_cast<long>(data.size()));
    if (c != nullptr && p == reinterpret_cast<const uint8_t*>(data.data()) + data.size()) {
      found.push_back(shareCrl(c));
    } else {
      X509_CRL_free(c);
      ERR_clear_error();
      return Status(ErrorCode::kParseError, "no CRL (neither PEM 'X509 CRL' blocks nor DER)");
    }
  }
  for (auto& c : found) {
    if (X509_STORE_add_crl(store_, c.get()) != 1) {
      ERR_clear_error();
      return Status(ErrorCode::kInvalidArgument,
                    "cannot add the CRL of " + nameText(X509_CRL_get_issuer(c.get())));
    }
    crls_.push_back(std::move(c));
  }
  return Status::ok();
}

Status TrustStore::addCrlFile(const std::string& path) {
  auto text = readFile(path);
  if (!text) return text.status();
  if (Status st = addCrls(*text); !st) return Status(st.code(), path + ": " + st.message());
  return Status::ok();
}

std::vector<uint8_t> TrustStore::certReqData() const {
  return certReq_;
}

bool TrustStore::certReqNamesOurCa(Bytes data) const {
  if (data.empty() || data.size() % kCertReqHashLength != 0) return false;
  for (size_t off = 0; off < data.size(); off += kCertReqHashLength) {
    const Bytes theirs = data.subspan(off, kCertReqHashLength);
    for (size_t ours = 0; ours < certReq_.size(); ours += kCertReqHashLength) {
      if (std::equal(theirs.begin(), theirs.end(),
                     certReq_.begin() + static_cast<ptrdiff_t>(ours))) {
        return true;
      }
    }
  }
  return false;
}

Status TrustStore::verify(const Certificate& leaf, std::span<const Certificate> intermediates,
                          std::optional<int64_t> atTime) const {
  if (!leaf.valid() || store_ == nullptr) {
    return Status(ErrorCode::kInvalidArgument, "no certificate to verify");
  }
  Ptr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  Ptr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!untrusted || !ctx) return Status(ErrorCode::kInternal, "X509_STORE_CTX");
  for (const auto& c : intermediates) {
    if (c.valid()) sk_X509_push(untrusted.get(), c.get());  // borrowed: sk_X509_free only
  }
  if (X509_STORE_CTX_init(ctx.get(), store_, leaf.get(), untrusted.get()) != 1) {
    return Status(ErrorCode::kInternal, "X509_STORE_CTX_init");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  if (atTime) X509_VERIFY_PARAM_set_time(param, *atTime);
  if (!crls_.empty()) {
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    X509_STORE_CTX_set_app_data(ctx.get(), const_cast<void*>(static_cast<const void*>(&crls_)));
    X509_STORE_CTX_set_verify_cb(ctx.get(), verifyCallback);
  }
  const std::string who = "certificate '" + leaf.subjectText() + "': ";
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    std::string reason = X509_verify_cert_error_string(err);
    const Certificate at = Certificate::fromX509(X509_STORE_CTX_get_current_cert(ctx.get()));
    if (at.valid() && X509_cmp(at.get(), leaf.get()) != 0) {
      reason += " (" + at.subjectText() + ")";
    }
    if (err == X509_V_ERR_CRL_HAS_EXPIRED) {
      reason += "; the issuer's CRL is past its nextUpdate, load a fresh one";
    }
    return Status(ErrorCode::kPermissionDenied, who + reason);
  }
  if (!leafKeyUsageOk(leaf.get())) {
    return Status(ErrorCode::kPermissionDenied,
                  who +
                      "keyUsage has neither digitalSignature nor nonRepudiation "
                      "(RFC 4945 5.1.3.2)");
  }
  if (!leafExtendedKeyUsageOk(leaf.get())) {
    return Status(ErrorCode::kPermissionDenied,
                  who +
                      "extendedKeyUsage has none of ipsecIKE, anyExtendedKeyUsage, serverAuth, "
                      "clientAuth (RFC 4945 5.1.3.12)");
  }
  return Status::ok();
}

}  // namespace braid::ike
