#include "ipsec/replay_window.hpp"

#include <algorithm>
#include <bit>

namespace braid::ipsec {

ReplayWindow::ReplayWindow(uint32_t size) {
  uint32_t rounded = size > kMaxSize ? kMaxSize : (size + 63) / 64 * 64;
  size_ = std::clamp(rounded, kMinSize, kMaxSize);
  // size_ consecutive numbers touch at most size_/64 + 1 blocks (RFC 6479 section 2).
  size_t count = std::bit_ceil(size_t{size_ / 64 + 1});
  blocks_.assign(count, 0);
  blockMask_ = count - 1;
}

bool ReplayWindow::check(uint64_t seq) const {
  if (seq == 0) return false;  // RFC 4303 3.3.3: the first packet carries 1
  if (seq > top_) return true;
  if (top_ - seq >= size_) return false;  // left of the window
  uint64_t block = blocks_[(seq >> 6) & blockMask_];
  return (block & (uint64_t{1} << (seq & 63))) == 0;
}

bool ReplayWindow::update(uint64_t seq) {
  if (!check(seq)) return false;
  if (seq > top_) {
    // Clear the blocks the window slides over; the bits above top_ in its own block are
    // still zero because top_ was the highest number seen.
    uint64_t oldBlock = top_ >> 6;
    uint64_t newBlock = seq >> 6;
    uint64_t steps = std::min<uint64_t>(newBlock - oldBlock, blocks_.size());
    for (uint64_t i = 1; i <= steps; ++i) blocks_[(oldBlock + i) & blockMask_] = 0;
    top_ = seq;
  }
  blocks_[(seq >> 6) & blockMask_] |= uint64_t{1} << (seq & 63);
  return true;
}

uint64_t ReplayWindow::inferEsn(uint32_t low) const {
  const uint32_t tl = static_cast<uint32_t>(top_);
  const uint32_t th = static_cast<uint32_t>(top_ >> 32);
  const uint32_t w = size_;
  uint32_t seqh;
  if (tl >= w - 1) {
    // Case A: the window lies within one 2^32 subspace.
    if (low >= tl - w + 1) {
      seqh = th;
    } else {
      // The counter wrapped into the next subspace; at 2^64 the sender must have rekeyed,
      // so keep th and let the window reject the number.
      seqh = th == UINT32_MAX ? th : th + 1;
    }
  } else {
    // Case B: the window spans the end of the previous subspace (mod 2^32 arithmetic).
    if (low >= tl - w + 1) {
      seqh = th == 0 ? 0 : th - 1;  // nothing precedes subspace 0: a jump forward
    } else {
      seqh = th;
    }
  }
  return uint64_t{seqh} << 32 | low;
}

}  // namespace braid::ipsec
