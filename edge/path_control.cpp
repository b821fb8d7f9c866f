#include "edge/path_control.hpp"

#include <boost/asio/post.hpp>
#include <cstdio>
#include <sstream>

#include "core/log.hpp"
#include "edge/path_view.hpp"
#include "edge/steering.hpp"

namespace braid::edge {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

// Poll period of the data threads' figures: passive liveness is only as fresh as this, and
// it is well under the 20 ms probe interval so that data still counts before a probe would.
constexpr Duration kPollPeriod = milliseconds(5);
// A path that sent no data for this long is idle (slow probes).
constexpr Duration kIdleAfter = std::chrono::seconds(2);
constexpr Duration kViewsPeriod = milliseconds(100);
// While a failover's flows move: how often those still pinned to the path are counted.
constexpr Duration kFlowCountPeriod = milliseconds(10);

double ms(Duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

}  // namespace

std::string failoverLine(std::string_view path, pathmon::PathState to, pathmon::PathCause cause,
                         size_t flows) {
  return "failover from " + std::string(path) + " (" + pathmon::pathStateName(to) + ", " +
         pathmon::pathCauseName(cause) + "): " + std::to_string(flows) +
         (flows == 1 ? " flow moved" : " flows moved");
}

bool isFailover(pathmon::PathState from, pathmon::PathState to) {
  using S = pathmon::PathState;
  const bool carrying = from == S::kUp || from == S::kDegraded || from == S::kProbing;
  return carrying && (to == S::kDead || to == S::kDown);
}

PathControl::PathControl(asio::io_context& io, const Config& config, DataPlane& dp)
    : io_(io),
      cfg_(config),
      dp_(dp),
      timers_(io),
      sup_(clock_, timers_, *this, *this),
      pollTimer_(io),
      uplinkBudget_(config.uplinks.size(), policy::BudgetUse::kOk) {
  for (size_t i = 0; i < dp.paths().size(); ++i) {
    const PathSpec& spec = dp.paths()[i];
    Path p;
    p.name = spec.name;
    p.uplink = spec.uplink;
    p.config = config.multipath.pathmon;
    const UplinkConfig& u = config.uplinks[spec.uplink];
    if (u.probeIntervalMs) p.config.activeInterval = milliseconds(*u.probeIntervalMs);
    p.config.metered = u.metered;
    p.config.seed = config.multipath.pathmon.seed * 1000003 + i;
    p.config.probes = false;  // until keyed with the shim
    paths_.push_back(std::move(p));
    sup_.addPath(pathmon::PathId(i), paths_.back().config);
  }
  failovers_ = FailoverTracker(paths_.size());
}

PathControl::~PathControl() {
  stop();
}

void PathControl::start() {
  if (running_) return;
  running_ = true;
  dp_.setProbeHandler([this](size_t path, Bytes m, TimePoint rx) {
    // RX thread: copy and hand over; the supervisor lives on this object's thread.
    asio::post(io_, [this, path, copy = std::vector<uint8_t>(m.begin(), m.end()), rx] {
      if (running_ && path < paths_.size()) sup_.onProbeBytes(pathmon::PathId(path), copy, rx);
    });
  });
  publishViews();
  armPoll();
}

void PathControl::stop() {
  if (!running_) return;
  running_ = false;
  pollTimer_.cancel();
}

void PathControl::keyed(size_t path, bool shim, bool waitForPeer) {
  if (path >= paths_.size()) return;
  Path& p = paths_[path];
  p.shim = shim;
  dp_.setPathShim(path, shim);
  // Without the shim there are no probes: an IKE SA to check with makes the path's death
  // visible from ESP silence (pathmon espSilence); manual keys and road warriors have none.
  const Duration silence = !shim && liveness_.covers && liveness_.covers(path)
                               ? cfg_.multipath.pathmon.espSilence
                               : Duration::zero();
  if (p.config.probes != shim || p.config.espSilence != silence) {
    p.config.probes = shim;
    p.config.espSilence = silence;
    const bool admin = sup_.adminDown(pathmon::PathId(path));
    sup_.addPath(pathmon::PathId(path), p.config);  // replaces: probing on or off
    if (admin) sup_.setAdminDown(pathmon::PathId(path), true);
    p.keyed = false;
  }
  if (!p.keyed) {
    p.fresh = true;
    if (shim && waitForPeer) {
      // The peer has no SA until our IKE_AUTH response arrives: probes sent now would be
      // dropped there as an unknown SPI (RFC 4303 3.4.2). poll() starts them.
      p.keyed = true;
      p.waiting = true;
      p.keyedAt = clock_.now();
      p.lastRxNs = dp_.activity().rxLastNs[path].load(std::memory_order_relaxed);
      return;
    }
  }
  p.keyed = true;
  p.waiting = false;
  sup_.setKeyed(pathmon::PathId(path), true);
  publishViews();
}

void PathControl::unkeyed(size_t path) {
  if (path >= paths_.size()) return;
  Path& p = paths_[path];
  p.keyed = false;
  p.waiting = false;
  p.fresh = false;
  sup_.setKeyed(pathmon::PathId(path), false);
  publishViews();
}

void PathControl::setAdminDown(size_t path, bool down) {
  if (path >= paths_.size()) return;
  sup_.setAdminDown(pathmon::PathId(path), down);  // onPathEvent republishes the views
  publishViews();                                  // also when the state did not change
}

void PathControl::setUplinkUsable(size_t uplink, bool usable) {
  for (size_t path = 0; path < paths_.size(); ++path) {
    if (paths_[path].uplink == uplink) sup_.setLinkUp(pathmon::PathId(path), usable);
  }
  publishViews();
}

void PathControl::setUplinkBudget(size_t uplink, policy::BudgetUse use) {
  if (uplink >= uplinkBudget_.size() || uplinkBudget_[uplink] == use) return;
  uplinkBudget_[uplink] = use;
  publishViews();  // the engines move flows off (or back) in the same turn
}

void PathControl::sendProbe(pathmon::PathId path, Bytes shim) {
  if (path < paths_.size() && paths_[path].keyed) {
    dp_.sendShim(path, std::vector<uint8_t>(shim.begin(), shim.end()));
  }
}

void PathControl::checkLiveness(pathmon::PathId path, bool resend) {
  // Posted: the IKE core may report events (keying) that reach the supervisor.
  if (path < paths_.size() && paths_[path].keyed && liveness_.check) {
    asio::post(io_, [this, path, resend] {
      if (running_) liveness_.check(path, resend);
    });
  }
}

void PathControl::onPathEvent(const pathmon::PathEvent& e) {
  if (e.path >= paths_.size()) return;
  Path& p = paths_[e.path];
  ++counters_.events;
  if (e.to == pathmon::PathState::kDead) ++counters_.deaths;
  if (e.to == pathmon::PathState::kUp || e.to == pathmon::PathState::kDead) p.fresh = false;
  if (e.to == pathmon::PathState::kUp && e.from == pathmon::PathState::kProbing &&
      e.cause == pathmon::PathCause::kProbesAnswered) {
    ++counters_.recoveries;
  }
  // One line per change, with what caused it and the figures at that moment.
  char figures[160];
  char alive[48] = "no proof of life yet";
  if (e.silence < std::chrono::hours(1)) {
    std::snprintf(alive, sizeof alive, "last proof of life %.0f ms ago", ms(e.silence));
  }
  std::snprintf(figures, sizeof figures, "srtt %.1f ms, loss %.1f %%, %s, %u probe(s) missed",
                ms(e.srtt), e.loss * 100, alive, e.missStreak);
  std::string hold;
  if (e.holdDown.count() > 0)
    hold = "; hold-down " + std::to_string(int64_t(ms(e.holdDown))) + " ms";
  const LogLevel level = e.to == pathmon::PathState::kDead ? LogLevel::kWarn : LogLevel::kInfo;
  if (Logger::instance().enabled(level)) {
    LogLine(level, "path") << "path " << p.name << ": " << pathmon::pathStateName(e.from) << " -> "
                           << pathmon::pathStateName(e.to) << " ("
                           << pathmon::pathCauseName(e.cause) << "; " << figures << hold << ")";
  }
  if (isFailover(e.from, e.to)) {
    // Timed from here: the detection is the silence before a death (a Down is learnt at
    // once), the move lasts until the flows counted below have left (poll() counts again).
    failovers_.onFailover(e.path, e.cause, e.at,
                          e.to == pathmon::PathState::kDead ? e.silence : Duration::zero());
    // Counted on the TX thread before the new views reach it (posted first): the flows
    // pinned to the path, each moved by its next packet. Logged back on this thread.
    dp_.inspectSteering(
        [this, path = e.path, name = p.name, to = e.to, cause = e.cause](const Steering& s) {
          const size_t flows = s.flowsOn(path);
          asio::post(io_, [this, path, flows, line = failoverLine(name, to, cause, flows)] {
            BRAID_LOG(kWarn, "path") << line;
            if (running_) failovers_.onFlows(path, clock_.now(), flows);
          });
        });
  } else if (e.to == pathmon::PathState::kUp || e.to == pathmon::PathState::kDegraded) {
    failovers_.stop(e.path);
  }
  publishViews();  // in the same turn: the next packet already avoids a dead path
}

void PathControl::onSuspect(pathmon::PathId path, bool suspect, TimePoint /*at*/) {
  if (path >= paths_.size()) return;
  // Debug only: with a few percent probe loss this happens several times a second.
  BRAID_LOG(kDebug, "path") << "path " << paths_[path].name
                            << (suspect ? ": suspect (an answer is overdue)" : ": heard again");
  publishViews();  // now: real-time classes copy while the path is suspect
}

policy::PathView PathControl::view(size_t path) const {
  const Path& p = paths_[path];
  const UplinkConfig& u = cfg_.uplinks[p.uplink];
  policy::PathView v =
      monitorView(policy::PathId(path), sup_.stats(pathmon::PathId(path)), p.fresh, u.egressKbps);
  v.keyed = p.keyed;
  v.metered = u.metered;
  v.budget = uplinkBudget_[p.uplink];
  return v;
}

void PathControl::publishViews() {
  std::vector<policy::PathView> views;
  views.reserve(paths_.size());
  for (size_t i = 0; i < paths_.size(); ++i) views.push_back(view(i));
  dp_.setPathViews(std::move(views));
  lastViews_ = clock_.now();
}

void PathControl::armPoll() {
  pollTimer_.expires_after(kPollPeriod);
  pollTimer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !running_) return;
    poll();
    armPoll();
  });
}

