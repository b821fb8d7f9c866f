// Timers handed out by protocol cores. A core asks a TimerScheduler for a callback at a
// deadline; edge backs it with one Asio timer armed at nextDeadline(), tests drive it from
// a ManualClock with runUntil().
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <unordered_set>
#include <vector>

#include "core/clock.hpp"

namespace braid {

using TimerId = uint64_t;
inline constexpr TimerId kNoTimer = 0;

class TimerScheduler {
 public:
  virtual ~TimerScheduler() = default;
  virtual TimerId schedule(TimePoint deadline, std::function<void()> callback) = 0;
  // Cancelling an expired or unknown timer is a no-op.
  virtual void cancel(TimerId id) = 0;
};

// Deterministic timer queue: equal deadlines fire in scheduling order.
class TimerQueue final : public TimerScheduler {
 public:
  TimerId schedule(TimePoint deadline, std::function<void()> callback) override;
  void cancel(TimerId id) override;

  // Fires every timer due at or before `now`, including ones scheduled by callbacks.
  // Returns how many fired.
  size_t runUntil(TimePoint now);
  // Simulated time: moves `clock` to each deadline in turn up to now + d, firing what is due
  // there (each callback sees its own time, not the end of the span), then to now + d.
  void runFor(ManualClock& clock, Duration d);
  std::optional<TimePoint> nextDeadline();
  size_t pending() const { return live_.size(); }

 private:
  struct Entry {
    TimePoint deadline;
    TimerId id;
    std::function<void()> callback;
    bool operator>(const Entry& o) const {
      return deadline != o.deadline ? deadline > o.deadline : id > o.id;
    }
  };
  void dropCancelledHead();

  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap_;
  std::unordered_set<TimerId> live_;
  TimerId nextId_ = 1;
};

// Owns at most one scheduled timer and cancels it when re-armed or destroyed.
class ScopedTimer {
 public:
  explicit ScopedTimer(TimerScheduler& scheduler) : scheduler_(&scheduler) {}
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;
  ~ScopedTimer() { cancel(); }

  void arm(TimePoint deadline, std::function<void()> callback) {
    cancel();
    id_ = scheduler_->schedule(deadline, [this, cb = std::move(callback)] {
      id_ = kNoTimer;
      cb();
    });
  }
  void cancel() {
    if (id_ != kNoTimer) scheduler_->cancel(id_);
    id_ = kNoTimer;
  }
  bool armed() const { return id_ != kNoTimer; }

 private:
  TimerScheduler* scheduler_;
  TimerId id_ = kNoTimer;
};

}  // namespace braid
