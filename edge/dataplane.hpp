// The data plane: one thread per direction, each running to completion over a batch.
//   TX: TUN -> (GSO split) -> PathSelector -> ESP seal in place -> sendmmsg per uplink
//   RX: recvmmsg per uplink (UDP GRO) -> classify (RFC 3948) -> ESP open by SPI -> policy
//       check -> (TCP coalescing) -> TUN
// Each thread owns its SAs, pool, batches and counters and never locks on the hot path.
// Other threads change SAs by posting commands that the owning thread applies between
// batches (this is how IKE will install and remove SAs at run time).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "edge/config.hpp"
#include "edge/counters.hpp"
#include "edge/paths.hpp"
#include "ipsec/esp.hpp"

namespace braid::edge {

struct DataPlaneOptions {
  uint32_t batchSize = 64;
  uint32_t poolPackets = 4096;
  uint32_t mtu = 1438;
  // Bytes the uplinks carry beyond `mtu` for the braid shim's header (overlay.shimRoom).
  uint32_t shimRoom = 0;
  bool vnetHdr = false;  // the TUN was opened with IFF_VNET_HDR
  bool tunGro = false;
  bool udpGso = false;
  bool udpGro = false;
  std::vector<IpPrefix> localSubnets;
  // Per uplink: shape sending to this rate (bits/s), 0 = not shaped (edge/shaper.hpp).
  std::vector<uint64_t> shapeBitsPerSecond;
  MultipathConfig multipath;  // classes, rules and engine knobs for the TX steering
  // Bonded classes: how long an early packet waits for its gap until the path monitor's
  // figures set the hold per peer (setPathViews).
  Duration reorderHold = std::chrono::milliseconds(30);
};

// Per path figures written by one data thread and read by the control thread (relaxed
// atomics: figures, not synchronisation; one writer each).
struct PathActivity {
  explicit PathActivity(size_t paths)
      : txPackets(paths), rxLastNs(paths), txWireBytes(paths), rxWireBytes(paths) {}
  std::vector<std::atomic<uint64_t>> txPackets;  // TX thread: packets sealed on the path
  std::vector<std::atomic<int64_t>> rxLastNs;    // RX thread: steady-clock ns of the newest
                                                 // authenticated packet (0 = none yet)
  // What a carrier bills (metered budgets): every ESP packet sent (data, copies, parity,
  // probes) or received authenticated, with its IP and UDP headers.
  std::vector<std::atomic<uint64_t>> txWireBytes;
  std::vector<std::atomic<uint64_t>> rxWireBytes;
};

// The IP and UDP headers in front of an ESP-in-UDP packet (RFC 3948) on a path to `remote`.
inline uint32_t wireOverhead(const SockAddr& remote) {
  return remote.storage.ss_family == AF_INET6 ? 48 : 28;
}

// Called on the RX thread for each shim probe or probe reply (pathmon/probe.hpp) that
// arrived authenticated on `path` at `rxTime`. It must copy what it keeps and return quickly.
using ProbeHandler = std::function<void(size_t path, Bytes message, TimePoint rxTime)>;

// Called on the RX thread for each non-ESP-marker datagram (RFC 3948 section 2.2) with the
// IKE message after the marker. It must copy what it keeps and return quickly.
using IkeHandler = std::function<void(size_t uplink, const SockAddr& from, Bytes message)>;

// Called on the RX thread when an ESP packet that verified (ICV) and advanced its inbound
// SA's replay window, i.e. a new packet (RFC 7296 2.23), came from another source address
// or port than the previous such packet of that SA (the SA's first packet counts too).
// It must copy what it keeps and return quickly; it runs once per change, not per packet.
using EspSourceHandler = std::function<void(size_t path, uint32_t spi, const SockAddr& from)>;

// Called on the TX thread, once per request, when a manually keyed SA has used its outbound
// sequence numbers up to the `requestAt` given with setSequenceLimit: time to reserve the
// next block (off the data thread). It must return quickly.
using SeqReserveHandler = std::function<void(size_t path, uint64_t lastSequence)>;

// A mutex-protected queue of closures plus an eventfd that wakes the owning thread's poll().
class CommandQueue {
 public:
  CommandQueue();
  ~CommandQueue();
  void post(std::function<void()> fn);
  // Owning thread: cheap check, then run everything queued.
  bool pending() const { return pending_.load(std::memory_order_acquire); }
  size_t drain();
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::mutex mu_;
  std::vector<std::function<void()>> queue_;
  std::vector<std::function<void()>> running_;
  std::atomic<bool> pending_{false};
};

// Per peer (index = PathSpec::peer): the reorder hold of its bonded classes from the path
// views (policy::reorderHold over the usable paths within a bond's RTT spread). Linear in
// paths + views.
std::vector<Duration> peerReorderHolds(const std::vector<PathSpec>& paths,
                                       std::span<const policy::PathView> views);

class TxWorker;
class Steering;
class SelectorMatcher;
class RxWorker;

class DataPlane {
 public:
  DataPlane(DataPlaneOptions opts, int tunFd, std::vector<int> uplinkFds,
            std::vector<PathSpec> paths, std::vector<PeerSpec> peers);
  ~DataPlane();
  DataPlane(const DataPlane&) = delete;
  DataPlane& operator=(const DataPlane&) = delete;

