// IKEv2 transform identifiers (IANA "IKEv2 Parameters" registries), the proposal model used by
// the SA payload, strongSwan-style proposal strings from braid's TOML, and proposal selection
// (RFC 7296 sections 3.3, 3.3.2 and 3.3.6).
//
// Model: a Proposal is what one SA-payload Proposal substructure carries: a number, a protocol,
// an SPI and a list of transforms. A proposal may offer several transforms of one type (any one
// of them is acceptable); a *selected* proposal carries exactly one per type present. `Suite`
// is the typed view of a selected proposal that the key schedule and ciphers consume.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace braid::ike {

// RFC 7296 section 3.3.1, Protocol ID.
enum class ProtocolId : uint8_t { kIke = 1, kAh = 2, kEsp = 3 };

// RFC 7296 section 3.3.2, Transform Type.
enum class TransformType : uint8_t {
  kEncr = 1,   // Encryption Algorithm (ENCR)
  kPrf = 2,    // Pseudorandom Function (PRF)
  kInteg = 3,  // Integrity Algorithm (INTEG)
  kKe = 4,     // Diffie-Hellman / Key Exchange Method (D-H)
  kEsn = 5,    // Extended Sequence Numbers (ESN)
};

// Transform IDs. The enums have uint16_t underlying types so that any value received from a
// peer is representable; only the named ones are implemented.
enum class EncrId : uint16_t {
  kNone = 0,
  kAesCbc = 12,            // RFC 3602; Key Length attribute 128/256
  kAesGcm16 = 20,          // RFC 4106/5282; Key Length attribute 128/256; 16-byte ICV
  kChaCha20Poly1305 = 28,  // RFC 7634; no Key Length attribute
};
enum class PrfId : uint16_t {
  kNone = 0,
  kHmacSha256 = 5,  // RFC 4868
  kHmacSha384 = 6,
  kHmacSha512 = 7,
};
enum class IntegId : uint16_t {
  kNone = 0,             // with AEAD ciphers (RFC 5282 section 8)
  kHmacSha256_128 = 12,  // RFC 4868
  kHmacSha384_192 = 13,
  kHmacSha512_256 = 14,
};
enum class DhGroup : uint16_t {
  kNone = 0,
  kModp2048 = 14,    // RFC 3526
  kModp3072 = 15,    // RFC 3526
  kModp4096 = 16,    // RFC 3526
  kEcp256 = 19,      // RFC 5903
  kEcp384 = 20,      // RFC 5903
  kEcp521 = 21,      // RFC 5903
  kCurve25519 = 31,  // RFC 8031
};
enum class EsnId : uint16_t { kNo = 0, kYes = 1 };

// RFC 7296 section 3.3.5: attribute type 14, Key Length in bits (TV format).
inline constexpr uint16_t kKeyLengthAttribute = 14;

struct Transform {
  TransformType type = TransformType::kEncr;
  uint16_t id = 0;
  uint16_t keyBits = 0;  // Key Length attribute; 0 = attribute absent
  bool operator==(const Transform&) const = default;
};

struct Proposal {
  uint8_t number = 1;  // RFC 7296 3.3.1: first proposal is 1, each next one +1
  ProtocolId protocol = ProtocolId::kIke;
  std::vector<uint8_t> spi;  // IKE_SA_INIT: empty; IKE rekey: 8 bytes; ESP: 4 bytes
  std::vector<Transform> transforms;

  bool operator==(const Proposal&) const = default;
  // Transforms of one type, in offered order.
  std::vector<Transform> ofType(TransformType type) const;
  bool hasType(TransformType type) const;
};

// Typed view of a selected (single transform per type) proposal.
struct Suite {
  ProtocolId protocol = ProtocolId::kIke;
  EncrId encr = EncrId::kNone;
  uint16_t encrKeyBits = 0;  // 128/256 for AES; 256 for ChaCha20-Poly1305
  PrfId prf = PrfId::kNone;  // IKE only
  IntegId integ = IntegId::kNone;
  DhGroup dh = DhGroup::kNone;  // IKE: the KE group; ESP: the PFS group (kNone = no PFS)
  bool esn = false;             // ESP only

  bool operator==(const Suite&) const = default;
  bool isAead() const { return encr == EncrId::kAesGcm16 || encr == EncrId::kChaCha20Poly1305; }
};

