// ReplayWindow: edge cases, a differential test against a slow reference, and ESN
// inference (RFC 4303 appendix A2.2).
#include "ipsec/replay_window.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace braid::ipsec {
namespace {

// The same window semantics, written the obvious way: every seen number in a set.
class ReferenceWindow {
 public:
  explicit ReferenceWindow(uint64_t size) : size_(size) {}
  bool check(uint64_t seq) const {
    if (seq == 0) return false;
    if (seq > top_) return true;
    if (top_ - seq >= size_) return false;
    return seen_.count(seq) == 0;
  }
  bool update(uint64_t seq) {
    if (!check(seq)) return false;
    seen_.insert(seq);
    if (seq > top_) {
      top_ = seq;
      // Forget what can never be asked about again, to keep the set small.
      if (top_ > 2 * size_) seen_.erase(seen_.begin(), seen_.lower_bound(top_ - 2 * size_));
    }
    return true;
  }
  uint64_t top() const { return top_; }

 private:
  uint64_t size_;
  uint64_t top_ = 0;
  std::set<uint64_t> seen_;
};

TEST(ReplayWindow, SizeIsRoundedAndClamped) {
  EXPECT_EQ(ReplayWindow(0).size(), 64u);
  EXPECT_EQ(ReplayWindow(1).size(), 64u);
  EXPECT_EQ(ReplayWindow(64).size(), 64u);
  EXPECT_EQ(ReplayWindow(65).size(), 128u);
  EXPECT_EQ(ReplayWindow(1000).size(), 1024u);
  EXPECT_EQ(ReplayWindow(4096).size(), 4096u);
  EXPECT_EQ(ReplayWindow(5000).size(), 4096u);
  EXPECT_EQ(ReplayWindow(UINT32_MAX).size(), 4096u);
}

TEST(ReplayWindow, ZeroIsNeverAccepted) {
  ReplayWindow w(64);
  EXPECT_FALSE(w.check(0));
  EXPECT_FALSE(w.update(0));
  EXPECT_TRUE(w.update(1));
  EXPECT_FALSE(w.update(1));
}

TEST(ReplayWindow, EdgesOfTheWindow) {
  for (uint32_t size : {64u, 128u, 1024u, 4096u}) {
    ReplayWindow w(size);
    const uint64_t top = 10 * uint64_t{size} + 37;
    ASSERT_TRUE(w.update(top));
    EXPECT_EQ(w.highest(), top);
    EXPECT_FALSE(w.check(top - size));     // just outside
    EXPECT_TRUE(w.check(top - size + 1));  // oldest inside
    EXPECT_TRUE(w.update(top - size + 1));
    EXPECT_FALSE(w.check(top - size + 1));
    // Moving by exactly one block, by the window size and by far more.
    EXPECT_TRUE(w.update(top + 64));
    EXPECT_FALSE(w.check(top - size + 64));
    EXPECT_TRUE(w.check(top - size + 65));
    EXPECT_FALSE(w.check(top));  // still remembered
    EXPECT_TRUE(w.update(top + 64 + size));
    EXPECT_FALSE(w.check(top + 64));  // now just outside
    EXPECT_TRUE(w.update(uint64_t{1} << 40));
    for (uint64_t s = (uint64_t{1} << 40) - size + 1; s < (uint64_t{1} << 40); ++s) {
      ASSERT_TRUE(w.check(s)) << s;  // stale bits were all cleared
    }
  }
}

TEST(ReplayWindow, DoesNotAliasAcrossTheRing) {
  // Numbers one ring length apart share a block index: a seen number must not make its
  // alias look seen after the window moved, nor the other way round.
  ReplayWindow w(64);
  for (uint64_t s = 1; s <= 64; ++s) ASSERT_TRUE(w.update(s));
  for (uint64_t s = 65; s <= 400; ++s) {
    ASSERT_TRUE(w.check(s)) << s;
    ASSERT_TRUE(w.update(s)) << s;
    ASSERT_FALSE(w.check(s - 1)) << s;
  }
}

struct PropertyCase {
  uint32_t size;
  uint32_t seed;
};

class ReplayWindowProperty : public ::testing::TestWithParam<PropertyCase> {};

TEST_P(ReplayWindowProperty, AgreesWithReference) {
  const auto [size, seed] = GetParam();
  ReplayWindow w(size);
  ReferenceWindow ref(w.size());
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> recent;
  auto pick = [&](uint64_t n) { return n == 0 ? 0 : rng() % n; };
  for (int step = 0; step < 200000; ++step) {
    const uint64_t top = ref.top();
    uint64_t seq;
    switch (pick(10)) {
      case 0:
      case 1:
      case 2:
        seq = top + 1;  // in order
        break;
      case 3:
      case 4:
        seq = top + 1 + pick(8);  // small gap
        break;
      case 5:
      case 6:
        seq = top > 0 ? top - pick(std::min<uint64_t>(top, w.size() + 70)) : 1;  // reordered
        break;
      case 7:
        seq = recent.empty() ? top : recent[pick(recent.size())];  // duplicate
        break;
      case 8:
        seq = top + pick(pick(3) == 0 ? 40 * uint64_t{w.size()} : 3 * uint64_t{w.size()});
        break;
      default:
        seq = pick(100) == 0 ? top + pick(uint64_t{1} << 33) : top - pick(top / 2 + 1);
        break;
    }
    ASSERT_EQ(w.check(seq), ref.check(seq)) << "step " << step << " seq " << seq;
    if (pick(4) != 0) {  // sometimes check only, as when the ICV fails
      ASSERT_EQ(w.update(seq), ref.update(seq)) << "step " << step << " seq " << seq;
    }
    ASSERT_EQ(w.highest(), ref.top());
    recent.push_back(seq);
    if (recent.size() > 256) recent.erase(recent.begin(), recent.begin() + 128);
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, ReplayWindowProperty,
                         ::testing::Values(PropertyCase{64, 1}, PropertyCase{64, 2},
                                           PropertyCase{64, 3}, PropertyCase{1024, 4},
                                           PropertyCase{1024, 5}, PropertyCase{4096, 6},
                                           PropertyCase{4096, 7}, PropertyCase{200, 8}),
                         [](const auto& info) {
                           return "w" + std::to_string(info.param.size) + "_seed" +
                                  std::to_string(info.param.seed);
                         });

TEST(ReplayWindowEsn, InfersHighHalfNearTheWindow) {
  for (uint32_t size : {64u, 1024u, 4096u}) {
    std::mt19937_64 rng(size);
    for (int i = 0; i < 20000; ++i) {
      // Tops around 32-bit boundaries and anywhere; numbers from the window's left edge to
      // 2^32 - W ahead (the range appendix A2.2 resolves).
      uint64_t top;
      switch (i % 4) {
        case 0:
          top = (rng() % 16 + 1) << 32 | (rng() % (2 * size));
          break;
        case 1:
          top = ((rng() % 16 + 1) << 32) - 1 - rng() % (2 * size);
          break;
        case 2:
          top = rng() % (2 * size) + 1;
          break;
        default:
          top = rng() >> 2;
          break;
      }
      ReplayWindow w(size);
      ASSERT_TRUE(w.update(top));
      const uint64_t lo = top >= size ? top - size + 1 : 1;
      const uint64_t span = top + (uint64_t{1} << 32) - size - lo;
      uint64_t seq;
      switch (rng() % 3) {
        case 0:
          seq = lo + rng() % (top - lo + 1);  // inside the window
          break;
        case 1:
          seq = top + 1 + rng() % 1000;  // just ahead
          break;
        default:
          seq = lo + rng() % (span + 1);  // anywhere in range
          break;
      }
      ASSERT_EQ(w.inferEsn(static_cast<uint32_t>(seq)), seq)
          << "size " << size << " top " << top << " seq " << seq;
    }
  }
}

TEST(ReplayWindowEsn, KnownCases) {
  ReplayWindow w(64);
  EXPECT_EQ(w.inferEsn(1), 1u);                    // fresh SA
  EXPECT_EQ(w.inferEsn(0xFFFFFFF0), 0xFFFFFFF0u);  // nothing precedes subspace 0
  ASSERT_TRUE(w.update(0x1FFFFFFF0));
  EXPECT_EQ(w.inferEsn(0xFFFFFFF5), 0x1FFFFFFF5u);
  EXPECT_EQ(w.inferEsn(0x00000003), 0x200000003u);  // wrapped into the next subspace
  ASSERT_TRUE(w.update(0x200000003));
  EXPECT_EQ(w.inferEsn(0xFFFFFFF5), 0x1FFFFFFF5u);  // window spans the boundary (case B)
  EXPECT_EQ(w.inferEsn(0x00000002), 0x200000002u);
  EXPECT_EQ(w.inferEsn(0x7FFFFFFF), 0x27FFFFFFFu);
  // At the very top of the space the high half cannot grow.
  ReplayWindow top(64);
  ASSERT_TRUE(top.update(0xFFFFFFFFFFFFFFF0));
  EXPECT_EQ(top.inferEsn(0xFFFFFFFF), 0xFFFFFFFFFFFFFFFFu);
  EXPECT_FALSE(top.check(top.inferEsn(0x00000001)));
}

}  // namespace
}  // namespace braid::ipsec
