// PacketBuffer: one packet in a fixed slab with headroom and tailroom, so that ESP, UDP and
// IP headers are prepended in place and trailers/ICVs appended without copying
// (openvpn3 frame.hpp). Buffers come from a bounded PacketPool allocated once at start-up;
// acquiring and releasing never touches the heap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "core/bytes.hpp"

namespace braid {

class PacketPool;

class PacketBuffer {
 public:
  PacketBuffer(uint8_t* storage, size_t capacity) : storage_(storage), capacity_(capacity) {}

  // Empties the buffer and places the start `headroom` bytes into the slab.
  void reset(size_t headroom) {
    head_ = headroom <= capacity_ ? headroom : capacity_;
    tail_ = head_;
  }

  uint8_t* data() { return storage_ + head_; }
  const uint8_t* data() const { return storage_ + head_; }
  size_t size() const { return tail_ - head_; }
  bool empty() const { return size() == 0; }
  size_t headroom() const { return head_; }
  size_t tailroom() const { return capacity_ - tail_; }
  size_t capacity() const { return capacity_; }
  MutableBytes span() { return {data(), size()}; }
  Bytes span() const { return {data(), size()}; }
  // The writable area after the data, for receiving into.
  MutableBytes tailSpace() { return {storage_ + tail_, tailroom()}; }

  // Grows the packet at the front; nullptr if the headroom is too small.
  uint8_t* prepend(size_t n) {
    if (n > head_) return nullptr;
    head_ -= n;
    return data();
  }
  // Grows the packet at the back; nullptr if the tailroom is too small.
  uint8_t* append(size_t n) {
    if (n > tailroom()) return nullptr;
    uint8_t* p = storage_ + tail_;
    tail_ += n;
    return p;
  }
  [[nodiscard]] bool trimFront(size_t n) {
    if (n > size()) return false;
    head_ += n;
    return true;
  }
  [[nodiscard]] bool trimBack(size_t n) {
    if (n > size()) return false;
    tail_ -= n;
    return true;
  }
  // Sets the length after receiving `n` bytes into tailSpace().
  [[nodiscard]] bool commit(size_t n) { return append(n) != nullptr; }
  [[nodiscard]] bool assign(Bytes b) {
    tail_ = head_;
    uint8_t* p = append(b.size());
    if (p == nullptr) return false;
    if (!b.empty()) std::memcpy(p, b.data(), b.size());
    return true;
  }

 private:
  uint8_t* storage_;
  size_t capacity_;
  size_t head_ = 0;
  size_t tail_ = 0;
  friend class PacketPool;
  friend struct PacketReturn;
  PacketPool* owner_ = nullptr;
};

struct PacketReturn {
  void operator()(PacketBuffer* b) const;
};
using PacketPtr = std::unique_ptr<PacketBuffer, PacketReturn>;

// A fixed number of equally sized slabs. Not thread-safe: one pool per worker thread.
class PacketPool {
 public:
  static constexpr size_t kDefaultHeadroom = 64;

  PacketPool(size_t count, size_t slabSize, size_t defaultHeadroom = kDefaultHeadroom);
  PacketPool(const PacketPool&) = delete;
  PacketPool& operator=(const PacketPool&) = delete;

  // nullptr when the pool is exhausted; the caller counts a drop.
  PacketPtr acquire();
  void release(PacketBuffer* b);

  size_t available() const { return free_.size(); }
  size_t total() const { return buffers_.size(); }
  size_t slabSize() const { return slabSize_; }
  uint64_t exhaustedCount() const { return exhausted_; }

 private:
  size_t slabSize_;
  size_t headroom_;
  struct FreeDeleter {
    void operator()(uint8_t* p) const;
  };
  std::unique_ptr<uint8_t, FreeDeleter> storage_;
  std::vector<PacketBuffer> buffers_;
  std::vector<PacketBuffer*> free_;
  uint64_t exhausted_ = 0;
};

}  // namespace braid
