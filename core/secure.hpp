// Key material that is wiped when freed (RFC 7296 keys, ESP keys, PSKs).
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/bytes.hpp"

namespace braid {

// Overwrites memory in a way the optimiser may not remove.
void secureWipe(void* p, size_t n);

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(Bytes b) : data_(b.begin(), b.end()) {}
  explicit SecretBytes(size_t n) : data_(n, 0) {}
  SecretBytes(const SecretBytes&) = default;
  SecretBytes& operator=(const SecretBytes& o) {
    if (this != &o) {
      wipe();
      data_ = o.data_;
    }
    return *this;
  }
  SecretBytes(SecretBytes&& o) noexcept : data_(std::move(o.data_)) { o.data_.clear(); }
  SecretBytes& operator=(SecretBytes&& o) noexcept {
    if (this != &o) {
      wipe();
      data_ = std::move(o.data_);
      o.data_.clear();
    }
    return *this;
  }
  ~SecretBytes() { wipe(); }

  Bytes bytes() const { return data_; }
  MutableBytes mutableBytes() { return data_; }
  const uint8_t* data() const { return data_.data(); }
  uint8_t* data() { return data_.data(); }
  size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  // Appends, wiping any buffer the vector had to give up while growing.
  void append(Bytes b) {
    if (data_.size() + b.size() > data_.capacity()) {
      std::vector<uint8_t> grown;
      grown.reserve((data_.size() + b.size()) * 2);
      grown.assign(data_.begin(), data_.end());
      wipe();
      data_ = std::move(grown);
    }
    data_.insert(data_.end(), b.begin(), b.end());
  }
  // Splits off the first n bytes (key schedules: SK_d | SK_ai | ...).
  SecretBytes slice(size_t offset, size_t n) const {
    return SecretBytes(Bytes(data_).subspan(offset, n));
  }
  bool operator==(const SecretBytes& o) const { return data_ == o.data_; }

 private:
  void wipe() {
    if (!data_.empty()) secureWipe(data_.data(), data_.size());
  }
  std::vector<uint8_t> data_;
};

}  // namespace braid
