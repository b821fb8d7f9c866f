// IPv4/IPv6 addresses and prefixes.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.hpp"

namespace braid {

enum class IpFamily : uint8_t { kV4 = 4, kV6 = 6 };

class IpAddress {
 public:
  IpAddress() = default;  // 0.0.0.0
  static IpAddress v4(uint32_t hostOrder);
  static IpAddress v4(Bytes fourBytes);
  static IpAddress v6(Bytes sixteenBytes);
  static std::optional<IpAddress> parse(std::string_view text);
  // From raw network-order bytes: 4 bytes is IPv4, 16 bytes IPv6.
  static std::optional<IpAddress> fromBytes(Bytes raw);

  IpFamily family() const { return family_; }
  bool isV4() const { return family_ == IpFamily::kV4; }
  bool isV6() const { return family_ == IpFamily::kV6; }
  // 4 or 16 bytes in network order.
  Bytes bytes() const { return {bytes_.data(), isV4() ? size_t{4} : size_t{16}}; }
  uint32_t v4HostOrder() const;
  size_t bitLength() const { return isV4() ? 32 : 128; }
  bool bit(size_t i) const { return (bytes_[i / 8] >> (7 - i % 8)) & 1; }
  bool isUnspecified() const;
  std::string toString() const;

  auto operator<=>(const IpAddress&) const = default;
  bool operator==(const IpAddress&) const = default;

 private:
  IpFamily family_ = IpFamily::kV4;
  std::array<uint8_t, 16> bytes_{};
};

class IpPrefix {
 public:
  IpPrefix() = default;
  // Host bits beyond `length` are cleared.
  IpPrefix(IpAddress address, uint8_t length);
  // "10.1.0.0/16", "fd00::/8"; a bare address is a host prefix. Fails if host bits are set
  // (a likely typo in configuration) unless `allowHostBits`.
  static std::optional<IpPrefix> parse(std::string_view text, bool allowHostBits = false);

  const IpAddress& address() const { return address_; }
  uint8_t length() const { return length_; }
  IpFamily family() const { return address_.family(); }
  bool contains(const IpAddress& a) const;
  bool contains(const IpPrefix& p) const { return p.length_ >= length_ && contains(p.address_); }
  bool overlaps(const IpPrefix& p) const { return contains(p) || p.contains(*this); }
  // First and last address covered, for traffic selector ranges.
  IpAddress first() const { return address_; }
  IpAddress last() const;
  std::string toString() const;

  auto operator<=>(const IpPrefix&) const = default;
  bool operator==(const IpPrefix&) const = default;

 private:
  IpAddress address_;
  uint8_t length_ = 0;
};

}  // namespace braid
