#include "ipsec/ike/task_manager.hpp"

#include <algorithm>
#include <cmath>

#include "core/log.hpp"
#include "ipsec/ike/exchange_rules.hpp"
#include "ipsec/ike/ike_sa.hpp"
#include "ipsec/ike/tasks.hpp"

namespace braid::ike {

TaskManager::TaskManager(IkeSa& sa) : sa_(sa), timer_(sa.ctx().timers()) {}
TaskManager::~TaskManager() = default;

void TaskManager::queue(std::unique_ptr<Task> task) {
  queue_.push_back(std::move(task));
}

bool TaskManager::hasQueued(TaskKind kind) const {
  return std::any_of(queue_.begin(), queue_.end(),
                     [&](const auto& t) { return t->kind() == kind; }) ||
         (active_ && active_->kind() == kind);
}

void TaskManager::initiate() {
  while (active_ == nullptr && !queue_.empty() && !sa_.dead()) {
    active_ = std::move(queue_.front());
    queue_.pop_front();
    if (sendRequest()) return;
  }
}

Duration TaskManager::timeoutFor(uint32_t n) {
  const RetransmitConfig& rc = sa_.config()->retransmit;
  double t = std::chrono::duration<double>(rc.initial).count() * std::pow(rc.base, n);
  t = std::min(t, std::chrono::duration<double>(rc.limit).count());
  if (rc.jitterPercent > 0) {
    // Jitter shortens the timeout by up to jitterPercent (strongSwan's retransmit_jitter),
    // so that many SAs started together do not retransmit in lockstep.
    double r = static_cast<double>(sa_.ctx().random().u32()) / 4294967296.0;
    t -= t * std::min<uint32_t>(rc.jitterPercent, 100) / 100.0 * r;
  }
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(t));
}

// Builds, encodes and sends the active task's request. False if the task finished or the
// SA failed without sending anything.
bool TaskManager::sendRequest() {
  Message req(active_->exchange(), false, requestId_);
  req.header.spiI = sa_.spiI();
  req.header.spiR = sa_.spiR();
  if (sa_.initiator()) req.header.flags |= kFlagInitiator;
  TaskResult r = active_->buildRequest(req);
  if (r == TaskResult::kFailed || r == TaskResult::kDestroy) {
    active_.reset();
    sa_.destroy(r == TaskResult::kFailed);
    return false;
  }
  if (r == TaskResult::kDone) {
    active_.reset();
    return false;
  }
  auto bytes = encode(req);
  if (!bytes) {
    BRAID_LOG(kError, "ike") << sa_.peerName() << ": cannot encode " << req.summary() << ": "
                             << bytes.status().message();
    active_.reset();
    sa_.destroy(true);
    return false;
  }
  active_->onEncoded(bytes->front());
  lastRequest_ = std::move(bytes.value());
  BRAID_LOG(kDebug, "ike") << sa_.peerName() << ": sending " << req.summary();
  if (sa_.fragmentLimit() != 0 && req.header.exchange != ExchangeType::kIkeSaInit) {
    lastRequestMsg_ = std::move(req);
  } else {
    lastRequestMsg_.reset();
  }
  retransmits_ = 0;
  firstSent_ = sa_.ctx().clock().now();
  sendAll(lastRequest_, sa_.local(), sa_.remote());
  armRetransmit();
  return true;
}

void TaskManager::armRetransmit() {
  timer_.arm(sa_.ctx().clock().now() + timeoutFor(retransmits_), [this] { onRetransmitTimer(); });
}

void TaskManager::onRetransmitTimer() {
  if (active_ == nullptr || sa_.dead()) return;
  const RetransmitConfig& rc = sa_.config()->retransmit;
  if (retransmits_ >= rc.tries) {
    double secs = std::chrono::duration<double>(sa_.ctx().clock().now() - firstSent_).count();
    bool quiet = active_->kind() == TaskKind::kIkeDelete;
    std::string what(exchangeName(active_->exchange()));
    active_->abort();
    active_.reset();
    if (quiet) {
      sa_.destroy(false);
      return;
    }
    sa_.fail(FailureKind::kPeerNotAnswering, false,
             "peer not answering: no response to " + what + " request " +
                 std::to_string(requestId_) + " after " + std::to_string(rc.tries) +
                 " retransmits over " + std::to_string(static_cast<int>(secs)) + " s");
    sa_.destroy(true);
    return;
  }
  ++retransmits_;
  ++sa_.ctx().counterRef().retransmits;
  BRAID_LOG(kDebug, "ike") << sa_.peerName() << ": retransmit " << retransmits_ << " of "
                           << exchangeName(active_->exchange()) << " request " << requestId_;
  // RFC 7383 2.5.2: unanswered datagrams may be too big for the path; split smaller.
  if (lastRequestMsg_) refragment(*lastRequestMsg_, lastRequest_, 0);
  sendAll(lastRequest_, sa_.local(), sa_.remote());  // RFC 7383 2.6.1: every fragment
  armRetransmit();
}