void PathControl::poll() {
  const TimePoint now = clock_.now();
  const PathActivity& a = dp_.activity();
  for (size_t i = 0; i < paths_.size(); ++i) {
    Path& p = paths_[i];
    const int64_t rx = a.rxLastNs[i].load(std::memory_order_relaxed);
    if (p.waiting && (rx != p.lastRxNs || now - p.keyedAt >= std::chrono::seconds(1))) {
      p.waiting = false;
      sup_.setKeyed(pathmon::PathId(i), true);
      publishViews();
    }
    if (rx != p.lastRxNs) {
      p.lastRxNs = rx;
      if (p.keyed && !p.waiting) {
        sup_.onTraffic(pathmon::PathId(i), TimePoint(std::chrono::nanoseconds(rx)));
      }
    }
    if (p.keyed && !p.shim && p.config.espSilence > Duration::zero() && liveness_.lastMessage) {
      const TimePoint ike = liveness_.lastMessage(i);
      if (ike != p.lastIke) {
        p.lastIke = ike;
        sup_.onTraffic(pathmon::PathId(i), ike);
      }
      const TimePoint answer = liveness_.lastResponse ? liveness_.lastResponse(i) : TimePoint{};
      if (answer != p.lastIkeResponse) {
        p.lastIkeResponse = answer;
        sup_.onRoundTrip(pathmon::PathId(i), answer);
      }
    }
    // Replies report our received bytes, probes keep our sent ones (measured capacity).
    sup_.setByteCounts(pathmon::PathId(i), a.txWireBytes[i].load(std::memory_order_relaxed),
                       a.rxWireBytes[i].load(std::memory_order_relaxed));
    const uint64_t tx = a.txPackets[i].load(std::memory_order_relaxed);
    if (tx != p.lastTx) {
      p.lastTx = tx;
      p.lastActive = now;
    }
    const bool active = p.keyed && now - p.lastActive < kIdleAfter && p.lastActive != TimePoint{};
    if (active != p.active) {
      p.active = active;
      sup_.setActive(pathmon::PathId(i), active);
    }
  }
  if (now - lastViews_ >= kViewsPeriod) publishViews();
  countFailoverFlows(now);
}

