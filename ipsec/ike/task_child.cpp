// CREATE_CHILD_SA for additional Child SAs (RFC 7296 1.3.1, optional PFS) and the
// INFORMATIONAL exchanges (1.4): Delete of Child SAs and of the IKE SA, empty liveness
// checks, and error notifies about the IKE SA (2.21.2).
#include "core/log.hpp"
#include "ipsec/ike/child_negotiation.hpp"
#include "ipsec/ike/ike_sa.hpp"
#include "ipsec/ike/tasks.hpp"

namespace braid::ike {
namespace {

class ChildCreateTask final : public Task {
 public:
  ChildCreateTask(IkeSa& sa, const ChildConfig* child) : Task(sa), child_(sa, child, false) {}
  TaskKind kind() const override { return TaskKind::kChildCreate; }
  ExchangeType exchange() const override { return ExchangeType::kCreateChildSa; }
  std::string_view name() const override { return "CHILD_CREATE"; }

  TaskResult buildRequest(Message& m) override {
    if (sa_.state() != IkeSaState::kEstablished) return TaskResult::kDone;
    return child_.buildRequest(m) ? TaskResult::kNeedMore : TaskResult::kDone;
  }
  TaskResult processResponse(const Message& m) override {
    return child_.processResponse(m) == ChildNegotiation::Outcome::kRetry ? TaskResult::kNeedMore
                                                                          : TaskResult::kDone;
  }
  TaskResult processRequest(const Message& m) override {
    if (sa_.state() != IkeSaState::kEstablished) {
      refused_ = true;  // RFC 7296 2.25 (deleting, or not up yet)
      return TaskResult::kDone;
    }
    child_.processRequest(m);
    return TaskResult::kDone;
  }
  TaskResult buildResponse(Message& m) override {
    if (refused_) {
      m.addNotify(notify::kTemporaryFailure);
      return TaskResult::kDone;
    }
    child_.buildResponse(m);
    return TaskResult::kDone;
  }
  void abort() override { child_.release(); }

 private:
  ChildNegotiation child_;
  bool refused_ = false;
};

// RFC 7296 1.3.3, 2.8: CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, [KEi], TSi, TSr } for an
// installed Child SA. On success the new SA sends at once (the responder installed its
// inbound SA before answering) and the old one is deleted after rekeyDeleteDelay.
class ChildRekeyTask final : public Task {
 public:
  ChildRekeyTask(IkeSa& sa, uint32_t oldSpiIn) : Task(sa), old_(oldSpiIn) {}
  TaskKind kind() const override { return TaskKind::kChildRekey; }
  ExchangeType exchange() const override { return ExchangeType::kCreateChildSa; }
  std::string_view name() const override { return "CHILD_REKEY"; }

