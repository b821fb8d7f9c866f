// Bounded big-endian reader and writer used by every wire-format codec in braid.
// Every operation is checked: a reader never reads past its end, a writer never writes past
// its capacity. Failed operations leave the cursor where it was.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace braid {

using Bytes = std::span<const uint8_t>;
using MutableBytes = std::span<uint8_t>;

inline Bytes asBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class ByteReader {
 public:
  ByteReader() = default;
  explicit ByteReader(Bytes data) : data_(data) {}

  [[nodiscard]] bool readU8(uint8_t& out) {
    if (remaining() < 1) return false;
    out = data_[pos_++];
    return true;
  }
  [[nodiscard]] bool readU16(uint16_t& out) {
    if (remaining() < 2) return false;
    out = static_cast<uint16_t>(data_[pos_] << 8 | data_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  [[nodiscard]] bool readU24(uint32_t& out) {
    if (remaining() < 3) return false;
    out = uint32_t{data_[pos_]} << 16 | uint32_t{data_[pos_ + 1]} << 8 | data_[pos_ + 2];
    pos_ += 3;
    return true;
  }
  [[nodiscard]] bool readU32(uint32_t& out) {
    if (remaining() < 4) return false;
    out = uint32_t{data_[pos_]} << 24 | uint32_t{data_[pos_ + 1]} << 16 |
          uint32_t{data_[pos_ + 2]} << 8 | data_[pos_ + 3];
    pos_ += 4;
    return true;
  }
  [[nodiscard]] bool readU64(uint64_t& out) {
    uint32_t hi = 0, lo = 0;
    if (remaining() < 8) return false;
    (void)readU32(hi);
    (void)readU32(lo);
    out = uint64_t{hi} << 32 | lo;
    return true;
  }
  // A view of the next n bytes; the view aliases the reader's input.
  [[nodiscard]] bool readBytes(size_t n, Bytes& out) {
    if (remaining() < n) return false;
    out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  [[nodiscard]] bool copyBytes(MutableBytes out) {
    if (remaining() < out.size()) return false;
    if (!out.empty()) std::memcpy(out.data(), data_.data() + pos_, out.size());
    pos_ += out.size();
    return true;
  }
  [[nodiscard]] bool skip(size_t n) {
    if (remaining() < n) return false;
    pos_ += n;
    return true;
  }
  [[nodiscard]] bool peekU8(uint8_t& out) const {
    if (remaining() < 1) return false;
    out = data_[pos_];
    return true;
  }
  [[nodiscard]] bool peekU32(uint32_t& out) const {
    ByteReader copy = *this;
    return copy.readU32(out);
  }
  // Everything not yet read.
  Bytes rest() const { return data_.subspan(pos_); }
  void readRest(Bytes& out) {
    out = rest();
    pos_ = data_.size();
  }

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool empty() const { return remaining() == 0; }

 private:
  Bytes data_;
  size_t pos_ = 0;
};

class ByteWriter {
 public:
  explicit ByteWriter(MutableBytes buf) : buf_(buf) {}

  [[nodiscard]] bool writeU8(uint8_t v) {
    if (remaining() < 1) return false;
    buf_[pos_++] = v;
    return true;
  }
  [[nodiscard]] bool writeU16(uint16_t v) {
    if (remaining() < 2) return false;
    buf_[pos_++] = static_cast<uint8_t>(v >> 8);
    buf_[pos_++] = static_cast<uint8_t>(v);
    return true;
  }
  [[nodiscard]] bool writeU24(uint32_t v) {
    if (remaining() < 3 || v > 0xFFFFFF) return false;
    buf_[pos_++] = static_cast<uint8_t>(v >> 16);
    buf_[pos_++] = static_cast<uint8_t>(v >> 8);
    buf_[pos_++] = static_cast<uint8_t>(v);
    return true;
  }
  [[nodiscard]] bool writeU32(uint32_t v) {
    if (remaining() < 4) return false;
    for (int shift = 24; shift >= 0; shift -= 8) buf_[pos_++] = static_cast<uint8_t>(v >> shift);
    return true;
  }
  [[nodiscard]] bool writeU64(uint64_t v) {
    if (remaining() < 8) return false;
    (void)writeU32(static_cast<uint32_t>(v >> 32));
    (void)writeU32(static_cast<uint32_t>(v));
    return true;
  }
  [[nodiscard]] bool writeBytes(Bytes b) {
    if (remaining() < b.size()) return false;
    if (!b.empty()) std::memcpy(buf_.data() + pos_, b.data(), b.size());
    pos_ += b.size();
    return true;
  }
  [[nodiscard]] bool writeZeros(size_t n) {
    if (remaining() < n) return false;
    std::memset(buf_.data() + pos_, 0, n);
    pos_ += n;
    return true;
  }
  // Reserve n bytes to be filled later (e.g. a length field); returns their view.
  [[nodiscard]] bool reserve(size_t n, MutableBytes& out) {
    if (remaining() < n) return false;
    out = buf_.subspan(pos_, n);
    pos_ += n;
    return true;
  }

  size_t remaining() const { return buf_.size() - pos_; }
  size_t position() const { return pos_; }
  Bytes written() const { return Bytes(buf_.data(), pos_); }

 private:
  MutableBytes buf_;
  size_t pos_ = 0;
};

// Big-endian stores/loads for fixed offsets in headers already bounds-checked by the caller.
inline void storeBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void storeBe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
inline void storeBe64(uint8_t* p, uint64_t v) {
  storeBe32(p, static_cast<uint32_t>(v >> 32));
  storeBe32(p + 4, static_cast<uint32_t>(v));
}
inline uint16_t loadBe16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t loadBe32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline uint64_t loadBe64(const uint8_t* p) {
  return uint64_t{loadBe32(p)} << 32 | loadBe32(p + 4);
}

}  // namespace braid
