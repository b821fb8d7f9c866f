#include "ipsec/ike/rules.hpp"

#include <array>
#include <string>

#include "ipsec/ike/message.hpp"

namespace braid::ike {
namespace {

constexpr uint16_t kMany = 0xFFFF;
using P = PayloadType;

// RFC 7296 1.2: HDR, SAi1, KEi, Ni [N(COOKIE)] [N(NAT_D)...] [V]
constexpr std::array kInitRequest = {
    PayloadRule{P::kNotify, 0, kMany, false},   PayloadRule{P::kSa, 1, 1, false},
    PayloadRule{P::kKe, 1, 1, false},           PayloadRule{P::kNonce, 1, 1, false},
    PayloadRule{P::kVendorId, 0, kMany, false},
};
// HDR, SAr1, KEr, Nr, [CERTREQ], [N...] or an error/COOKIE notify alone.
constexpr std::array kInitResponse = {
    PayloadRule{P::kNotify, 0, kMany, false},  PayloadRule{P::kSa, 1, 1, false},
    PayloadRule{P::kKe, 1, 1, false},          PayloadRule{P::kNonce, 1, 1, false},
    PayloadRule{P::kCertReq, 0, kMany, false}, PayloadRule{P::kVendorId, 0, kMany, false},
};
// RFC 7296 1.2: SK {IDi, [CERT,] [CERTREQ,] [IDr,] AUTH, SAi2, TSi, TSr}; SA/TS optional
// for childless IKE SAs (RFC 6023). With EAP (2.16) the first request has no AUTH and the
// later ones carry SK {EAP} or SK {AUTH} alone: checkRules asks for IDi, AUTH or EAP, and
// the IKE_AUTH task for what its step needs.
constexpr std::array kAuthRequest = {
    PayloadRule{P::kNotify, 0, kMany, true}, PayloadRule{P::kIdi, 0, 1, true},
    PayloadRule{P::kCert, 0, 4, true},       PayloadRule{P::kCertReq, 0, kMany, true},
    PayloadRule{P::kIdr, 0, 1, true},        PayloadRule{P::kAuth, 0, 1, true},
    PayloadRule{P::kEap, 0, 1, true},        PayloadRule{P::kCp, 0, 1, true},
    PayloadRule{P::kSa, 0, 1, true},         PayloadRule{P::kTsi, 0, 1, true},
    PayloadRule{P::kTsr, 0, 1, true},        PayloadRule{P::kVendorId, 0, kMany, true},
};
// The same for the responses: SK {EAP} alone, or the final SK {AUTH, ...} (2.16).
constexpr std::array kAuthResponse = {
    PayloadRule{P::kNotify, 0, kMany, true}, PayloadRule{P::kIdr, 0, 1, true},
    PayloadRule{P::kCert, 0, 4, true},       PayloadRule{P::kAuth, 0, 1, true},
    PayloadRule{P::kEap, 0, 1, true},        PayloadRule{P::kCp, 0, 1, true},
    PayloadRule{P::kSa, 0, 1, true},         PayloadRule{P::kTsi, 0, 1, true},
    PayloadRule{P::kTsr, 0, 1, true},        PayloadRule{P::kVendorId, 0, kMany, true},
};
// RFC 7296 1.3: SK {[N(REKEY_SA)], SA, Ni, [KEi], [TSi, TSr]} (no TS when rekeying IKE).
constexpr std::array kCreateChild = {
    PayloadRule{P::kNotify, 0, kMany, true},   PayloadRule{P::kSa, 1, 1, true},
    PayloadRule{P::kNonce, 1, 1, true},        PayloadRule{P::kKe, 0, 1, true},
    PayloadRule{P::kTsi, 0, 1, true},          PayloadRule{P::kTsr, 0, 1, true},
    PayloadRule{P::kVendorId, 0, kMany, true},
};
// RFC 7296 1.4: SK {[N,] [D,] [CP,] ...}
constexpr std::array kInformational = {
    PayloadRule{P::kNotify, 0, kMany, true},
    PayloadRule{P::kDelete, 0, kMany, true},
    PayloadRule{P::kCp, 0, 1, true},
    PayloadRule{P::kVendorId, 0, kMany, true},
};

constexpr std::array kRules = {
    MessageRules{ExchangeType::kIkeSaInit, false, false, kInitRequest},
    MessageRules{ExchangeType::kIkeSaInit, true, false, kInitResponse},
    MessageRules{ExchangeType::kIkeAuth, false, true, kAuthRequest},
    MessageRules{ExchangeType::kIkeAuth, true, true, kAuthResponse},
    MessageRules{ExchangeType::kCreateChildSa, false, true, kCreateChild},
    MessageRules{ExchangeType::kCreateChildSa, true, true, kCreateChild},
    MessageRules{ExchangeType::kInformational, false, true, kInformational},
    MessageRules{ExchangeType::kInformational, true, true, kInformational},
};

}  // namespace

const MessageRules* findRules(ExchangeType exchange, bool response) {
  for (const auto& r : kRules) {
    if (r.exchange == exchange && r.response == response) return &r;
  }
  return nullptr;
}

std::optional<DecodeError> checkRules(const Message& m, bool hadSk) {
  const MessageRules* rules = findRules(m.header.exchange, m.header.response());
  std::string where = std::string(exchangeName(m.header.exchange)) +
                      (m.header.response() ? " response" : " request");
  if (rules == nullptr) {
    return DecodeError{
        notify::kInvalidSyntax,
        "unknown exchange type " + std::to_string(static_cast<int>(m.header.exchange)),
        {}};
  }
  if (rules->encrypted && !hadSk) {
    return DecodeError{notify::kInvalidSyntax, where + " without SK payload", {}};
  }
  if (!rules->encrypted && hadSk) {
    return DecodeError{notify::kInvalidSyntax, where + " must not carry SK", {}};
  }
  // RFC 7296 2.6, 2.21: a response may be an error notify or a COOKIE alone. A request
  // never may: it reaches the tasks, which rely on the mandatory payloads.
  bool complete =
      m.header.response() && (m.errorNotify() != nullptr || m.notify(notify::kCookie) != nullptr);
  for (const auto& p : m.payloads) {
    if (!isKnownPayload(p.type)) continue;  // RFC 7296 2.5: skip unknown non-critical
    const PayloadRule* rule = nullptr;
    for (const auto& r : rules->payloads) {
      if (r.type == p.type) rule = &r;
    }
    if (rule == nullptr) {
      return DecodeError{notify::kInvalidSyntax,
                         std::string(payloadName(p.type)) + " payload not allowed in " + where,
                         {}};
    }
    if (rule->encrypted && !p.encrypted) {
      return DecodeError{notify::kInvalidSyntax,
                         std::string(payloadName(p.type)) + " payload outside SK in " + where,
                         {}};
    }
  }
  for (const auto& r : rules->payloads) {
    size_t n = m.count(r.type);
    if (n > r.max) {
      return DecodeError{notify::kInvalidSyntax,
                         std::to_string(n) + " " + std::string(payloadName(r.type)) +
                             " payloads in " + where + " (at most " + std::to_string(r.max) + ")",
                         {}};
    }
    if (n < r.min && !complete) {
      return DecodeError{notify::kInvalidSyntax,
                         std::string(payloadName(r.type)) + " payload missing in " + where,
                         {}};
    }
  }
  if (m.header.exchange == ExchangeType::kIkeAuth && !m.header.response() &&
      m.count(P::kIdi) + m.count(P::kAuth) + m.count(P::kEap) == 0) {
    return DecodeError{notify::kInvalidSyntax, "IDi payload missing in " + where, {}};
  }
  return std::nullopt;
}

}  // namespace braid::ike
