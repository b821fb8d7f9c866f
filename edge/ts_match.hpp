// A Child SA's traffic selectors with their protocol and ports, checked on inner packets
// (RFC 4301 4.4.1.1 and 5.2, RFC 7296 2.9 / 3.13.1). The data plane checks addresses with
// PrefixSet first; this matcher exists only for SAs whose selectors restrict the protocol or
// the ports, so an SA with protocol 0 and full port ranges everywhere costs nothing more.
//
// What is read from the packet (one bounded parse, no allocation):
//   * the next-layer protocol: IPv4's protocol field; IPv6's after up to kMaxV6Headers
//     extension headers (hop-by-hop, routing, destination options, fragment, AH);
//   * ports for TCP, UDP, SCTP, DCCP and UDP-Lite; for ICMP and ICMPv6 the 16-bit value
//     type << 8 | code stands for both ports (RFC 4301 4.4.1.1: a selector's port fields carry
//     the ICMP type in the high and the code in the low byte);
//   * OPAQUE ports (RFC 4301 4.4.1.1 and 7): non-initial fragments, protocols without
//     ports, transport headers cut short. OPAQUE matches only a selector whose port range
//     is the full 0-65535 (ANY); braid does not reassemble to find a fragment's ports, so a
//     port-restricted SA does not carry non-initial fragments (RFC 4301 7.3 allows this).
//   * an IPv6 header chain longer than the bound, or cut short, leaves the protocol unknown:
//     it matches only selectors of protocol 0 with full ports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "ipsec/ike/traffic_selector.hpp"

namespace braid::edge {

// The selector fields of one inner packet.
struct SelectorFields {
  bool v6 = false;
  uint8_t proto = 0;   // 0 when unknown (see above)
  bool opaque = true;  // no ports (or ICMP type/code) read
  uint16_t srcPort = 0, dstPort = 0;
  uint64_t src[2] = {0, 0};  // addresses as big-endian numbers (IPv4 in src[1])
  uint64_t dst[2] = {0, 0};
};

inline constexpr int kMaxV6Headers = 8;

// false if the packet is not IPv4/IPv6 or shorter than its IP header.
bool parseSelectorFields(const uint8_t* ip, size_t len, SelectorFields& out);

class SelectorMatcher {
 public:
  // True when some selector restricts the protocol or the ports.
  static bool restricts(const std::vector<ike::TrafficSelector>& list);
  // Null when neither list restricts protocol or ports (the address check alone decides).
  // `remote` are the peer's selectors (TSr of the initiator's view for the peer side),
  // `local` ours.
  static std::shared_ptr<const SelectorMatcher> from(
      const std::vector<ike::TrafficSelector>& remote,
      const std::vector<ike::TrafficSelector>& local);

  // Inbound: the source in some remote selector and the destination in some local one, each
  // with its protocol and port (RFC 4301 5.2). Outbound: the reverse.
  bool matchInbound(const uint8_t* ip, size_t len) const;
  bool matchOutbound(const uint8_t* ip, size_t len) const;
  bool match(const SelectorFields& f, bool inbound) const;

 private:
  struct Entry {
    uint64_t lo[2], hi[2];
    bool v6;
    uint8_t proto;
    uint16_t portLo, portHi;
  };
  static bool covers(const std::vector<Entry>& list, const SelectorFields& f, const uint64_t* addr,
                     uint16_t port);
  std::vector<Entry> remote_, local_;
};

}  // namespace braid::edge
