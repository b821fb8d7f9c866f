#include "ipsec/ike/payload_cp.hpp"

#include <string>

namespace braid::ike {
namespace {

Status bad(uint16_t type, size_t len) {
  return errorStatus(ErrorCode::kInvalidArgument, "CP attribute " + std::to_string(type) +
                                                      " with length " + std::to_string(len));
}

// A contiguous IPv4 mask (RFC 7296 3.15.1 INTERNAL_IP4_NETMASK/SUBNET) as a prefix length.
std::optional<uint8_t> maskLength(Bytes m) {
  uint32_t v = loadBe32(m.data());
  uint32_t inverted = ~v;
  if ((inverted & (inverted + 1)) != 0) return std::nullopt;  // ones then zeros only
  return static_cast<uint8_t>(__builtin_popcount(v));
}

ByteVec maskBytes(uint8_t length) {
  uint32_t v = length == 0 ? 0 : ~uint32_t{0} << (32 - length);
  ByteVec out(4);
  storeBe32(out.data(), v);
  return out;
}

ByteVec addressBytes(const IpAddress& a) {
  Bytes b = a.bytes();
  return ByteVec(b.begin(), b.end());
}

ByteVec withLength(const IpAddress& a, uint8_t length) {
  ByteVec v = addressBytes(a);
  v.push_back(length);
  return v;
}

}  // namespace

Result<ConfigPayload> ConfigPayload::fromPayload(const CpPayload& cp) {
  ConfigPayload out;
  if (cp.cfgType < kCfgRequest || cp.cfgType > kCfgAck) {
    return errorStatus(ErrorCode::kInvalidArgument,
                       "CP type " + std::to_string(static_cast<int>(cp.cfgType)));
  }
  out.cfgType = cp.cfgType;
  for (const CpAttribute& a : cp.attributes) {
    const size_t n = a.value.size();
    const Bytes v(a.value);
    switch (a.type) {
      case cfg::kInternalIp4Address:
        if (n == 0) {
          out.wantIp4Address = true;
        } else if (n == 4) {
          out.ip4Addresses.push_back(IpAddress::v4(v));
        } else {
          return bad(a.type, n);
        }
        break;
      case cfg::kInternalIp4Netmask:
        if (n == 0) {
          out.wantIp4Netmask = true;
        } else if (n == 4 && !out.ip4Netmask && maskLength(v)) {
          out.ip4Netmask = IpAddress::v4(v);
        } else {
          return bad(a.type, n);
        }
        break;
      case cfg::kInternalIp4Dns:
        if (n == 0) {
          out.wantIp4Dns = true;
        } else if (n == 4) {
          out.ip4Dns.push_back(IpAddress::v4(v));
        } else {
          return bad(a.type, n);
        }
        break;
      case cfg::kInternalIp6Dns:
        if (n == 0) {
          out.wantIp6Dns = true;
        } else if (n == 16) {
          out.ip6Dns.push_back(IpAddress::v6(v));
        } else {
          return bad(a.type, n);
        }
        break;
      case cfg::kInternalIp6Address:
        if (n == 0) {
          out.wantIp6Address = true;
        } else if (n == 17 && v[16] <= 128) {
          out.ip6Addresses.push_back({IpAddress::v6(v.first(16)), v[16]});
        } else {
          return bad(a.type, n);
        }
        break;
      case cfg::kInternalIp4Subnet: {
        if (n == 0) {
          out.wantIp4Subnet = true;
          break;
        }
        auto len = n == 8 ? maskLength(v.subspan(4)) : std::nullopt;
        if (!len) return bad(a.type, n);
        out.ip4Subnets.emplace_back(IpAddress::v4(v.first(4)), *len);
        break;
      }
      case cfg::kInternalIp6Subnet:
        if (n == 0) {
          out.wantIp6Subnet = true;
        } else if (n == 17 && v[16] <= 128) {
          out.ip6Subnets.emplace_back(IpAddress::v6(v.first(16)), v[16]);
        } else {
          return bad(a.type, n);
        }
        break;
      default:
        out.other.push_back(a);
        break;
    }
  }
  return out;
}

CpPayload ConfigPayload::toPayload() const {
  CpPayload cp;
  cp.cfgType = cfgType;
  auto add = [&](uint16_t type, ByteVec value) {
    cp.attributes.push_back({type, std::move(value)});
  };
  if (wantIp4Address) add(cfg::kInternalIp4Address, {});
  for (const auto& a : ip4Addresses) add(cfg::kInternalIp4Address, addressBytes(a));
  if (wantIp4Netmask) add(cfg::kInternalIp4Netmask, {});
  if (ip4Netmask) add(cfg::kInternalIp4Netmask, addressBytes(*ip4Netmask));
  if (wantIp4Dns) add(cfg::kInternalIp4Dns, {});
  for (const auto& a : ip4Dns) add(cfg::kInternalIp4Dns, addressBytes(a));
  if (wantIp4Subnet) add(cfg::kInternalIp4Subnet, {});
  for (const auto& p : ip4Subnets) {
    ByteVec v = addressBytes(p.address());
    ByteVec m = maskBytes(p.length());
    v.insert(v.end(), m.begin(), m.end());
    add(cfg::kInternalIp4Subnet, std::move(v));
  }
  if (wantIp6Address) add(cfg::kInternalIp6Address, {});
  for (const auto& a : ip6Addresses) {
    add(cfg::kInternalIp6Address, withLength(a.address, a.prefixLength));
  }
  if (wantIp6Dns) add(cfg::kInternalIp6Dns, {});
  for (const auto& a : ip6Dns) add(cfg::kInternalIp6Dns, addressBytes(a));
  if (wantIp6Subnet) add(cfg::kInternalIp6Subnet, {});
  for (const auto& p : ip6Subnets)
    add(cfg::kInternalIp6Subnet, withLength(p.address(), p.length()));
  for (const auto& a : other) cp.attributes.push_back(a);
  return cp;
}

}  // namespace braid::ike
