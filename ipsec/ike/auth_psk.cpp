#include "ipsec/ike/auth_psk.hpp"

#include <openssl/crypto.h>

#include "ipsec/ike/crypto_prf.hpp"

namespace braid::ike {

Result<std::vector<uint8_t>> authSignedOctets(PrfId prfId, Bytes message, Bytes peerNonce,
                                              Bytes skP, Bytes idBody) {
  auto macedId = prf(prfId, skP, idBody);
  if (!macedId) return macedId.status();
  std::vector<uint8_t> out;
  out.reserve(message.size() + peerNonce.size() + macedId->size());
  out.insert(out.end(), message.begin(), message.end());
  out.insert(out.end(), peerNonce.begin(), peerNonce.end());
  out.insert(out.end(), macedId->bytes().begin(), macedId->bytes().end());
  return out;
}

Result<SecretBytes> pskAuthData(PrfId prfId, Bytes sharedSecret, Bytes signedOctets) {
  // RFC 7296 2.15: the pad string is 17 ASCII characters, no NUL terminator.
  static constexpr std::string_view kKeyPad = "Key Pad for IKEv2";
  if (sharedSecret.empty()) return Status(ErrorCode::kInvalidArgument, "empty PSK");
  auto padded = prf(prfId, sharedSecret, asBytes(kKeyPad));
  if (!padded) return padded.status();
  return prf(prfId, padded->bytes(), signedOctets);
}

bool verifyPskAuthData(PrfId prfId, Bytes sharedSecret, Bytes signedOctets, Bytes received) {
  auto expected = pskAuthData(prfId, sharedSecret, signedOctets);
  return expected && constantTimeEqual(expected->bytes(), received);
}

bool constantTimeEqual(Bytes a, Bytes b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace braid::ike
