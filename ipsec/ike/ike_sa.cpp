#include "ipsec/ike/ike_sa.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <utility>

#include "core/log.hpp"
#include "ipsec/ike/fragmentation.hpp"
#include "ipsec/ike/tasks.hpp"

namespace braid::ike {

namespace {
// Eight hex digits, as strongSwan prints SPIs, so one grep finds an SA in both logs.
std::string spiHex(uint32_t spi) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", spi);
  return buf;
}
}  // namespace

std::string_view childSaStateName(ChildSaState s) {
  switch (s) {
    case ChildSaState::kInstalled:
      return "INSTALLED";
    case ChildSaState::kRekeying:
      return "REKEYING";
    case ChildSaState::kRekeyed:
      return "REKEYED";
    case ChildSaState::kDeleting:
      return "DELETING";
  }
  return "?";
}

std::string_view ikeSaStateName(IkeSaState s) {
  switch (s) {
    case IkeSaState::kCreated:
      return "CREATED";
    case IkeSaState::kConnecting:
      return "CONNECTING";
    case IkeSaState::kEstablished:
      return "ESTABLISHED";
    case IkeSaState::kDeleting:
      return "DELETING";
    case IkeSaState::kDead:
      return "DEAD";
  }
  return "?";
}

IkeSa::IkeSa(IkeSaContext& ctx, const PeerConfig* config, bool initiator, uint64_t ourSpi,
             const Endpoint& local, const Endpoint& remote)
    : ctx_(ctx),
      config_(config),
      initiator_(initiator),
      spiI_(initiator ? ourSpi : 0),
      spiR_(initiator ? 0 : ourSpi),
      local_(local),
      remote_(remote),
      startedByUs_(initiator),
      ikeSoftTimer_(ctx.timers()),
      ikeHardTimer_(ctx.timers()),
      dpdTimer_(ctx.timers()),
      retireTimer_(ctx.timers()),
      tasks_(*this) {}

IkeSa::~IkeSa() {
  tasks_.shutdown();
}

std::string IkeSa::peerName() const {
  std::ostringstream o;
  o << "peer '" << (config_ ? config_->name : std::string("?")) << "' " << remote_.toString();
  return o.str();
}

void IkeSa::initiate() {
  state_ = IkeSaState::kConnecting;
  tasks_.queue(makeIkeInitTask(*this));
  tasks_.queue(makeIkeAuthTask(*this));
  tasks_.initiate();
}

void IkeSa::receive(Message& m, const Endpoint& to, const Endpoint& from) {
  if (dead()) return;
  tasks_.receive(m, to, from);
}

void IkeSa::createChild(const ChildConfig* child) {
  if (dead() || child == nullptr) return;
  tasks_.queue(makeChildCreateTask(*this, child));
  if (state_ == IkeSaState::kEstablished) tasks_.initiate();
}

void IkeSa::deleteChild(uint32_t spiIn) {
  ChildSa* c = findChildByInbound(spiIn);
  if (dead() || c == nullptr || c->state == ChildSaState::kDeleting) return;
  c->state = ChildSaState::kDeleting;
  if (c->replacedBy != 0) {
    // The peer stops receiving on this SA when our Delete arrives: send with its
    // replacement from now on (a rekey responder whose old SA reached its hard limit).
    if (ChildSa* n = findChildByInbound(c->replacedBy)) activateOutbound(*n);
  }
  tasks_.queue(makeChildDeleteTask(*this, spiIn));
  if (state_ == IkeSaState::kEstablished) tasks_.initiate();
}

bool IkeSa::rekeyChild(uint32_t spiIn) {
  ChildSa* c = findChildByInbound(spiIn);
  if (dead() || state_ != IkeSaState::kEstablished || c == nullptr ||
      c->state != ChildSaState::kInstalled) {
    return false;
  }
  c->state = ChildSaState::kRekeying;
  if (c->softTimer) c->softTimer->cancel();
  BRAID_LOG(kInfo, "ike") << peerName() << ": rekeying Child SA '"
                          << (c->config ? c->config->name : "") << "' (SPI " << spiHex(spiIn)
                          << ")";
  tasks_.queue(makeChildRekeyTask(*this, spiIn));
  tasks_.initiate();
  return true;
}

