#include "ipsec/ike/address_pool.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace braid::ike {
namespace {

// `base` + `offset` (no wrap: offsets stay inside the range).
IpAddress addOffset(const IpAddress& base, uint64_t offset) {
  Bytes b = base.bytes();
  std::array<uint8_t, 16> out{};
  std::memcpy(out.data(), b.data(), b.size());
  uint64_t carry = offset;
  for (size_t i = b.size(); i-- > 0 && carry != 0;) {
    uint64_t sum = out[i] + (carry & 0xFF);
    out[i] = static_cast<uint8_t>(sum);
    carry = (carry >> 8) + (sum >> 8);
  }
  return *IpAddress::fromBytes(Bytes(out.data(), b.size()));
}

// `a` - `base` when below 2^63 (callers check that `a` is in the range first).
uint64_t offsetOf(const IpAddress& base, const IpAddress& a) {
  Bytes x = a.bytes(), y = base.bytes();
  uint64_t result = 0;
  int borrow = 0;
  uint64_t scale = 1;
  for (size_t i = x.size(); i-- > 0;) {
    int d = int{x[i]} - int{y[i]} - borrow;
    borrow = d < 0;
    if (d < 0) d += 256;
    if (x.size() - 1 - i < 8) {
      result += static_cast<uint64_t>(d) * scale;
      scale <<= 8;
    } else if (d != 0) {
      return ~uint64_t{0};
    }
  }
  return result;
}

}  // namespace

AddressPool::AddressPool(std::string name, const IpPrefix& range, uint64_t firstOffset,
                         uint64_t size)
    : name_(std::move(name)), range_(range), firstOffset_(firstOffset), size_(size) {}

Result<AddressPool> AddressPool::create(std::string name, const IpPrefix& range) {
  const size_t hostBits = range.address().bitLength() - range.length();
  uint64_t total = hostBits >= 63 ? ~uint64_t{0} : uint64_t{1} << hostBits;
  uint64_t first = 0;
  uint64_t size = total;
  if (hostBits >= 2) {
    first = 1;  // not the network address
    size = total - 1;
    if (range.address().isV4()) --size;  // nor the broadcast address
  }
  size = std::min(size, kMaxSize);
  if (size == 0) return errorStatus(ErrorCode::kInvalidArgument, "empty pool");
  return AddressPool(std::move(name), range, first, size);
}

IpAddress AddressPool::at(uint64_t index) const {
  return addOffset(range_.first(), firstOffset_ + index);
}

bool AddressPool::contains(const IpAddress& a) const {
  if (!range_.contains(a)) return false;
  uint64_t off = offsetOf(range_.first(), a);
  return off >= firstOffset_ && off - firstOffset_ < size_;
}

std::optional<IpAddress> AddressPool::acquire(const std::string& identity) {
  auto it = leases_.find(identity);
  if (it != leases_.end()) {
    Lease& l = it->second;
    if (l.holders == 0) {
      offline_.erase(l.releasedSeq);
      ++online_;
    }
    ++l.holders;
    return at(l.index);
  }
  uint64_t index = 0;
  if (next_ < size_) {
    index = next_++;
  } else if (!offline_.empty()) {
    // Reclaim the address released longest ago: its identity loses the reservation.
    auto oldest = offline_.begin();
    auto prev = leases_.find(oldest->second);
    index = prev->second.index;
    leases_.erase(prev);
    offline_.erase(oldest);
  } else {
    return std::nullopt;
  }
  leases_.emplace(identity, Lease{index, 1, 0});
  ++online_;
  return at(index);
}

bool AddressPool::release(const std::string& identity) {
  auto it = leases_.find(identity);
  if (it == leases_.end() || it->second.holders == 0) return false;
  Lease& l = it->second;
  if (--l.holders == 0) {
    --online_;
    l.releasedSeq = ++seq_;
    offline_.emplace(l.releasedSeq, identity);
  }
  return true;
}

std::optional<IpAddress> AddressPool::addressOf(const std::string& identity) const {
  auto it = leases_.find(identity);
  if (it == leases_.end()) return std::nullopt;
  return at(it->second.index);
}

}  // namespace braid::ike
