// IKE SA rekey (RFC 7296 1.3.2, 2.8, 2.18): CREATE_CHILD_SA { SA(IKE, new SPI), Ni, KEi }
// answered with { SA, Nr, KEr }. The new IKE SA takes the old one's Child SAs (their ESP SAs do
// not change); the side that started the rekey deletes the old IKE SA.
#include "core/log.hpp"
#include "ipsec/ike/ike_sa.hpp"
#include "ipsec/ike/tasks.hpp"

namespace braid::ike {
namespace {

constexpr size_t kNonceLength = 32;

ByteVec spiBytes64(uint64_t spi) {
  ByteVec b(8);
  storeBe64(b.data(), spi);
  return b;
}

// SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), then the SK_* of the new suite and SPIs.
Result<IkeSaKeys> rekeyedKeys(IkeSa& old, const Suite& suite, Bytes shared, Bytes ni, Bytes nr,
                              uint64_t spiI, uint64_t spiR) {
  auto seed = computeRekeySkeyseed(old.suite.prf, old.keys.skD.bytes(), shared, ni, nr);
  if (!seed) return seed.status();
  return deriveIkeSaKeys(suite, seed->bytes(), ni, nr, spiI, spiR);
}

class IkeRekeyTask final : public Task {
 public:
  explicit IkeRekeyTask(IkeSa& sa) : Task(sa) {}
  TaskKind kind() const override { return TaskKind::kIkeRekey; }
  ExchangeType exchange() const override { return ExchangeType::kCreateChildSa; }
  std::string_view name() const override { return "IKE_REKEY"; }

  // ---- initiator ----
  TaskResult buildRequest(Message& m) override {
    if (sa_.state() != IkeSaState::kEstablished) return done();
    if (newSpi_ == 0) newSpi_ = sa_.ctx().allocateIkeSpi();
    if (group_ == DhGroup::kNone) group_ = sa_.suite.dh;  // the current group first
    auto ke = sa_.ctx().createKeyExchange(group_);
    if (!ke) {
      BRAID_LOG(kError, "ike") << sa_.peerName() << ": key exchange: " << ke.status().message();
      return done();
    }
    ke_ = std::move(ke.value());
    sent_ = sa_.config()->ikeProposals;
    uint8_t number = 1;
    for (auto& p : sent_) {
      p.number = number++;
      p.protocol = ProtocolId::kIke;
      p.spi = spiBytes64(newSpi_);
    }
    ni_.assign(kNonceLength, 0);
    sa_.ctx().random().fill(ni_);
    m.add(PayloadType::kSa, SaPayload{sent_});
    m.add(PayloadType::kNonce, NoncePayload{ni_});
    Bytes pub = ke_->publicValue();
    m.add(PayloadType::kKe,
          KePayload{static_cast<uint16_t>(group_), ByteVec(pub.begin(), pub.end())});
    return TaskResult::kNeedMore;
  }

