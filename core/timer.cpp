#include "core/timer.hpp"

#include <algorithm>

namespace braid {

TimerId TimerQueue::schedule(TimePoint deadline, std::function<void()> callback) {
  TimerId id = nextId_++;
  heap_.push(Entry{deadline, id, std::move(callback)});
  live_.insert(id);
  return id;
}

void TimerQueue::cancel(TimerId id) {
  live_.erase(id);
}

void TimerQueue::dropCancelledHead() {
  while (!heap_.empty() && !live_.contains(heap_.top().id)) heap_.pop();
}

void TimerQueue::runFor(ManualClock& clock, Duration d) {
  const TimePoint end = clock.now() + d;
  while (auto next = nextDeadline()) {
    if (*next > end) break;
    clock.set(std::max(clock.now(), *next));
    runUntil(clock.now());
  }
  clock.set(end);
}

size_t TimerQueue::runUntil(TimePoint now) {
  size_t fired = 0;
  for (;;) {
    dropCancelledHead();
    if (heap_.empty() || heap_.top().deadline > now) break;
    Entry e = heap_.top();
    heap_.pop();
    live_.erase(e.id);
    ++fired;
    e.callback();
  }
  return fired;
}

std::optional<TimePoint> TimerQueue::nextDeadline() {
  dropCancelledHead();
  if (heap_.empty()) return std::nullopt;
  return heap_.top().deadline;
}

}  // namespace braid
