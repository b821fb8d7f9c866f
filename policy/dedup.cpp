#include "policy/dedup.hpp"

#include <algorithm>
#include <bit>

namespace braid::policy {

DedupWindow::DedupWindow(uint32_t size) {
  uint32_t rounded = size > kMaxSize ? kMaxSize : (size + 63) / 64 * 64;
  size_ = std::clamp(rounded, kMinSize, kMaxSize);
  // RFC 6479 section 2: one block more than the window so the block being cleared is never
  // one the window still uses; a power of two so the index is a mask.
  size_t count = std::bit_ceil(size_t{size_ / 64 + 1});
  blocks_.assign(count, 0);
  blockMask_ = count - 1;
}

DedupVerdict DedupWindow::check(uint64_t seq) const {
  if (!any_ || seq > top_) return DedupVerdict::kNew;
  if (top_ - seq >= size_) return DedupVerdict::kTooOld;
  uint64_t bit = uint64_t{1} << (seq & 63);
  return (blocks_[(seq >> 6) & blockMask_] & bit) ? DedupVerdict::kDuplicate : DedupVerdict::kNew;
}

DedupVerdict DedupWindow::accept(uint64_t seq) {
  DedupVerdict v = check(seq);
  if (v == DedupVerdict::kDuplicate) {
    ++counters_.duplicates;
    return v;
  }
  if (v == DedupVerdict::kTooOld) {
    ++counters_.tooOld;
    return v;
  }
  if (!any_) {
    any_ = true;
    top_ = seq;
  } else if (seq > top_) {
    uint64_t oldBlock = top_ >> 6;
    uint64_t newBlock = seq >> 6;
    uint64_t steps = std::min<uint64_t>(newBlock - oldBlock, blocks_.size());
    for (uint64_t i = 1; i <= steps; ++i) blocks_[(oldBlock + i) & blockMask_] = 0;
    top_ = seq;
  }
  blocks_[(seq >> 6) & blockMask_] |= uint64_t{1} << (seq & 63);
  ++counters_.accepted;
  return DedupVerdict::kNew;
}

}  // namespace braid::policy
