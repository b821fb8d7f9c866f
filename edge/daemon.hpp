// braidd's life cycle: SAs from the configuration, TUN device and routes (netlink), one UDP
// socket per uplink, the data plane threads, and an Asio loop for signals (later IKE).
#pragma once

#include <string>

#include "edge/config.hpp"

namespace braid::edge {

struct DaemonOptions {
  std::string statsFile;   // written at start, on SIGUSR1 and at exit ("" = none)
  std::string configPath;  // read again on SIGHUP (the policy is applied; "" = no reload)
};

// Runs until SIGINT/SIGTERM. Returns the process exit code: 0 after a clean shutdown, 1 if
// start-up failed (everything created so far is removed again), 2 if the manual keys'
// sequence state ([state] directory) cannot guarantee fresh nonces (nothing touched).
int runDaemon(const Config& config, const DaemonOptions& options);

}  // namespace braid::edge
