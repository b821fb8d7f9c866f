#include "edge/child_sa_installer.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>

#include "core/log.hpp"
#include "edge/ts_match.hpp"

namespace braid::edge {

void ChildSaInstaller::childSaUp(IkeUplink& u, const ike::ChildSaEvent& e) {
  if (state_.ra && state_.ra->owns(e.peer)) {
    if (!state_.ra->childSaUp(
            u.index, e, [this](const ike::Endpoint& r) { return espEndpoint(ports_, r); },
            [this](size_t path, bool on) {
              if (keying_) keying_(path, on, false, true);
            })) {
      ++state_.counters.installErrors;
    }
    publishRoutes();
    return;
  }
  IkePath* p = u.path(e.peer);
  if (p == nullptr) return;
  auto fail = [&](const std::string& why) {
    ++state_.counters.installErrors;
    BRAID_LOG(kError, "ike") << "path " << p->name << ": Child SA not installed: " << why;
  };
  if (!dataPlaneSupports(e.inbound) || !dataPlaneSupports(e.outbound)) {
    return fail("cipher not supported by the data plane");
  }
  auto out = ipsec::EspOutboundSa::create(e.outbound);
  if (!out) return fail(out.status().message());
  auto in = ipsec::EspInboundSa::create(e.inbound);
  if (!in) return fail(in.status().message());
  auto remoteNets = selectorPrefixes(e.remoteTs);
  auto localNets = selectorPrefixes(e.localTs);
  if (remoteNets.empty() || localNets.empty()) return fail("selectors are not address prefixes");
  p->espRemote = espEndpoint(ports_, e.remote);
  dp_.setPathRemote(p->index, *p->espRemote);
  // RFC 4301 5.1/5.2: selectors with protocol or ports are enforced both ways (ts_match.hpp).
  auto ports = SelectorMatcher::from(e.remoteTs, e.localTs);
  dp_.installInbound(p->index, std::move(*in), remoteNets, localNets, ports);
  p->inSpis.insert(e.inbound.spi);
  if (!e.outboundActive) {
    // The peer rekeys (make-before-break, RFC 7296 2.8): receive on the new SA now, keep
    // sending on the current one until childSaOutbound.
    char spi[12];
    std::snprintf(spi, sizeof spi, "0x%08x", e.inbound.spi);
    BRAID_LOG(kInfo, "ike") << "path " << p->name << ": inbound ESP SA " << spi
                            << " installed (peer's rekey)";
    return;
  }
  dp_.installOutbound(p->index, std::move(*out), ports);
  p->outSpi = e.outbound.spi;
  p->newestInSpi = e.inbound.spi;
  p->remoteNets = remoteNets;
  publishRoutes();
  if (keying_) {
    const ike::IkeSa* sa = u.manager->findByPeer(e.peer);
    keying_(p->index, true, e.shim, sa != nullptr && !sa->initiator());
  }
  p->childRetryDelay = Duration{};
  p->childRetryTimer->cancel();
  char spis[40];
  std::snprintf(spis, sizeof spis, "out 0x%08x in 0x%08x", e.outbound.spi, e.inbound.spi);
  BRAID_LOG(kInfo, "ike") << "path " << p->name << ": ESP SAs installed (" << spis << ", "
                          << ipsec::espCipherName(e.outbound.cipher) << "), sending to "
                          << p->espRemote->toString();
}

void ChildSaInstaller::childSaDown(IkeUplink& u, const ike::ChildSaEvent& e) {
  if (state_.ra && state_.ra->owns(e.peer)) {
    state_.ra->childSaDown(e, [this](size_t path, bool on) {
      if (keying_) keying_(path, on, false, true);
    });
    publishRoutes();
    return;
  }
  IkePath* p = u.path(e.peer);
  if (p == nullptr) return;
  dp_.removeInbound(e.inbound.spi);
  p->inSpis.erase(e.inbound.spi);
  // A rekey installed the new outbound SA first; only remove the one this event names.
  if (p->outSpi == e.outbound.spi) {
    dp_.removeOutbound(p->index);
    p->outSpi = 0;
    p->remoteNets.clear();
    publishRoutes();
    if (keying_) keying_(p->index, false, false, false);
  }
}

void ChildSaInstaller::childSaOutbound(IkeUplink& u, const ike::ChildSaEvent& e) {
  if (state_.ra && state_.ra->owns(e.peer)) return state_.ra->childSaOutbound(e);
  IkePath* p = u.path(e.peer);
  if (p == nullptr) return;
  auto out = ipsec::EspOutboundSa::create(e.outbound);
  if (!out) {
    ++state_.counters.installErrors;
    BRAID_LOG(kError, "ike") << "path " << p->name
                             << ": rekeyed outbound SA not installed: " << out.status().message();
    return;
  }
  dp_.installOutbound(p->index, std::move(*out), SelectorMatcher::from(e.remoteTs, e.localTs));
  p->outSpi = e.outbound.spi;
  p->newestInSpi = e.inbound.spi;
  p->remoteNets = selectorPrefixes(e.remoteTs);
  publishRoutes();
  if (keying_) {
    const ike::IkeSa* sa = u.manager->findByPeer(e.peer);
    keying_(p->index, true, e.shim, sa != nullptr && !sa->initiator());
  }
  char spis[40];
  std::snprintf(spis, sizeof spis, "out 0x%08x in 0x%08x", e.outbound.spi, e.inbound.spi);
  BRAID_LOG(kInfo, "ike") << "path " << p->name << ": sending on the rekeyed ESP SA (" << spis
                          << ")";
}

void ChildSaInstaller::publishRoutes() {
  std::vector<PeerSpec> specs;
  size_t pathIndex = 0;
  for (const PeerConfig& peer : cfg_.peers) {
    PeerSpec spec{peer.name, {}, {}};
    bool manual = false;
    for (const PathConfig& pc : peer.paths) {
      spec.paths.push_back(pathIndex++);
      manual = manual || pc.manual.has_value();
    }
    for (auto& p : state_.paths) {
      if (p->peer != &peer) continue;
      for (auto& n : p->remoteNets) {
        if (std::find(spec.remoteSubnets.begin(), spec.remoteSubnets.end(), n) ==
            spec.remoteSubnets.end()) {
          spec.remoteSubnets.push_back(n);
        }
      }
    }
    if (manual || spec.remoteSubnets.empty()) spec.remoteSubnets = peer.remoteSubnets;
    specs.push_back(std::move(spec));
  }
  if (state_.ra) state_.ra->appendRoutes(specs);
  dp_.setRoutes(std::move(specs));
}

void ChildSaInstaller::endpointChanged(IkeUplink& u, const ike::IkeSaEvent& e) {
  IkePath* p = u.path(e.peer);
  if (p == nullptr) return;
  p->espRemote = espEndpoint(ports_, e.remote);
  dp_.setPathRemote(p->index, *p->espRemote);
  BRAID_LOG(kInfo, "ike") << "path " << p->name << ": ESP now sent to " << p->espRemote->toString();
}

}  // namespace braid::edge
