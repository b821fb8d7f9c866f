// braid-wanem: userspace WAN link emulator (daemon) and its control CLI.
//
//   braid-wanem daemon --link fiber=a-fib,a-fib-w [--link ...] [--control PATH] [--seed N]
//                      [--profile FILE] [--scenario FILE] [--threads N] [--rt]
//                      [--pool PACKETS] [--frame-size BYTES] [--log-level LEVEL]
//   braid-wanem [--control PATH] set fiber delay=40ms jitter=5ms loss=2%
//   braid-wanem [--control PATH] show | get fiber:ab fwd | run FILE | stop | links | seed
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "core/log.hpp"
#include "deploy/lab/wanem/links.hpp"
#include "deploy/lab/wanem/worker.hpp"

namespace braid::wanem {
namespace {

constexpr size_t kMaxRequest = 1 << 20;

std::string defaultControlPath() {
  const char* env = std::getenv("BRAID_WANEM_CONTROL");
  return env != nullptr && *env != 0 ? env : "/run/braid-wanem.sock";
}

int usage(int code) {
  std::fprintf(code == 0 ? stdout : stderr,
               "usage: braid-wanem daemon --link NAME=IF_A,IF_B [--link ...] [--control PATH]\n"
               "                         [--seed N] [--profile FILE] [--scenario FILE]\n"
               "                         [--threads N] [--rt] [--pool N] [--frame-size N]\n"
               "                         [--log-level trace|debug|info|warn|error]\n"
               "       braid-wanem [--control PATH] set TARGET CHANGE... | show [TARGET] |\n"
               "                   get LINK:DIR NAME | run FILE | stop | links | seed | ping\n"
               "control socket: --control, else $BRAID_WANEM_CONTROL, else "
               "/run/braid-wanem.sock\n");
  return code;
}

bool readFile(const std::string& path, std::string& out) {
  std::ifstream in(path);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

sockaddr_un controlAddress(const std::string& path, bool& ok) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ok = path.size() < sizeof(addr.sun_path);
  if (ok) std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// ---------------------------------------------------------------- CLI

int runClient(const std::string& control, std::vector<std::string> args) {
  std::string request;
  if (args[0] == "run" || args[0] == "scenario") {
    if (args.size() != 2) return usage(2);
    std::string text;
    if (args[1] == "-") {
      std::ostringstream ss;
      ss << std::cin.rdbuf();
      text = ss.str();
    } else if (!readFile(args[1], text)) {
      std::fprintf(stderr, "braid-wanem: cannot read %s\n", args[1].c_str());
      return 2;
    }
    std::string name = args[1].substr(args[1].find_last_of('/') + 1);
    request = "run " + name + "\n" + text;
  } else {
    for (const auto& a : args) request += (request.empty() ? "" : " ") + a;
    request += "\n";
  }
  bool ok;
  sockaddr_un addr = controlAddress(control, ok);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (!ok || fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::fprintf(stderr, "braid-wanem: cannot reach the daemon at %s: %s\n", control.c_str(),
                 std::strerror(errno));
    return 3;
  }
  size_t off = 0;
  while (off < request.size()) {
    ssize_t w = ::write(fd, request.data() + off, request.size() - off);
    if (w <= 0) {
      std::fprintf(stderr, "braid-wanem: write: %s\n", std::strerror(errno));
      return 3;
    }
    off += static_cast<size_t>(w);
  }
  shutdown(fd, SHUT_WR);
  std::string reply;
  char buf[4096];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof(buf));
    if (r <= 0) break;
    reply.append(buf, static_cast<size_t>(r));
  }
  ::close(fd);
  if (reply.starts_with("ERR ")) {
    std::fprintf(stderr, "braid-wanem: %s", reply.c_str() + 4);
    return 1;
  }
  std::fwrite(reply.data(), 1, reply.size(), stdout);
  return 0;
}

// ---------------------------------------------------------------- daemon

struct DaemonOptions {
  std::vector<std::pair<std::string, std::pair<std::string, std::string>>> links;
  std::string control = defaultControlPath();
  std::optional<uint64_t> seed;
  std::string profile, scenario;
  size_t threads = 0;
  WorkerOptions worker;
};

void serveOne(int listenFd, Controller& ctl) {
  int fd = accept4(listenFd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  std::string request;
  char buf[4096];
  while (request.size() < kMaxRequest) {
    ssize_t r = ::read(fd, buf, sizeof(buf));
    if (r <= 0) break;
    request.append(buf, static_cast<size_t>(r));
  }
  std::string reply = ctl.execute(request, std::chrono::steady_clock::now());
  std::string_view first = std::string_view(request).substr(0, request.find('\n'));
  if (!first.starts_with("show") && !first.starts_with("get") && !first.starts_with("ping")) {
    BRAID_LOG(kInfo, "wanem") << "control: " << first << (reply.starts_with("ERR ") ? " -> " : "")
                              << (reply.starts_with("ERR ") ? reply.substr(0, reply.size() - 1)
                                                            : "");
  }
  size_t off = 0;
  while (off < reply.size()) {
    ssize_t w = ::write(fd, reply.data() + off, reply.size() - off);
    if (w <= 0) break;
    off += static_cast<size_t>(w);
  }
  ::close(fd);
}

int runDaemon(const DaemonOptions& o) {
  if (o.links.empty()) {
    std::fprintf(stderr, "braid-wanem: at least one --link NAME=IF_A,IF_B is needed\n");
    return 2;
  }
  uint64_t seed =
      o.seed ? *o.seed : (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  std::printf("braid-wanem: seed=%llu (replay with --seed %llu)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  std::fflush(stdout);

  std::vector<std::unique_ptr<Link>> links;
  for (size_t i = 0; i < o.links.size(); ++i) {
    auto l = std::make_unique<Link>();
    l->name = o.links[i].first;
    l->ifA = o.links[i].second.first;
    l->ifB = o.links[i].second.second;
    l->ab = std::make_unique<Direction>(l->name, "ab", l->ifA, l->ifB, directionSeed(seed, i, 0));
    l->ba = std::make_unique<Direction>(l->name, "ba", l->ifB, l->ifA, directionSeed(seed, i, 1));
    links.push_back(std::move(l));
  }

  std::vector<std::unique_ptr<Worker>> workers;
  Controller ctl(links, seed, [&workers] {
    for (auto& w : workers) w->notify();
  });
  TimePoint start = std::chrono::steady_clock::now();
  if (!o.profile.empty()) {
    std::string text;
    if (!readFile(o.profile, text)) {
      std::fprintf(stderr, "braid-wanem: cannot read profile %s\n", o.profile.c_str());
      return 2;
    }
    std::istringstream in(text);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (auto h = line.find('#'); h != std::string::npos) line.resize(h);
      auto words = splitWords(line);
      if (words.empty()) continue;
      std::vector<std::string> change(words.begin() + 1, words.end());
      if (Status st = ctl.set(words[0], change, start); !st) {
        std::fprintf(stderr, "%s:%d: %s\n", o.profile.c_str(), n, st.message().c_str());
        return 2;
      }
    }
  }
  for (auto& l : links) {
    l->ab->setBaseline(l->ab->params());
    l->ba->setBaseline(l->ba->params());
  }
  std::optional<std::vector<ScenarioEvent>> scenario;
  if (!o.scenario.empty()) {
    std::string text;
    if (!readFile(o.scenario, text)) {
      std::fprintf(stderr, "braid-wanem: cannot read scenario %s\n", o.scenario.c_str());
      return 2;
    }
    auto ev = parseScenario(text, o.scenario);
    if (!ev) {
      std::fprintf(stderr, "%s\n", ev.status().message().c_str());
      return 2;
    }
    scenario = std::move(*ev);
  }

  // Signals are taken by signalfd in this thread; workers inherit the blocked mask.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);

  size_t nThreads = o.threads == 0 ? links.size() : std::min(o.threads, links.size());
  for (size_t i = 0; i < nThreads; ++i) workers.push_back(std::make_unique<Worker>(o.worker));
  for (size_t i = 0; i < links.size(); ++i) {
    if (Status st = workers[i % nThreads]->addLink(*links[i]); !st) {
      std::fprintf(stderr, "braid-wanem: link %s: %s\n", links[i]->name.c_str(),
                   st.message().c_str());
      return 2;
    }
  }

  bool ok;
  sockaddr_un addr = controlAddress(o.control, ok);
  int listenFd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ::unlink(o.control.c_str());
  if (!ok || listenFd < 0 ||
      bind(listenFd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listenFd, 16) != 0) {
    std::fprintf(stderr, "braid-wanem: control socket %s: %s\n", o.control.c_str(),
                 std::strerror(errno));
    return 2;
  }
  for (auto& w : workers) {
    if (Status st = w->start(); !st) {
      std::fprintf(stderr, "braid-wanem: %s\n", st.message().c_str());
      return 2;
    }
  }
  if (scenario) (void)ctl.runScenario(std::move(*scenario), std::chrono::steady_clock::now());
  BRAID_LOG(kInfo, "wanem") << links.size() << " link(s) on " << nThreads << " thread(s), control "
                            << o.control;

  int sigFd = signalfd(-1, &mask, SFD_CLOEXEC);
  int timerFd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  for (int fd : {listenFd, sigFd, timerFd}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  bool running = true;
  while (running) {
    auto next = ctl.timers().nextDeadline();
    itimerspec its{};
    if (next) {
      auto ns = std::max<int64_t>(1, next->time_since_epoch().count());
      its.it_value = {static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    }
    timerfd_settime(timerFd, TFD_TIMER_ABSTIME, &its, nullptr);
    epoll_event events[4];
    int n = epoll_wait(ep, events, 4, -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == sigFd) {
        signalfd_siginfo si;
        if (::read(sigFd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGPIPE) {
          BRAID_LOG(kInfo, "wanem") << "signal " << si.ssi_signo << ", exiting";
          running = false;
        }
      } else if (fd == timerFd) {
        uint64_t drain;
        ssize_t r = ::read(timerFd, &drain, sizeof(drain));
        (void)r;
      } else if (fd == listenFd) {
        serveOne(listenFd, ctl);
      }
    }
    ctl.timers().runUntil(std::chrono::steady_clock::now());
  }
  for (auto& w : workers) w->stop();
  ::unlink(o.control.c_str());
  for (int fd : {listenFd, sigFd, timerFd, ep}) ::close(fd);
  return 0;
}

int parseDaemon(int argc, char** argv) {
  DaemonOptions o;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    std::string v;
    uint64_t n;
    if (a == "--link" && value(v)) {
      auto eq = v.find('='), comma = v.find(',');
      if (eq == std::string::npos || comma == std::string::npos || comma < eq || eq == 0 ||
          v.find(':') != std::string::npos) {
        std::fprintf(stderr, "braid-wanem: --link NAME=IF_A,IF_B, got '%s'\n", v.c_str());
        return 2;
      }
      o.links.push_back({v.substr(0, eq), {v.substr(eq + 1, comma - eq - 1), v.substr(comma + 1)}});
    } else if (a == "--control" && value(o.control)) {
    } else if (a == "--seed" && value(v) && parseUint(v, n)) {
      o.seed = n;
    } else if (a == "--profile" && value(o.profile)) {
    } else if (a == "--scenario" && value(o.scenario)) {
    } else if (a == "--threads" && value(v) && parseUint(v, n) && n > 0) {
      o.threads = n;
    } else if (a == "--pool" && value(v) && parseUint(v, n) && n >= 64) {
      o.worker.poolPackets = n;
    } else if (a == "--frame-size" && value(v) && parseUint(v, n) && n >= 128 && n <= 65536) {
      o.worker.frameSize = n;
    } else if (a == "--rt") {
      o.worker.realtime = true;
    } else if (a == "--log-level" && value(v)) {
      LogLevel level;
      if (!parseLogLevel(v, level)) return usage(2);
      Logger::instance().setLevel(level);
    } else {
      std::fprintf(stderr, "braid-wanem: bad or incomplete option '%s'\n", a.c_str());
      return usage(2);
    }
  }
  return runDaemon(o);
}

}  // namespace
}  // namespace braid::wanem

int main(int argc, char** argv) {
  using namespace braid::wanem;
  if (argc < 2) return usage(2);
  std::string first = argv[1];
  if (first == "-h" || first == "--help") return usage(0);
  if (first == "daemon") return parseDaemon(argc, argv);
  std::string control = defaultControlPath();
  int i = 1;
  if (first == "--control") {
    if (argc < 4) return usage(2);
    control = argv[2];
    i = 3;
  }
  std::vector<std::string> args(argv + i, argv + argc);
  return runClient(control, args);
}
