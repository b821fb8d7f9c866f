#include "pathmon/estimators.hpp"

#include <algorithm>
#include <cmath>

namespace braid::pathmon {

void RttHistogram::add(Duration sample) {
  const double v = std::chrono::duration<double>(sample).count();
  size_t i = 0;
  while (i < kBounds.size() && v > kBounds[i]) ++i;  // le: v <= bound
  ++counts_[i];
  sum_ += sample;
  ++count_;
}

void RttEstimator::add(Duration sample) {
  if (sample < Duration::zero()) sample = Duration::zero();
  latest_ = sample;
  histogram_.add(sample);
  ring_[count_ % kWindow] = sample.count();
  if (count_ == 0) {
    // RFC 6298 2.2: first measurement.
    srtt_ = sample;
    rttvar_ = sample / 2;
  } else {
    // RFC 6298 2.3: RTTVAR first, from the old SRTT.
    Duration err = srtt_ > sample ? srtt_ - sample : sample - srtt_;
    rttvar_ = (3 * rttvar_ + err) / 4;
    srtt_ = (7 * srtt_ + sample) / 8;
  }
  ++count_;
}

Duration RttEstimator::windowMin() const {
  size_t n = std::min<uint64_t>(count_, kWindow);
  if (n == 0) return Duration::zero();
  return Duration(*std::min_element(ring_.begin(), ring_.begin() + n));
}

Duration RttEstimator::percentile(double q) const {
  size_t n = std::min<uint64_t>(count_, kWindow);
  if (n == 0) return Duration::zero();
  std::array<int64_t, kWindow> copy = ring_;
  q = std::clamp(q, 0.0, 1.0);
  // Nearest rank: the smallest value with at least q*n samples at or below it.
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(n)));
  size_t k = rank == 0 ? 0 : rank - 1;
  std::nth_element(copy.begin(), copy.begin() + k, copy.begin() + n);
  return Duration(copy[k]);
}

void JitterEstimator::add(Duration transit) {
  int64_t t = transit.count();
  if (count_ > 0) {
    int64_t d = t - last_;
    if (d < 0) d = -d;
    // A.8: jitter += d - ((jitter + 8) >> 4), on the value scaled by 16.
    j16_ += d - ((j16_ + 8) >> 4);
  }
  last_ = t;
  ++count_;
}

LossWindow::LossWindow(uint32_t size) : size_(std::max<uint32_t>(size, 1)) {
  slots_.assign(size_, ProbeOutcome::kNone);
  counts_[idx(ProbeOutcome::kNone)] = size_;
}

bool LossWindow::inWindow(uint64_t seq) const {
  return any_ && seq <= last_ && last_ - seq < size_;
}

void LossWindow::set(uint64_t seq, ProbeOutcome o) {
  ProbeOutcome& s = slot(seq);
  --counts_[idx(s)];
  s = o;
  ++counts_[idx(o)];
}

void LossWindow::onSent(uint64_t seq) {
  if (any_ && seq <= last_) return;  // already sent
  // The slots of numbers skipped (never sent) and the slot this number reuses leave the
  // window: clear at most the whole ring.
  uint64_t steps = any_ ? seq - last_ : 1;
  uint64_t clear = std::min<uint64_t>(steps, size_);
  for (uint64_t i = 0; i < clear; ++i) set(seq - i, ProbeOutcome::kNone);
  set(seq, ProbeOutcome::kPending);
  last_ = seq;
  any_ = true;
}

ProbeOutcome LossWindow::onReply(uint64_t seq) {
  if (!inWindow(seq)) return ProbeOutcome::kNone;
  ProbeOutcome prev = slot(seq);
  if (prev == ProbeOutcome::kPending) set(seq, ProbeOutcome::kReceived);
  if (prev == ProbeOutcome::kLost) set(seq, ProbeOutcome::kLate);
  return prev;
}

bool LossWindow::onTimeout(uint64_t seq) {
  if (!inWindow(seq) || slot(seq) != ProbeOutcome::kPending) return false;
  set(seq, ProbeOutcome::kLost);
  return true;
}

ProbeOutcome LossWindow::outcome(uint64_t seq) const {
  if (!inWindow(seq)) return ProbeOutcome::kNone;
  return slots_[seq % size_];
}

void LossWindow::forgetResolved() {
  for (ProbeOutcome& s : slots_) {
    if (s != ProbeOutcome::kPending && s != ProbeOutcome::kNone) {
      --counts_[idx(s)];
      s = ProbeOutcome::kNone;
      ++counts_[idx(s)];
    }
  }
}

void LossWindow::forgetResolved(uint64_t from, uint64_t to) {
  const uint64_t oldest = last_ >= size_ ? last_ - size_ + 1 : 0;
  for (uint64_t s = std::max(from, oldest); s < to && s <= last_; ++s) {
    ProbeOutcome& o = slots_[s % size_];
    if (o != ProbeOutcome::kPending && o != ProbeOutcome::kNone) {
      --counts_[idx(o)];
      o = ProbeOutcome::kNone;
      ++counts_[idx(o)];
    }
  }
}

double LossWindow::lossRatio() const {
  uint32_t n = resolved();
  return n == 0 ? 0.0 : static_cast<double>(lost()) / n;
}

}  // namespace braid::pathmon
