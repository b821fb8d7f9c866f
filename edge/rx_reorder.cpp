#include "edge/rx_reorder.hpp"

#include <cstring>

namespace braid::edge {

ReorderStage::ReorderStage(size_t peers, Duration defaultHold, Deliver deliver)
    : deliver_(std::move(deliver)), holds_(peers, defaultHold), bufs_(peers) {}

ReorderStage::Buffer& ReorderStage::buffer(size_t peer, policy::ClassId cls) {
  auto& perClass = bufs_[peer];
  if (perClass.empty()) perClass.resize(kMaxClasses);
  std::unique_ptr<Buffer>& b = perClass[cls];
  if (!b) {
    // The first ordered packet of this class: allocated once, then reused.
    b = std::make_unique<Buffer>(kPerClass, holds_[peer]);
    active_.push_back(b.get());
    if (pool_.empty()) {
      pool_.resize(size_t(kPoolSlots) * (kHeadroom + kSlotBytes));
      free_.reserve(kPoolSlots);
      for (uint32_t i = kPoolSlots; i-- > 0;) free_.push_back(i);
    }
  }
  return *b;
}

bool ReorderStage::ordered(size_t peer, policy::ClassId cls) const {
  return peer < bufs_.size() && cls < bufs_[peer].size() && bufs_[peer][cls] != nullptr;
}

void ReorderStage::release(const Held& h) {
  deliver_(h.ip, h.len);
  if (h.slot >= 0) free_.push_back(uint32_t(h.slot));
}

void ReorderStage::push(size_t peer, policy::ClassId cls, uint64_t seq, uint8_t* ip, size_t len,
                        TimePoint now) {
  if (peer >= bufs_.size() || cls >= kMaxClasses) {
    deliver_(ip, len);
    return;
  }
  Buffer& b = buffer(peer, cls);
  const Release sink{this};
  if (!b.started() || seq <= b.nextExpected()) {
    // In order (delivered now, from the RX buffer) or late (the gap was given up: deliver
    // it anyway, out of order, rather than make TCP retransmit it; counted as late).
    Held h{ip, uint16_t(len), -1};
    if (b.push(seq, std::move(h), now, sink) == policy::ReorderVerdict::kLate) deliver_(ip, len);
    return;
  }
  if (free_.empty() || len > kSlotBytes) {
    ++overflows_;
    deliver_(ip, len);
    return;
  }
  const uint32_t slot = free_.back();
  free_.pop_back();
  uint8_t* dst = pool_.data() + size_t(slot) * (kHeadroom + kSlotBytes) + kHeadroom;
  std::memcpy(dst, ip, len);
  if (b.push(seq, Held{dst, uint16_t(len), int32_t(slot)}, now, sink) ==
      policy::ReorderVerdict::kDuplicate) {
    free_.push_back(slot);  // dedup runs first, so only a bug brings one here
  }
}

void ReorderStage::restart(size_t peer, policy::ClassId cls) {
  if (!ordered(peer, cls)) return;
  bufs_[peer][cls]->restart(Release{this});
}

void ReorderStage::setHold(size_t peer, Duration hold) {
  if (peer >= holds_.size()) return;
  holds_[peer] = hold;
  for (auto& b : bufs_[peer]) {
    if (b) b->setHold(hold);
  }
}

std::optional<TimePoint> ReorderStage::nextDeadline() {
  std::optional<TimePoint> first;
  for (Buffer* b : active_) {
    auto d = b->nextDeadline();
    if (d && (!first || *d < *first)) first = d;
  }
  return first;
}

void ReorderStage::onTimer(TimePoint now) {
  for (Buffer* b : active_) {
    b->onTimer(now, Release{this});
  }
}

size_t ReorderStage::waiting() const {
  size_t n = 0;
  for (const Buffer* b : active_) n += b->size();
  return n;
}

void ReorderStage::addTo(RxCounters& c) const {
  for (const Buffer* b : active_) {
    const policy::ReorderCounters& r = b->counters();
    c.reorderBuffered += r.buffered;
    c.reorderLate += r.late;
    c.reorderGaps += r.gapsSkipped;
    c.reorderTimeouts += r.timeoutFlushes;
    c.reorderOverflows += r.overflowFlushes;
  }
  c.reorderOverflows += overflows_;
}

}  // namespace braid::edge
