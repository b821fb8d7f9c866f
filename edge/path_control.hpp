// PathControl: the control thread's side of multipath. It runs the path monitor
// (pathmon::PathSupervisor, no I/O) on the daemon's Asio thread and connects it to the data
// plane:
//   * probes and replies go out sealed in the path's SA (DataPlane::sendShim), probes that
//     arrive are copied on the RX thread and posted here with their receive time;
//   * passive liveness and activity: every poll it reads the data threads' per-path figures
//     (newest authenticated packet, packets sent, wire bytes each way) and tells the
//     supervisor;
//   * every path event is logged once with its cause and figures, and the path views the
//     TX thread's policy engines choose from are republished at once (the first packet
//     after a death is learnt already avoids the path) and every 100 ms for the figures.
// Keying comes from IKE (Child SA installed / removed, shim negotiated) or manual keys.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "edge/config.hpp"
#include "edge/dataplane.hpp"
#include "edge/ike_support.hpp"
#include "edge/metrics_path.hpp"
#include "pathmon/supervisor.hpp"

namespace braid::edge {

// The failover log line of a path that turned unusable (Dead or Down) with `flows` flows
// pinned to it, each of which moves at its next packet (Steering::flowsOn):
// "failover from site-b/fiber (dead, probes_lost): 3 flows moved".
std::string failoverLine(std::string_view path, pathmon::PathState to, pathmon::PathCause cause,
                         size_t flows);
// A transition that takes a carrying path out of use.
bool isFailover(pathmon::PathState from, pathmon::PathState to);

class PathControl final : public pathmon::ProbeTransport, public pathmon::PathListener {
 public:
  PathControl(boost::asio::io_context& io, const Config& config, DataPlane& dp);
  ~PathControl() override;
  PathControl(const PathControl&) = delete;
  PathControl& operator=(const PathControl&) = delete;

  // IKE's side of the liveness of paths to a standard peer (no shim, no probes): `covers`
  // says whether a path has an IKE SA to check with (not manual keys, not road warriors),
  // `check` sends an empty INFORMATIONAL there, `lastMessage` is when its IKE SA last heard
  // from the peer (proof of life, like its ESP). Set before keying starts.
  struct LivenessHooks {
    std::function<bool(size_t)> covers;
    std::function<void(size_t, bool)> check;
    std::function<TimePoint(size_t)> lastMessage;
    std::function<TimePoint(size_t)> lastResponse;  // to our requests: both directions work
  };
  void setLivenessHooks(LivenessHooks h) { liveness_ = std::move(h); }

  // Installs the probe hook and starts polling (after dp.start()).
  void start();
  void stop();

  // The path's SAs are installed; `shim`: the peer speaks the braid shim (probes on).
  // `waitForPeer` (an IKE responder): the peer installs its SAs only when our response
  // arrives, so probing starts with the first authenticated packet from it (or after 1 s).
  void keyed(size_t path, bool shim, bool waitForPeer = false);
  void unkeyed(size_t path);
  // braidctl path down|up: the supervisor holds the path Down (pathmon setAdminDown) and the
  // views are republished in the same turn, so the policy engines move flows off it.
  void setAdminDown(size_t path, bool down);
  // Netlink (edge/link_monitor): the uplink lost its carrier or address, or has them back.
  void setUplinkUsable(size_t uplink, bool usable);
  // edge/budgets: the uplink's budget is used up (a last resort, or blocked) or fine again.
  void setUplinkBudget(size_t uplink, policy::BudgetUse use);
  bool adminDown(size_t path) const { return sup_.adminDown(pathmon::PathId(path)); }

  pathmon::PathState state(size_t path) const { return sup_.state(pathmon::PathId(path)); }
  pathmon::PathStats stats(size_t path) const { return sup_.stats(pathmon::PathId(path)); }
  size_t pathCount() const { return paths_.size(); }
  const std::string& pathName(size_t path) const { return paths_[path].name; }
  bool shim(size_t path) const { return paths_[path].shim; }
  bool active(size_t path) const { return paths_[path].active; }
  // Failovers by cause and the last one's detection, move and flows, per path.
  const FailoverTracker& failovers() const { return failovers_; }
  size_t pathUplink(size_t path) const { return paths_[path].uplink; }
  // Path state changes by cause, summed over paths (for the stats file and metrics).
  using Counters = PathTotals;
  const Counters& counters() const { return counters_; }
  // The scrape's per-path figures beyond the monitor's (RTT histogram, failovers, shim).
  PathExtraStats extraStats(size_t path) const;

  // "name value" lines for the stats file: path.<peer>/<uplink>.<figure> from the scrape's
  // tables (edge/metrics_path.hpp), and path.<path>.state as a word.
  std::string formatStats() const;

 private:
  struct Path {
    std::string name;
    size_t uplink = 0;
    bool keyed = false;
    bool shim = false;
    bool fresh = false;    // keyed and not yet Up or Dead: usable while the first probes run
    bool waiting = false;  // keyed as a responder: waiting for the peer's first packet
    TimePoint keyedAt{};
    bool active = false;
    uint64_t lastTx = 0;
    int64_t lastRxNs = 0;
    TimePoint lastIke{};          // the IKE SA's last message from the peer (liveness hooks)
    TimePoint lastIkeResponse{};  // and its last response to our request
    TimePoint lastActive{};
    pathmon::PathConfig config;
  };
  void sendProbe(pathmon::PathId path, Bytes shim) override;
  void checkLiveness(pathmon::PathId path, bool resend) override;
  void onPathEvent(const pathmon::PathEvent& e) override;
  void onSuspect(pathmon::PathId path, bool suspect, TimePoint at) override;
  void poll();
  void armPoll();
  void publishViews();
  void countFailoverFlows(TimePoint now);
  policy::PathView view(size_t path) const;

  boost::asio::io_context& io_;
  const Config& cfg_;
  DataPlane& dp_;
  SteadyClock clock_;
  AsioTimers timers_;
  pathmon::PathSupervisor sup_;
  boost::asio::steady_timer pollTimer_;
  std::vector<Path> paths_;
  std::vector<policy::BudgetUse> uplinkBudget_;  // by uplink index
  LivenessHooks liveness_;
  Counters counters_;
  FailoverTracker failovers_;
  TimePoint lastFlowCount_{};
  bool flowCountOut_ = false;  // a flow count is on its way to the TX thread and back
  TimePoint lastViews_{};
  bool running_ = false;
};

}  // namespace braid::edge
