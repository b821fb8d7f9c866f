// One IKE SA (RFC 7296 2): SPIs, state, negotiated suite and keys, NAT state, peer
// endpoint, its Child SAs and the TaskManager that drives its exchanges.
#pragma once

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/rate_limit.hpp"
#include "core/timer.hpp"
#include "ipsec/ike/auth_signature.hpp"
#include "ipsec/ike/config.hpp"
#include "ipsec/ike/crypto_cipher.hpp"
#include "ipsec/ike/crypto_keys.hpp"
#include "ipsec/ike/events.hpp"
#include "ipsec/ike/task_manager.hpp"

namespace braid::ike {

class IkeSa;
struct RemoteAccessState;  // remote_access.hpp
struct EapResponderState;  // ike_auth_eap.hpp

// What an IKE SA needs from its owner (the SaManager).
class IkeSaContext {
 public:
  virtual ~IkeSaContext() = default;
  virtual const Clock& clock() = 0;
  virtual TimerScheduler& timers() = 0;
  virtual DatagramSender& sender() = 0;
  virtual SaListener& listener() = 0;
  virtual IkeCounters& counterRef() = 0;
  virtual Random& random() = 0;
  virtual KeySink* keySink() = 0;
  virtual bool deterministicIvs() = 0;
  virtual Result<std::unique_ptr<KeyExchange>> createKeyExchange(DhGroup group) = 0;
  // A fresh inbound ESP SPI, unique in this process (>= 256, RFC 4303 2.1).
  virtual uint32_t allocateChildSpi() = 0;
  virtual void releaseChildSpi(uint32_t spi) = 0;
  // IKE SA rekey (RFC 7296 1.3.2): a fresh IKE SPI, and the new SA registered under it.
  virtual uint64_t allocateIkeSpi() = 0;
  virtual IkeSa& createRekeyedSa(IkeSa& old, bool initiator, uint64_t spiI, uint64_t spiR) = 0;
  // Responder: the config for a peer that authenticated as `id` from `remote`.
  virtual const PeerConfig* findPeerConfig(const Endpoint& remote, const Identity& id) = 0;
  virtual void ikeSaEstablished(IkeSa& sa) { (void)sa; }
  // Another IKE SA to the same peer is up (sa_uniqueness.cpp): no INITIAL_CONTACT then.
  virtual bool otherIkeSaUp(const IkeSa& sa) {
    (void)sa;
    return false;
  }
  // The MTU of the uplink's interface (edge; 0: unknown): the default fragment size.
  virtual size_t linkMtu() { return 0; }
  // Limits the log lines of failures that unauthenticated input caused (null: no limit).
  virtual LogRateLimiter* unauthenticatedLog() { return nullptr; }
  // The SA has ended (destroyed after this call returns; `failed` asks for a retry).
  virtual void ikeSaEnded(IkeSa& sa, bool failed) = 0;
};

enum class IkeSaState : uint8_t { kCreated, kConnecting, kEstablished, kDeleting, kDead };
std::string_view ikeSaStateName(IkeSaState s);

// kRekeying: our CREATE_CHILD_SA with N(REKEY_SA) is in flight. kRekeyed: a new Child SA
// replaces it (RFC 7296 2.8); it still receives until it is deleted.
enum class ChildSaState : uint8_t { kInstalled, kRekeying, kRekeyed, kDeleting };
std::string_view childSaStateName(ChildSaState s);

struct ChildSa {
  const ChildConfig* config = nullptr;
  uint32_t spiIn = 0;   // ours: the peer sends with it
  uint32_t spiOut = 0;  // the peer's
  Suite suite;
  std::vector<TrafficSelector> localTs, remoteTs;
  ChildSaState state = ChildSaState::kInstalled;
  TimePoint installedAt{};
  // Lifetime deadlines (soft: rekey, hard: delete; a zero TimePoint = none), once rekeyed by
  // us the delayed Delete, and their timers (re-armed when the Child SA moves to a rekeyed
  // IKE SA).
  TimePoint softAt{}, hardAt{}, deleteAt{};
  bool retrying = false;  // softAt is a retry after a failed rekey
  std::unique_ptr<ScopedTimer> softTimer, hardTimer, deleteTimer;
  // Usage as the data plane last reported it (reportUsage).
  uint64_t bytesIn = 0, packetsIn = 0, bytesOut = 0, packetsOut = 0;
  // Responder of a rekey: the new SA's outbound waits (make-before-break) until the SA it
  // replaces goes; until then `pendingOut` holds it (SaListener::onChildSaOutbound).
  std::optional<ipsec::EspSaConfig> pendingOut;
  uint32_t replacedBy = 0;  // spiIn of the Child SA that rekeyed this one
  // RFC 7296 2.8.1, both sides rekeyed this SA at once: each completed exchange leaves the
  // new SA's spiIn and the exchange's lowest nonce (child_rekey_collision.cpp). The loser
  // keeps `redundant` (its own new SA) to delete once this one goes.
  uint32_t ourRekeySpi = 0, peerRekeySpi = 0, redundant = 0;
  ByteVec ourRekeyNonce, peerRekeyNonce;
};

class IkeSa {
 public:
  IkeSa(IkeSaContext& ctx, const PeerConfig* config, bool initiator, uint64_t ourSpi,
        const Endpoint& local, const Endpoint& remote);
  ~IkeSa();
  IkeSa(const IkeSa&) = delete;
  IkeSa& operator=(const IkeSa&) = delete;

