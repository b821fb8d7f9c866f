#include "ipsec/ike/message.hpp"

#include <sstream>

#include "ipsec/ike/rules.hpp"

namespace braid::ike {
namespace {

constexpr size_t kMaxMessage = 65535;

DecodeError syntax(std::string reason) {
  return DecodeError{notify::kInvalidSyntax, std::move(reason), {}};
}

bool writeChain(ByteWriter& w, const std::vector<Payload>& list) {
  for (size_t i = 0; i < list.size(); ++i) {
    const Payload& p = list[i];
    PayloadType next = i + 1 < list.size() ? list[i + 1].type : PayloadType::kNone;
    size_t start = w.position();
    MutableBytes len;
    if (!w.writeU8(static_cast<uint8_t>(next)) || !w.writeU8(p.critical ? kCriticalBit : 0) ||
        !w.reserve(2, len) || !serializePayloadBody(p.body, w)) {
      return false;
    }
    size_t n = w.position() - start;
    if (n > 0xFFFF) return false;
    storeBe16(len.data(), static_cast<uint16_t>(n));
  }
  return true;
}

}  // namespace

bool writeIkeHeader(ByteWriter& w, const IkeHeader& h, PayloadType next) {
  return w.writeU64(h.spiI) && w.writeU64(h.spiR) && w.writeU8(static_cast<uint8_t>(next)) &&
         w.writeU8(static_cast<uint8_t>(h.majorVersion << 4 | (h.minorVersion & 0x0F))) &&
         w.writeU8(static_cast<uint8_t>(h.exchange)) && w.writeU8(h.flags) &&
         w.writeU32(h.messageId) && w.writeU32(0);
}

bool parseIkeHeader(Bytes d, IkeHeader& h) {
  ByteReader r(d);
  uint8_t next = 0, version = 0, exchange = 0;
  if (!r.readU64(h.spiI) || !r.readU64(h.spiR) || !r.readU8(next) || !r.readU8(version) ||
      !r.readU8(exchange) || !r.readU8(h.flags) || !r.readU32(h.messageId) ||
      !r.readU32(h.length)) {
    return false;
  }
  h.nextPayload = static_cast<PayloadType>(next);
  h.majorVersion = version >> 4;
  h.minorVersion = version & 0x0F;
  h.exchange = static_cast<ExchangeType>(exchange);
  return true;
}

Message::Message(ExchangeType exchange, bool response, uint32_t messageId) {
  header.exchange = exchange;
  header.messageId = messageId;
  if (response) header.flags |= kFlagResponse;
}

std::optional<DecodeError> Message::parse(Bytes datagram) {
  payloads.clear();
  skOffset_ = 0;
  decrypted_ = false;
  fragment_ = false;
  fragNumber_ = fragTotal_ = 0;
  if (!parseIkeHeader(datagram, header)) return DecodeError{0, "shorter than IKE header", {}};
  // RFC 7296 2.5: a higher major version gets INVALID_MAJOR_VERSION (only to requests).
  if (header.majorVersion != kIkeMajorVersion) {
    return DecodeError{
        notify::kInvalidMajorVersion, "major version " + std::to_string(header.majorVersion), {}};
  }
  if (header.length != datagram.size()) {
    return DecodeError{0,
                       "length field " + std::to_string(header.length) + " but datagram has " +
                           std::to_string(datagram.size()) + " bytes",
                       {}};
  }
  raw_.assign(datagram.begin(), datagram.end());
  return parseChain(Bytes(raw_).subspan(kIkeHeaderLength), header.nextPayload, false,
                    kIkeHeaderLength);
}

std::optional<DecodeError> Message::parseChain(Bytes chain, PayloadType next, bool encrypted,
                                               size_t chainOffset) {
  ByteReader r(chain);
  while (next != PayloadType::kNone) {
    size_t offset = chainOffset + r.position();
    uint8_t nextRaw = 0, flags = 0;
    uint16_t len = 0;
    if (!r.readU8(nextRaw) || !r.readU8(flags) || !r.readU16(len)) {
      return syntax("truncated header of " + std::string(payloadName(next)) + " payload");
    }
    Bytes body;
    if (len < kPayloadHeaderLength || !r.readBytes(len - kPayloadHeaderLength, body)) {
      return syntax("bad length " + std::to_string(len) + " of " + std::string(payloadName(next)) +
                    " payload");
    }
    PayloadType type = next;
    next = static_cast<PayloadType>(nextRaw);
    if (type == PayloadType::kSk) {
      // RFC 7296 3.14: SK is the last payload; its next-payload names the inner chain.
      if (encrypted) return syntax("SK payload inside SK");
      if (!r.empty()) return syntax("payloads after SK");
      skOffset_ = offset;
      skInner_ = next;
      return std::nullopt;
    }
    if (type == PayloadType::kSkf) {
      // RFC 7383 2.5: like SK, the last payload; Fragment Number and Total Fragments first.
      ByteReader f(body);
      if (encrypted) return syntax("SKF payload inside SK");
      if (!r.empty()) return syntax("payloads after SKF");
      if (!f.readU16(fragNumber_) || !f.readU16(fragTotal_)) return syntax("SKF too short");
      skOffset_ = offset;
      skInner_ = next;
      fragment_ = true;
      return std::nullopt;
    }
    bool critical = flags & kCriticalBit;
    if (!isKnownPayload(type) && critical) {
      // RFC 7296 2.5: reject the whole message, naming the payload type.
      return DecodeError{
          notify::kUnsupportedCriticalPayload,
          "unsupported critical payload type " + std::to_string(static_cast<int>(type)),
          ByteVec{static_cast<uint8_t>(type)}};
    }
    auto parsed = parsePayloadBody(type, body);
    if (!parsed) return syntax("malformed " + std::string(payloadName(type)) + " payload");
    payloads.push_back(Payload{type, critical, encrypted, std::move(*parsed)});
  }
  if (!r.empty()) return syntax("trailing bytes after the last payload");
  return std::nullopt;
}

std::optional<DecodeError> Message::decrypt(const IkeCipher& cipher) {
  if (!hasSk() || decrypted_) return std::nullopt;
  if (fragment_) return DecodeError{0, "SKF fragment not reassembled", {}};
  size_t bodyOffset = skOffset_ + kPayloadHeaderLength;
  Bytes all(raw_);
  // RFC 7296 2.21.2: a message failing the integrity check is dropped without a reply; so is
  // one whose padding is broken (we cannot tell the two apart for CBC before the ICV check).
  auto plain = cipher.decrypt(all.first(bodyOffset), all.subspan(bodyOffset));
  if (!plain) return DecodeError{0, "SK payload: " + plain.status().message(), {}};
  decrypted_ = true;
  inner_ = std::move(plain.value());
  return parseChain(inner_, skInner_, true, 0);
}

std::optional<DecodeError> Message::adoptReassembled(PayloadType first, ByteVec inner,
                                                     ByteVec raw) {
  raw_ = std::move(raw);
  inner_ = std::move(inner);
  skInner_ = first;
  fragment_ = false;
  decrypted_ = true;
  payloads.clear();
  return parseChain(inner_, skInner_, true, 0);
}

std::optional<DecodeError> Message::verify() const {
  return checkRules(*this, hasSk());
}

std::optional<DecodeError> Message::decode(Bytes datagram, const IkeCipher* cipher) {
  if (auto e = parse(datagram)) return e;
  if (hasSk()) {
    if (cipher == nullptr) return DecodeError{0, "SK payload but no keys", {}};
    if (auto e = decrypt(*cipher)) return e;
  }
  return verify();
}

namespace {
// One 64 KiB serializing area per thread (RFC 7296 3.1: the length field bounds a message).
// A fresh zeroed 64 KiB vector per message, trimmed back to the kernel by glibc at each free
// and faulted in again, cost ~1.8 ms of a ~2 ms Child SA rekey (bench/ike_rekey_bench).
MutableBytes scratch() {
  thread_local ByteVec area(kMaxMessage);
  return MutableBytes(area.data(), area.size());
}
ByteVec written(MutableBytes area, const ByteWriter& w) {
  return ByteVec(area.data(), area.data() + w.position());
}
}  // namespace

Result<ByteVec> Message::encode(IkeCipher* cipher) const {
  bool protect = header.exchange != ExchangeType::kIkeSaInit;
  if (protect && cipher == nullptr) {
    return errorStatus(ErrorCode::kInvalidArgument, "protected message without keys");
  }
  const MutableBytes area = scratch();
  ByteWriter w(area);
  PayloadType first =
      protect ? PayloadType::kSk : (payloads.empty() ? PayloadType::kNone : payloads[0].type);
  if (!writeIkeHeader(w, header, first)) return errorStatus(ErrorCode::kInternal, "header");
  if (!protect) {
    if (!writeChain(w, payloads)) {
      return errorStatus(ErrorCode::kInvalidArgument, "payload does not serialize");
    }
    ByteVec buf = written(area, w);
    storeBe32(buf.data() + 24, static_cast<uint32_t>(buf.size()));
    return buf;
  }
  const ByteVec head = written(area, w);
  ByteWriter iw(area);  // the header is copied out: the area takes the inner chain now
  if (!writeChain(iw, payloads)) {
    return errorStatus(ErrorCode::kInvalidArgument, "payload does not serialize");
  }
  const ByteVec inner = written(area, iw);
  PayloadType innerFirst = payloads.empty() ? PayloadType::kNone : payloads[0].type;
  auto sealed = sealMessage(*cipher, head, static_cast<uint8_t>(innerFirst), inner);
  if (!sealed) return sealed.status();
  return std::move(sealed.value());
}

Result<ByteVec> Message::encodeChain() const {
  const MutableBytes area = scratch();
  ByteWriter iw(area);
  if (!writeChain(iw, payloads)) {
    return errorStatus(ErrorCode::kInvalidArgument, "payload does not serialize");
  }
  return written(area, iw);
}

void Message::addNotify(uint16_t type, ByteVec data, ProtocolId protocol, ByteVec spi) {
  NotifyPayload n;
  n.notifyType = type;
  n.data = std::move(data);
  n.protocol = protocol;
  n.spi = std::move(spi);
  add(PayloadType::kNotify, std::move(n));
}

const NotifyPayload* Message::notify(uint16_t type) const {
  for (const auto* n : all<NotifyPayload>(PayloadType::kNotify)) {
    if (n->notifyType == type) return n;
  }
  return nullptr;
}

const NotifyPayload* Message::errorNotify() const {
  for (const auto* n : all<NotifyPayload>(PayloadType::kNotify)) {
    if (notify::isError(n->notifyType)) return n;
  }
  return nullptr;
}

size_t Message::count(PayloadType type) const {
  size_t n = 0;
  for (const auto& p : payloads) n += p.type == type;
  return n;
}

std::string Message::summary() const {
  std::ostringstream out;
  out << exchangeName(header.exchange) << (header.response() ? " response " : " request ")
      << header.messageId << " [";
  if (fragment_) out << " SKF(" << fragNumber_ << "/" << fragTotal_ << ")";
  for (const auto& p : payloads) out << " " << payloadSummary(p);
  out << " ]";
  return out.str();
}

}  // namespace braid::ike
