#include "ipsec/ike/sa_manager.hpp"

#include <algorithm>
#include <utility>

#include "core/log.hpp"
#include "core/rate_limit.hpp"

namespace braid::ike {

SaManager::SaManager(const Clock& clock, TimerScheduler& timers, DatagramSender& sender,
                     SaListener& listener, SaManagerOptions options)
    : clock_(clock),
      timers_(timers),
      sender_(sender),
      listener_(listener),
      random_(options.random ? std::move(options.random) : std::make_unique<SystemRandom>()),
      keyExchange_(options.keyExchange ? std::move(options.keyExchange)
                                       : KeyExchangeFactory(&KeyExchange::create)),
      keySink_(options.keySink),
      deterministicIvs_(options.deterministicIvs),
      limits_(options.limits),
      expiryTimer_(timers),
      cookies_(*random_, limits_.cookieSecretLifetime),
      initRate_(limits_.initRatePerSource, limits_.initBurstPerSource, limits_.rateTableMax),
      initLog_("IKE_SA_INIT refused", limits_.logLinesPerMinute, std::chrono::minutes(1),
               &counters_.logSuppressed),
      dropLog_("IKE datagram dropped", limits_.logLinesPerMinute, std::chrono::minutes(1),
               &counters_.logSuppressed),
      dosLog_("IKE_SA_INIT limited", limits_.logLinesPerMinute, std::chrono::minutes(1),
              &counters_.logSuppressed),
      unauthLog_("unauthenticated IKE SA failed", limits_.logLinesPerMinute,
                 std::chrono::minutes(1), &counters_.logSuppressed),
      spis_(options.spis ? std::move(options.spis) : std::make_shared<SpiRegistry>()),
      reapTimer_(timers) {}

SaManager::~SaManager() {
  retries_.clear();
  sas_.clear();
}

Status SaManager::addPeer(PeerConfig config) {
  if (peer(config.name) != nullptr) {
    return errorStatus(ErrorCode::kAlreadyExists, "peer '" + config.name + "' exists");
  }
  if (config.ikeProposals.empty()) {
    return errorStatus(ErrorCode::kInvalidArgument,
                       "peer '" + config.name + "' has no IKE proposals");
  }
  peers_.push_back(std::move(config));
  return Status::ok();
}

const PeerConfig* SaManager::peer(std::string_view name) const {
  for (const auto& p : peers_) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

Result<std::unique_ptr<KeyExchange>> SaManager::createKeyExchange(DhGroup group) {
  return keyExchange_(group);
}

uint64_t SaManager::newIkeSpi() {
  for (;;) {
    uint64_t spi = random_->u64();
    if (spi != 0 && sas_.find(spi) == sas_.end()) return spi;
  }
}

IkeSa& SaManager::createRekeyedSa(IkeSa& old, bool initiator, uint64_t spiI, uint64_t spiR) {
  const uint64_t ours = initiator ? spiI : spiR;
  auto sa = std::make_unique<IkeSa>(static_cast<IkeSaContext&>(*this), old.config(), initiator,
                                    ours, old.local(), old.remote());
  sa->setSpiI(spiI);
  sa->setSpiR(spiR);
  IkeSa& raw = *sa;
  sas_[ours] = std::move(sa);
  return raw;
}

uint32_t SaManager::allocateChildSpi() {
  return spis_->allocate(*random_);
}

void SaManager::releaseChildSpi(uint32_t spi) {
  spis_->release(spi);
}

Status SaManager::initiate(std::string_view name, const Endpoint& local) {
  const PeerConfig* pc = peer(name);
  if (pc == nullptr)
    return errorStatus(ErrorCode::kNotFound, "no peer '" + std::string(name) + "'");
  retries_[pc->name].local = local;
  uint64_t spi = newIkeSpi();
  auto sa =
      std::make_unique<IkeSa>(static_cast<IkeSaContext&>(*this), pc, true, spi, local, pc->remote);
  IkeSa* raw = sa.get();
  sas_[spi] = std::move(sa);
  BRAID_LOG(kInfo, "ike") << raw->peerName() << ": initiating IKE SA";
  raw->initiate();
  return Status::ok();
}

const PeerConfig* SaManager::configForAddress(const IpAddress& remote) const {
  for (const auto& p : peers_) {
    if (!p.remoteAny && p.remote.address == remote) return &p;
  }
  for (const auto& p : peers_) {
    if (p.remoteAny) return &p;
  }
  return nullptr;
}

const PeerConfig* SaManager::findPeerConfig(const Endpoint& remote, const Identity& id) {
  for (const auto& p : peers_) {
    bool addressOk = p.remoteAny || p.remote.address == remote.address;
    if (addressOk && !p.remoteId.any() && p.remoteId.matches(id)) return &p;
  }
  return nullptr;
}

void SaManager::receive(const Endpoint& local, const Endpoint& remote, Bytes datagram) {
  IkeHeader h;
  if (!parseIkeHeader(datagram, h)) {
    ++counters_.dropsMalformed;
    return;
  }
  Message m;
  if (auto e = m.parse(datagram)) {
    bool initRequest = h.exchange == ExchangeType::kIkeSaInit && !h.response();
    if (initRequest && e->notify != 0) {
      // RFC 7296 2.5/2.21: answer a broken IKE_SA_INIT without creating state, at most at
      // the per-source IKE_SA_INIT rate.
      if (limits_.initRatePerSource > 0 && !initRate_.allow(remote.address, clock_.now())) {
        ++counters_.dropsInitRate;
        return;
      }
      if (e->notify == notify::kInvalidSyntax) ++counters_.invalidSyntaxSent;
      if (e->notify == notify::kUnsupportedCriticalPayload) ++counters_.unsupportedCritical;
      BRAID_LOG_LIMITED(initLog_, clock_.now(), kWarn, "ike")
          << "IKE_SA_INIT from " << remote.toString() << ": " << e->reason << "; sending "
          << notifyName(e->notify);
      sendStatelessError(h, e->notify, e->notifyData, local, remote);
    } else {
      ++counters_.dropsMalformed;
      BRAID_LOG_LIMITED(dropLog_, clock_.now(), kDebug, "ike")
          << "dropped datagram from " << remote.toString() << ": " << e->reason;
    }
    return;
  }
  if (h.exchange == ExchangeType::kIkeSaInit && !h.response() && h.spiR == 0) {
    handleInitRequest(m, local, remote);
  } else {
    // The I flag says the sender is the original initiator, so our SPI is SPIr.
    uint64_t ours = h.initiator() ? h.spiR : h.spiI;
    auto it = sas_.find(ours);
    IkeSa* sa = it == sas_.end() ? nullptr : it->second.get();
    bool match = sa != nullptr && !sa->dead() && sa->initiator() != h.initiator() &&
                 (h.initiator() ? sa->spiI() == h.spiI : (sa->spiR() == 0 || sa->spiR() == h.spiR));
    if (!match) {
      ++counters_.dropsUnknownSpi;
      BRAID_LOG_LIMITED(dropLog_, clock_.now(), kDebug, "ike")
          << "dropped " << exchangeName(h.exchange) << " from " << remote.toString()
          << ": unknown SPIs";
    } else {
      sa->receive(m, local, remote);
    }
  }
  for (uint64_t spi : std::exchange(settle_, {})) {
    if (IkeSa* sa = findBySpi(spi); sa != nullptr && sa->state() == IkeSaState::kEstablished) {
      settleDuplicates(*sa);
    }
  }
  reap();
}

void SaManager::handleInitRequest(Message& m, const Endpoint& local, const Endpoint& remote) {
  const TimePoint now = clock_.now();
  if (auto known = halfOpen_.find(m.header.spiI, remote.address)) {
    if (auto sa = sas_.find(*known); sa != sas_.end() && !sa->second->dead()) {
      sa->second->receive(m, local, remote);  // a retransmission: the cache answers
      return;
    }
  }
  // RFC 8019 4: limit what one address can make us do before anything costs more than a
  // table lookup. Spoofed sources spread over many addresses meet the cookie check below.
  if (limits_.initRatePerSource > 0 && !initRate_.allow(remote.address, now)) {
    ++counters_.dropsInitRate;
    BRAID_LOG_LIMITED(dosLog_, now, kInfo, "ike")
        << "IKE_SA_INIT from " << remote.toString() << ": over " << limits_.initRatePerSource
        << " per second from this address; dropped";
    return;
  }
  const PeerConfig* pc = configForAddress(remote.address);
  if (pc == nullptr) {
    ++counters_.dropsNoConfig;
    BRAID_LOG_LIMITED(initLog_, now, kWarn, "ike")
        << "IKE_SA_INIT from " << remote.toString()
        << ": no peer config for this address; sending NO_PROPOSAL_CHOSEN";
    sendStatelessError(m.header, notify::kNoProposalChosen, {}, local, remote);
    return;
  }
  if (!checkCookie(m, local, remote)) return;
  if (halfOpen_.size() >= limits_.halfOpenMax) {
    ++counters_.dropsHalfOpenCap;
    BRAID_LOG_LIMITED(dosLog_, now, kWarn, "ike")
        << "IKE_SA_INIT from " << remote.toString() << ": " << halfOpen_.size()
        << " half-open IKE SAs, the limit; dropped";
    return;
  }
  if (halfOpen_.countFor(remote.address) >= limits_.halfOpenMaxPerSource) {
    ++counters_.dropsHalfOpenPerSource;
    BRAID_LOG_LIMITED(dosLog_, now, kWarn, "ike")
        << "IKE_SA_INIT from " << remote.toString() << ": " << halfOpen_.countFor(remote.address)
        << " half-open IKE SAs from this address, the limit; dropped";
    return;
  }
  uint64_t spi = newIkeSpi();
  auto sa =
      std::make_unique<IkeSa>(static_cast<IkeSaContext&>(*this), pc, false, spi, local, remote);
  sa->setSpiI(m.header.spiI);
  IkeSa* raw = sa.get();
  sas_[spi] = std::move(sa);
  halfOpen_.add(spi, m.header.spiI, remote.address, now);
  // Entries are added in time order, so an armed timer already has the oldest deadline (or
  // an earlier one, whose entry has gone: it then re-arms). No re-arm per request.
  if (!expiryTimer_.armed()) armExpiry();
  raw->receive(m, local, remote);
}

bool SaManager::checkCookie(const Message& m, const Endpoint& local, const Endpoint& remote) {
  if (halfOpen_.size() < limits_.cookieThreshold) return true;
  const TimePoint now = clock_.now();
  // RFC 7296 2.6: the cookie covers Ni, IPi and SPIi, all from this request.
  const auto* nonce = m.get<NoncePayload>(PayloadType::kNonce);
  if (nonce == nullptr) {
    ++counters_.dropsMalformed;
    return false;
  }
  if (const NotifyPayload* c = m.notify(notify::kCookie)) {
    if (cookies_.verify(now, c->data, nonce->data, remote.address, m.header.spiI)) {
      ++counters_.cookiesValid;
      return true;
    }
    // RFC 7296 2.6: a cookie that does not match is ignored: the request is answered as if
    // it had none, with a fresh cookie.
    ++counters_.cookiesInvalid;
  }
  ByteVec cookie = cookies_.make(now, nonce->data, remote.address, m.header.spiI);
  if (cookie.empty()) return false;
  ++counters_.cookiesSent;
  BRAID_LOG_LIMITED(dosLog_, now, kInfo, "ike")
      << "IKE_SA_INIT from " << remote.toString() << ": " << halfOpen_.size()
      << " half-open IKE SAs; answering with a COOKIE";
  sendStatelessError(m.header, notify::kCookie, cookie, local, remote);
  return false;
}

void SaManager::armExpiry() {
  if (auto oldest = halfOpen_.oldest()) {
    expiryTimer_.arm(*oldest + limits_.halfOpenTimeout, [this] { expireHalfOpen(); });
  } else {
    expiryTimer_.cancel();
  }
}

void SaManager::expireHalfOpen() {
  const TimePoint now = clock_.now();
  for (uint64_t spi : halfOpen_.createdBefore(now - limits_.halfOpenTimeout)) {
    halfOpen_.remove(spi);
    ++counters_.halfOpenExpired;
    auto it = sas_.find(spi);
    if (it == sas_.end() || it->second->dead()) continue;
    BRAID_LOG_LIMITED(dosLog_, now, kInfo, "ike")
        << it->second->peerName() << ": half-open IKE SA expired (no IKE_AUTH within "
        << toMillis(limits_.halfOpenTimeout) / 1000 << " s)";
    it->second->destroy(false);
  }
  reap();
  armExpiry();
}

void SaManager::sendStatelessError(const IkeHeader& h, uint16_t type, Bytes data,
                                   const Endpoint& local, const Endpoint& remote) {
  Message resp(h.exchange, true, h.messageId);
  resp.header.spiI = h.spiI;
  resp.addNotify(type, ByteVec(data.begin(), data.end()));
  auto bytes = resp.encode(nullptr);
  if (bytes) sender_.sendDatagram(local, remote, *bytes);
}

void SaManager::ikeSaEstablished(IkeSa& sa) {
  halfOpen_.remove(sa.ourSpi());  // authenticated now (IKE_AUTH done)
  if (sa.initiator() && sa.config()) {
    if (auto it = retries_.find(sa.config()->name); it != retries_.end()) {
      it->second.delay = Duration{};
    }
  }
  // Settled once the message is processed: its Child SA is installed after this.
  if (!sa.fromRekey()) settle_.push_back(sa.ourSpi());
}

void SaManager::ikeSaEnded(IkeSa& sa, bool failed) {
  dead_.push_back(sa.ourSpi());
  halfOpen_.remove(sa.ourSpi());
  reapTimer_.arm(clock_.now(), [this] { reap(); });
  const PeerConfig* pc = sa.config();
  if (failed && pc != nullptr && sa.wasUp() && pc->dpdDelay.count() > 0) {
    // RFC 7296 2.4: an established IKE SA whose peer stopped answering (DPD on). restart:
    // initiate again at once, whichever side we were (not to "any" address); clear/hold:
    // leave it closed (the owner decides when to try again).
    if (pc->dpdAction != DpdAction::kRestart || pc->remoteAny) return;
    BRAID_LOG(kInfo, "ike") << sa.peerName() << ": peer dead, restarting (dpd_action restart)";
    Retry& r = retries_[pc->name];
    if (!sa.startedByUs()) r.local = Endpoint{sa.local().address, kIkePort};
    r.delay = Duration{};
    if (!r.timer) r.timer = std::make_unique<ScopedTimer>(timers_);
    std::string name = pc->name;
    r.timer->arm(clock_.now(), [this, name] {
      ++counters_.initiateRetries;
      (void)initiate(name, retries_[name].local);
    });
    return;
  }
  if (failed && sa.startedByUs() && pc != nullptr && pc->retryInitial.count() > 0) {
    scheduleRetry(*pc, retries_[pc->name].local);
  }
}

void SaManager::scheduleRetry(const PeerConfig& pc, const Endpoint& local) {
  Retry& r = retries_[pc.name];
  r.local = local;
  r.delay = r.delay.count() == 0 ? pc.retryInitial : std::min(r.delay * 2, pc.retryMax);
  if (!r.timer) r.timer = std::make_unique<ScopedTimer>(timers_);
  BRAID_LOG(kInfo, "ike") << "peer '" << pc.name << "': retrying in " << toMillis(r.delay) / 1000
                          << " s";
  std::string name = pc.name;
  r.timer->arm(clock_.now() + r.delay, [this, name] {
    ++counters_.initiateRetries;
    (void)initiate(name, retries_[name].local);
  });
}

void SaManager::reap() {
  auto dead = std::move(dead_);
  dead_.clear();
  for (uint64_t spi : dead) {
    halfOpen_.remove(spi);
    sas_.erase(spi);
  }
}

IkeSa* SaManager::findBySpi(uint64_t spi) {
  auto it = sas_.find(spi);
  return it == sas_.end() || it->second->dead() ? nullptr : it->second.get();
}

IkeSa* SaManager::findByPeer(std::string_view name) {
  // An established SA first, then one we initiated. Never a half-open responder SA: anyone
  // can create one with a spoofed IKE_SA_INIT, and edge asks this before re-initiating.
  IkeSa* best = nullptr;
  int bestRank = 0;
  for (auto& [spi, sa] : sas_) {
    if (sa->dead() || sa->config() == nullptr || sa->config()->name != name) continue;
    if (!sa->initiator() && (halfOpen_.contains(spi) || sa->state() == IkeSaState::kCreated ||
                             sa->state() == IkeSaState::kConnecting)) {
      continue;
    }
    int rank = sa->state() == IkeSaState::kEstablished ? 3 : sa->initiator() ? 2 : 1;
    if (rank > bestRank || (rank == 3 && bestRank == 3)) {
      best = sa.get();
      bestRank = rank;
    }
  }
  return best;
}

Status SaManager::createChild(std::string_view peerName, std::string_view child) {
  IkeSa* sa = findByPeer(peerName);
  if (sa == nullptr) return errorStatus(ErrorCode::kNotFound, "no IKE SA for peer");
  for (const auto& c : sa->config()->children) {
    if (c.name == child) {
      sa->createChild(&c);
      return Status::ok();
    }
  }
  return errorStatus(ErrorCode::kNotFound, "no child '" + std::string(child) + "'");
}

Status SaManager::deleteChild(std::string_view peerName, uint32_t spi) {
  IkeSa* sa = findByPeer(peerName);
  if (sa == nullptr || sa->findChildByInbound(spi) == nullptr) {
    return errorStatus(ErrorCode::kNotFound, "no such Child SA");
  }
  sa->deleteChild(spi);
  return Status::ok();
}

Status SaManager::deleteIkeSa(std::string_view peerName) {
  IkeSa* sa = findByPeer(peerName);
  if (sa == nullptr) return errorStatus(ErrorCode::kNotFound, "no IKE SA for peer");
  sa->deleteIkeSa();
  reap();
  return Status::ok();
}

bool SaManager::reportUsage(uint32_t spi, bool inbound, uint64_t bytes, uint64_t packets) {
  for (auto& [ours, sa] : sas_) {
    if (!sa->dead() && sa->reportUsage(spi, inbound, bytes, packets)) {
      reap();
      return true;
    }
  }
  return false;
}

Status SaManager::checkLiveness(std::string_view peerName) {
  IkeSa* sa = findByPeer(peerName);
  if (sa == nullptr) return errorStatus(ErrorCode::kNotFound, "no IKE SA for peer");
  sa->sendLivenessCheck();
  return Status::ok();
}

}  // namespace braid::ike
