// Signature authentication for IKE_AUTH: the classic methods of RFC 7296 3.8 (1: RSA
// PKCS#1 v1.5 with SHA-1) and RFC 4754 (9/10/11: ECDSA with r || s), and RFC 7427 Digital
// Signature (14) with its SIGNATURE_HASH_ALGORITHMS notify. OpenSSL 3 EVP_PKEY throughout.
//
// Typical use (signer):
//   auto choice = chooseSignature(key, peerHashes);   // peerHashes from the peer's notify
//   auto data = signAuth(key, choice, octets);        // -> AUTH payload, method choice.method
// Verifier:
//   verifyAuth(peerCert.publicKey(), authMethodFromPayload, authDataFromPayload, octets)
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.hpp"
#include "core/result.hpp"
#include "ipsec/ike/auth_psk.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace braid::ike {

// RFC 7427 section 7 "Hash Algorithm Identifiers" (IKEv2 registry), as carried in the
// SIGNATURE_HASH_ALGORITHMS notify (type 16431).
enum class HashAlgorithm : uint16_t {
  kSha1 = 1,
  kSha256 = 2,
  kSha384 = 3,
  kSha512 = 4,
  kIdentity = 5,  // RFC 8420 (EdDSA); not supported
};
inline constexpr uint16_t kNotifySignatureHashAlgorithms = 16431;

// Notify data: the 2-byte identifiers back to back (RFC 7427 section 4).
std::vector<uint8_t> encodeSignatureHashAlgorithms(std::span<const HashAlgorithm> hashes);
// Unknown identifiers are kept (the enum holds any value); odd length is a parse error.
Result<std::vector<HashAlgorithm>> parseSignatureHashAlgorithms(Bytes data);
// What we advertise: SHA-256, SHA-384, SHA-512.
std::span<const HashAlgorithm> supportedSignatureHashes();

enum class KeyType : uint8_t { kRsa, kEcP256, kEcP384, kEcP521, kUnsupported };

// Shared, immutable handle to an OpenSSL key. Copies share the key.
class PublicKey {
 public:
  PublicKey() = default;
  // SubjectPublicKeyInfo DER or PEM ("-----BEGIN PUBLIC KEY-----").
  static Result<PublicKey> fromDer(Bytes spki);
  static Result<PublicKey> fromPem(std::string_view pem);
  // Takes one reference of `pkey` (the caller keeps its own).
  static PublicKey fromEvp(EVP_PKEY* pkey);

  bool valid() const { return pkey_ != nullptr; }
  KeyType type() const;
  EVP_PKEY* get() const { return pkey_.get(); }
  std::vector<uint8_t> spkiDer() const;

 private:
  std::shared_ptr<EVP_PKEY> pkey_;
};

class PrivateKey {
 public:
  PrivateKey() = default;
  // PKCS#8 or traditional PEM ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"),
  // unencrypted.
  static Result<PrivateKey> fromPem(std::string_view pem);
  static Result<PrivateKey> loadPemFile(const std::string& path);
  // Fresh keys (tests, pki tooling): RSA with `bits`, or EC on P-256/P-384/P-521.
  static Result<PrivateKey> generateRsa(int bits);
  static Result<PrivateKey> generateEc(KeyType curve);
  static PrivateKey fromEvp(EVP_PKEY* pkey);  // takes one reference

  bool valid() const { return pkey_ != nullptr; }
  KeyType type() const;
  PublicKey publicKey() const;
  EVP_PKEY* get() const { return pkey_.get(); }
  std::string toPem() const;  // PKCS#8

 private:
  std::shared_ptr<EVP_PKEY> pkey_;
};

enum class SignatureScheme : uint8_t {
  kRsaPkcs1Sha1,    // method 1 only
  kRsaPkcs1Sha256,  // RFC 7427 appendix A.1
  kRsaPkcs1Sha384,
  kRsaPkcs1Sha512,
  kRsaPssSha256,  // RSASSA-PSS, MGF1-SHA-256, salt 32 (RFC 7427 A.4.1 parameters)
  kEcdsaSha256,   // method 9 (P-256) or 14 (any curve, DER Ecdsa-Sig-Value)
  kEcdsaSha384,   // method 10 (P-384) or 14
  kEcdsaSha512,   // method 11 (P-521) or 14
};
std::string_view signatureSchemeName(SignatureScheme s);

struct SignatureChoice {
  AuthMethod method = AuthMethod::kDigitalSignature;
  SignatureScheme scheme = SignatureScheme::kRsaPkcs1Sha256;
  bool operator==(const SignatureChoice&) const = default;
};

// RFC 7427 section 4: if the peer advertised hashes we support, use method 14 with the first
// match in our order (RSA: SHA-256, 384, 512, or RSASSA-PSS/SHA-256 when `preferPss`; ECDSA:
// the curve's own hash first, RFC 4754 pairing); otherwise the classic method for the key type
// (RSA: 1 with SHA-1; P-256: 9; P-384: 10; P-521: 11). Fails for unsupported key types.
Result<SignatureChoice> chooseSignature(const PrivateKey& key,
                                        std::span<const HashAlgorithm> peerHashes,
                                        bool preferPss = false);

// Authentication Data of the AUTH payload (after Auth Method + RESERVED):
//   methods 1, 9-11: the raw signature (PKCS#1 v1.5 block; ECDSA r || s per RFC 4754)
//   method 14: ASN.1 length (1 byte) | AlgorithmIdentifier DER | signature (RFC 7427 3);
//              ECDSA signatures are DER Ecdsa-Sig-Value (RFC 7427 A.3)
Result<std::vector<uint8_t>> signAuth(const PrivateKey& key, const SignatureChoice& choice,
                                      Bytes signedOctets);
// Verifies AUTH data received with `method`. For method 14 the AlgorithmIdentifier must be
// one we know, match the key type and (if non-empty) use a hash in `allowedHashes` (the ones
// we advertised). kPermissionDenied on a bad signature, kParseError/kInvalidArgument on
// malformed data or a method/key mismatch. Method 1 accepts SHA-1 only (RFC 7296 3.8).
Status verifyAuth(const PublicKey& key, AuthMethod method, Bytes authData, Bytes signedOctets,
                  std::span<const HashAlgorithm> allowedHashes = {});

// The DER AlgorithmIdentifier that RFC 7427 method 14 carries for `scheme` (appendix A).
std::vector<uint8_t> signatureAlgorithmIdentifier(SignatureScheme scheme);

}  // namespace braid::ike
