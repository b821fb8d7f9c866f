#include "policy/flow_table.hpp"

#include <algorithm>
#include <bit>

namespace braid::policy {

namespace {
constexpr size_t kNpos = SIZE_MAX;

// FlowKey::hash is FNV-1a; its low bits are fine for a power-of-two table after a final mix.
size_t mix(size_t h) {
  uint64_t z = h;
  z ^= z >> 33;
  z *= 0xff51afd7ed558ccdull;
  z ^= z >> 33;
  return static_cast<size_t>(z);
}
}  // namespace

FlowTable::FlowTable(size_t capacity, Duration idle) : idle_(idle) {
  capacity = std::clamp<size_t>(capacity, 1, size_t{UINT32_MAX} - 1);
  entries_.resize(capacity);
  // Load factor <= 1/2 keeps linear probing short.
  size_t nb = std::bit_ceil(capacity * 2);
  buckets_.assign(nb, kNil);
  bucketMask_ = nb - 1;
  clear();
}

void FlowTable::clear() {
  std::fill(buckets_.begin(), buckets_.end(), kNil);
  for (size_t i = 0; i < entries_.size(); ++i) {
    entries_[i].next = i + 1 < entries_.size() ? static_cast<uint32_t>(i + 1) : kNil;
    entries_[i].prev = kNil;
  }
  free_ = 0;
  head_ = tail_ = kNil;
  size_ = 0;
}

size_t FlowTable::locate(const FlowKey& key, size_t hash) const {
  for (size_t b = bucketOf(hash);; b = (b + 1) & bucketMask_) {
    uint32_t i = buckets_[b];
    if (i == kNil) return kNpos;
    if (entries_[i].hash == hash && entries_[i].flow.key == key) return b;
  }
}

void FlowTable::unlink(uint32_t i) {
  Slot& s = entries_[i];
  if (s.prev != kNil) entries_[s.prev].next = s.next;
  if (s.next != kNil) entries_[s.next].prev = s.prev;
  if (head_ == i) head_ = s.next;
  if (tail_ == i) tail_ = s.prev;
  s.prev = s.next = kNil;
}

void FlowTable::pushFront(uint32_t i) {
  Slot& s = entries_[i];
  s.prev = kNil;
  s.next = head_;
  if (head_ != kNil) entries_[head_].prev = i;
  head_ = i;
  if (tail_ == kNil) tail_ = i;
}

void FlowTable::removeAt(size_t bucket) {
  uint32_t i = buckets_[bucket];
  unlink(i);
  entries_[i].next = free_;
  free_ = i;
  --size_;
  // Backward-shift deletion: pull later entries of the probe run into the hole so that
  // lookups never need tombstones.
  size_t hole = bucket;
  for (size_t b = (bucket + 1) & bucketMask_;; b = (b + 1) & bucketMask_) {
    uint32_t j = buckets_[b];
    if (j == kNil) break;
    size_t home = bucketOf(entries_[j].hash);
    // j may move to the hole if its home is not cyclically within (hole, b].
    bool homeInRange = hole <= b ? (home > hole && home <= b) : (home > hole || home <= b);
    if (!homeInRange) {
      buckets_[hole] = j;
      hole = b;
    }
  }
  buckets_[hole] = kNil;
}

FlowEntry* FlowTable::find(const FlowKey& key, TimePoint now) {
  size_t h = mix(key.hash());
  size_t b = locate(key, h);
  if (b == kNpos) return nullptr;
  uint32_t i = buckets_[b];
  if (now - entries_[i].flow.lastSeen > idle_) {
    removeAt(b);
    ++counters_.expired;
    return nullptr;
  }
  entries_[i].flow.lastSeen = now;
  if (head_ != i) {
    unlink(i);
    pushFront(i);
  }
  return &entries_[i].flow;
}

FlowEntry* FlowTable::insert(const FlowKey& key, TimePoint now) {
  if (free_ == kNil) {
    // Full: the least recently used flow goes.
    const Slot& lru = entries_[tail_];
    removeAt(locate(lru.flow.key, lru.hash));
    ++counters_.evicted;
  }
  uint32_t i = free_;
  free_ = entries_[i].next;
  Slot& s = entries_[i];
  s.hash = mix(key.hash());
  s.flow = FlowEntry{};
  s.flow.key = key;
  s.flow.lastSeen = now;
  size_t b = bucketOf(s.hash);
  while (buckets_[b] != kNil) b = (b + 1) & bucketMask_;
  buckets_[b] = i;
  pushFront(i);
  ++size_;
  ++counters_.inserted;
  return &s.flow;
}

bool FlowTable::erase(const FlowKey& key) {
  size_t b = locate(key, mix(key.hash()));
  if (b == kNpos) return false;
  removeAt(b);
  return true;
}

size_t FlowTable::expire(TimePoint now, size_t budget) {
  size_t n = 0;
  while (n < budget && tail_ != kNil && now - entries_[tail_].flow.lastSeen > idle_) {
    const Slot& s = entries_[tail_];
    removeAt(locate(s.flow.key, s.hash));
    ++counters_.expired;
    ++n;
  }
  return n;
}

}  // namespace braid::policy
