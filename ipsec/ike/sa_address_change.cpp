// SaManager::localAddressChanged: an uplink renumbered (DHCP, LTE reattach). MOBIKE moves
// what it can (RFC 4555 3.5, task_mobike.cpp); any other IKE SA on the old address is dead
// weight (its peer still sends to an address we no longer have), so it is closed and
// initiated again from the new one. INITIAL_CONTACT in the new IKE_AUTH lets the peer drop
// the old SA at once (RFC 7296 3.10.1).
#include <set>
#include <string>

#include "core/log.hpp"
#include "ipsec/ike/sa_manager.hpp"

namespace braid::ike {

void SaManager::localAddressChanged(const IpAddress& from, const IpAddress& to) {
  if (from == to) return;
  for (auto& [name, r] : retries_) {
    if (r.local.address == from) r.local.address = to;
  }
  std::vector<uint64_t> affected;
  for (auto& [spi, sa] : sas_) {
    if (!sa->dead() && sa->local().address == from) affected.push_back(spi);
  }
  std::set<std::string> restart;
  for (uint64_t spi : affected) {
    IkeSa* sa = findBySpi(spi);  // null if an earlier one took it down with it
    if (sa == nullptr || sa->moveLocalAddress(to)) continue;
    const PeerConfig* pc = sa->config();
    // A half-open responder SA, or one to "any" address (road warriors): its peer comes back
    // by itself (or its half-open timeout removes it).
    if (pc == nullptr || pc->remoteAny || !(sa->startedByUs() || sa->wasUp())) continue;
    const char* why = sa->state() != IkeSaState::kEstablished ? "not established yet"
                      : !pc->mobike                           ? "mobike = false"
                      : !sa->mobike()                         ? "the peer did not offer MOBIKE"
                                                              : "we are not the original initiator";
    BRAID_LOG(kInfo, "ike") << sa->peerName() << ": local address " << from.toString() << " -> "
                            << to.toString() << ", cannot move (" << why
                            << "): re-establishing the IKE SA";
    ++counters_.addressChangeReinitiations;
    restart.insert(pc->name);
    sa->destroy(false);
  }
  for (const std::string& name : restart) {
    if (findByPeer(name) != nullptr) continue;  // another SA of this peer is there already
    Retry& r = retries_[name];
    r.delay = Duration{};
    if (r.timer) r.timer->cancel();
    (void)initiate(name, Endpoint{to, kIkePort});
  }
}

}  // namespace braid::ike
