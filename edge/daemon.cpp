#include "edge/daemon.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>

#include "core/log.hpp"
#include "edge/budgets.hpp"
#include "edge/control_server.hpp"
#include "edge/dataplane.hpp"
#include "edge/ike_driver.hpp"
#include "edge/link_monitor.hpp"
#include "edge/metrics_budget.hpp"
#include "edge/metrics_export.hpp"
#include "edge/metrics_server.hpp"
#include "edge/netlink.hpp"
#include "edge/path_control.hpp"
#include "edge/remote_access.hpp"
#include "edge/seq_state.hpp"
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

// Manual keying: the outbound SA's sequence numbers reserved on disk (edge/seq_state.hpp).
struct SeqReservation {
  std::unique_ptr<SeqStateFile> file;  // null: an IKE path
  bool esn = false;
  uint64_t start = 0;  // the SA continues after this number
  uint64_t limit = 0;  // and seals up to this one (== file->reserved())
};

// Before anything is sent: reads every manual SA's mark and reserves its first block.
Result<std::vector<SeqReservation>> reserveSequences(const Config& cfg) {
  std::vector<SeqReservation> out;
  for (const PeerConfig& peer : cfg.peers) {
    for (const PathConfig& path : peer.paths) {
      out.emplace_back();
      if (!path.manual) continue;
      const ManualKeying& m = *path.manual;
      char spi[16];
      std::snprintf(spi, sizeof spi, "0x%08x", m.outbound.spi);
      const std::string what = std::string("outbound SA ") + spi + " (peer " + peer.name +
                               ", uplink " + path.uplink + ")";
      auto f = SeqStateFile::open(cfg.state.directory, m.outbound.spi, m.outbound.keymat.bytes());
      if (!f) {
        return errorStatus(f.status().code(),
                           "state.directory: " + what + ": " + f.status().message());
      }
      SeqReservation& r = out.back();
      r.esn = m.esn;
      r.start = (*f)->reserved();
      if (r.start >= seqSpaceEnd(m.esn)) {
        return errorStatus(ErrorCode::kOutOfRange,
                           what + ": every sequence number of this key is used (" + (*f)->path() +
                               "); expected a new key (RFC 4303 section 3.3.3)");
      }
      r.limit = nextSeqReservation(r.start, cfg.state.sequenceBlock, m.esn);
      if (Status s = (*f)->reserve(r.limit); !s) {
        return errorStatus(s.code(), "state.directory: " + what + ": " + s.message() +
                                         "; expected a writable directory");
      }
      BRAID_LOG(kInfo, "edge") << what << ": sequence numbers continue after " << r.start
                               << ", reserved up to " << r.limit << " in " << (*f)->path();
      r.file = std::move(*f);
    }
  }
  return out;
}

void writeStatsFile(const std::string& path, const DataPlaneStats& stats, const IkeDriver* ike,
                    const PathControl* paths, const UplinkBudgets* budgets) {
  if (path.empty()) return;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << formatStats(stats);
    if (ike != nullptr) f << ike->formatStats();
    if (paths != nullptr) f << paths->formatStats();
    if (budgets != nullptr) f << budgetStatsFile(budgets->stats());
    if (!f) {
      BRAID_LOG(kWarn, "edge") << "cannot write " << tmp;
      return;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    BRAID_LOG(kWarn, "edge") << "cannot rename " << tmp << " to " << path;
  }
}

bool sameStructure(const Config& a, const Config& b) {
  if (a.uplinks.size() != b.uplinks.size() || a.peers.size() != b.peers.size()) return false;
  for (size_t i = 0; i < a.uplinks.size(); ++i) {
    const UplinkConfig &x = a.uplinks[i], &y = b.uplinks[i];
    if (x.name != y.name || !(x.localAddress == y.localAddress) || x.port != y.port ||
        x.metered != y.metered || x.egressKbps != y.egressKbps || x.shape != y.shape) {
      return false;
    }
  }
  for (size_t i = 0; i < a.peers.size(); ++i) {
    const PeerConfig &x = a.peers[i], &y = b.peers[i];
    if (x.name != y.name || x.remoteSubnets != y.remoteSubnets ||
        x.paths.size() != y.paths.size()) {
      return false;
    }
    for (size_t k = 0; k < x.paths.size(); ++k) {
      if (x.paths[k].uplink != y.paths[k].uplink ||
          !(x.paths[k].remoteAddress == y.paths[k].remoteAddress)) {
        return false;
      }
    }
  }
  return true;
}

