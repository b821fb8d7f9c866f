// Classifier: rules on the 5-tuple, DSCP and ingress interface, in priority order; the first
// match gives the class, no match the default class. Rules are compiled once (IPv4 prefixes
// to mask/value pairs, DSCP to a 64-bit set) so a lookup does no allocation. It runs once
// per new flow; the flow table remembers the answer.
#pragma once

#include <cstdint>
#include <vector>

#include "core/flow_key.hpp"
#include "core/ip.hpp"
#include "policy/types.hpp"

namespace braid::policy {

struct PortRange {
  uint16_t lo = 0;
  uint16_t hi = 65535;
  bool contains(uint16_t p) const { return p >= lo && p <= hi; }
};

// Every field that is empty / zero / negative matches anything; a rule matches when all its
// fields do (and-ed), each list when any entry does (or-ed).
struct Rule {
  ClassId cls = 0;
  std::vector<IpPrefix> src;
  std::vector<IpPrefix> dst;
  uint8_t proto = 0;  // IP protocol; 0 = any
  std::vector<PortRange> srcPorts;
  std::vector<PortRange> dstPorts;
  uint64_t dscp = 0;     // bit d set: DSCP value d matches; 0 = any
  int16_t ingress = -1;  // ingress interface index; -1 = any
};

class Classifier {
 public:
  Classifier() = default;
  Classifier(const std::vector<Rule>& rules, ClassId defaultClass);

  ClassId classify(const FlowKey& key, PacketMeta meta = {}) const;
  // Index of the first matching rule, or -1.
  int match(const FlowKey& key, PacketMeta meta = {}) const;
  size_t size() const { return rules_.size(); }
  ClassId defaultClass() const { return default_; }

 private:
  struct V4 {
    uint32_t net, mask;
  };
  struct Compiled {
    ClassId cls;
    uint8_t proto;
    int16_t ingress;
    uint64_t dscp;
    bool anySrc, anyDst;  // no prefixes of either family
    std::vector<V4> src4, dst4;
    std::vector<IpPrefix> src6, dst6;
    std::vector<PortRange> srcPorts, dstPorts;
  };
  static bool matchAddr(const IpAddress& a, bool any, const std::vector<V4>& v4,
                        const std::vector<IpPrefix>& v6);
  static bool matchPorts(uint16_t p, const std::vector<PortRange>& r);
  std::vector<Compiled> rules_;
  ClassId default_ = 0;
};

}  // namespace braid::policy
