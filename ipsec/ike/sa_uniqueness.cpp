// One IKE SA per peer (per SaManager, i.e. per uplink): INITIAL_CONTACT (RFC 7296 3.10.1)
// and IKE SAs both sides initiated at once.
//
// - We send INITIAL_CONTACT in IKE_AUTH when no other IKE SA to the peer is up (the first one
//   after a (re)start, or after the last one ended). When the peer's IKE_AUTH carries it, its
//   other IKE SAs with the same identity are stale: deleted (a Delete is sent in case the peer
//   still has them) and destroyed at once, with their Child SAs.
// - Both sides initiating at start-up can leave two IKE SAs, one started by each side (each
//   with its Child SA). After a 5 s grace (another implementation may settle it itself), the
//   one whose IKE_SA_INIT has the lowest nonce is dropped, as in the rekey collisions (2.8.1,
//   2.8.2); both sides compute the same choice. Its Child SAs move to the kept IKE SA with
//   their ESP SAs unchanged (no traffic key changes), and the side that started the dropped SA
//   deletes it (it knows it is up on both sides); the other side waits for that Delete (at
//   most 60 s).
#include <algorithm>

#include "core/log.hpp"
#include "ipsec/ike/sa_manager.hpp"
#include "ipsec/ike/tasks.hpp"

namespace braid::ike {
namespace {

Bytes lowestNonce(const IkeSa& sa) {
  Bytes i = sa.nonceI, r = sa.nonceR;
  return std::lexicographical_compare(i.begin(), i.end(), r.begin(), r.end()) ? i : r;
}

// Both sides wait this long after two IKE SAs to one peer came up before dropping one.
constexpr Duration kDuplicateGrace = std::chrono::seconds(5);

bool samePeer(const IkeSa& x, const IkeSa& sa) {
  return &x != &sa && !x.dead() && x.state() == IkeSaState::kEstablished &&
         x.config() == sa.config() && x.peerId == sa.peerId;
}

// Two Child SA pairs of one config under the kept IKE SA: each side may be sending with
// either, and an outbound SA that has sent can never be installed again (its sequence
// numbers, and so its GCM nonces, would repeat). So the moved one is rekeyed (both sides then
// send with the new SA: we at the response, the peer when the moved one is deleted) and once
// it is gone the kept one, on which nobody sends any more, is deleted too (as after a lost
// rekey collision, child_rekey_collision.cpp). Only the side that deletes the dropped IKE SA
// does this.
void collapseChildPairs(IkeSa& keep, const std::vector<uint32_t>& moved) {
  for (uint32_t spi : moved) {
    ChildSa* c = keep.findChildByInbound(spi);
    if (c == nullptr || c->config == nullptr || c->state != ChildSaState::kInstalled) continue;
    for (const auto& sibling : keep.children()) {
      if (sibling.get() == c || sibling->config != c->config ||
          sibling->state != ChildSaState::kInstalled ||
          std::find(moved.begin(), moved.end(), sibling->spiIn) != moved.end()) {
        continue;
      }
      if (keep.rekeyChild(spi)) c->redundant = sibling->spiIn;
      break;
    }
  }
}

}  // namespace

void IkeSa::adoptChildren(IkeSa& other) {
  for (auto& c : other.children_) {
    children_.push_back(std::move(c));
    ChildSa& child = *children_.back();
    if (child.state == ChildSaState::kRekeying) {
      // Its exchange was queued on the other SA: try again here.
      child.state = ChildSaState::kInstalled;
      child.softAt = ctx_.clock().now();
      child.retrying = true;
    } else if (child.state == ChildSaState::kDeleting) {
      tasks_.queue(makeChildDeleteTask(*this, child.spiIn));
    }
    armChildTimers(child);
  }
  other.children_.clear();
  tasks_.initiate();
}

bool SaManager::otherIkeSaUp(const IkeSa& sa) {
  return std::any_of(sas_.begin(), sas_.end(), [&](const auto& kv) {
    const IkeSa& x = *kv.second;
    return &x != &sa && !x.dead() && x.state() == IkeSaState::kEstablished &&
           x.config() == sa.config();
  });
}

void SaManager::settleDuplicates(IkeSa& sa) {
  if (sa.config() == nullptr) return;
  std::vector<IkeSa*> others;
  for (auto& [spi, x] : sas_) {
    if (samePeer(*x, sa)) others.push_back(x.get());
  }
  if (others.empty()) return;
  if (sa.peerInitialContact) {
    for (IkeSa* x : others) {
      ++counters_.initialContactFlushed;
      BRAID_LOG(kInfo, "ike") << x->peerName()
                              << ": INITIAL_CONTACT in the peer's new IKE SA: deleting the old "
                                 "one and its Child SAs (the peer restarted)";
      x->deleteIkeSa();  // sent now if nothing else is in flight: the peer may still have it
      x->destroy(false);
    }
    return;
  }
  const bool race = std::any_of(others.begin(), others.end(), [&](const IkeSa* x) {
    return x->startedByUs() != sa.startedByUs();  // not an operator's second initiate
  });
  if (!race) return;
  // A grace period first: another implementation may settle it on its own (strongSwan's
  // uniqueids deletes the older IKE SA when the newer comes up), and two rules acting at once
  // could delete both. Both braid sides wait alike and then choose alike.
  if (!duplicateTimer_) duplicateTimer_ = std::make_unique<ScopedTimer>(timers_);
  if (!duplicateTimer_->armed()) {
    duplicateTimer_->arm(clock_.now() + kDuplicateGrace, [this] {
      resolveDuplicates();
      reap();
    });
  }
}

void SaManager::resolveDuplicates() {
  std::vector<IkeSa*> up;
  for (auto& [spi, x] : sas_) {
    if (!x->dead() && x->state() == IkeSaState::kEstablished && x->config() != nullptr) {
      up.push_back(x.get());
    }
  }
  for (IkeSa* sa : up) {
    for (IkeSa* x : up) {
      if (sa->dead() || x->dead() || sa->startedByUs() || !x->startedByUs() || !samePeer(*x, *sa)) {
        continue;
      }
      // `sa` started by the peer, `x` by us: the one whose IKE_SA_INIT has the lowest nonce
      // goes.
      const Bytes ls = lowestNonce(*sa), lx = lowestNonce(*x);
      const bool saDropped =
          std::lexicographical_compare(ls.begin(), ls.end(), lx.begin(), lx.end());
      IkeSa& keep = saDropped ? *x : *sa;
      IkeSa& drop = saDropped ? *sa : *x;
      ++counters_.duplicateIkeSas;
      BRAID_LOG(kInfo, "ike") << drop.peerName()
                              << ": both sides started an IKE SA; keeping the one "
                              << (keep.startedByUs() ? "we" : "the peer")
                              << " started (the other's IKE_SA_INIT has the lowest nonce), its "
                                 "Child SAs move over";
      std::vector<uint32_t> moved;
      for (const auto& c : drop.children()) moved.push_back(c->spiIn);
      keep.adoptChildren(drop);
      if (drop.startedByUs()) {
        drop.deleteIkeSa();
        collapseChildPairs(keep, moved);
      } else {
        drop.retire();  // the peer deletes it
      }
    }
  }
}

}  // namespace braid::ike