  // ---- driving ----------------------------------------------------------------------------
  // Initiator: queue IKE_SA_INIT + IKE_AUTH (with the first Child SA) and start.
  void initiate();
  void receive(Message& message, const Endpoint& to, const Endpoint& from);
  // Additional Child SA (CREATE_CHILD_SA), optionally another config than the first.
  void createChild(const ChildConfig* child);
  void deleteChild(uint32_t spiIn);
  // Child SA rekey, make-before-break (RFC 7296 1.3.3, 2.8); normally the soft lifetime
  // starts it. False if the Child SA is not in a state to be rekeyed.
  bool rekeyChild(uint32_t spiIn);
  // The data plane's counters of one of this SA's ESP SAs (by SPI, either direction): checks
  // the byte/packet limits and the sequence-number limit. False if no Child SA has the SPI.
  bool reportUsage(uint32_t spi, bool inbound, uint64_t bytes, uint64_t packets);
  // INFORMATIONAL with Delete(IKE); the SA ends when the peer answers or gives up.
  void deleteIkeSa();
  // Empty INFORMATIONAL (liveness check, RFC 7296 1.4).
  void sendLivenessCheck();
  // IKE SA rekey (RFC 7296 1.3.2, 2.18); normally the IKE soft lifetime starts it. False if
  // the SA is not established or already rekeying.
  bool rekeyIke();
  bool ikeRekeying() const { return ikeRekeying_; }
  // A failed IKE SA rekey is tried again after 10-20 s (2-10 s after TEMPORARY_FAILURE).
  void retryIkeRekey(bool temporary);
  bool wasUp() const { return up_; }
  // We initiated the first IKE SA of this chain of rekeys (the roles of a rekeyed IKE SA
  // follow who started the rekey, RFC 7296 2.18): decides who retries after a failure.
  bool startedByUs() const { return startedByUs_; }
  void setIkeRekeying(bool on) { ikeRekeying_ = on; }
  // RFC 7296 2.8.2 (ike_rekey_collision.cpp): the peer's IKE SA rekey crossed ours. Its new
  // SA `next` (keys installed) waits, without the Child SAs, until ours completes or fails.
  bool ikeRekeyCollisionPossible() const;
  void holdPeerIkeRekey(IkeSa& next, Bytes ni, Bytes nr);
  // Our rekey made `next` (null: it failed). True if a held peer rekey was there and this
  // settled both (the lowest nonce loses); false: the caller finishes as usual.
  bool resolveIkeRekey(IkeSa* next, Bytes ni, Bytes nr);
  // On the new IKE SA of a rekey: takes the old SA's peer, endpoints, NAT state and Child
  // SAs (no Child SA events: the ESP SAs do not change), then counts as established.
  void takeOver(IkeSa& old);
  // The old IKE SA after a rekey: deleting, without Child SAs. The responder waits for the
  // peer's Delete (at most 60 s).
  void retire();
  // Made by an IKE SA rekey (takeOver), not by IKE_AUTH.
  bool fromRekey() const { return fromRekey_; }
  // Start-up duplicates (sa_uniqueness.cpp): the other IKE SA's Child SAs move here, their ESP
  // SAs unchanged (no Child SA events).
  void adoptChildren(IkeSa& other);

