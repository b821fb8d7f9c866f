// The two data-plane threads' state (internal to edge; see dataplane.hpp).
#pragma once

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/packet_buffer.hpp"
#include "edge/dataplane.hpp"
#include "edge/offload.hpp"
#include "edge/rx_reorder.hpp"
#include "edge/shaper.hpp"
#include "edge/steering.hpp"
#include "edge/ts_match.hpp"
#include "policy/dedup.hpp"
#include "policy/fec.hpp"

namespace braid::edge {

// Buffer layout: kPacketHeadroom in front (ESP header + IV prepended in place, virtio
// header on TUN writes), the packet, then room for the ESP trailer and ICV.
inline constexpr size_t kPacketHeadroom = 64;
inline constexpr size_t kPacketTailroom = 64;
inline constexpr size_t kMaxUdpGsoSegments = 64;  // kernel limit (UDP_MAX_SEGMENTS)
inline constexpr size_t kMaxUdpPayload = 65000;

class TxWorker {
 public:
  TxWorker(const DataPlaneOptions& opts, int tunFd, std::vector<int> uplinkFds,
           std::vector<PathSpec> paths, const std::vector<PeerSpec>& peers,
           std::shared_ptr<PathActivity> activity);
  void run(const std::atomic<bool>& stop);
  CommandQueue& commands() { return commands_; }

  // TX thread only (through commands, or before start).
  // `selectors`: the Child SA's protocol/port selectors (null: addresses only, unchecked).
  void installSa(size_t path, std::unique_ptr<ipsec::EspOutboundSa> sa,
                 std::shared_ptr<const SelectorMatcher> selectors = nullptr);
  void removeSa(size_t path);
  void setRemote(size_t path, const SockAddr& remote);
  void setRoutes(const std::vector<PeerSpec>& peers) { steering_.setRoutes(peers); }
  // A reload; per-class counters follow their class by name.
  void setPolicy(const MultipathConfig& m);
  void setViews(const std::vector<policy::PathView>& views) { steering_.setViews(views); }
  const Steering& steering() const { return steering_; }
  void setShim(size_t path, bool on) { steering_.setShim(path, on); }
  // Seals one shim message (probe, reply) with next header 253 and sends it at once.
  void sendShim(size_t path, Bytes message);
  void setSequenceLimit(size_t path, uint64_t limit, uint64_t requestAt);
  void setSeqReserveHandler(SeqReserveHandler h) { seqReserve_ = std::move(h); }
  void publish(TxCounters& counters, std::vector<SaStats>& sas,
               std::vector<policy::EngineCounters>& engines,
               std::vector<ClassStats>& classes) const;

 private:
  struct SendBatch {
    std::vector<mmsghdr> msgs;
    std::vector<iovec> iovs;
    std::vector<std::array<uint8_t, 64>> cmsgs;
    std::vector<uint16_t> segments;
    std::vector<uint16_t> gsoSize;
    std::vector<uint32_t> bytes;
    size_t nmsg = 0;
    size_t niov = 0;
    int lastPath = -1;
    bool lastClosed = false;
  };
  bool readBurst();  // true if the TUN is drained
  void processAndSend();
  void enqueue(SendBatch& b, int path, uint8_t* data, size_t len);
  void send(size_t uplink, SendBatch& b);
  void sendSegmentsSeparately(int fd, SendBatch& b, size_t msg);
  void checkSequenceReservations();
  // Seals `b` on `path` with next header `nh` and queues it on the path's uplink batch.
  bool sealAndQueue(PacketBuffer& b, size_t path, uint8_t nh, bool data = true);
  void sendCopies(const Steering::Choice& ch, const PacketBuffer& original, uint8_t nh,
                  policy::Priority prio);
  policy::XorFecEncoder& fecEncoder(size_t peer, policy::ClassId cls);
  void sendParity(const Steering::Choice& ch, const policy::XorFecEncoder& enc,
                  policy::Priority prio);
  // Sends `b` on `path` now, or queues it in the uplink's shaper (then `b` is moved out).
  void dispatch(PacketPtr& b, size_t path, uint8_t nh, policy::Priority prio,
                std::vector<PacketPtr>& keep);
  // Moves what the shapers allow at `now` into the send batches; the next release time.
  void drainShapers(TimePoint now);
  std::optional<TimePoint> nextShaperRelease(TimePoint now);
  void sendBatches();

