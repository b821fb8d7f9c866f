// Measured capacity of our direction, from the peer's count of the bytes it received on the
// path (pathmon/probe.hpp, reply flag kFlagRxCounts): between two replies the delivery rate
// is bytes delta / the peer's receive-time delta (its timestamps: reply tx - hold; only
// differences of its one clock are taken).
//
// A delivery rate is capacity only when the path was the bottleneck: a sender that did not
// fill it sees its own sending rate. So a sample counts as evidence only when
//   - we sent at least `busyRatio` of the delivered rate over the same span (our bytes and
//     our clock), and
//   - our direction showed a queue: the probe's one-way delay (peer's receive time minus our
//     send time; the clocks' offset cancels against its own minimum) above its minimum of
//     the last `minDelayWindow` by max(queueMin, queueRatio x min RTT). Not the RTT: a
//     download filling the peer's direction raises the RTT too, and our sending (its ACKs)
//     would pass for our capacity.
// The capacity is the maximum of the evidence within `window` of the newest evidence (BBR's
// bottleneck-bandwidth filter, draft-cardwell-iccrg-bbr-congestion-control 4.5.2.2); with no
// evidence for `expiry` it is forgotten (the operator's configured rate applies again).
// Under saturation a sample can only underestimate the bottleneck (edge's 5 ms byte polls
// aside), so the policy uses it only to lower the configured weight, never to raise it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "core/clock.hpp"

namespace braid::pathmon {

// One reply's figures: when our probe left and our byte count then (our clock), when the
// peer received it and its byte count then (the peer's clock).
struct DeliverySample {
  TimePoint sentAt{};
  uint64_t sentBytes = 0;
  uint64_t peerRxUs = 0;
  uint64_t peerRxBytes = 0;
};

struct DeliveryRateConfig {
  Duration minSpan = std::chrono::milliseconds(100);  // peer time between two samples
  Duration window = std::chrono::seconds(10);
  Duration expiry = std::chrono::seconds(30);
  double busyRatio = 0.8;
  Duration queueMin = std::chrono::milliseconds(5);
  double queueRatio = 0.25;
  // The one-way delay's minimum is kept this long (then the current delay takes its place):
  // a queue standing longer than this becomes the minimum and stops being evidence.
  Duration minDelayWindow = std::chrono::seconds(30);
};

class DeliveryRate {
 public:
  explicit DeliveryRate(const DeliveryRateConfig& c = {}) : cfg_(c) {}

  // A reply arrived at `now`; minRtt (the path's windowed minimum) scales the queue test.
  void onReply(const DeliverySample& s, Duration minRtt, TimePoint now);
  // Bits per second, while there is recent evidence.
  std::optional<uint64_t> capacityBps(TimePoint now) const;
  // The last delivery rate computed, evidence or not (bits per second; 0: none yet).
  uint64_t lastRateBps() const { return lastRate_; }
  uint64_t evidence() const { return evidenceCount_; }

 private:
  static constexpr size_t kSamples = 128;  // window / minSpan, with room
  struct Evidence {
    TimePoint at{};
    uint64_t bps = 0;
  };
  // Updates the one-way delay's minimum with this sample's delay; true if it shows a queue.
  bool queued(int64_t delayUs, Duration minRtt, TimePoint now);

  DeliveryRateConfig cfg_;
  std::optional<DeliverySample> base_;
  std::array<Evidence, kSamples> ring_{};
  uint64_t evidenceCount_ = 0;
  TimePoint lastEvidence_{};
  uint64_t lastRate_ = 0;
  std::optional<int64_t> minDelayUs_;
  TimePoint minDelayAt_{};
};

}  // namespace braid::pathmon
