// Anti-replay window per RFC 4303 section 3.4.3 with the bitmap of RFC 6479: the bitmap is
// a ring of 64-bit blocks, advanced by clearing blocks rather than shifting bits.
#pragma once

#include <cstdint>
#include <vector>

namespace braid::ipsec {

class ReplayWindow {
 public:
  static constexpr uint32_t kMinSize = 64;
  static constexpr uint32_t kMaxSize = 4096;

  // `size` is rounded up to a multiple of 64 and clamped to [kMinSize, kMaxSize].
  explicit ReplayWindow(uint32_t size = 1024);

  // True if `seq` (full 64-bit number) is new and inside the window. Does not change state:
  // ESP calls check() before verifying the ICV and update() only after it verified.
  // Accepted: seq > highest(), or highest() - seq < size() and not yet seen. 0 never is.
  bool check(uint64_t seq) const;
  // Marks `seq` as received, advancing the window if it is the new highest. Returns false if
  // it was a replay (so check+update may also be used alone).
  bool update(uint64_t seq);

  uint64_t highest() const { return top_; }
  uint32_t size() const { return size_; }

  // RFC 4303 appendix A2.2: reconstructs the 64-bit ESN from the 32 low-order bits on the
  // wire, given the current window.
  uint64_t inferEsn(uint32_t low) const;

 private:
  uint32_t size_;
  uint64_t top_ = 0;  // highest sequence number received
  // Ring bitmap (RFC 6479): at least size_/64 + 1 blocks so that the window never shares a
  // block with the bits being cleared, rounded up to a power of two so indexing is a mask.
  std::vector<uint64_t> blocks_;
  uint64_t blockMask_ = 0;
};

}  // namespace braid::ipsec
