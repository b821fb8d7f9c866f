// Address pools: usable hosts, same identity same address, release and reuse order,
// exhaustion, and a differential test against a slow reference model.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "ipsec/ike/address_pool.hpp"

namespace braid::ike::test {
namespace {

IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}
AddressPool pool(const char* prefix) {
  return AddressPool::create("p", *IpPrefix::parse(prefix)).value();
}

TEST(AddressPool, UsableHostsOfIpv4AndIpv6Ranges) {
  EXPECT_EQ(pool("10.99.0.0/24").size(), 254u);  // no network, no broadcast
  EXPECT_EQ(pool("10.99.0.0/30").size(), 2u);
  EXPECT_EQ(pool("10.99.0.0/31").size(), 2u);
  EXPECT_EQ(pool("10.99.0.7/32").size(), 1u);
  EXPECT_EQ(pool("fd00:99::/120").size(), 255u);  // IPv6 has no broadcast
  EXPECT_EQ(pool("fd00:99::/64").size(), AddressPool::kMaxSize);
  AddressPool p = pool("10.99.0.0/24");
  EXPECT_FALSE(p.contains(ip("10.99.0.0")));
  EXPECT_TRUE(p.contains(ip("10.99.0.1")));
  EXPECT_TRUE(p.contains(ip("10.99.0.254")));
  EXPECT_FALSE(p.contains(ip("10.99.0.255")));
  EXPECT_FALSE(p.contains(ip("10.99.1.1")));
  EXPECT_EQ(p.acquire("a"), ip("10.99.0.1"));
  AddressPool v6 = pool("fd00:99::/64");
  EXPECT_EQ(v6.acquire("a"), ip("fd00:99::1"));
  EXPECT_EQ(v6.acquire("b"), ip("fd00:99::2"));
}

TEST(AddressPool, AddressCarriesAcrossBytes) {
  AddressPool p = pool("10.99.0.0/23");
  std::optional<IpAddress> last;
  for (int i = 0; i < 256; ++i) last = p.acquire("id" + std::to_string(i));
  EXPECT_EQ(last, ip("10.99.1.0"));
  EXPECT_TRUE(p.contains(*last));
}

TEST(AddressPool, SameIdentityGetsItsAddressBack) {
  AddressPool p = pool("10.99.0.0/29");  // 6 hosts
  auto a = p.acquire("CN=alice");
  auto b = p.acquire("CN=bob");
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(p.online(), 2u);
  EXPECT_TRUE(p.release("CN=alice"));
  EXPECT_EQ(p.online(), 1u);
  EXPECT_EQ(p.offline(), 1u);
  EXPECT_FALSE(p.release("CN=alice"));  // holds none now
  EXPECT_FALSE(p.release("CN=carol"));
  auto c = p.acquire("CN=carol");
  EXPECT_NE(c, a);  // never-used addresses first: alice's stays reserved
  EXPECT_EQ(p.acquire("CN=alice"), a);
  EXPECT_EQ(p.offline(), 0u);
  // Connected twice (a new IKE SA before the old one is gone): one address, two holders.
  EXPECT_EQ(p.acquire("CN=alice"), a);
  EXPECT_TRUE(p.release("CN=alice"));
  EXPECT_EQ(p.online(), 3u);
  EXPECT_TRUE(p.release("CN=alice"));
  EXPECT_EQ(p.online(), 2u);
}

TEST(AddressPool, ExhaustionThenOldestReleaseIsReclaimed) {
  AddressPool p = pool("10.99.0.0/30");  // .1 and .2
  EXPECT_EQ(p.acquire("a"), ip("10.99.0.1"));
  EXPECT_EQ(p.acquire("b"), ip("10.99.0.2"));
  EXPECT_EQ(p.acquire("c"), std::nullopt);  // INTERNAL_ADDRESS_FAILURE
  EXPECT_TRUE(p.release("b"));
  EXPECT_TRUE(p.release("a"));
  EXPECT_EQ(p.acquire("c"), ip("10.99.0.2"));  // b released first
  EXPECT_EQ(p.addressOf("b"), std::nullopt);   // b lost its reservation
  EXPECT_EQ(p.addressOf("a"), ip("10.99.0.1"));
  EXPECT_EQ(p.acquire("b"), ip("10.99.0.1"));  // a's, the only offline one
  EXPECT_EQ(p.acquire("a"), std::nullopt);
}

TEST(AddressPool, LeaseReleasesWhenDestroyed) {
  auto p = std::make_shared<AddressPool>(pool("10.99.0.0/30"));
  {
    auto addr = p->acquire("a");
    AddressLease lease(p, "a", *addr);
    EXPECT_EQ(p->online(), 1u);
  }
  EXPECT_EQ(p->online(), 0u);
  EXPECT_EQ(p->offline(), 1u);
}

// The slow reference: one slot per address, each scanned in full on every call.
class ReferencePool {
 public:
  explicit ReferencePool(size_t n) : slots_(n) {}
  std::optional<size_t> acquire(const std::string& id) {
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].used && slots_[i].id == id) {
        ++slots_[i].holders;
        return i;
      }
    }
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (!slots_[i].used) return take(i, id);
    }
    std::optional<size_t> oldest;
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].holders == 0 && (!oldest || slots_[i].seq < slots_[*oldest].seq)) oldest = i;
    }
    if (!oldest) return std::nullopt;
    return take(*oldest, id);
  }
  bool release(const std::string& id) {
    for (auto& s : slots_) {
      if (s.used && s.id == id && s.holders > 0) {
        if (--s.holders == 0) s.seq = ++seq_;
        return true;
      }
    }
    return false;
  }
  size_t online() const {
    size_t n = 0;
    for (const auto& s : slots_) n += s.holders > 0;
    return n;
  }

 private:
  struct Slot {
    bool used = false;
    std::string id;
    uint32_t holders = 0;
    uint64_t seq = 0;
  };
  size_t take(size_t i, const std::string& id) {
    slots_[i] = Slot{true, id, 1, 0};
    return i;
  }
  std::vector<Slot> slots_;
  uint64_t seq_ = 0;
};

TEST(AddressPool, MatchesSlowReferenceOnRandomOperations) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    AddressPool p = pool("10.99.0.0/28");  // 14 hosts
    ReferencePool ref(14);
    for (int step = 0; step < 3000; ++step) {
      std::string id = "id" + std::to_string(rng() % 24);
      if (rng() % 2) {
        auto got = p.acquire(id);
        auto want = ref.acquire(id);
        ASSERT_EQ(got.has_value(), want.has_value()) << "seed " << seed << " step " << step;
        if (want) {
          ASSERT_EQ(*got, IpAddress::v4(ip("10.99.0.0").v4HostOrder() + 1 + uint32_t(*want)))
              << "seed " << seed << " step " << step;
        }
      } else {
        ASSERT_EQ(p.release(id), ref.release(id)) << "seed " << seed << " step " << step;
      }
      ASSERT_EQ(p.online(), ref.online());
    }
  }
}

}  // namespace
}  // namespace braid::ike::test
