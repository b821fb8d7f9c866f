// braid-ra-load: many road-warrior clients at once against a running braidd [[remote_access]]
// section (docs/performance.md "Remote access scale"). Each client is braid's own IKE
// initiator (one ike::SaManager per client) with EAP-MSCHAPv2 (RFC 7296 2.16) and a CP
// request for a virtual IP (3.15), from an address of its own (a different source address
// per client: the gateway's per-source DoS limits apply per address, as for real laptops),
// UDP-encapsulated from the start (forceEncap: the gateway's data plane is ESP-in-UDP).
//
// It measures the set-up rate (clients/s from the first IKE_SA_INIT to the last Child SA),
// each client's set-up time, and braidd's resident memory (VmRSS) and CPU time before and
// after, i.e. memory and CPU per client. With --ping, the first clients send an ICMP echo
// sealed in their Child SA to an address behind the gateway and open the sealed reply.
//
// Usage:
//   braid-ra-load --write-credentials FILE --clients N     (users ra00000.. for braidd)
//   braid-ra-load --gateway ADDR --first-client ADDR --clients N --ca PEM --gateway-id ID
//                 [--pid BRAIDD_PID] [--concurrency K] [--timeout-s S] [--ping ADDR]
//                 [--ping-clients M] [--remote-ts PREFIX] [--proposals P] [--esp-proposals P]
// The client addresses are --first-client and the ones after it (skipping .0 and .255);
// they must be local (e.g. `ip route add local 10.99.0.0/16 dev lo`).
// Exit status: 0 when every client got its Child SA and a distinct virtual IP (and every
// ping was answered); 1 otherwise; 2 on bad arguments.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/packet_buffer.hpp"
#include "core/timer.hpp"
#include "ipsec/esp.hpp"
#include "ipsec/ike/eap_mschapv2.hpp"
#include "ipsec/ike/remote_access.hpp"
#include "ipsec/ike/sa_manager.hpp"

namespace {

using namespace braid;
using namespace braid::ike;

struct Options {
  std::string writeCredentials;
  std::string gateway, firstClient, ca, gatewayId, ping;
  std::string remoteTs = "0.0.0.0/0";
  std::string proposals = "aes256gcm16-prfsha256-x25519";
  std::string espProposals = "aes256gcm16";
  size_t clients = 0, concurrency = 16, pingClients = 4;
  int pid = 0;
  int timeoutS = 240;
};

std::string userName(size_t i) {
  char b[32];
  std::snprintf(b, sizeof b, "ra%05zu", i);
  return b;
}
std::string password(size_t i) {
  return "pw-" + userName(i);
}

struct ProcSample {
  long rssKb = -1;
  double cpuSeconds = -1;
};

ProcSample sample(int pid) {
  ProcSample s;
  if (pid <= 0) return s;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) s.rssKb = std::atol(line.c_str() + 6);
  }
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
  const size_t close = text.rfind(')');
  if (close != std::string::npos) {
    std::istringstream in(text.substr(close + 2));
    std::vector<std::string> f;
    for (std::string w; in >> w;) f.push_back(w);
    if (f.size() > 12) {
      s.cpuSeconds = double(std::atoll(f[11].c_str()) + std::atoll(f[12].c_str())) /
                     double(::sysconf(_SC_CLK_TCK));
    }
  }
  return s;
}

sockaddr_in sockAddr(const IpAddress& a, uint16_t port) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_port = htons(port);
  std::memcpy(&s.sin_addr, a.bytes().data(), 4);
  return s;
}

