// MOBIKE (RFC 4555): when both sides sent MOBIKE_SUPPORTED in IKE_AUTH, the original
// initiator moves the IKE SA and its Child SAs to its new address with an INFORMATIONAL
// exchange carrying UPDATE_SA_ADDRESSES (3.5), sent from the new address. The responder takes
// the new addresses from the IP header of that request, and only of an authenticated one
// (the TaskManager runs responder tasks after the integrity check). Both sides check the
// NAT_DETECTION_*_IP payloads of the exchange again (3.5, 3.9). Not implemented: additional
// addresses (ADDITIONAL_IP4/6_ADDRESS, 3.6) and the return routability check (3.7).
#include <sstream>

#include "core/log.hpp"
#include "ipsec/ike/ike_sa.hpp"
#include "ipsec/ike/nat.hpp"
#include "ipsec/ike/tasks.hpp"

namespace braid::ike {

namespace {

// RFC 7296 2.23 after IKE_SA_INIT: both SPIs are in the hash.
void addNatD(IkeSa& sa, Message& m, const Endpoint& local, const Endpoint& remote) {
  ByteVec src = natDetectionHash(sa.spiI(), sa.spiR(), local);
  if (sa.config()->forceEncap) sa.ctx().random().fill(src);  // keep faking a NAT
  m.addNotify(notify::kNatDetectionSourceIp, src);
  m.addNotify(notify::kNatDetectionDestinationIp, natDetectionHash(sa.spiI(), sa.spiR(), remote));
}

// The NAT state the peer's NAT-D payloads show for a message from `remote` to `local`;
// without those payloads the old state stays.
void readNatD(IkeSa& sa, const Message& m, const Endpoint& local, const Endpoint& remote,
              bool& natLocal, bool& natRemote) {
  const ByteVec srcHash = natDetectionHash(sa.spiI(), sa.spiR(), remote);
  const ByteVec dstHash = natDetectionHash(sa.spiI(), sa.spiR(), local);
  bool sawSrc = false, srcMatch = false, sawDst = false, dstMatch = false;
  for (const auto* n : m.all<NotifyPayload>(PayloadType::kNotify)) {
    if (n->notifyType == notify::kNatDetectionSourceIp) {
      sawSrc = true;
      srcMatch |= n->data == srcHash;
    } else if (n->notifyType == notify::kNatDetectionDestinationIp) {
      sawDst = true;
      dstMatch |= n->data == dstHash;
    }
  }
  natLocal = sawDst ? !dstMatch : sa.natLocal();
  natRemote = sawSrc ? !srcMatch : sa.natRemote();
}

class MobikeTask final : public Task {
 public:
  MobikeTask(IkeSa& sa, bool initiator) : Task(sa) {
    if (!initiator) inner_ = makeInformationalTask(sa);
  }
  TaskKind kind() const override { return TaskKind::kMobike; }
  ExchangeType exchange() const override { return ExchangeType::kInformational; }
  std::string_view name() const override { return "MOBIKE"; }

  // 3.5: N(UPDATE_SA_ADDRESSES), NAT-D for the addresses the request leaves from, and a
  // fresh COOKIE2 (3.8) that the response must echo.
  TaskResult buildRequest(Message& m) override {
    if (!sa_.mobike() || sa_.state() != IkeSaState::kEstablished) return TaskResult::kDone;
    sentLocal_ = sa_.local();
    sentRemote_ = sa_.remote();
    cookie2_.assign(16, 0);
    sa_.ctx().random().fill(cookie2_);
    m.addNotify(notify::kUpdateSaAddresses);
    addNatD(sa_, m, sentLocal_, sentRemote_);
    m.addNotify(notify::kCookie2, cookie2_);
    BRAID_LOG(kInfo, "ike") << sa_.peerName() << ": MOBIKE: requesting address update to "
                            << sentLocal_.toString() << " (UPDATE_SA_ADDRESSES)";
    return TaskResult::kNeedMore;
  }

  TaskResult processResponse(const Message& m) override {
    if (const NotifyPayload* e = m.errorNotify()) {
      // 3.5: e.g. UNEXPECTED_NAT_DETECTED; the peer keeps the old addresses, which are gone:
      // the owner's retry re-establishes the path from the new address.
      sa_.fail(FailureKind::kOther, true,
               "MOBIKE address update refused: " + notifyName(e->notifyType));
      return TaskResult::kFailed;
    }
    const NotifyPayload* c2 = m.notify(notify::kCookie2);
    if (c2 != nullptr && c2->data != cookie2_) {
      // 3.8: a response that does not echo our COOKIE2 is not the answer to this request.
      sa_.fail(FailureKind::kOther, true, "MOBIKE response with a wrong COOKIE2");
      return TaskResult::kFailed;
    }
    bool natLocal = false, natRemote = false;
    readNatD(sa_, m, sentLocal_, sentRemote_, natLocal, natRemote);
    ++sa_.ctx().counterRef().mobikeUpdatesInitiated;
    sa_.updateAddresses(sa_.local(), sa_.remote(), natLocal, natRemote);
    // Our address changed again while this exchange ran: tell the peer the newest one.
    if (sa_.local() != sentLocal_) return TaskResult::kNeedMore;
    return TaskResult::kDone;
  }

