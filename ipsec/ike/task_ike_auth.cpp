// IKE_AUTH (RFC 7296 1.2, 2.15): identities, certificates and CERTREQ, AUTH by PSK or
// signature (RFC 7296 3.8, RFC 4754, RFC 7427), EAP-MSCHAPv2 and EAP-TLS clients (2.16: several
// IKE_AUTH exchanges, then AUTH over the MSK), and the first Child SA. An authentication
// failure ends the IKE SA; a Child SA failure does not (RFC 7296 2.21.2).
#include <algorithm>

#include "core/log.hpp"
#include "ipsec/ike/child_negotiation.hpp"
#include "ipsec/ike/eap_tls.hpp"
#include "ipsec/ike/ike_auth_eap.hpp"
#include "ipsec/ike/ike_sa.hpp"
#include "ipsec/ike/remote_access.hpp"
#include "ipsec/ike/tasks.hpp"

namespace braid::ike {
namespace {

bool isSignatureMethod(AuthMethod m) {
  return m == AuthMethod::kRsaSignature || m == AuthMethod::kEcdsaSha256P256 ||
         m == AuthMethod::kEcdsaSha384P384 || m == AuthMethod::kEcdsaSha512P521 ||
         m == AuthMethod::kDigitalSignature;
}

// Our AUTH payload over our signed octets (RFC 7296 2.15).
Result<AuthPayload> buildAuth(IkeSa& sa, const Identity& id) {
  const LocalAuth& la = sa.config()->localAuth;
  bool init = sa.initiator();
  ByteVec body = id.payloadBody();
  auto octets = authSignedOctets(sa.suite.prf, init ? sa.initRequest : sa.initResponse,
                                 init ? sa.nonceR : sa.nonceI,
                                 (init ? sa.keys.skPi : sa.keys.skPr).bytes(), body);
  if (!octets) return octets.status();
  AuthPayload a;
  if (la.kind == AuthKind::kPsk) {
    auto mic = pskAuthData(sa.suite.prf, la.psk.bytes(), *octets);
    if (!mic) return mic.status();
    a.method = AuthMethod::kSharedKeyMic;
    a.data.assign(mic->bytes().begin(), mic->bytes().end());
    return a;
  }
  auto choice = chooseSignature(la.key, sa.peerSignatureHashes, la.preferPss);
  if (!choice) return choice.status();
  auto sig = signAuth(la.key, *choice, *octets);
  if (!sig) return sig.status();
  a.method = choice->method;
  a.data = std::move(sig.value());
  return a;
}

// Verifies the peer's AUTH (and certificate); the error text is the log line's cause.
Status verifyAuth(IkeSa& sa, const Message& m, const IdPayload& idp, const AuthPayload& auth) {
  const RemoteAuth& ra = sa.config()->remoteAuth;
  bool init = sa.initiator();
  Identity id = Identity::fromPayload(idp);
  auto octets = authSignedOctets(sa.suite.prf, init ? sa.initResponse : sa.initRequest,
                                 init ? sa.nonceI : sa.nonceR,
                                 (init ? sa.keys.skPr : sa.keys.skPi).bytes(), id.payloadBody());
  if (!octets) return octets.status();
  if (ra.kind == AuthKind::kPsk) {
    if (auth.method != AuthMethod::kSharedKeyMic) {
      return errorStatus(ErrorCode::kPermissionDenied,
                         "peer used auth method " + std::to_string(static_cast<int>(auth.method)) +
                             ", we expect a pre-shared key");
    }
    if (!verifyPskAuthData(sa.suite.prf, ra.psk.bytes(), *octets, auth.data)) {
      return errorStatus(ErrorCode::kPermissionDenied,
                         "pre-shared key mismatch (AUTH does not verify)");
    }
    return Status::ok();
  }
  if (!isSignatureMethod(auth.method)) {
    return errorStatus(ErrorCode::kPermissionDenied,
                       "peer used auth method " + std::to_string(static_cast<int>(auth.method)) +
                           ", we expect a signature");
  }
  auto certs = m.all<CertPayload>(PayloadType::kCert);
  if (certs.empty() || certs[0]->encoding != kCertX509Signature) {
    return errorStatus(ErrorCode::kPermissionDenied, "no X.509 certificate from peer");
  }
  auto leaf = Certificate::fromDer(certs[0]->data);
  if (!leaf)
    return errorStatus(ErrorCode::kPermissionDenied, "bad certificate: " + leaf.status().message());
  std::vector<Certificate> chain;
  for (size_t i = 1; i < certs.size(); ++i) {
    if (auto c = Certificate::fromDer(certs[i]->data)) chain.push_back(*c);
  }
  if (!ra.cas) return errorStatus(ErrorCode::kPermissionDenied, "no CA configured");
  if (Status s = ra.cas->verify(*leaf, chain, ra.verifyTime); !s) {
    return errorStatus(ErrorCode::kPermissionDenied,
                       "certificate '" + leaf->subjectText() + "' not trusted: " + s.message());
  }
  if (!leaf->matchesIdentity(static_cast<uint8_t>(id.type()), id.data())) {
    return errorStatus(
        ErrorCode::kPermissionDenied,
        "certificate '" + leaf->subjectText() + "' does not vouch for identity " + id.toString());
  }
  Status s = braid::ike::verifyAuth(leaf->publicKey(), auth.method, auth.data, *octets,
                                    supportedSignatureHashes());
  if (!s) return errorStatus(ErrorCode::kPermissionDenied, "signature invalid: " + s.message());
  return Status::ok();
}

// braid's private-use notify (RFC 7296 3.10.1), only ever inside SK: IKE_AUTH is protected.
void addShimNotify(Message& m) {
  m.addNotify(notify::kBraidShimSupported, ByteVec{notify::kBraidShimVersion});
}

// Other data (another version, a bug) means no shim, never an error: the peer's Child SAs
// are still good without it.
bool peerOffersShim(const Message& m) {
  const NotifyPayload* n = m.notify(notify::kBraidShimSupported);
  return n != nullptr && n->protocol == kProtocolNone && n->spi.empty() && n->data.size() == 1 &&
         n->data[0] == notify::kBraidShimVersion;
}

void addCredentials(IkeSa& sa, Message& m) {
  const LocalAuth& la = sa.config()->localAuth;
  if (la.kind != AuthKind::kPubkey) return;
  for (const auto& c : la.certs)
    m.add(PayloadType::kCert, CertPayload{kCertX509Signature, c.der()});
}

class IkeAuthTask final : public Task {
 public:
  using Task::Task;
  TaskKind kind() const override { return TaskKind::kIkeAuth; }
  ExchangeType exchange() const override { return ExchangeType::kIkeAuth; }
  std::string_view name() const override { return "IKE_AUTH"; }

