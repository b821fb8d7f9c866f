// braidctl: talks to braidd over its control socket (edge/control_server.hpp), one request
// line per command and one JSON line back; `check` needs no daemon.
// Exit codes: 0 ok, 1 braidd unreachable or refused the request, 2 usage or invalid config.
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "edge/client_profile.hpp"
#include "edge/config.hpp"
#include "edge/control_commands.hpp"
#include "edge/credentials_file.hpp"

namespace {

using braid::edge::controlDone;
using braid::edge::controlError;
using braid::edge::formatControlResponse;

constexpr size_t kMaxResponse = 16 << 20;

void usage(std::ostream& os) {
  os << "usage: braidctl [--socket PATH] [--json] COMMAND\n"
        "  status             uplinks -> paths -> SAs: state, RTT, jitter, loss, classes\n"
        "  sas                the SAs, in the manner of swanctl --list-sas\n"
        "  flows              the flows with most packets, with class and path\n"
        "  metrics            every metric braidd exports, one series a line (--json: the\n"
        "                     whole registry with help, type, unit and histogram buckets)\n"
        "  watch [--count N]  status every second until interrupted (N times)\n"
        "  path down NAME     administrative override: the path (peer/uplink) or every\n"
        "                     path of the uplink NAME is down; flows move off it at once\n"
        "  path up NAME       clear the override (the path probes and comes back)\n"
        "  reload             apply the configuration file again (as SIGHUP); an invalid\n"
        "                     file is refused and the running configuration stays\n"
        "  check CONFIG       validate CONFIG without a daemon (as braidd --check)\n"
        "  user add FILE NAME [--group G]\n"
        "                     add or change an EAP user in a credentials file (password\n"
        "                     from the terminal without echo, or one line on stdin)\n"
        "  profile USER [--format swanctl|nm|mobileconfig|powershell] [--config FILE]\n"
        "          [--out DIR] [--section S] [--server HOST] [--auth eap|cert] [--ca PEM]\n"
        "          [--p12 FILE]\n"
        "                     a client profile for USER from the gateway's configuration\n"
        "  --socket PATH      braidd's control socket (default "
     << braid::edge::kDefaultControlSocket
     << ")\n"
        "  --json             print braidd's JSON response as is\n";
}

class Connection {
 public:
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool open(const std::string& path, std::string& error) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      error = std::string("socket: ") + std::strerror(errno);
      return false;
    }
    timeval tv{10, 0};  // braidd answers at once; a stuck daemon must not hang the shell
    (void)::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path) {
      error = "socket path too long: " + path;
      return false;
    }
    std::memcpy(a.sun_path, path.c_str(), path.size());
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      const int e = errno;
      error = "cannot connect to " + path + ": " + std::strerror(e);
      if (e == EACCES || e == EPERM) error += " (root or braidd's [control] group only)";
      if (e == ENOENT || e == ECONNREFUSED) error += " (is braidd running?)";
      return false;
    }
    return true;
  }
  // One request line, one response line.
  bool request(const std::string& line, std::string& response, std::string& error) {
    const std::string out = line + "\n";
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::send(fd_, out.data() + done, out.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error = std::string("send: ") + std::strerror(errno);
        return false;
      }
      done += size_t(n);
    }
    response.clear();
    for (;;) {
      if (size_t nl = buffer_.find('\n'); nl != std::string::npos) {
        response = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return true;
      }
      if (buffer_.size() > kMaxResponse) {
        error = "response larger than 16 MiB";
        return false;
      }
      char buf[65536];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) {
        error = "braidd closed the connection";
        return false;
      }
      if (n < 0) {
        error = std::string("no answer from braidd: ") + std::strerror(errno);
        return false;
      }
      buffer_.append(buf, size_t(n));
    }
  }

 private:
  int fd_ = -1;
  std::string buffer_;
};

