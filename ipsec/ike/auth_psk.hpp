// IKE_AUTH authentication data (RFC 7296 section 2.15): the signed octets every AUTH method
// covers, and the shared-key MIC (method 2).
#pragma once

#include <cstdint>
#include <vector>

#include "core/bytes.hpp"
#include "core/result.hpp"
#include "core/secure.hpp"
#include "ipsec/ike/proposal.hpp"

namespace braid::ike {

// RFC 7296 3.8 Auth Method, plus RFC 4754 (9-11) and RFC 7427 (14).
enum class AuthMethod : uint8_t {
  kRsaSignature = 1,       // RSASSA-PKCS1-v1_5 with SHA-1 (RFC 7296 3.8)
  kSharedKeyMic = 2,       // PSK
  kDssSignature = 3,       // not supported
  kEcdsaSha256P256 = 9,    // RFC 4754: r || s, 64 bytes
  kEcdsaSha384P384 = 10,   // 96 bytes
  kEcdsaSha512P521 = 11,   // 132 bytes
  kDigitalSignature = 14,  // RFC 7427
};

// InitiatorSignedOctets = RealMessage1 | NonceRData | prf(SK_pi, RestOfInitIDPayload)
// ResponderSignedOctets = RealMessage2 | NonceIData | prf(SK_pr, RestOfRespIDPayload)
//   message  = our own IKE_SA_INIT message exactly as sent (request for the initiator,
//              response for the responder)
//   peerNonce = the other side's Nonce Data (Nr for the initiator, Ni for the responder)
//   skP      = SK_pi (initiator) or SK_pr (responder)
//   idBody   = the ID payload after its generic header: ID Type | RESERVED(3) | ID data
// To verify the peer, call it with the peer's message, our nonce, the peer's SK_p and ID.
Result<std::vector<uint8_t>> authSignedOctets(PrfId prf, Bytes message, Bytes peerNonce, Bytes skP,
                                              Bytes idBody);

// AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)   (RFC 7296 2.15)
Result<SecretBytes> pskAuthData(PrfId prf, Bytes sharedSecret, Bytes signedOctets);
// Recomputes and compares in constant time. False on any mismatch or error.
bool verifyPskAuthData(PrfId prf, Bytes sharedSecret, Bytes signedOctets, Bytes received);

// Constant-time equality (CRYPTO_memcmp); false when the lengths differ.
bool constantTimeEqual(Bytes a, Bytes b);

}  // namespace braid::ike
