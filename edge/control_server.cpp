#include "edge/control_server.hpp"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <list>

#include "core/log.hpp"
#include "edge/config.hpp"
#include "edge/dataplane.hpp"
#include "edge/ike_driver.hpp"
#include "edge/metrics_export.hpp"
#include "edge/path_control.hpp"
#include "edge/steering.hpp"

#ifndef BRAID_VERSION
#define BRAID_VERSION "dev"
#endif

namespace braid::edge {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;

namespace {

std::string errnoText(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// A socket file that some process accepts on.
bool answers(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.c_str(), std::min(path.size(), sizeof a.sun_path - 1));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

struct ControlServer::Impl : std::enable_shared_from_this<Impl> {
  struct Session : std::enable_shared_from_this<Session> {
    Session(Local::socket s, std::weak_ptr<Impl> o)
        : socket(std::move(s)), owner(std::move(o)), buffer(kMaxControlRequest + 1) {}
    Local::socket socket;
    std::weak_ptr<Impl> owner;
    asio::streambuf buffer;
    std::string out;
  };

  Impl(asio::io_context& io, ControlServerOptions o, std::shared_ptr<ControlHandler> h)
      : options(std::move(o)), handler(std::move(h)), acceptor(io) {}

  void accept() {
    acceptor.async_accept(
        [self = shared_from_this()](const boost::system::error_code& ec, Local::socket s) {
          if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
          if (!ec) self->admit(std::move(s));
          self->accept();
        });
  }

  void admit(Local::socket s) {
    std::erase_if(sessions, [](const std::weak_ptr<Session>& w) { return w.expired(); });
    if (sessions.size() >= options.maxSessions) {
      ++counters.refused;
      auto line =
          std::make_shared<std::string>(controlError("too many braidctl connections (" +
                                                     std::to_string(options.maxSessions) + ")") +
                                        "\n");
      auto sock = std::make_shared<Local::socket>(std::move(s));
      asio::async_write(*sock, asio::buffer(*line),
                        [sock, line](const boost::system::error_code&, size_t) {});
      return;
    }
    ++counters.sessions;
    auto session = std::make_shared<Session>(std::move(s), weak_from_this());
    sessions.push_back(session);
    read(session);
  }

  static void read(const std::shared_ptr<Session>& s) {
    asio::async_read_until(
        s->socket, s->buffer, '\n', [s](const boost::system::error_code& ec, size_t n) {
          auto self = s->owner.lock();
          if (!self) return;
          if (ec == asio::error::not_found) {
            // The line did not fit: answer and hang up (no resynchronising on a stream).
            ++self->counters.badRequests;
            write(s,
                  controlError("request longer than " + std::to_string(kMaxControlRequest) +
                               " bytes"),
                  false);
            return;
          }
          if (ec) return;  // closed (EOF) or failed: the session ends
          std::string line(asio::buffers_begin(s->buffer.data()),
                           asio::buffers_begin(s->buffer.data()) + std::ptrdiff_t(n) - 1);
          s->buffer.consume(n);
          ++self->counters.requests;
          auto req = parseControlRequest(line);
          if (!req) {
            ++self->counters.badRequests;
            write(s, controlError(req.status().message()), true);
            return;
          }
          self->handler->handle(*req, [s](std::string json) { write(s, std::move(json), true); });
        });
  }

  static void write(const std::shared_ptr<Session>& s, std::string json, bool more) {
    s->out = std::move(json);
    s->out += '\n';
    asio::async_write(s->socket, asio::buffer(s->out),
                      [s, more](const boost::system::error_code& ec, size_t) {
                        if (ec || !more || s->owner.expired()) {
                          boost::system::error_code ignored;
                          s->socket.close(ignored);
                          return;
                        }
                        read(s);
                      });
  }

  void close() {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    for (auto& w : sessions) {
      if (auto s = w.lock()) s->socket.close(ignored);
    }
    sessions.clear();
  }

  ControlServerOptions options;
  std::shared_ptr<ControlHandler> handler;
  Local::acceptor acceptor;
  std::list<std::weak_ptr<Session>> sessions;
  ControlServerCounters counters;
  bool created = false;  // the socket file is ours to remove
};

Result<std::unique_ptr<ControlServer>> ControlServer::start(
    asio::io_context& io, ControlServerOptions options, std::shared_ptr<ControlHandler> handler) {
  const std::string path = options.path;
  const std::string what = "control socket " + path;
  if (path.empty() || path[0] != '/' || path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return errorStatus(ErrorCode::kInvalidArgument, what + ": expected an absolute path");
  }
  gid_t gid = 0;
  if (!options.group.empty()) {
    const group* g = ::getgrnam(options.group.c_str());
    if (g == nullptr) {
      return errorStatus(ErrorCode::kNotFound, what + ": no group '" + options.group + "'");
    }
    gid = g->gr_gid;
  }
  // The directory (one level, as systemd's RuntimeDirectory would make it).
  const std::string dir = path.substr(0, path.rfind('/'));
  if (!dir.empty() && ::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return errorStatus(ErrorCode::kIoError, errnoText(what + ": cannot create " + dir));
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return errorStatus(ErrorCode::kAlreadyExists, what + ": exists and is not a socket");
    }
    if (answers(path)) {
      return errorStatus(ErrorCode::kAlreadyExists,
                         what + ": another process (a running braidd?) answers on it");
    }
    ::unlink(path.c_str());  // stale, from a daemon that did not exit cleanly
  }
  auto impl = std::make_shared<Impl>(io, std::move(options), std::move(handler));
  boost::system::error_code ec;
  impl->acceptor.open(Local(), ec);
  if (!ec) {
    // Only root may connect until the mode and group are set (no window for others).
    const mode_t old = ::umask(0177);
    impl->acceptor.bind(Local::endpoint(path), ec);
    ::umask(old);
  }
  if (ec) return errorStatus(ErrorCode::kIoError, what + ": " + ec.message());
  impl->created = true;
  auto fail = [&](const std::string& text) {
    ::unlink(path.c_str());
    return errorStatus(ErrorCode::kIoError, text);
  };
  if (!impl->options.group.empty() && ::chown(path.c_str(), uid_t(-1), gid) != 0) {
    return fail(errnoText(what + ": chown"));
  }
  if (::chmod(path.c_str(), 0660) != 0) return fail(errnoText(what + ": chmod"));
  impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(what + ": " + ec.message());
  impl->accept();
  BRAID_LOG(kInfo, "edge") << what << " (mode 0660, group "
                           << (impl->options.group.empty() ? "root" : impl->options.group) << ")";
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(impl)));
}