// Prints a response; returns the exit code.
int show(const std::string& response, bool json) {
  auto text = formatControlResponse(response);
  if (json) {
    std::cout << response << "\n";
  } else if (text) {
    std::cout << *text;
  }
  if (!text) {
    if (!json) std::cerr << "braidctl: " << text.status().message() << "\n";
    return 1;
  }
  return 0;
}

int check(const std::string& path, bool json) {
  auto cfg = braid::edge::loadConfigFile(path);
  if (!cfg) {
    if (json) {
      std::cout << controlError(cfg.status().message()) << "\n";
    } else {
      std::cerr << cfg.status().message() << "\n";
    }
    return 2;
  }
  const std::string msg = path + ": configuration is valid";
  std::cout << (json ? controlDone("check", msg) : msg) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socketPath = braid::edge::kDefaultControlSocket;
  bool json = false;
  long count = -1;
  std::vector<std::string> words;
  if (argc >= 2 && std::string_view(argv[1]) == "user") {  // needs no daemon
    return braid::edge::braidctlUserCommand(std::vector<std::string>(argv + 1, argv + argc));
  }
  if (argc >= 2 && std::string_view(argv[1]) == "profile") {  // needs no daemon
    return braid::edge::braidctlProfileCommand(std::vector<std::string>(argv + 1, argv + argc));
  }
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--socket" && i + 1 < argc) {
      socketPath = argv[++i];
    } else if (a == "--json") {
      json = true;
    } else if (a == "--count" && i + 1 < argc) {
      char* end = nullptr;
      count = std::strtol(argv[++i], &end, 10);
      if (end == nullptr || *end != '\0' || count < 1) {
        std::cerr << "braidctl: --count expects a positive number\n";
        return 2;
      }
    } else if (a == "--help" || a == "-h") {
      usage(std::cout);
      return 0;
    } else if (a.size() > 1 && a[0] == '-') {
      std::cerr << "braidctl: unknown or incomplete option '" << a << "'\n";
      usage(std::cerr);
      return 2;
    } else {
      words.push_back(a);
    }
  }
  if (words.empty()) {
    usage(std::cerr);
    return 2;
  }
  if (words[0] == "check") {
    if (words.size() != 2) {
      std::cerr << "braidctl: expected 'check CONFIG'\n";
      return 2;
    }
    return check(words[1], json);
  }
  const bool watch = words[0] == "watch";
  if (watch) {
    if (words.size() != 1) {
      std::cerr << "braidctl: 'watch' takes no argument\n";
      return 2;
    }
    words[0] = "status";
  }
  std::string line;
  for (const std::string& w : words) line += (line.empty() ? "" : " ") + w;
  // Refuse locally what braidd would refuse, without needing the socket.
  if (auto r = braid::edge::parseControlRequest(line); !r) {
    std::cerr << "braidctl: " << r.status().message() << "\n";
    return 2;
  }
  Connection c;
  std::string error;
  if (!c.open(socketPath, error)) {
    std::cerr << "braidctl: " << error << "\n";
    return 1;
  }
  if (!watch) {
    std::string response;
    if (!c.request(line, response, error)) {
      std::cerr << "braidctl: " << error << "\n";
      return 1;
    }
    return show(response, json);
  }
  const bool tty = ::isatty(STDOUT_FILENO) != 0;
  for (long n = 0; count < 0 || n < count; ++n) {
    if (n > 0) std::this_thread::sleep_for(std::chrono::seconds(1));
    std::string response;
    if (!c.request(line, response, error)) {
      std::cerr << "braidctl: " << error << "\n";
      return 1;
    }
    if (tty && !json) {
      std::cout << "\033[H\033[2J";  // home, clear: a live view
    } else if (!json) {
      const std::time_t t = std::time(nullptr);
      char when[32];
      std::strftime(when, sizeof when, "%H:%M:%S", std::localtime(&t));
      std::cout << "--- " << when << "\n";
    }
    if (int rc = show(response, json); rc != 0) return rc;
    std::cout.flush();
  }
  return 0;
}
