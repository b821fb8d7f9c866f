// Reorder buffer for bonded traffic: packets of one class carry a shim sequence number and
// arrive out of order across paths of different delay. In-order packets pass straight
// through; early ones wait in a fixed ring until the gap before them fills or their hold
// time ends (then the gap is given up as lost). All memory is taken at construction: the
// ring of items and a FIFO of arrival times whose head gives the next deadline, so the
// caller arms one timer at nextDeadline() (no polling).
//
// The hold should cover the one-way delay spread of the bonded paths (MP-DCCP's adaptive
// rule: max - min path latency + 5 ms, capped at 100 ms); reorderHold() computes it.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "policy/types.hpp"

namespace braid::policy {

enum class ReorderVerdict : uint8_t {
  kDelivered,  // in order: delivered now (with any buffered packets it unblocked)
  kBuffered,   // early: waits for the gap before it
  kLate,       // below the next expected number: the gap was given up; caller decides
  kDuplicate,  // already buffered
};

struct ReorderCounters {
  uint64_t inOrder = 0;
  uint64_t buffered = 0;
  uint64_t late = 0;
  uint64_t duplicates = 0;
  uint64_t gapsSkipped = 0;  // sequence numbers given up (timeout or overflow)
  uint64_t timeoutFlushes = 0;
  uint64_t overflowFlushes = 0;
};

// Hold time for a reorder buffer over `paths` (usable ones): half the RTT spread (one-way),
// plus the largest jitter, plus `margin`, capped.
inline Duration reorderHold(std::span<const PathView> paths,
                            Duration margin = std::chrono::milliseconds(5),
                            Duration cap = std::chrono::milliseconds(100)) {
  uint32_t lo = UINT32_MAX, hi = 0, jitter = 0;
  for (const PathView& p : paths) {
    if (!usable(p)) continue;
    lo = std::min(lo, p.rttUs);
    hi = std::max(hi, p.rttUs);
    jitter = std::max(jitter, p.jitterUs);
  }
  if (hi < lo) return margin;
  Duration h = std::chrono::microseconds((hi - lo) / 2 + jitter) + margin;
  return std::min(h, cap);
}

template <typename T>
class ReorderBuffer {
 public:
  // capacity: packets that may wait at once (rounded up to a power of two).
  ReorderBuffer(uint32_t capacity, Duration hold)
      : ring_(std::bit_ceil(std::max<uint32_t>(capacity, 2))),
        fifo_(2 * ring_.size()),
        mask_(ring_.size() - 1),
        hold_(hold) {}

  void setHold(Duration hold) { hold_ = hold; }
  Duration hold() const { return hold_; }
  uint32_t capacity() const { return static_cast<uint32_t>(ring_.size()); }
  size_t size() const { return count_; }
  uint64_t nextExpected() const { return next_; }
  bool started() const { return started_; }
  const ReorderCounters& counters() const { return counters_; }

  // `deliver(uint64_t seq, T&& item)` is called for every packet released, in order.
  template <typename Sink>
  ReorderVerdict push(uint64_t seq, T&& item, TimePoint now, Sink&& deliver) {
    if (!started_) {
      started_ = true;
      next_ = seq;
    }
    if (seq < next_) {
      ++counters_.late;
      return ReorderVerdict::kLate;
    }
    if (seq == next_) {
      ++counters_.inOrder;
      deliver(seq, std::move(item));
      ++next_;
      drain(deliver);
      return ReorderVerdict::kDelivered;
    }
    if (seq - next_ >= ring_.size()) {
      // No room: give up the oldest gaps until seq fits.
      ++counters_.overflowFlushes;
      releaseThrough(seq - ring_.size(), deliver);
      if (seq == next_) return push(seq, std::move(item), now, deliver);
    }
    Slot& s = ring_[seq & mask_];
    if (s.used) {
      ++counters_.duplicates;
      return ReorderVerdict::kDuplicate;
    }
    s.used = true;
    s.seq = seq;
    s.item = std::move(item);
    ++count_;
    ++counters_.buffered;
    // After pruning, the FIFO head is live, so the FIFO holds distinct numbers within
    // 2 x capacity of it: it cannot overflow (the check is only a guard).
    pruneFifo();
    if (fifoCount_ == fifo_.size()) popFifo();
    fifo_[(fifoHead_ + fifoCount_) % fifo_.size()] = {seq, now};
    ++fifoCount_;
    return ReorderVerdict::kBuffered;
  }

  // Earliest moment a buffered packet's hold ends, if any packet waits.
  std::optional<TimePoint> nextDeadline() {
    pruneFifo();
    if (fifoCount_ == 0) return std::nullopt;
    return fifo_[fifoHead_].arrival + hold_;
  }

  // Releases every packet whose hold has ended, giving up the gaps before it. Returns the
  // number of packets delivered.
  template <typename Sink>
  size_t onTimer(TimePoint now, Sink&& deliver) {
    size_t n = 0;
    auto counting = [&](uint64_t s, T&& item) {
      ++n;
      deliver(s, std::move(item));
    };
    for (;;) {
      pruneFifo();
      if (fifoCount_ == 0 || fifo_[fifoHead_].arrival + hold_ > now) break;
      ++counters_.timeoutFlushes;
      releaseThrough(fifo_[fifoHead_].seq, counting);
    }
    return n;
  }

  // Releases everything buffered (shutdown, policy change).
  template <typename Sink>
  void flush(Sink&& deliver) {
    while (count_ > 0) releaseThrough(next_, deliver);
    fifoCount_ = 0;
  }

  // Releases everything, then takes the next packet as the start (the sender restarted
  // its numbering).
  template <typename Sink>
  void restart(Sink&& deliver) {
    flush(deliver);
    started_ = false;
  }

 private:
  struct Slot {
    bool used = false;
    uint64_t seq = 0;
    T item{};
  };
  struct Arrival {
    uint64_t seq = 0;
    TimePoint arrival{};
  };

  template <typename Sink>
  void drain(Sink& deliver) {
    for (;;) {
      Slot& s = ring_[next_ & mask_];
      if (!s.used || s.seq != next_) return;
      s.used = false;
      --count_;
      deliver(next_, std::move(s.item));
      ++next_;
    }
  }

  // Delivers or gives up every number up to and including `last`, then what follows in order.
  template <typename Sink>
  void releaseThrough(uint64_t last, Sink& deliver) {
    while (next_ <= last) {
      Slot& s = ring_[next_ & mask_];
      if (s.used && s.seq == next_) {
        s.used = false;
        --count_;
        deliver(next_, std::move(s.item));
      } else {
        ++counters_.gapsSkipped;
      }
      ++next_;
    }
    drain(deliver);
  }

  void popFifo() {
    fifoHead_ = (fifoHead_ + 1) % fifo_.size();
    --fifoCount_;
  }
  // Drops FIFO entries of packets already released.
  void pruneFifo() {
    while (fifoCount_ > 0) {
      const Arrival& a = fifo_[fifoHead_];
      const Slot& s = ring_[a.seq & mask_];
      if (a.seq >= next_ && s.used && s.seq == a.seq) return;
      popFifo();
    }
  }

  std::vector<Slot> ring_;
  std::vector<Arrival> fifo_;
  size_t fifoHead_ = 0;
  size_t fifoCount_ = 0;
  uint64_t mask_;
  Duration hold_;
  uint64_t next_ = 0;
  bool started_ = false;
  size_t count_ = 0;
  ReorderCounters counters_;
};

}  // namespace braid::policy
