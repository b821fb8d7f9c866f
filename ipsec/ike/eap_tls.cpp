#include "ipsec/ike/eap_tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>

namespace braid::ike {

using eap_tls::Frame;

std::optional<Frame> Frame::decode(Bytes typeData) {
  ByteReader r(typeData);
  Frame f;
  if (!r.readU8(f.flags)) return std::nullopt;
  if (f.flags & eap_tls::kFlagLength) {
    uint32_t len = 0;
    if (!r.readU32(len)) return std::nullopt;
    f.length = len;
  }
  Bytes rest = r.rest();
  f.data.assign(rest.begin(), rest.end());
  return f;
}

ByteVec Frame::encode() const {
  ByteVec out;
  out.push_back(length ? uint8_t(flags | eap_tls::kFlagLength)
                       : uint8_t(flags & ~eap_tls::kFlagLength));
  if (length) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(*length >> s));
  }
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

namespace {

std::string opensslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out.empty() ? "TLS handshake failed" : out;
}

std::string entryText(X509_NAME* name, int nid) {
  int i = X509_NAME_get_index_by_NID(name, nid, -1);
  if (i < 0) return {};
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
  if (n < 0) return {};
  std::string s(reinterpret_cast<char*>(utf8), size_t(n));
  OPENSSL_free(utf8);
  return s;
}

std::string withoutSpaces(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != ' ') out += c;
  return out;
}

}  // namespace

std::string certificateOu(const Certificate& cert) {
  if (!cert.valid()) return {};
  return entryText(X509_get_subject_name(cert.get()), NID_organizationalUnitName);
}

bool certificateMatchesEapIdentity(const Certificate& cert, const std::string& identity) {
  if (!cert.valid() || identity.empty()) return false;
  Bytes id(reinterpret_cast<const uint8_t*>(identity.data()), identity.size());
  if (cert.matchesIdentity(id_type::kRfc822Addr, id) || cert.matchesIdentity(id_type::kFqdn, id))
    return true;
  if (entryText(X509_get_subject_name(cert.get()), NID_commonName) == identity) return true;
  // A DN as text, in RFC 2253 order ("CN=a,O=b") or in the forward order strongSwan prints
  // ("O=b, CN=a").
  const std::string want = withoutSpaces(identity);
  const std::string dn = withoutSpaces(cert.subjectText());
  if (want == dn) return true;
  std::string reversed;
  size_t end = dn.size();
  while (true) {
    size_t comma = dn.rfind(',', end == 0 ? 0 : end - 1);
    if (comma == std::string::npos || end == 0) {
      reversed += (reversed.empty() ? "" : ",") + dn.substr(0, end);
      break;
    }
    reversed += (reversed.empty() ? "" : ",") + dn.substr(comma + 1, end - comma - 1);
    end = comma;
  }
  return want == reversed;
}

EapTlsSession::EapTlsSession(Role role, const EapTlsConfig& config)
    : role_(role), config_(config) {}

EapTlsSession::~EapTlsSession() {
  SSL_free(ssl_);  // frees both BIOs
  SSL_CTX_free(ctx_);
}

Result<std::unique_ptr<EapTlsSession>> EapTlsSession::create(Role role,
                                                             const EapTlsConfig& config) {
  std::unique_ptr<EapTlsSession> s(new EapTlsSession(role, config));
  if (Status st = s->init(); !st) return st;
  return s;
}

Status EapTlsSession::init() {
  ERR_clear_error();
  ctx_ = SSL_CTX_new(TLS_method());
  if (ctx_ == nullptr) return errorStatus(ErrorCode::kCryptoError, "SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx_, config_.allowTls13 ? TLS1_3_VERSION : TLS1_2_VERSION);
  // One full handshake per EAP run: no tickets or session cache (RFC 9190 5.7 resumption is
  // not offered), no renegotiation.
  SSL_CTX_set_options(ctx_, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx_, 0);
  if (config_.key.valid() && !config_.certs.empty()) {
    if (SSL_CTX_use_certificate(ctx_, config_.certs[0].get()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx_, config_.key.get()) != 1 ||
        SSL_CTX_check_private_key(ctx_) != 1) {
      return errorStatus(ErrorCode::kCryptoError,
                         "EAP-TLS: certificate and key not usable: " + opensslErrors());
    }
    for (size_t i = 1; i < config_.certs.size(); ++i)
      SSL_CTX_add1_chain_cert(ctx_, config_.certs[i].get());
  } else if (role_ == Role::kServer) {
    return errorStatus(ErrorCode::kInvalidArgument, "EAP-TLS server without a certificate");
  }
  // RFC 5216 5.3: the server requires the client's certificate; both ends check the
  // other's chain against the configured CAs (TrustStore: RFC 4945 leaf rules, CRLs).
  SSL_CTX_set_verify(
      ctx_,
      role_ == Role::kServer ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER,
      nullptr);
  SSL_CTX_set_cert_verify_callback(ctx_, &EapTlsSession::verifyCallback, this);
  if (role_ == Role::kServer && config_.cas) {
    STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
    for (const auto& ca : config_.cas->cas())
      sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(ca.get())));
    SSL_CTX_set_client_CA_list(ctx_, names);  // takes ownership
  }
  ssl_ = SSL_new(ctx_);
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  if (ssl_ == nullptr || in_ == nullptr || out_ == nullptr) {
    BIO_free(in_);
    BIO_free(out_);
    in_ = out_ = nullptr;
    return errorStatus(ErrorCode::kCryptoError, "EAP-TLS: SSL_new failed");
  }
  SSL_set_bio(ssl_, in_, out_);
  if (role_ == Role::kServer) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
  }
  return Status::ok();
}

