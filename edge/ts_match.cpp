#include "edge/ts_match.hpp"

#include "core/bytes.hpp"

namespace braid::edge {

namespace {

constexpr uint8_t kIcmp = 1, kTcp = 6, kUdp = 17, kDccp = 33, kIcmpV6 = 58, kSctp = 132,
                  kUdpLite = 136;

bool hasPorts(uint8_t proto) {
  return proto == kTcp || proto == kUdp || proto == kSctp || proto == kDccp || proto == kUdpLite;
}

// The transport header at `l4` (`avail` bytes of it in the packet): ports or ICMP type/code.
void readPorts(SelectorFields& f, const uint8_t* l4, size_t avail) {
  if (hasPorts(f.proto)) {
    if (avail < 4) return;
    f.srcPort = loadBe16(l4);
    f.dstPort = loadBe16(l4 + 2);
    f.opaque = false;
  } else if (f.proto == (f.v6 ? kIcmpV6 : kIcmp)) {
    if (avail < 2) return;
    // RFC 4301 4.4.1.1: type in the high byte, code in the low byte, for either port.
    f.srcPort = f.dstPort = loadBe16(l4);
    f.opaque = false;
  }
}

void addressOf(const uint8_t* p, bool v6, uint64_t* out) {
  if (v6) {
    out[0] = loadBe64(p);
    out[1] = loadBe64(p + 8);
  } else {
    out[0] = 0;
    out[1] = loadBe32(p);
  }
}

bool within(const uint64_t* a, const uint64_t* lo, const uint64_t* hi) {
  const bool geLo = a[0] != lo[0] ? a[0] > lo[0] : a[1] >= lo[1];
  const bool leHi = a[0] != hi[0] ? a[0] < hi[0] : a[1] <= hi[1];
  return geLo && leHi;
}

}  // namespace

bool parseSelectorFields(const uint8_t* ip, size_t len, SelectorFields& f) {
  f = SelectorFields{};
  if (len < 20) return false;
  const uint8_t version = ip[0] >> 4;
  if (version == 4) {
    const size_t ihl = size_t{ip[0] & 0x0Fu} * 4;
    if (ihl < 20 || ihl > len) return false;
    f.proto = ip[9];
    addressOf(ip + 12, false, f.src);
    addressOf(ip + 16, false, f.dst);
    // RFC 4301 7: a non-initial fragment has no transport header (OPAQUE ports).
    if ((loadBe16(ip + 6) & 0x1FFF) == 0) readPorts(f, ip + ihl, len - ihl);
    return true;
  }
  if (version != 6 || len < 40) return false;
  f.v6 = true;
  addressOf(ip + 8, true, f.src);
  addressOf(ip + 24, true, f.dst);
  uint8_t next = ip[6];
  size_t off = 40;
  // RFC 8200 4 / RFC 4301 7: a bounded walk to the upper-layer header.
  for (int i = 0;; ++i) {
    if (next != 0 && next != 43 && next != 60 && next != 44 && next != 51) break;
    if (i == kMaxV6Headers || off + 8 > len) return true;  // protocol unknown (0)
    size_t hdrLen;
    if (next == 44) {
      if ((loadBe16(ip + off + 2) & 0xFFF8) != 0) {  // non-initial fragment: OPAQUE ports
        f.proto = ip[off];
        return true;
      }
      hdrLen = 8;
    } else if (next == 51) {
      hdrLen = (size_t{ip[off + 1]} + 2) * 4;  // RFC 4302 2.2: in 4-octet units, minus 2
    } else {
      hdrLen = (size_t{ip[off + 1]} + 1) * 8;
    }
    next = ip[off];
    off += hdrLen;
    if (off > len) return true;
  }
  f.proto = next;
  readPorts(f, ip + off, len - off);
  return true;
}

bool SelectorMatcher::restricts(const std::vector<ike::TrafficSelector>& list) {
  for (const auto& ts : list) {
    if (ts.ipProtocol != 0 || ts.startPort != 0 || ts.endPort != 65535) return true;
  }
  return false;
}

std::shared_ptr<const SelectorMatcher> SelectorMatcher::from(
    const std::vector<ike::TrafficSelector>& remote,
    const std::vector<ike::TrafficSelector>& local) {
  if (!restricts(remote) && !restricts(local)) return nullptr;
  auto m = std::make_shared<SelectorMatcher>();
  auto convert = [](const std::vector<ike::TrafficSelector>& in, std::vector<Entry>& out) {
    for (const auto& ts : in) {
      if (!ts.valid()) continue;
      Entry e{};
      e.v6 = ts.start.isV6();
      addressOf(ts.start.bytes().data(), e.v6, e.lo);
      addressOf(ts.end.bytes().data(), e.v6, e.hi);
      e.proto = ts.ipProtocol;
      e.portLo = ts.startPort;
      e.portHi = ts.endPort;
      out.push_back(e);
    }
  };
  convert(remote, m->remote_);
  convert(local, m->local_);
  return m;
}

bool SelectorMatcher::covers(const std::vector<Entry>& list, const SelectorFields& f,
                             const uint64_t* addr, uint16_t port) {
  for (const Entry& e : list) {
    if (e.v6 != f.v6 || !within(addr, e.lo, e.hi)) continue;
    if (e.proto != 0 && e.proto != f.proto) continue;
    if (e.portLo == 0 && e.portHi == 65535) return true;  // ANY, OPAQUE included
    if (!f.opaque && port >= e.portLo && port <= e.portHi) return true;
  }
  return false;
}

bool SelectorMatcher::match(const SelectorFields& f, bool inbound) const {
  if (inbound) {
    return covers(remote_, f, f.src, f.srcPort) && covers(local_, f, f.dst, f.dstPort);
  }
  return covers(local_, f, f.src, f.srcPort) && covers(remote_, f, f.dst, f.dstPort);
}

bool SelectorMatcher::matchInbound(const uint8_t* ip, size_t len) const {
  SelectorFields f;
  return parseSelectorFields(ip, len, f) && match(f, true);
}

bool SelectorMatcher::matchOutbound(const uint8_t* ip, size_t len) const {
  SelectorFields f;
  return parseSelectorFields(ip, len, f) && match(f, false);
}

}  // namespace braid::edge
