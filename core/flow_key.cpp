#include "core/flow_key.hpp"

namespace braid {

namespace {

bool readPorts(ByteReader& r, uint8_t proto, FlowKey& key) {
  if (proto != kProtoTcp && proto != kProtoUdp && proto != 132 /*SCTP*/) return true;
  uint16_t sport = 0, dport = 0;
  if (!r.readU16(sport) || !r.readU16(dport)) return false;
  key.srcPort = sport;
  key.dstPort = dport;
  return true;
}

std::optional<FlowKey> parseV4(ByteReader r, Bytes packet) {
  uint8_t verIhl = 0, tos = 0, ttl = 0, proto = 0;
  uint16_t totalLen = 0, id = 0, fragOff = 0, csum = 0;
  Bytes src, dst;
  if (!r.readU8(verIhl) || !r.readU8(tos) || !r.readU16(totalLen) || !r.readU16(id) ||
      !r.readU16(fragOff) || !r.readU8(ttl) || !r.readU8(proto) || !r.readU16(csum) ||
      !r.readBytes(4, src) || !r.readBytes(4, dst)) {
    return std::nullopt;
  }
  size_t ihl = size_t{verIhl & 0x0Fu} * 4;
  if (ihl < 20 || ihl > packet.size()) return std::nullopt;
  FlowKey key{IpAddress::v4(src), IpAddress::v4(dst), proto, 0, 0};
  if (!r.skip(ihl - 20)) return std::nullopt;
  bool laterFragment = (fragOff & 0x1FFF) != 0;
  if (!laterFragment && !readPorts(r, proto, key)) return std::nullopt;
  return key;
}

std::optional<FlowKey> parseV6(ByteReader r) {
  uint32_t first = 0;
  uint16_t payloadLen = 0;
  uint8_t next = 0, hops = 0;
  Bytes src, dst;
  if (!r.readU32(first) || !r.readU16(payloadLen) || !r.readU8(next) || !r.readU8(hops) ||
      !r.readBytes(16, src) || !r.readBytes(16, dst)) {
    return std::nullopt;
  }
  FlowKey key{IpAddress::v6(src), IpAddress::v6(dst), next, 0, 0};
  // RFC 8200 section 4: walk a bounded number of extension headers.
  for (int i = 0; i < 8; ++i) {
    if (next == 0 || next == 43 || next == 60) {
      uint8_t nh = 0, len = 0;
      if (!r.readU8(nh) || !r.readU8(len) || !r.skip(size_t{len} * 8 + 6)) return std::nullopt;
      next = nh;
    } else if (next == 44) {
      uint8_t nh = 0, reserved = 0;
      uint16_t offFlags = 0;
      uint32_t ident = 0;
      if (!r.readU8(nh) || !r.readU8(reserved) || !r.readU16(offFlags) || !r.readU32(ident)) {
        return std::nullopt;
      }
      next = nh;
      if ((offFlags & 0xFFF8) != 0) {  // not the first fragment: no transport header
        key.proto = next;
        return key;
      }
    } else {
      break;
    }
  }
  key.proto = next;
  if (!readPorts(r, next, key)) return std::nullopt;
  return key;
}

}  // namespace

std::optional<FlowKey> FlowKey::parse(Bytes packet) {
  ByteReader r(packet);
  uint8_t v = 0;
  if (!r.peekU8(v)) return std::nullopt;
  switch (v >> 4) {
    case 4:
      return parseV4(r, packet);
    case 6:
      return parseV6(r);
    default:
      return std::nullopt;
  }
}

std::string FlowKey::toString() const {
  auto endpoint = [](const IpAddress& a, uint16_t port) {
    std::string s = a.isV6() ? "[" + a.toString() + "]" : a.toString();
    return s + ":" + std::to_string(port);
  };
  return endpoint(src, srcPort) + " -> " + endpoint(dst, dstPort) + " proto " +
         std::to_string(proto);
}

size_t FlowKey::hash() const {
  // FNV-1a over the tuple: cheap and stable across runs (useful for reproducible tests).
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](Bytes b) {
    for (uint8_t c : b) h = (h ^ c) * 1099511628211ull;
  };
  mix(src.bytes());
  mix(dst.bytes());
  uint8_t tail[5] = {proto, static_cast<uint8_t>(srcPort >> 8), static_cast<uint8_t>(srcPort),
                     static_cast<uint8_t>(dstPort >> 8), static_cast<uint8_t>(dstPort)};
  mix(tail);
  return static_cast<size_t>(h);
}

}  // namespace braid
