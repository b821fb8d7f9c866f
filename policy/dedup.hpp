// Duplicate suppression for copies sent on several paths: a sliding window over the shim's
// per-class sequence numbers, kept as RFC 6479's ring of 64-bit blocks (advancing clears
// whole blocks; nothing is shifted). Separate from each SA's ESP anti-replay window: copies
// travel on different SAs, so only a number shared across paths can spot them.
// Size: rate x maximum copy skew; 500 Mbit/s of 1400-byte packets with 60 ms skew is ~2.7k
// packets, hence the 4096 default (research/multipath.md 6.3).
#pragma once

#include <cstdint>
#include <vector>

namespace braid::policy {

enum class DedupVerdict : uint8_t { kNew, kDuplicate, kTooOld };

struct DedupCounters {
  uint64_t accepted = 0;
  uint64_t duplicates = 0;
  uint64_t tooOld = 0;
};

class DedupWindow {
 public:
  static constexpr uint32_t kMinSize = 64;
  static constexpr uint32_t kMaxSize = 65536;

  // Rounded up to a multiple of 64 and clamped to [kMinSize, kMaxSize].
  explicit DedupWindow(uint32_t size = 4096);

  // kNew (and remembers seq), kDuplicate, or kTooOld: left of the window, where a copy can
  // no longer be told from an original (dropped: late beyond any sensible skew).
  DedupVerdict accept(uint64_t seq);
  // The same answer without remembering anything.
  DedupVerdict check(uint64_t seq) const;

  uint32_t size() const { return size_; }
  uint64_t highest() const { return top_; }
  const DedupCounters& counters() const { return counters_; }

 private:
  uint32_t size_;
  bool any_ = false;
  uint64_t top_ = 0;
  std::vector<uint64_t> blocks_;
  uint64_t blockMask_ = 0;
  DedupCounters counters_;
};

}  // namespace braid::policy
