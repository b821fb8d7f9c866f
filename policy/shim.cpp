#include "policy/shim.hpp"

namespace braid::policy {

std::optional<ShimType> shimType(Bytes message) {
  if (message.empty() || (message[0] >> 4) != kShimVersion) return std::nullopt;
  const uint8_t t = message[0] & 0x0f;
  if (t < 1 || t > 3) return std::nullopt;
  return static_cast<ShimType>(t);
}

void encodeShimData(uint8_t* out, const ShimDataHeader& h) {
  out[0] = uint8_t(kShimVersion << 4) | uint8_t(ShimType::kData);
  out[1] = 0;
  storeBe16(out + 2, h.cls);
  storeBe32(out + 4, h.seq);
}

bool decodeShimData(Bytes message, ShimDataHeader& out) {
  if (message.size() < kShimDataHeaderSize || shimType(message) != ShimType::kData) return false;
  out.cls = loadBe16(message.data() + 2);
  out.seq = loadBe32(message.data() + 4);
  return true;
}

uint64_t extendSequence(uint64_t highest, uint32_t low) {
  const uint32_t top = static_cast<uint32_t>(highest);
  const int32_t delta = static_cast<int32_t>(low - top);
  const uint64_t candidate = highest + static_cast<uint64_t>(static_cast<int64_t>(delta));
  // Before the first 2^31 numbers, "behind" would wrap below zero: take the low bits as is.
  if (delta < 0 && uint64_t(-int64_t(delta)) > highest) return low;
  return candidate;
}

}  // namespace braid::policy