uint16_t checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += uint32_t(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += uint32_t(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

class Load;

struct Client final : DatagramSender, SaListener {
  Load* load = nullptr;
  size_t index = 0;
  IpAddress address;
  int fd = -1, nattFd = -1;
  std::unique_ptr<SaManager> mgr;
  enum class State { kIdle, kConnecting, kUp, kFailed } state = State::kIdle;
  TimePoint started{}, upAt{};
  std::optional<IpAddress> vip;
  std::unique_ptr<ipsec::EspOutboundSa> out;
  std::unique_ptr<ipsec::EspInboundSa> in;
  bool pinged = false, answered = false;
  std::string failure;

  void sendDatagram(const Endpoint& local, const Endpoint& remote, Bytes data) override;
  void onChildSaUp(const ChildSaEvent& e) override;
  void onFailure(const FailureEvent& e) override;
  ~Client() override {
    if (fd >= 0) ::close(fd);
    if (nattFd >= 0) ::close(nattFd);
  }
};

class Load {
 public:
  explicit Load(Options o) : o_(std::move(o)) {}
  int run();
  void up(Client& c);
  void failed(Client& c, const std::string& why);
  SteadyClock clock;
  TimerQueue timers;
  IpAddress gateway;

 private:
  bool setup();
  void startNext();
  void pump(int maxMs);
  void dispatch(Client& c, bool natt, Bytes d);
  void ping(Client& c);

  Options o_;
  PeerConfig base_;
  std::vector<std::unique_ptr<Client>> clients_;
  int ep_ = -1;
  size_t next_ = 0, inFlight_ = 0, up_ = 0, failed_ = 0;
};

void Client::sendDatagram(const Endpoint& local, const Endpoint& remote, Bytes data) {
  const bool natt = local.port == kNattPort;
  std::vector<uint8_t> marked;
  if (natt) {  // RFC 3948 2.2: the non-ESP marker before IKE on the NAT-T port
    marked.assign(4, 0);
    marked.insert(marked.end(), data.begin(), data.end());
    data = marked;
  }
  const sockaddr_in to = sockAddr(remote.address, remote.port);
  (void)::sendto(natt ? nattFd : fd, data.data(), data.size(), 0,
                 reinterpret_cast<const sockaddr*>(&to), sizeof to);
}

void Client::onChildSaUp(const ChildSaEvent& e) {
  auto o = ipsec::EspOutboundSa::create(e.outbound);
  auto i = ipsec::EspInboundSa::create(e.inbound);
  if (o) out = std::move(*o);
  if (i) in = std::move(*i);
  IkeSa* sa = mgr->findByPeer("gw");
  if (sa != nullptr && sa->remoteAccess && sa->remoteAccess->received &&
      !sa->remoteAccess->received->ip4Addresses.empty()) {
    vip = sa->remoteAccess->received->ip4Addresses.front();
  }
  if (state == State::kConnecting) load->up(*this);
}

void Client::onFailure(const FailureEvent& e) {
  if (state == State::kConnecting) load->failed(*this, e.reason);
}

void Load::up(Client& c) {
  c.state = Client::State::kUp;
  c.upAt = clock.now();
  --inFlight_;
  ++up_;
}

void Load::failed(Client& c, const std::string& why) {
  c.state = Client::State::kFailed;
  c.failure = why;
  --inFlight_;
  ++failed_;
}

bool Load::setup() {
  auto gw = IpAddress::parse(o_.gateway);
  auto first = IpAddress::parse(o_.firstClient);
  auto ike = parseProposals(o_.proposals, ProtocolId::kIke);
  auto esp = parseProposals(o_.espProposals, ProtocolId::kEsp);
  auto gwId = Identity::parse(o_.gatewayId);
  auto rts = IpPrefix::parse(o_.remoteTs);
  if (!gw || !first || !gw->isV4() || !first->isV4() || !ike || !esp || !gwId || !rts) {
    std::fprintf(stderr, "ra-load: bad --gateway, --first-client, proposals, id or --remote-ts\n");
    return false;
  }
  gateway = *gw;
  auto cas = std::make_shared<TrustStore>();
  if (Status s = cas->addCaFile(o_.ca); !s) {
    std::fprintf(stderr, "ra-load: %s\n", s.message().c_str());
    return false;
  }
  base_.remote = Endpoint{gateway, kIkePort};
  base_.ikeProposals = *ike;
  base_.remoteId = *gwId;
  base_.localAuth.kind = AuthKind::kEap;
  base_.remoteAuth.kind = AuthKind::kPubkey;
  base_.remoteAuth.cas = cas;
  base_.requestVirtualIp = true;
  base_.forceEncap = true;
  base_.sendCertReq = true;
  base_.retransmit.initial = std::chrono::milliseconds(2000);
  base_.retransmit.tries = 4;
  base_.retryInitial = Duration{};  // a failure is a result here, not retried
  ChildConfig child;
  child.name = "rw";
  child.espProposals = *esp;
  child.localTs.push_back(TrafficSelector::fromPrefix(*IpPrefix::parse("0.0.0.0/0")));
  child.remoteTs.push_back(TrafficSelector::fromPrefix(*rts));
  base_.children.push_back(child);

  // Two sockets per client (IKE and NAT-T): raise the descriptor limit to what they need.
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
    const rlim_t want = rlim_t(o_.clients * 2 + 64);
    if (nofile.rlim_cur < want) {
      nofile.rlim_cur = std::min(want, nofile.rlim_max);
      (void)::setrlimit(RLIMIT_NOFILE, &nofile);
    }
  }
  ep_ = ::epoll_create1(EPOLL_CLOEXEC);
  uint32_t addr = first->v4HostOrder();
  for (size_t i = 0; i < o_.clients; ++i, ++addr) {
    while ((addr & 0xff) == 0 || (addr & 0xff) == 255) ++addr;
    auto c = std::make_unique<Client>();
    c->load = this;
    c->index = i;
    c->address = IpAddress::v4(addr);
    for (auto [fd, port] : {std::pair{&c->fd, kIkePort}, std::pair{&c->nattFd, kNattPort}}) {
      *fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      const sockaddr_in local = sockAddr(c->address, port);
      if (*fd < 0 || ::bind(*fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
        std::fprintf(stderr, "ra-load: client %zu: bind %s:%u: %s\n", i,
                     c->address.toString().c_str(), port, std::strerror(errno));
        return false;
      }
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = uint64_t(i) << 1 | (port == kNattPort ? 1 : 0);
      if (::epoll_ctl(ep_, EPOLL_CTL_ADD, *fd, &ev) != 0) return false;
    }
    c->mgr = std::make_unique<SaManager>(clock, timers, *c, *c);
    PeerConfig pc = base_;
    pc.name = "gw";
    pc.localId = *Identity::parse(userName(i));
    pc.localAuth.eapIdentity = userName(i);
    pc.localAuth.eapNtHash = *mschapv2::ntPasswordHash(password(i));
    if (!c->mgr->addPeer(std::move(pc))) return false;
    clients_.push_back(std::move(c));
  }
  return true;
}

void Load::startNext() {
  while (inFlight_ < o_.concurrency && next_ < clients_.size()) {
    Client& c = *clients_[next_++];
    c.state = Client::State::kConnecting;
    c.started = clock.now();
    ++inFlight_;
    if (Status s = c.mgr->initiate("gw", Endpoint{c.address, kIkePort}); !s) {
      failed(c, s.message());
    }
  }
}

void Load::dispatch(Client& c, bool natt, Bytes d) {
  if (natt) {
    if (d.size() >= 4 && loadBe32(d.data()) == 0) {
      d = d.subspan(4);
    } else {  // ESP (RFC 3948 2.2): our ping's answer
      if (!c.in || d.size() > 2000) return;
      uint8_t storage[2048 + 256];
      PacketBuffer pkt(storage, sizeof storage);
      pkt.reset(128);
      std::memcpy(pkt.append(d.size()), d.data(), d.size());
      uint8_t next = 0;
      if (c.in->open(pkt, next) || next != 4 || pkt.size() < 28) return;
      const uint8_t* ip = pkt.data();
      const size_t hl = size_t(ip[0] & 0x0f) * 4;
      if (pkt.size() >= hl + 8 && ip[9] == 1 && ip[hl] == 0 &&
          loadBe16(ip + hl + 4) == uint16_t(c.index)) {
        c.answered = true;
      }
      return;
    }
  }
  const uint16_t port = natt ? kNattPort : kIkePort;
  c.mgr->receive(Endpoint{c.address, port}, Endpoint{gateway, port}, d);
}

void Load::pump(int maxMs) {
  timers.runUntil(clock.now());
  int wait = maxMs;
  if (auto next = timers.nextDeadline()) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*next - clock.now()).count();
    wait = int(std::clamp<long long>(ms, 0, maxMs));
  }
  epoll_event evs[64];
  const int n = ::epoll_wait(ep_, evs, 64, wait);
  std::vector<uint8_t> buf(65536);
  for (int k = 0; k < n; ++k) {
    Client& c = *clients_[evs[k].data.u64 >> 1];
    const bool natt = (evs[k].data.u64 & 1) != 0;
    for (;;) {
      const ssize_t len = ::recv(natt ? c.nattFd : c.fd, buf.data(), buf.size(), 0);
      if (len < 0) break;
      dispatch(c, natt, Bytes(buf.data(), size_t(len)));
    }
  }
  timers.runUntil(clock.now());
}

