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
  if (ok && (type != ShimType::kData || size < h.size())) std::abort();
  if (!ok && type == ShimType::kData && size >= kShimFecHeaderSize && data[9] > data[8]) {
    std::abort();  // a well-formed data header (FEC or not) must decode
  }
  if (ok) {
    std::array<uint8_t, kShimFecHeaderSize> out{};
    encodeShimData(out.data(), h);
    for (size_t i = 0; i < h.size(); ++i) {
      const bool ignored = i == 1 || (h.fec && (i == 10 || i == 11));
      if (!ignored && out[i] != data[i]) std::abort();
    }
    ShimDataHeader again;
    if (!decodeShimData(Bytes(out.data(), h.size()), again) || !(again == h)) std::abort();
  }
  ShimParityHeader ph;
  if (decodeShimParity(in, ph)) {
    if (type != ShimType::kParity || size < kShimParityHeaderSize || ph.k < 2) std::abort();
    std::array<uint8_t, kShimParityHeaderSize> out{};
    encodeShimParity(out.data(), ph);
    ShimParityHeader again;
    if (!decodeShimParity(out, again) || !(again == ph)) std::abort();
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
