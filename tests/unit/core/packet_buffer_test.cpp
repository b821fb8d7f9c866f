#include "core/packet_buffer.hpp"

#include <gtest/gtest.h>

namespace braid {
namespace {

TEST(PacketBuffer, PrependAppendTrimWithinBounds) {
  PacketPool pool(2, 256, 32);
  auto b = pool.acquire();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->headroom(), 32u);
  ASSERT_TRUE(b->assign(asBytes("payload")));
  uint8_t* hdr = b->prepend(8);
  ASSERT_NE(hdr, nullptr);
  EXPECT_EQ(b->size(), 15u);
  EXPECT_EQ(b->prepend(25), nullptr);  // only 24 bytes of headroom left
  ASSERT_NE(b->append(16), nullptr);
  EXPECT_EQ(b->size(), 31u);
  EXPECT_TRUE(b->trimFront(8));
  EXPECT_TRUE(b->trimBack(16));
  EXPECT_EQ(std::string(b->data(), b->data() + b->size()), "payload");
  EXPECT_FALSE(b->trimBack(8));
  EXPECT_EQ(b->append(b->tailroom() + 1), nullptr);
}

TEST(PacketPool, BoundedAndRecycles) {
  PacketPool pool(2, 128);
  auto a = pool.acquire();
  auto b = pool.acquire();
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(pool.acquire());
  EXPECT_EQ(pool.exhaustedCount(), 1u);
  PacketBuffer* raw = a.get();
  a.reset();
  EXPECT_EQ(pool.available(), 1u);
  auto c = pool.acquire();
  EXPECT_EQ(c.get(), raw);
  EXPECT_EQ(c->size(), 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(c->data() - c->headroom()) % 64, 0u);
}

}  // namespace
}  // namespace braid