  TaskResult buildRequest(Message& m) override {
    const PeerConfig& pc = *sa_.config();
    if (eapPhase_ == EapPhase::kEap) {  // RFC 7296 2.16: SK {EAP}
      m.add(PayloadType::kEap, EapPayload{eapReply_});
      return TaskResult::kNeedMore;
    }
    if (eapPhase_ == EapPhase::kFinalAuth) {  // SK {AUTH} with the MSK as the shared key
      auto auth = mskAuth(sa_, eapPeer_->msk().bytes(), pc.localId.payloadBody());
      if (!auth) {
        sa_.fail(FailureKind::kOther, false, "cannot compute our AUTH: " + auth.status().message());
        return TaskResult::kFailed;
      }
      m.add(PayloadType::kAuth, std::move(auth.value()));
      return TaskResult::kNeedMore;
    }
    m.add(PayloadType::kIdi, pc.localId.toPayload());
    addCredentials(sa_, m);
    if (pc.remoteAuth.kind == AuthKind::kPubkey && pc.remoteAuth.cas && pc.sendCertReq) {
      m.add(PayloadType::kCertReq,
            CertReqPayload{kCertX509Signature, pc.remoteAuth.cas->certReqData()});
    }
    // RFC 7296 3.10.1: only when no other IKE SA to this peer is up (after a (re)start).
    if (pc.initialContact && !sa_.ctx().otherIkeSaUp(sa_)) m.addNotify(notify::kInitialContact);
    shimOffered_ = pc.offerShim;
    if (shimOffered_) addShimNotify(m);
    if (pc.mobike) m.addNotify(notify::kMobikeSupported);  // RFC 4555 3.3
    if (!pc.remoteId.any()) m.add(PayloadType::kIdr, pc.remoteId.toPayload());
    if (pc.localAuth.kind == AuthKind::kEap) {
      // RFC 7296 2.16: no AUTH payload asks the responder for EAP.
      const LocalAuth& la = pc.localAuth;
      std::shared_ptr<EapTlsConfig> tls;
      if (la.key.valid() && !la.certs.empty()) {  // EAP-TLS with our certificate
        tls = std::make_shared<EapTlsConfig>();
        tls->key = la.key;
        tls->certs = la.certs;
        tls->cas = pc.remoteAuth.cas;
        tls->verifyTime = pc.remoteAuth.verifyTime;
      }
      eapPeer_ = std::make_unique<EapPeer>(la.eapIdentity, la.eapNtHash, sa_.ctx().random(),
                                           la.eapMethods, std::move(tls));
    } else {
      auto auth = buildAuth(sa_, pc.localId);
      if (!auth) {
        sa_.fail(FailureKind::kOther, false, "cannot compute our AUTH: " + auth.status().message());
        return TaskResult::kFailed;
      }
      m.add(PayloadType::kAuth, std::move(auth.value()));
    }
    if (pc.requestVirtualIp) m.add(PayloadType::kCp, virtualIpRequest().toPayload());
    if (!pc.children.empty()) {
      child_ = std::make_unique<ChildNegotiation>(sa_, &pc.children[0], true);
      if (!child_->buildRequest(m)) return TaskResult::kFailed;
    }
    return TaskResult::kNeedMore;
  }