// An ICMP echo request from the client's virtual IP, sealed in its Child SA (RFC 4303),
// ESP-in-UDP to the gateway's NAT-T port (RFC 3948).
void Load::ping(Client& c) {
  auto dst = IpAddress::parse(o_.ping);
  if (!c.out || !c.vip || !dst) return;
  uint8_t storage[512];
  PacketBuffer pkt(storage, sizeof storage);
  pkt.reset(128);
  uint8_t* ip = pkt.append(28 + 32);
  std::memset(ip, 0, 60);
  ip[0] = 0x45;
  storeBe16(ip + 2, 60);
  ip[8] = 64;
  ip[9] = 1;  // ICMP
  storeBe32(ip + 12, c.vip->v4HostOrder());
  storeBe32(ip + 16, dst->v4HostOrder());
  storeBe16(ip + 10, checksum(ip, 20));
  uint8_t* icmp = ip + 20;
  icmp[0] = 8;  // echo request
  storeBe16(icmp + 4, uint16_t(c.index));
  storeBe16(icmp + 6, 1);
  for (size_t i = 8; i < 40; ++i) icmp[i] = uint8_t(i);
  storeBe16(icmp + 2, checksum(icmp, 40));
  if (c.out->seal(pkt, 4) != ipsec::SealStatus::kOk) return;
  const sockaddr_in to = sockAddr(gateway, kNattPort);
  (void)::sendto(c.nattFd, pkt.data(), pkt.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                 sizeof to);
  c.pinged = true;
}

