// EAP-TLS (RFC 5216; TLS 1.3 per RFC 9190): the TLS handshake carried in EAP packets of
// type 13, driven through OpenSSL with memory BIOs (bytes in, bytes out, no sockets).
// One EapTlsSession is one side: the gateway (server, requires and verifies a client
// certificate) or a client (tests, braid as a road warrior). It handles the EAP-TLS
// framing of RFC 5216 3.1: flags L/M/S, the TLS Message Length, fragments of at most
// `fragmentSize` bytes each acknowledged by an empty packet, reassembly bounded by
// `maxMessage`. The EAP header (code, identifier, type) is the caller's.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/secure.hpp"
#include "ipsec/ike/auth_cert.hpp"
#include "ipsec/ike/auth_signature.hpp"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct bio_st BIO;
typedef struct x509_store_ctx_st X509_STORE_CTX;

namespace braid::ike {

using ByteVec = std::vector<uint8_t>;

namespace eap_tls {
inline constexpr uint8_t kFlagLength = 0x80;          // RFC 5216 3.1: TLS Message Length present
inline constexpr uint8_t kFlagMore = 0x40;            // more fragments follow
inline constexpr uint8_t kFlagStart = 0x20;           // EAP-TLS Start (server's first request)
inline constexpr size_t kDefaultFragmentSize = 1024;  // TLS bytes per EAP packet (as strongSwan)
inline constexpr size_t kDefaultMaxMessage = 64 * 1024;

// The Type-Data of an EAP-TLS packet: Flags, [TLS Message Length,] TLS data.
struct Frame {
  uint8_t flags = 0;
  std::optional<uint32_t> length;  // present iff flags has L
  ByteVec data;
  static std::optional<Frame> decode(Bytes typeData);
  ByteVec encode() const;
  bool isAck() const { return flags == 0 && data.empty(); }
};
}  // namespace eap_tls

struct EapTlsConfig {
  PrivateKey key;                         // ours: the gateway's (or the client's)
  std::vector<Certificate> certs;         // leaf first, then intermediates
  std::shared_ptr<const TrustStore> cas;  // the peer's certificate must chain to one
  std::optional<int64_t> verifyTime;      // tests: Unix time for certificate validity
  size_t fragmentSize = eap_tls::kDefaultFragmentSize;
  size_t maxMessage = eap_tls::kDefaultMaxMessage;
  bool allowTls13 = true;  // RFC 9190; TLS 1.2 (RFC 5216) is the floor
};

class EapTlsSession {
 public:
  enum class Role : uint8_t { kServer, kClient };
  enum class Outcome : uint8_t { kContinue, kDone, kFailure };
  enum class FailureCause : uint8_t { kNone, kMalformed, kOversize, kTls, kCertificate };
  struct Step {
    Outcome outcome = Outcome::kContinue;
    ByteVec typeData;    // kContinue: the Type-Data of our next packet
    std::string reason;  // kFailure
  };

  static Result<std::unique_ptr<EapTlsSession>> create(Role role, const EapTlsConfig& config);
  ~EapTlsSession();
  EapTlsSession(const EapTlsSession&) = delete;
  EapTlsSession& operator=(const EapTlsSession&) = delete;

  // Server: the Type-Data of EAP-TLS Start (RFC 5216 2.1.1).
  ByteVec start();
  // The peer's Type-Data. Server: kDone once the handshake finished and the client
  // acknowledged our last flight (send EAP-Success). Client: answers every request; kDone
  // is never returned (the caller learns success from EAP-Success, then reads msk()).
  Step process(Bytes typeData);

  bool handshakeDone() const { return handshakeDone_; }
  FailureCause failureCause() const { return cause_; }
  // After the handshake: the MSK (RFC 5216 2.3 / RFC 9190 2.3), 64 bytes.
  const SecretBytes& msk() const { return msk_; }
  const Certificate& peerCertificate() const { return peerCert_; }
  std::string version() const;  // "TLSv1.2", for logs

 private:
  EapTlsSession(Role role, const EapTlsConfig& config);
  Status init();
  Step fail(FailureCause cause, std::string reason);
  Step nextFragment();
  Step handleMessage();
  ByteVec drainOutput();
  Status deriveMsk();
  static int verifyCallback(X509_STORE_CTX* ctx, void* arg);

  Role role_;
  EapTlsConfig config_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;   // peer -> TLS (owned by ssl_)
  BIO* out_ = nullptr;  // TLS -> peer (owned by ssl_)
  ByteVec rx_;          // the peer's TLS message being reassembled
  std::optional<uint32_t> rxExpected_;
  ByteVec tx_;  // our TLS message being sent, and how far
  size_t txPos_ = 0;
  bool started_ = false;
  bool handshakeDone_ = false;
  bool finalSent_ = false;  // server: our last flight is out; the next empty packet ends it
  FailureCause cause_ = FailureCause::kNone;
  std::string verifyError_;
  Certificate peerCert_;
  SecretBytes msk_;
};

// The first organizationalUnit of a certificate's subject ("" if none): a client's group.
std::string certificateOu(const Certificate& cert);
// Does the certificate vouch for an EAP identity? An rfc822Name or dNSName SAN equal to
// it, its subject DN in RFC 2253 or "CN=..., O=..." text, or the subject's CN.
bool certificateMatchesEapIdentity(const Certificate& cert, const std::string& identity);

}  // namespace braid::ike