void PathControl::countFailoverFlows(TimePoint now) {
  // While a failover's flows are leaving a path, count those still pinned every 10 ms (one
  // count in flight; a walk of the flow table on the TX thread, between batches).
  if (flowCountOut_ || now - lastFlowCount_ < kFlowCountPeriod) return;
  std::vector<size_t> moving;
  for (size_t i = 0; i < paths_.size(); ++i) {
    if (failovers_.moving(i)) moving.push_back(i);
  }
  if (moving.empty()) return;
  lastFlowCount_ = now;
  flowCountOut_ = true;
  dp_.inspectSteering([this, moving = std::move(moving)](const Steering& s) {
    std::vector<size_t> flows;
    for (size_t path : moving) flows.push_back(s.flowsOn(path));
    asio::post(io_, [this, moving, flows = std::move(flows)] {
      flowCountOut_ = false;
      if (!running_) return;
      const TimePoint at = clock_.now();
      for (size_t i = 0; i < moving.size(); ++i) failovers_.onFlows(moving[i], at, flows[i]);
    });
  });
}

PathExtraStats PathControl::extraStats(size_t path) const {
  PathExtraStats x;
  x.rtt = rttHistogram(sup_.stats(pathmon::PathId(path)));
  x.failover = failovers_.stats(path);
  x.shim = paths_[path].shim;
  x.active = paths_[path].active;
  return x;
}

std::string PathControl::formatStats() const {
  std::vector<std::string> names;
  std::vector<pathmon::PathStats> monitor;
  std::vector<PathExtraStats> extras;
  std::string out;
  for (size_t i = 0; i < paths_.size(); ++i) {
    names.push_back(paths_[i].name);
    monitor.push_back(sup_.stats(pathmon::PathId(i)));
    extras.push_back(extraStats(i));
    out +=
        "path." + paths_[i].name + ".state " + pathmon::pathStateName(monitor.back().state) + "\n";
  }
  return out + pathStatsFile(names, monitor, extras, counters_);
}

}  // namespace braid::edge
