// The IKE core's outputs: datagrams to send, SA events for edge, key logging, counters, and
// its injectable inputs (randomness, key exchange construction). No I/O here.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/result.hpp"
#include "core/secure.hpp"
#include "ipsec/esp.hpp"
#include "ipsec/ike/config.hpp"
#include "ipsec/ike/crypto_dh.hpp"

namespace braid::ike {

// Edge sends `data` from `local` to `remote`. When local.port is kNattPort the datagram goes
// out of the NAT-T socket, so edge prefixes the 4-byte non-ESP marker (RFC 3948 2.2).
class DatagramSender {
 public:
  virtual ~DatagramSender() = default;
  virtual void sendDatagram(const Endpoint& local, const Endpoint& remote, Bytes data) = 0;
};

struct ChildSaEvent {
  std::string peer;   // PeerConfig::name
  std::string child;  // ChildConfig::name
  uint64_t ikeSpiI = 0, ikeSpiR = 0;
  ipsec::EspSaConfig inbound;   // SPI we chose; open with this
  ipsec::EspSaConfig outbound;  // SPI the peer chose; seal with this
  std::vector<TrafficSelector> localTs, remoteTs;
  Endpoint local, remote;  // ESP-in-UDP endpoints (port 4500 when encapsulated)
  bool shim = false;       // both sides negotiated the braid shim (per IKE SA)
  // Make-before-break (RFC 7296 2.8). False in onChildSaUp for the new SA of a rekey the
  // peer initiated: install only the inbound SA; onChildSaOutbound later switches sending
  // to it, just before the replaced SA's onChildSaDown.
  bool outboundActive = true;
  // onChildSaUp of a rekey: the inbound SPI of the Child SA this one replaces (0: none).
  uint32_t replacesSpi = 0;
};

struct IkeSaEvent {
  std::string peer;
  uint64_t spiI = 0, spiR = 0;
  Endpoint local, remote;
  Identity remoteId;
  bool natDetected = false;  // either side is behind NAT, or encapsulation is forced
  bool behindNat = false;    // we are: edge sends NAT-keepalives (RFC 3948 2.3)
  bool shim = false;         // both sides negotiated the braid shim in IKE_AUTH
};

enum class FailureKind : uint8_t {
  kAuthFailed,  // we rejected the peer's AUTH, or the peer rejected ours
  kNoProposal,
  kUnknownIdentity,
  kTsUnacceptable,
  kInvalidKe,
  kPeerNotAnswering,
  kInvalidSyntax,
  kOther,
};

struct FailureEvent {
  std::string peer;  // config name, or the address when no config matched
  Endpoint remote;
  FailureKind kind = FailureKind::kOther;
  bool byPeer = false;  // the peer sent the notify (rather than us)
  // False when unauthenticated input caused it (a responder's IKE SA before IKE_AUTH
  // completed): anyone can cause those, so edge must not fail the path on them.
  bool authenticated = true;
  std::string reason;  // the one log line
};

class SaListener {
 public:
  virtual ~SaListener() = default;
  virtual void onIkeSaUp(const IkeSaEvent&) {}
  virtual void onIkeSaDown(const IkeSaEvent&) {}
  virtual void onChildSaUp(const ChildSaEvent&) {}
  // The outbound SA of a Child SA announced with outboundActive = false: send with it now.
  virtual void onChildSaOutbound(const ChildSaEvent&) {}
  // inbound.spi / outbound.spi name the SA; keymat is empty. After a rekey the outbound SA
  // named here is no longer the path's current one (sending already moved to the new SA).
  virtual void onChildSaDown(const ChildSaEvent&) {}
  // RFC 7296 2.23: an authenticated message came from a new address/port (NAT rebinding);
  // edge points the peer's ESP SAs at the new endpoint.
  virtual void onPeerEndpointChanged(const IkeSaEvent&) {}
  virtual void onFailure(const FailureEvent&) {}
};

// Key logging for Wireshark (ikev2_decryption_table, esp_sa). Optional.
struct IkeKeyLog {
  uint64_t spiI = 0, spiR = 0;
  std::string encr, integ;  // transformName() of the negotiated suite
  const SecretBytes* skEi = nullptr;
  const SecretBytes* skEr = nullptr;
  const SecretBytes* skAi = nullptr;
  const SecretBytes* skAr = nullptr;
};
struct EspKeyLog {
  uint32_t spi = 0;
  IpAddress src, dst;
  ipsec::EspCipher cipher = ipsec::EspCipher::kAesGcm16_256;
  const SecretBytes* keymat = nullptr;  // key || salt
};
class KeySink {
 public:
  virtual ~KeySink() = default;
  virtual void ikeSaKeys(const IkeKeyLog&) = 0;
  virtual void childSaKeys(const EspKeyLog&) = 0;
};

// Randomness for SPIs, nonces, IVs and jitter. Default: OpenSSL RAND_bytes.
class Random {
 public:
  virtual ~Random() = default;
  virtual void fill(MutableBytes out) = 0;
  uint64_t u64();
  uint32_t u32();
};
class SystemRandom final : public Random {
 public:
  void fill(MutableBytes out) override;
};
// Deterministic (tests, fuzz seeds): xoshiro-style generator from a seed. NOT for production.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : state_(seed ? seed : 1) {}
  void fill(MutableBytes out) override;

