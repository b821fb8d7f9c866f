#include "ipsec/ike/ike_sa.hpp"

#include <cstdio>
#include <sstream>

#include "core/log.hpp"
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
  tasks_.queue(makeChildDeleteTask(*this, spiIn));
  if (state_ == IkeSaState::kEstablished) tasks_.initiate();
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
  keys = std::move(k.value());
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

void IkeSa::addChild(std::unique_ptr<ChildSa> child, const ipsec::EspSaConfig& in,
                     const ipsec::EspSaConfig& out) {
  ChildSaEvent e;
  e.peer = config_ ? config_->name : "";
  e.child = child->config ? child->config->name : "";
  e.ikeSpiI = spiI_;
  e.ikeSpiR = spiR_;
  e.inbound = in;
  e.outbound = out;
  e.localTs = child->localTs;
  e.remoteTs = child->remoteTs;
  e.local = local_;
  e.remote = remote_;
  e.shim = shim_;
  ++ctx_.counterRef().childSaUp;
  BRAID_LOG(kInfo, "ike") << peerName() << ": Child SA '" << e.child << "' up, SPIs in "
                          << spiHex(in.spi) << " out " << spiHex(out.spi) << ", "
                          << selectorsToString(e.localTs)
                          << " === " << selectorsToString(e.remoteTs);
  if (KeySink* sink = ctx_.keySink()) {
    sink->childSaKeys(EspKeyLog{in.spi, remote_.address, local_.address, in.cipher, &in.keymat});
    sink->childSaKeys(EspKeyLog{out.spi, local_.address, remote_.address, out.cipher, &out.keymat});
  }
  children_.push_back(std::move(child));
  ctx_.listener().onChildSaUp(e);
}

void IkeSa::removeChild(uint32_t spiIn) {
  for (auto it = children_.begin(); it != children_.end(); ++it) {
    if ((*it)->spiIn != spiIn) continue;
    ChildSaEvent e;
    e.peer = config_ ? config_->name : "";
    e.child = (*it)->config ? (*it)->config->name : "";
    e.ikeSpiI = spiI_;
    e.ikeSpiR = spiR_;
    e.inbound.spi = (*it)->spiIn;
    e.outbound.spi = (*it)->spiOut;
    e.localTs = (*it)->localTs;
    e.remoteTs = (*it)->remoteTs;
    e.local = local_;
    e.remote = remote_;
    e.shim = shim_;
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
  tasks_.shutdown();
  while (!children_.empty()) removeChild(children_.back()->spiIn);
  if (wasUp) {
    ++ctx_.counterRef().ikeSaDown;
    BRAID_LOG(kInfo, "ike") << peerName() << ": IKE SA down";
    ctx_.listener().onIkeSaDown(eventBase());
  }
  ctx_.ikeSaEnded(*this, failed);
}

void IkeSa::send(Bytes datagram, const Endpoint& local, const Endpoint& remote) {
  ctx_.sender().sendDatagram(local, remote, datagram);
}

}  // namespace braid::ike
