#include "core/log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace braid {

std::string_view logLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
    case LogLevel::kOff:
      return "off";
  }
  return "?";
}

bool parseLogLevel(std::string_view text, LogLevel& out) {
  for (LogLevel l : {LogLevel::kTrace, LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn,
                     LogLevel::kError, LogLevel::kOff}) {
    if (logLevelName(l) == text) {
      out = l;
      return true;
    }
  }
  return false;
}

Logger& Logger::instance() {
  static Logger logger;
  return logger;
}

void Logger::setSink(LogSink sink) {
  sink_ = std::move(sink);
}

void Logger::write(LogLevel level, std::string_view component, std::string_view line) {
  if (sink_) {
    sink_(level, component, line);
    return;
  }
  static std::mutex mu;
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[32];
  std::strftime(ts, sizeof ts, "%H:%M:%S", &tm);
  std::lock_guard lock(mu);
  std::fprintf(stderr, "%s.%03d %-5.*s [%.*s] %.*s\n", ts, static_cast<int>(ms.count()),
               static_cast<int>(logLevelName(level).size()), logLevelName(level).data(),
               static_cast<int>(component.size()), component.data(), static_cast<int>(line.size()),
               line.data());
}

}  // namespace braid
