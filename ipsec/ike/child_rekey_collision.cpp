// Simultaneous Child SA rekey (RFC 7296 2.8.1, 2.25): both sides send CREATE_CHILD_SA with
// N(REKEY_SA) for the same Child SA. Both exchanges complete as usual; the one with the lowest
// of the four nonces made the redundant SA, and its initiator deletes it. The winner's
// initiator deletes the old SA as after any rekey.
//
// Make-before-break on the loser: it deletes its redundant SA only once the old SA has gone
// (the winner's Delete for it), i.e. after it has switched its outbound traffic to the
// winner's SA, which the peer receives on since the winner's exchange completed there. Until
// then both new SAs receive on both sides, so no key gap exists whatever the order of the
// four messages.
#include <algorithm>
#include <cstdio>

#include "core/log.hpp"
#include "ipsec/ike/ike_sa.hpp"
#include "ipsec/ike/tasks.hpp"

namespace braid::ike {
namespace {

// The loser waits for the winner's Delete of the old SA; if that never comes, it deletes
// the old SA itself after this much longer than the winner would have waited.
constexpr Duration kLoserDeleteSlack = std::chrono::seconds(30);

// RFC 7296 2.8.1: nonces compared as unsigned byte strings (a shorter prefix is lower).
bool lowerNonce(Bytes a, Bytes b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

std::string hex8(uint32_t spi) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", spi);
  return buf;
}

}  // namespace

bool IkeSa::rekeyCollisionPossible(const ChildSa& c) {
  // Our rekey request is queued or in flight, or it completed but the peer's crossed it (its
  // request was sent before ours arrived there; reordered behind our response).
  return c.state == ChildSaState::kRekeying ||
         (c.state == ChildSaState::kRekeyed && c.ourRekeySpi != 0 && c.peerRekeySpi == 0);
}

void IkeSa::noteChildRekey(uint32_t oldSpiIn, bool ours, uint32_t newSpiIn, Bytes ni, Bytes nr) {
  ChildSa* old = findChildByInbound(oldSpiIn);
  if (old == nullptr || newSpiIn == 0) return;
  Bytes lowest = lowerNonce(ni, nr) ? ni : nr;
  (ours ? old->ourRekeySpi : old->peerRekeySpi) = newSpiIn;
  (ours ? old->ourRekeyNonce : old->peerRekeyNonce).assign(lowest.begin(), lowest.end());
  if (old->ourRekeySpi == 0 || old->peerRekeySpi == 0) return;

  ++ctx_.counterRef().childRekeyCollisions;
  const bool weLose = lowerNonce(old->ourRekeyNonce, old->peerRekeyNonce);
  const std::string name = old->config ? old->config->name : "";
  BRAID_LOG(kInfo, "ike") << peerName() << ": Child SA '" << name << "' (SPI " << hex8(oldSpiIn)
                          << ") rekeyed by both sides; " << (weLose ? "the peer's" : "our")
                          << " rekey wins (RFC 7296 2.8.1, lowest nonce loses)";
  if (!weLose) {
    // Ours replaces the old SA (its Delete is armed by childRekeyed); the peer deletes its
    // redundant SA, which never sends here.
    old->replacedBy = old->ourRekeySpi;
    if (ChildSa* theirs = findChildByInbound(old->peerRekeySpi)) {
      theirs->state = ChildSaState::kRekeyed;  // not rekeyed by us: it is the peer's to delete
      theirs->replacedBy = old->ourRekeySpi;
      theirs->softAt = TimePoint{};
      armChildTimers(*theirs);
    }
    return;
  }
  ++ctx_.counterRef().childRekeyCollisionsLost;
  old->replacedBy = old->peerRekeySpi;
  old->redundant = old->ourRekeySpi;
  old->deleteAt =
      ctx_.clock().now() + (config_ ? config_->rekeyDeleteDelay : Duration{}) + kLoserDeleteSlack;
  armChildTimers(*old);
  if (ChildSa* mine = findChildByInbound(old->ourRekeySpi)) {
    // Never rekeyed nor expired on its own: it goes with the old SA.
    mine->state = ChildSaState::kRekeyed;
    mine->replacedBy = old->peerRekeySpi;
    mine->softAt = TimePoint{};
    armChildTimers(*mine);
  }
}

}  // namespace braid::ike