ControlServer::ControlServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

ControlServer::~ControlServer() {
  impl_->close();
  if (impl_->created) ::unlink(impl_->options.path.c_str());
}

const ControlServerCounters& ControlServer::counters() const {
  return impl_->counters;
}

namespace {

class DaemonControl final : public ControlHandler {
 public:
  DaemonControl(asio::io_context& io, const Config& cfg, DataPlane& dp, PathControl& paths,
                const IkeDriver* ike, ControlReload reload, const UplinkBudgets* budgets)
      : io_(io),
        cfg_(cfg),
        dp_(dp),
        paths_(paths),
        ike_(ike),
        reload_(std::move(reload)),
        budgets_(budgets) {
    for (const PathSpec& p : dp.paths()) {
      if (p.peer >= peerNames_.size()) peerNames_.resize(p.peer + 1);
      peerNames_[p.peer] = p.name.substr(0, p.name.find('/'));
    }
    size_t i = 0;
    for (const PeerConfig& peer : cfg.peers) {
      for (const PathConfig& path : peer.paths) {
        manual_.resize(i + 1);
        manual_[i++] = path.manual.has_value();
      }
    }
  }

  void handle(const ControlRequest& r, Reply reply) override {
    switch (r.verb) {
      case ControlVerb::kStatus:
      case ControlVerb::kSas:
      case ControlVerb::kFlows: {
        // Classes and flows are the TX thread's: ask it, finish here when it has answered.
        const ControlVerb verb = r.verb;
        const size_t maxFlows = verb == ControlVerb::kFlows ? 20 : 0;
        dp_.inspectSteering([this, verb, maxFlows, reply = std::move(reply)](const Steering& s) {
          PolicyView v = inspectPolicy(s, dp_.paths(), peerNames_, maxFlows, SteadyClock().now());
          asio::post(io_, [this, verb, reply, v = std::move(v)] { finish(verb, v, reply); });
        });
        return;
      }
      case ControlVerb::kPathDown:
      case ControlVerb::kPathUp:
        reply(adminPath(r.arg, r.verb == ControlVerb::kPathDown));
        return;
      case ControlVerb::kReload: {
        auto done = reload_ ? reload_()
                            : Result<std::string>(
                                  errorStatus(ErrorCode::kUnavailable, "no configuration file"));
        reply(done ? controlDone("reload", *done)
                   : controlError("reload refused, the running configuration stays:\n" +
                                  done.status().message()));
        return;
      }
      case ControlVerb::kMetrics:
        reply(metrics());
        return;
      case ControlVerb::kCount:
        break;
    }
    reply(controlError("unknown command"));
  }