bool TaskManager::resendNow() {
  if (active_ == nullptr || lastRequest_.empty() || sa_.dead()) return false;
  ++sa_.ctx().counterRef().retransmits;
  sendAll(lastRequest_, sa_.local(), sa_.remote());
  return true;
}

void TaskManager::finishActive() {
  timer_.cancel();
  active_.reset();
  lastRequest_.clear();
  lastRequestMsg_.reset();
  ++requestId_;
}

void TaskManager::receive(Message& m, const Endpoint& to, const Endpoint& from) {
  if (m.header.response()) {
    handleResponse(m, to, from);
  } else {
    handleRequest(m, to, from);
  }
}

void TaskManager::handleResponse(Message& m, const Endpoint& to, const Endpoint& from) {
  IkeCounters& c = sa_.ctx().counterRef();
  if (active_ == nullptr || m.header.messageId != requestId_ ||
      m.header.exchange != active_->exchange()) {
    ++c.dropsMessageId;
    return;
  }
  if (!admit(m)) return;
  if (std::optional<DecodeError> e; m.isFragment()) {
    if (!reassemble(m, e)) return;
    if (e) {
      ++c.dropsMalformed;
      BRAID_LOG(kInfo, "ike") << sa_.peerName() << ": dropped malformed response: " << e->reason;
      return;
    }
  }
  if (m.hasSk()) {
    if (sa_.inCipher() == nullptr) {
      ++c.dropsIntegrity;
      return;
    }
    if (auto e = m.decrypt(*sa_.inCipher())) {
      ++(e->notify == 0 ? c.dropsIntegrity : c.dropsMalformed);
      BRAID_LOG(kDebug, "ike") << sa_.peerName() << ": dropped response: " << e->reason;
      return;
    }
  }
  if (auto e = m.verify()) {
    ++c.dropsMalformed;
    BRAID_LOG(kInfo, "ike") << sa_.peerName() << ": dropped malformed response: " << e->reason;
    return;
  }
  if (m.hasSk()) sa_.setEndpoints(to, from);  // authenticated: RFC 7296 2.23 rebinding
  ++c.responsesProcessed;
  sa_.noteActivity();
  sa_.noteResponse();
  BRAID_LOG(kDebug, "ike") << sa_.peerName() << ": received " << m.summary();
  timer_.cancel();
  TaskResult r = active_->processResponse(m);
  if (sa_.dead()) return;
  switch (r) {
    case TaskResult::kDone:
      finishActive();
      initiate();
      break;
    case TaskResult::kNeedMore:
      timer_.cancel();
      // RFC 7296 2.2: IKE_SA_INIT always uses ID 0 (an INVALID_KE or COOKIE retry too).
      if (active_->exchange() != ExchangeType::kIkeSaInit) ++requestId_;
      if (!sendRequest()) initiate();
      break;
    case TaskResult::kFailed:
    case TaskResult::kDestroy:
      finishActive();
      sa_.destroy(r == TaskResult::kFailed);
      break;
  }
}

std::unique_ptr<Task> TaskManager::responderTaskFor(const Message& request) {
  switch (request.header.exchange) {
    case ExchangeType::kIkeSaInit:
      return makeIkeInitTask(sa_);
    case ExchangeType::kIkeAuth:
      return makeIkeAuthTask(sa_);
    case ExchangeType::kCreateChildSa:
      if (const auto* sa = request.get<SaPayload>(PayloadType::kSa);
          sa != nullptr && !sa->proposals.empty() &&
          sa->proposals[0].protocol == ProtocolId::kIke) {
        return makeIkeRekeyTask(sa_);  // RFC 7296 1.3.2
      }
      return makeChildCreateTask(sa_, nullptr);
    case ExchangeType::kInformational:
      if (request.notify(notify::kUpdateSaAddresses) != nullptr) {
        return makeMobikeResponderTask(sa_);
      }
      return makeInformationalTask(sa_);
  }
  return nullptr;
}