  TaskResult processResponse(const Message& m) override {
    const PeerConfig& pc = *sa_.config();
    if (eapPhase_ != EapPhase::kNone) return continueEapAsClient(m);
    const auto* idr = m.get<IdPayload>(PayloadType::kIdr);
    const auto* auth = m.get<AuthPayload>(PayloadType::kAuth);
    if (idr == nullptr || auth == nullptr) return refusedByPeer(m);
    sa_.peerId = Identity::fromPayload(*idr);
    if (!pc.remoteId.matches(sa_.peerId)) {
      return authFailedAsInitiator(FailureKind::kUnknownIdentity,
                                   "peer identity " + sa_.peerId.toString() +
                                       " is not the expected " + pc.remoteId.toString());
    }
    if (Status s = verifyAuth(sa_, m, *idr, *auth); !s) {
      return authFailedAsInitiator(
          FailureKind::kAuthFailed,
          "authentication of " + sa_.peerId.toString() + " failed: " + s.message());
    }
    if (pc.localAuth.kind == AuthKind::kEap) {
      // The gateway proved itself; now we do, with EAP (RFC 7296 2.16).
      idrBody_ = Identity::fromPayload(*idr).payloadBody();
      eapPhase_ = EapPhase::kEap;
      return continueEapAsClient(m);
    }
    return finishAsInitiator(m);
  }