  TaskResult processRequest(const Message& m) override {
    TaskResult r = inner_->processRequest(m);
    if (!sa_.mobike()) {
      // 3.3: not negotiated, so the notify means nothing; the rest is answered as usual.
      BRAID_LOG(kDebug, "ike") << sa_.peerName()
                               << ": UPDATE_SA_ADDRESSES without MOBIKE negotiated, ignored";
      return r;
    }
    if (sa_.startedByUs()) {
      // 3.5: only the original initiator moves an IKE SA this way.
      BRAID_LOG(kInfo, "ike") << sa_.peerName()
                              << ": UPDATE_SA_ADDRESSES from the original responder, ignored";
      return r;
    }
    const Endpoint to = sa_.tasks().requestTo();
    const Endpoint from = sa_.tasks().requestFrom();
    bool natLocal = false, natRemote = false;
    readNatD(sa_, m, to, from, natLocal, natRemote);
    if (const NotifyPayload* c2 = m.notify(notify::kCookie2)) cookie2_ = c2->data;
    answer_ = true;
    to_ = to;
    from_ = from;
    if (m.notify(notify::kNoNatsAllowed) != nullptr && (natLocal || natRemote)) {
      // 3.9: the initiator asked for no NAT between the addresses; keep the old ones.
      refused_ = true;
      BRAID_LOG(kWarn, "ike") << sa_.peerName()
                              << ": MOBIKE update with NO_NATS_ALLOWED through a NAT; refused";
      return r;
    }
    ++sa_.ctx().counterRef().mobikeUpdatesResponded;
    sa_.updateAddresses(to, from, natLocal, natRemote);
    return r;
  }

  TaskResult buildResponse(Message& m) override {
    TaskResult r = inner_->buildResponse(m);
    if (!answer_) return r;
    if (refused_) {
      m.addNotify(notify::kUnexpectedNatDetected);
      return r;
    }
    // 3.5: NAT-D of the response as we see the exchange, and the initiator's COOKIE2.
    addNatD(sa_, m, to_, from_);
    if (!cookie2_.empty()) m.addNotify(notify::kCookie2, cookie2_);
    return r;
  }

 private:
  std::unique_ptr<Task> inner_;  // responder: the rest of the INFORMATIONAL request
  Endpoint sentLocal_, sentRemote_;
  ByteVec cookie2_;
  bool answer_ = false, refused_ = false;
  Endpoint to_, from_;
};

}  // namespace

std::unique_ptr<Task> makeMobikeTask(IkeSa& sa) {
  return std::make_unique<MobikeTask>(sa, true);
}
std::unique_ptr<Task> makeMobikeResponderTask(IkeSa& sa) {
  return std::make_unique<MobikeTask>(sa, false);
}

bool IkeSa::moveLocalAddress(const IpAddress& address) {
  if (dead() || state_ != IkeSaState::kEstablished || !mobike_ || !startedByUs_) return false;
  if (local_.address == address) return true;
  BRAID_LOG(kInfo, "ike") << peerName() << ": local address " << local_.address.toString() << " -> "
                          << address.toString() << ", moving the IKE SA with MOBIKE";
  local_.address = address;  // every request and retransmission leaves from here now
  if (!tasks_.hasQueued(TaskKind::kMobike)) tasks_.queue(makeMobikeTask(*this));
  tasks_.initiate();
  return true;
}

void IkeSa::updateAddresses(const Endpoint& local, const Endpoint& remote, bool natLocal,
                            bool natRemote) {
  const Endpoint oldLocal = local_, oldRemote = remote_;
  local_ = local;
  remote_ = remote;
  natLocal_ = natLocal;
  natRemote_ = natRemote;
  // 3.5: with a NAT now between us, IKE and ESP go to port 4500 (RFC 7296 2.23).
  floatPorts();
  std::ostringstream o;
  o << peerName() << ": MOBIKE: IKE SA and " << children_.size() << " Child SA"
    << (children_.size() == 1 ? "" : "s") << " now " << local_.toString() << " - "
    << remote_.toString();
  if (oldLocal != local_) o << " (local was " << oldLocal.toString() << ")";
  if (oldRemote != remote_) o << " (peer was " << oldRemote.toString() << ")";
  if (natDetected()) o << ", NAT-T";
  BRAID_LOG(kInfo, "ike") << o.str();
  // Edge points the Child SAs' ESP at the peer's new endpoint (our own moved with the uplink).
  if (remote_ != oldRemote) ctx_.listener().onPeerEndpointChanged(eventBase());
}

}  // namespace braid::ike
