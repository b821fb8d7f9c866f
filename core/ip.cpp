#include "core/ip.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace braid {

IpAddress IpAddress::v4(uint32_t hostOrder) {
  IpAddress a;
  a.family_ = IpFamily::kV4;
  storeBe32(a.bytes_.data(), hostOrder);
  return a;
}

IpAddress IpAddress::v4(Bytes fourBytes) {
  IpAddress a;
  a.family_ = IpFamily::kV4;
  std::copy_n(fourBytes.begin(), 4, a.bytes_.begin());
  return a;
}

IpAddress IpAddress::v6(Bytes sixteenBytes) {
  IpAddress a;
  a.family_ = IpFamily::kV6;
  std::copy_n(sixteenBytes.begin(), 16, a.bytes_.begin());
  return a;
}

std::optional<IpAddress> IpAddress::fromBytes(Bytes raw) {
  if (raw.size() == 4) return v4(raw);
  if (raw.size() == 16) return v6(raw);
  return std::nullopt;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buf[64];
  text.copy(buf, text.size());
  buf[text.size()] = '\0';
  IpAddress a;
  if (inet_pton(AF_INET, buf, a.bytes_.data()) == 1) {
    a.family_ = IpFamily::kV4;
    return a;
  }
  if (inet_pton(AF_INET6, buf, a.bytes_.data()) == 1) {
    a.family_ = IpFamily::kV6;
    return a;
  }
  return std::nullopt;
}

uint32_t IpAddress::v4HostOrder() const {
  return loadBe32(bytes_.data());
}

bool IpAddress::isUnspecified() const {
  for (uint8_t b : bytes()) {
    if (b != 0) return false;
  }
  return true;
}

std::string IpAddress::toString() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(isV4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
  return buf;
}

namespace {
IpAddress masked(const IpAddress& a, uint8_t length, bool setHostBits) {
  std::array<uint8_t, 16> raw{};
  Bytes in = a.bytes();
  std::copy(in.begin(), in.end(), raw.begin());
  for (size_t i = 0; i < in.size(); ++i) {
    size_t bitsHere = length > i * 8 ? std::min<size_t>(8, length - i * 8) : 0;
    uint8_t netMask = static_cast<uint8_t>(bitsHere == 0 ? 0 : 0xFF << (8 - bitsHere));
    raw[i] = setHostBits ? (raw[i] | static_cast<uint8_t>(~netMask)) : (raw[i] & netMask);
  }
  return a.isV4() ? IpAddress::v4(Bytes(raw.data(), 4)) : IpAddress::v6(Bytes(raw.data(), 16));
}
}  // namespace

IpPrefix::IpPrefix(IpAddress address, uint8_t length)
    : address_(masked(address, std::min<uint8_t>(length, address.bitLength()), false)),
      length_(std::min<uint8_t>(length, address.bitLength())) {}

std::optional<IpPrefix> IpPrefix::parse(std::string_view text, bool allowHostBits) {
  auto slash = text.find('/');
  auto addr = IpAddress::parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  unsigned length = addr->bitLength();
  if (slash != std::string_view::npos) {
    auto lenText = text.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(lenText.data(), lenText.data() + lenText.size(), length);
    if (ec != std::errc() || ptr != lenText.data() + lenText.size() || lenText.empty() ||
        length > addr->bitLength()) {
      return std::nullopt;
    }
  }
  IpPrefix p(*addr, static_cast<uint8_t>(length));
  if (!allowHostBits && p.address_ != *addr) return std::nullopt;
  return p;
}

bool IpPrefix::contains(const IpAddress& a) const {
  if (a.family() != family()) return false;
  return masked(a, length_, false) == address_;
}

IpAddress IpPrefix::last() const {
  return masked(address_, length_, true);
}

std::string IpPrefix::toString() const {
  return address_.toString() + "/" + std::to_string(length_);
}

}  // namespace braid
