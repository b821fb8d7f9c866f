// IKE identities (RFC 7296 3.5): what we send in IDi/IDr and what we expect from the peer.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/ip.hpp"
#include "ipsec/ike/payload.hpp"

namespace braid::ike {

class Identity {
 public:
  Identity() = default;  // "any": as an expected remote identity, matches every peer
  Identity(IdType type, ByteVec data) : type_(type), data_(std::move(data)), any_(false) {}
  static Identity fqdn(std::string_view name);
  static Identity rfc822(std::string_view address);
  static Identity address(const IpAddress& a);
  static Identity derDn(ByteVec der);
  // "%any", "@host.example" / "host.example" (FQDN), "user@example" (RFC822), an IP address.
  // A DN needs the certificate layer (Certificate::subjectDer) and is not parsed from text.
  static std::optional<Identity> parse(std::string_view text);
  static Identity fromPayload(const IdPayload& p) { return Identity(p.idType, p.data); }

  bool any() const { return any_; }
  IdType type() const { return type_; }
  const ByteVec& data() const { return data_; }
  IdPayload toPayload() const { return IdPayload{type_, data_}; }
  // ID payload body after the generic header (the AUTH computation input, RFC 7296 2.15).
  ByteVec payloadBody() const;
  // An expected identity matches a received one: "any", or same type and data (FQDN and
  // RFC822 case-insensitively, RFC 4945 3.1.2).
  bool matches(const Identity& received) const;
  std::string toString() const;
  bool operator==(const Identity&) const = default;

 private:
  IdType type_ = IdType::kFqdn;
  ByteVec data_;
  bool any_ = true;
};

}  // namespace braid::ike
