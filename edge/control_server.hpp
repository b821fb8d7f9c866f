// braidd's control socket for braidctl: a unix stream socket served on the daemon's Asio
// (control) thread. Requests are lines (edge/control_commands.hpp) answered one at a time
// per connection; a line longer than kMaxControlRequest or a malformed one gets an error
// response. Access is the file's: mode 0660, owner root, group `group` if configured (the
// socket is created under umask 0177 so no one else can connect even for an instant).
// The data plane is never waited on here beyond what a stats snapshot takes.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "edge/control_commands.hpp"

namespace braid::edge {

// What the daemon offers the socket (narrow on purpose: requests in, JSON lines out).
class ControlHandler {
 public:
  virtual ~ControlHandler() = default;
  using Reply = std::function<void(std::string json)>;
  // On the Asio thread. Calls `reply` exactly once, at once or later on the Asio thread.
  virtual void handle(const ControlRequest& request, Reply reply) = 0;
};

struct ControlServerOptions {
  std::string path;
  std::string group;  // "" = root only
  size_t maxSessions = 16;
};

struct ControlServerCounters {
  uint64_t sessions = 0;
  uint64_t refused = 0;  // over maxSessions
  uint64_t requests = 0;
  uint64_t badRequests = 0;  // malformed or too long
};

class ControlServer {
 public:
  // Creates the socket file (and its directory, mode 0755, if missing). A stale socket file
  // is replaced; one that a running daemon answers on is an error, as is any other file.
  static Result<std::unique_ptr<ControlServer>> start(boost::asio::io_context& io,
                                                      ControlServerOptions options,
                                                      std::shared_ptr<ControlHandler> handler);
  ~ControlServer();  // closes every connection and removes the socket file
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  const ControlServerCounters& counters() const;

  struct Impl;

 private:
  explicit ControlServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

class DataPlane;
class PathControl;
class IkeDriver;
class UplinkBudgets;
struct Config;

// braidd's handler for config.control: status and sas from the path monitor, the IKE driver
// and a data-plane snapshot, classes and flows from the TX thread (DataPlane::
// inspectSteering), path down|up through PathControl::setAdminDown, reload through `reload`
// (the daemon's SIGHUP code: what was done, or the new file's errors), metrics as the
// scrape renders them (`budgets` for braid_uplink_budget_*). `ike`, `budgets` may be null.
using ControlReload = std::function<Result<std::string>()>;
Result<std::unique_ptr<ControlServer>> startDaemonControl(boost::asio::io_context& io,
                                                          const Config& config, DataPlane& dp,
                                                          PathControl& paths, const IkeDriver* ike,
                                                          ControlReload reload,
                                                          const UplinkBudgets* budgets = nullptr);

}  // namespace braid::edge
