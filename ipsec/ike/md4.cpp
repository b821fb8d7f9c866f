#include "ipsec/ike/md4.hpp"

#include <cstring>

namespace braid::ike {
namespace {

uint32_t rotl(uint32_t x, int s) {
  return (x << s) | (x >> (32 - s));
}

// RFC 1320 3.4: three rounds of 16 operations over one 64-byte block.
void md4Block(std::array<uint32_t, 4>& st, const uint8_t* p) {
  uint32_t x[16];
  for (int i = 0; i < 16; ++i) {
    x[i] = uint32_t(p[4 * i]) | uint32_t(p[4 * i + 1]) << 8 | uint32_t(p[4 * i + 2]) << 16 |
           uint32_t(p[4 * i + 3]) << 24;
  }
  uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
  auto f = [](uint32_t x1, uint32_t y, uint32_t z) { return (x1 & y) | (~x1 & z); };
  auto g = [](uint32_t x1, uint32_t y, uint32_t z) { return (x1 & y) | (x1 & z) | (y & z); };
  auto h = [](uint32_t x1, uint32_t y, uint32_t z) { return x1 ^ y ^ z; };
  static constexpr int kS1[4] = {3, 7, 11, 19};
  static constexpr int kS2[4] = {3, 5, 9, 13};
  static constexpr int kS3[4] = {3, 9, 11, 15};
  static constexpr int kOrder3[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
  uint32_t* v[4] = {&a, &d, &c, &b};  // the rotating roles of a, b, c, d
  for (int i = 0; i < 16; ++i) {
    uint32_t& t = *v[i % 4];
    uint32_t& u = *v[(i + 3) % 4];
    uint32_t& w = *v[(i + 2) % 4];
    uint32_t& y = *v[(i + 1) % 4];
    t = rotl(t + f(u, w, y) + x[i], kS1[i % 4]);
  }
  for (int i = 0; i < 16; ++i) {
    uint32_t& t = *v[i % 4];
    uint32_t& u = *v[(i + 3) % 4];
    uint32_t& w = *v[(i + 2) % 4];
    uint32_t& y = *v[(i + 1) % 4];
    t = rotl(t + g(u, w, y) + x[(i % 4) * 4 + i / 4] + 0x5A827999u, kS2[i % 4]);
  }
  for (int i = 0; i < 16; ++i) {
    uint32_t& t = *v[i % 4];
    uint32_t& u = *v[(i + 3) % 4];
    uint32_t& w = *v[(i + 2) % 4];
    uint32_t& y = *v[(i + 1) % 4];
    t = rotl(t + h(u, w, y) + x[kOrder3[i]] + 0x6ED9EBA1u, kS3[i % 4]);
  }
  st[0] += a;
  st[1] += b;
  st[2] += c;
  st[3] += d;
  std::memset(x, 0, sizeof x);
}

}  // namespace

std::array<uint8_t, 16> md4(Bytes data) {
  std::array<uint32_t, 4> st = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u};
  size_t full = data.size() / 64 * 64;
  for (size_t off = 0; off < full; off += 64) md4Block(st, data.data() + off);
  // RFC 1320 3.1-3.2: a 1 bit, zeros to 56 mod 64, then the bit length little-endian.
  uint8_t tail[128] = {};
  size_t rest = data.size() - full;
  if (rest > 0) std::memcpy(tail, data.data() + full, rest);
  tail[rest] = 0x80;
  size_t tailLen = rest < 56 ? 64 : 128;
  uint64_t bits = uint64_t(data.size()) * 8;
  for (int i = 0; i < 8; ++i) tail[tailLen - 8 + i] = uint8_t(bits >> (8 * i));
  for (size_t off = 0; off < tailLen; off += 64) md4Block(st, tail + off);
  std::memset(tail, 0, sizeof tail);
  std::array<uint8_t, 16> out{};
  for (int i = 0; i < 16; ++i) out[i] = uint8_t(st[i / 4] >> (8 * (i % 4)));
  return out;
}

}  // namespace braid::ike
