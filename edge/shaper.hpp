// EgressShaper: one uplink's sending, shaped slightly below its configured egress rate so
// that the queue forms here, where it can be scheduled, and not in the modem or the
// provider's buffer. Three classes by policy::Priority:
//   realtime  strict priority (voice: its delay is one packet's serialisation at most);
//   business  and bulk share what is left by deficit round robin (RFC-less, Shreedhar and
//             Varghese 1995), weights 3:1, so bulk never starves business traffic;
// each queue bounded in packets and bytes (a full queue drops the newcomer, counted: TCP
// backs off, which is how the link is shared at all).
// No I/O and no clock of its own: the TX thread passes `now`; items are opaque (the TX
// thread stores packet buffers). Allocation-free after construction (fixed rings).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "policy/types.hpp"

namespace braid::edge {

struct ShaperConfig {
  uint64_t rateBitsPerSecond = 0;  // 0: not shaped
  uint32_t burstBytes = 0;         // 0: max(3 x 1500, 3 ms of rate)
  uint32_t realtimePackets = 128;  // queue bounds
  uint32_t otherPackets = 1024;
  uint32_t otherBytes = 0;                // 0: max(256 KiB, 60 ms of rate)
  std::array<uint32_t, 2> weights{3, 1};  // business, bulk
};

struct ShaperCounters {
  std::array<uint64_t, 3> queued{}, sent{}, dropped{};
  uint64_t bytesSent = 0;
};

template <typename T>
class EgressShaper {
 public:
  explicit EgressShaper(const ShaperConfig& c) : cfg_(c) {
    const double bytesPerSecond = double(c.rateBitsPerSecond) / 8.0;
    burst_ = c.burstBytes ? double(c.burstBytes) : std::max(4500.0, bytesPerSecond * 0.003);
    otherBytes_ =
        c.otherBytes ? c.otherBytes : uint32_t(std::max(262144.0, bytesPerSecond * 0.060));
    bytesPerNs_ = bytesPerSecond / 1e9;
    tokens_ = burst_;
    queues_[0].init(c.realtimePackets);
    queues_[1].init(c.otherPackets);
    queues_[2].init(c.otherPackets);
  }

  bool shaped() const { return cfg_.rateBitsPerSecond > 0; }
  bool empty() const { return queues_[0].n + queues_[1].n + queues_[2].n == 0; }

  // Queues an item of `bytes` on the wire; false (counted) when its queue is full.
  bool push(T&& item, policy::Priority prio, uint32_t bytes) {
    const size_t q = static_cast<size_t>(prio);
    Queue& Q = queues_[q];
    const bool full = Q.n == Q.items.size() || (q > 0 && Q.bytes + bytes > otherBytes_);
    if (full) {
      ++counters_.dropped[q];
      return false;
    }
    Q.items[(Q.head + Q.n) % Q.items.size()] = {std::move(item), bytes};
    ++Q.n;
    Q.bytes += bytes;
    ++counters_.queued[q];
    return true;
  }

  // The next item allowed out at `now`, or nothing (empty, or no tokens yet).
  std::optional<T> pop(TimePoint now) {
    refill(now);
    if (tokens_ <= 0 || empty()) return std::nullopt;
    size_t q = 0;
    if (queues_[0].n == 0) q = pickOther();
    Queue& Q = queues_[q];
    Entry& e = Q.items[Q.head];
    Q.head = (Q.head + 1) % Q.items.size();
    --Q.n;
    Q.bytes -= e.bytes;
    if (q > 0) deficit_[q - 1] -= int64_t(e.bytes);
    tokens_ -= double(e.bytes);
    ++counters_.sent[q];
    counters_.bytesSent += e.bytes;
    return std::move(e.item);
  }

  // When the next item may go out (now if there are tokens), or nothing when empty.
  std::optional<TimePoint> nextRelease(TimePoint now) {
    if (empty()) return std::nullopt;
    refill(now);
    if (tokens_ > 0) return now;
    return now + std::chrono::nanoseconds(int64_t(-tokens_ / bytesPerNs_) + 1);
  }

  const ShaperCounters& counters() const { return counters_; }
  size_t queued(policy::Priority p) const { return queues_[size_t(p)].n; }

 private:
  struct Entry {
    T item{};
    uint32_t bytes = 0;
  };
  struct Queue {
    std::vector<Entry> items;
    size_t head = 0, n = 0;
    uint64_t bytes = 0;
    void init(size_t cap) { items.resize(cap ? cap : 1); }
  };

  void refill(TimePoint now) {
    if (started_) {
      const double add = double((now - last_).count()) * bytesPerNs_;
      tokens_ = std::min(burst_, tokens_ + std::max(0.0, add));
    }
    started_ = true;
    last_ = now;
  }

  // Deficit round robin between business (1) and bulk (2); at least one is non-empty. Each
  // turn grants weight x quantum bytes once; the queue sends while its deficit covers the
  // head packet, then the turn passes (an emptied queue keeps no credit).
  size_t pickOther() {
    for (int guard = 0; guard < 16; ++guard) {
      const size_t q = 1 + turn_;
      Queue& Q = queues_[q];
      if (Q.n == 0) {
        deficit_[turn_] = 0;
        granted_ = false;
        turn_ ^= 1;
        continue;
      }
      if (!granted_) {
        deficit_[turn_] += int64_t(cfg_.weights[turn_]) * kQuantum;
        granted_ = true;
      }
      if (deficit_[turn_] >= int64_t(Q.items[Q.head].bytes)) return q;
      granted_ = false;
      turn_ ^= 1;
    }
    return queues_[1].n ? 1 : 2;
  }

  static constexpr int64_t kQuantum = 1600;  // > one ESP datagram of a 1500-byte link
  ShaperConfig cfg_;
  double burst_ = 0, tokens_ = 0, bytesPerNs_ = 0;
  uint32_t otherBytes_ = 0;
  TimePoint last_{};
  bool started_ = false;
  std::array<Queue, 3> queues_;
  std::array<int64_t, 2> deficit_{0, 0};
  size_t turn_ = 0;
  bool granted_ = false;
  ShaperCounters counters_;
};

}  // namespace braid::edge
