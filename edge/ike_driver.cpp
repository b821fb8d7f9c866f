#include "edge/ike_driver.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <map>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>

#include "core/log.hpp"
#include "edge/ike_support.hpp"
#include "edge/metrics_ike.hpp"
#include "edge/remote_access.hpp"
#include "edge/ts_match.hpp"
#include "ipsec/ike/sa_manager.hpp"
#include "metrics/registry.hpp"

namespace braid::edge {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

constexpr size_t kMaxIkeDatagram = 65535;

IpAddress fromAsio(const asio::ip::address& a) {
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    return IpAddress::v4(Bytes(b.data(), b.size()));
  }
  auto b = a.to_v6().to_bytes();
  return IpAddress::v6(Bytes(b.data(), b.size()));
}

asio::ip::address toAsio(const IpAddress& a) {
  if (a.isV4()) {
    asio::ip::address_v4::bytes_type b;
    std::copy_n(a.bytes().data(), 4, b.begin());
    return asio::ip::address_v4(b);
  }
  asio::ip::address_v6::bytes_type b;
  std::copy_n(a.bytes().data(), 16, b.begin());
  return asio::ip::address_v6(b);
}

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

struct IkeDriver::Impl {
  struct Uplink;

  // One IKE path: (peer x uplink), data-plane path `index`.
  struct Path {
    size_t index = 0;
    std::string name;  // "peer/uplink"
    const PeerConfig* peer = nullptr;
    const PathConfig* config = nullptr;
    Uplink* uplink = nullptr;
    std::string state = "idle";
    uint64_t failures = 0;
    std::optional<ike::FailureKind> lastFailure;
    bool failedSinceUp = false;  // the core retries this IKE SA itself
    bool dpdHeld = false;        // DPD found the peer dead, dpd_action clear/hold: stay down
    uint32_t outSpi = 0;
    uint32_t newestInSpi = 0;  // the inbound SPI of the Child SA that set outSpi
    std::set<uint32_t> inSpis;
    std::optional<SockAddr> espRemote;
    std::vector<IpPrefix> remoteNets;  // negotiated remote TS of the newest Child SA
    bool keepalive = false;
    std::unique_ptr<ScopedTimer> keepaliveTimer, childRetryTimer, reinitiateTimer;
    Duration childRetryDelay{};
  };

  struct Uplink final : ike::DatagramSender, ike::SaListener {
    Impl* impl = nullptr;
    size_t index = 0;
    const UplinkConfig* config = nullptr;
    IpAddress address;  // the local address now (follow_address: renumbering moves it)
    int nattFd = -1;
    std::unique_ptr<udp::socket> socket;
    uint64_t socketGeneration = 0;  // a receive of a replaced socket stops there
    std::vector<uint8_t> rxBuffer;
    udp::endpoint rxFrom;
    std::unique_ptr<ike::SaManager> manager;
    std::map<std::string, Path*, std::less<>> paths;  // by peer name

    Path* path(std::string_view peer) {
      auto it = paths.find(peer);
      return it == paths.end() ? nullptr : it->second;
    }
    void sendDatagram(const ike::Endpoint& local, const ike::Endpoint& remote,
                      Bytes data) override {
      impl->send(*this, local, remote, data);
    }
    void onIkeSaUp(const ike::IkeSaEvent& e) override { impl->ikeSaUp(*this, e); }
    void onIkeSaDown(const ike::IkeSaEvent& e) override { impl->ikeSaDown(*this, e); }
    void onChildSaUp(const ike::ChildSaEvent& e) override { impl->childSaUp(*this, e); }
    void onChildSaDown(const ike::ChildSaEvent& e) override { impl->childSaDown(*this, e); }
    void onChildSaOutbound(const ike::ChildSaEvent& e) override { impl->childSaOutbound(*this, e); }
    void onPeerEndpointChanged(const ike::IkeSaEvent& e) override {
      impl->endpointChanged(*this, e);
    }
    void onFailure(const ike::FailureEvent& e) override { impl->failure(*this, e); }
  };

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
  std::vector<std::unique_ptr<Uplink>> uplinks;  // only uplinks with IKE paths
  std::vector<std::unique_ptr<Path>> paths;
  IkeDriverCounters counters;
  uint64_t espEndpointUpdates = 0;  // NAT rebinding learnt from authenticated ESP
  bool down = false;
  IkeDriver::KeyingHandler keying;   // path keyed / unkeyed (multipath: the path monitor)
  std::unique_ptr<RoadWarriors> ra;  // [[remote_access]] clients, if any

