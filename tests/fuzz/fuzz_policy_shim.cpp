// Fuzzes the shim data header decoder and the sequence extension. Invariants: a decoded
// header re-encodes to the same bytes except the ignored flags byte; the extension keeps
// the low 32 bits and lands within 2^31 of the highest number.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "policy/shim.hpp"

using namespace braid;
using namespace braid::policy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  const auto type = shimType(in);
  ShimDataHeader h;
  const bool ok = decodeShimData(in, h);
  if (ok != (size >= kShimDataHeaderSize && type == ShimType::kData)) std::abort();
  if (ok) {
    std::array<uint8_t, kShimDataHeaderSize> out{};
    encodeShimData(out.data(), h);
    for (size_t i = 0; i < out.size(); ++i) {
      if (i != 1 && out[i] != data[i]) std::abort();
    }
  }
  if (size >= 12) {
    uint64_t highest;
    uint32_t low;
    std::memcpy(&highest, data, 8);
    std::memcpy(&low, data + 8, 4);
    highest >>= (data[0] & 31);
    const uint64_t x = extendSequence(highest, low);
    if (static_cast<uint32_t>(x) != low) std::abort();
    const uint64_t d = x > highest ? x - highest : highest - x;
    if (d > (uint64_t{1} << 31) && x != low) std::abort();
  }
  return 0;
}
