#include "edge/offload.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include "core/bytes.hpp"

namespace braid::edge {

static_assert(std::endian::native == std::endian::little, "checksum code assumes little endian");

namespace {
constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpPsh = 0x08;
constexpr uint8_t kTcpAck = 0x10;
constexpr uint8_t kTcpCwr = 0x80;
constexpr uint8_t kProtoTcp = 6;
constexpr size_t kCoalesceItems = 8;
constexpr size_t kMaxCoalescedSegments = 64;
constexpr size_t kMaxIpPacket = 65535;  // also the cap of a coalesced IPv6 packet (buffer)
constexpr uint16_t kUdpCheckOffset = 6;

inline void add64(uint64_t& acc, uint64_t v) {
  acc += v;
  acc += acc < v;  // end-around carry
}
}  // namespace

uint64_t csumPartial(const uint8_t* p, size_t n, uint64_t acc) {
  while (n >= 32) {
    uint64_t w[4];
    std::memcpy(w, p, 32);
    add64(acc, w[0]);
    add64(acc, w[1]);
    add64(acc, w[2]);
    add64(acc, w[3]);
    p += 32;
    n -= 32;
  }
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    add64(acc, w);
    p += 8;
    n -= 8;
  }
  if (n >= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    add64(acc, w);
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    add64(acc, w);
    p += 2;
    n -= 2;
  }
  if (n == 1) add64(acc, *p);  // RFC 1071: an odd byte is padded with zero on the right
  return acc;
}

uint16_t csumFold(uint64_t acc) {
  acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffffu) + (acc >> 16);
  acc = (acc & 0xffffu) + (acc >> 16);
  acc = (acc & 0xffffu) + (acc >> 16);
  return static_cast<uint16_t>(acc);
}

uint64_t pseudoHeaderSum(const uint8_t* ip, bool v6, uint8_t proto, uint32_t l4Length) {
  if (v6) {
    uint64_t acc = csumPartial(ip + 8, 32, 0);
    add64(acc, htonl(l4Length));
    add64(acc, htonl(proto));
    return acc;
  }
  uint64_t acc = csumPartial(ip + 12, 8, 0);
  add64(acc, htons(static_cast<uint16_t>(l4Length)));
  add64(acc, htons(proto));
  return acc;
}

void setIpv4HeaderChecksum(uint8_t* ip) {
  size_t ihl = size_t(ip[0] & 0x0f) * 4;
  ip[10] = ip[11] = 0;
  uint16_t s = static_cast<uint16_t>(~csumFold(csumPartial(ip, ihl, 0)));
  std::memcpy(ip + 10, &s, 2);
}

bool tcpChecksumValid(const uint8_t* ip, size_t len, size_t ipHl, bool v6) {
  uint32_t l4 = static_cast<uint32_t>(len - ipHl);
  return csumFold(csumPartial(ip + ipHl, l4, pseudoHeaderSum(ip, v6, kProtoTcp, l4))) == 0xffff;
}

