// The receive side of bonding (edge/rx_reorder.hpp) in simulated time: in-order packets
// pass with no copy, early ones are copied and wait for their gap or their hold, late ones
// are still delivered, restarts, pool exhaustion, and a differential test against sorting.
#include "edge/rx_reorder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <random>

namespace braid::edge {
namespace {

using namespace std::chrono_literals;

struct Out {
  uint32_t tag;
  const uint8_t* at;
};

class ReorderStageTest : public ::testing::Test {
 protected:
  ReorderStage stage{2, 50ms, [this](uint8_t* ip, size_t len) {
                       uint32_t tag = 0;
                       EXPECT_EQ(len, 64u);
                       std::memcpy(&tag, ip, 4);
                       // The TUN writer puts its virtio header in front: it must be ours.
                       std::memset(ip - ReorderStage::kHeadroom, 0, ReorderStage::kHeadroom);
                       out.push_back({tag, ip});
                     }};
  std::vector<Out> out;
  TimePoint t0{std::chrono::seconds(1000)};

  // A 64-byte packet (with headroom in front) tagged with `tag`, pushed as number `seq`.
  uint8_t* push(size_t peer, policy::ClassId cls, uint64_t seq, uint32_t tag, TimePoint now) {
    auto& b = rx.emplace_back(ReorderStage::kHeadroom + 64, 0xee);
    uint8_t* ip = b.data() + ReorderStage::kHeadroom;
    std::memcpy(ip, &tag, 4);
    stage.push(peer, cls, seq, ip, 64, now);
    return ip;
  }
  std::vector<uint32_t> tags() const {
    std::vector<uint32_t> t;
    for (const Out& o : out) t.push_back(o.tag);
    return t;
  }
  RxCounters counters() const {
    RxCounters c;
    stage.addTo(c);
    return c;
  }
  std::deque<std::vector<uint8_t>> rx;  // stable addresses, like the RX buffers
};

TEST_F(ReorderStageTest, InOrderPacketsPassStraightThroughWithoutACopy) {
  for (uint32_t i = 0; i < 5; ++i) {
    const uint8_t* ip = push(0, 3, 100 + i, i, t0);
    ASSERT_EQ(out.size(), i + 1);
    EXPECT_EQ(out.back().at, ip);  // delivered from the RX buffer itself
  }
  EXPECT_EQ(stage.waiting(), 0u);
  EXPECT_FALSE(stage.nextDeadline().has_value());
  EXPECT_EQ(counters().reorderBuffered, 0u);
  EXPECT_TRUE(stage.ordered(0, 3));
  EXPECT_FALSE(stage.ordered(0, 4));
  EXPECT_FALSE(stage.ordered(1, 3));
}

TEST_F(ReorderStageTest, AnEarlyPacketIsCopiedAndReleasedInOrderWhenItsGapFills) {
  push(0, 1, 10, 10, t0);
  uint8_t* early = push(0, 1, 12, 12, t0 + 1ms);
  uint8_t* early2 = push(0, 1, 13, 13, t0 + 2ms);
  EXPECT_EQ(tags(), (std::vector<uint32_t>{10}));
  EXPECT_EQ(stage.waiting(), 2u);
  EXPECT_EQ(stage.nextDeadline(), t0 + 1ms + 50ms);
  // The RX buffers are reused by the next batch: the stage must hold its own copy.
  std::memset(early, 0xab, 64);
  std::memset(early2, 0xab, 64);
  push(0, 1, 11, 11, t0 + 3ms);
  EXPECT_EQ(tags(), (std::vector<uint32_t>{10, 11, 12, 13}));
  EXPECT_NE(out[2].at, early);
  EXPECT_EQ(stage.waiting(), 0u);
  RxCounters c = counters();
  EXPECT_EQ(c.reorderBuffered, 2u);
  EXPECT_EQ(c.reorderGaps, 0u);
  EXPECT_EQ(c.reorderTimeouts, 0u);
}

TEST_F(ReorderStageTest, AHoldEndGivesUpTheGapAndALatePacketIsStillDelivered) {
  push(0, 1, 1, 1, t0);
  push(0, 1, 3, 3, t0 + 5ms);
  stage.onTimer(t0 + 54ms);  // 1 ms before the hold ends
  EXPECT_EQ(tags(), (std::vector<uint32_t>{1}));
  stage.onTimer(t0 + 55ms);
  EXPECT_EQ(tags(), (std::vector<uint32_t>{1, 3}));
  EXPECT_FALSE(stage.nextDeadline().has_value());
  push(0, 1, 2, 2, t0 + 60ms);  // after its gap was given up: out of order, not dropped
  EXPECT_EQ(tags(), (std::vector<uint32_t>{1, 3, 2}));
  RxCounters c = counters();
  EXPECT_EQ(c.reorderGaps, 1u);
  EXPECT_EQ(c.reorderTimeouts, 1u);
  EXPECT_EQ(c.reorderLate, 1u);
}

TEST_F(ReorderStageTest, TheHoldFollowsThePeerAndAppliesToWaitingPackets) {
  stage.setHold(0, 200ms);
  push(0, 1, 1, 1, t0);
  push(0, 1, 3, 3, t0);
  push(1, 1, 1, 1, t0);
  push(1, 1, 3, 33, t0);
  EXPECT_EQ(stage.nextDeadline(), t0 + 50ms);  // peer 1 keeps the default
  stage.onTimer(t0 + 50ms);
  EXPECT_EQ(tags(), (std::vector<uint32_t>{1, 1, 33}));
  stage.setHold(0, 20ms);  // shorter now: the waiting packet is already due
  EXPECT_EQ(stage.nextDeadline(), t0 + 20ms);
  stage.onTimer(t0 + 50ms);
  EXPECT_EQ(tags(), (std::vector<uint32_t>{1, 1, 33, 3}));
}

TEST_F(ReorderStageTest, ARestartedSenderReleasesWhatWaitsAndStartsOver) {
  push(0, 7, 500, 500, t0);
  push(0, 7, 502, 502, t0);
  stage.restart(0, 7);
  EXPECT_EQ(tags(), (std::vector<uint32_t>{500, 502}));
  push(0, 7, 9, 9, t0);  // the new start, not a late packet
  push(0, 7, 10, 10, t0);
  EXPECT_EQ(tags(), (std::vector<uint32_t>{500, 502, 9, 10}));
  EXPECT_EQ(counters().reorderLate, 0u);
  stage.restart(1, 7);  // never ordered: nothing to do
}

TEST_F(ReorderStageTest, AnEmptyPoolPassesPacketsThroughAndCountsThem) {
  // Class 1 waits with a full ring (every number after its gap), class 2 takes the last
  // pool slot; class 2's next early packet finds none.
  const uint32_t ring = ReorderStage::kPerClass - 1;
  push(0, 1, 0, 0, t0);
  for (uint32_t i = 0; i < ring; ++i) push(0, 1, 2 + i, 2 + i, t0);
  push(0, 2, 0, 0, t0);
  push(0, 2, 2, 2, t0);
  ASSERT_EQ(stage.waiting(), ReorderStage::kPoolSlots);
  out.clear();
  push(0, 2, 3, 77, t0);  // early, no slot: delivered at once
  EXPECT_EQ(tags(), (std::vector<uint32_t>{77}));
  EXPECT_EQ(counters().reorderOverflows, 1u);
  // Class 1's gap fills: everything drains in order and the slots return.
  out.clear();
  push(0, 1, 1, 1, t0);
  ASSERT_EQ(out.size(), ring + 1);
  for (uint32_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i].tag, 1 + i);
  push(0, 2, 4, 4, t0);
  EXPECT_EQ(stage.waiting(), 2u);  // class 2's numbers 2 and 4: a slot again
}

// Differential: random loss and bounded displacement with a hold that never ends until
// the final timer; the stage must deliver exactly the surviving numbers, sorted, once.
TEST_F(ReorderStageTest, DeliversTheSurvivorsSortedWhateverTheArrivalOrder) {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    out.clear();
    rx.clear();
    ReorderStage s(1, std::chrono::hours(1), [this](uint8_t* ip, size_t) {
      uint32_t tag = 0;
      std::memcpy(&tag, ip, 4);
      out.push_back({tag, ip});
    });
    const uint32_t n = 200 + rng() % 800, maxShift = 1 + rng() % 300;
    const uint64_t base = uint64_t(rng()) << 8;
    std::vector<std::pair<double, uint32_t>> arrivals;
    std::vector<uint32_t> kept;
    for (uint32_t i = 0; i < n; ++i) {
      if (i > 0 && rng() % 100 < 5) continue;  // lost (the first one starts the buffer)
      kept.push_back(i);
      arrivals.push_back({i == 0 ? -1.0 : double(i) + double(rng() % maxShift), i});
    }
    std::sort(arrivals.begin(), arrivals.end());
    for (auto& [when, i] : arrivals) {
      auto& b = rx.emplace_back(ReorderStage::kHeadroom + 64, 0);
      std::memcpy(b.data() + ReorderStage::kHeadroom, &i, 4);
      s.push(0, 0, base + i, b.data() + ReorderStage::kHeadroom, 64, t0);
    }
    s.onTimer(t0 + std::chrono::hours(2));
    ASSERT_EQ(tags(), kept) << "round " << round;
    RxCounters c;
    s.addTo(c);
    // Every lost number before the last survivor was given up; later ones were never seen.
    EXPECT_EQ(c.reorderGaps, uint64_t(kept.back() + 1 - kept.size()));
    EXPECT_EQ(c.reorderLate, 0u);
  }
}

}  // namespace
}  // namespace braid::edge
