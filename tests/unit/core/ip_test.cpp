#include "core/ip.hpp"

#include <gtest/gtest.h>

namespace braid {
namespace {

TEST(IpAddress, ParsesAndFormats) {
  auto a = IpAddress::parse("10.98.1.2");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->isV4());
  EXPECT_EQ(a->toString(), "10.98.1.2");
  EXPECT_EQ(a->v4HostOrder(), 0x0A620102u);
  auto b = IpAddress::parse("fd00::1");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->isV6());
  EXPECT_EQ(b->toString(), "fd00::1");
  EXPECT_FALSE(IpAddress::parse("10.0.0.256"));
  EXPECT_FALSE(IpAddress::parse(""));
  EXPECT_FALSE(IpAddress::parse("hello"));
}

TEST(IpPrefix, ParseContainsOverlap) {
  auto p = IpPrefix::parse("10.98.0.0/16");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->contains(*IpAddress::parse("10.98.200.1")));
  EXPECT_FALSE(p->contains(*IpAddress::parse("10.99.0.1")));
  EXPECT_FALSE(p->contains(*IpAddress::parse("::1")));
  EXPECT_EQ(p->last().toString(), "10.98.255.255");
  auto q = IpPrefix::parse("10.98.1.0/24");
  EXPECT_TRUE(p->overlaps(*q));
  EXPECT_TRUE(q->overlaps(*p));
  EXPECT_FALSE(q->overlaps(*IpPrefix::parse("10.98.2.0/24")));
  EXPECT_FALSE(IpPrefix::parse("10.98.1.1/24"));  // host bits set
  EXPECT_TRUE(IpPrefix::parse("10.98.1.1/24", true));
  EXPECT_FALSE(IpPrefix::parse("10.0.0.0/33"));
  EXPECT_FALSE(IpPrefix::parse("10.0.0.0/"));
  EXPECT_FALSE(IpPrefix::parse("10.0.0.0/8x"));
  EXPECT_EQ(IpPrefix::parse("10.1.2.3")->length(), 32);
  auto v6 = IpPrefix::parse("fd00:1::/32");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->last().toString(), "fd00:1:ffff:ffff:ffff:ffff:ffff:ffff");
}

}  // namespace
}  // namespace braid
