// Diffie-Hellman key exchange for the KE payload (RFC 7296 sections 2.14, 3.4), on OpenSSL 3
// EVP_PKEY. Groups: 14/15/16 (MODP-2048/3072/4096, RFC 3526), 19/20/21 (ECP-256/384/521,
// RFC 5903), 31 (Curve25519, RFC 8031).
//
// Wire encodings of the public value (KE payload "Key Exchange Data"):
//   MODP: g^x as big-endian, zero-padded to the modulus length (256/384/512 bytes)  RFC 7296 3.4
//   ECP:  x || y, each zero-padded to the field size (64/96/132 bytes in all), no 0x04 prefix
//         (RFC 5903 7; P-521's coordinates take 66 bytes each)
//   X25519: the 32-byte u-coordinate                                          RFC 8031 2
// Shared secret g^ir: MODP padded to the modulus length; ECP the x coordinate only (RFC 5903
// section 7); X25519 32 bytes.
//
// Peer values are validated per RFC 6989 (MODP: 1 < y < p-1; ECP: exact length, on the curve,
// not the point at infinity) and an all-zero X25519 result is rejected (RFC 7748 section 6.1).
// A rejected value makes the exchange fail (the tasks decide the notify); it never crashes.
#pragma once

#include <memory>

#include "core/bytes.hpp"
#include "core/result.hpp"
#include "core/secure.hpp"
#include "ipsec/ike/proposal.hpp"

namespace braid::ike {

bool isDhGroupSupported(DhGroup group);
// Length in bytes of the KE payload data for `group` (MODP 256/384/512, ECP 64/96/132,
// X25519 32); 0 if unsupported.
size_t dhPublicValueLength(DhGroup group);
// Length of the shared secret g^ir (MODP 256/384/512, ECP 32/48/66, X25519 32); 0 if
// unsupported.
size_t dhSharedSecretLength(DhGroup group);

class KeyExchange {
 public:
  // A fresh random private key for `group`.
  static Result<std::unique_ptr<KeyExchange>> create(DhGroup group);
  // Deterministic construction for tests and test vectors: the private key as big-endian
  // integer (MODP: exponent x, up to the modulus length; ECP: scalar d, 32 / 48 / 66 bytes) or
  // the raw 32-byte X25519 scalar (RFC 7748).
  static Result<std::unique_ptr<KeyExchange>> createWithPrivateKey(DhGroup group, Bytes privateKey);
  virtual ~KeyExchange() = default;

  virtual DhGroup group() const = 0;
  // Our public value in wire encoding (dhPublicValueLength(group()) bytes).
  virtual Bytes publicValue() const = 0;
  // Validates the peer's public value and computes g^ir. Errors: kInvalidArgument for a value
  // that fails RFC 6989 / RFC 7748 checks (wrong length, out of range, not on the curve,
  // all-zero result), kCryptoError for library failures.
  virtual Result<SecretBytes> computeSharedSecret(Bytes peerPublicValue) const = 0;
};

}  // namespace braid::ike