  TaskResult refusedByPeer(const Message& m) {
    const PeerConfig& pc = *sa_.config();
    {
      const NotifyPayload* n = m.errorNotify();
      uint16_t type = n ? n->notifyType : notify::kInvalidSyntax;
      FailureKind kind = type == notify::kAuthenticationFailed ? FailureKind::kAuthFailed
                         : type == notify::kInvalidSyntax      ? FailureKind::kInvalidSyntax
                                                               : FailureKind::kOther;
      sa_.fail(
          kind, true,
          "IKE_AUTH refused by peer: " + notifyName(type) +
              (type == notify::kAuthenticationFailed
                   ? " (peer rejected our credentials or identity " + pc.localId.toString() + ")"
                   : ""));
      return TaskResult::kFailed;
    }
  }

  // EAP client (RFC 7296 2.16): each response carries the gateway's next EAP packet; after
  // EAP-Success our AUTH over the MSK, and the gateway's AUTH over it ends the exchange.
  TaskResult continueEapAsClient(const Message& m) {
    const PeerConfig& pc = *sa_.config();
    if (eapPhase_ == EapPhase::kEap) {
      const auto* eap = m.get<EapPayload>(PayloadType::kEap);
      if (eap == nullptr) {
        if (m.errorNotify() != nullptr) return refusedByPeer(m);
        return authFailedAsInitiator(FailureKind::kAuthFailed, "gateway sent no EAP request");
      }
      EapStep step = eapPeer_->process(eap->message);
      if (step.outcome == EapOutcome::kFailure) {
        sa_.fail(FailureKind::kAuthFailed, true,
                 eapPeer_->methodName() + " as '" + pc.localAuth.eapIdentity +
                     "' failed: " + step.reason);
        return TaskResult::kFailed;
      }
      if (step.outcome == EapOutcome::kSuccess) eapPhase_ = EapPhase::kFinalAuth;
      eapReply_ = std::move(step.reply);
      return TaskResult::kNeedMore;
    }
    const auto* auth = m.get<AuthPayload>(PayloadType::kAuth);
    if (auth == nullptr) return refusedByPeer(m);
    if (Status s = verifyMskAuth(sa_, eapPeer_->msk().bytes(), idrBody_, *auth); !s) {
      return authFailedAsInitiator(
          FailureKind::kAuthFailed,
          "authentication of " + sa_.peerId.toString() + " failed: " + s.message());
    }
    return finishAsInitiator(m);
  }

  TaskResult finishAsInitiator(const Message& m) {
    const PeerConfig& pc = *sa_.config();
    // The responder answers only an offer; an unasked answer does not count.
    sa_.setShimNegotiated(shimOffered_ && peerOffersShim(m));
    sa_.setMobike(pc.mobike && m.notify(notify::kMobikeSupported) != nullptr);
    if (pc.requestVirtualIp) takeConfigReply(m);
    sa_.established();
    if (child_) {
      child_->processResponse(m);
      child_.reset();
    }
    return TaskResult::kDone;
  }

  TaskResult processRequest(const Message& m) override {
    if (sa_.eapResponder) return continueEapAsGateway(m);
    const auto* idi = m.get<IdPayload>(PayloadType::kIdi);
    const auto* auth = m.get<AuthPayload>(PayloadType::kAuth);
    if (idi == nullptr) {  // an EAP or AUTH payload before any EAP started
      authFailed_ = true;
      sa_.fail(FailureKind::kAuthFailed, false,
               "first IKE_AUTH request without IDi; sending AUTHENTICATION_FAILED");
      return TaskResult::kFailed;
    }
    sa_.peerId = Identity::fromPayload(*idi);
    if (!sa_.config()->remoteId.matches(sa_.peerId)) {
      const PeerConfig* other = sa_.ctx().findPeerConfig(sa_.remote(), sa_.peerId);
      if (other == nullptr) {
        authFailed_ = true;
        sa_.fail(FailureKind::kUnknownIdentity, false,
                 "unknown identity " + sa_.peerId.toString() +
                     ": no peer config expects it; sending AUTHENTICATION_FAILED");
        return TaskResult::kFailed;
      }
      sa_.setConfig(other);
    }
    if (auth == nullptr) return startEap(m, *idi);
    if (Status s = verifyAuth(sa_, m, *idi, *auth); !s) {
      authFailed_ = true;
      sa_.fail(FailureKind::kAuthFailed, false,
               "authentication of " + sa_.peerId.toString() + " failed: " + s.message() +
                   "; sending AUTHENTICATION_FAILED");
      return TaskResult::kFailed;
    }
    // Remote access: a certificate client's group is its certificate's subject OU, as with
    // EAP-TLS (edge's [[remote_access.group]] of that name).
    if (sa_.config()->remoteAccess) {
      if (const CertPayload* c = m.get<CertPayload>(PayloadType::kCert)) {
        if (auto leaf = Certificate::fromDer(c->data)) group_ = certificateOu(*leaf);
      }
    }
    return finishAsResponder(m);
  }