SplitResult splitTunRead(const VirtioNetHdr& h, uint8_t* pkt, size_t len, uint32_t mtu,
                         PacketPool& pool, std::vector<PacketPtr>& out, TxCounters& c) {
  const uint8_t type = h.gsoType & ~kVirtioGsoEcn;
  if (type == kVirtioGsoNone) {
    if (h.flags & kVirtioFlagNeedsCsum) {
      // The kernel left the checksum to us: the field holds the pseudo-header sum.
      size_t start = h.csumStart, field = start + h.csumOffset;
      if (start > len || field + 2 > len) return SplitResult::kMalformed;
      uint16_t s = static_cast<uint16_t>(~csumFold(csumPartial(pkt + start, len - start, 0)));
      // UDP (check field at offset 6): a computed 0 goes out as all ones (RFC 768); over
      // IPv6 a zero UDP checksum is not allowed at all (RFC 8200 section 8.1).
      if (s == 0 && h.csumOffset == kUdpCheckOffset) s = 0xffff;
      std::memcpy(pkt + field, &s, 2);
      ++c.csumCompleted;
    }
    if (len > mtu) return SplitResult::kOversize;
    PacketPtr b = pool.acquire();
    if (!b) return SplitResult::kNoBuffer;
    if (!b->assign(Bytes(pkt, len))) return SplitResult::kOversize;
    out.push_back(std::move(b));
    return SplitResult::kOk;
  }
  if (type != kVirtioGsoTcpv4 && type != kVirtioGsoTcpv6) return SplitResult::kMalformed;
  const bool v6 = type == kVirtioGsoTcpv6;
  // The header's hdr_len is not trusted (it may span the whole first packet on the forward
  // path); the layout comes from the packet itself.
  size_t ipHl = 0;
  if (!v6) {
    if (len < 20 || (pkt[0] >> 4) != 4 || pkt[9] != kProtoTcp) return SplitResult::kMalformed;
    ipHl = size_t(pkt[0] & 0x0f) * 4;
    if (ipHl < 20) return SplitResult::kMalformed;
  } else {
    if (len < 40 || (pkt[0] >> 4) != 6 || pkt[6] != kProtoTcp) return SplitResult::kMalformed;
    ipHl = 40;
  }
  if (len < ipHl + 20) return SplitResult::kMalformed;
  const size_t tcpHl = size_t(pkt[ipHl + 12] >> 4) * 4;
  if (tcpHl < 20 || ipHl + tcpHl > len) return SplitResult::kMalformed;
  const size_t hdrs = ipHl + tcpHl;
  const size_t payload = len - hdrs;
  const size_t gso = h.gsoSize;
  if (gso == 0) return SplitResult::kMalformed;
  if (hdrs + std::min(gso, payload) > mtu) return SplitResult::kOversize;
  const size_t nseg = std::max<size_t>(1, (payload + gso - 1) / gso);
  if (nseg > kMaxGsoSegments) return SplitResult::kTooManySegments;
  const uint32_t seq0 = loadBe32(pkt + ipHl + 4);
  const uint16_t id0 = v6 ? 0 : loadBe16(pkt + 4);
  const uint8_t flags = pkt[ipHl + 13];
  for (size_t i = 0; i < nseg; ++i) {
    const size_t off = hdrs + i * gso;
    const size_t n = std::min(gso, len - off);
    PacketPtr b = pool.acquire();
    if (!b) return SplitResult::kNoBuffer;
    const size_t total = hdrs + n;
    uint8_t* d = b->append(total);
    if (d == nullptr) return SplitResult::kOversize;
    std::memcpy(d, pkt, hdrs);
    std::memcpy(d + hdrs, pkt + off, n);
    if (!v6) {
      storeBe16(d + 2, static_cast<uint16_t>(total));
      storeBe16(d + 4, static_cast<uint16_t>(id0 + i));  // as tcp_gso_segment/inet_gso_segment
      setIpv4HeaderChecksum(d);
    } else {
      storeBe16(d + 4, static_cast<uint16_t>(total - 40));
    }
    uint8_t* th = d + ipHl;
    storeBe32(th + 4, static_cast<uint32_t>(seq0 + i * gso));
    uint8_t f = flags;
    if (i + 1 < nseg) f &= static_cast<uint8_t>(~(kTcpFin | kTcpPsh));  // only the last
    if (i > 0) f &= static_cast<uint8_t>(~kTcpCwr);                     // only the first
    th[13] = f;
    th[16] = th[17] = 0;
    const uint32_t l4 = static_cast<uint32_t>(total - ipHl);
    uint16_t s = static_cast<uint16_t>(
        ~csumFold(csumPartial(th, l4, pseudoHeaderSum(d, v6, kProtoTcp, l4))));
    std::memcpy(th + 16, &s, 2);
    out.push_back(std::move(b));
  }
  ++c.gsoSuperPackets;
  return SplitResult::kOk;
}

TunWriter::TunWriter(WriteFn write, bool vnetHdr, bool gro, RxCounters& counters)
    : write_(std::move(write)), vnetHdr_(vnetHdr), gro_(vnetHdr && gro), counters_(counters) {
  if (gro_) {
    items_.resize(kCoalesceItems);
    for (Item& it : items_) it.buf.resize(kVirtioNetHdrLen + kMaxIpPacket);
  }
}

