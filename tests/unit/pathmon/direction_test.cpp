// The replies' receive counts: a supervisor answering the peer's probes reports how many it
// received on the path and the bytes edge counted there.
#include <gtest/gtest.h>

#include <vector>

#include "pathmon/supervisor.hpp"

namespace braid::pathmon {
namespace {

using std::chrono::seconds;

// ---- The replier's counts ----

class Capture : public ProbeTransport, public PathListener {
 public:
  void sendProbe(PathId, Bytes shim) override { sent.emplace_back(shim.begin(), shim.end()); }
  void onPathEvent(const PathEvent&) override {}
  std::vector<std::vector<uint8_t>> sent;
};

ProbeMessage answer(PathSupervisor& sup, Capture& cap, PathId path, uint32_t seq) {
  ProbeMessage probe{ProbeType::kProbe, 9, seq, 1000 * uint64_t{seq}, 0, 0};
  std::array<uint8_t, kProbeSize> buf{};
  ByteWriter w(buf);
  EXPECT_TRUE(encodeProbe(probe, w));
  const size_t before = cap.sent.size();
  EXPECT_TRUE(sup.onProbeBytes(path, buf, TimePoint{} + seconds(1)));
  ProbeMessage reply;
  EXPECT_EQ(cap.sent.size(), before + 1);
  if (cap.sent.size() == before + 1) {
    EXPECT_EQ(cap.sent.back().size(), kProbeMaxSize);
    EXPECT_TRUE(decodeProbe(cap.sent.back(), reply));
  }
  return reply;
}

TEST(PathReplier, RepliesCarryTheRunningCounts) {
  ManualClock clock(TimePoint{} + seconds(1));
  TimerQueue timers;
  Capture cap;
  PathSupervisor sup(clock, timers, cap, cap);
  sup.addPath(3, PathConfig{});  // Down: the peer's probes are answered all the same
  for (uint32_t i = 1; i <= 3; ++i) {
    sup.setByteCounts(3, 111, 5000 + 100 * uint64_t{i});
    const ProbeMessage r = answer(sup, cap, 3, 40 + i);
    EXPECT_EQ(r.type, ProbeType::kReply);
    EXPECT_EQ(r.seq, 40 + i);
    EXPECT_TRUE(r.hasRxCounts);
    EXPECT_EQ(r.rxProbes, i);
    EXPECT_EQ(r.rxBytes, 5000 + 100 * uint64_t{i});
  }
  // The path added again (keyed anew with the shim): its count starts from 0, which the
  // prober takes for a restart.
  sup.addPath(3, PathConfig{});
  const ProbeMessage r = answer(sup, cap, 3, 50);
  EXPECT_EQ(r.rxProbes, 1u);
  EXPECT_EQ(r.rxBytes, 0u);
}

}  // namespace
}  // namespace braid::pathmon
