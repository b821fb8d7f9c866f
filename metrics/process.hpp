// Build info and the standard process metrics (process_cpu_seconds_total, ...), read from
// /proc at scrape time (proc(5)). Reading /proc is local file I/O, no network.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "metrics/descriptor.hpp"
#include "metrics/registry.hpp"

namespace braid::metrics {

struct ProcessStats {
  double cpuSeconds = 0;  // user + system
  uint64_t residentBytes = 0;
  uint64_t virtualBytes = 0;
  uint64_t openFds = 0;
  uint64_t maxFds = 0;          // RLIMIT_NOFILE soft limit
  double startTimeSeconds = 0;  // since the Unix epoch
};

// Parses /proc/<pid>/stat (fields 14/15 utime/stime, 22 starttime in clock ticks since
// boot, 23 vsize, 24 rss in pages). The command name may hold spaces and parentheses: fields
// are counted after its last ')'.
std::optional<ProcessStats> parseProcStat(std::string_view stat, double ticksPerSecond,
                                          uint64_t pageSize, double bootTimeSeconds);
// The "btime" line of /proc/stat: boot time, seconds since the epoch.
std::optional<double> parseBootTime(std::string_view procStat);

// Reads this process's figures from /proc/self and /proc/stat.
std::optional<ProcessStats> readProcessStats();

// Standard names (Prometheus client conventions), without the braid_ prefix.
inline constexpr std::array<Field<ProcessStats>, 6> kProcessFields = {{
    {.name = "process_cpu_seconds_total",
     .help = "Total user and system CPU time spent in seconds.",
     .type = Type::kCounter,
     .unit = "seconds",
     .getter = [](const ProcessStats& p) { return p.cpuSeconds; },
     .statsKey = "process.cpu_seconds"},
    {.name = "process_resident_memory_bytes",
     .help = "Resident memory size in bytes.",
     .type = Type::kGauge,
     .unit = "bytes",
     .member = &ProcessStats::residentBytes,
     .statsKey = "process.resident_memory_bytes"},
    {.name = "process_virtual_memory_bytes",
     .help = "Virtual memory size in bytes.",
     .type = Type::kGauge,
     .unit = "bytes",
     .member = &ProcessStats::virtualBytes,
     .statsKey = "process.virtual_memory_bytes"},
    {.name = "process_open_fds",
     .help = "Number of open file descriptors.",
     .type = Type::kGauge,
     .member = &ProcessStats::openFds,
     .statsKey = "process.open_fds"},
    {.name = "process_max_fds",
     .help = "Maximum number of open file descriptors.",
     .type = Type::kGauge,
     .member = &ProcessStats::maxFds,
     .statsKey = "process.max_fds"},
    {.name = "process_start_time_seconds",
     .help = "Start time of the process since unix epoch in seconds.",
     .type = Type::kGauge,
     .unit = "seconds",
     .getter = [](const ProcessStats& p) { return p.startTimeSeconds; },
     .statsKey = "process.start_time_seconds"},
}};

// braid_build_info{version="...",...} 1 (type info in OpenMetrics, gauge in 0.0.4).
Status addBuildInfo(Registry& r, const InstanceLabels& labels);

}  // namespace braid::metrics