void TaskManager::handleRequest(Message& m, const Endpoint& to, const Endpoint& from) {
  IkeCounters& c = sa_.ctx().counterRef();
  uint32_t id = m.header.messageId;
  if (!cachedResponse_.empty() && id + 1 == peerId_) {
    // RFC 7296 2.1: a retransmission gets the same response; nothing is processed again.
    Bytes raw = m.raw();
    const bool same =
        std::equal(raw.begin(), raw.end(), cachedRequest_.begin(), cachedRequest_.end());
    // RFC 7383 2.6.1, 2.5.2: the initiator split its retransmission anew (smaller): its
    // authentic fragment 1 asks for the response, split no bigger than that fragment.
    const bool resplit = !same && m.isFragment() && m.fragmentNumber() == 1 &&
                         m.header.exchange == cachedResponseExchange_ &&
                         sa_.inCipher() != nullptr && fragmentAuthentic(m, *sa_.inCipher());
    if (same || resplit) {
      ++c.responsesReplayed;
      BRAID_LOG(kDebug, "ike") << sa_.peerName() << ": retransmitted request " << id
                               << ", replaying the response";
      if (resplit && cachedResponseMsg_) {
        refragment(*cachedResponseMsg_, cachedResponse_, raw.size());
      }
      sendAll(cachedResponse_, to, from);
      return;
    }
  }
  // Nothing below may run for a message the SA does not take in its state, or for a
  // plaintext message of a protected exchange: no reply, no ID or cache change.
  if (!admit(m)) return;
  if (id != peerId_) {
    ++c.dropsMessageId;
    BRAID_LOG(kDebug, "ike") << sa_.peerName() << ": dropped request " << id << " (expected "
                             << peerId_ << ")";
    return;
  }
  const bool fragmented = m.isFragment();
  if (std::optional<DecodeError> e; fragmented) {
    if (!reassemble(m, e)) return;
    if (e) {
      sendErrorResponse(m, *e, to, from);
      return;
    }
  }
  if (m.hasSk()) {
    if (sa_.inCipher() == nullptr) {
      ++c.dropsIntegrity;
      return;
    }
    if (auto e = m.decrypt(*sa_.inCipher())) {
      if (e->notify == 0) {
        ++c.dropsIntegrity;
        BRAID_LOG(kDebug, "ike") << sa_.peerName() << ": dropped request: " << e->reason;
        return;
      }
      sendErrorResponse(m, *e, to, from);
      return;
    }
  }
  if (auto e = m.verify()) {
    if (!m.hasSk()) {
      // IKE_SA_INIT on a fresh SA (the only plaintext request admit() lets through): a
      // stateless error reply (RFC 7296 2.21.1), and the SA goes.
      sendStatelessError(m, *e, to, from);
      sa_.destroy(false);
      return;
    }
    sendErrorResponse(m, *e, to, from);
    return;
  }
  if (m.hasSk()) sa_.setEndpoints(to, from);  // authenticated: RFC 7296 2.23 rebinding
  ++c.requestsProcessed;
  sa_.noteActivity();
  BRAID_LOG(kDebug, "ike") << sa_.peerName() << ": received " << m.summary();
  requestTo_ = to;
  requestFrom_ = from;
  auto task = responderTaskFor(m);
  TaskResult r1 = task->processRequest(m);
  Message resp(m.header.exchange, true, id);
  resp.header.spiI = sa_.spiI();
  resp.header.spiR = sa_.spiR();
  if (sa_.initiator()) resp.header.flags |= kFlagInitiator;
  TaskResult r2 = task->buildResponse(resp);
  // The request's fragments came through: the response's are no bigger (RFC 7383 2.5.2,
  // the responder does no discovery of its own). raw() is now the first fragment's.
  auto bytes = encode(resp, fragmented ? m.raw().size() : 0);
  if (!bytes) {
    BRAID_LOG(kError, "ike") << sa_.peerName() << ": cannot encode " << resp.summary() << ": "
                             << bytes.status().message();
    sa_.destroy(true);
    return;
  }
  task->onEncoded(bytes->front());
  cachedRequest_.assign(m.raw().begin(), m.raw().end());
  cachedResponse_ = std::move(bytes.value());
  cachedResponseExchange_ = resp.header.exchange;
  BRAID_LOG(kDebug, "ike") << sa_.peerName() << ": sending " << resp.summary();
  if (sa_.fragmentLimit() != 0 && resp.header.exchange != ExchangeType::kIkeSaInit) {
    cachedResponseMsg_ = std::move(resp);
  } else {
    cachedResponseMsg_.reset();
  }
  ++peerId_;
  sendAll(cachedResponse_, to, from);
  if (r1 == TaskResult::kFailed || r2 == TaskResult::kFailed) {
    sa_.destroy(true);
    return;
  }
  if (r1 == TaskResult::kDestroy || r2 == TaskResult::kDestroy) {
    sa_.destroy(false);
    return;
  }
  if (active_) active_->onPeerRequest(*task);
  initiate();
}

