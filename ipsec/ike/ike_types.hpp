// IKEv2 wire constants (RFC 7296 section 3, IANA "IKEv2 Parameters").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ipsec/ike/auth_psk.hpp"  // AuthMethod
#include "ipsec/ike/proposal.hpp"  // ProtocolId, TransformType, transform IDs

namespace braid::ike {

// RFC 7296 3.1 exchange types.
enum class ExchangeType : uint8_t {
  kIkeSaInit = 34,
  kIkeAuth = 35,
  kCreateChildSa = 36,
  kInformational = 37,
};
std::string_view exchangeName(ExchangeType t);

// RFC 7296 3.2 payload types ("next payload" values).
enum class PayloadType : uint8_t {
  kNone = 0,
  kSa = 33,
  kKe = 34,
  kIdi = 35,
  kIdr = 36,
  kCert = 37,
  kCertReq = 38,
  kAuth = 39,
  kNonce = 40,
  kNotify = 41,
  kDelete = 42,
  kVendorId = 43,
  kTsi = 44,
  kTsr = 45,
  kSk = 46,
  kCp = 47,
  kEap = 48,
  kSkf = 53,  // RFC 7383 encrypted fragment
};
std::string_view payloadName(PayloadType t);

// RFC 7296 3.1 header flags.
inline constexpr uint8_t kFlagInitiator = 0x08;
inline constexpr uint8_t kFlagVersion = 0x10;
inline constexpr uint8_t kFlagResponse = 0x20;

inline constexpr uint8_t kIkeMajorVersion = 2;
// The 28-byte header (kIkeHeaderLength) is declared in crypto_cipher.hpp.
inline constexpr size_t kPayloadHeaderLength = 4;
// Generic payload header critical bit (RFC 7296 3.2).
inline constexpr uint8_t kCriticalBit = 0x80;

// Protocol ID 0 (Notify and Delete payloads about the IKE SA itself, RFC 7296 3.10).
inline constexpr ProtocolId kProtocolNone = static_cast<ProtocolId>(0);

// RFC 7296 3.5 identification types.
enum class IdType : uint8_t {
  kIpv4Addr = 1,
  kFqdn = 2,
  kRfc822Addr = 3,
  kIpv6Addr = 5,
  kDerAsn1Dn = 9,
  kDerAsn1Gn = 10,
  kKeyId = 11,
};

// RFC 7296 3.6 certificate encodings (the ones braid sends or accepts).
inline constexpr uint8_t kCertX509Signature = 4;

// Authentication methods: AuthMethod in auth_psk.hpp.

// RFC 7296 3.13.1 traffic selector types.
inline constexpr uint8_t kTsIpv4AddrRange = 7;
inline constexpr uint8_t kTsIpv6AddrRange = 8;

// RFC 7296 3.15 configuration payload.
inline constexpr uint8_t kCfgRequest = 1;
inline constexpr uint8_t kCfgReply = 2;
inline constexpr uint8_t kCfgSet = 3;
inline constexpr uint8_t kCfgAck = 4;

// RFC 7296 3.10.1 notify message types; < 16384 are errors.
namespace notify {
inline constexpr uint16_t kUnsupportedCriticalPayload = 1;
inline constexpr uint16_t kInvalidIkeSpi = 4;
inline constexpr uint16_t kInvalidMajorVersion = 5;
inline constexpr uint16_t kInvalidSyntax = 7;
inline constexpr uint16_t kInvalidMessageId = 9;
inline constexpr uint16_t kInvalidSpi = 11;
inline constexpr uint16_t kNoProposalChosen = 14;
inline constexpr uint16_t kInvalidKePayload = 17;
inline constexpr uint16_t kAuthenticationFailed = 24;
inline constexpr uint16_t kSinglePairRequired = 34;
inline constexpr uint16_t kNoAdditionalSas = 35;
inline constexpr uint16_t kInternalAddressFailure = 36;
inline constexpr uint16_t kFailedCpRequired = 37;
inline constexpr uint16_t kTsUnacceptable = 38;
inline constexpr uint16_t kInvalidSelectors = 39;
inline constexpr uint16_t kTemporaryFailure = 43;  // RFC 7296 2.25
inline constexpr uint16_t kChildSaNotFound = 44;   // RFC 7296 2.25

inline constexpr uint16_t kFirstStatus = 16384;
inline constexpr uint16_t kInitialContact = 16384;
inline constexpr uint16_t kSetWindowSize = 16385;
inline constexpr uint16_t kAdditionalTsPossible = 16386;
inline constexpr uint16_t kIpcompSupported = 16387;
inline constexpr uint16_t kNatDetectionSourceIp = 16388;
inline constexpr uint16_t kNatDetectionDestinationIp = 16389;
inline constexpr uint16_t kCookie = 16390;
inline constexpr uint16_t kUseTransportMode = 16391;
inline constexpr uint16_t kHttpCertLookupSupported = 16392;
inline constexpr uint16_t kRekeySa = 16393;
inline constexpr uint16_t kEspTfcPaddingNotSupported = 16394;
inline constexpr uint16_t kNonFirstFragmentsAlso = 16395;
inline constexpr uint16_t kMobikeSupported = 16396;
// RFC 4555 4.2.
inline constexpr uint16_t kUpdateSaAddresses = 16400;
inline constexpr uint16_t kCookie2 = 16401;
inline constexpr uint16_t kNoNatsAllowed = 16402;
inline constexpr uint16_t kUnexpectedNatDetected = 41;           // an error type (RFC 4555 4.2)
inline constexpr uint16_t kIkev2FragmentationSupported = 16430;  // RFC 7383
inline constexpr uint16_t kSignatureHashAlgorithms = 16431;      // RFC 7427
// Private-use status type (RFC 7296 3.10.1: 40960-65535; peers ignore it when unknown).
// IKE_AUTH only; data: one octet, the braid shim version.
inline constexpr uint16_t kBraidShimSupported = 41472;
inline constexpr uint8_t kBraidShimVersion = 1;

inline bool isError(uint16_t type) {
  return type < kFirstStatus;
}
}  // namespace notify
std::string notifyName(uint16_t type);

}  // namespace braid::ike
