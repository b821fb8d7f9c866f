#include "ipsec/ike/proposal.hpp"

#include <algorithm>
#include <array>

namespace braid::ike {
namespace {

struct Token {
  std::string_view name;
  TransformType type;
  uint16_t id;
  uint16_t keyBits;
};

// Canonical names first: formatting uses the first entry matching a transform.
constexpr std::array kTokens{
    Token{"aes128", TransformType::kEncr, 12, 128},
    Token{"aes256", TransformType::kEncr, 12, 256},
    Token{"aes128gcm16", TransformType::kEncr, 20, 128},
    Token{"aes256gcm16", TransformType::kEncr, 20, 256},
    Token{"aes128gcm", TransformType::kEncr, 20, 128},
    Token{"aes256gcm", TransformType::kEncr, 20, 256},
    Token{"chacha20poly1305", TransformType::kEncr, 28, 0},
    Token{"sha256", TransformType::kInteg, 12, 0},
    Token{"sha384", TransformType::kInteg, 13, 0},
    Token{"sha512", TransformType::kInteg, 14, 0},
    Token{"sha2_256", TransformType::kInteg, 12, 0},
    Token{"sha2_384", TransformType::kInteg, 13, 0},
    Token{"sha2_512", TransformType::kInteg, 14, 0},
    Token{"prfsha256", TransformType::kPrf, 5, 0},
    Token{"prfsha384", TransformType::kPrf, 6, 0},
    Token{"prfsha512", TransformType::kPrf, 7, 0},
    Token{"prfsha2_256", TransformType::kPrf, 5, 0},
    Token{"prfsha2_384", TransformType::kPrf, 6, 0},
    Token{"prfsha2_512", TransformType::kPrf, 7, 0},
    Token{"modp2048", TransformType::kKe, 14, 0},
    Token{"modp3072", TransformType::kKe, 15, 0},
    Token{"modp4096", TransformType::kKe, 16, 0},
    Token{"ecp256", TransformType::kKe, 19, 0},
    Token{"ecp384", TransformType::kKe, 20, 0},
    Token{"ecp521", TransformType::kKe, 21, 0},
    Token{"x25519", TransformType::kKe, 31, 0},
    Token{"curve25519", TransformType::kKe, 31, 0},
    Token{"esn", TransformType::kEsn, 1, 0},
    Token{"noesn", TransformType::kEsn, 0, 0},
};

constexpr std::array kTypeOrder{TransformType::kEncr, TransformType::kPrf, TransformType::kInteg,
                                TransformType::kKe, TransformType::kEsn};

std::string_view typeName(TransformType t) {
  switch (t) {
    case TransformType::kEncr:
      return "encryption";
    case TransformType::kPrf:
      return "PRF";
    case TransformType::kInteg:
      return "integrity";
    case TransformType::kKe:
      return "key exchange";
    case TransformType::kEsn:
      return "ESN";
  }
  return "unknown";
}

bool isAeadId(uint16_t encr) {
  return encr == static_cast<uint16_t>(EncrId::kAesGcm16) ||
         encr == static_cast<uint16_t>(EncrId::kChaCha20Poly1305);
}

bool knownEncr(uint16_t id, uint16_t keyBits) {
  switch (static_cast<EncrId>(id)) {
    case EncrId::kAesCbc:
    case EncrId::kAesGcm16:
      return keyBits == 128 || keyBits == 256;
    case EncrId::kChaCha20Poly1305:
      return keyBits == 0;  // RFC 7634 2: no Key Length
    default:
      return false;
  }
}
bool knownPrf(uint16_t id) {
  return id >= 5 && id <= 7;
}
bool knownInteg(uint16_t id) {
  return id >= 12 && id <= 14;
}
bool knownDh(uint16_t id) {
  return (id >= 14 && id <= 16) || (id >= 19 && id <= 21) || id == 31;
}

// The PRF strongSwan pairs with an integrity algorithm when none is configured.
uint16_t prfForInteg(uint16_t integ) {
  return static_cast<uint16_t>(integ - 7);
}

Status parseError(std::string_view text, std::string msg) {
  return Status(ErrorCode::kParseError, "proposal '" + std::string(text) + "': " + msg);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::vector<Transform> Proposal::ofType(TransformType type) const {
  std::vector<Transform> out;
  for (const auto& t : transforms) {
    if (t.type == type) out.push_back(t);
  }
  return out;
}

bool Proposal::hasType(TransformType type) const {
  return std::any_of(transforms.begin(), transforms.end(),
                     [type](const Transform& t) { return t.type == type; });
}

size_t encrKeyLength(EncrId encr, uint16_t keyBits) {
  switch (encr) {
    case EncrId::kAesCbc:
      return keyBits / 8;
    case EncrId::kAesGcm16:
      return keyBits / 8 + 4;  // RFC 5282 7.1: key || 4-byte salt
    case EncrId::kChaCha20Poly1305:
      return 32 + 4;  // RFC 7634 2
    default:
      return 0;
  }
}

size_t integKeyLength(IntegId integ) {
  switch (integ) {
    case IntegId::kHmacSha256_128:
      return 32;  // RFC 4868 2.1.1: key = hash output length
    case IntegId::kHmacSha384_192:
      return 48;
    case IntegId::kHmacSha512_256:
      return 64;
    default:
      return 0;
  }
}

size_t prfKeyLength(PrfId prf) {
  switch (prf) {
    case PrfId::kHmacSha256:
      return 32;
    case PrfId::kHmacSha384:
      return 48;
    case PrfId::kHmacSha512:
      return 64;
    default:
      return 0;
  }
}

std::string transformName(const Transform& t) {
  for (const auto& tok : kTokens) {
    if (tok.type == t.type && tok.id == t.id && tok.keyBits == t.keyBits) {
      return std::string(tok.name);
    }
  }
  std::string base;
  switch (t.type) {
    case TransformType::kEncr:
      base = "encr";
      break;
    case TransformType::kPrf:
      base = "prf";
      break;
    case TransformType::kInteg:
      base = t.id == 0 ? "noint" : "integ";
      break;
    case TransformType::kKe:
      base = t.id == 0 ? "nodh" : "ke";
      break;
    case TransformType::kEsn:
      base = "esn";
      break;
  }
  if (t.id == 0 && (t.type == TransformType::kInteg || t.type == TransformType::kKe)) return base;
  base += std::to_string(t.id);
  if (t.keyBits != 0) base += "_" + std::to_string(t.keyBits);
  return base;
}

Result<Suite> suiteOf(const Proposal& p) {
  Suite s;
  s.protocol = p.protocol;
  if (p.protocol != ProtocolId::kIke && p.protocol != ProtocolId::kEsp) {
    return Status(ErrorCode::kInvalidArgument,
                  "unsupported protocol " + std::to_string(static_cast<int>(p.protocol)));
  }
  const bool ike = p.protocol == ProtocolId::kIke;
  std::array<const Transform*, 6> one{};
  for (const auto& t : p.transforms) {
    auto idx = static_cast<size_t>(t.type);
    if (idx < 1 || idx > 5) {
      return Status(ErrorCode::kInvalidArgument, "unknown transform type " + std::to_string(idx));
    }
    if (one[idx] != nullptr) {
      return Status(ErrorCode::kInvalidArgument,
                    "more than one " + std::string(typeName(t.type)) + " transform");
    }
    one[idx] = &t;
  }
  auto get = [&](TransformType t) { return one[static_cast<size_t>(t)]; };
  auto bad = [](const Transform& t) {
    return Status(ErrorCode::kInvalidArgument, "unsupported " + std::string(typeName(t.type)) +
                                                   " transform '" + transformName(t) + "'");
  };
  auto missing = [](TransformType t) {
    return Status(ErrorCode::kInvalidArgument,
                  "missing " + std::string(typeName(t)) + " transform");
  };

  const Transform* encr = get(TransformType::kEncr);
  if (encr == nullptr) return missing(TransformType::kEncr);
  if (!knownEncr(encr->id, encr->keyBits)) return bad(*encr);
  s.encr = static_cast<EncrId>(encr->id);
  s.encrKeyBits = s.encr == EncrId::kChaCha20Poly1305 ? 256 : encr->keyBits;

  const Transform* integ = get(TransformType::kInteg);
  if (s.isAead()) {
    // RFC 5282 8: with a combined-mode cipher, INTEG is absent or NONE.
    if (integ != nullptr && integ->id != 0) return bad(*integ);
  } else {
    if (integ == nullptr || integ->id == 0) return missing(TransformType::kInteg);
    if (!knownInteg(integ->id)) return bad(*integ);
    s.integ = static_cast<IntegId>(integ->id);
  }

  const Transform* prf = get(TransformType::kPrf);
  const Transform* dh = get(TransformType::kKe);
  const Transform* esn = get(TransformType::kEsn);
  if (ike) {
    if (prf == nullptr) return missing(TransformType::kPrf);
    if (!knownPrf(prf->id)) return bad(*prf);
    s.prf = static_cast<PrfId>(prf->id);
    if (dh == nullptr || dh->id == 0) return missing(TransformType::kKe);
    if (!knownDh(dh->id)) return bad(*dh);
    s.dh = static_cast<DhGroup>(dh->id);
    if (esn != nullptr) return bad(*esn);
  } else {
    if (prf != nullptr) return bad(*prf);
    if (dh != nullptr && dh->id != 0) {
      if (!knownDh(dh->id)) return bad(*dh);
      s.dh = static_cast<DhGroup>(dh->id);
    }
    if (esn != nullptr) {
      if (esn->id > 1) return bad(*esn);
      s.esn = esn->id == 1;
    }
  }
  return s;
}

Proposal proposalOf(const Suite& s) {
  Proposal p;
  p.protocol = s.protocol;
  const uint16_t bits = s.encr == EncrId::kChaCha20Poly1305 ? 0 : s.encrKeyBits;
  p.transforms.push_back({TransformType::kEncr, static_cast<uint16_t>(s.encr), bits});
  if (s.protocol == ProtocolId::kIke) {
    p.transforms.push_back({TransformType::kPrf, static_cast<uint16_t>(s.prf), 0});
  }
  if (!s.isAead()) {
    p.transforms.push_back({TransformType::kInteg, static_cast<uint16_t>(s.integ), 0});
  }
  if (s.dh != DhGroup::kNone) {
    p.transforms.push_back({TransformType::kKe, static_cast<uint16_t>(s.dh), 0});
  }
  if (s.protocol == ProtocolId::kEsp) {
    p.transforms.push_back({TransformType::kEsn, static_cast<uint16_t>(s.esn ? 1 : 0), 0});
  }
  return p;
}

Result<Proposal> parseProposal(std::string_view text, ProtocolId protocol) {
  const std::string_view whole = trim(text);
  if (whole.empty()) return parseError(text, "empty proposal");
  Proposal p;
  p.protocol = protocol;
  std::string_view rest = whole;
  std::array<std::vector<Transform>, 6> byType;
  while (true) {
    const size_t dash = rest.find('-');
    const std::string_view token = rest.substr(0, dash);
    if (token.empty()) return parseError(whole, "empty algorithm name");
    const Token* found = nullptr;
    for (const auto& tok : kTokens) {
      if (tok.name == token) {
        found = &tok;
        break;
      }
    }
    if (found == nullptr) {
      return parseError(whole, "unknown algorithm '" + std::string(token) + "'");
    }
    if (protocol == ProtocolId::kIke && found->type == TransformType::kEsn) {
      return parseError(whole, "'" + std::string(token) + "' is only valid in ESP proposals");
    }
    if (protocol != ProtocolId::kIke && found->type == TransformType::kPrf) {
      return parseError(whole, "'" + std::string(token) + "' is only valid in IKE proposals");
    }
    Transform t{found->type, found->id, found->keyBits};
    auto& list = byType[static_cast<size_t>(t.type)];
    if (std::find(list.begin(), list.end(), t) == list.end()) list.push_back(t);
    if (dash == std::string_view::npos) break;
    rest.remove_prefix(dash + 1);
  }

  auto& encr = byType[static_cast<size_t>(TransformType::kEncr)];
  auto& integ = byType[static_cast<size_t>(TransformType::kInteg)];
  auto& prf = byType[static_cast<size_t>(TransformType::kPrf)];
  auto& dh = byType[static_cast<size_t>(TransformType::kKe)];
  auto& esn = byType[static_cast<size_t>(TransformType::kEsn)];
  if (encr.empty()) return parseError(whole, "no encryption algorithm");
  const size_t aead =
      std::count_if(encr.begin(), encr.end(), [](const Transform& t) { return isAeadId(t.id); });
  if (aead != 0 && aead != encr.size()) {
    // RFC 7296 3.3: combined-mode and classic ciphers go in separate proposals.
    return parseError(whole, "AEAD and non-AEAD encryption algorithms mixed in one proposal");
  }
  if (aead != 0 && !integ.empty()) {
    return parseError(whole, "integrity algorithm '" + transformName(integ.front()) +
                                 "' not allowed with an AEAD cipher");
  }
  if (aead == 0 && integ.empty()) {
    return parseError(whole,
                      "no integrity algorithm for cipher '" + transformName(encr.front()) + "'");
  }
  if (protocol == ProtocolId::kIke) {
    if (prf.empty()) {
      if (integ.empty()) return parseError(whole, "no PRF (add e.g. 'prfsha256')");
      for (const auto& t : integ) {
        Transform pt{TransformType::kPrf, prfForInteg(t.id), 0};
        if (std::find(prf.begin(), prf.end(), pt) == prf.end()) prf.push_back(pt);
      }
    }
    if (dh.empty()) return parseError(whole, "no key exchange group (add e.g. 'x25519')");
  } else if (esn.empty()) {
    esn.push_back({TransformType::kEsn, 0, 0});
  }
  for (auto type : kTypeOrder) {
    for (const auto& t : byType[static_cast<size_t>(type)]) p.transforms.push_back(t);
  }
  return p;
}

Result<std::vector<Proposal>> parseProposals(std::string_view text, ProtocolId protocol) {
  std::vector<Proposal> out;
  std::string_view rest = text;
  while (true) {
    const size_t comma = rest.find(',');
    auto p = parseProposal(rest.substr(0, comma), protocol);
    if (!p) return p.status();
    if (out.size() >= 255) return parseError(text, "more than 255 proposals");
    p->number = static_cast<uint8_t>(out.size() + 1);
    out.push_back(std::move(*p));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

std::string formatProposal(const Proposal& p) {
  // encr, integ, prf, ke, esn: the order strongSwan users write.
  static constexpr std::array kFormatOrder{TransformType::kEncr, TransformType::kInteg,
                                           TransformType::kPrf, TransformType::kKe,
                                           TransformType::kEsn};
  std::string out;
  const bool esnYes = std::any_of(p.transforms.begin(), p.transforms.end(), [](auto& t) {
    return t.type == TransformType::kEsn && t.id == 1;
  });
  for (auto type : kFormatOrder) {
    for (const auto& t : p.transforms) {
      if (t.type != type) continue;
      // "noesn" is the parser's default: print it only next to "esn".
      if (type == TransformType::kEsn && t.id == 0 && !esnYes) continue;
      if (!out.empty()) out += '-';
      out += transformName(t);
    }
  }
  if (p.protocol == ProtocolId::kAh) out = "ah:" + out;
  return out;
}

std::string formatProposals(std::span<const Proposal> list) {
  std::string out;
  for (const auto& p : list) {
    if (!out.empty()) out += ", ";
    out += formatProposal(p);
  }
  return out.empty() ? "(none)" : out;
}

namespace {

// A type absent from a proposal means "NONE" (INTEG with AEAD, D-H without PFS, ESN no).
std::vector<Transform> effective(const Proposal& p, TransformType type) {
  auto list = p.ofType(type);
  if (list.empty()) list.push_back({type, 0, 0});
  return list;
}

std::optional<Proposal> match(const Proposal& ours, const Proposal& peer, bool peerFirst) {
  if (ours.protocol != peer.protocol) return std::nullopt;
  Proposal chosen;
  chosen.number = peer.number;
  chosen.protocol = peer.protocol;
  chosen.spi = peer.spi;
  for (auto type : kTypeOrder) {
    if (!ours.hasType(type) && !peer.hasType(type)) continue;
    const auto mine = effective(ours, type);
    const auto theirs = effective(peer, type);
    const auto& outer = peerFirst ? theirs : mine;
    const auto& inner = peerFirst ? mine : theirs;
    std::optional<Transform> pick;
    for (const auto& a : outer) {
      if (std::find(inner.begin(), inner.end(), a) != inner.end()) {
        pick = a;
        break;
      }
    }
    if (!pick) return std::nullopt;
    // Echo only the types the peer sent (an absent NONE stays absent).
    if (peer.hasType(type)) chosen.transforms.push_back(*pick);
  }
  if (!suiteOf(chosen)) return std::nullopt;
  return chosen;
}

}  // namespace

std::optional<Proposal> selectProposal(std::span<const Proposal> ours,
                                       std::span<const Proposal> peers, SelectionOrder order) {
  const bool peerFirst = order == SelectionOrder::kPeerFirst;
  if (peerFirst) {
    for (const auto& peer : peers) {
      for (const auto& mine : ours) {
        if (auto m = match(mine, peer, true)) return m;
      }
    }
  } else {
    for (const auto& mine : ours) {
      for (const auto& peer : peers) {
        if (auto m = match(mine, peer, false)) return m;
      }
    }
  }
  return std::nullopt;
}

Result<Suite> checkSelectedProposal(std::span<const Proposal> ours, const Proposal& chosen) {
  auto suite = suiteOf(chosen);  // also rejects more than one transform per type
  if (!suite) return suite.status();
  for (const auto& mine : ours) {
    if (match(mine, chosen, true)) return suite;
  }
  return Status(ErrorCode::kInvalidArgument, "peer chose '" + formatProposal(chosen) +
                                                 "', which we did not offer (" +
                                                 formatProposals(ours) + ")");
}

}  // namespace braid::ike
