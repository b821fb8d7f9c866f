// MS-CHAPv2 computations (RFC 2759 section 8) and the MSK of EAP-MSCHAPv2 (RFC 3079 3.3-3.4,
// MS-MPPE receive key | send key as the authenticator sees them, as strongSwan and Windows
// use it for IKEv2, RFC 7296 2.16). Pure functions: no state, no I/O.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.hpp"
#include "core/result.hpp"
#include "core/secure.hpp"

namespace braid::ike::mschapv2 {

using NtHash = std::array<uint8_t, 16>;
using Challenge16 = std::array<uint8_t, 16>;
using NtResponse = std::array<uint8_t, 24>;

// NtPasswordHash: MD4 of the password in UTF-16LE (RFC 2759 8.3). Nullopt if the UTF-8 text
// is invalid.
std::optional<NtHash> ntPasswordHash(std::string_view utf8Password);

// The user name as ChallengeHash takes it: without a "DOMAIN\" prefix (RFC 2759 8.2).
std::string_view challengeUserName(std::string_view name);

// ChallengeHash (RFC 2759 8.2): SHA-1(peer | authenticator | user name), first 8 bytes.
Result<std::array<uint8_t, 8>> challengeHash(const Challenge16& peer, const Challenge16& auth,
                                             std::string_view userName);
// ChallengeResponse (RFC 2759 8.5): three single-DES encryptions of the challenge.
Result<NtResponse> challengeResponse(const std::array<uint8_t, 8>& challenge, const NtHash& hash);
// GenerateNTResponse (RFC 2759 8.1).
Result<NtResponse> generateNtResponse(const Challenge16& auth, const Challenge16& peer,
                                      std::string_view userName, const NtHash& hash);
// GenerateAuthenticatorResponse (RFC 2759 8.7): "S=" and 40 upper-case hex digits.
Result<std::string> authenticatorResponse(const NtHash& hash, const NtResponse& ntResponse,
                                          const Challenge16& peer, const Challenge16& auth,
                                          std::string_view userName);
// RFC 3079 3.4 GetMasterKey.
Result<std::array<uint8_t, 16>> masterKey(const NtHash& hash, const NtResponse& ntResponse);
// The 32-byte MSK: GetAsymmetricStartKey with Magic2 (the authenticator's receive key), then
// with Magic3 (its send key). The same bytes on both sides.
Result<SecretBytes> msk(const NtHash& hash, const NtResponse& ntResponse);

// Single DES (ECB, one block) through the default provider's DES-EDE3 with K1 = K2 = K3;
// `key7` is the 56-bit key without parity bits (RFC 2759 8.6).
Result<std::array<uint8_t, 8>> desEncrypt(const std::array<uint8_t, 8>& block, Bytes key7);

// Hex (either case) to bytes: nullopt unless exactly 2*N hex digits.
std::optional<NtHash> parseNtHashHex(std::string_view hex);
std::string toHex(Bytes b, bool upper);

}  // namespace braid::ike::mschapv2
