// The receive side of bonding: packets of a bonded class (shim data flag "ordered") are
// sprayed over paths of different delay, and TCP reads reordering as loss. This stage puts
// them back in the sender's order, one policy::ReorderBuffer per (peer, sender's class),
// before the TUN write. A packet in order goes straight through with no copy; an early one
// is copied into a slot of a fixed pool (the 8 RX buffers are reused by the next
// recvmmsg) and waits until the gap before it fills or its hold ends.
//
// The hold is set per peer from the measured paths (policy::reorderHold: half the RTT
// spread plus jitter plus a margin, capped), so it follows the delay spread of the paths
// in use. Everything is allocated on the first ordered packet of a class, then reused.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "core/clock.hpp"
#include "edge/counters.hpp"
#include "policy/reorder.hpp"
#include "policy/types.hpp"

namespace braid::edge {

class ReorderStage {
 public:
  // deliver(ip, len): the TUN write; `ip` has kHeadroom writable bytes in front of it.
  using Deliver = std::function<void(uint8_t* ip, size_t len)>;
  static constexpr size_t kHeadroom = 16;       // the TUN's virtio header goes in front
  static constexpr size_t kSlotBytes = 2048;    // an inner packet of one ESP packet
  static constexpr uint32_t kPerClass = 4096;   // 45 ms at 1 Gbit/s of 1400-byte packets
  static constexpr uint32_t kPoolSlots = 4096;  // shared by every ordered class
  static constexpr size_t kMaxClasses = 256;    // the shim's class id space we track

  ReorderStage(size_t peers, Duration defaultHold, Deliver deliver);

  // An inner packet of an ordered class, already checked (selectors, TFC padding), with
  // its shim sequence number extended to 64 bits.
  void push(size_t peer, policy::ClassId cls, uint64_t seq, uint8_t* ip, size_t len, TimePoint now);
  // The class's sender restarted its numbering (dedup resync): release what waits.
  void restart(size_t peer, policy::ClassId cls);
  // Does this class of this peer arrive ordered (an FEC-rebuilt packet joins the order)?
  bool ordered(size_t peer, policy::ClassId cls) const;

  void setHold(size_t peer, Duration hold);
  Duration hold(size_t peer) const { return holds_[peer]; }
  // The earliest hold end over every class, if anything waits.
  std::optional<TimePoint> nextDeadline();
  // Releases what waited long enough (giving up the gaps before it).
  void onTimer(TimePoint now);

  // Adds the reorder counters (every class) to `c`.
  void addTo(RxCounters& c) const;
  size_t waiting() const;

 private:
  struct Held {
    uint8_t* ip = nullptr;
    uint16_t len = 0;
    int32_t slot = -1;  // pool slot, or -1 for a packet delivered before it needed one
  };
  using Buffer = policy::ReorderBuffer<Held>;
  // The buffers' sink: writes a released packet and returns its pool slot.
  struct Release {
    ReorderStage* stage;
    void operator()(uint64_t, Held&& h) const { stage->release(h); }
  };
  Buffer& buffer(size_t peer, policy::ClassId cls);
  void release(const Held& h);

  Deliver deliver_;
  std::vector<Duration> holds_;                             // per peer
  std::vector<std::vector<std::unique_ptr<Buffer>>> bufs_;  // [peer][class]
  std::vector<Buffer*> active_;                             // every buffer created
  std::vector<uint8_t> pool_;                               // kPoolSlots x (headroom + slot)
  std::vector<uint32_t> free_;
  uint64_t overflows_ = 0;  // pool empty or packet too big: delivered out of order
};

}  // namespace braid::edge