int EapTlsSession::verifyCallback(X509_STORE_CTX* xctx, void* arg) {
  auto* self = static_cast<EapTlsSession*>(arg);
  X509* leaf = X509_STORE_CTX_get0_cert(xctx);
  if (leaf == nullptr || !self->config_.cas) {
    self->verifyError_ = leaf ? "no CA configured for EAP-TLS" : "no certificate";
    X509_STORE_CTX_set_error(xctx, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  Certificate leafCert = Certificate::fromX509(leaf);  // its own reference
  std::vector<Certificate> intermediates;
  if (STACK_OF(X509)* chain = X509_STORE_CTX_get0_untrusted(xctx)) {
    for (int i = 0; i < sk_X509_num(chain); ++i) {
      X509* c = sk_X509_value(chain, i);
      if (c == leaf || X509_cmp(c, leaf) == 0) continue;
      intermediates.push_back(Certificate::fromX509(c));
    }
  }
  if (Status s = self->config_.cas->verify(leafCert, intermediates, self->config_.verifyTime); !s) {
    self->verifyError_ = s.message();  // names the certificate
    X509_STORE_CTX_set_error(xctx, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  self->peerCert_ = std::move(leafCert);
  return 1;
}

EapTlsSession::Step EapTlsSession::fail(FailureCause cause, std::string reason) {
  if (cause_ == FailureCause::kNone) cause_ = cause;
  return {Outcome::kFailure, {}, std::move(reason)};
}

ByteVec EapTlsSession::start() {
  started_ = true;
  Frame f;
  f.flags = eap_tls::kFlagStart;
  return f.encode();
}

ByteVec EapTlsSession::drainOutput() {
  ByteVec out;
  uint8_t buf[4096];
  int n;
  while ((n = BIO_read(out_, buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + n);
  return out;
}

EapTlsSession::Step EapTlsSession::nextFragment() {
  const size_t chunk = std::max<size_t>(config_.fragmentSize, 64);
  const size_t n = std::min(chunk, tx_.size() - txPos_);
  Frame f;
  // RFC 5216 3.1: L on the first fragment (strongSwan sets it on every first packet).
  if (txPos_ == 0) f.length = uint32_t(tx_.size());
  if (txPos_ + n < tx_.size()) f.flags |= eap_tls::kFlagMore;
  f.data.assign(tx_.begin() + ptrdiff_t(txPos_), tx_.begin() + ptrdiff_t(txPos_ + n));
  txPos_ += n;
  return {Outcome::kContinue, f.encode(), {}};
}

EapTlsSession::Step EapTlsSession::process(Bytes typeData) {
  if (cause_ != FailureCause::kNone) return fail(cause_, "EAP-TLS packet after a failure");
  auto f = Frame::decode(typeData);
  if (!f) return fail(FailureCause::kMalformed, "malformed EAP-TLS packet");
  if (role_ == Role::kClient && !started_) {
    if (!(f->flags & eap_tls::kFlagStart)) {
      return fail(FailureCause::kMalformed, "EAP-TLS request before Start");
    }
    started_ = true;
    ERR_clear_error();
    if (SSL_do_handshake(ssl_) != -1 || SSL_get_error(ssl_, -1) != SSL_ERROR_WANT_READ) {
      return fail(FailureCause::kTls, opensslErrors());
    }
    tx_ = drainOutput();
    txPos_ = 0;
    return nextFragment();
  }
  if (f->flags & eap_tls::kFlagStart) {
    return fail(FailureCause::kMalformed, "EAP-TLS Start in the middle of the handshake");
  }
  if (txPos_ < tx_.size()) {  // RFC 5216 2.1.5: each fragment is acknowledged
    if (!f->isAck()) {
      return fail(FailureCause::kMalformed, "expected an acknowledgement of our EAP-TLS fragment");
    }
    return nextFragment();
  }
  if (finalSent_) {  // server: the client's empty answer to our last flight
    if (!f->isAck()) {
      return fail(FailureCause::kMalformed,
                  "expected an empty EAP-TLS response after the handshake");
    }
    return {Outcome::kDone, {}, {}};
  }
  if (f->length) {
    if (*f->length > config_.maxMessage) {
      return fail(FailureCause::kOversize, "EAP-TLS message of " + std::to_string(*f->length) +
                                               " bytes announced, over the limit of " +
                                               std::to_string(config_.maxMessage));
    }
    if (rx_.empty()) rxExpected_ = *f->length;
  }
  if (f->data.empty()) {
    return fail(FailureCause::kMalformed, "empty EAP-TLS packet where TLS data was expected");
  }
  const size_t total = rx_.size() + f->data.size();
  if (total > config_.maxMessage) {
    return fail(FailureCause::kOversize, "EAP-TLS message reassembly over the limit of " +
                                             std::to_string(config_.maxMessage) + " bytes");
  }
  if (rxExpected_ && total > *rxExpected_) {
    return fail(FailureCause::kMalformed, "EAP-TLS fragments exceed the announced length");
  }
  rx_.insert(rx_.end(), f->data.begin(), f->data.end());
  if (f->flags & eap_tls::kFlagMore) return {Outcome::kContinue, Frame{}.encode(), {}};
  if (rxExpected_ && rx_.size() != *rxExpected_) {
    return fail(FailureCause::kMalformed, "EAP-TLS message shorter than its announced length");
  }
  return handleMessage();
}

EapTlsSession::Step EapTlsSession::handleMessage() {
  BIO_write(in_, rx_.data(), int(rx_.size()));
  rx_.clear();
  rxExpected_.reset();
  ERR_clear_error();
  if (!handshakeDone_) {
    int r = SSL_do_handshake(ssl_);
    if (r == 1) {
      handshakeDone_ = true;
    } else if (SSL_get_error(ssl_, r) != SSL_ERROR_WANT_READ) {
      if (!verifyError_.empty()) return fail(FailureCause::kCertificate, verifyError_);
      std::string why = opensslErrors();
      const bool certProblem = why.find("certificate") != std::string::npos;
      return fail(certProblem ? FailureCause::kCertificate : FailureCause::kTls, why);
    }
  }
  if (handshakeDone_) {
    // Application data: the server's one-byte commitment (RFC 9190 2.5) or nothing.
    uint8_t buf[64];
    while (SSL_read(ssl_, buf, sizeof buf) > 0) {
    }
    ERR_clear_error();
    if (msk_.bytes().empty()) {
      if (role_ == Role::kServer) {
        if (!peerCert_.valid()) return fail(FailureCause::kCertificate, "no client certificate");
        if (SSL_version(ssl_) == TLS1_3_VERSION) {
          const uint8_t commitment = 0;  // RFC 9190 2.5: no more handshake messages
          if (SSL_write(ssl_, &commitment, 1) != 1)
            return fail(FailureCause::kTls, opensslErrors());
        }
        finalSent_ = true;
      }
      if (Status s = deriveMsk(); !s) return fail(FailureCause::kTls, s.message());
    }
  }
  tx_ = drainOutput();
  txPos_ = 0;
  if (tx_.empty()) {
    if (role_ == Role::kClient) return {Outcome::kContinue, Frame{}.encode(), {}};
    if (finalSent_) return {Outcome::kDone, {}, {}};
    return fail(FailureCause::kTls, "TLS handshake stalled: nothing to send");
  }
  return nextFragment();
}

Status EapTlsSession::deriveMsk() {
  uint8_t km[128];
  int ok;
  if (SSL_version(ssl_) == TLS1_3_VERSION) {
    // RFC 9190 2.3: TLS-Exporter("EXPORTER_EAP_TLS_Key_Material", Type-Code, 128).
    static constexpr char kLabel[] = "EXPORTER_EAP_TLS_Key_Material";
    const uint8_t type = 13;
    ok = SSL_export_keying_material(ssl_, km, sizeof km, kLabel, sizeof kLabel - 1, &type, 1, 1);
  } else {
    // RFC 5216 2.3: PRF(master secret, "client EAP encryption", client.random ||
    // server.random), which is the RFC 5705 exporter without a context.
    static constexpr char kLabel[] = "client EAP encryption";
    ok = SSL_export_keying_material(ssl_, km, sizeof km, kLabel, sizeof kLabel - 1, nullptr, 0, 0);
  }
  if (ok != 1) {
    OPENSSL_cleanse(km, sizeof km);
    return errorStatus(ErrorCode::kCryptoError, "EAP-TLS key export failed");
  }
  msk_ = SecretBytes(Bytes(km, 64));  // MSK: the first 64 bytes; the EMSK is not used
  OPENSSL_cleanse(km, sizeof km);
  return Status::ok();
}

std::string EapTlsSession::version() const {
  return ssl_ ? SSL_get_version(ssl_) : "none";
}

}  // namespace braid::ike