void IkeSa::childRekeyFailed(uint32_t spiIn, bool temporary) {
  ChildSa* c = findChildByInbound(spiIn);
  if (c == nullptr || c->state != ChildSaState::kRekeying) return;
  c->state = ChildSaState::kInstalled;
  ++ctx_.counterRef().childRekeyFailures;
  // Try again later (the hard lifetime ends it meanwhile): 10-20 s after a refusal, or after
  // TEMPORARY_FAILURE (a collision, RFC 7296 2.25) a random 2-10 s, so that both sides do not
  // collide again.
  const double r = static_cast<double>(ctx_.random().u32()) / 4294967296.0;
  const double secs = temporary ? 2.0 + 8.0 * r : 10.0 + 10.0 * r;
  c->softAt = ctx_.clock().now() +
              std::chrono::duration_cast<Duration>(std::chrono::duration<double>(secs));
  c->retrying = true;
  armChildTimers(*c);
}

void IkeSa::childRekeyed(uint32_t oldSpiIn, uint32_t newSpiIn) {
  ++ctx_.counterRef().childRekeysInitiated;
  ChildSa* old = findChildByInbound(oldSpiIn);
  if (old == nullptr || old->state == ChildSaState::kDeleting) return;
  old->state = ChildSaState::kRekeyed;
  old->replacedBy = newSpiIn;
  // RFC 7296 2.8: the new SA carries our traffic now; the old one still receives what the
  // peer sent before it switched, then goes.
  old->deleteAt = ctx_.clock().now() + (config_ ? config_->rekeyDeleteDelay : Duration{});
  armChildTimers(*old);
}

bool IkeSa::reportUsage(uint32_t spi, bool inbound, uint64_t bytes, uint64_t packets) {
  ChildSa* c = inbound ? findChildByInbound(spi) : findChildByOutbound(spi);
  if (c == nullptr) return false;
  if (inbound) {
    if (packets > c->packetsIn) lastActivity_ = ctx_.clock().now();  // DPD: the peer is alive
    c->bytesIn = bytes;
    c->packetsIn = packets;
  } else {
    c->bytesOut = bytes;
    c->packetsOut = packets;
  }
  checkUsage(*c);
  return true;
}

void IkeSa::checkUsage(ChildSa& c) {
  if (c.config == nullptr || dead()) return;
  const Lifetime& l = c.config->lifetime;
  const uint64_t bytes = std::max(c.bytesIn, c.bytesOut);
  const uint64_t packets = std::max(c.packetsIn, c.packetsOut);
  const std::string name = "Child SA '" + c.config->name + "' (SPI " + spiHex(c.spiIn) + ")";
  if (c.state != ChildSaState::kDeleting && ((l.lifeBytes > 0 && bytes >= l.lifeBytes) ||
                                             (l.lifePackets > 0 && packets >= l.lifePackets))) {
    ++ctx_.counterRef().childHardExpired;
    BRAID_LOG(kInfo, "ike") << peerName() << ": " << name << " reached its hard limit (" << bytes
                            << " bytes, " << packets << " packets), deleting";
    deleteChild(c.spiIn);
    return;
  }
  if (c.state != ChildSaState::kInstalled) return;
  // RFC 4303 2.2: rekey long before the sequence number could cycle, whatever is configured.
  const bool seq = c.packetsOut >= (c.suite.esn ? kSeqRekeyPacketsEsn : kSeqRekeyPackets32);
  const bool soft = (l.rekeyBytes > 0 && bytes >= l.rekeyBytes) ||
                    (l.rekeyPackets > 0 && packets >= l.rekeyPackets);
  if (!seq && !soft) return;
  ++(seq ? ctx_.counterRef().childSeqLimit : ctx_.counterRef().childSoftExpired);
  BRAID_LOG(kInfo, "ike") << peerName() << ": " << name << " reached "
                          << (seq ? "the ESP sequence-number limit" : "its soft limit") << " ("
                          << bytes << " bytes, " << packets << " packets)";
  rekeyChild(c.spiIn);
}