  // ---- state --------------------------------------------------------------------------------
  bool initiator() const { return initiator_; }
  uint64_t spiI() const { return spiI_; }
  uint64_t spiR() const { return spiR_; }
  uint64_t ourSpi() const { return initiator_ ? spiI_ : spiR_; }
  void setSpiR(uint64_t spi) { spiR_ = spi; }
  void setSpiI(uint64_t spi) { spiI_ = spi; }
  IkeSaState state() const { return state_; }
  void setState(IkeSaState s) { state_ = s; }
  const PeerConfig* config() const { return config_; }
  void setConfig(const PeerConfig* c) { config_ = c; }
  const Endpoint& local() const { return local_; }
  const Endpoint& remote() const { return remote_; }
  void setEndpoints(const Endpoint& local, const Endpoint& remote);
  // "peer 'name' 192.0.2.1[500]" for logs.
  std::string peerName() const;
  const std::vector<std::unique_ptr<ChildSa>>& children() const { return children_; }
  ChildSa* findChildByInbound(uint32_t spi);
  ChildSa* findChildByOutbound(uint32_t spi);
  TaskManager& tasks() { return tasks_; }
  IkeSaContext& ctx() { return ctx_; }
  // When the SA came up (IKE_AUTH or the rekey that made it) and its IKE rekey and hard
  // lifetime deadlines (zero: none), for braidctl sas.
  TimePoint establishedAt() const { return establishedAt_; }
  TimePoint ikeRekeyAt() const { return ikeRekeyAt_; }
  TimePoint ikeExpireAt() const { return ikeExpireAt_; }
  bool natDetected() const { return natLocal_ || natRemote_ || forcedEncap_; }
  bool natLocal() const { return natLocal_; }
  bool natRemote() const { return natRemote_; }
  void setNat(bool local, bool remote, bool forced);
  // Floats IKE to port 4500 (RFC 7296 2.23) when NAT was detected or encapsulation forced.
  void floatPorts();

  // ---- keys (set by IKE_SA_INIT) ------------------------------------------------------------
  Suite suite;
  IkeSaKeys keys;
  IkeCipherPair ciphers;
  ByteVec nonceI, nonceR;
  ByteVec initRequest, initResponse;  // the IKE_SA_INIT messages as sent (RFC 7296 2.15)
  std::vector<HashAlgorithm> peerSignatureHashes;
  Identity peerId;
  // The peer's IKE_AUTH carried INITIAL_CONTACT (RFC 7296 3.10.1): its other IKE SAs with
  // this identity are stale and go when this one is up (sa_uniqueness.cpp).
  bool peerInitialContact = false;
  // The peer sent IKEV2_FRAGMENTATION_SUPPORTED in IKE_SA_INIT (RFC 7383 2.3).
  bool peerFragmentation = false;
  // The largest IKE message we send unfragmented, 0 = fragmentation not negotiated.
  size_t fragmentLimit() const;
  // The IP datagram size fragments are cut for: the configured fragment_size, else the
  // uplink's MTU (IkeSaContext::linkMtu), else 1280; never above a size PMTU discovery
  // settled on (RFC 7383 2.5.2).
  size_t fragmentSize() const;
  // 2.5.2: a message whose largest datagram is `largestMessage` bytes (IKE message) got no
  // answer: fragments shrink to the next size below it (1280, then 576 on IPv4) for this and
  // later messages. False when there is no smaller size.
  bool reduceFragmentSize(size_t largestMessage);
  // Virtual IPs settled by CP in IKE_AUTH (null: none); shared with a rekeyed IKE SA.
  std::shared_ptr<RemoteAccessState> remoteAccess;
  // Responder: a client authenticating with EAP between IKE_AUTH exchanges (RFC 7296 2.16).
  std::shared_ptr<EapResponderState> eapResponder;
  Status installKeys(const Suite& s, Bytes sharedSecret);
  // Keys already derived (a rekeyed IKE SA, RFC 7296 2.18).
  Status installDerivedKeys(const Suite& s, IkeSaKeys k);