 private:
  uint64_t state_;
};

using KeyExchangeFactory = std::function<Result<std::unique_ptr<KeyExchange>>(DhGroup)>;

// Plain counters owned by the SaManager (the metrics registry reads them).
struct IkeCounters {
  uint64_t ikeSaUp = 0, ikeSaDown = 0, childSaUp = 0, childSaDown = 0;
  // Child SA rekeys completed, by who started them; lifetime and sequence-limit triggers.
  uint64_t childRekeysInitiated = 0, childRekeysResponded = 0, childRekeyFailures = 0;
  // Both sides rekeyed the same Child SA (RFC 7296 2.8.1), and those our side lost.
  uint64_t childRekeyCollisions = 0, childRekeyCollisionsLost = 0;
  uint64_t childSoftExpired = 0, childHardExpired = 0, childSeqLimit = 0;
  uint64_t ikeRekeysInitiated = 0, ikeRekeysResponded = 0, ikeRekeyFailures = 0;
  // Both sides rekeyed the IKE SA at once (RFC 7296 2.8.2), and those our side lost.
  uint64_t ikeRekeyCollisions = 0, ikeRekeyCollisionsLost = 0;
  uint64_t ikeSoftExpired = 0, ikeHardExpired = 0;
  // IKE SAs deleted because the peer's new one carried INITIAL_CONTACT (RFC 7296 3.10.1), and
  // IKE SAs dropped because both sides initiated one at once (the other one kept).
  uint64_t initialContactFlushed = 0, duplicateIkeSas = 0;
  uint64_t dpdChecks = 0;  // empty INFORMATIONAL after dpdDelay without a word from the peer
  uint64_t authFailed = 0, authFailedByPeer = 0;
  uint64_t noProposal = 0, noProposalByPeer = 0;
  uint64_t unknownIdentity = 0;
  uint64_t tsUnacceptable = 0, tsUnacceptableByPeer = 0;
  // Initiator: Deletes sent for Child SAs the responder installed but we refused (selectors
  // wider than proposed, a proposal or KE we did not offer; RFC 7296 2.9).
  uint64_t refusedChildDeletes = 0;
  // Initiator: Child SAs not installed because the peer's Delete of them overtook the
  // CREATE_CHILD_SA response (IkeSa::noteUnknownDelete).
  uint64_t childDeletedBeforeCreated = 0;
  uint64_t invalidKeSent = 0, invalidKeReceived = 0;
  uint64_t invalidSyntaxSent = 0, invalidSyntaxReceived = 0;
  uint64_t unsupportedCritical = 0;
  uint64_t peerNotAnswering = 0;
  uint64_t retransmits = 0, responsesReplayed = 0;
  uint64_t requestsProcessed = 0, responsesProcessed = 0;
  uint64_t dropsMalformed = 0, dropsUnknownSpi = 0, dropsIntegrity = 0, dropsMessageId = 0;
  uint64_t dropsNoConfig = 0;
  // Exchanges the IKE SA does not accept in its state or role (exchange_rules.hpp), and
  // plaintext messages of exchanges that must be SK-protected: dropped silently.
  uint64_t dropsState = 0, dropsUnprotected = 0;
  uint64_t initiateRetries = 0;
  uint64_t peerEndpointChanges = 0;
  // MOBIKE (RFC 4555): address updates we completed as the original initiator and those we
  // accepted as responder; IKE SAs re-established because our address changed without MOBIKE.
  uint64_t mobikeUpdatesInitiated = 0, mobikeUpdatesResponded = 0;
  uint64_t addressChangeReinitiations = 0;
  // Responder DoS defences (RFC 7296 2.6, sa_manager.hpp ResponderLimits).
  uint64_t cookiesSent = 0, cookiesValid = 0, cookiesInvalid = 0;
  uint64_t dropsHalfOpenCap = 0, dropsHalfOpenPerSource = 0, dropsInitRate = 0;
  uint64_t halfOpenExpired = 0;
  uint64_t logSuppressed = 0;  // log lines caused by unauthenticated input, over the limit
  // RFC 7383 fragmentation (fragmentation.hpp): SKF datagrams sent and verified on receipt,
  // messages reassembled; fragments dropped: bad numbering or not negotiated, a duplicate,
  // of an older split (lower Total Fragments), over the count/byte bound, or left in an
  // incomplete set that timed out.
  uint64_t fragmentsSent = 0, fragmentsReceived = 0, messagesReassembled = 0;
  uint64_t dropsFragmentInvalid = 0, dropsFragmentDuplicate = 0, dropsFragmentStale = 0;
  uint64_t dropsFragmentLimit = 0, dropsFragmentTimeout = 0;
  // RFC 7383 2.5.2: a message split again into smaller fragments (an unanswered request on
  // retransmission, or a response replayed to a request that came split smaller).
  uint64_t fragmentShrinks = 0;
  // EAP-TLS (RFC 5216 2.1.5): a client's TLS message over the reassembly bound (64 KiB).
  uint64_t dropsEapTlsOversize = 0;
};

}  // namespace braid::ike
