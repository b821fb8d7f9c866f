#include "edge/daemon.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>

#include "core/log.hpp"
#include "edge/dataplane.hpp"
#include "edge/ike_driver.hpp"
#include "edge/netlink.hpp"
#include "edge/tun_device.hpp"
#include "edge/uplink_socket.hpp"

namespace braid::edge {
namespace {

struct PathKeys {
  std::unique_ptr<ipsec::EspOutboundSa> out;
  std::unique_ptr<ipsec::EspInboundSa> in;
};

// Manual keys, by path index (IKE paths get theirs at run time and stay empty here).
Result<std::vector<PathKeys>> createSas(const Config& cfg) {
  std::vector<PathKeys> keys;
  for (const PeerConfig& peer : cfg.peers) {
    for (const PathConfig& path : peer.paths) {
      if (!path.manual) {
        keys.emplace_back();
        continue;
      }
      const ManualKeying& m = *path.manual;
      ipsec::EspSaConfig out{m.outbound.spi, m.cipher, m.outbound.keymat, m.esn, m.replayWindow};
      ipsec::EspSaConfig in{m.inbound.spi, m.cipher, m.inbound.keymat, m.esn, m.replayWindow};
      auto o = ipsec::EspOutboundSa::create(out);
      if (!o) return o.status();
      auto i = ipsec::EspInboundSa::create(in);
      if (!i) return i.status();
      keys.push_back({std::move(*o), std::move(*i)});
    }
  }
  return keys;
}

void writeStatsFile(const std::string& path, const DataPlaneStats& stats, const IkeDriver* ike) {
  if (path.empty()) return;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << formatStats(stats);
    if (ike != nullptr) f << ike->formatStats();
    if (!f) {
      BRAID_LOG(kWarn, "edge") << "cannot write " << tmp;
      return;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    BRAID_LOG(kWarn, "edge") << "cannot rename " << tmp << " to " << path;
  }
}

}  // namespace

int runDaemon(const Config& cfg, const DaemonOptions& options) {
  const DataplaneConfig& dpc = cfg.dataplane;
  auto sas = createSas(cfg);
  if (!sas) {
    BRAID_LOG(kError, "edge") << "cannot create SAs: " << sas.status().message();
    return 1;
  }
  auto nl = Netlink::connect();
  if (!nl) {
    BRAID_LOG(kError, "edge") << nl.status().message();
    return 1;
  }
  auto tun = TunDevice::open(cfg.overlay.device, dpc.tunOffload);
  if (!tun) {
    BRAID_LOG(kError, "edge") << tun.status().message();
    return 1;
  }
  if (dpc.tunOffload && !tun->enableTsoOffload()) {
    // The virtio header stays on: packets then simply arrive as GSO_NONE.
    BRAID_LOG(kWarn, "edge") << "TUNSETOFFLOAD refused; TUN offloads disabled";
  }
  // Declared after the TUN so that routes are removed before the device disappears.
  OverlaySetup overlay(**nl);
  std::vector<IpPrefix> routes;
  for (const PeerConfig& p : cfg.peers) {
    routes.insert(routes.end(), p.remoteSubnets.begin(), p.remoteSubnets.end());
  }
  if (Status s = overlay.configure(tun->name(), cfg.overlay.mtu, cfg.overlay.address,
                                   cfg.overlay.addressPrefixLength, routes);
      !s) {
    BRAID_LOG(kError, "edge") << "overlay " << tun->name() << ": " << s.message();
    return 1;
  }

  std::vector<UplinkSocket> sockets;
  std::vector<int> fds;
  bool gro = dpc.udpGro, gso = dpc.udpGso;
  for (const UplinkConfig& u : cfg.uplinks) {
    auto s = UplinkSocket::open(u.localAddress, u.port, dpc.socketBuffer);
    if (!s) {
      BRAID_LOG(kError, "edge") << "uplink " << u.name << ": " << s.status().message();
      return 1;
    }
    if (gro && !s->setGro(true)) {
      BRAID_LOG(kWarn, "edge") << "UDP_GRO refused on uplink " << u.name << "; disabled";
      gro = false;
    }
    if (gso && !s->probeGso()) {
      BRAID_LOG(kWarn, "edge") << "UDP_SEGMENT unknown to this kernel; UDP GSO disabled";
      gso = false;
    }
    fds.push_back(s->fd());
    sockets.push_back(std::move(*s));
    BRAID_LOG(kInfo, "edge") << "uplink " << u.name << " on "
                             << SockAddr::from(u.localAddress, u.port).toString();
  }
  if (!gro) {
    for (UplinkSocket& s : sockets) {
      (void)s.setGro(false);
    }
  }

  std::vector<PathSpec> paths;
  std::vector<PeerSpec> peers;
  for (size_t pi = 0; pi < cfg.peers.size(); ++pi) {
    const PeerConfig& p = cfg.peers[pi];
    PeerSpec spec{p.name, p.remoteSubnets, {}};
    for (const PathConfig& path : p.paths) {
      spec.paths.push_back(paths.size());
      // IKE paths learn their remote endpoint when the Child SA comes up.
      paths.push_back(
          {p.name + "/" + path.uplink, pi, path.uplinkIndex,
           SockAddr::from(path.remoteAddress, path.manual ? path.remotePort : cfg.ike.nattPort)});
    }
    peers.push_back(std::move(spec));
  }
  DataPlaneOptions opts;
  opts.batchSize = dpc.batchSize;
  opts.poolPackets = dpc.poolPackets;
  opts.mtu = cfg.overlay.mtu;
  opts.vnetHdr = tun->vnetHdr();
  opts.tunGro = tun->tso() && dpc.tunGro;
  opts.udpGso = gso;
  opts.udpGro = gro;
  opts.localSubnets = cfg.overlay.localSubnets;
  BRAID_LOG(kInfo, "edge") << "data plane: batch " << opts.batchSize << ", tun offload "
                           << (tun->tso() ? "on" : "off") << ", tun gro "
                           << (opts.tunGro ? "on" : "off") << ", udp gso "
                           << (opts.udpGso ? "on" : "off") << ", udp gro "
                           << (opts.udpGro ? "on" : "off");

  DataPlane dp(opts, tun->fd(), fds, paths, peers);
  for (size_t i = 0; i < sas->size(); ++i) {
    if (!(*sas)[i].out) continue;  // an IKE path
    dp.installOutbound(i, std::move((*sas)[i].out));
    dp.installInbound(i, std::move((*sas)[i].in));
  }

  boost::asio::io_context io;
  std::unique_ptr<IkeDriver> ike;
  if (cfg.hasIkePaths()) {
    ike = std::make_unique<IkeDriver>(io, cfg, dp, fds);
    if (Status s = ike->open(); !s) {
      BRAID_LOG(kError, "edge") << "IKE: " << s.message();
      return 1;
    }
  }
  boost::asio::signal_set stopSignals(io, SIGINT, SIGTERM);
  boost::asio::signal_set usr1(io, SIGUSR1);
  stopSignals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    BRAID_LOG(kInfo, "edge") << "signal " << sig << ": shutting down";
    usr1.cancel();
    io.stop();
  });
  std::function<void()> armUsr1 = [&] {
    usr1.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      DataPlaneStats s = dp.snapshot();
      BRAID_LOG(kInfo, "stats") << summarizeStats(s);
      writeStatsFile(options.statsFile, s, ike.get());
      armUsr1();
    });
  };
  armUsr1();

  dp.start();
  if (ike) ike->start();
  writeStatsFile(options.statsFile, dp.snapshot(), ike.get());
  BRAID_LOG(kInfo, "edge") << "braidd running: " << tun->name() << " mtu " << cfg.overlay.mtu
                           << ", " << paths.size() << " path(s)";
  io.run();

  if (ike) ike->shutdown();  // Delete to the peers while the sockets still work
  dp.stop();
  DataPlaneStats final = dp.snapshot();
  BRAID_LOG(kInfo, "stats") << summarizeStats(final);
  writeStatsFile(options.statsFile, final, ike.get());
  overlay.undo();
  return 0;
}

}  // namespace braid::edge