  // `m`: the request with the Child SA's payloads (the first one, for an EAP client).
  TaskResult finishAsResponder(const Message& m) {
    sa_.peerAuthVerified();  // from here on its failures (e.g. the Child SA) are its own
    sa_.peerInitialContact = m.notify(notify::kInitialContact) != nullptr;
    // After setConfig: the config that authenticated the peer decides.
    sa_.setShimNegotiated(sa_.config()->offerShim && peerOffersShim(m));
    sa_.setMobike(sa_.config()->mobike && m.notify(notify::kMobikeSupported) != nullptr);
    if (sa_.config()->remoteAccess && !answerConfig(m)) return TaskResult::kDone;
    child_ = std::make_unique<ChildNegotiation>(sa_, nullptr, true);
    child_->processRequest(m);
    return TaskResult::kDone;
  }

  // RFC 7296 2.16: a request without AUTH asks for EAP. The gateway answers with its own
  // IDr, certificate and AUTH and the EAP-Request/Identity.
  TaskResult startEap(const Message& m, const IdPayload& idi) {
    const RemoteAuth& ra = sa_.config()->remoteAuth;
    // The methods on offer: MSCHAPv2 needs users, EAP-TLS our certificate and the CAs.
    std::vector<uint8_t> methods;
    for (uint8_t t :
         ra.eapMethods.empty() ? std::vector<uint8_t>{eap_type::kMschapv2} : ra.eapMethods) {
      if (t == eap_type::kMschapv2 && ra.eapUsers) methods.push_back(t);
      if (t == eap_type::kTls && ra.cas && !sa_.config()->localAuth.certs.empty())
        methods.push_back(t);
    }
    if (methods.empty()) {
      authFailed_ = true;
      sa_.fail(FailureKind::kAuthFailed, false,
               sa_.peerId.toString() +
                   " sent no AUTH (asks for EAP), which this config does not offer; sending "
                   "AUTHENTICATION_FAILED");
      return TaskResult::kFailed;
    }
    auto st = std::make_shared<EapResponderState>();
    std::shared_ptr<EapTlsConfig> tls;
    if (std::find(methods.begin(), methods.end(), eap_type::kTls) != methods.end()) {
      tls = std::make_shared<EapTlsConfig>();
      tls->key = sa_.config()->localAuth.key;
      tls->certs = sa_.config()->localAuth.certs;
      tls->cas = ra.cas;
      tls->verifyTime = ra.verifyTime;
    }
    st->authenticator =
        std::make_unique<EapAuthenticator>(ra.eapUsers, sa_.config()->localId.toString(),
                                           sa_.ctx().random(), std::move(methods), std::move(tls));
    st->first = keepForFinalExchange(m);
    st->idiBody = Identity::fromPayload(idi).payloadBody();
    eapOut_ = st->authenticator->start();
    eapFirst_ = true;
    sa_.eapResponder = std::move(st);
    return TaskResult::kDone;
  }

