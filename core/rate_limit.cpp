#include "core/rate_limit.hpp"

#include <algorithm>

namespace braid {

bool LogRateLimiter::allow(TimePoint now) {
  if (!started_ || now - windowStart_ >= interval_ || now < windowStart_) {
    started_ = true;
    windowStart_ = now;
    used_ = 0;
  }
  if (used_ < lines_) {
    ++used_;
    return true;
  }
  ++pending_;
  ++total_;
  if (counter_ != nullptr) ++*counter_;
  return false;
}

uint64_t LogRateLimiter::takeSuppressed() {
  uint64_t n = pending_;
  pending_ = 0;
  return n;
}

bool LogRateLimiter::allowLog(TimePoint now, LogLevel level, std::string_view component) {
  if (!allow(now)) return false;
  if (uint64_t n = takeSuppressed(); n > 0) {
    LogLine(level, component) << what_ << ": " << n << " similar line" << (n == 1 ? "" : "s")
                              << " suppressed";
  }
  return true;
}

bool TokenBucket::take(TimePoint now, double rate, double burst) {
  if (now > last_) {
    double add = std::chrono::duration<double>(now - last_).count() * rate;
    tokens_ = std::min(burst, tokens_ + add);
  }
  last_ = std::max(last_, now);
  if (tokens_ >= 1) {
    tokens_ -= 1;
    return true;
  }
  return false;
}

}  // namespace braid