bool TaskManager::admit(const Message& m) {
  IkeCounters& c = sa_.ctx().counterRef();
  switch (checkExchange(m.header.exchange, m.header.response(), sa_.initiator(), sa_.state(),
                        m.hasSk())) {
    case ExchangeVerdict::kAccept:
      return true;
    case ExchangeVerdict::kWrongState:
      ++c.dropsState;
      BRAID_LOG(kDebug, "ike") << sa_.peerName() << ": dropped " << exchangeName(m.header.exchange)
                               << (m.header.response() ? " response" : " request") << " in state "
                               << ikeSaStateName(sa_.state());
      return false;
    case ExchangeVerdict::kUnprotected:
      ++c.dropsUnprotected;
      BRAID_LOG(kDebug, "ike") << sa_.peerName() << ": dropped plaintext "
                               << exchangeName(m.header.exchange)
                               << (m.header.response() ? " response" : " request");
      return false;
  }
  return false;
}

void TaskManager::sendStatelessError(const Message& request, const DecodeError& e,
                                     const Endpoint& to, const Endpoint& from) {
  IkeCounters& c = sa_.ctx().counterRef();
  if (e.notify == notify::kInvalidSyntax) ++c.invalidSyntaxSent;
  if (e.notify == notify::kUnsupportedCriticalPayload) ++c.unsupportedCritical;
  BRAID_LOG(kDebug, "ike") << sa_.peerName() << ": " << notifyName(e.notify) << " in reply to "
                           << exchangeName(request.header.exchange) << ": " << e.reason;
  if (e.notify == 0) return;
  Message resp(request.header.exchange, true, request.header.messageId);
  resp.header.spiI = request.header.spiI;  // SPIr stays 0: no state was kept
  resp.addNotify(e.notify, e.notifyData);
  if (auto bytes = resp.encode(nullptr)) sa_.send(*bytes, to, from);
}

void TaskManager::sendErrorResponse(const Message& request, const DecodeError& e,
                                    const Endpoint& to, const Endpoint& from) {
  IkeCounters& c = sa_.ctx().counterRef();
  if (e.notify == notify::kInvalidSyntax) ++c.invalidSyntaxSent;
  if (e.notify == notify::kUnsupportedCriticalPayload) ++c.unsupportedCritical;
  LogRateLimiter* limiter = sa_.peerAuthenticated() ? nullptr : sa_.ctx().unauthenticatedLog();
  if (limiter == nullptr) {
    BRAID_LOG(kWarn, "ike") << sa_.peerName() << ": " << notifyName(e.notify) << " in reply to "
                            << exchangeName(request.header.exchange) << " request "
                            << request.header.messageId << ": " << e.reason;
  } else {
    BRAID_LOG_LIMITED(*limiter, sa_.ctx().clock().now(), kWarn, "ike")
        << sa_.peerName() << ": " << notifyName(e.notify) << " in reply to "
        << exchangeName(request.header.exchange) << " request " << request.header.messageId << ": "
        << e.reason;
  }
  Message resp(request.header.exchange, true, request.header.messageId);
  resp.header.spiI = sa_.spiI();
  resp.header.spiR = sa_.spiR();
  if (sa_.initiator()) resp.header.flags |= kFlagInitiator;
  resp.addNotify(e.notify, e.notifyData);
  auto bytes = encode(resp);
  if (!bytes) return;
  cachedRequest_.assign(request.raw().begin(), request.raw().end());
  cachedResponse_ = std::move(bytes.value());
  cachedResponseMsg_.reset();
  cachedResponseExchange_ = request.header.exchange;
  ++peerId_;
  sendAll(cachedResponse_, to, from);
  // RFC 7296 2.21.2: INVALID_SYNTAX in an IKE_AUTH exchange ends the IKE SA.
  if (request.header.exchange == ExchangeType::kIkeAuth) sa_.destroy(true);
}

