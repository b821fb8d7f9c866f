// Plain counters of the data plane, one struct per component and owned by the thread that
// counts. The control thread only reads published copies (DataPlane::snapshot), so the hot
// path never locks or uses atomics. Names are stable: tests, the stats file and later the
// Prometheus exporter use them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ipsec/esp.hpp"
#include "policy/engine.hpp"

namespace braid::edge {

// Why the TX side (TUN -> ESP -> UDP) dropped a packet.
enum class TxDrop : uint8_t {
  kMalformed = 0,  // not an IPv4/IPv6 packet, or a bad virtio header / GSO layout
  kNoRoute,        // destination in no peer's remote subnets
  kNoSa,           // the chosen path has no outbound SA installed
  kPoolExhausted,  // no free packet buffer
  kOversize,       // larger than the overlay MTU (no GSO) or too many GSO segments
  kSealFailed,     // ESP refused (sequence exhausted, no room, crypto error)
  kSendError,      // sendmmsg failed for this datagram
  kLinkLocal,      // IPv6 multicast of interface/link scope (kernel MLD reports on the TUN)
  kSeqReserve,     // manual keying: the next sequence number is not yet reserved on disk
  kNoPath,         // routed, but the class's policy finds no usable path (all down, pin)
  kQueueFull,      // the uplink's shaper queue of the packet's priority is full
  kSelector,       // the path's Child SA selectors do not cover the protocol/ports (RFC 4301 5.1)
  kCount,
};
inline constexpr size_t kTxDropCount = static_cast<size_t>(TxDrop::kCount);
std::string_view txDropName(TxDrop d);

struct TxCounters {
  uint64_t tunReads = 0;    // read() calls that returned a packet
  uint64_t tunPackets = 0;  // packets after GSO segmentation
  uint64_t tunBytes = 0;
  uint64_t gsoSuperPackets = 0;  // TSO super-packets split in userspace
  uint64_t csumCompleted = 0;    // NEEDS_CSUM packets whose checksum we finished
  uint64_t sealed = 0;
  uint64_t sendCalls = 0;  // sendmmsg calls
  uint64_t datagramsSent = 0;
  uint64_t bytesSent = 0;       // UDP payload bytes
  uint64_t gsoSends = 0;        // messages sent with UDP_SEGMENT
  uint64_t udpGsoDisabled = 0;  // kernel refused UDP_SEGMENT; fell back to plain sends
  uint64_t commands = 0;        // SA installs/removals applied
  uint64_t copiesSent = 0;      // extra copies of duplicated packets (multipath)
  uint64_t copiesSkipped = 0;   // copies not made: no shim on the path, too big, no buffer
  uint64_t shimData = 0;        // packets sent with the shim data header
  uint64_t probesSent = 0;      // pathmon probes and replies sealed
  uint64_t fecParity = 0;       // FEC parity packets sent
  // Shaped uplinks: packets queued / sent per priority (realtime, business, bulk).
  std::array<uint64_t, 3> shaperQueued{}, shaperSent{};
  std::array<uint64_t, kTxDropCount> drops{};
  void drop(TxDrop d, uint64_t n = 1) { drops[static_cast<size_t>(d)] += n; }
  uint64_t dropped(TxDrop d) const { return drops[static_cast<size_t>(d)]; }
};

// Why the RX side (UDP -> ESP -> TUN) dropped a packet (ESP reasons come from ipsec).
enum class RxDrop : uint8_t {
  kInvalid = 0,   // datagram too short to classify (RFC 3948 section 2)
  kNoIkeHandler,  // non-ESP-marker datagram (IKE) and no handler installed
  kPolicy,        // inner source/destination outside the SA's peer/local subnets
  kBadInner,      // next header not IPv4/IPv6, or inner packet malformed
  kPoolExhausted,
  kOversize,  // GRO datagram larger than the receive buffer or bad segment size
  kTunWriteError,
  kDuplicate,      // a copy of a packet already delivered (shim sequence number, multipath)
  kShimOld,        // shim sequence number left of the dedup window
  kShimInvalid,    // next header 253 from a peer without the shim, or a malformed shim message
  kSpoofedSource,  // a remote-access client's inner source is not its virtual IP
  kSelector,       // inner protocol/ports outside the SA's traffic selectors (RFC 4301 5.2)
  kCount,
};
inline constexpr size_t kRxDropCount = static_cast<size_t>(RxDrop::kCount);
std::string_view rxDropName(RxDrop d);

struct RxCounters {
  uint64_t recvCalls = 0;  // recvmmsg calls that returned data
  uint64_t datagrams = 0;  // after GRO splitting
  uint64_t bytes = 0;
  uint64_t groDatagrams = 0;  // coalesced datagrams delivered by UDP_GRO
  uint64_t keepalives = 0;    // RFC 3948 section 2.3 NAT-keepalive, dropped
  uint64_t ikeMessages = 0;   // handed to the IKE hook
  uint64_t espPackets = 0;
  uint64_t opened = 0;
  uint64_t dummy = 0;       // next header 59, discarded (RFC 4303 section 2.6)
  uint64_t tunWrites = 0;   // write()/writev() calls
  uint64_t tunPackets = 0;  // inner packets delivered (before coalescing)
  uint64_t tunBytes = 0;
  uint64_t groCoalesced = 0;    // packets merged into a preceding one
  uint64_t tunGroDisabled = 0;  // kernel refused a GSO write; coalescing turned off
  uint64_t commands = 0;
  uint64_t shimData = 0;        // packets that arrived with the shim data header
  uint64_t probesReceived = 0;  // pathmon probes and replies handed to the path monitor
  uint64_t shimResyncs = 0;     // dedup restarted: a sender's numbers jumped (it restarted)
  uint64_t fecParity = 0;       // FEC parity packets received
  uint64_t fecRecovered = 0;    // packets rebuilt from a parity and delivered
  // Bonded classes (edge/rx_reorder.hpp), summed over every ordered class.
  uint64_t reorderBuffered = 0;   // arrived early and waited for the gap before them
  uint64_t reorderLate = 0;       // arrived after their gap was given up (out of order)
  uint64_t reorderGaps = 0;       // sequence numbers given up (lost, or later than the hold)
  uint64_t reorderTimeouts = 0;   // hold expiries that released packets past a gap
  uint64_t reorderOverflows = 0;  // buffer or pool full: released early or passed through
  std::array<uint64_t, kRxDropCount> drops{};
  void drop(RxDrop d, uint64_t n = 1) { drops[static_cast<size_t>(d)] += n; }
  uint64_t dropped(RxDrop d) const { return drops[static_cast<size_t>(d)]; }
};

// Per application class (docs/metrics.md "braid_class_*"): inner packets and bytes the TX
// thread handed to a path (copies and parities not counted), and those the RX thread took
// in with a shim data header naming the class (the sender's class id: only duplicated,
// FEC-protected and bonded traffic carries one; other received packets have no class).
struct ClassCounters {
  uint64_t txPackets = 0, txBytes = 0;
  uint64_t rxPackets = 0, rxBytes = 0;
};
struct ClassStats {
  std::string name;
  ClassCounters counters;
  std::vector<std::string> paths;  // what the class uses now: its best path at each peer
};

struct SaStats {
  uint32_t spi = 0;
  bool inbound = false;
  std::string path;  // "peer/uplink"
  ipsec::EspCounters esp;
};

// What the control thread sees: copies taken by the data threads when asked.
struct DataPlaneStats {
  TxCounters tx;
  RxCounters rx;
  ipsec::EspCounters inboundTable;  // unknown SPI, too short (counted by the table)
  std::vector<SaStats> sas;
  std::vector<policy::EngineCounters> engines;  // per peer: path decisions by cause, copies
  std::vector<ClassStats> classes;              // by class id (the configuration's order)
  // ESP drops summed over the table and every inbound SA.
  std::array<uint64_t, ipsec::kEspDropCount> espDrops() const;
};

// "name value" lines, one counter per line (the stats file format; see
// docs/configuration.md). Zero counters are included so that readers see every name.
std::string formatStats(const DataPlaneStats& s);
// A short one-line summary for the log.
std::string summarizeStats(const DataPlaneStats& s);

}  // namespace braid::edge