  // Routes published to the data plane: a peer's IKE paths that are up send only to their
  // (possibly narrowed) remote TS; with nothing up, the configured subnets (tx no_sa). Only
  // routes: which path carries what is the policy engines' business.
  void publishRoutes();

  Status open();
  void start();
  void shutdown();
  std::string formatStats(const IkeStats& stats) const;

  void receiveNext(Uplink& u);
  void deliver(Uplink& u, const ike::Endpoint& local, const SockAddr& from, Bytes data);
  void send(Uplink& u, const ike::Endpoint& local, const ike::Endpoint& remote, Bytes data);
  void initiate(Path& p);
  SockAddr espEndpoint(const ike::Endpoint& remote) const;
  void armKeepalive(Path& p);

  void ikeSaUp(Uplink& u, const ike::IkeSaEvent& e);
  void ikeSaDown(Uplink& u, const ike::IkeSaEvent& e);
  void childSaUp(Uplink& u, const ike::ChildSaEvent& e);
  void childSaDown(Uplink& u, const ike::ChildSaEvent& e);
  void childSaOutbound(Uplink& u, const ike::ChildSaEvent& e);
  // Every second: the data plane's per-SA counters to the core (Child SA byte/packet
  // lifetimes, ESP sequence limit); read from snapshot(), nothing added to the data path.
  void pollUsage();
  std::unique_ptr<ScopedTimer> usageTimer;
  void endpointChanged(Uplink& u, const ike::IkeSaEvent& e);
  void localAddressChanged(size_t uplink, const IpAddress& address);
  void espSourceChanged(size_t path, uint32_t spi, const SockAddr& from);
  void failure(Uplink& u, const ike::FailureEvent& e);
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
  std::vector<Uplink*> byIndex(cfg.uplinks.size(), nullptr);
  size_t pathIndex = 0;
  // The IKE socket and SA manager of an uplink, made on first use (site paths, then the
  // [[remote_access]] sections).
  auto uplinkAt = [&](size_t uplinkIndex) -> Status {
    Uplink*& u = byIndex[uplinkIndex];
    if (u != nullptr) return Status::ok();
    auto owned = std::make_unique<Uplink>();
    u = owned.get();
    u->impl = this;
    u->index = uplinkIndex;
    u->config = &cfg.uplinks[uplinkIndex];
    u->nattFd = fds.at(uplinkIndex);
    u->rxBuffer.resize(kMaxIkeDatagram);
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
    u->manager = std::make_unique<ike::SaManager>(clock, timers, *u, *u, std::move(opts));
    // RFC 7383 2.5.2: IKE fragments are cut for the uplink's MTU unless fragment_size says.
    const uint32_t linkMtu = interfaceMtu(u->config->localAddress);
    u->manager->setLinkMtu(linkMtu);
    boost::system::error_code ec;
    u->address = u->config->localAddress;
    udp::endpoint ep(toAsio(u->address), cfg.ike.port);
    u->socket = std::make_unique<udp::socket>(io);
    if (u->socket->open(ep.protocol(), ec); !ec) u->socket->bind(ep, ec);
    if (ec) {
      return errorStatus(ErrorCode::kIoError, "uplink " + u->config->name + ": IKE socket " +
                                                  u->config->localAddress.toString() + " port " +
                                                  std::to_string(cfg.ike.port) + ": " +
                                                  ec.message());
    }
    BRAID_LOG(kInfo, "ike") << "uplink " << u->config->name << ": IKE on "
                            << u->config->localAddress.toString() << " port " << cfg.ike.port
                            << ", NAT-T on port " << u->config->port << ", interface MTU "
                            << linkMtu;
    uplinks.push_back(std::move(owned));
    return Status::ok();
  };
  for (const PeerConfig& peer : cfg.peers) {
    for (const PathConfig& pc : peer.paths) {
      const size_t index = pathIndex++;
      if (pc.manual) continue;
      if (Status s = uplinkAt(pc.uplinkIndex); !s) return s;
      Uplink* u = byIndex[pc.uplinkIndex];
      auto p = std::make_unique<Path>();
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
      paths.push_back(std::move(p));
    }
  }
  // [[remote_access]]: one responder config per section and uplink; clients get data-plane
  // slots after the site paths (remote_access.hpp).
  if (!cfg.remoteAccess.empty()) {
    ra = std::make_unique<RoadWarriors>(cfg, dp, pathIndex, cfg.peers.size());
    for (size_t si = 0; si < cfg.remoteAccess.size(); ++si) {
      for (size_t ui : cfg.remoteAccess[si].uplinks) {
        if (Status s = uplinkAt(ui); !s) return s;
        Uplink* u = byIndex[ui];
        auto pc = remoteAccessPeerConfig(cfg.remoteAccess[si], *u->config, ra->coreConfig(si));
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
  if (uplinks.empty()) return;
  // RX thread: copy the message, hand it to this (control) thread.
  dp.setIkeHandler([this](size_t uplink, const SockAddr& from, Bytes message) {
    auto copy = std::make_shared<std::vector<uint8_t>>(message.begin(), message.end());
    asio::post(io, [this, uplink, from, copy] {
      for (auto& u : uplinks) {
        if (u->index == uplink) {
          deliver(*u, ike::Endpoint{u->address, ike::kNattPort}, from, *copy);
          return;
        }
      }
      BRAID_LOG(kDebug, "ike") << "NAT-T IKE datagram on an uplink without IKE paths: dropped";
    });
  });
  // RX thread: the newest authenticated ESP of an SA came from a new source (hands over).
  dp.setEspSourceHandler([this](size_t path, uint32_t spi, const SockAddr& from) {
    asio::post(io, [this, path, spi, from] { espSourceChanged(path, spi, from); });
  });
  for (auto& u : uplinks) receiveNext(*u);
  for (auto& p : paths) {
    if (p->peer->ike->initiate) initiate(*p);
  }
  usageTimer = std::make_unique<ScopedTimer>(timers);
  usageTimer->arm(clock.now() + std::chrono::seconds(1), [this] { pollUsage(); });
}

void IkeDriver::Impl::pollUsage() {
  if (down) return;
  bool keyed = false;
  for (auto& p : paths) keyed = keyed || !p->inSpis.empty();
  keyed = keyed || (ra && ra->slotsInUse() > 0);
  if (keyed) {
    for (const SaStats& s : dp.snapshot().sas) {
      const uint64_t bytes = s.inbound ? s.esp.bytesOpened : s.esp.bytesSealed;
      const uint64_t packets = s.inbound ? s.esp.packetsOpened : s.esp.packetsSealed;
      for (auto& u : uplinks) {
        if (u->manager->reportUsage(s.spi, s.inbound, bytes, packets)) break;
      }
    }
  }
  usageTimer->arm(clock.now() + std::chrono::seconds(1), [this] { pollUsage(); });
}

void IkeDriver::Impl::initiate(Path& p) {
  p.state = "connecting";
  ike::Endpoint local{p.uplink->address, ike::kIkePort};
  if (Status s = p.uplink->manager->initiate(p.peer->name, local); !s) {
    BRAID_LOG(kError, "ike") << "path " << p.name << ": cannot initiate: " << s.message();
  }
}

void IkeDriver::Impl::receiveNext(Uplink& u) {
  const uint64_t generation = u.socketGeneration;
  u.socket->async_receive_from(
      asio::buffer(u.rxBuffer), u.rxFrom,
      [this, &u, generation](const boost::system::error_code& ec, size_t n) {
        if (ec == asio::error::operation_aborted || down || generation != u.socketGeneration) {
          return;
        }
        if (!ec) {
          SockAddr from = SockAddr::from(fromAsio(u.rxFrom.address()), u.rxFrom.port());
          deliver(u, ike::Endpoint{u.address, ike::kIkePort}, from, Bytes(u.rxBuffer.data(), n));
        }
        receiveNext(u);
      });
}

void IkeDriver::Impl::deliver(Uplink& u, const ike::Endpoint& local, const SockAddr& from,
                              Bytes data) {
  if (down) return;
  auto remote = endpointOf(from);
  if (!remote) return;
  remote->port = ports.map(remote->port);
  ++counters.datagramsReceived;
  u.manager->receive(local, *remote, data);
}

void IkeDriver::Impl::send(Uplink& u, const ike::Endpoint& local, const ike::Endpoint& remote,
                           Bytes data) {
  const uint16_t port = ports.map(remote.port);
  if (local.port == ike::kNattPort) {
    // RFC 3948 2.2: IKE on the ESP-in-UDP port carries the 4-byte non-ESP marker.
    std::vector<uint8_t> buf(4 + data.size(), 0);
    std::copy(data.begin(), data.end(), buf.begin() + 4);
    SockAddr to = SockAddr::from(remote.address, port);
    ssize_t n = ::sendto(u.nattFd, buf.data(), buf.size(), 0,
                         reinterpret_cast<const sockaddr*>(&to.storage), to.length);
    if (n < 0) {
      ++counters.sendErrors;
      BRAID_LOG(kDebug, "ike") << "send to " << to.toString() << ": " << std::strerror(errno);
      return;
    }
  } else {
    boost::system::error_code ec;
    u.socket->send_to(asio::buffer(data.data(), data.size()),
                      udp::endpoint(toAsio(remote.address), port), 0, ec);
    if (ec) {
      ++counters.sendErrors;
      BRAID_LOG(kDebug, "ike") << "send to " << remote.address.toString() << " port " << port
                               << ": " << ec.message();
      return;
    }
  }
  ++counters.datagramsSent;
}

// braid's data plane only does ESP-in-UDP: the peer's NAT-T port, or the port a NAT mapped.
SockAddr IkeDriver::Impl::espEndpoint(const ike::Endpoint& remote) const {
  uint16_t port = remote.port == ike::kIkePort || remote.port == ike::kNattPort
                      ? cfg.ike.nattPort
                      : ports.map(remote.port);
  return SockAddr::from(remote.address, port);
}

void IkeDriver::Impl::armKeepalive(Path& p) {
  if (!p.keepalive || cfg.ike.natKeepaliveSeconds == 0) return;
  p.keepaliveTimer->arm(clock.now() + std::chrono::seconds(cfg.ike.natKeepaliveSeconds),
                        [this, &p] {
                          if (p.espRemote) {
                            // RFC 3948 2.3: one 0xFF byte keeps the NAT mapping alive.
                            const uint8_t ka = 0xFF;
                            if (::sendto(p.uplink->nattFd, &ka, 1, 0,
                                         reinterpret_cast<const sockaddr*>(&p.espRemote->storage),
                                         p.espRemote->length) == 1) {
                              ++counters.keepalivesSent;
                            }
                          }
                          armKeepalive(p);
                        });
}

void IkeDriver::Impl::ikeSaUp(Uplink& u, const ike::IkeSaEvent& e) {
  Path* p = u.path(e.peer);
  if (p == nullptr) return;
  p->state = "established";
  p->failedSinceUp = false;
  p->dpdHeld = false;
  p->reinitiateTimer->cancel();
  p->espRemote = espEndpoint(e.remote);
  p->keepalive = e.natDetected && (e.behindNat || p->peer->ike->forceEncap);
  armKeepalive(*p);
}

void IkeDriver::Impl::ikeSaDown(Uplink& u, const ike::IkeSaEvent& e) {
  Path* p = u.path(e.peer);
  if (p == nullptr || down) return;
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
    Path* path = p;
    p->reinitiateTimer->arm(clock.now() + p->peer->ike->retryInitial, [this, path] {
      ike::IkeSa* sa = path->uplink->manager->findByPeer(path->peer->name);
      if (sa == nullptr && !down) {
        BRAID_LOG(kInfo, "ike") << "path " << path->name
                                << ": re-initiating after the IKE SA ended";
        initiate(*path);
      }
    });
  }
}

void IkeDriver::Impl::childSaUp(Uplink& u, const ike::ChildSaEvent& e) {
  if (ra && ra->owns(e.peer)) {
    if (!ra->childSaUp(
            u.index, e, [this](const ike::Endpoint& r) { return espEndpoint(r); },
            [this](size_t path, bool on) {
              if (keying) keying(path, on, false, true);
            })) {
      ++counters.installErrors;
    }
    publishRoutes();
    return;
  }
  Path* p = u.path(e.peer);
  if (p == nullptr) return;
  auto fail = [&](const std::string& why) {
    ++counters.installErrors;
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
  p->espRemote = espEndpoint(e.remote);
  dp.setPathRemote(p->index, *p->espRemote);
  // RFC 4301 5.1/5.2: selectors with protocol or ports are enforced both ways (ts_match.hpp).
  auto ports = SelectorMatcher::from(e.remoteTs, e.localTs);
  dp.installInbound(p->index, std::move(*in), remoteNets, localNets, ports);
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
  dp.installOutbound(p->index, std::move(*out), ports);
  p->outSpi = e.outbound.spi;
  p->newestInSpi = e.inbound.spi;
  p->remoteNets = remoteNets;
  publishRoutes();
  if (keying) {
    const ike::IkeSa* sa = u.manager->findByPeer(e.peer);
    keying(p->index, true, e.shim, sa != nullptr && !sa->initiator());
  }
  p->childRetryDelay = Duration{};
  p->childRetryTimer->cancel();
  char spis[40];
  std::snprintf(spis, sizeof spis, "out 0x%08x in 0x%08x", e.outbound.spi, e.inbound.spi);
  BRAID_LOG(kInfo, "ike") << "path " << p->name << ": ESP SAs installed (" << spis << ", "
                          << ipsec::espCipherName(e.outbound.cipher) << "), sending to "
                          << p->espRemote->toString();
}

void IkeDriver::Impl::childSaDown(Uplink& u, const ike::ChildSaEvent& e) {
  if (ra && ra->owns(e.peer)) {
    ra->childSaDown(e, [this](size_t path, bool on) {
      if (keying) keying(path, on, false, true);
    });
    publishRoutes();
    return;
  }
  Path* p = u.path(e.peer);
  if (p == nullptr) return;
  dp.removeInbound(e.inbound.spi);
  p->inSpis.erase(e.inbound.spi);
  // A rekey installed the new outbound SA first; only remove the one this event names.
  if (p->outSpi == e.outbound.spi) {
    dp.removeOutbound(p->index);
    p->outSpi = 0;
    p->remoteNets.clear();
    publishRoutes();
    if (keying) keying(p->index, false, false, false);
  }
}

void IkeDriver::Impl::childSaOutbound(Uplink& u, const ike::ChildSaEvent& e) {
  if (ra && ra->owns(e.peer)) return ra->childSaOutbound(e);
  Path* p = u.path(e.peer);
  if (p == nullptr) return;
  auto out = ipsec::EspOutboundSa::create(e.outbound);
  if (!out) {
    ++counters.installErrors;
    BRAID_LOG(kError, "ike") << "path " << p->name
                             << ": rekeyed outbound SA not installed: " << out.status().message();
    return;
  }
  dp.installOutbound(p->index, std::move(*out), SelectorMatcher::from(e.remoteTs, e.localTs));
  p->outSpi = e.outbound.spi;
  p->newestInSpi = e.inbound.spi;
  p->remoteNets = selectorPrefixes(e.remoteTs);
  publishRoutes();
  if (keying) {
    const ike::IkeSa* sa = u.manager->findByPeer(e.peer);
    keying(p->index, true, e.shim, sa != nullptr && !sa->initiator());
  }
  char spis[40];
  std::snprintf(spis, sizeof spis, "out 0x%08x in 0x%08x", e.outbound.spi, e.inbound.spi);
  BRAID_LOG(kInfo, "ike") << "path " << p->name << ": sending on the rekeyed ESP SA (" << spis
                          << ")";
}

void IkeDriver::Impl::publishRoutes() {
  std::vector<PeerSpec> specs;
  size_t pathIndex = 0;
  for (const PeerConfig& peer : cfg.peers) {
    PeerSpec spec{peer.name, {}, {}};
    bool manual = false;
    for (const PathConfig& pc : peer.paths) {
      spec.paths.push_back(pathIndex++);
      manual = manual || pc.manual.has_value();
    }
    for (auto& p : paths) {
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
  if (ra) ra->appendRoutes(specs);
  dp.setRoutes(std::move(specs));
}

// Renumbering (follow_address; edge/link_monitor.hpp): the IKE socket moves to the new
// address (the data plane's uplink socket, which carries NAT-T IKE, has already), then the
// core moves each IKE SA with MOBIKE or re-establishes it (RFC 4555 3.5; issue 12).
void IkeDriver::Impl::localAddressChanged(size_t uplink, const IpAddress& address) {
  if (down) return;
  for (auto& up : uplinks) {
    Uplink& u = *up;
    if (u.index != uplink || u.address == address) continue;
    const IpAddress old = u.address;
    auto sock = std::make_unique<udp::socket>(io);
    boost::system::error_code ec;
    udp::endpoint ep(toAsio(address), cfg.ike.port);
    if (sock->open(ep.protocol(), ec); !ec) sock->bind(ep, ec);
    if (ec) {
      BRAID_LOG(kError, "ike") << "uplink " << u.config->name << ": IKE socket "
                               << address.toString() << " port " << cfg.ike.port << ": "
                               << ec.message() << " (NAT-T IKE still works)";
    } else {
      u.socket->close(ec);
      u.socket = std::move(sock);
      ++u.socketGeneration;
      receiveNext(u);
    }
    u.address = address;
    BRAID_LOG(kInfo, "ike") << "uplink " << u.config->name << ": local address " << old.toString()
                            << " -> " << address.toString() << ", moving its IKE SAs";
    u.manager->localAddressChanged(old, address);
  }
}

void IkeDriver::Impl::endpointChanged(Uplink& u, const ike::IkeSaEvent& e) {
  Path* p = u.path(e.peer);
  if (p == nullptr) return;
  p->espRemote = espEndpoint(e.remote);
  dp.setPathRemote(p->index, *p->espRemote);
  BRAID_LOG(kInfo, "ike") << "path " << p->name << ": ESP now sent to " << p->espRemote->toString();
}

// RFC 7296 2.23: a host that is not behind a NAT SHOULD send to the address and port of
// the newest authenticated packet of a NAT-T SA. IKE messages do this in the core; here ESP
// does it too, so traffic from the NATed peer after its NAT rebound (new mapping, new port)
// brings our ESP and IKE to the new port at once instead of waiting for its next IKE message.
void IkeDriver::Impl::espSourceChanged(size_t path, uint32_t spi, const SockAddr& from) {
  if (down) return;
  if (ra && ra->espSourceChanged(path, spi, from)) return;  // a road-warrior client
  Path* p = nullptr;
  for (auto& q : paths) {
    if (q->index == path) p = q.get();
  }
  if (p == nullptr || !p->espRemote) return;  // a manual path: its endpoint is configured
  ike::IkeSa* sa = p->uplink->manager->findByPeer(p->peer->name);
  // Only for the current SA of an established, NAT-T IKE SA, and never when we are the one
  // behind the NAT (then a spoofed source could cut us off; RFC 7296 2.23).
  if (sa == nullptr || sa->state() != ike::IkeSaState::kEstablished ||
      sa->findChildByInbound(spi) == nullptr || !sa->natDetected() || sa->natLocal()) {
    return;
  }
  auto remote = endpointOf(from);
  if (!remote || from.toString() == p->espRemote->toString()) return;
  char spiText[12];
  std::snprintf(spiText, sizeof spiText, "0x%08x", spi);
  BRAID_LOG(kInfo, "ike") << "path " << p->name << ": authenticated ESP (SPI " << spiText
                          << ") from " << from.toString() << ", was " << p->espRemote->toString()
                          << ": following the peer's new NAT mapping";
  ++espEndpointUpdates;
  remote->port = ports.map(remote->port);
  // The core moves the IKE SA (so IKE follows too), counts ike.peer_endpoint_changes and
  // calls endpointChanged(), which points the path's ESP at the new port.
  sa->setEndpoints(sa->local(), *remote);
}

void IkeDriver::Impl::failure(Uplink& u, const ike::FailureEvent& e) {
  Path* p = u.path(e.peer);
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
    if (!sa->initiator() || !sa->children().empty() || down) return;
    const PeerIkeConfig& k = *p->peer->ike;
    if (k.retryInitial.count() == 0) return;
    p->childRetryDelay = p->childRetryDelay.count() == 0
                             ? k.retryInitial
                             : std::min(p->childRetryDelay * 2, k.retryMax);
    BRAID_LOG(kInfo, "ike") << "path " << p->name << ": retrying the Child SA in "
                            << toMillis(p->childRetryDelay) / 1000 << " s";
    Path* path = p;
    p->childRetryTimer->arm(clock.now() + p->childRetryDelay, [this, path] {
      ++counters.childRetries;
      (void)path->uplink->manager->createChild(path->peer->name, path->peer->name);
    });
    return;
  }
  p->failedSinceUp = true;
  p->state = "failed";
}

void IkeDriver::Impl::shutdown() {
  if (down) return;
  for (auto& p : paths) {
    if (ike::IkeSa* sa = p->uplink->manager->findByPeer(p->peer->name);
        sa != nullptr && sa->state() == ike::IkeSaState::kEstablished) {
      (void)p->uplink->manager->deleteIkeSa(p->peer->name);  // sends Delete (RFC 7296 1.4.1)
    }
  }
  down = true;
  for (auto& p : paths) {
    p->keepaliveTimer->cancel();
    p->childRetryTimer->cancel();
    p->reinitiateTimer->cancel();
  }
  if (usageTimer) usageTimer->cancel();
  for (auto& u : uplinks) {
    boost::system::error_code ec;
    u->socket->close(ec);
  }
}

std::string IkeDriver::Impl::formatStats(const IkeStats& st) const {
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
  if (ra) ra->formatStats(os);
  for (auto& p : paths) {
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
  return impl_->formatStats(stats());
}

}  // namespace braid::edge

namespace braid::edge {

void IkeDriver::localAddressChanged(size_t uplink, const IpAddress& address) {
  impl_->localAddressChanged(uplink, address);
}

void IkeDriver::setKeyingHandler(KeyingHandler h) {
  impl_->keying = std::move(h);
}

void IkeDriver::checkLiveness(size_t path, bool resend) {
  for (auto& p : impl_->paths) {
    if (p->index != path) continue;
    if (ike::IkeSa* sa = p->uplink->manager->findByPeer(p->peer->name)) {
      (void)sa->checkLivenessIfIdle(resend);
    }
    return;
  }
}

TimePoint IkeDriver::lastPeerMessage(size_t path) const {
  for (auto& p : impl_->paths) {
    if (p->index != path) continue;
    const ike::IkeSa* sa = p->uplink->manager->findByPeer(p->peer->name);
    return sa != nullptr ? sa->lastMessage() : TimePoint{};
  }
  return TimePoint{};
}

TimePoint IkeDriver::lastPeerResponse(size_t path) const {
  for (auto& p : impl_->paths) {
    if (p->index != path) continue;
    const ike::IkeSa* sa = p->uplink->manager->findByPeer(p->peer->name);
    return sa != nullptr ? sa->lastResponse() : TimePoint{};
  }
  return TimePoint{};
}

std::vector<ControlIkeSa> IkeDriver::describeSas(std::string_view path) const {
  std::vector<ControlIkeSa> out;
  for (auto& p : impl_->paths) {
    if (p->name != path) continue;
    const ike::IkeSa* sa = p->uplink->manager->findByPeer(p->peer->name);
    if (sa == nullptr) break;
    const TimePoint now = impl_->clock.now();
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

IkeStats IkeDriver::stats() const {
  IkeStats s;
  for (auto& u : impl_->uplinks) {
    s.uplinks.push_back({u->config->name, u->manager->counters(), u->manager->halfOpenCount(),
                         u->manager->ikeSaCount()});
  }
  s.driver = impl_->counters;
  s.espEndpointUpdates = impl_->espEndpointUpdates;
  for (auto& p : impl_->paths) {
    s.paths.push_back({p->name, p->state, p->inSpis.size(), p->failures});
  }
  return s;
}

}  // namespace braid::edge