void TunWriter::writePlain(uint8_t* pkt, size_t len) {
  long r;
  if (vnetHdr_) {
    std::memset(pkt - kVirtioNetHdrLen, 0, kVirtioNetHdrLen);  // GSO_NONE, checksum valid
    r = write_(pkt - kVirtioNetHdrLen, len + kVirtioNetHdrLen);
  } else {
    r = write_(pkt, len);
  }
  ++counters_.tunWrites;
  if (r < 0) counters_.drop(RxDrop::kTunWriteError);
}

TunWriter::Item* TunWriter::findFlow(const uint8_t* pkt, bool v6) {
  const size_t addrOff = v6 ? 8 : 12, addrLen = v6 ? 32 : 8;
  for (Item& it : items_) {
    if (!it.used || it.v6 != v6) continue;
    const uint8_t* head = it.buf.data() + kVirtioNetHdrLen;
    if (std::memcmp(head + addrOff, pkt + addrOff, addrLen) != 0) continue;
    // Ports: for IPv4 the caller only passes IHL=5 packets, like the item's head.
    if (std::memcmp(head + it.ipHeaderLength, pkt + it.ipHeaderLength, 4) != 0) continue;
    return &it;
  }
  return nullptr;
}

void TunWriter::start(Item& it, const uint8_t* pkt, size_t len, bool v6, size_t ipHl,
                      size_t tcpHl) {
  std::memcpy(it.buf.data() + kVirtioNetHdrLen, pkt, len);
  it.len = len;
  it.v6 = v6;
  it.ipHeaderLength = ipHl;
  it.tcpHeaderLength = tcpHl;
  const size_t payload = len - ipHl - tcpHl;
  it.gsoSize = static_cast<uint16_t>(payload);
  it.nextSeq = loadBe32(pkt + ipHl + 4) + static_cast<uint32_t>(payload);
  it.segments = 1;
  it.closed = (pkt[ipHl + 13] & kTcpPsh) != 0;
  it.used = true;
  it.age = ++clock_;
}

bool TunWriter::tryAppend(Item& it, const uint8_t* pkt, size_t len, size_t ipHl, size_t tcpHl) {
  if (it.closed || ipHl != it.ipHeaderLength || tcpHl != it.tcpHeaderLength) return false;
  if (it.segments >= kMaxCoalescedSegments) return false;
  uint8_t* head = it.buf.data() + kVirtioNetHdrLen;
  if (!it.v6) {
    // Same TOS, TTL and DF; IDs may differ (the kernel renumbers on segmentation).
    if (head[1] != pkt[1] || head[8] != pkt[8] || (head[6] & 0x40) != (pkt[6] & 0x40)) {
      return false;
    }
  } else if (std::memcmp(head, pkt, 4) != 0 || head[7] != pkt[7]) {
    return false;  // traffic class, flow label, hop limit
  }
  const uint8_t* th = pkt + ipHl;
  const uint8_t* hh = head + ipHl;
  if (loadBe32(th + 4) != it.nextSeq) return false;
  if (std::memcmp(th + 8, hh + 8, 4) != 0) return false;             // same ACK
  if (std::memcmp(th + 20, hh + 20, tcpHl - 20) != 0) return false;  // same options
  const size_t payload = len - ipHl - tcpHl;
  if (payload > it.gsoSize) return false;  // only the last segment may be shorter
  // Whole packet, headers included, within the item's buffer (an IPv6 payload length
  // could allow 40 bytes more, the buffer does not).
  if (it.len + payload > kMaxIpPacket) return false;
  std::memcpy(head + it.len, th + tcpHl, payload);
  it.len += payload;
  it.nextSeq += static_cast<uint32_t>(payload);
  ++it.segments;
  if (payload < it.gsoSize) it.closed = true;
  if (th[13] & kTcpPsh) {
    head[ipHl + 13] |= kTcpPsh;
    it.closed = true;
  }
  return true;
}