int Load::run() {
  if (!setup()) return 2;
  const ProcSample before = sample(o_.pid);
  const TimePoint t0 = clock.now();
  const TimePoint deadline = t0 + std::chrono::seconds(o_.timeoutS);
  TimePoint lastReport = t0;
  while ((up_ + failed_ < clients_.size()) && clock.now() < deadline) {
    startNext();
    pump(20);
    if (clock.now() - lastReport >= std::chrono::seconds(5)) {
      lastReport = clock.now();
      std::fprintf(stderr, "ra-load: %zu up, %zu failed, %zu in flight\n", up_, failed_, inFlight_);
    }
  }
  const TimePoint t1 = clock.now();
  const ProcSample after = sample(o_.pid);
  const double secs = std::chrono::duration<double>(t1 - t0).count();

  std::vector<double> ms;
  std::set<std::string> vips;
  size_t noVip = 0;
  for (const auto& c : clients_) {
    if (c->state != Client::State::kUp) continue;
    ms.push_back(std::chrono::duration<double, std::milli>(c->upAt - c->started).count());
    if (c->vip) {
      vips.insert(c->vip->toString());
    } else {
      ++noVip;
    }
  }
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) { return ms.empty() ? 0.0 : ms[size_t(p * double(ms.size() - 1))]; };

  // Pings from the first clients, each answered through the gateway's data plane.
  size_t pinged = 0, answered = 0;
  if (!o_.ping.empty()) {
    for (size_t i = 0; i < clients_.size() && pinged < o_.pingClients; ++i) {
      if (clients_[i]->state != Client::State::kUp) continue;
      ping(*clients_[i]);
      pinged += clients_[i]->pinged;
    }
    const TimePoint end = clock.now() + std::chrono::seconds(5);
    auto done = [&] {
      size_t n = 0;
      for (const auto& c : clients_) n += c->answered;
      return n;
    };
    while (done() < pinged && clock.now() < end) pump(20);
    answered = done();
  }

  std::printf("ra_load.clients %zu\n", clients_.size());
  std::printf("ra_load.connected %zu\n", up_);
  std::printf("ra_load.failed %zu\n", failed_);
  std::printf("ra_load.distinct_virtual_ips %zu\n", vips.size());
  std::printf("ra_load.setup_seconds %.3f\n", secs);
  std::printf("ra_load.clients_per_second %.1f\n", secs > 0 ? double(up_) / secs : 0.0);
  std::printf("ra_load.setup_ms_p50 %.1f\n", pct(0.5));
  std::printf("ra_load.setup_ms_p95 %.1f\n", pct(0.95));
  std::printf("ra_load.setup_ms_max %.1f\n", ms.empty() ? 0.0 : ms.back());
  std::printf("ra_load.concurrency %zu\n", o_.concurrency);
  if (o_.pid > 0 && before.rssKb >= 0 && after.rssKb >= 0) {
    std::printf("ra_load.braidd_rss_kb_before %ld\n", before.rssKb);
    std::printf("ra_load.braidd_rss_kb_after %ld\n", after.rssKb);
    if (up_ > 0) {
      std::printf("ra_load.braidd_kb_per_client %.1f\n",
                  double(after.rssKb - before.rssKb) / double(up_));
      std::printf("ra_load.braidd_cpu_ms_per_client %.2f\n",
                  (after.cpuSeconds - before.cpuSeconds) * 1000 / double(up_));
    }
  }
  if (!o_.ping.empty()) std::printf("ra_load.pings_answered %zu/%zu\n", answered, pinged);
  size_t shown = 0;
  for (const auto& c : clients_) {
    if (c->state == Client::State::kUp || shown >= 5) continue;
    ++shown;
    std::fprintf(stderr, "ra-load: client %zu (%s): %s\n", c->index, c->address.toString().c_str(),
                 c->state == Client::State::kFailed ? c->failure.c_str() : "not up in time");
  }
  std::fflush(stdout);
  const bool ok = up_ == clients_.size() && vips.size() == clients_.size() && noVip == 0 &&
                  answered == pinged && (o_.ping.empty() || pinged > 0);
  return ok ? 0 : 1;
}

