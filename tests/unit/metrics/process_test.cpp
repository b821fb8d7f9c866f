// Build info and /proc process metrics: exact parsing of synthetic /proc text, plausibility of
// this process's own figures.
#include "metrics/process.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>

namespace braid::metrics {
namespace {

TEST(Process, ParsesStatWithAwkwardCommandName) {
  // Fields 14/15 utime/stime = 250/150 ticks, 22 starttime = 1000 ticks, 23 vsize, 24 rss.
  std::string stat =
      "1234 (a (b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 1 0 1000 "
      "104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  auto p = parseProcStat(stat, 100, 4096, 1'700'000'000);
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->cpuSeconds, 4.0);
  EXPECT_DOUBLE_EQ(p->startTimeSeconds, 1'700'000'010.0);
  EXPECT_EQ(p->virtualBytes, 104857600u);
  EXPECT_EQ(p->residentBytes, 2560u * 4096u);
  EXPECT_FALSE(parseProcStat("1234 (x) S 1 2 3", 100, 4096, 0));
  EXPECT_FALSE(parseProcStat("no parenthesis", 100, 4096, 0));
}

TEST(Process, ParsesBootTime) {
  EXPECT_EQ(parseBootTime("cpu  1 2 3\nintr 5\nbtime 1765000000\nprocesses 9\n"), 1765000000.0);
  EXPECT_FALSE(parseBootTime("cpu 1\nprocesses 9\n"));
  EXPECT_FALSE(parseBootTime("btime x\n"));
}

TEST(Process, OwnFiguresArePlausible) {
  auto p = readProcessStats();
  ASSERT_TRUE(p);
  double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // This test process started within the last day (generous), and not in the future beyond
  // clock-tick and boot-time rounding.
  EXPECT_LE(p->startTimeSeconds, now + 2);
  EXPECT_GE(p->startTimeSeconds, now - 86400);
  EXPECT_GE(p->cpuSeconds, 0);
  EXPECT_LT(p->cpuSeconds, 86400);
  EXPECT_GT(p->residentBytes, 512u * 1024);
  EXPECT_LT(p->residentBytes, 64ull << 30);
  EXPECT_GE(p->virtualBytes, p->residentBytes);
  EXPECT_GT(p->maxFds, 0u);
  // Opening a descriptor is seen exactly.
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto q = readProcessStats();
  close(fd);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->openFds, p->openFds + 1);
  auto r = readProcessStats();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->openFds, p->openFds);
}

TEST(Process, BuildInfo) {
  Registry r;
  ASSERT_TRUE(addBuildInfo(r, {{"version", "0.1.0"}}));
  EXPECT_EQ(r.prometheus(),
            "# HELP braid_build_info Build information; the value is always 1.\n"
            "# TYPE braid_build_info gauge\n"
            "braid_build_info{version=\"0.1.0\"} 1\n");
  EXPECT_EQ(r.openMetrics(),
            "# HELP braid_build Build information; the value is always 1.\n"
            "# TYPE braid_build info\n"
            "braid_build_info{version=\"0.1.0\"} 1\n"
            "# EOF\n");
  EXPECT_EQ(r.statsFile(), "build_info 1\n");
  EXPECT_FALSE(addBuildInfo(r, {{"version", "0.1.0"}}));  // registered once
}

TEST(Process, TableExposesStandardNames) {
  Registry r;
  auto m = StructMetrics<ProcessStats>::add(r, kProcessFields);
  ASSERT_TRUE(m) << m.status().message();
  ProcessStats p{.cpuSeconds = 1.5,
                 .residentBytes = 4096,
                 .virtualBytes = 8192,
                 .openFds = 7,
                 .maxFds = 1024,
                 .startTimeSeconds = 1765000000.25};
  m->update(r, p);
  std::string t = r.prometheus();
  for (const char* line :
       {"process_cpu_seconds_total 1.5\n", "process_resident_memory_bytes 4096\n",
        "process_open_fds 7\n", "process_start_time_seconds 1765000000.25\n",
        "# TYPE process_cpu_seconds_total counter\n"}) {
    EXPECT_NE(t.find(line), std::string::npos) << line;
  }
  EXPECT_NE(r.openMetrics().find("# UNIT process_cpu_seconds seconds\n"), std::string::npos);
}

}  // namespace
}  // namespace braid::metrics