  TaskResult processResponse(const Message& m) override {
    if (const NotifyPayload* n = m.errorNotify()) {
      if (n->notifyType == notify::kInvalidKePayload && n->data.size() == 2 && !retried_) {
        auto g = static_cast<DhGroup>(loadBe16(n->data.data()));
        if (g != group_) {
          ++sa_.ctx().counterRef().invalidKeReceived;
          retried_ = true;
          group_ = g;
          return TaskResult::kNeedMore;
        }
      }
      return failed(n->notifyType == notify::kTemporaryFailure,
                    std::string("peer refused the IKE SA rekey: ") + notifyName(n->notifyType));
    }
    const auto* sa = m.get<SaPayload>(PayloadType::kSa);
    const auto* nonce = m.get<NoncePayload>(PayloadType::kNonce);
    const auto* ke = m.get<KePayload>(PayloadType::kKe);
    if (sa == nullptr || nonce == nullptr || ke == nullptr || sa->proposals.size() != 1 ||
        sa->proposals[0].spi.size() != 8) {
      return failed(false, "IKE SA rekey response lacks SA/Nonce/KE");
    }
    auto suite = checkSelectedProposal(sent_, sa->proposals[0]);
    if (!suite || suite->dh != group_ || ke->group != static_cast<uint16_t>(group_)) {
      return failed(false,
                    "IKE SA rekey: unacceptable response " + formatProposal(sa->proposals[0]));
    }
    auto shared = ke_->computeSharedSecret(ke->data);
    if (!shared) return failed(false, "IKE SA rekey: peer's KE rejected");
    const uint64_t peerSpi = loadBe64(sa->proposals[0].spi.data());
    // We started the rekey: we are the initiator of the new IKE SA (RFC 7296 2.18).
    auto keys = rekeyedKeys(sa_, *suite, shared->bytes(), ni_, nonce->data, newSpi_, peerSpi);
    if (!keys) return failed(false, "IKE SA rekey: " + keys.status().message());
    IkeSa& next = sa_.ctx().createRekeyedSa(sa_, true, newSpi_, peerSpi);
    newSpi_ = 0;
    next.nonceI = ni_;
    next.nonceR = nonce->data;
    if (Status s = next.installDerivedKeys(*suite, std::move(keys.value())); !s) {
      next.destroy(false);
      return failed(false, "IKE SA rekey: " + s.message());
    }
    // A peer's rekey crossed ours: the nonces decide which new SA stays (RFC 7296 2.8.2).
    if (sa_.resolveIkeRekey(&next, ni_, nonce->data)) return TaskResult::kDone;
    ++sa_.ctx().counterRef().ikeRekeysInitiated;
    next.takeOver(sa_);
    // RFC 7296 2.8: the initiator of the rekey deletes the old IKE SA.
    sa_.retire();
    sa_.tasks().queue(makeIkeDeleteTask(sa_));
    return TaskResult::kDone;
  }

  // ---- responder ----
  TaskResult processRequest(const Message& m) override {
    const auto* sa = m.get<SaPayload>(PayloadType::kSa);
    const auto* nonce = m.get<NoncePayload>(PayloadType::kNonce);
    const auto* ke = m.get<KePayload>(PayloadType::kKe);
    collision_ = sa_.ikeRekeyCollisionPossible();
    if (!collision_ &&
        (sa_.state() != IkeSaState::kEstablished || sa_.ikeRekeying() || !sa_.tasks().idle())) {
      // RFC 7296 2.25 (deleting), an exchange of ours in flight on this SA (its outcome
      // would land on the old SA): try later. Our own IKE SA rekey in flight is a collision
      // (2.8.2), answered as usual.
      error_ = notify::kTemporaryFailure;
      BRAID_LOG(kInfo, "ike") << sa_.peerName() << ": peer rekeys the IKE SA while "
                              << (sa_.state() != IkeSaState::kEstablished ? "it is being deleted"
                                  : sa_.ikeRekeying()                     ? "we rekey it too"
                                                      : "an exchange of ours is in flight")
                              << "; sending TEMPORARY_FAILURE (RFC 7296 2.25)";
      return TaskResult::kDone;
    }
    if (sa == nullptr || nonce == nullptr || ke == nullptr) {
      error_ = notify::kInvalidSyntax;
      return TaskResult::kDone;
    }
    auto selected = selectProposal(sa_.config()->ikeProposals, sa->proposals);
    Result<Suite> suite = errorStatus(ErrorCode::kNotFound, "");
    if (selected) suite = suiteOf(*selected);
    if (!selected || !suite || selected->spi.size() != 8) {
      error_ = notify::kNoProposalChosen;
      sa_.fail(FailureKind::kNoProposal, false,
               "IKE SA rekey: no acceptable proposal: peer offered " +
                   formatProposals(sa->proposals) + ", we accept " +
                   formatProposals(sa_.config()->ikeProposals) + "; sending NO_PROPOSAL_CHOSEN");
      return TaskResult::kDone;
    }
    if (ke->group != static_cast<uint16_t>(suite->dh)) {
      error_ = notify::kInvalidKePayload;
      errorData_.resize(2);
      storeBe16(errorData_.data(), static_cast<uint16_t>(suite->dh));
      ++sa_.ctx().counterRef().invalidKeSent;
      return TaskResult::kDone;
    }
    auto kx = sa_.ctx().createKeyExchange(suite->dh);
    if (!kx) {
      error_ = notify::kNoProposalChosen;
      return TaskResult::kDone;
    }
    ke_ = std::move(kx.value());
    auto shared = ke_->computeSharedSecret(ke->data);
    if (!shared) {
      error_ = notify::kInvalidSyntax;
      return TaskResult::kDone;
    }
    const uint64_t peerSpi = loadBe64(selected->spi.data());
    const uint64_t ours = sa_.ctx().allocateIkeSpi();
    ByteVec nr(kNonceLength, 0);
    sa_.ctx().random().fill(nr);
    // The peer started the rekey: it is the initiator of the new IKE SA (RFC 7296 2.18).
    auto keys = rekeyedKeys(sa_, *suite, shared->bytes(), nonce->data, nr, peerSpi, ours);
    if (!keys) {
      error_ = notify::kNoProposalChosen;
      return TaskResult::kDone;
    }
    IkeSa& next = sa_.ctx().createRekeyedSa(sa_, false, peerSpi, ours);
    next.nonceI = nonce->data;
    next.nonceR = nr;
    if (Status s = next.installDerivedKeys(*suite, std::move(keys.value())); !s) {
      next.destroy(false);
      error_ = notify::kNoProposalChosen;
      return TaskResult::kDone;
    }
    chosen_ = *selected;
    chosen_.spi = spiBytes64(ours);
    nonceI_ = nonce->data;
    nr_ = std::move(nr);
    next_ = &next;
    return TaskResult::kDone;
  }

