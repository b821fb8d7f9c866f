// Flow table: 5-tuple -> (class, sticky path). Bounded: all memory is taken at construction
// (open addressing with linear probing and backward-shift deletion, plus an index-linked
// LRU list), so the data path never allocates. A full table evicts its least recently used
// flow; a flow idle longer than `idle` is forgotten (on lookup, or by expire()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/clock.hpp"
#include "core/flow_key.hpp"
#include "policy/types.hpp"

namespace braid::policy {

struct FlowEntry {
  FlowKey key;
  TimePoint lastSeen{};
  uint64_t packets = 0;
  uint32_t epoch = 0;  // the class's path epoch when the path was chosen
  ClassId cls = 0;
  PathId path = kNoPath;
  DecisionCause lastMove = DecisionCause::kNewFlow;
  PacketMeta meta;  // of the first packet, to classify again on reload
};

struct FlowTableCounters {
  uint64_t inserted = 0;
  uint64_t evicted = 0;  // pushed out by a full table (LRU)
  uint64_t expired = 0;  // idle
};

class FlowTable {
 public:
  FlowTable(size_t capacity, Duration idle);

  // The live entry for key, marked as just used; nullptr if absent or idle (then removed).
  FlowEntry* find(const FlowKey& key, TimePoint now);
  // A new entry for key (must not be present), evicting the LRU entry if full.
  FlowEntry* insert(const FlowKey& key, TimePoint now);
  bool erase(const FlowKey& key);
  // Removes up to `budget` idle entries from the LRU end; returns how many.
  size_t expire(TimePoint now, size_t budget = SIZE_MAX);
  void clear();

  size_t size() const { return size_; }
  size_t capacity() const { return entries_.size(); }
  Duration idle() const { return idle_; }
  const FlowTableCounters& counters() const { return counters_; }
  // Bytes held per flow (entry + index), for the memory figure.
  static constexpr size_t bytesPerFlow() { return sizeof(Slot) + 2 * sizeof(uint32_t); }

  // Visits live entries from most to least recently used.
  template <typename F>
  void forEach(F&& f) const {
    for (uint32_t i = head_; i != kNil; i = entries_[i].next) f(entries_[i].flow);
  }

 private:
  static constexpr uint32_t kNil = UINT32_MAX;
  struct Slot {
    FlowEntry flow;
    size_t hash = 0;
    uint32_t prev = kNil, next = kNil;  // LRU list when live, free list (next) when not
  };
  size_t bucketOf(size_t hash) const { return hash & bucketMask_; }
  // Bucket holding entry index i for `key`, or npos.
  size_t locate(const FlowKey& key, size_t hash) const;
  void unlink(uint32_t i);
  void pushFront(uint32_t i);
  void removeAt(size_t bucket);

  std::vector<Slot> entries_;
  std::vector<uint32_t> buckets_;  // entry index, or kNil
  size_t bucketMask_ = 0;
  uint32_t head_ = kNil, tail_ = kNil, free_ = kNil;
  size_t size_ = 0;
  Duration idle_;
  FlowTableCounters counters_;
};

}  // namespace braid::policy
