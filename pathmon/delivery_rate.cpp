#include "pathmon/delivery_rate.hpp"

#include <algorithm>

namespace braid::pathmon {

bool DeliveryRate::queued(Duration rtt, Duration srtt, Duration minRtt) const {
  if (minRtt <= Duration::zero()) return false;
  const auto extra = std::chrono::duration_cast<Duration>(minRtt * cfg_.queueRatio);
  const Duration threshold = minRtt + std::max(cfg_.queueMin, extra);
  return std::max(rtt, srtt) > threshold;
}

void DeliveryRate::onReply(const DeliverySample& s, Duration rtt, Duration srtt, Duration minRtt,
                           TimePoint now) {
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
  if (delivered <= 0 || sending < cfg_.busyRatio * delivered || !queued(rtt, srtt, minRtt)) {
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