void IkeSa::armLifetime(ChildSa& c) {
  c.installedAt = ctx_.clock().now();
  if (c.config == nullptr) return;
  const Lifetime& l = c.config->lifetime;
  if (l.rekeyTime.count() > 0) {
    // strongSwan's rand_time: the soft limit comes up to randTime early, at random.
    Duration jitter{};
    if (l.randTime.count() > 0) {
      const uint64_t range = static_cast<uint64_t>(std::min(l.randTime, l.rekeyTime / 2).count());
      jitter = Duration(static_cast<Duration::rep>(ctx_.random().u64() % (range + 1)));
    }
    c.softAt = c.installedAt + l.rekeyTime - jitter;
  }
  if (l.lifeTime.count() > 0) c.hardAt = c.installedAt + l.lifeTime;
  armChildTimers(c);
}

void IkeSa::armChildTimers(ChildSa& c) {
  const uint32_t spi = c.spiIn;
  TimerScheduler& timers = ctx_.timers();
  c.softTimer.reset();
  c.hardTimer.reset();
  c.deleteTimer.reset();
  if (c.softAt != TimePoint{} && c.state == ChildSaState::kInstalled) {
    c.softTimer = std::make_unique<ScopedTimer>(timers);
    c.softTimer->arm(c.softAt, [this, spi] {
      ChildSa* x = findChildByInbound(spi);
      if (x == nullptr || x->state != ChildSaState::kInstalled) return;
      if (!x->retrying) ++ctx_.counterRef().childSoftExpired;
      rekeyChild(spi);
    });
  }
  if (c.hardAt != TimePoint{}) {
    c.hardTimer = std::make_unique<ScopedTimer>(timers);
    c.hardTimer->arm(c.hardAt, [this, spi] {
      ChildSa* x = findChildByInbound(spi);
      if (x == nullptr || x->state == ChildSaState::kDeleting) return;
      if (x->state == ChildSaState::kRekeyed) {
        // Already replaced, in its grace period: its end is the rekey's, not an expiry (a
        // short life_time can fall inside the grace; counting it looked like a failed rekey).
        deleteChild(spi);
        return;
      }
      ++ctx_.counterRef().childHardExpired;
      BRAID_LOG(kInfo, "ike") << peerName() << ": Child SA '" << (x->config ? x->config->name : "")
                              << "' (SPI " << spiHex(spi)
                              << ") reached its hard lifetime, deleting";
      deleteChild(spi);
    });
  }
  if (c.deleteAt != TimePoint{} && c.state == ChildSaState::kRekeyed) {
    c.deleteTimer = std::make_unique<ScopedTimer>(timers);
    c.deleteTimer->arm(c.deleteAt, [this, spi] { deleteChild(spi); });
  }
}

bool IkeSa::rekeyIke() {
  if (dead() || state_ != IkeSaState::kEstablished || ikeRekeying_) return false;
  ikeRekeying_ = true;
  ikeSoftTimer_.cancel();
  BRAID_LOG(kInfo, "ike") << peerName() << ": rekeying the IKE SA";
  tasks_.queue(makeIkeRekeyTask(*this));
  tasks_.initiate();
  return true;
}

void IkeSa::retryIkeRekey(bool temporary) {
  if (dead() || state_ != IkeSaState::kEstablished) return;
  const double r = static_cast<double>(ctx_.random().u32()) / 4294967296.0;
  const double secs = temporary ? 2.0 + 8.0 * r : 10.0 + 10.0 * r;
  ikeSoftTimer_.arm(ctx_.clock().now() +
                        std::chrono::duration_cast<Duration>(std::chrono::duration<double>(secs)),
                    [this] { rekeyIke(); });
}

void IkeSa::armIkeTimers() {
  if (config_ == nullptr) return;
  const Lifetime& l = config_->ikeLifetime;
  const TimePoint now = ctx_.clock().now();
  establishedAt_ = now;
  ikeRekeyAt_ = ikeExpireAt_ = TimePoint{};
  if (l.rekeyTime.count() > 0) {
    Duration jitter{};
    if (l.randTime.count() > 0) {
      const uint64_t range = static_cast<uint64_t>(std::min(l.randTime, l.rekeyTime / 2).count());
      jitter = Duration(static_cast<Duration::rep>(ctx_.random().u64() % (range + 1)));
    }
    ikeRekeyAt_ = now + l.rekeyTime - jitter;
    ikeSoftTimer_.arm(ikeRekeyAt_, [this] {
      ++ctx_.counterRef().ikeSoftExpired;
      rekeyIke();
    });
  }
  if (l.lifeTime.count() > 0) {
    ikeExpireAt_ = now + l.lifeTime;
    ikeHardTimer_.arm(ikeExpireAt_, [this] {
      ++ctx_.counterRef().ikeHardExpired;
      BRAID_LOG(kInfo, "ike") << peerName() << ": IKE SA reached its hard lifetime, deleting";
      deleteIkeSa();
    });
  }
  lastActivity_ = now;
  if (config_->dpdDelay.count() > 0) {
    dpdTimer_.arm(now + config_->dpdDelay, [this] { onDpdTimer(); });
  }
}

