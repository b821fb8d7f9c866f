#include "ipsec/ike/sa_manager.hpp"

#include <algorithm>

#include "core/log.hpp"

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

uint32_t SaManager::allocateChildSpi() {
  for (;;) {
    uint32_t spi = random_->u32();
    if (spi >= 256 && childSpis_.insert(spi).second) return spi;
  }
}

void SaManager::releaseChildSpi(uint32_t spi) {
  childSpis_.erase(spi);
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
      // RFC 7296 2.5/2.21: answer a broken IKE_SA_INIT without creating state.
      if (e->notify == notify::kInvalidSyntax) ++counters_.invalidSyntaxSent;
      if (e->notify == notify::kUnsupportedCriticalPayload) ++counters_.unsupportedCritical;
      BRAID_LOG(kWarn, "ike") << "IKE_SA_INIT from " << remote.toString() << ": " << e->reason
                              << "; sending " << notifyName(e->notify);
      sendStatelessError(h, e->notify, e->notifyData, local, remote);
    } else {
      ++counters_.dropsMalformed;
      BRAID_LOG(kDebug, "ike") << "dropped datagram from " << remote.toString() << ": "
                               << e->reason;
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
      BRAID_LOG(kDebug, "ike") << "dropped " << exchangeName(h.exchange) << " from "
                               << remote.toString() << ": unknown SPIs";
    } else {
      sa->receive(m, local, remote);
    }
  }
  reap();
}

void SaManager::handleInitRequest(Message& m, const Endpoint& local, const Endpoint& remote) {
  auto key = std::make_pair(m.header.spiI, remote.address);
  if (auto it = halfOpen_.find(key); it != halfOpen_.end()) {
    if (auto sa = sas_.find(it->second); sa != sas_.end() && !sa->second->dead()) {
      sa->second->receive(m, local, remote);  // a retransmission: the cache answers
      return;
    }
  }
  const PeerConfig* pc = configForAddress(remote.address);
  if (pc == nullptr) {
    ++counters_.dropsNoConfig;
    BRAID_LOG(kWarn, "ike") << "IKE_SA_INIT from " << remote.toString()
                            << ": no peer config for this address; sending NO_PROPOSAL_CHOSEN";
    sendStatelessError(m.header, notify::kNoProposalChosen, {}, local, remote);
    return;
  }
  uint64_t spi = newIkeSpi();
  auto sa =
      std::make_unique<IkeSa>(static_cast<IkeSaContext&>(*this), pc, false, spi, local, remote);
  sa->setSpiI(m.header.spiI);
  IkeSa* raw = sa.get();
  sas_[spi] = std::move(sa);
  halfOpen_[key] = spi;
  raw->receive(m, local, remote);
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
  if (sa.initiator() && sa.config()) {
    if (auto it = retries_.find(sa.config()->name); it != retries_.end()) {
      it->second.delay = Duration{};
    }
  }
}

void SaManager::ikeSaEnded(IkeSa& sa, bool failed) {
  dead_.push_back(sa.ourSpi());
  reapTimer_.arm(clock_.now(), [this] { reap(); });
  if (failed && sa.initiator() && sa.config() != nullptr && sa.config()->retryInitial.count() > 0) {
    scheduleRetry(*sa.config(), retries_[sa.config()->name].local);
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
    std::erase_if(halfOpen_, [spi](const auto& kv) { return kv.second == spi; });
    sas_.erase(spi);
  }
}

IkeSa* SaManager::findBySpi(uint64_t spi) {
  auto it = sas_.find(spi);
  return it == sas_.end() || it->second->dead() ? nullptr : it->second.get();
}

IkeSa* SaManager::findByPeer(std::string_view name) {
  IkeSa* best = nullptr;
  for (auto& [spi, sa] : sas_) {
    if (sa->dead() || sa->config() == nullptr || sa->config()->name != name) continue;
    if (best == nullptr || sa->state() == IkeSaState::kEstablished) best = sa.get();
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

Status SaManager::checkLiveness(std::string_view peerName) {
  IkeSa* sa = findByPeer(peerName);
  if (sa == nullptr) return errorStatus(ErrorCode::kNotFound, "no IKE SA for peer");
  sa->sendLivenessCheck();
  return Status::ok();
}

}  // namespace braid::ike