  void start();
  void stop();

  // Thread-safe. Applied by the owning thread before its next batch; the SA replaced or
  // removed is destroyed on that thread.
  // `selectors` (edge/ts_match.hpp): the SA's protocol/port selectors, null when it has none;
  // packets they do not cover are dropped (tx.drop.selector).
  void installOutbound(size_t path, std::unique_ptr<ipsec::EspOutboundSa> sa,
                       std::shared_ptr<const SelectorMatcher> selectors = nullptr);
  void removeOutbound(size_t path);
  void installInbound(size_t path, std::unique_ptr<ipsec::EspInboundSa> sa);
  // With the SA's own selectors (IKE: the negotiated TS): the inner source must be in
  // `remote` and the destination in `local` instead of the peer's and overlay's subnets.
  // With `ports` (protocol/port selectors), a packet whose addresses pass but whose protocol
  // or ports do not is dropped as rx.drop.selector.
  void installInbound(size_t path, std::unique_ptr<ipsec::EspInboundSa> sa,
                      std::vector<IpPrefix> remote, std::vector<IpPrefix> local,
                      std::shared_ptr<const SelectorMatcher> ports = nullptr);
  void removeInbound(uint32_t spi);
  // Where the path's ESP-in-UDP goes (IKE learnt it, or NAT rebinding moved it).
  void setPathRemote(size_t path, const SockAddr& remote);
  // The peers' remote subnets (from IKE's traffic selectors or the config): where the TX
  // thread routes inner destinations. The policy engines and their flows are kept.
  void setRoutes(std::vector<PeerSpec> peers);
  // A new policy (SIGHUP): classes, rules and engine knobs; flows keep their paths where
  // their class and path remain valid.
  void setPolicy(MultipathConfig policy);
  // braidctl (status, flows): runs `fn` on the TX thread between batches with its steering
  // (engines, flow tables). `fn` must copy what it needs and return quickly.
  void inspectSteering(std::function<void(const Steering&)> fn);
  // Path figures and states for the policy engines (index = path id), from pathmon.
  void setPathViews(std::vector<policy::PathView> views);
  // Whether the path's peer speaks the braid shim (both directions).
  void setPathShim(size_t path, bool on);
  // Seal and send one shim message (probe or reply) on the path (TX thread, soon).
  void sendShim(size_t path, std::vector<uint8_t> message);
  void setProbeHandler(ProbeHandler handler);
  const PathActivity& activity() const { return *activity_; }
  // Manual keying: the path's SA seals up to `limit` (reserved on disk) and, once its last
  // sequence number reaches `requestAt`, the TX thread calls the SeqReserveHandler.
  void setSequenceLimit(size_t path, uint64_t limit, uint64_t requestAt);
  void setSeqReserveHandler(SeqReserveHandler handler);
  void setIkeHandler(IkeHandler handler);
  void setEspSourceHandler(EspSourceHandler handler);

  // Copies of every counter, taken by the data threads themselves (waits up to 1 s).
  DataPlaneStats snapshot();

  const std::vector<PathSpec>& paths() const { return paths_; }

 private:
  void publishTx();
  void publishRx();

  std::vector<PathSpec> paths_;
  std::shared_ptr<PathActivity> activity_;
  std::unique_ptr<TxWorker> tx_;
  std::unique_ptr<RxWorker> rx_;
  std::thread txThread_, rxThread_;
  std::atomic<bool> stop_{false};
  bool running_ = false;

  std::mutex statsMu_;
  std::condition_variable statsCv_;
  uint64_t txGen_ = 0, rxGen_ = 0;
  DataPlaneStats published_;
  std::vector<SaStats> txSas_, rxSas_;
  std::vector<ClassCounters> rxClasses_;  // by the sender's class id
};

}  // namespace braid::edge
