// The IKEv2 pseudorandom function and prf+ (RFC 7296 section 2.13), HMAC-SHA2 per RFC 4868,
// on OpenSSL 3 EVP_MAC.
#pragma once

#include "core/bytes.hpp"
#include "core/result.hpp"
#include "core/secure.hpp"
#include "ipsec/ike/proposal.hpp"

namespace braid::ike {

bool isPrfSupported(PrfId prf);
// Output length in bytes (32/48/64); 0 if unsupported.
size_t prfOutputLength(PrfId prf);

// prf(key, data). HMAC takes keys of any length (RFC 7296 2.13: e.g. Ni | Nr).
Result<SecretBytes> prf(PrfId id, Bytes key, Bytes data);
// prf+(K, S) = T1 | T2 | ... truncated to `length` bytes, where
// T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n). At most 255 blocks (RFC 7296 2.13).
Result<SecretBytes> prfPlus(PrfId id, Bytes key, Bytes seed, size_t length);

}  // namespace braid::ike
