// IKE_SA_INIT (RFC 7296 1.2): proposal, key exchange, nonces, NAT detection (2.23),
// INVALID_KE_PAYLOAD retry (1.3, 2.7), COOKIE retry (2.6), SIGNATURE_HASH_ALGORITHMS (RFC 7427).
#include "core/log.hpp"
#include "ipsec/ike/ike_sa.hpp"
#include "ipsec/ike/nat.hpp"
#include "ipsec/ike/tasks.hpp"

namespace braid::ike {
namespace {

constexpr size_t kNonceLength = 32;
constexpr int kMaxRetries = 3;  // INVALID_KE / COOKIE rounds before giving up

DhGroup firstGroup(const std::vector<Proposal>& list) {
  for (const auto& p : list) {
    for (const auto& t : p.transforms) {
      if (t.type == TransformType::kKe) return static_cast<DhGroup>(t.id);
    }
  }
  return DhGroup::kNone;
}

bool offers(const std::vector<Proposal>& list, DhGroup g) {
  for (const auto& p : list) {
    for (const auto& t : p.transforms) {
      if (t.type == TransformType::kKe && t.id == static_cast<uint16_t>(g)) return true;
    }
  }
  return false;
}

class IkeInitTask final : public Task {
 public:
  using Task::Task;
  TaskKind kind() const override { return TaskKind::kIkeInit; }
  ExchangeType exchange() const override { return ExchangeType::kIkeSaInit; }
  std::string_view name() const override { return "IKE_INIT"; }

  TaskResult buildRequest(Message& m) override {
    const PeerConfig& pc = *sa_.config();
    if (group_ == DhGroup::kNone) group_ = firstGroup(pc.ikeProposals);
    if (!ke_ || ke_->group() != group_) {
      auto ke = sa_.ctx().createKeyExchange(group_);
      if (!ke) {
        sa_.fail(FailureKind::kOther, false,
                 "cannot create key exchange for group " +
                     std::to_string(static_cast<int>(group_)) + ": " + ke.status().message());
        return TaskResult::kFailed;
      }
      ke_ = std::move(ke.value());
    }
    if (sa_.nonceI.empty()) {
      sa_.nonceI.assign(kNonceLength, 0);
      sa_.ctx().random().fill(sa_.nonceI);
    }
    sa_.setSpiR(0);
    // RFC 7296 2.6: the COOKIE notify comes first.
    if (!cookie_.empty()) m.addNotify(notify::kCookie, cookie_);
    std::vector<Proposal> props = pc.ikeProposals;
    uint8_t n = 1;
    for (auto& p : props) {
      p.number = n++;
      p.spi.clear();
    }
    m.add(PayloadType::kSa, SaPayload{props});
    Bytes pub = ke_->publicValue();
    m.add(PayloadType::kKe,
          KePayload{static_cast<uint16_t>(group_), ByteVec(pub.begin(), pub.end())});
    m.add(PayloadType::kNonce, NoncePayload{sa_.nonceI});
    addNatD(m, sa_.local(), sa_.remote());
    addSignatureHashes(m);
    if (pc.fragmentation) m.addNotify(notify::kIkev2FragmentationSupported);
    return TaskResult::kNeedMore;
  }

  void onEncoded(Bytes d) override {
    (sa_.initiator() ? sa_.initRequest : sa_.initResponse).assign(d.begin(), d.end());
  }

