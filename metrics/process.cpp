#include "metrics/process.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <vector>

namespace braid::metrics {

namespace {

std::optional<std::string> slurp(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool toU64(std::string_view s, uint64_t& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

}  // namespace

std::optional<ProcessStats> parseProcStat(std::string_view stat, double ticksPerSecond,
                                          uint64_t pageSize, double bootTimeSeconds) {
  size_t close = stat.rfind(')');
  if (close == std::string_view::npos || ticksPerSecond <= 0) return std::nullopt;
  // Fields after "(comm)": field 3 (state) first.
  std::vector<std::string_view> f;
  std::string_view rest = stat.substr(close + 1);
  while (!rest.empty()) {
    size_t b = rest.find_first_not_of(" \n");
    if (b == std::string_view::npos) break;
    rest.remove_prefix(b);
    size_t e = rest.find_first_of(" \n");
    f.push_back(rest.substr(0, e));
    rest = e == std::string_view::npos ? std::string_view{} : rest.substr(e);
  }
  auto field = [&](size_t n, uint64_t& out) {
    return n >= 3 && n - 3 < f.size() && toU64(f[n - 3], out);
  };
  uint64_t utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
  if (!field(14, utime) || !field(15, stime) || !field(22, start) || !field(23, vsize) ||
      !field(24, rss)) {
    return std::nullopt;
  }
  ProcessStats p;
  p.cpuSeconds = static_cast<double>(utime + stime) / ticksPerSecond;
  p.startTimeSeconds = bootTimeSeconds + static_cast<double>(start) / ticksPerSecond;
  p.virtualBytes = vsize;
  p.residentBytes = rss * pageSize;
  return p;
}

std::optional<double> parseBootTime(std::string_view procStat) {
  size_t pos = 0;
  while (pos < procStat.size()) {
    size_t eol = procStat.find('\n', pos);
    std::string_view line = procStat.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
    if (line.starts_with("btime ")) {
      uint64_t v = 0;
      if (toU64(line.substr(6), v)) return static_cast<double>(v);
      return std::nullopt;
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  return std::nullopt;
}

std::optional<ProcessStats> readProcessStats() {
  auto stat = slurp("/proc/self/stat");
  auto procStat = slurp("/proc/stat");
  if (!stat || !procStat) return std::nullopt;
  auto boot = parseBootTime(*procStat);
  long ticks = sysconf(_SC_CLK_TCK);
  long page = sysconf(_SC_PAGESIZE);
  if (!boot || ticks <= 0 || page <= 0) return std::nullopt;
  auto p = parseProcStat(*stat, static_cast<double>(ticks), static_cast<uint64_t>(page), *boot);
  if (!p) return std::nullopt;
  if (DIR* d = opendir("/proc/self/fd")) {
    uint64_t n = 0;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
    p->openFds = n > 0 ? n - 1 : 0;  // less the descriptor opendir itself holds
  }
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) p->maxFds = rl.rlim_cur;
  return p;
}

Status addBuildInfo(Registry& r, const InstanceLabels& labels) {
  FamilyDesc d{
      "braid_build_info", "Build information; the value is always 1.", Type::kInfo, "", {}, {}};
  std::vector<std::string> values;
  for (auto& [k, v] : labels) {
    d.labelNames.push_back(k);
    values.push_back(v);
  }
  auto fam = r.addFamily(std::move(d));
  if (!fam) return fam.status();
  auto s = r.addSeries(*fam, std::move(values), "build_info");
  if (!s) return s.status();
  return {};
}

}  // namespace braid::metrics
