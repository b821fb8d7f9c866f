// Negotiating one Child SA: the SA/TS (and, in CREATE_CHILD_SA, Nonce/KE) part of an
// IKE_AUTH or CREATE_CHILD_SA exchange (RFC 7296 1.2, 1.3.1, 2.9, 2.17), for both roles.
// A child failure (NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE, ...) never ends the IKE SA (2.21.2).
#pragma once

#include <memory>
#include <optional>

#include "ipsec/esp.hpp"
#include "ipsec/ike/config.hpp"
#include "ipsec/ike/crypto_dh.hpp"
#include "ipsec/ike/events.hpp"
#include "ipsec/ike/message.hpp"

namespace braid::ike {

class IkeSa;

std::optional<ipsec::EspCipher> espCipherOf(const Suite& suite);

class ChildNegotiation {
 public:
  // `config` is set for the initiator, null for the responder (chosen from the request).
  ChildNegotiation(IkeSa& sa, const ChildConfig* config, bool inIkeAuth);
  ~ChildNegotiation();

  enum class Outcome : uint8_t { kInstalled, kFailed, kRetry };

  // Initiator of a rekey (RFC 7296 1.3.3): N(REKEY_SA) names `oldSpiIn`, and the selectors
  // proposed are the old SA's (2.8: the same selectors and algorithms).
  void setRekey(uint32_t oldSpiIn, std::vector<TrafficSelector> localTs,
                std::vector<TrafficSelector> remoteTs);
  // Initiator: SA, [Ni, KEi], TSi, TSr and status notifies.
  bool buildRequest(Message& m);
  // kRetry: INVALID_KE_PAYLOAD named a group we offer; call buildRequest() again.
  Outcome processResponse(const Message& m);

  // Responder.
  void processRequest(const Message& m);
  // Adds SA, [Nr, KEr], TSi, TSr and installs the Child SA, or adds the error notify.
  Outcome buildResponse(Message& m);
  bool requested() const { return requested_; }
  // The inbound SPI of the installed Child SA (0 before).
  uint32_t installedSpi() const { return installed_ ? spiIn_ : 0; }
  uint16_t error() const { return error_; }
  // The exchange's nonces (CREATE_CHILD_SA; a rekey collision compares them, RFC 7296 2.8.1).
  const ByteVec& nonceI() const { return ni_; }
  const ByteVec& nonceR() const { return nr_; }

  // Frees the inbound SPI unless a Child SA was installed with it.
  void release();

 private:
  Outcome install(const Suite& suite, uint32_t spiOut, std::vector<TrafficSelector> localTs,
                  std::vector<TrafficSelector> remoteTs);
  void refuse(uint16_t notifyType, FailureKind kind, const std::string& reason);
  // Initiator: a successful response we cannot accept; the peer's half gets a Delete.
  Outcome refuseInstalled(FailureKind kind, const std::string& reason);
  std::vector<Proposal> ourProposals() const;

  IkeSa& sa_;
  const ChildConfig* config_;
  bool inIkeAuth_;
  bool initiator_;
  uint32_t spiIn_ = 0;
  bool installed_ = false;
  ByteVec ni_, nr_;
  DhGroup keGroup_ = DhGroup::kNone;  // initiator: group of our KE (0: none)
  std::unique_ptr<KeyExchange> ke_;
  SecretBytes shared_;
  std::vector<Proposal> sent_;  // initiator: what we offered
  // Rekey: initiator, the SA we replace and its selectors; responder, the replaced SA's
  // inbound SPI (from the peer's N(REKEY_SA)).
  uint32_t rekeySpi_ = 0;
  std::vector<TrafficSelector> proposedLocal_, proposedRemote_;
  uint32_t replaces_ = 0;
  // Responder state between processRequest and buildResponse.
  bool requested_ = false;
  uint16_t error_ = 0;
  ByteVec errorData_;
  Proposal selected_;
  Suite suite_;
  uint32_t spiOut_ = 0;
  std::vector<TrafficSelector> tsi_, tsr_;  // narrowed
};

}  // namespace braid::ike