 private:
  void finish(ControlVerb verb, const PolicyView& v, const Reply& reply) {
    if (verb == ControlVerb::kFlows) {
      reply(controlFlowsResponse(v.flows));
      return;
    }
    ControlStatus s;
    s.version = BRAID_VERSION;
    s.uptimeSeconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    s.flows = v.flows.total;
    for (const UplinkConfig& u : cfg_.uplinks) {
      s.uplinks.push_back({u.name, SockAddr::from(u.localAddress, u.port).toString(), u.metered});
    }
    IkeStats ike;
    if (ike_ != nullptr) ike = ike_->stats();
    const DataPlaneStats dps = dp_.snapshot();
    const std::vector<PathSpec>& specs = dp_.paths();
    for (size_t i = 0; i < specs.size() && i < paths_.pathCount(); ++i) {
      const PathSpec& spec = specs[i];
      ControlPath p;
      p.name = spec.name;
      p.peer = spec.peer < peerNames_.size() ? peerNames_[spec.peer] : "";
      const UplinkConfig* u =
          spec.uplink < cfg_.uplinks.size() ? &cfg_.uplinks[spec.uplink] : nullptr;
      p.uplink = u != nullptr ? u->name : "";
      p.local = u != nullptr ? SockAddr::from(u->localAddress, u->port).toString() : "";
      p.remote = spec.remote.toString();
      const pathmon::PathStats st = paths_.stats(i);
      p.state = pathmon::pathStateName(st.state);
      p.adminDown = paths_.adminDown(i);
      auto ms = [](Duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
      p.rttMs = ms(st.srtt);
      p.jitterMs = ms(std::max(st.rttJitter, st.inboundJitter));
      p.loss = st.loss;
      p.keying = i < manual_.size() && manual_[i] ? "manual" : "-";
      for (const IkePathStats& ip : ike.paths) {
        if (ip.name == spec.name) p.keying = ip.state;
      }
      if (i < v.classesByPath.size()) p.classes = v.classesByPath[i];
      for (const SaStats& sa : dps.sas) {
        if (sa.path != spec.name) continue;
        ControlSa c;
        c.spi = sa.spi;
        c.inbound = sa.inbound;
        c.packets = sa.inbound ? sa.esp.packetsOpened : sa.esp.packetsSealed;
        c.bytes = sa.inbound ? sa.esp.bytesOpened : sa.esp.bytesSealed;
        for (uint64_t d : sa.esp.drops) c.drops += d;
        p.sas.push_back(c);
      }
      if (verb == ControlVerb::kSas && ike_ != nullptr) {
        p.ikeSas = ike_->describeSas(spec.name);
        // The data plane's counts are newer than the IKE core's (polled every second).
        for (ControlIkeSa& sa : p.ikeSas) {
          for (ControlChildSa& c : sa.children) {
            for (const SaStats& d : dps.sas) {
              if (d.inbound && d.spi == c.spiIn) {
                c.bytesIn = d.esp.bytesOpened;
                c.packetsIn = d.esp.packetsOpened;
              } else if (!d.inbound && d.spi == c.spiOut) {
                c.bytesOut = d.esp.bytesSealed;
                c.packetsOut = d.esp.packetsSealed;
              }
            }
          }
        }
      }
      s.paths.push_back(std::move(p));
    }
    reply(controlStatusResponse(controlVerbName(verb), s));
  }

  // The whole registry as JSON, from braidd's own exporter (the scrape's tables and inputs;
  // built at the first request, so that braidctl works without [metrics] too).
  std::string metrics() {
    if (!exporter_) {
      auto e = MetricsExporter::create(cfg_);
      if (!e) return controlError("metrics: " + e.status().message());
      exporter_ = std::move(*e);
      exporter_->setBudgets(budgets_);
      exporter_->setPathControl(&paths_);
    }
    return controlMetricsResponse(
        renderMetrics(*exporter_, metrics::Format::kJson, dp_, ike_, &paths_));
  }

  // NAME: a path ("peer/uplink") or an uplink (all of its paths).
  std::string adminPath(const std::string& name, bool down) {
    std::vector<size_t> hit;
    std::string known;
    for (size_t i = 0; i < paths_.pathCount(); ++i) {
      const size_t u = paths_.pathUplink(i);
      const bool uplink = u < cfg_.uplinks.size() && cfg_.uplinks[u].name == name;
      if (paths_.pathName(i) == name || uplink) hit.push_back(i);
      known += (known.empty() ? "" : ", ") + paths_.pathName(i);
    }
    if (hit.empty()) {
      return controlError("no path or uplink '" + name.substr(0, 64) + "'; paths: " + known);
    }
    std::string msg;
    for (size_t i : hit) {
      const bool was = paths_.adminDown(i);
      paths_.setAdminDown(i, down);
      const std::string line =
          "path " + paths_.pathName(i) + ": " +
          (down
               ? (was ? "already administratively down" : "administratively down")
               : (was ? "administrative override cleared, probing" : "not administratively down")) +
          " (now " + pathmon::pathStateName(paths_.state(i)) + ")";
      if (was != down) {
        BRAID_LOG(kInfo, "path") << "braidctl: " << line;
      }
      msg += (msg.empty() ? "" : "\n") + line;
    }
    return controlDone(down ? "path down" : "path up", msg);
  }

  asio::io_context& io_;
  const Config& cfg_;
  DataPlane& dp_;
  PathControl& paths_;
  const IkeDriver* ike_;
  ControlReload reload_;
  const UplinkBudgets* budgets_;
  std::unique_ptr<MetricsExporter> exporter_;
  std::vector<std::string> peerNames_;
  std::vector<bool> manual_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace

Result<std::unique_ptr<ControlServer>> startDaemonControl(asio::io_context& io,
                                                          const Config& config, DataPlane& dp,
                                                          PathControl& paths, const IkeDriver* ike,
                                                          ControlReload reload,
                                                          const UplinkBudgets* budgets) {
  ControlServerOptions o;
  o.path = config.control.socket;
  o.group = config.control.group;
  return ControlServer::start(
      io, std::move(o),
      std::make_shared<DaemonControl>(io, config, dp, paths, ike, std::move(reload), budgets));
}

}  // namespace braid::edge
