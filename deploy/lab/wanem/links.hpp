// The emulator's shared state and its control language. A Link bridges two interfaces; each
// of its two Directions has settings (written by the control thread, read by a worker when
// its version changes) and counters (written by the worker only, read by "show").
// The Controller executes control-socket requests and runs scenarios on a TimerQueue; it does
// no I/O so its tests drive it with a ManualClock.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/timer.hpp"
#include "deploy/lab/wanem/params.hpp"
#include "deploy/lab/wanem/scenario.hpp"

namespace braid::wanem {

struct Counters {
  std::atomic<uint64_t> rx{0}, rxBytes{0}, fwd{0}, fwdBytes{0}, dup{0}, reordered{0};
  std::atomic<uint64_t> dropDown{0}, dropMtu{0}, dropLoss{0}, dropBurst{0}, dropQueue{0};
  std::atomic<uint64_t> dropNoBuf{0}, dropTooLong{0}, dropTx{0};
  // Gauges: packets waiting for tokens, and all packets held (bucket queue + delay line).
  std::atomic<uint64_t> rateQueued{0}, held{0};

  void add(std::atomic<uint64_t>& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
  uint64_t drops() const;
};

// Counter names as shown by "show" and read by "get", in display order.
struct CounterField {
  std::string_view name;
  std::atomic<uint64_t> Counters::*field;
};
const std::vector<CounterField>& counterFields();

class Direction {
 public:
  Direction(std::string link, std::string dir, std::string inIf, std::string outIf, uint64_t seed);

  const std::string& link() const { return link_; }
  const std::string& dir() const { return dir_; }
  std::string label() const { return link_ + ":" + dir_; }
  const std::string& inIf() const { return inIf_; }
  const std::string& outIf() const { return outIf_; }
  uint64_t seed() const { return seed_; }

  LinkParams params() const;
  // Sets both the current settings and the "reset" baseline (the start-up profile).
  void setBaseline(const LinkParams& p);
  // Applies tokens ("key=value", "down", "up", "reset"). On success `undo` (if given) gets
  // tokens restoring the changed keys to their previous values.
  Status apply(const std::vector<std::string>& tokens, std::vector<std::string>* undo);
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

  Counters counters;

 private:
  std::string link_, dir_, inIf_, outIf_;
  uint64_t seed_;
  mutable std::mutex mu_;
  LinkParams params_;
  LinkParams baseline_;
  std::atomic<uint64_t> version_{1};
};

struct Link {
  std::string name;
  std::string ifA, ifB;  // "ab" flows from ifA to ifB
  std::unique_ptr<Direction> ab, ba;
};

// Per-direction seed derived from the run seed, the link's position and the direction.
uint64_t directionSeed(uint64_t runSeed, size_t linkIndex, int dir);

class Controller {
 public:
  // `notify` wakes the workers after a change (so a blackout flushes at once).
  Controller(std::vector<std::unique_ptr<Link>>& links, uint64_t seed,
             std::function<void()> notify);

  // One request (first line: command; "run" takes the scenario text on following lines).
  // Replies that start with "ERR " are errors.
  std::string execute(std::string_view request, TimePoint now);

  // Applies `words` (as in "set") to `target`; "for D" schedules the revert.
  Status set(std::string_view target, const std::vector<std::string>& words, TimePoint now);
  Status runScenario(std::vector<ScenarioEvent> events, TimePoint now);
  void stopScenario();
  bool scenarioRunning() const { return !scenarioTimers_.empty(); }

  TimerQueue& timers() { return timers_; }
  Status resolve(std::string_view target, std::vector<Direction*>& out);
  std::string show(std::string_view target);

 private:
  Status applyNow(const std::vector<Direction*>& dirs, const std::vector<std::string>& tokens,
                  std::optional<Duration> revertAfter, TimePoint now, bool scenario);

  std::vector<std::unique_ptr<Link>>& links_;
  uint64_t seed_;
  std::function<void()> notify_;
  TimerQueue timers_;
  std::vector<TimerId> scenarioTimers_;
  size_t scenarioEvents_ = 0, scenarioDone_ = 0;
};

}  // namespace braid::wanem