// RFC 7296 2.4: liveness check when nothing came from the peer for dpdDelay. A missing answer
// ends in the TaskManager's "peer not answering" (after the retransmissions), like any request.
void IkeSa::onDpdTimer() {
  if (dead() || state_ != IkeSaState::kEstablished || config_ == nullptr) return;
  const TimePoint now = ctx_.clock().now();
  const TimePoint due = lastActivity_ + config_->dpdDelay;
  if (now >= due && tasks_.idle() && tasks_.queued() == 0) {
    ++ctx_.counterRef().dpdChecks;
    sendLivenessCheck();
  }
  dpdTimer_.arm(std::max(due, now + config_->dpdDelay / 4), [this] { onDpdTimer(); });
}

void IkeSa::takeOver(IkeSa& old) {
  config_ = old.config_;
  local_ = old.local_;
  remote_ = old.remote_;
  natLocal_ = old.natLocal_;
  natRemote_ = old.natRemote_;
  forcedEncap_ = old.forcedEncap_;
  peerId = old.peerId;
  remoteAccess = old.remoteAccess;
  peerSignatureHashes = old.peerSignatureHashes;
  peerFragmentation = old.peerFragmentation;  // RFC 7383 2.3: a rekeyed IKE SA inherits it
  pmtuFragmentSize_ = old.pmtuFragmentSize_;  // and the path's fragment size (2.5.2)
  shim_ = old.shim_;
  mobike_ = old.mobike_;
  startedByUs_ = old.startedByUs_;
  authVerified_ = true;
  fromRekey_ = true;
  // RFC 7296 2.18: the Child SAs belong to the new IKE SA now; their timers follow.
  for (auto& c : old.children_) {
    children_.push_back(std::move(c));
    armChildTimers(*children_.back());
  }
  old.children_.clear();
  state_ = IkeSaState::kEstablished;
  // Exchanges queued on the old SA for these Child SAs are gone with it: start them again here.
  for (auto& c : children_) {
    if (c->state == ChildSaState::kRekeying) {
      c->state = ChildSaState::kInstalled;
      c->softAt = ctx_.clock().now();
      c->retrying = true;
      armChildTimers(*c);
    } else if (c->state == ChildSaState::kDeleting) {
      tasks_.queue(makeChildDeleteTask(*this, c->spiIn));
    }
  }
  up_ = true;
  ++ctx_.counterRef().ikeSaUp;
  BRAID_LOG(kInfo, "ike") << peerName() << ": IKE SA rekeyed ("
                          << (initiator_ ? "initiator" : "responder") << " of the new SA)";
  armIkeTimers();
  ctx_.ikeSaEstablished(*this);
  ctx_.listener().onIkeSaUp(eventBase());
  tasks_.initiate();
}

void IkeSa::retire() {
  state_ = IkeSaState::kDeleting;
  ikeRekeying_ = false;
  ikeSoftTimer_.cancel();
  ikeHardTimer_.cancel();
  dpdTimer_.cancel();
  // The rekey initiator deletes the old SA (RFC 7296 2.8); if its Delete never comes, go.
  retireTimer_.arm(ctx_.clock().now() + std::chrono::seconds(60), [this] { destroy(false); });
}

void IkeSa::deleteIkeSa() {
  if (dead()) return;
  if (state_ != IkeSaState::kEstablished) {
    destroy(false);  // nothing authenticated to tell the peer
    return;
  }
  state_ = IkeSaState::kDeleting;
  tasks_.queue(makeIkeDeleteTask(*this));
  tasks_.initiate();
}

