// Per-path estimators fed by probe replies: RTT, jitter and probe loss. Integer arithmetic
// on nanoseconds so results are exact and reproducible in simulated time. No allocation
// after construction.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/clock.hpp"

namespace braid::pathmon {

// Every RTT sample counted in fixed buckets, for braid_path_probe_rtt_seconds (a Prometheus
// histogram, so quantiles aggregate over time and sites, unlike the windowed percentiles).
// Counts per bucket, not cumulative; bucket kBounds.size() is +Inf.
class RttHistogram {
 public:
  // Upper bounds (le) in seconds, suited to 1 ms .. 2 s.
  static constexpr std::array<double, 16> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.02, 0.03,
                                                     0.05,  0.075,  0.1,   0.15, 0.2,  0.3,
                                                     0.5,   0.75,   1.0,   2.0};

  void add(Duration sample);
  uint64_t bucket(size_t i) const { return counts_[i]; }
  const std::array<uint64_t, kBounds.size() + 1>& counts() const { return counts_; }
  Duration sum() const { return sum_; }
  uint64_t count() const { return count_; }

 private:
  std::array<uint64_t, kBounds.size() + 1> counts_{};
  Duration sum_{0};
  uint64_t count_ = 0;
};

// RTT per RFC 6298 section 2 (SRTT/RTTVAR with alpha = 1/8, beta = 1/4), plus the last
// kWindow samples for a windowed minimum and percentiles.
class RttEstimator {
 public:
  static constexpr size_t kWindow = 256;

  void add(Duration sample);
  bool hasSample() const { return count_ > 0; }
  uint64_t samples() const { return count_; }
  Duration srtt() const { return srtt_; }
  Duration rttvar() const { return rttvar_; }
  Duration latest() const { return latest_; }
  // Smallest of the last kWindow samples (0 without samples).
  Duration windowMin() const;
  // Nearest-rank percentile (q in [0, 1]) of the last kWindow samples; 0 without samples.
  Duration percentile(double q) const;
  // Every sample since the start, in buckets.
  const RttHistogram& histogram() const { return histogram_; }

 private:
  RttHistogram histogram_;
  std::array<int64_t, kWindow> ring_{};  // nanoseconds
  uint64_t count_ = 0;
  Duration srtt_{0};
  Duration rttvar_{0};
  Duration latest_{0};
};

// Interarrival jitter per RFC 3550 section 6.4.1 / appendix A.8: J += (|D| - J) / 16, where
// D is the change of "transit" between consecutive packets. Transit may be one-way
// (arrival - peer's send timestamp; the clock offset cancels in D) or a round-trip sample.
class JitterEstimator {
 public:
  void add(Duration transit);
  bool hasSample() const { return count_ > 1; }
  // Current estimate; kept scaled by 16 like A.8 so the integer division loses nothing.
  Duration jitter() const { return Duration(j16_ >> 4); }

 private:
  int64_t last_ = 0;
  int64_t j16_ = 0;
  uint64_t count_ = 0;
};

// What became of one probe.
enum class ProbeOutcome : uint8_t {
  kNone,      // slot empty: not sent, or left the window
  kPending,   // sent, no reply yet, timeout not reached
  kReceived,  // reply before the timeout
  kLost,      // no reply within the timeout (so far)
  kLate,      // reply after the timeout: counted late, not lost
};

// Outcomes of the last `size` probes sent, by sequence number (a ring: RFC 6479's trick of
// indexing by the low bits, so sliding costs one slot per probe). Loss ratio =
// lost / (received + lost + late); pending probes are not counted yet.
class LossWindow {
 public:
  explicit LossWindow(uint32_t size = 100);

  // The probe numbered seq was sent. Numbers increase (the supervisor extends the 32-bit
  // wire number to 64 bits); probes that fall out of the window take their outcome along.
  void onSent(uint64_t seq);
  // A reply for seq: pending -> received, lost -> late. Returns the previous outcome
  // (kNone for a number outside the window, or never sent).
  ProbeOutcome onReply(uint64_t seq);
  // The timeout of seq expired: pending -> lost. Returns true if it was pending.
  bool onTimeout(uint64_t seq);
  ProbeOutcome outcome(uint64_t seq) const;
  // Forgets received/lost/late outcomes (keeps pending ones): a fresh start after an outage.
  void forgetResolved();
  // The same for the numbers in [from, to) only (those still in the window).
  void forgetResolved(uint64_t from, uint64_t to);

  uint32_t size() const { return size_; }
  uint32_t received() const { return counts_[idx(ProbeOutcome::kReceived)]; }
  uint32_t lost() const { return counts_[idx(ProbeOutcome::kLost)]; }
  uint32_t late() const { return counts_[idx(ProbeOutcome::kLate)]; }
  uint32_t pending() const { return counts_[idx(ProbeOutcome::kPending)]; }
  uint32_t resolved() const { return received() + lost() + late(); }
  double lossRatio() const;
  // Highest number sent (valid once anything was sent).
  uint64_t lastSent() const { return last_; }
  bool inWindow(uint64_t seq) const;

 private:
  static constexpr size_t idx(ProbeOutcome o) { return static_cast<size_t>(o); }
  ProbeOutcome& slot(uint64_t seq) { return slots_[seq % size_]; }
  void set(uint64_t seq, ProbeOutcome o);

  uint32_t size_;
  std::vector<ProbeOutcome> slots_;
  std::array<uint32_t, 5> counts_{};
  uint64_t last_ = 0;
  bool any_ = false;
};

}  // namespace braid::pathmon
