// The decisions for one direction of one emulated link, with no I/O: given a packet's
// arrival time and size, drop it (and why) or say when to release it and how many copies.
// Driven by simulated time in unit tests, by the kernel's receive timestamps in the daemon.
//
// Stages, in order: blackout -> MTU -> random loss -> Gilbert-Elliott loss -> token bucket
// with a bounded queue (tail drop) -> delay + jitter (clamped to the previous release so the
// line never reorders) -> reorder (skip the delay line) -> duplicate.
#pragma once

#include <cstdint>
#include <deque>

#include "core/clock.hpp"
#include "deploy/lab/wanem/params.hpp"

namespace braid::wanem {

enum class Verdict : uint8_t { kForward, kDropDown, kDropMtu, kDropLoss, kDropBurst, kDropQueue };

struct Decision {
  Verdict verdict = Verdict::kForward;
  TimePoint release{};
  bool duplicate = false;  // send a second copy at `release`
  bool reordered = false;  // skipped the delay line
};

// splitmix64-seeded xoshiro256**: small, fast and the same sequence on every platform, so a
// printed seed replays the same per-packet decisions.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  double uniform();                 // [0, 1)
  bool chance(double probability);  // no draw for 0 or 1, so unused features cost nothing
  double normal();                  // standard normal (Box-Muller)

 private:
  uint64_t s_[4];
  bool haveSpare_ = false;
  double spare_ = 0.0;
};

class DirectionModel {
 public:
  explicit DirectionModel(uint64_t seed) : rng_(seed) {}

  // Keeps state (Gilbert-Elliott state, bucket, last release) across changes.
  void setParams(const LinkParams& p) { params_ = p; }
  const LinkParams& params() const { return params_; }

  // `ipBytes` is the IP packet size (frame minus Ethernet header); `now` must not go back.
  Decision onPacket(TimePoint now, uint32_t ipBytes);
  // Packets still waiting for tokens at `now`.
  size_t rateQueued(TimePoint now);
  // Forgets queued state (on blackout the daemon flushes what is in flight).
  void flush();
  bool geBad() const { return geBad_; }

 private:
  Duration jitterSample();

  LinkParams params_;
  Rng rng_;
  bool geBad_ = false;
  // Token bucket as a virtual "bucket full again" time (GCRA form of a token bucket).
  TimePoint bucketFull_{};
  std::deque<TimePoint> departures_;  // departures from the bucket still in the future
  TimePoint lastRelease_{};
};

}  // namespace braid::wanem
