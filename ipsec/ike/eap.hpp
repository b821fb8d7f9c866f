// EAP packets (RFC 3748 section 4) as carried in the IKEv2 EAP payload (RFC 7296 3.16), and
// the EAP-MSCHAPv2 messages inside them (draft-kamath-pppext-eap-mschapv2-02 section 2).
// Decoding reads one bounded ByteReader; anything malformed is nullopt.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "ipsec/ike/eap_mschapv2.hpp"

namespace braid::ike {

using ByteVec = std::vector<uint8_t>;

enum class EapCode : uint8_t { kRequest = 1, kResponse = 2, kSuccess = 3, kFailure = 4 };

namespace eap_type {
inline constexpr uint8_t kIdentity = 1;   // RFC 3748 5.1
inline constexpr uint8_t kNak = 3;        // RFC 3748 5.3.1 (legacy Nak)
inline constexpr uint8_t kTls = 13;       // RFC 5216
inline constexpr uint8_t kMschapv2 = 26;  // draft-kamath-pppext-eap-mschapv2
inline constexpr uint8_t kExpanded = 254;
}  // namespace eap_type

struct EapPacket {
  EapCode code = EapCode::kRequest;
  uint8_t identifier = 0;
  uint8_t type = 0;  // Request/Response only
  ByteVec data;      // Type-Data
  // The whole packet must be exactly Length bytes (RFC 3748 4: shorter is discarded; IKE
  // frames it, so extra bytes are an error too); Success/Failure carry no type.
  static std::optional<EapPacket> decode(Bytes packet);
  ByteVec encode() const;
  std::string summary() const;  // "EAP-Request/MSCHAPv2" for logs
};

// EAP-MSCHAPv2 (draft-kamath 2): OpCode, MS-CHAPv2-ID, MS-Length, then the op's data.
namespace mschapv2 {

enum class OpCode : uint8_t {
  kChallenge = 1,
  kResponse = 2,
  kSuccess = 3,
  kFailure = 4,
  kChangePassword = 7
};

struct Message {
  OpCode op = OpCode::kChallenge;
  uint8_t msId = 0;
  ByteVec data;  // after MS-Length (empty for a peer's Success/Failure acknowledgement)
  // The Type-Data of an EAP packet of type kMschapv2. A peer's Success/Failure
  // acknowledgement is the OpCode alone.
  static std::optional<Message> decode(Bytes typeData);
  ByteVec encode() const;
};

struct ChallengeData {  // RFC 2759 4: Value-Size 16, Challenge, Name
  Challenge16 challenge{};
  std::string name;
  static std::optional<ChallengeData> decode(Bytes data);
  ByteVec encode() const;
};

struct ResponseData {  // RFC 2759 4: Value-Size 49, Peer-Challenge, 8 reserved, NT-Response, Flags,
                       // Name
  Challenge16 peerChallenge{};
  NtResponse ntResponse{};
  uint8_t flags = 0;
  std::string name;
  static std::optional<ResponseData> decode(Bytes data);
  ByteVec encode() const;
};

// An EAP packet carrying one EAP-MSCHAPv2 message.
EapPacket makePacket(EapCode code, uint8_t identifier, const Message& m);

}  // namespace mschapv2
}  // namespace braid::ike
