// Levelled logging. One line per event, prefixed with level and component, e.g.
//   BRAID_LOG(kWarn, "ike") << "peer " << addr << ": AUTHENTICATION_FAILED";
// The sink is replaceable so tests can assert on log lines.
#pragma once

#include <functional>
#include <sstream>
#include <string>
#include <string_view>

namespace braid {

enum class LogLevel { kTrace = 0, kDebug, kInfo, kWarn, kError, kOff };

std::string_view logLevelName(LogLevel level);
bool parseLogLevel(std::string_view text, LogLevel& out);

using LogSink = std::function<void(LogLevel, std::string_view component, std::string_view line)>;

class Logger {
 public:
  static Logger& instance();
  void setLevel(LogLevel level) { level_ = level; }
  LogLevel level() const { return level_; }
  bool enabled(LogLevel level) const { return level >= level_ && level_ != LogLevel::kOff; }
  // Replaces the sink; an empty function restores the default (stderr with timestamp).
  void setSink(LogSink sink);
  void write(LogLevel level, std::string_view component, std::string_view line);

 private:
  LogLevel level_ = LogLevel::kInfo;
  LogSink sink_;
};

class LogLine {
 public:
  LogLine(LogLevel level, std::string_view component) : level_(level), component_(component) {}
  ~LogLine() { Logger::instance().write(level_, component_, stream_.str()); }
  template <typename T>
  LogLine& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }

 private:
  LogLevel level_;
  std::string_view component_;
  std::ostringstream stream_;
};

}  // namespace braid

#define BRAID_LOG(level, component)                                   \
  if (!::braid::Logger::instance().enabled(::braid::LogLevel::level)) \
    ;                                                                 \
  else                                                                \
    ::braid::LogLine(::braid::LogLevel::level, component)
