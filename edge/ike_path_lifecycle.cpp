#include "edge/ike_path_lifecycle.hpp"

#include <algorithm>

#include "core/log.hpp"

namespace braid::edge {

void IkePathLifecycle::initiate(IkePath& p) {
  p.state = "connecting";
  ike::Endpoint local{p.uplink->address, ike::kIkePort};
  if (Status s = p.uplink->manager->initiate(p.peer->name, local); !s) {
    BRAID_LOG(kError, "ike") << "path " << p.name << ": cannot initiate: " << s.message();
  }
}

void IkePathLifecycle::ikeSaUp(IkeUplink& u, const ike::IkeSaEvent& e) {
  IkePath* p = u.path(e.peer);
  if (p == nullptr) return;
  p->state = "established";
  p->failedSinceUp = false;
  p->dpdHeld = false;
  p->reinitiateTimer->cancel();
  p->espRemote = espEndpoint(ports_, e.remote);
  p->keepalive = e.natDetected && (e.behindNat || p->peer->ike->forceEncap);
  sockets_.armKeepalive(*p);
}

void IkePathLifecycle::ikeSaDown(IkeUplink& u, const ike::IkeSaEvent& e) {
  IkePath* p = u.path(e.peer);
  if (p == nullptr || state_.down) return;
  // Another IKE SA of this path may still be up (both sides initiated); the ending one is
  // already dead, so findByPeer() does not return it.
  ike::IkeSa* other = u.manager->findByPeer(e.peer);
  if (other != nullptr && other->state() == ike::IkeSaState::kEstablished) return;
  p->keepaliveTimer->cancel();
  p->childRetryTimer->cancel();
  p->state = p->failedSinceUp ? "failed" : (p->peer->ike->initiate ? "connecting" : "idle");
  if (!p->failedSinceUp && !p->dpdHeld && p->peer->ike->initiate &&
      p->peer->ike->retryInitial.count() > 0) {
    // A clean end (the peer deleted it, or it restarted): the core retries only failures,
    // but braid's tunnels are always on, so start again after retry_initial.
    IkePath* path = p;
    p->reinitiateTimer->arm(clock_.now() + p->peer->ike->retryInitial, [this, path] {
      ike::IkeSa* sa = path->uplink->manager->findByPeer(path->peer->name);
      if (sa == nullptr && !state_.down) {
        BRAID_LOG(kInfo, "ike") << "path " << path->name
                                << ": re-initiating after the IKE SA ended";
        initiate(*path);
      }
    });
  }
}

void IkePathLifecycle::failure(IkeUplink& u, const ike::FailureEvent& e) {
  IkePath* p = u.path(e.peer);
  if (p == nullptr) return;  // no config matched: the core logged and counted it
  ++p->failures;
  p->lastFailure = e.kind;  // diagnostics only, below
  if (e.kind == ike::FailureKind::kPeerNotAnswering && p->peer->ike->dpdDelay.count() > 0 &&
      p->peer->ike->dpdAction != ike::DpdAction::kRestart) {
    p->dpdHeld = true;  // RFC 7296 2.4 peer dead; the core does not restart either
  }
  // Anyone can make a responder fail before IKE_AUTH; that says nothing about the path.
  if (!e.authenticated) return;
  ike::IkeSa* sa = u.manager->findByPeer(e.peer);
  if (sa != nullptr && sa->state() == ike::IkeSaState::kEstablished) {
    // The Child SA was refused; the IKE SA stays (RFC 7296 2.21.2). The initiator asks again.
    if (!sa->initiator() || !sa->children().empty() || state_.down) return;
    const PeerIkeConfig& k = *p->peer->ike;
    if (k.retryInitial.count() == 0) return;
    p->childRetryDelay = p->childRetryDelay.count() == 0
                             ? k.retryInitial
                             : std::min(p->childRetryDelay * 2, k.retryMax);
    BRAID_LOG(kInfo, "ike") << "path " << p->name << ": retrying the Child SA in "
                            << toMillis(p->childRetryDelay) / 1000 << " s";
    IkePath* path = p;
    p->childRetryTimer->arm(clock_.now() + p->childRetryDelay, [this, path] {
      ++state_.counters.childRetries;
      (void)path->uplink->manager->createChild(path->peer->name, path->peer->name);
    });
    return;
  }
  p->failedSinceUp = true;
  p->state = "failed";
}

}  // namespace braid::edge