  TaskResult continueEapAsGateway(const Message& m) {
    EapResponderState& st = *sa_.eapResponder;
    if (!st.awaitingAuth) {
      const auto* eap = m.get<EapPayload>(PayloadType::kEap);
      EapStep step = eap != nullptr
                         ? st.authenticator->process(eap->message)
                         : EapStep{EapOutcome::kFailure, {}, "no EAP payload in an EAP exchange"};
      eapOut_ = std::move(step.reply);
      if (step.outcome == EapOutcome::kFailure) {
        // No lease was taken: the CP request is answered only after the final AUTH.
        eapFailed_ = true;
        if (step.oversize) ++sa_.ctx().counterRef().dropsEapTlsOversize;
        sa_.fail(FailureKind::kAuthFailed, false,
                 st.authenticator->methodName() + " of " + sa_.peerId.toString() +
                     " failed: " + step.reason + "; sending EAP-Failure and AUTHENTICATION_FAILED");
        return TaskResult::kFailed;
      }
      if (step.outcome == EapOutcome::kSuccess) {
        st.awaitingAuth = true;
        const std::string& tls = st.authenticator->tlsDetails();
        BRAID_LOG(kInfo, "ike") << sa_.peerName() << ": " << st.authenticator->methodName()
                                << " user '" << st.authenticator->identity() << "'"
                                << (tls.empty() ? std::string() : " (" + tls + ")")
                                << (st.authenticator->group().empty()
                                        ? std::string()
                                        : " (group " + st.authenticator->group() + ")")
                                << " authenticated";
      }
      return TaskResult::kDone;
    }
    const auto* auth = m.get<AuthPayload>(PayloadType::kAuth);
    Status s = auth != nullptr
                   ? verifyMskAuth(sa_, st.authenticator->msk().bytes(), st.idiBody, *auth)
                   : errorStatus(ErrorCode::kPermissionDenied, "no AUTH after EAP-Success");
    if (!s) {
      authFailed_ = true;
      sa_.fail(FailureKind::kAuthFailed, false,
               "authentication of " + sa_.peerId.toString() + " failed: " + s.message() +
                   "; sending AUTHENTICATION_FAILED");
      return TaskResult::kFailed;
    }
    mskFinal_ = true;
    // The EAP name is who the client is from now on (leases, logs): IDi of a Windows client
    // is just its address.
    sa_.peerId = eapPeerIdentity(st.authenticator->identity());
    group_ = st.authenticator->group();
    return finishAsResponder(st.first);
  }

  TaskResult buildResponse(Message& m) override {
    if (authFailed_) {
      m.addNotify(notify::kAuthenticationFailed);
      return TaskResult::kFailed;
    }
    if (eapFailed_) {
      if (!eapOut_.empty()) m.add(PayloadType::kEap, EapPayload{eapOut_});
      m.addNotify(notify::kAuthenticationFailed);
      return TaskResult::kFailed;
    }
    const PeerConfig& pc = *sa_.config();
    Result<AuthPayload> auth = AuthPayload{};
    if (mskFinal_) {
      // RFC 7296 2.16: the last response's AUTH uses the MSK; IDr was in the first one.
      auth = mskAuth(sa_, sa_.eapResponder->authenticator->msk().bytes(), pc.localId.payloadBody());
    } else if (eapOut_.empty() || eapFirst_) {
      m.add(PayloadType::kIdr, pc.localId.toPayload());
      addCredentials(sa_, m);
      auth = buildAuth(sa_, pc.localId);
    }
    if (!auth) {
      sa_.fail(FailureKind::kOther, false, "cannot compute our AUTH: " + auth.status().message());
      m.payloads.clear();
      m.addNotify(notify::kAuthenticationFailed);
      return TaskResult::kFailed;
    }
    if (!eapOut_.empty()) {  // an EAP round: SK {[IDr, CERT, AUTH,] EAP}
      if (eapFirst_) m.add(PayloadType::kAuth, std::move(auth.value()));
      m.add(PayloadType::kEap, EapPayload{eapOut_});
      return TaskResult::kDone;
    }
    m.add(PayloadType::kAuth, std::move(auth.value()));
    if (config_.reply) m.add(PayloadType::kCp, config_.reply->toPayload());
    if (config_.error != 0) m.addNotify(config_.error);
    if (sa_.shimNegotiated()) addShimNotify(m);
    if (sa_.mobike()) m.addNotify(notify::kMobikeSupported);
    sa_.established();
    if (child_ && child_->requested()) child_->buildResponse(m);
    child_.reset();
    return TaskResult::kDone;
  }

