// An IKEv2 message (RFC 7296 3.1): header plus payload chain. Decoding is three steps so
// that the SA manager can route a message by its header before any crypto:
//   parse()   header + plaintext chain (SK body kept raw)
//   decrypt() integrity check, decryption and the inner chain (RFC 7296 3.14)
//   verify()  the rule table for the exchange and direction (rules.hpp)
// A failure names the notify the peer should get (0: drop silently) and a reason for logs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/result.hpp"
#include "ipsec/ike/crypto_cipher.hpp"
#include "ipsec/ike/payload.hpp"

namespace braid::ike {

struct IkeHeader {
  uint64_t spiI = 0;
  uint64_t spiR = 0;
  PayloadType nextPayload = PayloadType::kNone;
  uint8_t majorVersion = kIkeMajorVersion;
  uint8_t minorVersion = 0;
  ExchangeType exchange = ExchangeType::kIkeSaInit;
  uint8_t flags = 0;
  uint32_t messageId = 0;
  uint32_t length = 0;

  bool initiator() const { return flags & kFlagInitiator; }
  bool response() const { return flags & kFlagResponse; }
};

// Reads the fixed 28-byte header only (no checks beyond size).
bool parseIkeHeader(Bytes datagram, IkeHeader& out);
// Writes the 28-byte header with `next` as first payload and Length 0 (set it afterwards).
[[nodiscard]] bool writeIkeHeader(ByteWriter& w, const IkeHeader& h, PayloadType next);

struct DecodeError {
  uint16_t notify = 0;  // what to tell the peer; 0 = nothing (drop)
  std::string reason;
  ByteVec notifyData;  // e.g. the payload type for UNSUPPORTED_CRITICAL_PAYLOAD
};

class Message {
 public:
  IkeHeader header;
  std::vector<Payload> payloads;

  Message() = default;
  Message(ExchangeType exchange, bool response, uint32_t messageId);

  // ---- decoding -------------------------------------------------------------------------
  std::optional<DecodeError> parse(Bytes datagram);
  // SK or SKF (RFC 7383 2.5): the message is protected.
  bool hasSk() const { return skOffset_ != 0; }
  // One Encrypted Fragment (SKF) not yet reassembled (fragmentation.hpp).
  bool isFragment() const { return fragment_; }
  uint16_t fragmentNumber() const { return fragNumber_; }
  uint16_t fragmentTotal() const { return fragTotal_; }
  // Offset of the SK/SKF generic payload header in raw(); the SK/SKF Next Payload field.
  size_t protectedOffset() const { return skOffset_; }
  PayloadType firstInner() const { return skInner_; }
  // The whole message from its fragments: `inner` is the decrypted inner chain, `raw` the
  // first fragment as received (what a retransmission is compared with, RFC 7383 2.6.1).
  std::optional<DecodeError> adoptReassembled(PayloadType first, ByteVec inner, ByteVec raw);
  std::optional<DecodeError> decrypt(const IkeCipher& cipher);
  std::optional<DecodeError> verify() const;
  // parse() + (decrypt() when there is SK) + verify().
  std::optional<DecodeError> decode(Bytes datagram, const IkeCipher* cipher);
  // The datagram as received (the signed octets of IKE_SA_INIT, RFC 7296 2.15).
  Bytes raw() const { return raw_; }

  // ---- encoding ---------------------------------------------------------------------------
  // Every exchange but IKE_SA_INIT puts all payloads inside SK (needs `cipher`).
  Result<ByteVec> encode(IkeCipher* cipher) const;
  // The payload chain alone (the plaintext of SK, or of the SKF fragments).
  Result<ByteVec> encodeChain() const;

  // ---- building and reading --------------------------------------------------------------
  template <typename T>
  void add(PayloadType type, T body) {
    payloads.push_back(Payload{type, false, false, PayloadBody(std::move(body))});
  }
  void addNotify(uint16_t type, ByteVec data = {}, ProtocolId protocol = kProtocolNone,
                 ByteVec spi = {});
  template <typename T>
  const T* get(PayloadType type) const {
    for (const auto& p : payloads) {
      if (p.type == type) return std::get_if<T>(&p.body);
    }
    return nullptr;
  }
  template <typename T>
  std::vector<const T*> all(PayloadType type) const {
    std::vector<const T*> out;
    for (const auto& p : payloads) {
      if (p.type != type) continue;
      if (const T* t = std::get_if<T>(&p.body)) out.push_back(t);
    }
    return out;
  }
  const NotifyPayload* notify(uint16_t type) const;
  // The first error notify (type < 16384), if any.
  const NotifyPayload* errorNotify() const;
  size_t count(PayloadType type) const;
  // "IKE_AUTH request 1 [ IDi AUTH SA TSi TSr N(INITIAL_CONTACT) ]" for logs.
  std::string summary() const;

 private:
  std::optional<DecodeError> parseChain(Bytes chain, PayloadType first, bool encrypted,
                                        size_t chainOffset);
  ByteVec raw_;
  size_t skOffset_ = 0;  // offset of the SK generic header in raw_, 0 = none
  PayloadType skInner_ = PayloadType::kNone;
  bool decrypted_ = false;
  bool fragment_ = false;
  uint16_t fragNumber_ = 0, fragTotal_ = 0;
  ByteVec inner_;  // decrypted inner chain
};

}  // namespace braid::ike
