// IKEv2 payload bodies (RFC 7296 section 3), one class per payload type. parse() reads a
// body bounded to the generic header's length and must consume it exactly; serialize()
// writes the body only (the generic header belongs to the chain, see message.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/bytes.hpp"
#include "ipsec/ike/ike_types.hpp"
#include "ipsec/ike/traffic_selector.hpp"

namespace braid::ike {

using ByteVec = std::vector<uint8_t>;

// SA payload proposals and transforms use the crypto layer's model (proposal.hpp). A
// transform with an attribute other than Key Length gets keyBits kUnknownAttributeBits so
// that it never matches (RFC 7296 3.3.6: unrecognized attributes reject the transform).
inline constexpr uint16_t kUnknownAttributeBits = 0xFFFF;

class SaPayload {
 public:
  static constexpr PayloadType kType = PayloadType::kSa;
  std::vector<Proposal> proposals;
  bool parse(ByteReader& r);
  bool serialize(ByteWriter& w) const;
  bool operator==(const SaPayload&) const = default;
};

class KePayload {
 public:
  static constexpr PayloadType kType = PayloadType::kKe;
  uint16_t group = 0;
  ByteVec data;
  bool parse(ByteReader& r);
  bool serialize(ByteWriter& w) const;
  bool operator==(const KePayload&) const = default;
};

// IDi and IDr (RFC 7296 3.5).
class IdPayload {
 public:
  IdType idType = IdType::kFqdn;
  ByteVec data;
  bool parse(ByteReader& r);
  bool serialize(ByteWriter& w) const;
  bool operator==(const IdPayload&) const = default;
};

class CertPayload {
 public:
  static constexpr PayloadType kType = PayloadType::kCert;
  uint8_t encoding = kCertX509Signature;
  ByteVec data;  // DER
  bool parse(ByteReader& r);
  bool serialize(ByteWriter& w) const;
  bool operator==(const CertPayload&) const = default;
};

// RFC 7296 3.7: the authority is a list of SHA-1 hashes of CA public keys.
class CertReqPayload {
 public:
  static constexpr PayloadType kType = PayloadType::kCertReq;
  uint8_t encoding = kCertX509Signature;
  ByteVec authorities;
  bool parse(ByteReader& r);
  bool serialize(ByteWriter& w) const;
  bool operator==(const CertReqPayload&) const = default;
};

class AuthPayload {
 public:
  static constexpr PayloadType kType = PayloadType::kAuth;
  AuthMethod method = AuthMethod::kSharedKeyMic;
  ByteVec data;
  bool parse(ByteReader& r);
  bool serialize(ByteWriter& w) const;
  bool operator==(const AuthPayload&) const = default;
};

// RFC 7296 3.9: 16..256 bytes.
class NoncePayload {
 public:
  static constexpr PayloadType kType = PayloadType::kNonce;
  static constexpr size_t kMinLength = 16;
  static constexpr size_t kMaxLength = 256;
  ByteVec data;
  bool parse(ByteReader& r);
  bool serialize(ByteWriter& w) const;
  bool operator==(const NoncePayload&) const = default;
};

class NotifyPayload {
 public:
  static constexpr PayloadType kType = PayloadType::kNotify;
  ProtocolId protocol = kProtocolNone;
  ByteVec spi;
  uint16_t notifyType = 0;
  ByteVec data;
  bool parse(ByteReader& r);
  bool serialize(ByteWriter& w) const;
  bool operator==(const NotifyPayload&) const = default;
};

// RFC 7296 3.11. IKE: no SPIs (the header names the SA); ESP/AH: 4-byte SPIs.
class DeletePayload {
 public:
  static constexpr PayloadType kType = PayloadType::kDelete;
  ProtocolId protocol = ProtocolId::kEsp;
  std::vector<uint32_t> spis;
  bool parse(ByteReader& r);
  bool serialize(ByteWriter& w) const;
  bool operator==(const DeletePayload&) const = default;
};

class VendorIdPayload {
 public:
  static constexpr PayloadType kType = PayloadType::kVendorId;
  ByteVec data;
  bool parse(ByteReader& r);
  bool serialize(ByteWriter& w) const;
  bool operator==(const VendorIdPayload&) const = default;
};

// TSi and TSr (RFC 7296 3.13). Selector types other than IPv4/IPv6 ranges are skipped.
class TsPayload {
 public:
  std::vector<TrafficSelector> selectors;
  bool parse(ByteReader& r);
  bool serialize(ByteWriter& w) const;
  bool operator==(const TsPayload&) const = default;
};

struct CpAttribute {
  uint16_t type = 0;
  ByteVec value;
  bool operator==(const CpAttribute&) const = default;
};

// RFC 7296 3.15, raw attributes (typed: payload_cp.hpp).
class CpPayload {
 public:
  static constexpr PayloadType kType = PayloadType::kCp;
  uint8_t cfgType = kCfgRequest;
  std::vector<CpAttribute> attributes;
  bool parse(ByteReader& r);
  bool serialize(ByteWriter& w) const;
  bool operator==(const CpPayload&) const = default;
};

// RFC 7296 3.16: one EAP packet (RFC 3748), decoded by eap.hpp.
class EapPayload {
 public:
  static constexpr PayloadType kType = PayloadType::kEap;
  ByteVec message;
  bool parse(ByteReader& r);
  bool serialize(ByteWriter& w) const;
  bool operator==(const EapPayload&) const = default;
};

// Any payload type braid does not know (kept raw so it can be skipped or re-sent).
class UnknownPayload {
 public:
  ByteVec body;
  bool parse(ByteReader& r);
  bool serialize(ByteWriter& w) const;
  bool operator==(const UnknownPayload&) const = default;
};

using PayloadBody = std::variant<SaPayload, KePayload, IdPayload, CertPayload, CertReqPayload,
                                 AuthPayload, NoncePayload, NotifyPayload, DeletePayload,
                                 VendorIdPayload, TsPayload, CpPayload, EapPayload, UnknownPayload>;

struct Payload {
  PayloadType type = PayloadType::kNone;
  bool critical = false;
  bool encrypted = false;  // set by the decoder for payloads found inside SK
  PayloadBody body;
  bool operator==(const Payload&) const = default;
};

// True for payload types braid parses (everything in PayloadBody but UnknownPayload).
bool isKnownPayload(PayloadType type);
// Parses a body of the given type; a type braid does not know gives an UnknownPayload.
std::optional<PayloadBody> parsePayloadBody(PayloadType type, Bytes body);
bool serializePayloadBody(const PayloadBody& body, ByteWriter& w);

// Short text for logs: "N(NO_PROPOSAL_CHOSEN)", "SA", "TSi"...
std::string payloadSummary(const Payload& p);

}  // namespace braid::ike