int writeCredentials(const Options& o) {
  std::ofstream f(o.writeCredentials, std::ios::trunc);
  for (size_t i = 0; i < o.clients; ++i) {
    const auto h = mschapv2::ntPasswordHash(password(i));
    f << userName(i) << " - ";
    for (uint8_t b : *h) {
      char x[3];
      std::snprintf(x, sizeof x, "%02x", b);
      f << x;
    }
    f << '\n';
  }
  return f.good() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "ra-load: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--write-credentials") {
      o.writeCredentials = value();
    } else if (a == "--gateway") {
      o.gateway = value();
    } else if (a == "--first-client") {
      o.firstClient = value();
    } else if (a == "--clients") {
      o.clients = size_t(std::atol(value().c_str()));
    } else if (a == "--ca") {
      o.ca = value();
    } else if (a == "--gateway-id") {
      o.gatewayId = value();
    } else if (a == "--pid") {
      o.pid = std::atoi(value().c_str());
    } else if (a == "--concurrency") {
      o.concurrency = std::max<size_t>(1, size_t(std::atol(value().c_str())));
    } else if (a == "--timeout-s") {
      o.timeoutS = std::atoi(value().c_str());
    } else if (a == "--ping") {
      o.ping = value();
    } else if (a == "--ping-clients") {
      o.pingClients = size_t(std::atol(value().c_str()));
    } else if (a == "--remote-ts") {
      o.remoteTs = value();
    } else if (a == "--proposals") {
      o.proposals = value();
    } else if (a == "--esp-proposals") {
      o.espProposals = value();
    } else {
      std::fprintf(stderr, "ra-load: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (o.clients == 0) {
    std::fprintf(stderr, "ra-load: --clients N is required\n");
    return 2;
  }
  if (!o.writeCredentials.empty()) return writeCredentials(o);
  if (o.gateway.empty() || o.firstClient.empty() || o.ca.empty() || o.gatewayId.empty()) {
    std::fprintf(stderr,
                 "ra-load: --gateway, --first-client, --ca and --gateway-id are required\n");
    return 2;
  }
  braid::Logger::instance().setLevel(braid::LogLevel::kWarn);
  Load load(std::move(o));
  return load.run();
}
