// DedupWindow: window edges and a differential test against a set-based reference.
#include "policy/dedup.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace braid::policy {
namespace {

TEST(DedupWindow, SizesAndEdges) {
  EXPECT_EQ(DedupWindow(0).size(), 64u);
  EXPECT_EQ(DedupWindow(100).size(), 128u);
  EXPECT_EQ(DedupWindow(1u << 20).size(), DedupWindow::kMaxSize);
  DedupWindow w(64);
  EXPECT_EQ(w.accept(0), DedupVerdict::kNew);  // 0 is a valid first number
  EXPECT_EQ(w.accept(0), DedupVerdict::kDuplicate);
  EXPECT_EQ(w.accept(100), DedupVerdict::kNew);
  EXPECT_EQ(w.accept(37), DedupVerdict::kNew);  // 100 - 37 = 63 < 64: inside
  EXPECT_EQ(w.accept(36), DedupVerdict::kTooOld);
  EXPECT_EQ(w.accept(37), DedupVerdict::kDuplicate);
  EXPECT_EQ(w.check(99), DedupVerdict::kNew);
  EXPECT_EQ(w.accept(1000000), DedupVerdict::kNew);  // a jump clears everything
  EXPECT_EQ(w.accept(999999), DedupVerdict::kNew);
  EXPECT_EQ(w.counters().accepted, 5u);
  EXPECT_EQ(w.counters().duplicates, 2u);
  EXPECT_EQ(w.counters().tooOld, 1u);
}

class ReferenceDedup {
 public:
  explicit ReferenceDedup(uint64_t size) : size_(size) {}
  DedupVerdict accept(uint64_t s) {
    if (any_ && s <= top_ && top_ - s >= size_) return DedupVerdict::kTooOld;
    if (seen_.count(s)) return DedupVerdict::kDuplicate;
    seen_.insert(s);
    if (!any_ || s > top_) top_ = s;
    any_ = true;
    return DedupVerdict::kNew;
  }

 private:
  uint64_t size_;
  bool any_ = false;
  uint64_t top_ = 0;
  std::set<uint64_t> seen_;
};

TEST(DedupWindow, MatchesReferenceWithCopiesOnTwoSkewedPaths) {
  for (uint32_t size : {64u, 128u, 4096u}) {
    std::mt19937_64 rng(size);
    DedupWindow w(size);
    ReferenceDedup ref(size);
    // Each number sent twice (two paths); arrivals shuffled within a skew that sometimes
    // exceeds the window, plus random far jumps.
    uint64_t base = 5;
    for (int round = 0; round < 400; ++round) {
      std::vector<uint64_t> arrivals;
      for (uint64_t s = base; s < base + 300; ++s) {
        if (rng() % 20) arrivals.push_back(s);
        if (rng() % 20) arrivals.push_back(s);
      }
      for (size_t i = 0; i < arrivals.size(); ++i) {
        size_t j = i + rng() % std::min<size_t>(arrivals.size() - i, size * 2 / 3 + 1);
        std::swap(arrivals[i], arrivals[j]);
      }
      for (uint64_t s : arrivals) ASSERT_EQ(w.accept(s), ref.accept(s)) << s;
      base += 300 + (rng() % 50 == 0 ? rng() % 100000 : 0);
    }
    EXPECT_GT(w.counters().duplicates, 0u);
  }
}

}  // namespace
}  // namespace braid::policy