void IkeSa::sendLivenessCheck() {
  if (dead() || state_ != IkeSaState::kEstablished) return;
  tasks_.queue(makeInformationalTask(*this));
  tasks_.initiate();
}

ChildSa* IkeSa::findChildByInbound(uint32_t spi) {
  for (auto& c : children_) {
    if (c->spiIn == spi) return c.get();
  }
  return nullptr;
}

ChildSa* IkeSa::findChildByOutbound(uint32_t spi) {
  for (auto& c : children_) {
    if (c->spiOut == spi) return c.get();
  }
  return nullptr;
}

void IkeSa::setNat(bool local, bool remote, bool forced) {
  natLocal_ = local;
  natRemote_ = remote;
  forcedEncap_ = forced;
}

void IkeSa::floatPorts() {
  if (!natDetected()) return;
  if (local_.port == kIkePort) local_.port = kNattPort;
  if (remote_.port == kIkePort) remote_.port = kNattPort;
}

void IkeSa::setEndpoints(const Endpoint& local, const Endpoint& remote) {
  if (local == local_ && remote == remote_) return;
  // RFC 7296 2.23: only the side that is not behind the NAT follows the peer's new address
  // (else a spoofed source could redirect us; the message was authenticated either way).
  // A side that is itself behind a NAT keeps sending to the address it configured.
  if (!natRemote_) return;
  bool remoteChanged = remote != remote_;
  local_ = local;
  remote_ = remote;
  if (remoteChanged && state_ == IkeSaState::kEstablished) {
    ++ctx_.counterRef().peerEndpointChanges;
    BRAID_LOG(kInfo, "ike") << peerName() << ": peer endpoint changed (NAT rebinding)";
    ctx_.listener().onPeerEndpointChanged(eventBase());
  }
}

Status IkeSa::installKeys(const Suite& s, Bytes sharedSecret) {
  suite = s;
  auto k = deriveInitialIkeSaKeys(s, sharedSecret, nonceI, nonceR, spiI_, spiR_);
  if (!k) return k.status();
  return installDerivedKeys(s, std::move(k.value()));
}

Status IkeSa::installDerivedKeys(const Suite& s, IkeSaKeys k) {
  suite = s;
  keys = std::move(k);
  auto c = createIkeCiphers(s, keys, initiator_);
  if (!c) return c.status();
  ciphers = std::move(c.value());
  if (ctx_.deterministicIvs()) {
    Random* rng = &ctx_.random();
    ciphers.outbound->setIvGenerator([rng](MutableBytes iv) { rng->fill(iv); });
  }
  if (KeySink* sink = ctx_.keySink()) {
    IkeKeyLog log;
    log.spiI = spiI_;
    log.spiR = spiR_;
    log.encr = transformName(
        Transform{TransformType::kEncr, static_cast<uint16_t>(s.encr), s.encrKeyBits});
    log.integ =
        s.integ == IntegId::kNone
            ? "none"
            : transformName(Transform{TransformType::kInteg, static_cast<uint16_t>(s.integ), 0});
    log.skEi = &keys.skEi;
    log.skEr = &keys.skEr;
    log.skAi = &keys.skAi;
    log.skAr = &keys.skAr;
    sink->ikeSaKeys(log);
  }
  return Status::ok();
}

IkeSaEvent IkeSa::eventBase() const {
  IkeSaEvent e;
  e.peer = config_ ? config_->name : "";
  e.spiI = spiI_;
  e.spiR = spiR_;
  e.local = local_;
  e.remote = remote_;
  e.remoteId = peerId;
  e.natDetected = natDetected();
  e.behindNat = natLocal_;
  e.shim = shim_;
  return e;
}

void IkeSa::established() {
  state_ = IkeSaState::kEstablished;
  up_ = true;
  ++ctx_.counterRef().ikeSaUp;
  armIkeTimers();
  BRAID_LOG(kInfo, "ike") << peerName() << ": IKE SA established ("
                          << (initiator_ ? "initiator" : "responder") << ", " << peerId.toString()
                          << (natDetected() ? ", NAT-T" : "") << ")";
  ctx_.ikeSaEstablished(*this);
  ctx_.listener().onIkeSaUp(eventBase());
}