// SIGHUP or braidctl reload (`who`). Returns what was done, or the config's errors.
Result<std::string> reloadPolicy(const Config& running, const std::string& path, DataPlane& dp,
                                 UplinkBudgets* budgets, const char* who = "SIGHUP") {
  if (path.empty()) return errorStatus(ErrorCode::kInvalidArgument, "no configuration file");
  auto next = loadConfigFile(path);
  if (!next) {
    BRAID_LOG(kError, "edge") << who << ": " << path << " not reloaded, the running policy stays:\n"
                              << next.status().message();
    return next.status();
  }
  std::string done;
  if (!sameStructure(running, *next)) {
    done = "uplinks, peers or paths changed in " + path +
           "; they take effect at the next restart (the policy is applied now)\n";
    BRAID_LOG(kWarn, "edge") << who << ": " << done.substr(0, done.size() - 1);
  }
  // Metered budgets (limits, budget_exhausted) apply now, their counts kept.
  if (budgets != nullptr) {
    for (const std::string& u : budgets->reconfigure(*next)) {
      const std::string line =
          "uplink " + u + " gained a budget; it is counted from the next restart";
      BRAID_LOG(kWarn, "edge") << who << ": " << line;
      done += line + "\n";
    }
  }
  const size_t classes = next->multipath.classes.size(), rules = next->multipath.rules.size();
  dp.setPolicy(std::move(next->multipath));
  done += "policy reloaded from " + path + ": " + std::to_string(classes) + " class(es), " +
          std::to_string(rules) + " rule(s)";
  BRAID_LOG(kInfo, "edge") << who << ": policy reloaded from " << path << ": " << classes
                           << " class(es), " << rules << " rule(s)";
  return done;
}

}  // namespace

