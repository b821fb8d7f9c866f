// FlowTable: LRU eviction, idle expiry, and a differential test against a reference built
// from std::map and std::list.
#include "policy/flow_table.hpp"

#include <gtest/gtest.h>

#include <list>
#include <map>
#include <random>

namespace braid::policy {
namespace {

using std::chrono::seconds;

FlowKey key(uint32_t n) {
  return FlowKey{IpAddress::v4(0x0a000000u + n), IpAddress::v4(0xc0a80001u), kProtoUdp,
                 static_cast<uint16_t>(n), 53};
}

TEST(FlowTable, InsertFindEvictExpire) {
  ManualClock clock;
  FlowTable t(3, seconds(10));
  EXPECT_EQ(t.capacity(), 3u);
  for (uint32_t i = 1; i <= 3; ++i) {
    FlowEntry* e = t.insert(key(i), clock.now());
    e->path = static_cast<PathId>(i);
  }
  EXPECT_EQ(t.size(), 3u);
  clock.advance(seconds(1));
  ASSERT_NE(t.find(key(1), clock.now()), nullptr);  // 1 is now most recent; 2 is LRU
  t.insert(key(4), clock.now());
  EXPECT_EQ(t.counters().evicted, 1u);
  EXPECT_EQ(t.find(key(2), clock.now()), nullptr);
  EXPECT_EQ(t.find(key(1), clock.now())->path, 1);
  EXPECT_TRUE(t.erase(key(3)));
  EXPECT_FALSE(t.erase(key(3)));
  EXPECT_EQ(t.size(), 2u);
  clock.advance(seconds(11));
  EXPECT_EQ(t.find(key(1), clock.now()), nullptr);  // idle: dropped on lookup
  EXPECT_EQ(t.expire(clock.now()), 1u);             // 4 by the sweep
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.counters().expired, 2u);
  EXPECT_GT(FlowTable::bytesPerFlow(), sizeof(FlowKey));
}

// The same semantics with node containers.
class ReferenceTable {
 public:
  ReferenceTable(size_t cap, Duration idle) : cap_(cap), idle_(idle) {}
  bool find(const FlowKey& k, TimePoint now, PathId* path) {
    auto it = m_.find(k);
    if (it == m_.end()) return false;
    if (now - it->second.seen > idle_) {
      lru_.erase(it->second.pos);
      m_.erase(it);
      return false;
    }
    it->second.seen = now;
    lru_.erase(it->second.pos);
    lru_.push_front(k);
    it->second.pos = lru_.begin();
    *path = it->second.path;
    return true;
  }
  void insert(const FlowKey& k, TimePoint now, PathId path) {
    if (m_.size() == cap_) {
      m_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(k);
    m_[k] = {now, path, lru_.begin()};
  }
  bool erase(const FlowKey& k) {
    auto it = m_.find(k);
    if (it == m_.end()) return false;
    lru_.erase(it->second.pos);
    m_.erase(it);
    return true;
  }
  size_t expire(TimePoint now) {
    size_t n = 0;
    while (!lru_.empty() && now - m_[lru_.back()].seen > idle_) {
      m_.erase(lru_.back());
      lru_.pop_back();
      ++n;
    }
    return n;
  }
  size_t size() const { return m_.size(); }
  const std::list<FlowKey>& lru() const { return lru_; }

 private:
  struct Less {
    bool operator()(const FlowKey& a, const FlowKey& b) const {
      return std::tie(a.src, a.dst, a.proto, a.srcPort, a.dstPort) <
             std::tie(b.src, b.dst, b.proto, b.srcPort, b.dstPort);
    }
  };
  struct V {
    TimePoint seen;
    PathId path;
    std::list<FlowKey>::iterator pos;
  };
  size_t cap_;
  Duration idle_;
  std::list<FlowKey> lru_;
  std::map<FlowKey, V, Less> m_;
};

TEST(FlowTable, MatchesReference) {
  for (size_t cap : {1u, 2u, 17u, 256u}) {
    std::mt19937_64 rng(cap);
    ManualClock clock;
    FlowTable t(cap, seconds(5));
    ReferenceTable ref(cap, seconds(5));
    const uint32_t keys = static_cast<uint32_t>(cap * 3 + 5);
    for (int op = 0; op < 40000; ++op) {
      FlowKey k = key(static_cast<uint32_t>(rng() % keys));
      uint64_t r = rng() % 100;
      if (r < 3) clock.advance(std::chrono::milliseconds(rng() % 3000));
      if (r < 60) {
        PathId want = 0;
        bool has = ref.find(k, clock.now(), &want);
        FlowEntry* e = t.find(k, clock.now());
        ASSERT_EQ(e != nullptr, has) << "cap " << cap << " op " << op;
        if (e) {
          ASSERT_EQ(e->path, want);
        } else {
          PathId p = static_cast<PathId>(rng() % 1000);
          t.insert(k, clock.now())->path = p;
          ref.insert(k, clock.now(), p);
        }
      } else if (r < 80) {
        ASSERT_EQ(t.erase(k), ref.erase(k));
      } else if (r < 82) {
        ASSERT_EQ(t.expire(clock.now()), ref.expire(clock.now()));
      }
      ASSERT_EQ(t.size(), ref.size());
    }
    // Same LRU order at the end.
    std::vector<FlowKey> order;
    t.forEach([&](const FlowEntry& e) { order.push_back(e.key); });
    ASSERT_EQ(order, std::vector<FlowKey>(ref.lru().begin(), ref.lru().end()));
  }
}

}  // namespace
}  // namespace braid::policy
