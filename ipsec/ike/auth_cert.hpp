// X.509 for IKEv2 (RFC 7296 3.6, 3.7, 2.15; RFC 4945 profile): certificates loaded from PEM
// files or received in CERT payloads (encoding 4, DER), chain verification against the
// configured CAs (X509_STORE) with key usage checks and optional CRLs, identity matching and
// CERTREQ hashes.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.hpp"
#include "core/ip.hpp"
#include "core/result.hpp"
#include "ipsec/ike/auth_signature.hpp"

typedef struct x509_st X509;
typedef struct x509_store_st X509_STORE;
typedef struct X509_crl_st X509_CRL;

namespace braid::ike {

// RFC 7296 3.5 ID Type values (the codec's ID payload uses the same numbers).
namespace id_type {
inline constexpr uint8_t kIpv4Addr = 1;
inline constexpr uint8_t kFqdn = 2;
inline constexpr uint8_t kRfc822Addr = 3;
inline constexpr uint8_t kIpv6Addr = 5;
inline constexpr uint8_t kDerAsn1Dn = 9;
inline constexpr uint8_t kDerAsn1Gn = 10;
inline constexpr uint8_t kKeyId = 11;
}  // namespace id_type

// RFC 7296 3.6 Certificate Encoding: X.509 Certificate - Signature.
inline constexpr uint8_t kCertEncodingX509Signature = 4;
inline constexpr size_t kCertReqHashLength = 20;  // SHA-1 (RFC 7296 3.7)

// Shared, immutable handle to an X509. Copies share it.
class Certificate {
 public:
  Certificate() = default;
  static Result<Certificate> fromDer(Bytes der);             // CERT payload, encoding 4
  static Result<Certificate> fromPem(std::string_view pem);  // the first certificate
  static Result<std::vector<Certificate>> allFromPem(std::string_view pem);
  // All certificates in a PEM file (leaf first for chain files); fails if there are none.
  static Result<std::vector<Certificate>> loadPemFile(const std::string& path);
  static Certificate fromX509(X509* x509);  // adds a reference; the caller keeps its own

  bool valid() const { return x509_ != nullptr; }
  X509* get() const { return x509_.get(); }

  std::vector<uint8_t> der() const;  // CERT payload data
  std::string toPem() const;
  std::vector<uint8_t> subjectDer() const;  // ID_DER_ASN1_DN identification data
  std::string subjectText() const;          // RFC 2253 form, for logs
  std::string issuerText() const;
  std::vector<std::string> dnsNames() const;    // subjectAltName dNSName
  std::vector<std::string> emailNames() const;  // subjectAltName rfc822Name
  std::vector<IpAddress> ipAddresses() const;   // subjectAltName iPAddress
  PublicKey publicKey() const;
  // SHA-1 of the DER SubjectPublicKeyInfo: the CERTREQ CA identifier (RFC 7296 3.7).
  std::array<uint8_t, kCertReqHashLength> spkiSha1() const;

  // Does the certificate vouch for this IKE identity? (RFC 4945 3.1)
  //   ID_DER_ASN1_DN: the subject DN equals the ID (DER compared after canonical re-encoding)
  //   ID_FQDN: a dNSName SAN equal to it (case-insensitive; trailing dot ignored)
  //   ID_RFC822_ADDR: an rfc822Name SAN equal to it (case-insensitive)
  //   ID_IPV4_ADDR / ID_IPV6_ADDR: an iPAddress SAN equal to it
  // Other ID types never match.
  bool matchesIdentity(uint8_t idType, Bytes idData) const;

 private:
  std::shared_ptr<X509> x509_;
};

// The configured trust anchors (CA certificates) of one connection or of the daemon.
class TrustStore {
 public:
  TrustStore();
  ~TrustStore();
  TrustStore(TrustStore&&) noexcept;
  TrustStore& operator=(TrustStore&&) noexcept;
  TrustStore(const TrustStore&) = delete;
  TrustStore& operator=(const TrustStore&) = delete;

  Status addCa(const Certificate& ca);
  Status addCaFile(const std::string& pemPath);  // every certificate in the file

  // Certificate revocation lists (RFC 5280 5): every CRL in PEM text, or one DER CRL. Each
  // CRL's issuer must be a CA: the CRL signature is checked against it when verifying.
  Status addCrls(std::string_view pemOrDer);
  Status addCrlFile(const std::string& path);  // errors name the file
  size_t crlCount() const { return crls_.size(); }
  size_t size() const { return cas_.size(); }
  const std::vector<Certificate>& cas() const { return cas_; }

  // CERTREQ payload data (encoding 4): the SHA-1 SPKI hashes of all CAs, concatenated
  // (computed once, in addCa).
  std::vector<uint8_t> certReqData() const;
  // Does a received CERTREQ name one of our CAs? (Malformed lengths: false.)
  bool certReqNamesOurCa(Bytes certReqData) const;

  // Verifies `leaf` up to one of our CAs, using `intermediates` (from further CERT payloads)
  // as untrusted helpers. `atTime` (Unix seconds) replaces the current time for validity
  // checks (tests). kPermissionDenied with the reason on failure. OpenSSL's path validation
  // checks signatures, validity, basicConstraints, and keyCertSign on every CA that carries
  // keyUsage, the trust anchor included ("invalid CA certificate", RFC 5280 4.2.1.3). Its
  // default purpose checks nothing on the leaf, so braid applies RFC 4945 there:
  //   keyUsage, when present, must include digitalSignature or nonRepudiation (5.1.3.2);
  //   extendedKeyUsage, when present, must include anyExtendedKeyUsage or id-kp-ipsecIKE
  //   (5.1.3.12), or, as Windows and cloud gateways issue them, serverAuth, clientAuth or
  //   iKEIntermediate (1.3.6.1.5.5.8.2.2).
  // Revocation: a certificate whose issuer has a loaded CRL is checked against that CRL
  // ("certificate revoked"); a CRL past its nextUpdate refuses every certificate of that
  // issuer ("CRL has expired": fail closed, like strongSwan's strictcrlpolicy). Issuers
  // without a CRL are not checked.
  Status verify(const Certificate& leaf, std::span<const Certificate> intermediates = {},
                std::optional<int64_t> atTime = std::nullopt) const;

 private:
  X509_STORE* store_ = nullptr;
  std::vector<Certificate> cas_;
  std::vector<std::shared_ptr<X509_CRL>> crls_;
  std::vector<uint8_t> certReq_;  // spkiSha1() of each CA in cas_, in order
};

}  // namespace braid::ike
