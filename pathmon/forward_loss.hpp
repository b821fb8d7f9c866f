// Loss of our own direction (prober -> peer), from the peer's running count of the probes
// it received (pathmon/probe.hpp, reply flag kFlagRxCounts). Round-trip loss cannot tell a
// lost probe from a lost reply; FEC protects only what we send, so the policy wants this.
//
// Over the loss window (the last `window` probes sent): of the replies that reported a
// count, take the oldest (seq a, count Ca) and the newest (seq b, count Cb). We sent b - a
// probes after a up to b, the peer received Cb - Ca of them:
//   forward = 1 - (Cb - Ca) / (b - a), clamped to [0, 1]
// (probes reordered across a or b can make the count a little off; the clamp covers it).
// Return loss is what is left of the round trip: a reply needs both legs, so
// (1 - rt) = (1 - forward)(1 - return), return = 1 - (1 - rt) / (1 - forward), clamped.
//
// The peer's count only grows while it keeps this path; a count lower than the newest
// report's (by seq) means it started again (restart, rekey with the shim renegotiated):
// everything before is forgotten. No allocation after construction.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace braid::pathmon {

class ForwardLoss {
 public:
  explicit ForwardLoss(uint32_t window = 100);

  // The reply to our probe `seq` says the peer had received `peerCount` of our probes;
  // `lastSent` is the highest seq we sent (the window ends there).
  void onReport(uint64_t seq, uint32_t peerCount, uint64_t lastSent);
  // Forward loss over the window ending at lastSent; nothing with fewer than two reports in
  // it (a peer that does not report, or too few replies yet).
  std::optional<double> loss(uint64_t lastSent) const;
  // Times the peer's count went backwards.
  uint64_t resets() const { return resets_; }

  // The return leg's share of round-trip loss `rt`, given forward loss `fwd` (see above).
  static double returnLoss(double rt, double fwd);

 private:
  struct Report {
    uint64_t seq = 0;  // 0: empty
    uint32_t count = 0;
  };
  bool inWindow(uint64_t seq, uint64_t lastSent) const {
    return seq != 0 && seq <= lastSent && lastSent - seq < window_;
  }

  uint32_t window_;
  std::vector<Report> ring_;  // by seq % window
  Report newest_;
  uint64_t resets_ = 0;
};

}  // namespace braid::pathmon
