#include "edge/ike_views.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <utility>

#include "edge/metrics_ike.hpp"
#include "metrics/registry.hpp"

namespace braid::edge {

namespace {

std::string_view failureWord(ike::FailureKind k) {
  switch (k) {
    case ike::FailureKind::kAuthFailed:
      return "auth_failed";
    case ike::FailureKind::kNoProposal:
      return "no_proposal";
    case ike::FailureKind::kUnknownIdentity:
      return "unknown_identity";
    case ike::FailureKind::kTsUnacceptable:
      return "ts_unacceptable";
    case ike::FailureKind::kInvalidKe:
      return "invalid_ke";
    case ike::FailureKind::kPeerNotAnswering:
      return "peer_not_answering";
    case ike::FailureKind::kInvalidSyntax:
      return "invalid_syntax";
    case ike::FailureKind::kOther:
      return "other";
  }
  return "other";
}

}  // namespace

IkeStats IkeViews::stats() const {
  IkeStats s;
  for (auto& u : state_.uplinks) {
    s.uplinks.push_back({u->config->name, u->manager->counters(), u->manager->halfOpenCount(),
                         u->manager->ikeSaCount()});
  }
  s.driver = state_.counters;
  s.espEndpointUpdates = state_.espEndpointUpdates;
  for (auto& p : state_.paths) {
    s.paths.push_back({p->name, p->state, p->inSpis.size(), p->failures});
  }
  return s;
}

std::string IkeViews::formatStats(const IkeStats& st) const {
  // Every number comes from the scrape's descriptor tables (edge/metrics_ike.hpp), each
  // field with its stats key: the core's counters and the gauges summed over the uplinks,
  // the driver's counters, and per path; only the words below are written here.
  metrics::Registry r;
  ike::IkeCounters sum;
  IkeUplinkStats gauges;
  for (const IkeUplinkStats& u : st.uplinks) {
    for (const metrics::Field<ike::IkeCounters>& f : ikeFields()) sum.*f.member += u.core.*f.member;
    gauges.halfOpen += u.halfOpen;
    gauges.ikeSas += u.ikeSas;
  }
  // The tables are fixed and path names follow the label rules (MetricsExporter::create
  // refuses others): a unit test registers them all.
  if (auto t = metrics::StructMetrics<ike::IkeCounters>::add(r, ikeFields())) t->update(r, sum);
  if (auto t = metrics::StructMetrics<IkeUplinkStats>::add(r, ikeUplinkFields())) {
    t->update(r, gauges);
  }
  if (auto t = metrics::StructMetrics<IkeStats>::add(r, ikeDriverFields())) t->update(r, st);
  for (const IkePathStats& p : st.paths) {
    auto t = metrics::StructMetrics<IkePathStats>::add(r, ikePathFields(), {{"path", p.name}});
    if (t) t->update(r, p);
  }
  std::ostringstream os;
  os << r.statsFile();
  if (state_.ra) state_.ra->formatStats(os);
  for (auto& p : state_.paths) {
    std::string base = "ike.path." + p->name + ".";
    os << base << "state " << p->state << '\n';
    os << base << "last_failure " << (p->lastFailure ? failureWord(*p->lastFailure) : "none")
       << '\n';
    // The newest Child SA's SPIs, where the path's ESP goes, the NAT its IKE SA detected.
    if (p->outSpi != 0 && p->inSpis.count(p->newestInSpi) != 0) {
      char spis[32];
      std::snprintf(spis, sizeof spis, "0x%08x", p->outSpi);
      os << base << "out_spi " << spis << '\n';
      std::snprintf(spis, sizeof spis, "0x%08x", p->newestInSpi);
      os << base << "in_spi " << spis << '\n';
    }
    if (p->espRemote) os << base << "remote " << p->espRemote->toString() << '\n';
    if (ike::IkeSa* sa = p->uplink->manager->findByPeer(p->peer->name);
        sa != nullptr && sa->state() == ike::IkeSaState::kEstablished) {
      const char* nat = sa->natLocal() && sa->natRemote() ? "both"
                        : sa->natLocal()                  ? "local"
                        : sa->natRemote()                 ? "remote"
                        : sa->natDetected()               ? "forced"
                                                          : "none";
      os << base << "nat " << nat << '\n';
    }
  }
  return os.str();
}

std::vector<ControlIkeSa> IkeViews::describeSas(std::string_view path) const {
  std::vector<ControlIkeSa> out;
  for (auto& p : state_.paths) {
    if (p->name != path) continue;
    const ike::IkeSa* sa = p->uplink->manager->findByPeer(p->peer->name);
    if (sa == nullptr) break;
    const TimePoint now = clock_.now();
    auto ago = [&](TimePoint t) { return std::chrono::duration<double>(now - t).count(); };
    auto in = [&](TimePoint t) {
      return t == TimePoint{} ? -1.0
                              : std::max(0.0, std::chrono::duration<double>(t - now).count());
    };
    ControlIkeSa x;
    x.state = std::string(ike::ikeSaStateName(sa->state()));
    x.initiator = sa->initiator();
    x.spiI = sa->spiI();
    x.spiR = sa->spiR();
    x.proposal = ike::formatProposal(ike::proposalOf(sa->suite));
    x.local = sa->local().toString();
    x.remote = sa->remote().toString();
    x.localId = sa->config() != nullptr ? sa->config()->localId.toString() : "";
    x.remoteId = sa->peerId.toString();
    x.establishedAgo = sa->establishedAt() == TimePoint{} ? 0 : ago(sa->establishedAt());
    x.rekeyIn = in(sa->ikeRekeyAt());
    x.expireIn = in(sa->ikeExpireAt());
    x.natLocal = sa->natLocal();
    x.natRemote = sa->natRemote();
    for (const auto& c : sa->children()) {
      ControlChildSa y;
      y.name = c->config != nullptr ? c->config->name : "";
      y.state = std::string(ike::childSaStateName(c->state));
      y.spiIn = c->spiIn;
      y.spiOut = c->spiOut;
      y.proposal = ike::formatProposal(ike::proposalOf(c->suite));
      y.installedAgo = ago(c->installedAt);
      y.rekeyIn = in(c->softAt);
      y.expireIn = in(c->hardAt);
      y.bytesIn = c->bytesIn;
      y.packetsIn = c->packetsIn;
      y.bytesOut = c->bytesOut;
      y.packetsOut = c->packetsOut;
      for (const auto& ts : c->localTs) y.localTs.push_back(ts.toString());
      for (const auto& ts : c->remoteTs) y.remoteTs.push_back(ts.toString());
      x.children.push_back(std::move(y));
    }
    out.push_back(std::move(x));
    break;
  }
  return out;
}

TimePoint IkeViews::lastPeerMessage(size_t path) const {
  const ike::IkeSa* sa = saOf(path);
  return sa != nullptr ? sa->lastMessage() : TimePoint{};
}

TimePoint IkeViews::lastPeerResponse(size_t path) const {
  const ike::IkeSa* sa = saOf(path);
  return sa != nullptr ? sa->lastResponse() : TimePoint{};
}

const ike::IkeSa* IkeViews::saOf(size_t path) const {
  for (auto& p : state_.paths) {
    if (p->index == path) return p->uplink->manager->findByPeer(p->peer->name);
  }
  return nullptr;
}

}  // namespace braid::edge