void IkeSa::fail(FailureKind kind, bool byPeer, const std::string& reason) {
  IkeCounters& c = ctx_.counterRef();
  switch (kind) {
    case FailureKind::kAuthFailed:
      ++(byPeer ? c.authFailedByPeer : c.authFailed);
      break;
    case FailureKind::kNoProposal:
      ++(byPeer ? c.noProposalByPeer : c.noProposal);
      break;
    case FailureKind::kUnknownIdentity:
      ++c.unknownIdentity;
      break;
    case FailureKind::kTsUnacceptable:
      ++(byPeer ? c.tsUnacceptableByPeer : c.tsUnacceptable);
      break;
    case FailureKind::kInvalidKe:
      ++(byPeer ? c.invalidKeReceived : c.invalidKeSent);
      break;
    case FailureKind::kPeerNotAnswering:
      ++c.peerNotAnswering;
      break;
    case FailureKind::kInvalidSyntax:
      ++(byPeer ? c.invalidSyntaxReceived : c.invalidSyntaxSent);
      break;
    case FailureKind::kOther:
      break;
  }
  bool authenticated = peerAuthenticated();
  LogRateLimiter* limiter = authenticated ? nullptr : ctx_.unauthenticatedLog();
  if (limiter == nullptr) {
    BRAID_LOG(kWarn, "ike") << peerName() << ": " << reason;
  } else {
    BRAID_LOG_LIMITED(*limiter, ctx_.clock().now(), kWarn, "ike") << peerName() << ": " << reason;
  }
  FailureEvent e;
  e.peer = config_ ? config_->name : remote_.toString();
  e.remote = remote_;
  e.kind = kind;
  e.byPeer = byPeer;
  e.reason = reason;
  // A responder's SA before IKE_AUTH completes: anyone could have caused this.
  e.authenticated = authenticated;
  ctx_.listener().onFailure(e);
}

ChildSaEvent IkeSa::childEvent(const ChildSa& c) const {
  ChildSaEvent e;
  e.peer = config_ ? config_->name : "";
  e.child = c.config ? c.config->name : "";
  e.ikeSpiI = spiI_;
  e.ikeSpiR = spiR_;
  e.inbound.spi = c.spiIn;
  e.outbound.spi = c.spiOut;
  e.localTs = c.localTs;
  e.remoteTs = c.remoteTs;
  e.local = local_;
  e.remote = remote_;
  e.shim = shim_;
  return e;
}

void IkeSa::addChild(std::unique_ptr<ChildSa> child, const ipsec::EspSaConfig& in,
                     const ipsec::EspSaConfig& out, bool outboundActive, uint32_t replaces) {
  ChildSaEvent e = childEvent(*child);
  e.inbound = in;
  e.outbound = out;
  e.outboundActive = outboundActive;
  e.replacesSpi = replaces;
  if (!outboundActive) child->pendingOut = out;
  if (ChildSa* old = replaces != 0 ? findChildByInbound(replaces) : nullptr) {
    // Responder of a rekey (RFC 7296 2.8): the old SA stays until the peer deletes it.
    old->state = ChildSaState::kRekeyed;
    old->replacedBy = child->spiIn;
    if (old->softTimer) old->softTimer->cancel();
    ++ctx_.counterRef().childRekeysResponded;
  }
  ++ctx_.counterRef().childSaUp;
  BRAID_LOG(kInfo, "ike") << peerName() << ": Child SA '" << e.child << "' up, SPIs in "
                          << spiHex(in.spi) << " out " << spiHex(out.spi) << ", "
                          << selectorsToString(e.localTs)
                          << " === " << selectorsToString(e.remoteTs);
  if (KeySink* sink = ctx_.keySink()) {
    sink->childSaKeys(EspKeyLog{in.spi, remote_.address, local_.address, in.cipher, &in.keymat});
    sink->childSaKeys(EspKeyLog{out.spi, local_.address, remote_.address, out.cipher, &out.keymat});
  }
  ChildSa& c = *child;
  children_.push_back(std::move(child));
  armLifetime(c);
  ctx_.listener().onChildSaUp(e);
}

