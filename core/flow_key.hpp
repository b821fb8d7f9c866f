// FlowKey: the 5-tuple of an IP packet, parsed from its header with ByteReader.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/bytes.hpp"
#include "core/ip.hpp"

namespace braid {

enum IpProto : uint8_t {
  kProtoIcmp = 1,
  kProtoIpIp = 4,
  kProtoTcp = 6,
  kProtoUdp = 17,
  kProtoIpv6 = 41,
  kProtoEsp = 50,
  kProtoIcmpv6 = 58,
  kProtoNoNext = 59,
};

struct FlowKey {
  IpAddress src;
  IpAddress dst;
  uint8_t proto = 0;
  uint16_t srcPort = 0;  // 0 for protocols without ports, and for non-first fragments
  uint16_t dstPort = 0;

  // Parses an IPv4 or IPv6 packet. IPv6 extension headers (hop-by-hop, routing,
  // destination options, fragment) are walked to find the transport header.
  static std::optional<FlowKey> parse(Bytes packet);

  FlowKey reversed() const { return {dst, src, proto, dstPort, srcPort}; }
  std::string toString() const;
  bool operator==(const FlowKey&) const = default;
  size_t hash() const;
};

}  // namespace braid

template <>
struct std::hash<braid::FlowKey> {
  size_t operator()(const braid::FlowKey& k) const { return k.hash(); }
};