  DataPlaneOptions opts_;
  int tunFd_;
  std::vector<int> uplinkFds_;
  std::vector<PathSpec> paths_;
  std::vector<std::unique_ptr<ipsec::EspOutboundSa>> sas_;
  // Per path, the SA's selectors when they restrict protocol or ports (RFC 4301 5.1).
  std::vector<std::shared_ptr<const SelectorMatcher>> outSel_;
  bool coveredOn(size_t path, const uint8_t* ip, size_t len) const {
    const SelectorMatcher* m = outSel_[path].get();
    return m == nullptr || m->matchOutbound(ip, len);
  }
  std::vector<uint8_t> ready_;
  // Manual keying: per path, the last sequence number at which to ask for the next block
  // (UINT64_MAX: nothing to ask); the paths that have one, checked once per batch.
  std::vector<uint64_t> seqRequestAt_;
  std::vector<size_t> seqPaths_;
  SeqReserveHandler seqReserve_;
  Steering steering_;
  std::shared_ptr<PathActivity> activity_;
  TimePoint lastExpire_{};
  PacketPool pool_;
  std::vector<PacketPtr> pkts_;
  std::vector<PacketPtr> copies_;  // duplicated packets and parities of the current batch
  std::vector<std::vector<std::unique_ptr<policy::XorFecEncoder>>> fecEnc_;  // [peer][class]
  struct Queued {
    PacketPtr pkt;
    uint16_t path = 0;
    uint8_t nh = 0;
    uint8_t prio = 0;
  };
  std::vector<std::unique_ptr<EgressShaper<Queued>>> shapers_;  // per uplink, null: unshaped
  std::vector<PacketPtr> released_;  // dequeued from shapers, in the batches until send
  std::vector<uint8_t> scratch_;     // one TUN read with virtio header (up to 64 KiB)
  std::vector<SendBatch> batches_;
  bool udpGso_;
  TxCounters counters_;
  std::vector<ClassCounters> classes_;  // by class id (tx fields only)
  CommandQueue commands_;
};

// An inbound SA's own traffic selectors (IKE), replacing the peer/overlay subnets.
struct SaSelectors {
  PrefixSet remote;
  PrefixSet local;
  // Protocol and ports, checked after the addresses; null when the selectors have none.
  std::shared_ptr<const SelectorMatcher> ports;
};

class RxWorker {
 public:
  RxWorker(const DataPlaneOptions& opts, int tunFd, std::vector<int> uplinkFds,
           std::vector<PathSpec> paths, const std::vector<PeerSpec>& peers,
           std::shared_ptr<PathActivity> activity);
  void run(const std::atomic<bool>& stop);
  CommandQueue& commands() { return commands_; }

  // RX thread only (through commands, or before start).
  void installSa(size_t path, std::unique_ptr<ipsec::EspInboundSa> sa,
                 std::unique_ptr<SaSelectors> selectors = nullptr);
  void removeSa(uint32_t spi);
  void setIkeHandler(IkeHandler h) { ike_ = std::move(h); }
  void setEspSourceHandler(EspSourceHandler h) { espSource_ = std::move(h); }
  void setProbeHandler(ProbeHandler h) { probe_ = std::move(h); }
  void setShim(size_t path, bool on) {
    if (path < shim_.size()) shim_[path] = on;
  }
  // Bonded classes of this peer: how long an early packet waits for the gap before it.
  void setReorderHold(size_t peer, Duration hold) { reorder_.setHold(peer, hold); }
  void publish(RxCounters& counters, ipsec::EspCounters& table, std::vector<SaStats>& sas,
               std::vector<ClassCounters>& classes) const;

