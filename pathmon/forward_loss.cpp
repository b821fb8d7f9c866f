#include "pathmon/forward_loss.hpp"

#include <algorithm>

namespace braid::pathmon {

ForwardLoss::ForwardLoss(uint32_t window)
    : window_(std::max<uint32_t>(window, 2)), ring_(window_) {}

void ForwardLoss::onReport(uint64_t seq, uint32_t peerCount, uint64_t lastSent) {
  if (!inWindow(seq, lastSent)) return;
  if (inWindow(newest_.seq, lastSent)) {
    if (seq > newest_.seq && peerCount < newest_.count) {
      // The peer counts from 0 again: the reports before say nothing about its new count.
      ++resets_;
      std::fill(ring_.begin(), ring_.end(), Report{});
    } else if (seq < newest_.seq && peerCount > newest_.count) {
      return;  // a late reply from before the peer's restart
    }
  }
  if (!inWindow(newest_.seq, lastSent) || seq >= newest_.seq) newest_ = {seq, peerCount};
  ring_[seq % window_] = {seq, peerCount};
}

std::optional<double> ForwardLoss::loss(uint64_t lastSent) const {
  if (!inWindow(newest_.seq, lastSent)) return std::nullopt;
  const Report* oldest = nullptr;
  for (const Report& r : ring_) {
    if (inWindow(r.seq, lastSent) && (!oldest || r.seq < oldest->seq)) oldest = &r;
  }
  if (!oldest || oldest->seq >= newest_.seq) return std::nullopt;
  // The newest report holds the highest count (onReport keeps it so).
  const double sent = static_cast<double>(newest_.seq - oldest->seq);
  const double got = static_cast<double>(newest_.count - oldest->count);
  return std::clamp(1.0 - got / sent, 0.0, 1.0);
}

double ForwardLoss::returnLoss(double rt, double fwd) {
  if (fwd >= 1.0) return 0.0;  // nothing reached the peer: its leg is unmeasured
  return std::clamp(1.0 - (1.0 - rt) / (1.0 - fwd), 0.0, 1.0);
}

}  // namespace braid::pathmon
