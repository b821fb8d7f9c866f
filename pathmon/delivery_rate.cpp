#include "pathmon/delivery_rate.hpp"

#include <algorithm>

namespace braid::pathmon {

bool DeliveryRate::queued(int64_t delayUs, Duration minRtt, TimePoint now) {
  if (!minDelayUs_ || delayUs <= *minDelayUs_ || now - minDelayAt_ >= cfg_.minDelayWindow) {
    minDelayUs_ = delayUs;
    minDelayAt_ = now;
  }
  const auto extra = std::chrono::duration_cast<Duration>(minRtt * cfg_.queueRatio);
  const Duration threshold = std::max(cfg_.queueMin, extra);
  return std::chrono::microseconds(delayUs - *minDelayUs_) > threshold;
}

void DeliveryRate::onReply(const DeliverySample& s, Duration minRtt, TimePoint now) {
  const int64_t sentAtUs =
      std::chrono::duration_cast<std::chrono::microseconds>(s.sentAt.time_since_epoch()).count();
  const bool queue = queued(static_cast<int64_t>(s.peerRxUs) - sentAtUs, minRtt, now);
  if (!base_) {
    base_ = s;
    return;
  }
  const DeliverySample& b = *base_;
  if (s.peerRxUs <= b.peerRxUs) return;  // reordered or duplicate
  if (s.peerRxBytes < b.peerRxBytes || s.sentBytes < b.sentBytes || s.sentAt <= b.sentAt) {
    base_ = s;  // a counter started again (peer restart, path re-added)
    return;
  }
  const uint64_t peerUs = s.peerRxUs - b.peerRxUs;
  if (std::chrono::microseconds(peerUs) < cfg_.minSpan) return;
  const double delivered =
      static_cast<double>(s.peerRxBytes - b.peerRxBytes) * 8e6 / static_cast<double>(peerUs);
  const double sentUs = std::chrono::duration<double, std::micro>(s.sentAt - b.sentAt).count();
  const double sending = static_cast<double>(s.sentBytes - b.sentBytes) * 8e6 / sentUs;
  base_ = s;
  lastRate_ = static_cast<uint64_t>(delivered);
  if (delivered <= 0 || sending < cfg_.busyRatio * delivered || !queue) {
    return;
  }
  ring_[evidenceCount_ % kSamples] = {now, lastRate_};
  ++evidenceCount_;
  lastEvidence_ = now;
}

std::optional<uint64_t> DeliveryRate::capacityBps(TimePoint now) const {
  if (evidenceCount_ == 0 || now - lastEvidence_ >= cfg_.expiry) return std::nullopt;
  uint64_t best = 0;
  const size_t n = std::min<uint64_t>(evidenceCount_, kSamples);
  for (size_t i = 0; i < n; ++i) {
    if (lastEvidence_ - ring_[i].at <= cfg_.window) best = std::max(best, ring_[i].bps);
  }
  return best;
}

}  // namespace braid::pathmon
