// Traffic selectors (RFC 7296 3.13.1) as address/port ranges, and narrowing (2.9).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/ip.hpp"

namespace braid::ike {

struct TrafficSelector {
  uint8_t ipProtocol = 0;  // 0: any
  uint16_t startPort = 0;
  uint16_t endPort = 65535;
  IpAddress start;
  IpAddress end;

  static TrafficSelector fromPrefix(const IpPrefix& prefix, uint8_t ipProtocol = 0,
                                    uint16_t startPort = 0, uint16_t endPort = 65535);
  // The host selector for one address (transport mode, packet-specific TS).
  static TrafficSelector host(const IpAddress& a) {
    return fromPrefix(IpPrefix(a, a.isV4() ? 32 : 128));
  }
  IpFamily family() const { return start.family(); }
  // A range that is well formed: same family, start <= end, startPort <= endPort.
  bool valid() const;
  bool contains(const TrafficSelector& other) const;
  // The prefix covering exactly this range, if the range is one (for routing in edge).
  std::optional<IpPrefix> toPrefix() const;
  // "10.1.0.0/16", "10.1.0.5..10.1.0.9", with "[proto/ports]" when restricted.
  std::string toString() const;
  bool operator==(const TrafficSelector&) const = default;
};

std::optional<TrafficSelector> intersect(const TrafficSelector& a, const TrafficSelector& b);

// RFC 7296 2.9: every non-empty intersection of a proposed selector with a configured one,
// in proposal order, without duplicates. Empty: nothing acceptable (TS_UNACCEPTABLE).
std::vector<TrafficSelector> narrowSelectors(const std::vector<TrafficSelector>& proposed,
                                             const std::vector<TrafficSelector>& configured);
// True if every selector of `inner` is contained in some selector of `outer` (the initiator's
// check that the responder only narrowed, RFC 7296 2.9).
bool selectorsWithin(const std::vector<TrafficSelector>& inner,
                     const std::vector<TrafficSelector>& outer);
std::string selectorsToString(const std::vector<TrafficSelector>& list);

}  // namespace braid::ike
