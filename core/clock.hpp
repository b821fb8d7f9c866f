// Time for protocol cores: they never read the system clock themselves. Edge passes a
// SteadyClock; tests pass a ManualClock and advance simulated time without sleeping.
#pragma once

#include <chrono>

namespace braid {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::steady_clock::time_point;

using namespace std::chrono_literals;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{} + std::chrono::hours(1)) : now_(start) {}
  TimePoint now() const override { return now_; }
  void advance(Duration d) { now_ += d; }
  void set(TimePoint t) { now_ = t; }

 private:
  TimePoint now_;
};

inline double toMillis(Duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

}  // namespace braid
