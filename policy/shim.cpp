#include "policy/shim.hpp"

namespace braid::policy {

std::optional<ShimType> shimType(Bytes message) {
  if (message.empty() || (message[0] >> 4) != kShimVersion) return std::nullopt;
  const uint8_t t = message[0] & 0x0f;
  if (t < 1 || t > 4) return std::nullopt;
  return static_cast<ShimType>(t);
}

void encodeShimData(uint8_t* out, const ShimDataHeader& h) {
  out[0] = uint8_t(kShimVersion << 4) | uint8_t(ShimType::kData);
  out[1] = uint8_t((h.fec ? kShimFlagFec : 0) | (h.ordered ? kShimFlagOrdered : 0));
  storeBe16(out + 2, h.cls);
  if (!h.fec) {
    storeBe32(out + 4, h.seq);
    return;
  }
  storeBe32(out + 4, h.group);
  out[8] = h.index;
  out[9] = h.k;
  out[10] = out[11] = 0;
  storeBe32(out + 12, h.seq);
}

bool decodeShimData(Bytes message, ShimDataHeader& out) {
  if (message.size() < kShimDataHeaderSize || shimType(message) != ShimType::kData) return false;
  const uint8_t* p = message.data();
  out.cls = loadBe16(p + 2);
  out.fec = (p[1] & kShimFlagFec) != 0;
  out.ordered = (p[1] & kShimFlagOrdered) != 0;
  if (!out.fec) {
    out.seq = loadBe32(p + 4);
    out.group = 0;
    out.index = out.k = 0;
    return true;
  }
  if (message.size() < kShimFecHeaderSize) return false;
  out.group = loadBe32(p + 4);
  out.index = p[8];
  out.k = p[9];
  out.seq = loadBe32(p + 12);
  // An index outside the group is not a protected packet.
  return out.k == 0 || out.index < out.k;
}

void encodeShimParity(uint8_t* out, const ShimParityHeader& h) {
  out[0] = uint8_t(kShimVersion << 4) | uint8_t(ShimType::kParity);
  out[1] = 0;
  storeBe16(out + 2, h.cls);
  storeBe32(out + 4, h.group);
  out[8] = h.k;
  out[9] = out[10] = out[11] = 0;
}

bool decodeShimParity(Bytes message, ShimParityHeader& out) {
  if (message.size() < kShimParityHeaderSize || shimType(message) != ShimType::kParity) {
    return false;
  }
  out.cls = loadBe16(message.data() + 2);
  out.group = loadBe32(message.data() + 4);
  out.k = message[8];
  return out.k >= 2;
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