// Fails (naming the problem) unless the proposal has exactly one transform of each type it
// needs: IKE = ENCR, PRF, INTEG (unless AEAD), D-H; ESP = ENCR, INTEG (unless AEAD), ESN,
// optional D-H. Unknown transform IDs or bad key lengths are errors too.
Result<Suite> suiteOf(const Proposal& selected);
// The single-transform proposal for a suite (number 1, empty SPI; the caller sets them).
Proposal proposalOf(const Suite& suite);

// Key lengths in bytes the key schedule needs (RFC 7296 2.14, 2.17).
// Encryption key including the AEAD salt: AES-CBC 16/32, AES-GCM 16/32 + 4, ChaCha20 32 + 4.
size_t encrKeyLength(EncrId encr, uint16_t keyBits);
size_t integKeyLength(IntegId integ);  // 32/48/64, 0 for kNone
size_t prfKeyLength(PrfId prf);        // preferred key length = output length: 32/48/64

// Names for logs: "aes256gcm16", "prfsha384", "sha256", "ecp384", ...
std::string transformName(const Transform& t);

// ---- strongSwan-style proposal strings (braid TOML) -------------------------------------
// One proposal is '-'-separated algorithm tokens; several tokens of one type mean "any of".
// A list is ','-separated proposals. IKE examples:
//   "aes256gcm16-prfsha256-x25519", "aes128-sha256-modp2048" (PRF defaults to the integrity
//   hash, like strongSwan), "chacha20poly1305-prfsha384-ecp384".
// ESP examples: "aes256gcm16", "aes128gcm16-esn", "chacha20poly1305-x25519" (PFS group).
// Tokens: aes128 aes256 (CBC), aes128gcm16 aes256gcm16 (aliases aes128gcm aes256gcm),
//   chacha20poly1305; sha256 sha384 sha512 (integrity; sha2_256 etc. accepted);
//   prfsha256 prfsha384 prfsha512; modp2048 modp3072 modp4096 ecp256 ecp384 ecp521 x25519
//   (alias curve25519);
//   esn noesn (ESP only; default noesn).
// Errors name the offending token and the proposal, e.g.
//   "proposal 'aes256gcm16-prfsha257-x25519': unknown algorithm 'prfsha257'".
Result<Proposal> parseProposal(std::string_view text, ProtocolId protocol);
// Numbers the proposals 1, 2, ... in order.
Result<std::vector<Proposal>> parseProposals(std::string_view text, ProtocolId protocol);

// Back to the string form, e.g. "aes256gcm16-prfsha256-x25519". For ESP, "-esn" is printed
// only when ESN is offered ("-esn-noesn" if both). Parsing the output gives the same proposal.
std::string formatProposal(const Proposal& p);
// "aes256gcm16-prfsha256-x25519, aes128-sha256-prfsha256-modp2048"
std::string formatProposals(std::span<const Proposal> list);

// ---- selection (RFC 7296 section 3.3.6) ------------------------------------------------------
enum class SelectionOrder : uint8_t {
  kPeerFirst,  // RFC order: the first of the peer's proposals that any of ours accepts
  kOursFirst,  // our preference first (strongSwan's prefer_configured_proposals)
};

// Picks the first acceptable combination: for a (peer proposal, our proposal) pair of the same
// protocol, every transform type that appears in either must have a common transform (same
// ID and key length); within a type the peer's order wins under kPeerFirst, ours under
// kOursFirst. ESP with no D-H transform in a proposal means "no PFS" (RFC 7296 3.3.3); a peer
// proposal that offers only NONE for a type we don't use matches. The result has exactly one
// transform per type, carries the peer's proposal number and SPI, and satisfies suiteOf().
// nullopt = NO_PROPOSAL_CHOSEN (log formatProposals() of both lists).
std::optional<Proposal> selectProposal(std::span<const Proposal> ours,
                                       std::span<const Proposal> peers,
                                       SelectionOrder order = SelectionOrder::kPeerFirst);

// Initiator side: the responder's reply must contain one proposal with one transform per type,
// and that combination must be something we offered (RFC 7296 3.3.6). Returns its suite.
Result<Suite> checkSelectedProposal(std::span<const Proposal> ours, const Proposal& chosen);

}  // namespace braid::ike