int runDaemon(const Config& cfg, const DaemonOptions& options) {
  const DataplaneConfig& dpc = cfg.dataplane;
  // A restart must never reuse a sequence number (the AEAD nonce) under a manual key: no
  // guarantee, no start (exit 2, nothing touched yet).
  auto seq = reserveSequences(cfg);
  if (!seq) {
    BRAID_LOG(kError, "edge") << seq.status().message();
    return 2;
  }
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
  for (const RemoteAccessSection& ra : cfg.remoteAccess) {
    routes.insert(routes.end(), ra.pools.begin(), ra.pools.end());  // the clients' addresses
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
  appendRemoteAccessSpecs(cfg, paths, peers);  // road-warrior slots after the site paths
  DataPlaneOptions opts;
  opts.batchSize = dpc.batchSize;
  opts.poolPackets = dpc.poolPackets;
  opts.mtu = cfg.overlay.mtu;
  opts.shimRoom = cfg.overlay.shimRoom;
  opts.vnetHdr = tun->vnetHdr();
  opts.tunGro = tun->tso() && dpc.tunGro;
  opts.udpGso = gso;
  opts.udpGro = gro;
  opts.localSubnets = cfg.overlay.localSubnets;
  opts.multipath = cfg.multipath;
  // Shape slightly below each uplink's configured rate, so that the queue forms in braid,
  // where voice goes first, and not in the modem or the provider's buffer.
  for (const UplinkConfig& u : cfg.uplinks) {
    opts.shapeBitsPerSecond.push_back(u.shape ? uint64_t(u.egressKbps) * 1000 * 95 / 100 : 0);
  }
  BRAID_LOG(kInfo, "edge") << "data plane: batch " << opts.batchSize << ", tun offload "
                           << (tun->tso() ? "on" : "off") << ", tun gro "
                           << (opts.tunGro ? "on" : "off") << ", udp gso "
                           << (opts.udpGso ? "on" : "off") << ", udp gro "
                           << (opts.udpGro ? "on" : "off");

  DataPlane dp(opts, tun->fd(), fds, paths, peers);
  for (size_t i = 0; i < sas->size(); ++i) {
    if (!(*sas)[i].out) continue;  // an IKE path
    const SeqReservation& r = (*seq)[i];
    (*sas)[i].out->setLastSequence(r.start);
    (*sas)[i].out->setSequenceLimit(r.limit);
    dp.installOutbound(i, std::move((*sas)[i].out));
    dp.installInbound(i, std::move((*sas)[i].in));
    // Ask for the next block when half of this one is used.
    dp.setSequenceLimit(i, r.limit, r.start + (r.limit - r.start) / 2);
  }

  // Metered budgets: their saved counts are read (and the directory proven writable) before
  // anything is sent.
  auto budgetsOpened = UplinkBudgets::open(cfg, dp.paths());
  if (!budgetsOpened) {
    BRAID_LOG(kError, "edge") << budgetsOpened.status().message();
    return 1;
  }
  std::unique_ptr<UplinkBudgets> budgets = std::move(*budgetsOpened);
  boost::asio::io_context io;
  PathControl pathControl(io, cfg, dp);
  std::vector<std::unique_ptr<boost::asio::steady_timer>> retry(seq->size());  // after io
  // Runs on this (control) thread: the fsync never stalls the TX thread, which drops
  // (tx.drop.seq_reserve) rather than pass the reserved limit.
  std::function<void(size_t)> reserveMore = [&](size_t path) {
    SeqReservation& r = (*seq)[path];
    const uint64_t next = nextSeqReservation(r.limit, cfg.state.sequenceBlock, r.esn);
    if (next <= r.limit) return;  // the end of the sequence space (RFC 4303 3.3.3)
    if (Status s = r.file->reserve(next); !s) {
      BRAID_LOG(kError, "edge") << "cannot reserve ESP sequence numbers: " << s.message()
                                << "; retrying in 1 s (beyond " << r.limit
                                << " packets are dropped as tx.drop.seq_reserve)";
      if (!retry[path]) retry[path] = std::make_unique<boost::asio::steady_timer>(io);
      retry[path]->expires_after(std::chrono::seconds(1));
      retry[path]->async_wait([&reserveMore, path](const boost::system::error_code& ec) {
        if (!ec) reserveMore(path);
      });
      return;
    }
    const uint64_t requestAt = r.limit + (next - r.limit) / 2;
    r.limit = next;
    dp.setSequenceLimit(path, next, requestAt);
  };
  dp.setSeqReserveHandler([&io, &reserveMore](size_t path, uint64_t) {
    boost::asio::post(io, [&reserveMore, path] { reserveMore(path); });
  });
  std::unique_ptr<IkeDriver> ike;
  if (cfg.hasIkePaths()) {
    ike = std::make_unique<IkeDriver>(io, cfg, dp, fds);
    if (Status s = ike->open(); !s) {
      BRAID_LOG(kError, "edge") << "IKE: " << s.message();
      return 1;
    }
    pathControl.setLivenessHooks(
        {[&cfg](size_t path) { return cfg.ikePathAt(path); },
         [i = ike.get()](size_t path, bool resend) { i->checkLiveness(path, resend); },
         [i = ike.get()](size_t path) { return i->lastPeerMessage(path); },
         [i = ike.get()](size_t path) { return i->lastPeerResponse(path); }});
    ike->setKeyingHandler([&pathControl](size_t path, bool keyed, bool shim, bool responder) {
      if (keyed) {
        pathControl.keyed(path, shim, responder);
      } else {
        pathControl.unkeyed(path);
      }
    });
  }
  // Manual keys are installed for good: those paths are keyed from the start.
  {
    size_t i = 0;
    for (const PeerConfig& peer : cfg.peers) {
      for (const PathConfig& path : peer.paths) {
        if (path.manual) pathControl.keyed(i, path.manual->braidShim);
        ++i;
      }
    }
  }
  std::unique_ptr<MetricsServer> metricsServer;  // [metrics]: the Prometheus endpoint
  if (cfg.metrics) {
    auto m = startMetricsEndpoint(io, cfg, dp, ike.get(), &pathControl, budgets.get());
    if (!m) {
      BRAID_LOG(kError, "edge") << m.status().message();
      return 1;
    }
    metricsServer = std::move(*m);
  }
  std::unique_ptr<ControlServer> controlServer;  // [control]: braidctl's socket
  if (!cfg.control.socket.empty()) {
    auto c = startDaemonControl(
        io, cfg, dp, pathControl, ike.get(),
        [&] { return reloadPolicy(cfg, options.configPath, dp, budgets.get(), "braidctl reload"); },
        budgets.get());
    if (c) {
      controlServer = std::move(*c);
    } else if (cfg.control.configured) {
      BRAID_LOG(kError, "edge") << c.status().message();
      return 1;
    } else {
      BRAID_LOG(kWarn, "edge") << c.status().message() << "; braidctl cannot reach this braidd";
    }
  }
  boost::asio::signal_set stopSignals(io, SIGINT, SIGTERM);
  boost::asio::signal_set usr1(io, SIGUSR1);
  boost::asio::signal_set hup(io, SIGHUP);
  stopSignals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    BRAID_LOG(kInfo, "edge") << "signal " << sig << ": shutting down";
    usr1.cancel();
    hup.cancel();
    io.stop();
  });
  // SIGHUP: the policy ([[class]], [[rule]], [policy]) is applied without touching tunnels
  // or unaffected flows; anything else that changed waits for a restart (logged).
  std::function<void()> armHup = [&] {
    hup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      (void)reloadPolicy(cfg, options.configPath, dp, budgets.get());
      armHup();
    });
  };
  armHup();
  std::function<void()> armUsr1 = [&] {
    usr1.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      DataPlaneStats s = dp.snapshot();
      BRAID_LOG(kInfo, "stats") << summarizeStats(s);
      writeStatsFile(options.statsFile, s, ike.get(), &pathControl, budgets.get());
      armUsr1();
    });
  };
  armUsr1();

  dp.start();
  pathControl.start();
  budgets->start(io, dp.activity(), [&pathControl](size_t uplink, policy::BudgetUse use) {
    pathControl.setUplinkBudget(uplink, use);
  });
  // Carrier loss, an interface down or the uplink's address removed: its paths are down at
  // once, without waiting for missed probes (docs/multipath.md "Link events").
  std::vector<IpAddress> uplinkAddresses;
  std::vector<bool> follow;
  for (const UplinkConfig& u : cfg.uplinks) {
    uplinkAddresses.push_back(u.localAddress);
    follow.push_back(u.followAddress);
  }
  // follow_address: renumbering moves the uplink's socket (same descriptor for the workers),
  // then its IKE SAs (MOBIKE, else re-established; docs/configuration.md).
  auto moved = [&](size_t uplink, const IpAddress& address) {
    const UplinkConfig& u = cfg.uplinks[uplink];
    BRAID_LOG(kWarn, "path") << "uplink " << u.name << ": address now " << address.toString()
                             << " (netlink, follow_address)";
    if (Status s = sockets[uplink].rebind(address, u.port, dpc.socketBuffer, gro); !s) {
      BRAID_LOG(kError, "edge") << "uplink " << u.name << ": " << s.message();
      return;
    }
    if (ike) ike->localAddressChanged(uplink, address);
  };
  auto linkMonitor = LinkMonitor::open(
      io, uplinkAddresses,
      [&](size_t uplink, bool usable) {
        BRAID_LOG(kWarn, "path") << "uplink " << cfg.uplinks[uplink].name << ": "
                                 << (usable ? "link and address back"
                                            : "link down or address removed")
                                 << " (netlink)";
        pathControl.setUplinkUsable(uplink, usable);
      },
      follow, moved);
  if (!linkMonitor.isOk()) {
    BRAID_LOG(kWarn, "edge") << "no link events (" << linkMonitor.status().message()
                             << "): paths are judged by their probes only";
  }
  if (ike) ike->start();
  writeStatsFile(options.statsFile, dp.snapshot(), ike.get(), &pathControl, budgets.get());
  BRAID_LOG(kInfo, "edge") << "braidd running: " << tun->name() << " mtu " << cfg.overlay.mtu
                           << ", " << paths.size() << " path(s)";
  io.run();

  if (ike) ike->shutdown();  // Delete to the peers while the sockets still work
  pathControl.stop();
  dp.stop();
  budgets->stop();  // after the data threads: their last bytes count
  DataPlaneStats final = dp.snapshot();
  BRAID_LOG(kInfo, "stats") << summarizeStats(final);
  writeStatsFile(options.statsFile, final, ike.get(), &pathControl, budgets.get());
  overlay.undo();
  return 0;
}

}  // namespace braid::edge
