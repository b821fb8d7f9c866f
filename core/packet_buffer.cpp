#include "core/packet_buffer.hpp"

#include <cassert>
#include <cstdlib>
#include <new>

namespace braid {

void PacketReturn::operator()(PacketBuffer* b) const {
  if (b != nullptr && b->owner_ != nullptr) b->owner_->release(b);
}

PacketPool::PacketPool(size_t count, size_t slabSize, size_t defaultHeadroom)
    : slabSize_(slabSize), headroom_(defaultHeadroom) {
  // 64-byte aligned slabs keep headers of consecutive packets on separate cache lines.
  slabSize_ = (slabSize + 63) & ~size_t{63};
  storage_.reset(static_cast<uint8_t*>(std::aligned_alloc(64, count * slabSize_ + 64)));
  if (!storage_) throw std::bad_alloc();  // start-up only, never on the data path
  buffers_.reserve(count);
  free_.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    buffers_.emplace_back(storage_.get() + i * slabSize_, slabSize_);
    buffers_.back().owner_ = this;
  }
  for (size_t i = count; i > 0; --i) free_.push_back(&buffers_[i - 1]);
}

void PacketPool::FreeDeleter::operator()(uint8_t* p) const {
  std::free(p);
}

PacketPtr PacketPool::acquire() {
  if (free_.empty()) {
    ++exhausted_;
    return PacketPtr(nullptr);
  }
  PacketBuffer* b = free_.back();
  free_.pop_back();
  b->reset(headroom_);
  return PacketPtr(b);
}

void PacketPool::release(PacketBuffer* b) {
  assert(b->owner_ == this);
  assert(free_.size() < buffers_.size());
  free_.push_back(b);
}

}  // namespace braid
