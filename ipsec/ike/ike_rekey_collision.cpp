// Simultaneous IKE SA rekey (RFC 7296 2.8.2, 2.25): both sides send CREATE_CHILD_SA with an
// IKE SA proposal. The peer's request is answered as usual, but its new IKE SA is held (keys
// installed, no Child SAs, state DELETING so that only INFORMATIONAL reaches it) until our
// own rekey completes. Then the exchange with the lowest of the four nonces loses:
// - we win: our new SA takes the Child SAs, we delete the old SA; the held SA waits for the
//   peer's Delete (the peer deletes its redundant SA);
// - we lose: the held SA takes the Child SAs and the old SA waits for the peer's Delete; we
//   delete our own new SA, which never came up.
// If our rekey fails (e.g. the peer answered TEMPORARY_FAILURE because its rekey completed
// first), the held SA simply takes over.
#include <algorithm>

#include "core/log.hpp"
#include "ipsec/ike/ike_sa.hpp"
#include "ipsec/ike/tasks.hpp"

namespace braid::ike {
namespace {

bool lowerNonce(Bytes a, Bytes b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}
Bytes lowest(Bytes a, Bytes b) {
  return lowerNonce(a, b) ? a : b;
}

}  // namespace

bool IkeSa::ikeRekeyCollisionPossible() const {
  // Our IKE SA rekey request is the exchange in flight, and no peer rekey is held yet.
  const Task* active = tasks_.active();
  return state_ == IkeSaState::kEstablished && ikeRekeying_ && heldRekey_ == nullptr &&
         active != nullptr && active->kind() == TaskKind::kIkeRekey;
}

void IkeSa::holdPeerIkeRekey(IkeSa& next, Bytes ni, Bytes nr) {
  Bytes low = lowest(ni, nr);
  heldNonce_.assign(low.begin(), low.end());
  heldRekey_ = &next;
  next.heldBy_ = this;
  next.state_ = IkeSaState::kDeleting;
  BRAID_LOG(kInfo, "ike") << peerName()
                          << ": peer rekeys the IKE SA while we do (RFC 7296 2.8.2); holding "
                             "its new SA until ours completes";
}

bool IkeSa::resolveIkeRekey(IkeSa* next, Bytes ni, Bytes nr) {
  IkeSa* held = std::exchange(heldRekey_, nullptr);
  if (held == nullptr) return false;
  held->heldBy_ = nullptr;
  ++ctx_.counterRef().ikeRekeyCollisions;
  const bool weLose = next == nullptr || lowerNonce(lowest(ni, nr), heldNonce_);
  if (next != nullptr) {
    BRAID_LOG(kInfo, "ike") << peerName() << ": IKE SA rekeyed by both sides; "
                            << (weLose ? "the peer's" : "our")
                            << " rekey wins (RFC 7296 2.8.2, lowest nonce loses)";
  }
  if (!weLose) {
    // The usual end of our rekey; the held SA is the peer's to delete.
    ++ctx_.counterRef().ikeRekeysInitiated;
    next->takeOver(*this);
    retire();
    tasks_.queue(makeIkeDeleteTask(*this));
    held->retire();
    return true;
  }
  if (next != nullptr) ++ctx_.counterRef().ikeRekeyCollisionsLost;
  ++ctx_.counterRef().ikeRekeysResponded;
  held->takeOver(*this);
  retire();  // the peer deletes it
  if (next != nullptr) {
    // Ours is redundant: never up (no events), deleted by us as its initiator.
    next->state_ = IkeSaState::kEstablished;
    next->deleteIkeSa();
  }
  return true;
}

}  // namespace braid::ike
