// TUN offload helpers (virtio_net_hdr on IFF_VNET_HDR devices):
//  - TX: a TSO super-packet read from the TUN is cut into MTU-sized TCP segments before
//    sealing (what tcp_gso_segment would have done), and NEEDS_CSUM packets get their
//    checksum finished;
//  - RX: decrypted TCP segments of one flow are coalesced into one super-packet per write,
//    so the kernel forwards one skb instead of dozens (GRO in userspace).
// Checksums are RFC 1071 one's complement sums, accumulated in native byte order (the sum
// commutes with byte swapping, RFC 1071 section 2(B)).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/packet_buffer.hpp"
#include "edge/counters.hpp"
#include "edge/tun_device.hpp"

namespace braid::edge {

uint64_t csumPartial(const uint8_t* p, size_t n, uint64_t acc);
// Folds to 16 bits; the value is in native order, store it with memcpy.
uint16_t csumFold(uint64_t acc);
// Pseudo-header sum (RFC 793 / RFC 8200 section 8.1) for the IP packet at `ip`.
uint64_t pseudoHeaderSum(const uint8_t* ip, bool v6, uint8_t proto, uint32_t l4Length);
void setIpv4HeaderChecksum(uint8_t* ip);
// True if the TCP checksum of the IP packet verifies.
bool tcpChecksumValid(const uint8_t* ip, size_t len, size_t ipHeaderLength, bool v6);

inline constexpr size_t kMaxGsoSegments = 128;

enum class SplitResult { kOk, kMalformed, kTooManySegments, kOversize, kNoBuffer };

// Turns one TUN read (virtio header, then the packet) into plain packets appended to `out`
// (buffers from `pool`). `out` must have capacity for kMaxGsoSegments more entries.
SplitResult splitTunRead(const VirtioNetHdr& hdr, uint8_t* pkt, size_t len, uint32_t mtu,
                         PacketPool& pool, std::vector<PacketPtr>& out, TxCounters& counters);

// Writes decrypted packets to the TUN. Without a virtio header: one write per packet. With
// one: a zero header is written in place in front of each packet (the caller guarantees
// kVirtioNetHdrLen bytes before it), and with `gro` TCP segments of one flow are coalesced
// into items written once per flush().
class TunWriter {
 public:
  using WriteFn = std::function<long(const uint8_t* data, size_t len)>;  // like write(2)
  TunWriter(WriteFn write, bool vnetHdr, bool gro, RxCounters& counters);

  void add(uint8_t* pkt, size_t len);
  void flush();
  bool groEnabled() const { return gro_; }

 private:
  struct Item {
    std::vector<uint8_t> buf;  // virtio header + packet, preallocated
    size_t len = 0;            // packet bytes after the header
    bool v6 = false;
    size_t ipHeaderLength = 0;
    size_t tcpHeaderLength = 0;
    uint32_t nextSeq = 0;
    uint16_t gsoSize = 0;
    uint32_t segments = 0;
    bool closed = false;  // a short or PSH segment ends the item
    bool used = false;
    uint64_t age = 0;
  };
  bool tryAppend(Item& it, const uint8_t* pkt, size_t len, size_t ipHl, size_t tcpHl);
  void start(Item& it, const uint8_t* pkt, size_t len, bool v6, size_t ipHl, size_t tcpHl);
  Item* findFlow(const uint8_t* pkt, bool v6);
  void writeItem(Item& it);
  void writePlain(uint8_t* pkt, size_t len);

  WriteFn write_;
  bool vnetHdr_;
  bool gro_;
  RxCounters& counters_;
  std::vector<Item> items_;
  uint64_t clock_ = 0;
};

}  // namespace braid::edge