void IkeSa::activateOutbound(ChildSa& c) {
  if (!c.pendingOut) return;
  ChildSaEvent e = childEvent(c);
  e.outbound = std::move(*c.pendingOut);
  c.pendingOut.reset();
  BRAID_LOG(kDebug, "ike") << peerName() << ": Child SA '" << e.child << "' now sends with SPI "
                           << spiHex(e.outbound.spi);
  ctx_.listener().onChildSaOutbound(e);
}

void IkeSa::removeChild(uint32_t spiIn) {
  for (auto it = children_.begin(); it != children_.end(); ++it) {
    if ((*it)->spiIn != spiIn) continue;
    // Make-before-break: the replacement takes over sending before this one goes.
    if (uint32_t next = (*it)->replacedBy; next != 0 && !dead()) {
      if (ChildSa* n = findChildByInbound(next)) activateOutbound(*n);
    }
    // We lost a rekey collision (RFC 7296 2.8.1): now that we send with the winner's SA, our
    // redundant one goes (queued; the caller's exchange starts it).
    if (ChildSa* r =
            (*it)->redundant != 0 && !dead() ? findChildByInbound((*it)->redundant) : nullptr;
        r != nullptr && r->state != ChildSaState::kDeleting) {
      r->state = ChildSaState::kDeleting;
      tasks_.queue(makeChildDeleteTask(*this, r->spiIn));
    }
    ChildSaEvent e = childEvent(**it);
    children_.erase(it);
    ctx_.releaseChildSpi(spiIn);
    ++ctx_.counterRef().childSaDown;
    BRAID_LOG(kInfo, "ike") << peerName() << ": Child SA '" << e.child << "' down";
    ctx_.listener().onChildSaDown(e);
    return;
  }
}

void IkeSa::destroy(bool failed) {
  if (dead()) return;
  bool wasUp = up_;
  state_ = IkeSaState::kDead;
  ikeSoftTimer_.cancel();
  ikeHardTimer_.cancel();
  dpdTimer_.cancel();
  retireTimer_.cancel();
  // A peer's IKE SA rekey held here (RFC 7296 2.8.2) goes with this SA.
  if (heldBy_ != nullptr) heldBy_->heldRekey_ = nullptr;
  heldBy_ = nullptr;
  if (IkeSa* held = std::exchange(heldRekey_, nullptr)) {
    held->heldBy_ = nullptr;
    held->destroy(false);
  }
  tasks_.shutdown();
  while (!children_.empty()) removeChild(children_.back()->spiIn);
  if (wasUp) {
    ++ctx_.counterRef().ikeSaDown;
    BRAID_LOG(kInfo, "ike") << peerName() << ": IKE SA down";
    ctx_.listener().onIkeSaDown(eventBase());
  }
  ctx_.ikeSaEnded(*this, failed);
}

size_t IkeSa::fragmentLimit() const {
  if (!peerFragmentation || config_ == nullptr || !config_->fragmentation) return 0;
  // On the NAT-T port every IKE message carries the non-ESP marker (RFC 3948 2.2).
  bool marker = local_.port == kNattPort || remote_.port == kNattPort;
  return std::max<size_t>(ikeMessageLimit(fragmentSize(), remote_.address.isV6(), marker), 1);
}

size_t IkeSa::fragmentSize() const {
  size_t size = kDefaultFragmentSize;
  const size_t link = ctx_.linkMtu();
  if (config_ != nullptr && config_->fragmentSize != 0) {
    size = link != 0 ? std::min(config_->fragmentSize, link) : config_->fragmentSize;
  } else if (link != 0) {
    size = link;
  }
  if (pmtuFragmentSize_ != 0) size = std::min(size, pmtuFragmentSize_);
  return std::max(size, kMinFragmentSize);
}

bool IkeSa::reduceFragmentSize(size_t largestMessage) {
  if (fragmentLimit() == 0) return false;
  const bool marker = local_.port == kNattPort || remote_.port == kNattPort;
  const size_t next = nextFragmentSize(
      largestMessage + fragmentOverhead(remote_.address.isV6(), marker), remote_.address.isV6());
  if (next == 0) return false;
  pmtuFragmentSize_ = next;
  return true;
}

void IkeSa::send(Bytes datagram, const Endpoint& local, const Endpoint& remote) {
  ctx_.sender().sendDatagram(local, remote, datagram);
}

}  // namespace braid::ike
