#include "ipsec/ike/spi_allocator.hpp"

namespace braid::ike {
namespace {
constexpr uint32_t kMinSpi = 256;  // RFC 4303 2.1: 1-255 are reserved by IANA, 0 is invalid
constexpr int kRandomTries = 64;
constexpr uint64_t kSpace = (uint64_t{1} << 32) - kMinSpi;
}  // namespace

uint32_t SpiRegistry::allocate(Random& random) {
  std::lock_guard lock(mutex_);
  if (used_.size() >= kSpace) return 0;
  uint32_t spi = 0;
  for (int i = 0; i < kRandomTries; ++i) {
    spi = random.u32();
    if (spi < kMinSpi) continue;
    if (used_.insert(spi).second) return spi;
    ++collisions_;
  }
  // A random source that keeps repeating itself (or an almost full space): walk on from the
  // last draw, so that allocation always ends.
  for (uint64_t n = 0; n < (uint64_t{1} << 32); ++n) {
    spi = spi + 1 < kMinSpi ? kMinSpi : spi + 1;
    if (used_.insert(spi).second) return spi;
  }
  return 0;
}

void SpiRegistry::release(uint32_t spi) {
  std::lock_guard lock(mutex_);
  used_.erase(spi);
}

bool SpiRegistry::reserve(uint32_t spi) {
  std::lock_guard lock(mutex_);
  return spi >= kMinSpi && used_.insert(spi).second;
}

bool SpiRegistry::inUse(uint32_t spi) const {
  std::lock_guard lock(mutex_);
  return used_.count(spi) != 0;
}

size_t SpiRegistry::size() const {
  std::lock_guard lock(mutex_);
  return used_.size();
}

uint64_t SpiRegistry::collisions() const {
  std::lock_guard lock(mutex_);
  return collisions_;
}

}  // namespace braid::ike
