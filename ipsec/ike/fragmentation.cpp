#include "ipsec/ike/fragmentation.hpp"

#include <algorithm>

namespace braid::ike {
namespace {

// SKF generic header (4) + Fragment Number (2) + Total Fragments (2), RFC 7383 2.5.
constexpr size_t kSkfHeaderLength = 8;
constexpr size_t kUdpHeader = 8, kIpv4Header = 20, kIpv6Header = 40, kNonEspMarker = 4;

Status fragmentError(std::string what) {
  return errorStatus(ErrorCode::kInvalidArgument, "fragmentation: " + std::move(what));
}

}  // namespace

size_t fragmentOverhead(bool ipv6, bool nonEspMarker) {
  return (ipv6 ? kIpv6Header : kIpv4Header) + kUdpHeader + (nonEspMarker ? kNonEspMarker : 0);
}

size_t ikeMessageLimit(size_t fragmentSize, bool ipv6, bool nonEspMarker) {
  const size_t overhead = fragmentOverhead(ipv6, nonEspMarker);
  return fragmentSize > overhead ? fragmentSize - overhead : 0;
}

size_t nextFragmentSize(size_t datagram, bool ipv6) {
  // 1280: IPv6's minimum MTU and what tunnels usually leave; 576: IPv4's (RFC 791).
  for (size_t s : {size_t{1280}, kMinFragmentSize}) {
    if (ipv6 && s < 1280) break;
    if (s < datagram) return s;
  }
  return 0;
}

bool fragmentAuthentic(const Message& m, const IkeCipher& cipher) {
  const Bytes raw = m.raw();
  const size_t aad = m.protectedOffset() + kSkfHeaderLength;
  if (!m.isFragment() || m.protectedOffset() == 0 || raw.size() < aad) return false;
  return cipher.decrypt(raw.first(aad), raw.subspan(aad)).isOk();
}

Result<std::vector<ByteVec>> fragmentMessage(const Message& message, IkeCipher& cipher,
                                             size_t maxMessage) {
  if (message.header.exchange == ExchangeType::kIkeSaInit) {
    // RFC 7383 2.5.3: IKE_SA_INIT is never fragmented.
    return fragmentError("IKE_SA_INIT is not protected");
  }
  auto chain = message.encodeChain();
  if (!chain) return chain.status();
  const Bytes inner(*chain);
  if (kIkeHeaderLength + kPayloadHeaderLength + cipher.encryptedLength(inner.size()) <=
      maxMessage) {
    auto whole = message.encode(&cipher);
    if (!whole) return whole.status();
    return std::vector<ByteVec>{std::move(whole.value())};
  }
  const size_t fixed = kIkeHeaderLength + kSkfHeaderLength;
  const size_t chunk = maxMessage > fixed ? cipher.maxPlaintextLength(maxMessage - fixed) : 0;
  if (chunk == 0) return fragmentError("limit " + std::to_string(maxMessage) + " too small");
  const size_t total = (inner.size() + chunk - 1) / chunk;
  if (total > 0xFFFF) return fragmentError("too many fragments");
  const uint8_t first =
      message.payloads.empty() ? 0 : static_cast<uint8_t>(message.payloads.front().type);
  std::vector<ByteVec> out;
  out.reserve(total);
  for (size_t i = 0; i < total; ++i) {
    const Bytes part = inner.subspan(i * chunk, std::min(chunk, inner.size() - i * chunk));
    const size_t body = cipher.encryptedLength(part.size());
    ByteVec d(fixed + body);
    ByteWriter w(d);
    // RFC 7383 2.5: only the first fragment names the first inner payload; the others 0.
    if (!writeIkeHeader(w, message.header, PayloadType::kSkf) || !w.writeU8(i == 0 ? first : 0) ||
        !w.writeU8(0) || !w.writeU16(static_cast<uint16_t>(kSkfHeaderLength + body)) ||
        !w.writeU16(static_cast<uint16_t>(i + 1)) || !w.writeU16(static_cast<uint16_t>(total))) {
      return fragmentError("header does not fit");
    }
    storeBe32(d.data() + 24, static_cast<uint32_t>(d.size()));
    // 2.5: each fragment is protected on its own; the associated data runs through the SKF
    // header incl. Fragment Number and Total Fragments.
    if (Status st =
            cipher.encrypt(Bytes(d.data(), fixed), part, MutableBytes(d.data() + fixed, body));
        !st) {
      return st;
    }
    out.push_back(std::move(d));
  }
  return out;
}

void Reassembler::reset(Slot& s) {
  s = Slot{};
}

void Reassembler::start(Slot& s, uint32_t messageId, uint16_t total, TimePoint now) {
  reset(s);
  s.messageId = messageId;
  s.total = total;
  s.started = now;
  s.parts.resize(total);
}

void Reassembler::clear() {
  for (auto& s : slots_) reset(s);
}

Reassembler::Verdict Reassembler::offer(Message& m, const IkeCipher& cipher, TimePoint now,
                                        IkeCounters& c, std::optional<DecodeError>& error) {
  error.reset();
  Slot& s = slots_[m.header.response() ? 1 : 0];
  const uint16_t number = m.fragmentNumber(), total = m.fragmentTotal();
  if (!m.isFragment() || number == 0 || total == 0 || number > total) {
    ++c.dropsFragmentInvalid;
    return Verdict::kDropped;
  }
  if (total > limits_.maxFragments) {
    ++c.dropsFragmentLimit;
    return Verdict::kDropped;
  }
  if (s.total != 0 && now - s.started > limits_.timeout) {
    c.dropsFragmentTimeout += s.have;  // the incomplete set is given up
    reset(s);
  }
  const bool same = s.total != 0 && s.messageId == m.header.messageId;
  // RFC 7383 2.6: a fragment of an older, smaller split of this message is ignored; the
  // same fragment twice is kept once. Neither needs the crypto.
  if (same && total < s.total) {
    ++c.dropsFragmentStale;
    return Verdict::kDropped;
  }
  if (same && total == s.total && s.parts[number - 1]) {
    ++c.dropsFragmentDuplicate;
    return Verdict::kDropped;
  }
  // 2.6: the ICV is checked before the fragment is kept; a forged one changes nothing.
  const Bytes raw = m.raw();
  const size_t aad = m.protectedOffset() + kSkfHeaderLength;
  if (m.protectedOffset() == 0 || raw.size() < aad) {
    ++c.dropsFragmentInvalid;
    return Verdict::kDropped;
  }
  auto plain = cipher.decrypt(raw.first(aad), raw.subspan(aad));
  if (!plain) {
    ++c.dropsIntegrity;
    return Verdict::kDropped;
  }
  // A larger Total Fragments (the sender split again, smaller): the old set goes (2.6).
  if (!same || total > s.total) start(s, m.header.messageId, total, now);
  if (s.bytes + plain->size() > limits_.maxBytes) {
    c.dropsFragmentLimit += s.have + 1;
    reset(s);
    return Verdict::kDropped;
  }
  ++c.fragmentsReceived;
  s.bytes += plain->size();
  s.parts[number - 1] = std::move(plain.value());
  ++s.have;
  if (number == 1) {
    s.first = m.firstInner();
    s.firstRaw.assign(raw.begin(), raw.end());
  }
  if (s.have < s.total) return Verdict::kStored;
  ByteVec inner;
  inner.reserve(s.bytes);
  for (const auto& p : s.parts) inner.insert(inner.end(), p->begin(), p->end());
  const PayloadType first = s.first;
  ByteVec firstRaw = std::move(s.firstRaw);
  reset(s);
  ++c.messagesReassembled;
  error = m.adoptReassembled(first, std::move(inner), std::move(firstRaw));
  return Verdict::kComplete;
}

}  // namespace braid::ike