  // ---- outcomes -----------------------------------------------------------------------------
  void established();
  // One log line, one counter, one FailureEvent.
  void fail(FailureKind kind, bool byPeer, const std::string& reason);
  // `outboundActive` false: a rekey responder's new SA; its outbound takes over when the SA
  // it replaces (`replaces`, its spiIn) goes.
  void addChild(std::unique_ptr<ChildSa> child, const ipsec::EspSaConfig& in,
                const ipsec::EspSaConfig& out, bool outboundActive = true, uint32_t replaces = 0);
  // A rekey we initiated completed: `oldSpiIn` is replaced, deleted after rekeyDeleteDelay.
  void childRekeyed(uint32_t oldSpiIn, uint32_t newSpiIn);
  // Our rekey of `spiIn` failed; it is tried again after a (random) delay.
  void childRekeyFailed(uint32_t spiIn, bool temporary);
  void removeChild(uint32_t spiIn);
  // A rekey exchange of `oldSpiIn` completed (ours: we initiated it) with nonces `ni`, `nr`;
  // with both sides' exchanges known, the one with the lowest nonce loses (RFC 7296 2.8.1).
  void noteChildRekey(uint32_t oldSpiIn, bool ours, uint32_t newSpiIn, Bytes ni, Bytes nr);
  // The peer's N(REKEY_SA) for `c`, which we rekey too, is answered as usual (2.25).
  static bool rekeyCollisionPossible(const ChildSa& c);
  // Ends the SA now: Child SA and IKE SA down events, owner notified (failed -> retry).
  void destroy(bool failed);
  bool dead() const { return state_ == IkeSaState::kDead; }
  // The peer has authenticated (we initiated, or IKE_AUTH completed): its failures and
  // errors are worth a log line each; before that, anyone could have caused them.
  bool peerAuthenticated() const { return initiator_ || up_ || authVerified_; }
  // Responder: the peer's AUTH verified (before established(): the Child SA comes first).
  void peerAuthVerified() { authVerified_ = true; }
  // Both sides offered the braid shim in IKE_AUTH; set only after the peer's AUTH verified.
  bool shimNegotiated() const { return shim_; }
  void setShimNegotiated(bool on) { shim_ = on; }
  // ---- MOBIKE (RFC 4555, task_mobike.cpp) --------------------------------------------------
  // Both sides sent MOBIKE_SUPPORTED in IKE_AUTH (set after the peer's AUTH verified).
  bool mobike() const { return mobike_; }
  void setMobike(bool on) { mobike_ = on; }
  // Our local address changed to `address` (the old one is gone). True: MOBIKE moves this SA
  // (both sides support it and we are the original initiator, 3.5); false: it cannot move,
  // the owner re-establishes it.
  bool moveLocalAddress(const IpAddress& address);
  // An UPDATE_SA_ADDRESSES exchange settled the SA's addresses and NAT state (either role):
  // IKE and the Child SAs (their ESP-in-UDP endpoints) use them from now on.
  void updateAddresses(const Endpoint& local, const Endpoint& remote, bool natLocal,
                       bool natRemote);

  void send(Bytes datagram, const Endpoint& local, const Endpoint& remote);
  void send(Bytes datagram) { send(datagram, local_, remote_); }
  IkeCipher* outCipher() { return ciphers.outbound.get(); }
  const IkeCipher* inCipher() const { return ciphers.inbound.get(); }
  IkeSaEvent eventBase() const;

