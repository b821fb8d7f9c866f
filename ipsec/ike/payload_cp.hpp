// The Configuration payload's attributes (RFC 7296 3.15, 3.15.1, 3.15.2), typed: what a
// remote-access client asks for (CFG_REQUEST, attributes with empty values or the address it
// would like) and what the gateway assigns (CFG_REPLY). The raw codec is CpPayload
// (payload.hpp); this layer checks each known attribute's length and keeps unknown ones.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/ip.hpp"
#include "core/result.hpp"
#include "ipsec/ike/payload.hpp"

namespace braid::ike {

// RFC 7296 3.15.1 attribute types (IANA "IKEv2 Configuration Payload Attribute Types").
namespace cfg {
inline constexpr uint16_t kInternalIp4Address = 1;
inline constexpr uint16_t kInternalIp4Netmask = 2;
inline constexpr uint16_t kInternalIp4Dns = 3;
inline constexpr uint16_t kInternalIp4Nbns = 4;
inline constexpr uint16_t kInternalIp4Dhcp = 6;
inline constexpr uint16_t kApplicationVersion = 7;
inline constexpr uint16_t kInternalIp6Address = 8;
inline constexpr uint16_t kInternalIp6Dns = 10;
inline constexpr uint16_t kInternalIp6Dhcp = 12;
inline constexpr uint16_t kInternalIp4Subnet = 13;
inline constexpr uint16_t kSupportedAttributes = 14;
inline constexpr uint16_t kInternalIp6Subnet = 15;
}  // namespace cfg

// INTERNAL_IP6_ADDRESS: an address and the prefix length of its link (RFC 7296 3.15.1).
struct Ip6Assignment {
  IpAddress address;
  uint8_t prefixLength = 128;
  bool operator==(const Ip6Assignment&) const = default;
};

// One decoded CP payload. In a request, an attribute with an empty value asks for "any"
// (the `want*` flags); a non-empty INTERNAL_IP4/6_ADDRESS names the address the client would
// like back (RFC 7296 3.15.1), which a gateway may ignore.
class ConfigPayload {
 public:
  uint8_t cfgType = kCfgRequest;
  bool wantIp4Address = false, wantIp6Address = false;
  bool wantIp4Netmask = false;
  bool wantIp4Dns = false, wantIp6Dns = false;
  bool wantIp4Subnet = false, wantIp6Subnet = false;
  std::vector<IpAddress> ip4Addresses;      // INTERNAL_IP4_ADDRESS
  std::optional<IpAddress> ip4Netmask;      // INTERNAL_IP4_NETMASK (only with an address)
  std::vector<Ip6Assignment> ip6Addresses;  // INTERNAL_IP6_ADDRESS
  std::vector<IpAddress> ip4Dns, ip6Dns;
  std::vector<IpPrefix> ip4Subnets, ip6Subnets;  // INTERNAL_IP4/6_SUBNET (split tunnelling)
  // Attributes of other types, in order (NBNS, DHCP, APPLICATION_VERSION, private use...).
  std::vector<CpAttribute> other;

  // Fails (INVALID_SYNTAX material) on a known attribute with a length RFC 7296 3.15.1 does
  // not allow, an IPv4 netmask that is not contiguous, or a CFG type outside 1..4.
  static Result<ConfigPayload> fromPayload(const CpPayload& cp);
  CpPayload toPayload() const;
  bool operator==(const ConfigPayload&) const = default;
};

}  // namespace braid::ike