  void abort() override {
    if (child_) child_->release();
  }

 private:
  // Responder (RFC 7296 2.19, 3.15.4): leases the client's virtual IPs before its Child SA
  // is negotiated (its TSi is narrowed to them). False when no address could be assigned:
  // the IKE SA comes up, the Child SA does not (the error notify says why).
  bool answerConfig(const Message& m) {
    config_ = answerConfigRequest(*sa_.config()->remoteAccess, sa_.peerId.toString(), m, group_);
    if (config_.error != 0) {
      BRAID_LOG(kWarn, "ike") << sa_.peerName() << ": " << sa_.peerId.toString() << ": "
                              << config_.reason << "; sending " << notifyName(config_.error)
                              << ", no Child SA";
      return false;
    }
    config_.state->group = group_;
    sa_.remoteAccess = config_.state;
    std::string vips;
    for (const auto& a : config_.state->virtualIps()) vips += " " + a.toString();
    BRAID_LOG(kInfo, "ike") << sa_.peerName() << ": " << sa_.peerId.toString() << " gets virtual IP"
                            << vips << (group_.empty() ? "" : " (group " + group_ + ")");
    return true;
  }

  // Initiator: the gateway's CFG_REPLY (none, or one we cannot read: no virtual IP).
  void takeConfigReply(const Message& m) {
    const CpPayload* cp = m.get<CpPayload>(PayloadType::kCp);
    if (cp == nullptr) return;
    auto reply = ConfigPayload::fromPayload(*cp);
    if (!reply || reply->cfgType != kCfgReply) return;
    auto state = std::make_shared<RemoteAccessState>();
    state->received = std::move(*reply);
    sa_.remoteAccess = std::move(state);
  }

  ConfigAnswer config_;
  // RFC 7296 2.21.2: an initiator that rejects the responder tells it in a separate
  // INFORMATIONAL exchange, then ends the IKE SA.
  TaskResult authFailedAsInitiator(FailureKind kind, const std::string& reason) {
    sa_.fail(kind, false, reason + "; sending AUTHENTICATION_FAILED");
    if (child_) child_->release();
    child_.reset();
    sa_.setState(IkeSaState::kDeleting);
    sa_.tasks().queue(makeAuthFailedNotifyTask(sa_));
    return TaskResult::kDone;
  }

  std::unique_ptr<ChildNegotiation> child_;
  bool authFailed_ = false;
  bool shimOffered_ = false;
  // EAP client (RFC 7296 2.16).
  enum class EapPhase : uint8_t { kNone, kEap, kFinalAuth };
  EapPhase eapPhase_ = EapPhase::kNone;
  std::unique_ptr<EapPeer> eapPeer_;
  ByteVec eapReply_;
  ByteVec idrBody_;  // the gateway's IDr: its final AUTH covers it
  // EAP gateway: this exchange's EAP packet, whether it is the first (with our IDr and
  // AUTH), whether it failed, or whether this is the final AUTH over the MSK.
  ByteVec eapOut_;
  bool eapFirst_ = false;
  bool eapFailed_ = false;
  bool mskFinal_ = false;
  std::string group_;  // the EAP user's group, for the remote-access state
};

}  // namespace

std::unique_ptr<Task> makeIkeAuthTask(IkeSa& sa) {
  return std::make_unique<IkeAuthTask>(sa);
}

}  // namespace braid::ike
