// seal() and open() allocate nothing per packet: every heap allocation, by braid (operator
// new) or by OpenSSL (its memory functions), is counted while packets flow.
#include <gtest/gtest.h>
#include <openssl/crypto.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "core/packet_buffer.hpp"
#include "esp_test_support.hpp"

namespace {

std::atomic<size_t> gAllocations{0};

void* countedMalloc(size_t n, const char*, int) {
  ++gAllocations;
  return std::malloc(n);
}
void* countedRealloc(void* p, size_t n, const char*, int) {
  ++gAllocations;
  return std::realloc(p, n);
}
void countedFree(void* p, const char*, int) {
  std::free(p);
}

// Installed before main(), so before OpenSSL allocates anything.
const bool gInstalled = CRYPTO_set_mem_functions(countedMalloc, countedRealloc, countedFree);

}  // namespace

void* operator new(size_t n) {
  ++gAllocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

namespace braid::ipsec {
namespace {

using testing_support::makeIn;
using testing_support::makeOut;
using testing_support::testConfig;

TEST(EspAllocation, SealAndOpenDoNotAllocate) {
  ASSERT_TRUE(gInstalled);
  for (EspCipher c :
       {EspCipher::kAesGcm16_128, EspCipher::kAesGcm16_256, EspCipher::kChaCha20Poly1305}) {
    for (bool esn : {false, true}) {
      auto out = makeOut(testConfig(c, esn));
      auto in = makeIn(testConfig(c, esn));
      EspInboundTable table;
      ASSERT_TRUE(table.add(std::move(in)).isOk());
      PacketPool pool(2, 2048, 64);
      auto pkt = pool.acquire();
      uint8_t nh = 0;
      // One warm-up packet: OpenSSL may set up lazily on first use.
      ASSERT_TRUE(pkt->commit(100));
      ASSERT_EQ(out->seal(*pkt, kNextHeaderIpv4), SealStatus::kOk);
      ASSERT_FALSE(table.open(*pkt, nh).has_value());

      const size_t before = gAllocations.load();
      for (size_t i = 0; i < 500; ++i) {
        pkt->reset(64);
        ASSERT_TRUE(pkt->commit(i * 3 % 1500));
        ASSERT_EQ(out->seal(*pkt, kNextHeaderIpv4), SealStatus::kOk);
        if (i % 5 == 0) pkt->data()[20] ^= 1;  // also the ICV failure path
        auto drop = table.open(*pkt, nh);
        ASSERT_EQ(drop.has_value(), i % 5 == 0);
      }
      EXPECT_EQ(gAllocations.load() - before, 0u) << espCipherName(c) << (esn ? " esn" : "");
    }
  }
}

}  // namespace
}  // namespace braid::ipsec
