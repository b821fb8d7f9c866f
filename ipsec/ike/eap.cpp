#include "ipsec/ike/eap.hpp"

namespace braid::ike {
namespace {

void putU16(ByteVec& v, uint16_t x) {
  v.push_back(uint8_t(x >> 8));
  v.push_back(uint8_t(x));
}

}  // namespace

std::optional<EapPacket> EapPacket::decode(Bytes packet) {
  ByteReader r(packet);
  uint8_t code = 0;
  EapPacket p;
  uint16_t length = 0;
  if (!r.readU8(code) || !r.readU8(p.identifier) || !r.readU16(length)) return std::nullopt;
  if (code < 1 || code > 4 || length != packet.size()) return std::nullopt;
  p.code = static_cast<EapCode>(code);
  if (p.code == EapCode::kSuccess || p.code == EapCode::kFailure) {
    if (length != 4) return std::nullopt;  // RFC 3748 4.2: no data
    return p;
  }
  if (!r.readU8(p.type)) return std::nullopt;  // RFC 3748 4.1: a type is required
  Bytes rest;
  r.readRest(rest);
  p.data.assign(rest.begin(), rest.end());
  return p;
}

ByteVec EapPacket::encode() const {
  ByteVec v;
  bool typed = code == EapCode::kRequest || code == EapCode::kResponse;
  size_t len = 4 + (typed ? 1 + data.size() : 0);
  v.push_back(static_cast<uint8_t>(code));
  v.push_back(identifier);
  putU16(v, uint16_t(len));
  if (typed) {
    v.push_back(type);
    v.insert(v.end(), data.begin(), data.end());
  }
  return v;
}

std::string EapPacket::summary() const {
  switch (code) {
    case EapCode::kSuccess:
      return "EAP-Success";
    case EapCode::kFailure:
      return "EAP-Failure";
    default:
      break;
  }
  std::string s = code == EapCode::kRequest ? "EAP-Request/" : "EAP-Response/";
  switch (type) {
    case eap_type::kIdentity:
      return s + "Identity";
    case eap_type::kNak:
      return s + "Nak";
    case eap_type::kMschapv2:
      return s + "MSCHAPv2";
    default:
      return s + std::to_string(type);
  }
}

namespace mschapv2 {

std::optional<Message> Message::decode(Bytes typeData) {
  ByteReader r(typeData);
  uint8_t op = 0;
  Message m;
  if (!r.readU8(op)) return std::nullopt;
  if (op != 1 && op != 2 && op != 3 && op != 4 && op != 7) return std::nullopt;
  m.op = static_cast<OpCode>(op);
  // draft-kamath 2.3, 2.4: the peer acknowledges Success and Failure with the OpCode alone.
  if (r.empty() && (m.op == OpCode::kSuccess || m.op == OpCode::kFailure)) return m;
  uint16_t msLength = 0;
  if (!r.readU8(m.msId) || !r.readU16(msLength)) return std::nullopt;
  // MS-Length counts from the OpCode (the EAP Length minus 5).
  if (msLength != typeData.size()) return std::nullopt;
  Bytes rest;
  r.readRest(rest);
  m.data.assign(rest.begin(), rest.end());
  return m;
}

ByteVec Message::encode() const {
  ByteVec v;
  v.push_back(static_cast<uint8_t>(op));
  if (data.empty() && (op == OpCode::kSuccess || op == OpCode::kFailure) && msId == 0) return v;
  v.push_back(msId);
  putU16(v, uint16_t(4 + data.size()));
  v.insert(v.end(), data.begin(), data.end());
  return v;
}

std::optional<ChallengeData> ChallengeData::decode(Bytes data) {
  ByteReader r(data);
  uint8_t size = 0;
  ChallengeData c;
  if (!r.readU8(size) || size != 16 || !r.copyBytes(c.challenge)) return std::nullopt;
  Bytes name;
  r.readRest(name);
  c.name.assign(name.begin(), name.end());
  return c;
}

ByteVec ChallengeData::encode() const {
  ByteVec v{16};
  v.insert(v.end(), challenge.begin(), challenge.end());
  v.insert(v.end(), name.begin(), name.end());
  return v;
}

std::optional<ResponseData> ResponseData::decode(Bytes data) {
  ByteReader r(data);
  uint8_t size = 0;
  ResponseData d;
  Bytes reserved;
  if (!r.readU8(size) || size != 49 || !r.copyBytes(d.peerChallenge) || !r.readBytes(8, reserved) ||
      !r.copyBytes(d.ntResponse) || !r.readU8(d.flags)) {
    return std::nullopt;
  }
  Bytes name;
  r.readRest(name);
  d.name.assign(name.begin(), name.end());
  return d;
}

ByteVec ResponseData::encode() const {
  ByteVec v{49};
  v.insert(v.end(), peerChallenge.begin(), peerChallenge.end());
  v.insert(v.end(), 8, 0);
  v.insert(v.end(), ntResponse.begin(), ntResponse.end());
  v.push_back(flags);
  v.insert(v.end(), name.begin(), name.end());
  return v;
}

EapPacket makePacket(EapCode code, uint8_t identifier, const Message& m) {
  EapPacket p;
  p.code = code;
  p.identifier = identifier;
  p.type = eap_type::kMschapv2;
  p.data = m.encode();
  return p;
}

}  // namespace mschapv2
}  // namespace braid::ike
