#include "policy/fec.hpp"

#include <algorithm>
#include <cstring>

namespace braid::policy {

namespace {

// dst ^= src, eight bytes at a time (memcpy keeps it free of alignment and aliasing
// assumptions; compilers turn it into plain loads and stores).
void xorInto(uint8_t* dst, const uint8_t* src, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t a, b;
    std::memcpy(&a, dst + i, 8);
    std::memcpy(&b, src + i, 8);
    a ^= b;
    std::memcpy(dst + i, &a, 8);
  }
  for (; i < n; ++i) dst[i] ^= src[i];
}

}  // namespace

XorFecEncoder::XorFecEncoder(size_t maxPayload)
    : maxPayload_(std::min<size_t>(maxPayload, 65535)), buf_(2 + maxPayload_, 0) {}

void XorFecEncoder::flushGroup() {
  if (count_ > 0) ++group_;
  count_ = 0;
  ready_ = false;
}

FecPlace XorFecEncoder::addData(Bytes payload, uint8_t k) {
  ready_ = false;
  if (payload.size() > maxPayload_) return FecPlace{0, 0xff, 0};
  if (count_ == 0) {
    k_ = std::clamp<uint8_t>(k, 2, kMaxK);
    std::fill(buf_.begin(), buf_.begin() + 2 + static_cast<std::ptrdiff_t>(maxLen_), 0);
    maxLen_ = 0;
  }
  FecPlace place{group_, count_, k_};
  uint16_t len = static_cast<uint16_t>(payload.size());
  storeBe16(buf_.data(), static_cast<uint16_t>(loadBe16(buf_.data()) ^ len));
  xorInto(buf_.data() + 2, payload.data(), payload.size());
  maxLen_ = std::max(maxLen_, payload.size());
  if (++count_ == k_) {
    ready_ = true;
    lastK_ = k_;
    count_ = 0;
    ++group_;
  }
  return place;
}

XorFecDecoder::XorFecDecoder(size_t maxPayload, size_t groups)
    : maxPayload_(std::min<size_t>(maxPayload, 65535)), groups_(std::max<size_t>(groups, 1)) {
  for (Group& g : groups_) g.acc.assign(maxPayload_, 0);
}

XorFecDecoder::Group* XorFecDecoder::slotFor(uint64_t group, uint8_t k) {
  if (k < 2 || k > XorFecEncoder::kMaxK) return nullptr;
  Group& g = groups_[group % groups_.size()];
  if (g.used && g.group == group) {
    if (g.k != k) {
      ++counters_.badParity;
      return nullptr;
    }
    return &g;
  }
  if (g.used && g.group > group) return nullptr;  // older than what the slot holds
  if (g.used && !g.done && g.received < g.k) ++counters_.unrecoverable;
  g.used = true;
  g.done = false;
  g.parity = false;
  g.group = group;
  g.k = k;
  g.received = 0;
  g.mask = 0;
  g.lenXor = 0;
  std::fill(g.acc.begin(), g.acc.begin() + static_cast<std::ptrdiff_t>(g.accLen), 0);
  g.accLen = 0;
  return &g;
}

void XorFecDecoder::absorb(Group& g, Bytes payload) {
  xorInto(g.acc.data(), payload.data(), payload.size());
  g.accLen = std::max(g.accLen, payload.size());
}

std::optional<XorFecDecoder::Recovered> XorFecDecoder::tryRecover(Group& g, MutableBytes out) {
  if (g.done) return std::nullopt;
  if (g.received == g.k) {
    g.done = true;  // nothing missing
    return std::nullopt;
  }
  if (!g.parity || g.received + 1 != g.k) return std::nullopt;
  g.done = true;
  uint8_t missing = 0;
  while (g.mask & (uint32_t{1} << missing)) ++missing;
  size_t len = g.lenXor;
  if (len > maxPayload_ || len > out.size()) {
    ++counters_.badParity;
    return std::nullopt;
  }
  std::memcpy(out.data(), g.acc.data(), len);
  ++counters_.recovered;
  return Recovered{FecPlace{g.group, missing, g.k}, len};
}

std::optional<XorFecDecoder::Recovered> XorFecDecoder::onData(const FecPlace& place, Bytes payload,
                                                              MutableBytes out) {
  if (place.index >= place.k || payload.size() > maxPayload_) return std::nullopt;
  Group* g = slotFor(place.group, place.k);
  if (!g || g->done || (g->mask & (uint32_t{1} << place.index))) return std::nullopt;
  g->mask |= uint32_t{1} << place.index;
  ++g->received;
  g->lenXor ^= static_cast<uint16_t>(payload.size());
  absorb(*g, payload);
  return tryRecover(*g, out);
}

std::optional<XorFecDecoder::Recovered> XorFecDecoder::onParity(uint64_t group, uint8_t k,
                                                                Bytes parity, MutableBytes out) {
  if (parity.size() < 2 || parity.size() - 2 > maxPayload_) {
    ++counters_.badParity;
    return std::nullopt;
  }
  Group* g = slotFor(group, k);
  if (!g || g->done || g->parity) return std::nullopt;
  g->parity = true;
  g->lenXor ^= loadBe16(parity.data());
  absorb(*g, parity.subspan(2));
  return tryRecover(*g, out);
}

}  // namespace braid::policy