Result<std::vector<ByteVec>> TaskManager::encode(const Message& m, size_t cap) {
  size_t limit = m.header.exchange == ExchangeType::kIkeSaInit ? 0 : sa_.fragmentLimit();
  if (limit != 0 && cap != 0) limit = std::min(limit, cap);
  if (limit == 0 || sa_.outCipher() == nullptr) {
    auto one = m.encode(sa_.outCipher());
    if (!one) return one.status();
    return std::vector<ByteVec>{std::move(one.value())};
  }
  auto list = fragmentMessage(m, *sa_.outCipher(), limit);
  if (list && list->size() > 1) {
    sa_.ctx().counterRef().fragmentsSent += list->size();
    size_t bytes = 0;
    for (const auto& d : *list) bytes += d.size();
    BRAID_LOG(kInfo, "ike") << sa_.peerName() << ": " << exchangeName(m.header.exchange)
                            << (m.header.response() ? " response " : " request ")
                            << m.header.messageId << " in " << list->size()
                            << " fragments (RFC 7383) of at most " << limit << " bytes, " << bytes
                            << " in all";
  }
  return list;
}

bool TaskManager::refragment(const Message& m, std::vector<ByteVec>& sent, size_t cap) {
  if (sa_.fragmentLimit() == 0 || sa_.outCipher() == nullptr ||
      m.header.exchange == ExchangeType::kIkeSaInit || sent.empty()) {
    return false;
  }
  size_t largest = 0;
  for (const auto& d : sent) largest = std::max(largest, d.size());
  size_t limit = cap;
  if (cap == 0) {
    if (!sa_.reduceFragmentSize(largest)) return false;
    limit = sa_.fragmentLimit();
  } else if (largest <= cap) {
    return false;
  }
  // 2.6: the receiver keeps the split with the most fragments, so the new one needs more
  // than the old (else both splits' fragments could mix into one garbled message).
  for (;;) {
    auto list = fragmentMessage(m, *sa_.outCipher(), limit);
    if (!list) return false;
    if (list->size() > sent.size()) {
      IkeCounters& c = sa_.ctx().counterRef();
      ++c.fragmentShrinks;
      c.fragmentsSent += list->size();
      BRAID_LOG(kInfo, "ike") << sa_.peerName() << ": " << exchangeName(m.header.exchange)
                              << (m.header.response() ? " response " : " request ")
                              << m.header.messageId
                              << " split again (RFC 7383 2.5.2): " << list->size()
                              << " fragments of at most " << limit << " bytes instead of "
                              << sent.size() << " of " << largest;
      sent = std::move(list.value());
      return true;
    }
    const size_t smaller = limit * sent.size() / (sent.size() + 1);
    if (smaller >= limit || smaller < 64) return false;
    limit = smaller;
  }
}

void TaskManager::sendAll(const std::vector<ByteVec>& datagrams, const Endpoint& to,
                          const Endpoint& from) {
  for (const auto& d : datagrams) sa_.send(d, to, from);
}

bool TaskManager::reassemble(Message& m, std::optional<DecodeError>& error) {
  IkeCounters& c = sa_.ctx().counterRef();
  // RFC 7383 2.3: only when both sides offered it; the keys must be there to verify.
  if (sa_.fragmentLimit() == 0 || sa_.inCipher() == nullptr) {
    ++c.dropsFragmentInvalid;
    return false;
  }
  auto v = reassembler_.offer(m, *sa_.inCipher(), sa_.ctx().clock().now(), c, error);
  if (v == Reassembler::Verdict::kComplete) {
    BRAID_LOG(kDebug, "ike") << sa_.peerName() << ": reassembled "
                             << exchangeName(m.header.exchange)
                             << (m.header.response() ? " response " : " request ")
                             << m.header.messageId << " from fragments";
  }
  return v == Reassembler::Verdict::kComplete;
}

void TaskManager::shutdown() {
  timer_.cancel();
  if (active_) active_->abort();
  active_.reset();
  for (auto& t : queue_) t->abort();
  queue_.clear();
}

}  // namespace braid::ike
