#include <openssl/rand.h>

#include <cstdlib>

#include "ipsec/ike/events.hpp"

namespace braid::ike {

uint64_t Random::u64() {
  uint8_t b[8];
  fill(b);
  return loadBe64(b);
}

uint32_t Random::u32() {
  uint8_t b[4];
  fill(b);
  return loadBe32(b);
}

void SystemRandom::fill(MutableBytes out) {
  if (!out.empty() && RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    // RAND_bytes only fails without an entropy source; never hand out predictable values.
    std::abort();
  }
}

void SeededRandom::fill(MutableBytes out) {
  for (auto& b : out) {
    // splitmix64 step per byte block: cheap, deterministic, test-only.
    state_ += 0x9E3779B97F4A7C15ull;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    b = static_cast<uint8_t>(z ^ (z >> 31));
  }
}

}  // namespace braid::ike
