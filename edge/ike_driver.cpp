// IkeDriver owns the IKE state and wires its parts: IkeSockets (datagrams), IkePathLifecycle
// (IKE SA up/down, retries), ChildSaInstaller (ESP SAs and routes in the data plane),
// IkeMobility (address changes), IkeViews (stats, braidctl). Here: open, start, shutdown,
// the SaManagers' events to the parts, usage polling and liveness checks.
#include "edge/ike_driver.hpp"

#include <boost/asio/post.hpp>
#include <string_view>
#include <utility>

#include "core/log.hpp"
#include "edge/child_sa_installer.hpp"
#include "edge/ike_mobility.hpp"
#include "edge/ike_path_lifecycle.hpp"
#include "edge/ike_sockets.hpp"
#include "edge/ike_state.hpp"
#include "edge/ike_support.hpp"
#include "edge/ike_views.hpp"
#include "edge/remote_access.hpp"
#include "ipsec/ike/sa_manager.hpp"

namespace braid::edge {

namespace asio = boost::asio;

struct IkeDriver::Impl final : IkeUplinkEvents {
  Impl(asio::io_context& io, const Config& cfg, DataPlane& dp, std::vector<int> fds)
      : io(io),
        cfg(cfg),
        dp(dp),
        fds(std::move(fds)),
        timers(io),
        ports{cfg.ike.port, cfg.ike.nattPort} {}

  asio::io_context& io;
  const Config& cfg;
  DataPlane& dp;
  std::vector<int> fds;
  SteadyClock clock;
  AsioTimers timers;
  IkePortMap ports;
  std::unique_ptr<KeyLogFile> keylog;
  // One inbound ESP SPI space for every uplink's SaManager and the manual SPIs: inbound ESP
  // is demultiplexed by SPI whatever socket it arrived on.
  std::shared_ptr<ike::SpiRegistry> spis = std::make_shared<ike::SpiRegistry>();
  // The sockets send for the SaManagers in `state`: they are destroyed after them.
  IkeSockets sockets{io, cfg, ports, clock, state};
  IkeState state;
  ChildSaInstaller installer{cfg, dp, ports, state};
  IkeViews views{state, clock};
  IkePathLifecycle lifecycle{clock, ports, sockets, state};
  IkeMobility mobility{ports, sockets, state};

  Status open();
  void start();
  void shutdown();

  // Every second: the data plane's per-SA counters to the core (Child SA byte/packet
  // lifetimes, ESP sequence limit); read from snapshot(), nothing added to the data path.
  void pollUsage();
  std::unique_ptr<ScopedTimer> usageTimer;

