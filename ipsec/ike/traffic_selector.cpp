#include "ipsec/ike/traffic_selector.hpp"

#include <algorithm>
#include <sstream>

namespace braid::ike {

TrafficSelector TrafficSelector::fromPrefix(const IpPrefix& prefix, uint8_t ipProtocol,
                                            uint16_t startPort, uint16_t endPort) {
  TrafficSelector ts;
  ts.ipProtocol = ipProtocol;
  ts.startPort = startPort;
  ts.endPort = endPort;
  ts.start = prefix.first();
  ts.end = prefix.last();
  return ts;
}

bool TrafficSelector::valid() const {
  return start.family() == end.family() && start <= end && startPort <= endPort;
}

bool TrafficSelector::contains(const TrafficSelector& o) const {
  if (family() != o.family()) return false;
  if (ipProtocol != 0 && ipProtocol != o.ipProtocol) return false;
  return start <= o.start && o.end <= end && startPort <= o.startPort && o.endPort <= endPort;
}

std::optional<IpPrefix> TrafficSelector::toPrefix() const {
  for (size_t len = 0; len <= start.bitLength(); ++len) {
    IpPrefix p(start, static_cast<uint8_t>(len));
    if (p.first() == start && p.last() == end) return p;
  }
  return std::nullopt;
}

std::string TrafficSelector::toString() const {
  std::ostringstream out;
  if (auto p = toPrefix()) {
    out << p->toString();
  } else {
    out << start.toString() << ".." << end.toString();
  }
  if (ipProtocol != 0 || startPort != 0 || endPort != 65535) {
    out << "[" << int{ipProtocol};
    if (startPort != 0 || endPort != 65535) {
      out << "/" << startPort;
      if (endPort != startPort) out << "-" << endPort;
    }
    out << "]";
  }
  return out.str();
}

std::optional<TrafficSelector> intersect(const TrafficSelector& a, const TrafficSelector& b) {
  if (a.family() != b.family()) return std::nullopt;
  if (a.ipProtocol != 0 && b.ipProtocol != 0 && a.ipProtocol != b.ipProtocol) return std::nullopt;
  TrafficSelector r;
  r.ipProtocol = a.ipProtocol != 0 ? a.ipProtocol : b.ipProtocol;
  r.start = std::max(a.start, b.start);
  r.end = std::min(a.end, b.end);
  r.startPort = std::max(a.startPort, b.startPort);
  r.endPort = std::min(a.endPort, b.endPort);
  if (!r.valid()) return std::nullopt;
  return r;
}

std::vector<TrafficSelector> narrowSelectors(const std::vector<TrafficSelector>& proposed,
                                             const std::vector<TrafficSelector>& configured) {
  std::vector<TrafficSelector> out;
  for (const auto& p : proposed) {
    for (const auto& c : configured) {
      auto r = intersect(p, c);
      if (r && std::find(out.begin(), out.end(), *r) == out.end()) out.push_back(*r);
    }
  }
  return out;
}

bool selectorsWithin(const std::vector<TrafficSelector>& inner,
                     const std::vector<TrafficSelector>& outer) {
  return std::all_of(inner.begin(), inner.end(), [&](const TrafficSelector& t) {
    return std::any_of(outer.begin(), outer.end(),
                       [&](const TrafficSelector& o) { return o.contains(t); });
  });
}

std::string selectorsToString(const std::vector<TrafficSelector>& list) {
  std::string s;
  for (const auto& t : list) {
    if (!s.empty()) s += " ";
    s += t.toString();
  }
  return s.empty() ? "(none)" : s;
}

}  // namespace braid::ike