 private:
  struct InboundRoute;
  void receive(size_t uplink);
  void noteSource(InboundRoute& route, uint32_t spi, uint32_t seq, const SockAddr& from);
  void handleSegment(size_t uplink, uint8_t* base, size_t off, size_t len, size_t msg);
  // Next header 253: a probe (to the path monitor), an FEC parity, or data (dedup, FEC,
  // then the inner packet). Returns false when the packet is consumed or dropped.
  bool handleShim(InboundRoute& route, PacketBuffer& pkt, uint8_t& nh);
  // Inner packet checks (TFC padding, the SA's selectors) and the TUN write.
  void deliverInner(const InboundRoute* route, uint8_t nh, uint8_t* ip, size_t len);
  // The checks alone: the inner packet's length, or 0 when it is dropped (counted).
  size_t checkInner(const InboundRoute* route, uint8_t nh, const uint8_t* ip, size_t len);
  // Duplicate suppression; on true, `seq64` is the number extended to 64 bits.
  bool acceptShimSequence(size_t peer, policy::ClassId cls, uint32_t seq, uint64_t& seq64);
  // The reorder stage's hold deadline as a ppoll timeout (200 ms when nothing waits).
  timespec pollTimeout();
  policy::XorFecDecoder& fecDecoder(size_t peer, policy::ClassId cls);
  void deliverRecovered(InboundRoute& route, policy::ClassId cls, size_t length);

  DataPlaneOptions opts_;
  std::vector<int> uplinkFds_;
  std::vector<PathSpec> paths_;
  std::vector<PrefixSet> peerSubnets_;
  PrefixSet local_;
  ipsec::EspInboundTable table_;
  struct InboundRoute {
    size_t path = 0;
    std::unique_ptr<SaSelectors> selectors;  // null: the peer's and overlay's subnets
    // Source of the newest authenticated packet (NAT rebinding, RFC 7296 2.23).
    uint32_t topSeq = 0;  // low 32 bits of the highest sequence number opened
    bool haveSource = false;
    SockAddr source{};
  };
  std::unordered_map<uint32_t, InboundRoute> spiPath_;
  IkeHandler ike_;
  EspSourceHandler espSource_;
  ProbeHandler probe_;
  std::shared_ptr<PathActivity> activity_;
  std::vector<uint8_t> shim_;  // per path: the peer speaks the shim
  // Per peer and sender's class id: duplicate suppression over shim sequence numbers.
  static constexpr size_t kMaxShimClasses = 256;
  // 2^16 numbers: 1.4 s of copy skew at 45 kpps (500 Mbit/s of 1400-byte packets).
  static constexpr int64_t kShimResyncDistance = 1 << 16;
  std::vector<std::vector<std::unique_ptr<policy::DedupWindow>>> dedup_;
  std::vector<std::vector<std::unique_ptr<policy::XorFecDecoder>>> fecDec_;  // [peer][class]
  // A rebuilt packet (sequence number + inner packet) at kFecOutOffset: the TUN's virtio
  // header is written in front of the inner packet.
  static constexpr size_t kFecOutOffset = 16;
  std::vector<uint8_t> fecOut_;
  MutableBytes fecOutSpan() {
    return MutableBytes(fecOut_.data() + kFecOutOffset, fecOut_.size() - kFecOutOffset);
  }
  TimePoint rxTime_{};  // of the current recvmmsg batch
  size_t bufLen_;
  PacketPool pool_;
  std::vector<PacketPtr> bufs_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
  std::vector<SockAddr> names_;
  std::vector<std::array<uint8_t, 64>> cmsgs_;
  RxCounters counters_;
  // By the sender's class id from the shim data header (rx fields only).
  std::vector<ClassCounters> classes_ = std::vector<ClassCounters>(kMaxShimClasses);
  void countClass(policy::ClassId cls, size_t bytes) {
    ++classes_[cls].rxPackets;  // cls < kMaxShimClasses: checked by the shim decoder's caller
    classes_[cls].rxBytes += bytes;
  }
  TunWriter writer_;
  ReorderStage reorder_;  // after writer_: it delivers into it
  CommandQueue commands_;
};

}  // namespace braid::edge
