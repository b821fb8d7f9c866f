#include "ipsec/ike/payload.hpp"

#include <sstream>

namespace braid::ike {
namespace {

constexpr uint8_t kLastSubstruct = 0;
constexpr uint8_t kMoreProposals = 2;   // RFC 7296 3.3.1
constexpr uint8_t kMoreTransforms = 3;  // RFC 7296 3.3.2
constexpr uint16_t kAttrFormatTv = 0x8000;

ByteVec toVec(Bytes b) {
  return ByteVec(b.begin(), b.end());
}

bool readRest(ByteReader& r, ByteVec& out) {
  Bytes b;
  r.readRest(b);
  out = toVec(b);
  return true;
}

bool readReserved(ByteReader& r, size_t n) {
  return r.skip(n);
}

// Writes a 16-bit length at `at` covering everything written since `start`.
bool patchLength(ByteWriter& w, MutableBytes at, size_t start) {
  size_t len = w.position() - start;
  if (len > 0xFFFF) return false;
  storeBe16(at.data(), static_cast<uint16_t>(len));
  return true;
}

bool parseTransform(ByteReader& r, Transform& t) {
  uint8_t type = 0, reserved = 0;
  uint16_t id = 0;
  if (!r.readU8(type) || !r.readU8(reserved) || !r.readU16(id)) return false;
  t.type = static_cast<TransformType>(type);
  t.id = id;
  t.keyBits = 0;
  while (!r.empty()) {
    uint16_t af = 0, lenOrValue = 0;
    if (!r.readU16(af) || !r.readU16(lenOrValue)) return false;
    uint16_t attrType = af & 0x7FFF;
    if (af & kAttrFormatTv) {
      t.keyBits = attrType == kKeyLengthAttribute && t.keyBits != kUnknownAttributeBits
                      ? lenOrValue
                      : kUnknownAttributeBits;
    } else {
      if (!r.skip(lenOrValue)) return false;
      t.keyBits = kUnknownAttributeBits;
    }
  }
  return true;
}

bool parseProposal(ByteReader& r, Proposal& p) {
  uint8_t protocol = 0, spiSize = 0, numTransforms = 0;
  if (!r.readU8(p.number) || !r.readU8(protocol) || !r.readU8(spiSize) ||
      !r.readU8(numTransforms)) {
    return false;
  }
  p.protocol = static_cast<ProtocolId>(protocol);
  Bytes spi;
  if (!r.readBytes(spiSize, spi)) return false;
  p.spi = toVec(spi);
  for (uint8_t i = 0; i < numTransforms; ++i) {
    uint8_t last = 0, reserved = 0;
    uint16_t len = 0;
    if (!r.readU8(last) || !r.readU8(reserved) || !r.readU16(len) || len < 8) return false;
    bool isLast = i + 1 == numTransforms;
    if (last != (isLast ? kLastSubstruct : kMoreTransforms)) return false;
    Bytes body;
    if (!r.readBytes(len - 4u, body)) return false;
    ByteReader tr(body);
    Transform t;
    if (!parseTransform(tr, t)) return false;
    p.transforms.push_back(t);
  }
  return r.empty();
}

bool writeTransform(ByteWriter& w, const Transform& t, bool last) {
  size_t start = w.position();
  MutableBytes len;
  if (!w.writeU8(last ? kLastSubstruct : kMoreTransforms) || !w.writeU8(0) || !w.reserve(2, len) ||
      !w.writeU8(static_cast<uint8_t>(t.type)) || !w.writeU8(0) || !w.writeU16(t.id)) {
    return false;
  }
  if (t.keyBits != 0 && t.keyBits != kUnknownAttributeBits) {
    if (!w.writeU16(kAttrFormatTv | kKeyLengthAttribute) || !w.writeU16(t.keyBits)) return false;
  }
  return patchLength(w, len, start);
}

bool writeProposal(ByteWriter& w, const Proposal& p, bool last) {
  if (p.spi.size() > 255 || p.transforms.size() > 255) return false;
  size_t start = w.position();
  MutableBytes len;
  if (!w.writeU8(last ? kLastSubstruct : kMoreProposals) || !w.writeU8(0) || !w.reserve(2, len) ||
      !w.writeU8(p.number) || !w.writeU8(static_cast<uint8_t>(p.protocol)) ||
      !w.writeU8(static_cast<uint8_t>(p.spi.size())) ||
      !w.writeU8(static_cast<uint8_t>(p.transforms.size())) || !w.writeBytes(p.spi)) {
    return false;
  }
  for (size_t i = 0; i < p.transforms.size(); ++i) {
    if (!writeTransform(w, p.transforms[i], i + 1 == p.transforms.size())) return false;
  }
  return patchLength(w, len, start);
}

}  // namespace

bool SaPayload::parse(ByteReader& r) {
  proposals.clear();
  bool last = false;
  while (!last) {
    uint8_t more = 0, reserved = 0;
    uint16_t len = 0;
    if (!r.readU8(more) || !r.readU8(reserved) || !r.readU16(len) || len < 8) return false;
    if (more != kLastSubstruct && more != kMoreProposals) return false;
    last = more == kLastSubstruct;
    Bytes body;
    if (!r.readBytes(len - 4u, body)) return false;
    ByteReader pr(body);
    Proposal p;
    if (!parseProposal(pr, p)) return false;
    proposals.push_back(std::move(p));
  }
  return r.empty();
}

bool SaPayload::serialize(ByteWriter& w) const {
  if (proposals.empty()) return false;
  for (size_t i = 0; i < proposals.size(); ++i) {
    if (!writeProposal(w, proposals[i], i + 1 == proposals.size())) return false;
  }
  return true;
}

bool KePayload::parse(ByteReader& r) {
  return r.readU16(group) && readReserved(r, 2) && readRest(r, data);
}
bool KePayload::serialize(ByteWriter& w) const {
  return w.writeU16(group) && w.writeU16(0) && w.writeBytes(data);
}

bool IdPayload::parse(ByteReader& r) {
  uint8_t t = 0;
  if (!r.readU8(t) || !readReserved(r, 3)) return false;
  idType = static_cast<IdType>(t);
  return readRest(r, data);
}
bool IdPayload::serialize(ByteWriter& w) const {
  return w.writeU8(static_cast<uint8_t>(idType)) && w.writeZeros(3) && w.writeBytes(data);
}

bool CertPayload::parse(ByteReader& r) {
  return r.readU8(encoding) && readRest(r, data);
}
bool CertPayload::serialize(ByteWriter& w) const {
  return w.writeU8(encoding) && w.writeBytes(data);
}

bool CertReqPayload::parse(ByteReader& r) {
  return r.readU8(encoding) && readRest(r, authorities);
}
bool CertReqPayload::serialize(ByteWriter& w) const {
  return w.writeU8(encoding) && w.writeBytes(authorities);
}

bool AuthPayload::parse(ByteReader& r) {
  uint8_t m = 0;
  if (!r.readU8(m) || !readReserved(r, 3)) return false;
  method = static_cast<AuthMethod>(m);
  return readRest(r, data);
}
bool AuthPayload::serialize(ByteWriter& w) const {
  return w.writeU8(static_cast<uint8_t>(method)) && w.writeZeros(3) && w.writeBytes(data);
}

bool NoncePayload::parse(ByteReader& r) {
  if (r.remaining() < kMinLength || r.remaining() > kMaxLength) return false;
  return readRest(r, data);
}
bool NoncePayload::serialize(ByteWriter& w) const {
  return w.writeBytes(data);
}

bool NotifyPayload::parse(ByteReader& r) {
  uint8_t proto = 0, spiSize = 0;
  Bytes s;
  if (!r.readU8(proto) || !r.readU8(spiSize) || !r.readU16(notifyType) ||
      !r.readBytes(spiSize, s)) {
    return false;
  }
  protocol = static_cast<ProtocolId>(proto);
  spi = toVec(s);
  return readRest(r, data);
}
bool NotifyPayload::serialize(ByteWriter& w) const {
  if (spi.size() > 255) return false;
  return w.writeU8(static_cast<uint8_t>(protocol)) && w.writeU8(static_cast<uint8_t>(spi.size())) &&
         w.writeU16(notifyType) && w.writeBytes(spi) && w.writeBytes(data);
}

bool DeletePayload::parse(ByteReader& r) {
  uint8_t proto = 0, spiSize = 0;
  uint16_t count = 0;
  if (!r.readU8(proto) || !r.readU8(spiSize) || !r.readU16(count)) return false;
  protocol = static_cast<ProtocolId>(proto);
  spis.clear();
  if (protocol == ProtocolId::kIke) {
    // RFC 7296 3.11: SPI size 0 for IKE (strongSwan also accepts 8 with one SPI; we don't).
    return spiSize == 0 && count == 0 && r.empty();
  }
  if (spiSize != 4 || r.remaining() != size_t{count} * 4) return false;
  for (uint16_t i = 0; i < count; ++i) {
    uint32_t spi = 0;
    if (!r.readU32(spi)) return false;
    spis.push_back(spi);
  }
  return true;
}
bool DeletePayload::serialize(ByteWriter& w) const {
  bool ike = protocol == ProtocolId::kIke;
  if (ike && !spis.empty()) return false;
  if (spis.size() > 0xFFFF) return false;
  if (!w.writeU8(static_cast<uint8_t>(protocol)) || !w.writeU8(ike ? 0 : 4) ||
      !w.writeU16(static_cast<uint16_t>(spis.size()))) {
    return false;
  }
  for (uint32_t s : spis) {
    if (!w.writeU32(s)) return false;
  }
  return true;
}

bool VendorIdPayload::parse(ByteReader& r) {
  return readRest(r, data);
}
bool VendorIdPayload::serialize(ByteWriter& w) const {
  return w.writeBytes(data);
}

bool TsPayload::parse(ByteReader& r) {
  uint8_t count = 0;
  if (!r.readU8(count) || !readReserved(r, 3) || count == 0) return false;
  selectors.clear();
  for (uint8_t i = 0; i < count; ++i) {
    uint8_t type = 0, proto = 0;
    uint16_t len = 0;
    if (!r.readU8(type) || !r.readU8(proto) || !r.readU16(len) || len < 4) return false;
    Bytes body;
    if (!r.readBytes(len - 4u, body)) return false;
    size_t addrLen = type == kTsIpv4AddrRange ? 4 : type == kTsIpv6AddrRange ? 16 : 0;
    if (addrLen == 0) continue;  // a selector type we don't use (e.g. RFC 4595)
    ByteReader br(body);
    TrafficSelector ts;
    ts.ipProtocol = proto;
    Bytes a, b;
    if (!br.readU16(ts.startPort) || !br.readU16(ts.endPort) || !br.readBytes(addrLen, a) ||
        !br.readBytes(addrLen, b) || !br.empty()) {
      return false;
    }
    ts.start = *IpAddress::fromBytes(a);
    ts.end = *IpAddress::fromBytes(b);
    selectors.push_back(ts);
  }
  return r.empty();
}
bool TsPayload::serialize(ByteWriter& w) const {
  if (selectors.empty() || selectors.size() > 255) return false;
  if (!w.writeU8(static_cast<uint8_t>(selectors.size())) || !w.writeZeros(3)) return false;
  for (const auto& ts : selectors) {
    if (ts.start.family() != ts.end.family()) return false;
    bool v4 = ts.start.isV4();
    if (!w.writeU8(v4 ? kTsIpv4AddrRange : kTsIpv6AddrRange) || !w.writeU8(ts.ipProtocol) ||
        !w.writeU16(v4 ? 16 : 40) || !w.writeU16(ts.startPort) || !w.writeU16(ts.endPort) ||
        !w.writeBytes(ts.start.bytes()) || !w.writeBytes(ts.end.bytes())) {
      return false;
    }
  }
  return true;
}

bool CpPayload::parse(ByteReader& r) {
  if (!r.readU8(cfgType) || !readReserved(r, 3)) return false;
  attributes.clear();
  while (!r.empty()) {
    uint16_t type = 0, len = 0;
    Bytes v;
    if (!r.readU16(type) || !r.readU16(len) || !r.readBytes(len, v)) return false;
    attributes.push_back({static_cast<uint16_t>(type & 0x7FFF), toVec(v)});
  }
  return true;
}
bool CpPayload::serialize(ByteWriter& w) const {
  if (!w.writeU8(cfgType) || !w.writeZeros(3)) return false;
  for (const auto& a : attributes) {
    if (a.value.size() > 0xFFFF || !w.writeU16(a.type & 0x7FFF) ||
        !w.writeU16(static_cast<uint16_t>(a.value.size())) || !w.writeBytes(a.value)) {
      return false;
    }
  }
  return true;
}

bool EapPayload::parse(ByteReader& r) {
  // RFC 7296 3.16: at least the EAP header; its own Length is checked by eap.hpp.
  if (r.remaining() < 4) return false;
  Bytes b;
  r.readRest(b);
  message.assign(b.begin(), b.end());
  return true;
}
bool EapPayload::serialize(ByteWriter& w) const {
  return w.writeBytes(message);
}

bool UnknownPayload::parse(ByteReader& r) {
  return readRest(r, body);
}
bool UnknownPayload::serialize(ByteWriter& w) const {
  return w.writeBytes(body);
}

bool isKnownPayload(PayloadType type) {
  switch (type) {
    case PayloadType::kSa:
    case PayloadType::kKe:
    case PayloadType::kIdi:
    case PayloadType::kIdr:
    case PayloadType::kCert:
    case PayloadType::kCertReq:
    case PayloadType::kAuth:
    case PayloadType::kNonce:
    case PayloadType::kNotify:
    case PayloadType::kDelete:
    case PayloadType::kVendorId:
    case PayloadType::kTsi:
    case PayloadType::kTsr:
    case PayloadType::kCp:
    case PayloadType::kEap:
      return true;
    default:
      return false;
  }
}

namespace {
template <typename T>
std::optional<PayloadBody> parseAs(Bytes body) {
  ByteReader r(body);
  T t;
  if (!t.parse(r) || !r.empty()) return std::nullopt;
  return PayloadBody(std::move(t));
}
}  // namespace

std::optional<PayloadBody> parsePayloadBody(PayloadType type, Bytes body) {
  switch (type) {
    case PayloadType::kSa:
      return parseAs<SaPayload>(body);
    case PayloadType::kKe:
      return parseAs<KePayload>(body);
    case PayloadType::kIdi:
    case PayloadType::kIdr:
      return parseAs<IdPayload>(body);
    case PayloadType::kCert:
      return parseAs<CertPayload>(body);
    case PayloadType::kCertReq:
      return parseAs<CertReqPayload>(body);
    case PayloadType::kAuth:
      return parseAs<AuthPayload>(body);
    case PayloadType::kNonce:
      return parseAs<NoncePayload>(body);
    case PayloadType::kNotify:
      return parseAs<NotifyPayload>(body);
    case PayloadType::kDelete:
      return parseAs<DeletePayload>(body);
    case PayloadType::kVendorId:
      return parseAs<VendorIdPayload>(body);
    case PayloadType::kTsi:
    case PayloadType::kTsr:
      return parseAs<TsPayload>(body);
    case PayloadType::kCp:
      return parseAs<CpPayload>(body);
    case PayloadType::kEap:
      return parseAs<EapPayload>(body);
    default:
      return parseAs<UnknownPayload>(body);
  }
}

bool serializePayloadBody(const PayloadBody& body, ByteWriter& w) {
  return std::visit([&](const auto& p) { return p.serialize(w); }, body);
}

std::string payloadSummary(const Payload& p) {
  if (const auto* n = std::get_if<NotifyPayload>(&p.body)) {
    return "N(" + notifyName(n->notifyType) + ")";
  }
  if (const auto* d = std::get_if<DeletePayload>(&p.body)) {
    return d->protocol == ProtocolId::kIke ? "D(IKE)" : "D(ESP)";
  }
  if (std::holds_alternative<UnknownPayload>(p.body)) {
    return "UNKNOWN(" + std::to_string(static_cast<int>(p.type)) + ")";
  }
  return std::string(payloadName(p.type));
}

}  // namespace braid::ike
