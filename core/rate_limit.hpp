// Rate limits for input nobody authenticated: a log-line limiter, so a flood cannot fill the
// logs, and a token bucket per key (source address) in a bounded table, so a flood cannot
// fill memory either. Both take `now` from the caller (simulated time in tests).
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/log.hpp"

namespace braid {

// At most `lines` lines per `interval` (a fixed window opened by the first line). Lines over
// the limit are counted; the next allowed line is preceded by "<what>: N similar lines
// suppressed". Use through BRAID_LOG_LIMITED, or allow() + takeSuppressed() directly.
class LogRateLimiter {
 public:
  // `counter`, if set, is bumped for every suppressed line (e.g. a component's counters).
  explicit LogRateLimiter(std::string what, uint32_t lines = 10,
                          Duration interval = std::chrono::seconds(60), uint64_t* counter = nullptr)
      : what_(std::move(what)), lines_(lines), interval_(interval), counter_(counter) {}

  // True if a line may be logged at `now`; false counts it as suppressed.
  bool allow(TimePoint now);
  // Lines suppressed since the last call (reset to 0); allow() callers report it.
  uint64_t takeSuppressed();
  // Lines suppressed in total.
  uint64_t suppressed() const { return total_; }
  // allow(); when allowed and lines were suppressed, first logs the "N similar lines
  // suppressed" line at `level` for `component`.
  bool allowLog(TimePoint now, LogLevel level, std::string_view component);

 private:
  std::string what_;
  uint32_t lines_;
  Duration interval_;
  uint64_t* counter_;
  TimePoint windowStart_{};
  uint32_t used_ = 0;
  bool started_ = false;
  uint64_t pending_ = 0, total_ = 0;
};

// A token bucket: `rate` tokens per second, at most `burst` stored.
class TokenBucket {
 public:
  TokenBucket(TimePoint now, double burst) : tokens_(burst), last_(now) {}
  bool take(TimePoint now, double rate, double burst);

 private:
  double tokens_;
  TimePoint last_;
};

// One token bucket per key, at most `maxKeys` of them: a new key beyond that evicts the
// least recently used one (which then starts again with a full bucket), so memory is bounded
// whatever keys arrive. Keys need operator<.
template <typename Key>
class KeyedRateLimiter {
 public:
  KeyedRateLimiter(double ratePerSecond, double burst, size_t maxKeys)
      : rate_(ratePerSecond), burst_(burst < 1 ? 1 : burst), maxKeys_(maxKeys ? maxKeys : 1) {}

  bool allow(const Key& key, TimePoint now) {
    auto it = index_.find(key);
    if (it == index_.end()) {
      if (index_.size() >= maxKeys_) {
        index_.erase(lru_.back().key);
        lru_.pop_back();
        ++evictions_;
      }
      lru_.push_front(Entry{key, TokenBucket(now, burst_)});
      it = index_.emplace(key, lru_.begin()).first;
    } else {
      lru_.splice(lru_.begin(), lru_, it->second);
    }
    return it->second->bucket.take(now, rate_, burst_);
  }
  size_t size() const { return index_.size(); }
  size_t maxKeys() const { return maxKeys_; }
  uint64_t evictions() const { return evictions_; }

 private:
  struct Entry {
    Key key;
    TokenBucket bucket;
  };
  double rate_, burst_;
  size_t maxKeys_;
  std::list<Entry> lru_;  // most recently used first
  std::map<Key, typename std::list<Entry>::iterator> index_;
  uint64_t evictions_ = 0;
};

}  // namespace braid

// BRAID_LOG at `level` if the limiter allows it now, e.g.
//   BRAID_LOG_LIMITED(initLog_, now, kWarn, "ike") << "IKE_SA_INIT from " << addr << ": ...";
#define BRAID_LOG_LIMITED(limiter, now, level, component)               \
  if (!::braid::Logger::instance().enabled(::braid::LogLevel::level) || \
      !(limiter).allowLog((now), ::braid::LogLevel::level, component))  \
    ;                                                                   \
  else                                                                  \
    ::braid::LogLine(::braid::LogLevel::level, component)
