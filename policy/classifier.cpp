#include "policy/classifier.hpp"

namespace braid::policy {

namespace {

uint32_t v4Mask(uint8_t len) {
  return len == 0 ? 0 : ~uint32_t{0} << (32 - len);
}

}  // namespace

Classifier::Classifier(const std::vector<Rule>& rules, ClassId defaultClass)
    : default_(defaultClass) {
  rules_.reserve(rules.size());
  for (const Rule& r : rules) {
    Compiled c{r.cls, r.proto, r.ingress, r.dscp, r.src.empty(), r.dst.empty(),
               {},    {},      {},        {},     r.srcPorts,    r.dstPorts};
    auto split = [](const std::vector<IpPrefix>& in, std::vector<V4>& v4,
                    std::vector<IpPrefix>& v6) {
      for (const IpPrefix& p : in) {
        if (p.family() == IpFamily::kV4) {
          uint32_t mask = v4Mask(p.length());
          v4.push_back({p.address().v4HostOrder() & mask, mask});
        } else {
          v6.push_back(p);
        }
      }
    };
    split(r.src, c.src4, c.src6);
    split(r.dst, c.dst4, c.dst6);
    rules_.push_back(std::move(c));
  }
}

bool Classifier::matchAddr(const IpAddress& a, bool any, const std::vector<V4>& v4,
                           const std::vector<IpPrefix>& v6) {
  if (any) return true;
  if (a.isV4()) {
    uint32_t h = a.v4HostOrder();
    for (const V4& p : v4) {
      if ((h & p.mask) == p.net) return true;
    }
    return false;
  }
  for (const IpPrefix& p : v6) {
    if (p.contains(a)) return true;
  }
  return false;
}

bool Classifier::matchPorts(uint16_t p, const std::vector<PortRange>& r) {
  if (r.empty()) return true;
  for (const PortRange& x : r) {
    if (x.contains(p)) return true;
  }
  return false;
}

int Classifier::match(const FlowKey& key, PacketMeta meta) const {
  uint64_t dscpBit = uint64_t{1} << (meta.dscp & 63);
  for (size_t i = 0; i < rules_.size(); ++i) {
    const Compiled& r = rules_[i];
    if (r.proto != 0 && r.proto != key.proto) continue;
    if (r.dscp != 0 && (r.dscp & dscpBit) == 0) continue;
    if (r.ingress >= 0 && r.ingress != meta.ingress) continue;
    if (!matchPorts(key.dstPort, r.dstPorts) || !matchPorts(key.srcPort, r.srcPorts)) continue;
    if (!matchAddr(key.dst, r.anyDst, r.dst4, r.dst6)) continue;
    if (!matchAddr(key.src, r.anySrc, r.src4, r.src6)) continue;
    return static_cast<int>(i);
  }
  return -1;
}

ClassId Classifier::classify(const FlowKey& key, PacketMeta meta) const {
  int i = match(key, meta);
  return i < 0 ? default_ : rules_[static_cast<size_t>(i)].cls;
}

}  // namespace braid::policy