void TunWriter::writeItem(Item& it) {
  uint8_t* h = it.buf.data();
  uint8_t* p = h + kVirtioNetHdrLen;
  VirtioNetHdr vh{};
  if (it.segments > 1) {
    if (!it.v6) {
      storeBe16(p + 2, static_cast<uint16_t>(it.len));
      setIpv4HeaderChecksum(p);
    } else {
      storeBe16(p + 4, static_cast<uint16_t>(it.len - 40));
    }
    // CHECKSUM_PARTIAL: the field holds the pseudo-header sum, the kernel finishes it.
    const uint32_t l4 = static_cast<uint32_t>(it.len - it.ipHeaderLength);
    uint16_t ph = csumFold(pseudoHeaderSum(p, it.v6, kProtoTcp, l4));
    std::memcpy(p + it.ipHeaderLength + 16, &ph, 2);
    vh.flags = kVirtioFlagNeedsCsum;
    vh.gsoType = it.v6 ? kVirtioGsoTcpv6 : kVirtioGsoTcpv4;
    vh.hdrLen = static_cast<uint16_t>(it.ipHeaderLength + it.tcpHeaderLength);
    vh.gsoSize = it.gsoSize;
    vh.csumStart = static_cast<uint16_t>(it.ipHeaderLength);
    vh.csumOffset = 16;
  }
  std::memcpy(h, &vh, sizeof vh);
  long r = write_(h, kVirtioNetHdrLen + it.len);
  ++counters_.tunWrites;
  if (r < 0) {
    if (errno == EINVAL && it.segments > 1) {
      // Some kernels reject GSO writes (e.g. 6.6.44, research section 4.2): stop coalescing.
      gro_ = false;
      ++counters_.tunGroDisabled;
    }
    counters_.drop(RxDrop::kTunWriteError, it.segments);
  }
  it.used = false;
}

void TunWriter::add(uint8_t* pkt, size_t len) {
  ++counters_.tunPackets;
  counters_.tunBytes += len;
  if (!gro_ || len < 20) {
    writePlain(pkt, len);
    return;
  }
  const bool v6 = (pkt[0] >> 4) == 6;
  size_t ipHl = 0;
  if (!v6) {
    // IPv4 without options, not a fragment, length consistent.
    if ((pkt[0] >> 4) != 4 || pkt[0] != 0x45 || pkt[9] != kProtoTcp ||
        (loadBe16(pkt + 6) & 0x3fff) != 0 || loadBe16(pkt + 2) != len) {
      writePlain(pkt, len);
      return;
    }
    ipHl = 20;
  } else {
    if (len < 40 || pkt[6] != kProtoTcp || size_t(loadBe16(pkt + 4)) + 40 != len) {
      writePlain(pkt, len);
      return;
    }
    ipHl = 40;
  }
  if (len < ipHl + 20) {
    writePlain(pkt, len);
    return;
  }
  const size_t tcpHl = size_t(pkt[ipHl + 12] >> 4) * 4;
  Item* it = findFlow(pkt, v6);
  const uint8_t flags = pkt[ipHl + 13];
  const bool candidate = tcpHl >= 20 && ipHl + tcpHl < len &&
                         (flags == kTcpAck || flags == (kTcpAck | kTcpPsh)) &&
                         tcpChecksumValid(pkt, len, ipHl, v6);  // merging hides bad ones
  if (!candidate) {
    if (it != nullptr) writeItem(*it);  // keep the flow in order
    writePlain(pkt, len);
    return;
  }
  if (it != nullptr) {
    if (tryAppend(*it, pkt, len, ipHl, tcpHl)) {
      ++counters_.groCoalesced;
      return;
    }
    writeItem(*it);
  } else {
    for (Item& cand : items_) {
      if (!cand.used) {
        it = &cand;
        break;
      }
    }
    if (it == nullptr) {
      it = &*std::min_element(items_.begin(), items_.end(),
                              [](const Item& a, const Item& b) { return a.age < b.age; });
      writeItem(*it);
    }
  }
  start(*it, pkt, len, v6, ipHl, tcpHl);
}

void TunWriter::flush() {
  for (Item& it : items_) {
    if (it.used) writeItem(it);
  }
}

}  // namespace braid::edge