  TaskResult buildRequest(Message& m) override {
    ChildSa* old = sa_.findChildByInbound(old_);
    if (sa_.state() != IkeSaState::kEstablished || old == nullptr ||
        old->state != ChildSaState::kRekeying || old->config == nullptr) {
      return TaskResult::kDone;
    }
    if (!neg_) {
      neg_ = std::make_unique<ChildNegotiation>(sa_, old->config, false);
      neg_->setRekey(old_, old->localTs, old->remoteTs);
    }
    if (neg_->buildRequest(m)) return TaskResult::kNeedMore;
    sa_.childRekeyFailed(old_, false);
    return TaskResult::kDone;
  }
  TaskResult processResponse(const Message& m) override {
    if (const NotifyPayload* n = m.errorNotify()) {
      if (n->notifyType == notify::kTemporaryFailure) {
        BRAID_LOG(kInfo, "ike") << sa_.peerName()
                                << ": peer answered our Child SA rekey with TEMPORARY_FAILURE";
        neg_->release();
        sa_.childRekeyFailed(old_, true);
        return TaskResult::kDone;
      }
      if (n->notifyType == notify::kChildSaNotFound) {
        // RFC 7296 2.25: the peer deleted it meanwhile; ours goes too, and a new Child SA
        // takes its place -- unless the peer's own rekey of it replaced it (2.8.1: the peer
        // completed its rekey and deleted the old SA before our request arrived).
        neg_->release();
        ChildSa* old = sa_.findChildByInbound(old_);
        if (old == nullptr || old->replacedBy != 0) {
          BRAID_LOG(kInfo, "ike") << sa_.peerName()
                                  << ": peer has no Child SA to rekey (CHILD_SA_NOT_FOUND); "
                                     "its own rekey replaced it";
          return TaskResult::kDone;
        }
        const ChildConfig* config = old->config;
        BRAID_LOG(kInfo, "ike") << sa_.peerName()
                                << ": peer has no Child SA to rekey (CHILD_SA_NOT_FOUND); "
                                   "creating a new one";
        sa_.removeChild(old_);
        if (config != nullptr) sa_.createChild(config);
        return TaskResult::kDone;
      }
    }
    switch (neg_->processResponse(m)) {
      case ChildNegotiation::Outcome::kRetry:
        return TaskResult::kNeedMore;
      case ChildNegotiation::Outcome::kInstalled:
        sa_.childRekeyed(old_, neg_->installedSpi());
        sa_.noteChildRekey(old_, true, neg_->installedSpi(), neg_->nonceI(), neg_->nonceR());
        break;
      case ChildNegotiation::Outcome::kFailed:
        sa_.childRekeyFailed(old_, false);
        break;
    }
    return TaskResult::kDone;
  }
  // Never a responder: the CREATE_CHILD_SA responder task handles N(REKEY_SA).
  TaskResult processRequest(const Message&) override { return TaskResult::kDone; }
  TaskResult buildResponse(Message&) override { return TaskResult::kDone; }
  void abort() override {
    if (neg_) neg_->release();
  }

 private:
  uint32_t old_;
  std::unique_ptr<ChildNegotiation> neg_;
};

// `installed` false: a Child SA the peer installed but we refused to (RFC 7296 2.9); only
// our SPI for it is reserved, and freed when the peer has answered.
class ChildDeleteTask final : public Task {
 public:
  ChildDeleteTask(IkeSa& sa, uint32_t spiIn, bool installed)
      : Task(sa), spiIn_(spiIn), installed_(installed) {}
  TaskKind kind() const override { return TaskKind::kChildDelete; }
  ExchangeType exchange() const override { return ExchangeType::kInformational; }
  std::string_view name() const override { return "CHILD_DELETE"; }

  TaskResult buildRequest(Message& m) override {
    if (installed_ && sa_.findChildByInbound(spiIn_) == nullptr) return TaskResult::kDone;
    m.add(PayloadType::kDelete, DeletePayload{ProtocolId::kEsp, {spiIn_}});
    return TaskResult::kNeedMore;
  }
  TaskResult processResponse(const Message&) override {
    // RFC 7296 1.4.1: the peer's Delete names its half; ours goes either way.
    finish();
    return TaskResult::kDone;
  }
  TaskResult processRequest(const Message&) override { return TaskResult::kDone; }
  TaskResult buildResponse(Message&) override { return TaskResult::kDone; }
  void abort() override { finish(); }

 private:
  void finish() {
    if (installed_) {
      sa_.removeChild(spiIn_);
    } else if (spiIn_ != 0) {
      sa_.ctx().releaseChildSpi(spiIn_);
    }
    spiIn_ = 0;
  }
  uint32_t spiIn_;
  bool installed_;
};

// Initiator: Delete(IKE), empty liveness request, or AUTHENTICATION_FAILED notify.
// Responder: any INFORMATIONAL request.
class InformationalTask final : public Task {
 public:
  enum class Mode : uint8_t { kEmpty, kDeleteIke, kAuthFailed };
  InformationalTask(IkeSa& sa, Mode mode) : Task(sa), mode_(mode) {}
  TaskKind kind() const override {
    return mode_ == Mode::kDeleteIke ? TaskKind::kIkeDelete : TaskKind::kInformational;
  }
  ExchangeType exchange() const override { return ExchangeType::kInformational; }
  std::string_view name() const override { return "INFORMATIONAL"; }