  TaskResult buildResponse(Message& m) override {
    if (error_ != 0 || next_ == nullptr) {
      m.addNotify(error_ != 0 ? error_ : notify::kNoProposalChosen, errorData_);
      return TaskResult::kDone;
    }
    m.add(PayloadType::kSa, SaPayload{{chosen_}});
    m.add(PayloadType::kNonce, NoncePayload{nr_});
    Bytes pub = ke_->publicValue();
    m.add(PayloadType::kKe,
          KePayload{static_cast<uint16_t>(ke_->group()), ByteVec(pub.begin(), pub.end())});
    if (collision_) {
      sa_.holdPeerIkeRekey(*next_, nonceI_, nr_);
      return TaskResult::kDone;
    }
    ++sa_.ctx().counterRef().ikeRekeysResponded;
    next_->takeOver(sa_);
    sa_.retire();  // the peer deletes it
    return TaskResult::kDone;
  }

  void abort() override {
    if (sa_.ikeRekeying()) sa_.setIkeRekeying(false);
  }

 private:
  TaskResult done() {
    sa_.setIkeRekeying(false);
    return TaskResult::kDone;
  }
  // The IKE SA stays; the soft lifetime is tried again later (the hard one ends it).
  TaskResult failed(bool temporary, const std::string& reason) {
    sa_.setIkeRekeying(false);
    if (sa_.resolveIkeRekey(nullptr, {}, {})) {
      // The peer's rekey that crossed ours completes instead (RFC 7296 2.8.2).
      BRAID_LOG(kInfo, "ike") << sa_.peerName() << ": " << reason
                              << "; the peer's IKE SA rekey takes over";
      return TaskResult::kDone;
    }
    ++sa_.ctx().counterRef().ikeRekeyFailures;
    if (temporary) {
      BRAID_LOG(kInfo, "ike") << sa_.peerName() << ": " << reason;
    } else {
      sa_.fail(FailureKind::kOther, true, reason);
    }
    sa_.retryIkeRekey(temporary);
    return TaskResult::kDone;
  }

  uint64_t newSpi_ = 0;
  DhGroup group_ = DhGroup::kNone;
  bool retried_ = false;
  std::unique_ptr<KeyExchange> ke_;
  std::vector<Proposal> sent_;
  ByteVec ni_, nr_, nonceI_;
  bool collision_ = false;
  uint16_t error_ = 0;
  ByteVec errorData_;
  Proposal chosen_;
  IkeSa* next_ = nullptr;
};

}  // namespace

std::unique_ptr<Task> makeIkeRekeyTask(IkeSa& sa) {
  return std::make_unique<IkeRekeyTask>(sa);
}

}  // namespace braid::ike