  TaskResult processResponse(const Message& m) override {
    const PeerConfig& pc = *sa_.config();
    if (const NotifyPayload* c = m.notify(notify::kCookie); c && !m.errorNotify()) {
      if (++retries_ > kMaxRetries) return failPeer(FailureKind::kOther, "too many COOKIE rounds");
      cookie_ = c->data;
      return TaskResult::kNeedMore;
    }
    if (const NotifyPayload* n = m.errorNotify()) {
      if (n->notifyType == notify::kInvalidKePayload && n->data.size() == 2) {
        auto g = static_cast<DhGroup>(loadBe16(n->data.data()));
        if (g != group_ && offers(pc.ikeProposals, g) && ++retries_ <= kMaxRetries) {
          ++sa_.ctx().counterRef().invalidKeReceived;
          BRAID_LOG(kInfo, "ike") << sa_.peerName() << ": INVALID_KE_PAYLOAD, peer wants group "
                                  << static_cast<int>(g) << " instead of "
                                  << static_cast<int>(group_) << ", retrying";
          group_ = g;
          return TaskResult::kNeedMore;
        }
        return failPeer(FailureKind::kInvalidKe,
                        "peer refused our KE with INVALID_KE_PAYLOAD (group " +
                            std::to_string(static_cast<int>(g)) + ", which we do not offer)");
      }
      if (n->notifyType == notify::kNoProposalChosen) {
        return failPeer(FailureKind::kNoProposal,
                        "peer refused our IKE proposals with NO_PROPOSAL_CHOSEN (we offered " +
                            formatProposals(pc.ikeProposals) + ")");
      }
      return failPeer(n->notifyType == notify::kInvalidSyntax ? FailureKind::kInvalidSyntax
                                                              : FailureKind::kOther,
                      "IKE_SA_INIT refused by peer: " + notifyName(n->notifyType));
    }
    const auto* sa = m.get<SaPayload>(PayloadType::kSa);
    const auto* ke = m.get<KePayload>(PayloadType::kKe);
    const auto* nonce = m.get<NoncePayload>(PayloadType::kNonce);
    if (sa == nullptr || ke == nullptr || nonce == nullptr || sa->proposals.size() != 1 ||
        m.header.spiR == 0) {
      return failOurs(FailureKind::kInvalidSyntax, "malformed IKE_SA_INIT response");
    }
    auto suite = checkSelectedProposal(pc.ikeProposals, sa->proposals[0]);
    if (!suite) {
      return failOurs(FailureKind::kNoProposal, "peer chose an IKE proposal we did not offer: " +
                                                    formatProposal(sa->proposals[0]) + " (" +
                                                    suite.status().message() + "; offered " +
                                                    formatProposals(pc.ikeProposals) + ")");
    }
    if (ke->group != static_cast<uint16_t>(group_) || suite->dh != group_) {
      return failOurs(FailureKind::kInvalidKe,
                      "peer's KE group " + std::to_string(ke->group) + " does not match ours");
    }
    sa_.setSpiR(m.header.spiR);
    sa_.nonceR = nonce->data;
    sa_.initResponse.assign(m.raw().begin(), m.raw().end());
    if (!finishKeys(*suite, ke->data)) return TaskResult::kFailed;
    processNatD(m, sa_.local(), sa_.remote());
    readSignatureHashes(m);
    sa_.peerFragmentation = m.notify(notify::kIkev2FragmentationSupported) != nullptr;
    sa_.floatPorts();
    return TaskResult::kDone;
  }

  TaskResult processRequest(const Message& m) override {
    const PeerConfig& pc = *sa_.config();
    sa_.setSpiI(m.header.spiI);
    sa_.initRequest.assign(m.raw().begin(), m.raw().end());
    const auto* sa = m.get<SaPayload>(PayloadType::kSa);
    const auto* ke = m.get<KePayload>(PayloadType::kKe);
    const auto* nonce = m.get<NoncePayload>(PayloadType::kNonce);
    auto selected = selectProposal(pc.ikeProposals, sa->proposals);
    Result<Suite> suite = errorStatus(ErrorCode::kNotFound, "");
    if (selected) suite = suiteOf(*selected);
    if (!selected || !suite) {
      error_ = notify::kNoProposalChosen;
      sa_.fail(FailureKind::kNoProposal, false,
               "no acceptable IKE proposal: peer offered " + formatProposals(sa->proposals) +
                   ", we accept " + formatProposals(pc.ikeProposals) +
                   "; sending NO_PROPOSAL_CHOSEN");
      return TaskResult::kFailed;
    }
    if (ke->group != static_cast<uint16_t>(suite->dh)) {
      // RFC 7296 1.3 + 2.7: name the group we want; keep no state.
      error_ = notify::kInvalidKePayload;
      errorData_.resize(2);
      storeBe16(errorData_.data(), static_cast<uint16_t>(suite->dh));
      sa_.fail(FailureKind::kInvalidKe, false,
               "peer's KE uses group " + std::to_string(ke->group) + ", we want " +
                   std::to_string(static_cast<int>(suite->dh)) + "; sending INVALID_KE_PAYLOAD");
      return TaskResult::kFailed;
    }
    selected_ = *selected;
    group_ = suite->dh;
    auto kx = sa_.ctx().createKeyExchange(group_);
    if (!kx) {
      error_ = notify::kNoProposalChosen;
      sa_.fail(FailureKind::kOther, false, "key exchange: " + kx.status().message());
      return TaskResult::kFailed;
    }
    ke_ = std::move(kx.value());
    sa_.nonceI = nonce->data;
    sa_.nonceR.assign(kNonceLength, 0);
    sa_.ctx().random().fill(sa_.nonceR);
    if (!finishKeys(*suite, ke->data)) {
      error_ = notify::kInvalidSyntax;  // a KE value that fails RFC 6989 checks
      return TaskResult::kFailed;
    }
    processNatD(m, sa_.local(), sa_.remote());
    readSignatureHashes(m);
    sa_.peerFragmentation = m.notify(notify::kIkev2FragmentationSupported) != nullptr;
    sa_.setState(IkeSaState::kConnecting);
    return TaskResult::kDone;
  }