  TaskResult buildRequest(Message& m) override {
    if (mode_ == Mode::kDeleteIke) m.add(PayloadType::kDelete, DeletePayload{ProtocolId::kIke, {}});
    if (mode_ == Mode::kAuthFailed) m.addNotify(notify::kAuthenticationFailed);
    return TaskResult::kNeedMore;
  }
  TaskResult processResponse(const Message&) override {
    switch (mode_) {
      case Mode::kEmpty:
        return TaskResult::kDone;
      case Mode::kDeleteIke:
        return TaskResult::kDestroy;
      case Mode::kAuthFailed:
        return TaskResult::kFailed;
    }
    return TaskResult::kDone;
  }

  TaskResult processRequest(const Message& m) override {
    for (const auto* n : m.all<NotifyPayload>(PayloadType::kNotify)) {
      if (n->notifyType == notify::kAuthenticationFailed) {
        // RFC 7296 2.21.2: the initiator rejected our AUTH after we considered it up.
        sa_.fail(FailureKind::kAuthFailed, true,
                 "peer rejected our authentication (AUTHENTICATION_FAILED)");
        result_ = TaskResult::kFailed;
      } else if (notify::isError(n->notifyType)) {
        BRAID_LOG(kWarn, "ike") << sa_.peerName() << ": peer reports " << notifyName(n->notifyType);
      }
    }
    for (const auto* d : m.all<DeletePayload>(PayloadType::kDelete)) {
      if (d->protocol == ProtocolId::kIke) {
        BRAID_LOG(kInfo, "ike") << sa_.peerName() << ": peer deletes the IKE SA";
        if (result_ != TaskResult::kFailed) result_ = TaskResult::kDestroy;
        continue;
      }
      if (d->protocol != ProtocolId::kEsp) continue;
      for (uint32_t spi : d->spis) {
        // The peer names its inbound SPI, i.e. our outbound one.
        if (ChildSa* c = sa_.findChildByOutbound(spi)) {
          deleted_.push_back(c->spiIn);
        } else {
          sa_.noteUnknownDelete(spi);  // maybe one our CREATE_CHILD_SA in flight creates
        }
      }
    }
    return TaskResult::kDone;
  }
  TaskResult buildResponse(Message& m) override {
    // RFC 7296 2.25: the peer deletes the IKE SA we are rekeying: our rekey is forgotten, and
    // a rekey of the peer's held here (a collision, 2.8.2) takes the Child SAs.
    if (result_ == TaskResult::kDestroy) sa_.resolveIkeRekey(nullptr, {}, {});
    if (result_ != TaskResult::kDone) return result_;
    if (!deleted_.empty()) {
      m.add(PayloadType::kDelete, DeletePayload{ProtocolId::kEsp, deleted_});
      for (uint32_t spi : deleted_) sa_.removeChild(spi);
    }
    return TaskResult::kDone;
  }

 private:
  Mode mode_;
  TaskResult result_ = TaskResult::kDone;
  std::vector<uint32_t> deleted_;
};

}  // namespace

std::unique_ptr<Task> makeChildCreateTask(IkeSa& sa, const ChildConfig* child) {
  return std::make_unique<ChildCreateTask>(sa, child);
}
std::unique_ptr<Task> makeChildRekeyTask(IkeSa& sa, uint32_t spiIn) {
  return std::make_unique<ChildRekeyTask>(sa, spiIn);
}
std::unique_ptr<Task> makeChildDeleteTask(IkeSa& sa, uint32_t spiIn) {
  return std::make_unique<ChildDeleteTask>(sa, spiIn, true);
}
std::unique_ptr<Task> makeRefusedChildDeleteTask(IkeSa& sa, uint32_t spiIn) {
  return std::make_unique<ChildDeleteTask>(sa, spiIn, false);
}
std::unique_ptr<Task> makeIkeDeleteTask(IkeSa& sa) {
  return std::make_unique<InformationalTask>(sa, InformationalTask::Mode::kDeleteIke);
}
std::unique_ptr<Task> makeInformationalTask(IkeSa& sa) {
  return std::make_unique<InformationalTask>(sa, InformationalTask::Mode::kEmpty);
}
std::unique_ptr<Task> makeAuthFailedNotifyTask(IkeSa& sa) {
  return std::make_unique<InformationalTask>(sa, InformationalTask::Mode::kAuthFailed);
}

}  // namespace braid::ike
