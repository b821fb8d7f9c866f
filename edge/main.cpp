// braidd: the braid site daemon.
//   braidd --config FILE [--stats-file FILE]   run
//   braidd --check --config FILE                validate the configuration only
// Exit codes: 0 ok, 1 runtime failure, 2 bad configuration or usage (nothing touched).
#include <cstring>
#include <iostream>
#include <string>

#include "core/log.hpp"
#include "edge/config.hpp"
#include "edge/daemon.hpp"

namespace {

void usage(std::ostream& os) {
  os << "usage: braidd --config FILE [--check] [--stats-file FILE]\n"
        "  --config FILE      TOML configuration (docs/configuration.md)\n"
        "  --check            validate the configuration and exit (0 valid, 2 invalid)\n"
        "  --stats-file FILE  write data-plane counters to FILE at start, on SIGUSR1 and at "
        "exit\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string configPath;
  bool check = false;
  braid::edge::DaemonOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      configPath = argv[++i];
    } else if (a == "--stats-file" && i + 1 < argc) {
      options.statsFile = argv[++i];
    } else if (a == "--check") {
      check = true;
    } else if (a == "--help" || a == "-h") {
      usage(std::cout);
      return 0;
    } else {
      std::cerr << "braidd: unknown or incomplete argument '" << a << "'\n";
      usage(std::cerr);
      return 2;
    }
  }
  if (configPath.empty()) {
    usage(std::cerr);
    return 2;
  }
  auto cfg = braid::edge::loadConfigFile(configPath);
  if (!cfg) {
    std::cerr << cfg.status().message() << "\n";
    return 2;
  }
  if (check) {
    std::cout << configPath << ": configuration is valid\n";
    return 0;
  }
  braid::Logger::instance().setLevel(cfg->logLevel);
  options.configPath = configPath;
  return braid::edge::runDaemon(*cfg, options);
}
