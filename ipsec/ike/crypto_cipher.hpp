// Protection of the Encrypted (SK) payload, RFC 7296 section 3.14, with
//   AES-CBC + HMAC-SHA2 (RFC 3602, RFC 4868), AES-GCM-16 (RFC 5282), ChaCha20-Poly1305 (RFC 7634).
//
// SK payload body (after its 4-byte generic payload header):
//   IV | Encrypt(inner payloads | Padding | Pad Length) | ICV
// AEAD: IV is 8 bytes, nonce = salt(4) || IV(8); the associated data is the message from the
//   first byte of the IKE header through the SK payload generic header (RFC 5282 section 5,
//   RFC 7634 section 4). ICV is the 16-byte tag.
// CBC + HMAC: IV is 16 random bytes; the ICV is the truncated HMAC over the whole message from
//   the IKE header through the end of the encrypted data (RFC 7296 3.14), i.e. over
//   associated || IV || ciphertext.
// Either way, `associated` = IKE header + unencrypted payloads + SK payload header, with the
// final Length fields already written. The same call protects an RFC 7383 Encrypted Fragment
// (SKF) payload: pass that fragment's header + SKF header (incl. Fragment Number and Total
// Fragments) as `associated`.
//
// Padding: the sender pads to the cipher block (16 for CBC, none for AEAD: block size 1,
// RFC 5282 section 3 / RFC 7634 section 2); the receiver accepts any Pad Length that fits
// (RFC 7296 3.14). Pad bytes are zero.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/bytes.hpp"
#include "core/result.hpp"
#include "core/secure.hpp"
#include "ipsec/ike/crypto_keys.hpp"
#include "ipsec/ike/proposal.hpp"

namespace braid::ike {

// Fills the IV for one encryption. Default: AEAD = 64-bit big-endian counter starting at 1
// (an IV must never repeat under one key: RFC 5282 3.1, RFC 7634 2); CBC = RAND_bytes (the IV
// must be unpredictable: RFC 7296 3.14). Tests inject fixed IVs.
using IvGenerator = std::function<void(MutableBytes iv)>;

class IkeCipher {
 public:
  // One direction's keys: encrKey = SK_e (incl. salt for AEAD), integKey = SK_a (empty for
  // AEAD). Needs suite.encr/encrKeyBits/integ; other fields are ignored.
  static Result<std::unique_ptr<IkeCipher>> create(const Suite& suite, Bytes encrKey,
                                                   Bytes integKey);
  virtual ~IkeCipher() = default;

  virtual size_t ivLength() const = 0;   // 8 (AEAD) or 16 (CBC)
  virtual size_t icvLength() const = 0;  // 16 (AEAD), 16/24/32 (HMAC-SHA2-256/384/512)
  virtual size_t blockSize() const = 0;  // padding alignment: 16 (CBC) or 1 (AEAD)

  // SK payload body length for `plaintextLength` bytes of inner payloads:
  // IV + plaintext + padding + 1 (Pad Length) + ICV.
  virtual size_t encryptedLength(size_t plaintextLength) const = 0;
  // The largest inner plaintext whose encryptedLength() is <= `bodyLength`; 0 if none fits.
  // For fragmentation (RFC 7383 2.5.1): split so each fragment fits the path MTU.
  virtual size_t maxPlaintextLength(size_t bodyLength) const = 0;

  // Writes IV | ciphertext | ICV to `out`, which must be exactly
  // encryptedLength(plaintext.size()) bytes and must not overlap the inputs.
  virtual Status encrypt(Bytes associated, Bytes plaintext, MutableBytes out) = 0;
  // Verifies the ICV of `body` (IV | ciphertext | ICV) and returns the inner payloads without
  // padding. Errors: kCryptoError for an ICV mismatch (drop the message silently, RFC 7296
  // 2.21.2), kParseError for a body too short, not block-aligned or with a bad Pad Length.
  virtual Result<std::vector<uint8_t>> decrypt(Bytes associated, Bytes body) const = 0;

  virtual void setIvGenerator(IvGenerator generator) = 0;
};

// Our outbound and inbound ciphers: the initiator sends with SK_ei/SK_ai and receives with
// SK_er/SK_ar; the responder the other way round.
struct IkeCipherPair {
  std::unique_ptr<IkeCipher> outbound;
  std::unique_ptr<IkeCipher> inbound;
};
Result<IkeCipherPair> createIkeCiphers(const Suite& suite, const IkeSaKeys& keys, bool isInitiator);

// ---- whole-message helpers (for the codec) -----------------------------------------------
inline constexpr size_t kIkeHeaderLength = 28;
inline constexpr uint8_t kPayloadTypeSk = 46;   // RFC 7296 3.14
inline constexpr uint8_t kPayloadTypeSkf = 53;  // RFC 7383 2.5

// Builds a protected message. `prefix` is the 28-byte IKE header followed by any unencrypted
// payloads; the last Next Payload field in `prefix` must already say SK (46). Appends the SK
// payload header (Next Payload = `firstInnerPayload`), writes the IKE header Length (offset
// 24) and encrypts `inner` (the chained inner payloads).
Result<std::vector<uint8_t>> sealMessage(IkeCipher& cipher, Bytes prefix, uint8_t firstInnerPayload,
                                         Bytes inner);
// Opens a protected message whose SK payload generic header starts at `skOffset` and runs to
// the end of the message (RFC 7296 3.14: SK is the last payload). Checks that the SK payload
// length matches. Returns the inner payloads; their first type is the SK header's Next
// Payload (message[skOffset]).
Result<std::vector<uint8_t>> openMessage(const IkeCipher& cipher, Bytes message, size_t skOffset);

}  // namespace braid::ike
