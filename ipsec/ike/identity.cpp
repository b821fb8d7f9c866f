#include "ipsec/ike/identity.hpp"

#include <algorithm>
#include <cctype>

#include "core/hex.hpp"

namespace braid::ike {
namespace {
ByteVec textBytes(std::string_view s) {
  return ByteVec(s.begin(), s.end());
}
bool equalNoCase(const ByteVec& a, const ByteVec& b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(),
                    [](uint8_t x, uint8_t y) { return std::tolower(x) == std::tolower(y); });
}
}  // namespace

Identity Identity::fqdn(std::string_view name) {
  return Identity(IdType::kFqdn, textBytes(name));
}
Identity Identity::rfc822(std::string_view a) {
  return Identity(IdType::kRfc822Addr, textBytes(a));
}
Identity Identity::address(const IpAddress& a) {
  Bytes b = a.bytes();
  return Identity(a.isV4() ? IdType::kIpv4Addr : IdType::kIpv6Addr, ByteVec(b.begin(), b.end()));
}
Identity Identity::derDn(ByteVec der) {
  return Identity(IdType::kDerAsn1Dn, std::move(der));
}

std::optional<Identity> Identity::parse(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text == "%any") return Identity();
  if (text[0] == '@') {
    if (text.size() == 1) return std::nullopt;
    return fqdn(text.substr(1));
  }
  if (auto a = IpAddress::parse(text)) return address(*a);
  if (text.find('@') != std::string_view::npos) return rfc822(text);
  if (text.find('=') != std::string_view::npos) return std::nullopt;  // a DN
  return fqdn(text);
}

ByteVec Identity::payloadBody() const {
  ByteVec out(4 + data_.size(), 0);
  out[0] = static_cast<uint8_t>(type_);
  std::copy(data_.begin(), data_.end(), out.begin() + 4);
  return out;
}

bool Identity::matches(const Identity& r) const {
  if (any_) return true;
  if (r.any_ || type_ != r.type_) return false;
  if (type_ == IdType::kFqdn || type_ == IdType::kRfc822Addr) return equalNoCase(data_, r.data_);
  return data_ == r.data_;
}

std::string Identity::toString() const {
  if (any_) return "%any";
  switch (type_) {
    case IdType::kFqdn:
    case IdType::kRfc822Addr:
      return std::string(data_.begin(), data_.end());
    case IdType::kIpv4Addr:
    case IdType::kIpv6Addr:
      if (auto a = IpAddress::fromBytes(data_)) return a->toString();
      break;
    case IdType::kDerAsn1Dn:
      return "dn:" + toHex(data_);
    default:
      break;
  }
  return "id" + std::to_string(static_cast<int>(type_)) + ":" + toHex(data_);
}

}  // namespace braid::ike