  void ikeSaUp(IkeUplink& u, const ike::IkeSaEvent& e) override { lifecycle.ikeSaUp(u, e); }
  void ikeSaDown(IkeUplink& u, const ike::IkeSaEvent& e) override { lifecycle.ikeSaDown(u, e); }
  void failure(IkeUplink& u, const ike::FailureEvent& e) override { lifecycle.failure(u, e); }
  void childSaUp(IkeUplink& u, const ike::ChildSaEvent& e) override { installer.childSaUp(u, e); }
  void childSaDown(IkeUplink& u, const ike::ChildSaEvent& e) override {
    installer.childSaDown(u, e);
  }
  void childSaOutbound(IkeUplink& u, const ike::ChildSaEvent& e) override {
    installer.childSaOutbound(u, e);
  }
  void endpointChanged(IkeUplink& u, const ike::IkeSaEvent& e) override {
    installer.endpointChanged(u, e);
  }
};

Status IkeDriver::Impl::open() {
  if (!cfg.ike.keylog.empty()) {
    auto k = KeyLogFile::open(cfg.ike.keylog);
    if (!k) return k.status();
    keylog = std::move(*k);
    BRAID_LOG(kWarn, "ike") << "key log enabled: every IKE and ESP key goes to " << cfg.ike.keylog
                            << " (labs only)";
  }
  for (const PeerConfig& peer : cfg.peers) {
    for (const PathConfig& pc : peer.paths) {
      if (pc.manual && !spis->reserve(pc.manual->inbound.spi)) {
        BRAID_LOG(kWarn, "ike") << "peer " << peer.name << " uplink " << pc.uplink
                                << ": manual inbound SPI " << pc.manual->inbound.spi
                                << " is used by another manual path too";
      }
    }
  }
  std::vector<IkeUplink*> byIndex(cfg.uplinks.size(), nullptr);
  size_t pathIndex = 0;
  // The IKE socket and SA manager of an uplink, made on first use (site paths, then the
  // [[remote_access]] sections).
  auto uplinkAt = [&](size_t uplinkIndex) -> Status {
    IkeUplink*& u = byIndex[uplinkIndex];
    if (u != nullptr) return Status::ok();
    auto owned = std::make_unique<IkeUplink>();
    u = owned.get();
    u->events = this;
    u->index = uplinkIndex;
    u->config = &cfg.uplinks[uplinkIndex];
    u->nattFd = fds.at(uplinkIndex);
    ike::DatagramSender& sender = sockets.add(*u);
    ike::SaManagerOptions opts;
    opts.keySink = keylog.get();
    opts.spis = spis;
    const IkeGlobalConfig& g = cfg.ike;
    if (g.cookieThreshold) opts.limits.cookieThreshold = *g.cookieThreshold;
    if (g.halfOpenMax) opts.limits.halfOpenMax = *g.halfOpenMax;
    if (g.halfOpenMaxPerSource) opts.limits.halfOpenMaxPerSource = *g.halfOpenMaxPerSource;
    if (g.halfOpenTimeoutSeconds) {
      opts.limits.halfOpenTimeout = std::chrono::seconds(*g.halfOpenTimeoutSeconds);
    }
    if (g.initRatePerSource) {
      opts.limits.initRatePerSource = *g.initRatePerSource;
      opts.limits.initBurstPerSource = 2.0 * *g.initRatePerSource;
    }
    u->manager = std::make_unique<ike::SaManager>(clock, timers, sender, *u, std::move(opts));
    // RFC 7383 2.5.2: IKE fragments are cut for the uplink's MTU unless fragment_size says.
    const uint32_t linkMtu = interfaceMtu(u->config->localAddress);
    u->manager->setLinkMtu(linkMtu);
    u->address = u->config->localAddress;
    if (Status s = sockets.open(*u); !s) return s;
    BRAID_LOG(kInfo, "ike") << "uplink " << u->config->name << ": IKE on "
                            << u->config->localAddress.toString() << " port " << cfg.ike.port
                            << ", NAT-T on port " << u->config->port << ", interface MTU "
                            << linkMtu;
    state.uplinks.push_back(std::move(owned));
    return Status::ok();
  };
  for (const PeerConfig& peer : cfg.peers) {
    for (const PathConfig& pc : peer.paths) {
      const size_t index = pathIndex++;
      if (pc.manual) continue;
      if (Status s = uplinkAt(pc.uplinkIndex); !s) return s;
      IkeUplink* u = byIndex[pc.uplinkIndex];
      auto p = std::make_unique<IkePath>();
      p->index = index;
      p->name = peer.name + "/" + pc.uplink;
      p->peer = &peer;
      p->config = &pc;
      p->uplink = u;
      p->keepaliveTimer = std::make_unique<ScopedTimer>(timers);
      p->childRetryTimer = std::make_unique<ScopedTimer>(timers);
      p->reinitiateTimer = std::make_unique<ScopedTimer>(timers);
      if (Status s = u->manager->addPeer(ikePeerConfig(peer, pc, *u->config)); !s) {
        return errorStatus(ErrorCode::kInvalidArgument, "path " + p->name + ": " + s.message());
      }
      u->paths[peer.name] = p.get();
      state.paths.push_back(std::move(p));
    }
  }
  // [[remote_access]]: one responder config per section and uplink; clients get data-plane
  // slots after the site paths (remote_access.hpp).
  if (!cfg.remoteAccess.empty()) {
    state.ra = std::make_unique<RoadWarriors>(cfg, dp, pathIndex, cfg.peers.size());
    for (size_t si = 0; si < cfg.remoteAccess.size(); ++si) {
      for (size_t ui : cfg.remoteAccess[si].uplinks) {
        if (Status s = uplinkAt(ui); !s) return s;
        IkeUplink* u = byIndex[ui];
        auto pc =
            remoteAccessPeerConfig(cfg.remoteAccess[si], *u->config, state.ra->coreConfig(si));
        if (Status s = u->manager->addPeer(std::move(pc)); !s) {
          return errorStatus(ErrorCode::kInvalidArgument,
                             "remote_access " + cfg.remoteAccess[si].name + ": " + s.message());
        }
      }
    }
  }
  return Status::ok();
}

void IkeDriver::Impl::start() {
  if (state.uplinks.empty()) return;
  sockets.start(dp);
  // RX thread: the newest authenticated ESP of an SA came from a new source (hands over).
  dp.setEspSourceHandler([this](size_t path, uint32_t spi, const SockAddr& from) {
    asio::post(io, [this, path, spi, from] { mobility.espSourceChanged(path, spi, from); });
  });
  for (auto& p : state.paths) {
    if (p->peer->ike->initiate) lifecycle.initiate(*p);
  }
  usageTimer = std::make_unique<ScopedTimer>(timers);
  usageTimer->arm(clock.now() + std::chrono::seconds(1), [this] { pollUsage(); });
}

void IkeDriver::Impl::pollUsage() {
  if (state.down) return;
  bool keyed = false;
  for (auto& p : state.paths) keyed = keyed || !p->inSpis.empty();
  keyed = keyed || (state.ra && state.ra->slotsInUse() > 0);
  if (keyed) {
    for (const SaStats& s : dp.snapshot().sas) {
      const uint64_t bytes = s.inbound ? s.esp.bytesOpened : s.esp.bytesSealed;
      const uint64_t packets = s.inbound ? s.esp.packetsOpened : s.esp.packetsSealed;
      for (auto& u : state.uplinks) {
        if (u->manager->reportUsage(s.spi, s.inbound, bytes, packets)) break;
      }
    }
  }
  usageTimer->arm(clock.now() + std::chrono::seconds(1), [this] { pollUsage(); });
}

void IkeDriver::Impl::shutdown() {
  if (state.down) return;
  for (auto& p : state.paths) {
    if (ike::IkeSa* sa = p->uplink->manager->findByPeer(p->peer->name);
        sa != nullptr && sa->state() == ike::IkeSaState::kEstablished) {
      (void)p->uplink->manager->deleteIkeSa(p->peer->name);  // sends Delete (RFC 7296 1.4.1)
    }
  }
  state.down = true;
  for (auto& p : state.paths) {
    p->keepaliveTimer->cancel();
    p->childRetryTimer->cancel();
    p->reinitiateTimer->cancel();
  }
  if (usageTimer) usageTimer->cancel();
  sockets.close();
}

IkeDriver::IkeDriver(asio::io_context& io, const Config& config, DataPlane& dataPlane,
                     std::vector<int> uplinkFds)
    : impl_(std::make_unique<Impl>(io, config, dataPlane, std::move(uplinkFds))) {}

IkeDriver::~IkeDriver() {
  if (impl_) impl_->shutdown();
}

Status IkeDriver::open() {
  return impl_->open();
}
void IkeDriver::start() {
  impl_->start();
}
void IkeDriver::shutdown() {
  impl_->shutdown();
}
std::string IkeDriver::formatStats() const {
  return impl_->views.formatStats(stats());
}

void IkeDriver::localAddressChanged(size_t uplink, const IpAddress& address) {
  impl_->mobility.localAddressChanged(uplink, address);
}

void IkeDriver::setKeyingHandler(KeyingHandler h) {
  impl_->installer.setKeyingHandler(std::move(h));
}

void IkeDriver::checkLiveness(size_t path, bool resend) {
  IkePath* p = impl_->state.pathAt(path);
  if (p == nullptr) return;
  if (ike::IkeSa* sa = p->uplink->manager->findByPeer(p->peer->name)) {
    (void)sa->checkLivenessIfIdle(resend);
  }
}

TimePoint IkeDriver::lastPeerMessage(size_t path) const {
  return impl_->views.lastPeerMessage(path);
}

TimePoint IkeDriver::lastPeerResponse(size_t path) const {
  return impl_->views.lastPeerResponse(path);
}

std::vector<ControlIkeSa> IkeDriver::describeSas(std::string_view path) const {
  return impl_->views.describeSas(path);
}

IkeStats IkeDriver::stats() const {
  return impl_->views.stats();
}

}  // namespace braid::edge