 private:
  IkeSaContext& ctx_;
  const PeerConfig* config_;
  bool initiator_;
  uint64_t spiI_ = 0, spiR_ = 0;
  IkeSaState state_ = IkeSaState::kCreated;
  Endpoint local_, remote_;
  bool natLocal_ = false, natRemote_ = false, forcedEncap_ = false;
  // Set by established(): an SA that is deleting may never have been up (the initiator
  // refusing the responder's AUTH deletes it), and only an SA that was up goes down.
  bool up_ = false;
  bool authVerified_ = false;
  bool shim_ = false;
  bool mobike_ = false;
  size_t pmtuFragmentSize_ = 0;  // RFC 7383 2.5.2: the size PMTU discovery shrank to (0: none)
  TimePoint lastActivity_{};     // the peer's last authenticated message or inbound ESP
  TimePoint lastMessage_{};      // the peer's last authenticated IKE message only
  TimePoint lastResponse_{};     // the peer's last authenticated response to our request
  std::array<uint32_t, 4> unknownDeletes_{};  // noteUnknownDelete
  size_t unknownDeleteCount_ = 0;
  TimePoint establishedAt_{}, ikeRekeyAt_{}, ikeExpireAt_{};

 public:
  // An authenticated IKE message from the peer (request or response).
  void noteActivity() { lastActivity_ = lastMessage_ = ctx_.clock().now(); }
  TimePoint lastMessage() const { return lastMessage_; }
  // A Delete from the peer can overtake the CREATE_CHILD_SA response that created the Child
  // SA it names (RFC 7296 1.4.1 lets the peer delete at once; a lost response is answered
  // again from the cache). So while our CREATE_CHILD_SA is in flight, ESP SPIs it deletes
  // that we do not know yet are remembered, and a response naming one is not installed
  // (docs/fuzzing.md F2). Consumed by the check; a few are enough (one exchange in flight).
  void noteUnknownDelete(uint32_t spiOut) {
    const Task* t = tasks_.active();
    if (t == nullptr ||
        (t->kind() != TaskKind::kChildCreate && t->kind() != TaskKind::kChildRekey)) {
      return;
    }
    unknownDeletes_[unknownDeleteCount_++ % unknownDeletes_.size()] = spiOut;
  }
  bool deletedBeforeCreated(uint32_t spiOut) {
    const size_t n = std::min(unknownDeleteCount_, unknownDeletes_.size());
    unknownDeleteCount_ = 0;
    return std::find(unknownDeletes_.begin(), unknownDeletes_.begin() + n, spiOut) !=
           unknownDeletes_.begin() + n;
  }
  // Only a response proves that our direction works too (a request from the peer does not).
  void noteResponse() { lastResponse_ = ctx_.clock().now(); }
  TimePoint lastResponse() const { return lastResponse_; }
  // Multipath liveness (edge): an empty INFORMATIONAL unless an exchange is already in
  // flight or queued (its answer proves liveness as well); with `resend`, a request in
  // flight is sent again now rather than at its next timeout (a second chance for a check
  // whose request or response was lost). False if nothing was sent.
  bool checkLivenessIfIdle(bool resend = false) {
    if (state_ != IkeSaState::kEstablished) return false;
    if (!tasks_.idle()) return resend && tasks_.resendNow();
    if (tasks_.queued() != 0) return false;
    sendLivenessCheck();
    return true;
  }

 private:
  void armLifetime(ChildSa& c);
  void armChildTimers(ChildSa& c);
  void armIkeTimers();
  void onDpdTimer();
  bool ikeRekeying_ = false;
  bool startedByUs_ = false;
  bool fromRekey_ = false;
  IkeSa* heldRekey_ = nullptr;  // the peer's new IKE SA of a collision (2.8.2)
  IkeSa* heldBy_ = nullptr;     // on that SA: the old SA holding it
  ByteVec heldNonce_;           // the lowest nonce of the peer's exchange
  ScopedTimer ikeSoftTimer_, ikeHardTimer_, dpdTimer_, retireTimer_;
  void checkUsage(ChildSa& c);
  void activateOutbound(ChildSa& c);
  ChildSaEvent childEvent(const ChildSa& c) const;
  std::vector<std::unique_ptr<ChildSa>> children_;
  TaskManager tasks_;
};

}  // namespace braid::ike