  TaskResult buildResponse(Message& m) override {
    if (error_ != 0) {
      m.header.spiR = 0;  // RFC 7296 2.6/2.7: stateless error reply
      m.addNotify(error_, errorData_);
      return TaskResult::kFailed;
    }
    const PeerConfig& pc = *sa_.config();
    m.add(PayloadType::kSa, SaPayload{{selected_}});
    Bytes pub = ke_->publicValue();
    m.add(PayloadType::kKe,
          KePayload{static_cast<uint16_t>(group_), ByteVec(pub.begin(), pub.end())});
    m.add(PayloadType::kNonce, NoncePayload{sa_.nonceR});
    addNatD(m, sa_.local(), sa_.remote());
    if (pc.remoteAuth.kind == AuthKind::kPubkey && pc.remoteAuth.cas && pc.sendCertReq) {
      m.add(PayloadType::kCertReq,
            CertReqPayload{kCertX509Signature, pc.remoteAuth.cas->certReqData()});
    }
    addSignatureHashes(m);
    // RFC 7383 2.3: the responder answers the initiator's offer only.
    if (pc.fragmentation && sa_.peerFragmentation) {
      m.addNotify(notify::kIkev2FragmentationSupported);
    }
    return TaskResult::kDone;
  }

 private:
  TaskResult failPeer(FailureKind kind, const std::string& reason) {
    sa_.fail(kind, true, reason);
    return TaskResult::kFailed;
  }
  TaskResult failOurs(FailureKind kind, const std::string& reason) {
    sa_.fail(kind, false, reason);
    return TaskResult::kFailed;
  }

  bool finishKeys(const Suite& suite, Bytes peerKe) {
    auto shared = ke_->computeSharedSecret(peerKe);
    if (!shared) {
      sa_.fail(FailureKind::kInvalidKe, false,
               "peer's key exchange value rejected: " + shared.status().message());
      return false;
    }
    Status s = sa_.installKeys(suite, shared->bytes());
    if (!s) {
      sa_.fail(FailureKind::kOther, false, "key derivation failed: " + s.message());
      return false;
    }
    return true;
  }

  // RFC 7296 2.23: hashes of the addresses as the sender sees them.
  void addNatD(Message& m, const Endpoint& local, const Endpoint& remote) {
    uint64_t spiR = sa_.initiator() ? 0 : sa_.spiR();
    ByteVec src = natDetectionHash(sa_.spiI(), spiR, local);
    if (sa_.config()->forceEncap) sa_.ctx().random().fill(src);  // fake a NAT (strongSwan)
    m.addNotify(notify::kNatDetectionSourceIp, src);
    m.addNotify(notify::kNatDetectionDestinationIp, natDetectionHash(sa_.spiI(), spiR, remote));
  }

  void processNatD(const Message& m, const Endpoint& local, const Endpoint& remote) {
    // The request was hashed with SPIr 0.
    uint64_t spiR = sa_.initiator() ? sa_.spiR() : 0;
    ByteVec srcHash = natDetectionHash(sa_.spiI(), spiR, remote);
    ByteVec dstHash = natDetectionHash(sa_.spiI(), spiR, local);
    auto src = m.all<NotifyPayload>(PayloadType::kNotify);
    bool sawSrc = false, srcMatch = false, sawDst = false, dstMatch = false;
    for (const auto* n : src) {
      if (n->notifyType == notify::kNatDetectionSourceIp) {
        sawSrc = true;
        srcMatch |= n->data == srcHash;
      } else if (n->notifyType == notify::kNatDetectionDestinationIp) {
        sawDst = true;
        dstMatch |= n->data == dstHash;
      }
    }
    bool natRemote = sawSrc && !srcMatch;
    bool natLocal = sawDst && !dstMatch;
    sa_.setNat(natLocal, natRemote, sa_.config()->forceEncap);
    if (sa_.natDetected()) {
      BRAID_LOG(kInfo, "ike") << sa_.peerName() << ": NAT detected (local " << natLocal
                              << ", remote " << natRemote << ", forced " << sa_.config()->forceEncap
                              << "), using UDP encapsulation";
    }
  }

  void addSignatureHashes(Message& m) {
    if (!sa_.config()->signatureHashNotify) return;
    m.addNotify(notify::kSignatureHashAlgorithms,
                encodeSignatureHashAlgorithms(supportedSignatureHashes()));
  }

  void readSignatureHashes(const Message& m) {
    if (const NotifyPayload* n = m.notify(notify::kSignatureHashAlgorithms)) {
      if (auto h = parseSignatureHashAlgorithms(n->data)) sa_.peerSignatureHashes = *h;
    }
  }

  DhGroup group_ = DhGroup::kNone;
  std::unique_ptr<KeyExchange> ke_;
  ByteVec cookie_;
  int retries_ = 0;
  uint16_t error_ = 0;
  ByteVec errorData_;
  Proposal selected_;
};

}  // namespace

std::unique_ptr<Task> makeIkeInitTask(IkeSa& sa) {
  return std::make_unique<IkeInitTask>(sa);
}

}  // namespace braid::ike
