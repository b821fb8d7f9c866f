// braidctl's protocol: request parsing, the JSON responses and their 80-column text views,
// and the control socket itself (a real unix socket in a temporary directory, a fake
// handler; no daemon, no namespaces).
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "edge/control_commands.hpp"
#include "edge/control_server.hpp"
#include "edge/steering.hpp"
#include "metrics/registry.hpp"

namespace braid::edge {
namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream is(text);
  for (std::string l; std::getline(is, l);) out.push_back(l);
  return out;
}

void expectFits(const std::string& text) {
  for (const std::string& l : lines(text)) {
    EXPECT_LE(l.size(), kControlColumns) << "'" << l << "'";
  }
}

TEST(ControlRequest, ParsesEveryVerb) {
  struct Case {
    const char* line;
    ControlVerb verb;
    const char* arg;
  } cases[] = {
      {"status", ControlVerb::kStatus, ""},
      {"  sas\r", ControlVerb::kSas, ""},
      {"flows", ControlVerb::kFlows, ""},
      {"reload", ControlVerb::kReload, ""},
      {"metrics", ControlVerb::kMetrics, ""},
      {"path down fiber", ControlVerb::kPathDown, "fiber"},
      {"path\tup  site-b/broadband ", ControlVerb::kPathUp, "site-b/broadband"},
  };
  for (const Case& c : cases) {
    auto r = parseControlRequest(c.line);
    ASSERT_TRUE(r) << c.line << ": " << r.status().message();
    EXPECT_EQ(r->verb, c.verb) << c.line;
    EXPECT_EQ(r->arg, c.arg) << c.line;
  }
}

TEST(ControlRequest, RefusesMalformedRequestsWithAReason) {
  struct Case {
    std::string line;
    const char* says;
  } cases[] = {
      {"", "empty request"},
      {"   ", "empty request"},
      {"stat", "unknown command 'stat'"},
      {"status now", "takes no argument"},
      {"path down", "expected 'path down NAME'"},
      {"path sideways fiber", "expected 'path down NAME'"},
      {"path down a b", "expected 'path down NAME'"},
      {"path down a b c", "too many words"},
      {std::string("sta\x01tus"), "not printable"},
      {std::string("status\xff"), "not printable"},
      {std::string(kMaxControlRequest + 1, 'a'), "longer than"},
  };
  for (const Case& c : cases) {
    auto r = parseControlRequest(c.line);
    ASSERT_FALSE(r) << c.line;
    EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status().message();
  }
  // An unknown word is quoted back at most 64 bytes long.
  auto r = parseControlRequest(std::string(200, 'x'));
  ASSERT_FALSE(r);
  EXPECT_LT(r.status().message().size(), 200u);
}

ControlStatus sample() {
  ControlStatus s;
  s.version = "0.1.0";
  s.uptimeSeconds = 3725;
  s.flows = 42;
  s.uplinks = {{"fiber", "10.0.1.1:4500", false},
               {"broadband", "10.0.2.1:4500", false},
               {"lte-backup-with-a-very-long-name", "10.0.3.1:4500", true}};
  ControlPath a;
  a.name = "site-b/fiber";
  a.peer = "site-b";
  a.uplink = "fiber";
  a.state = "up";
  a.keying = "established";
  a.local = "10.0.1.1:4500";
  a.remote = "10.0.1.2:4500";
  a.rttMs = 10.24;
  a.jitterMs = 0.31;
  a.loss = 0.002;
  a.classes = {"voice", "video-conferencing", "interactive", "bulk", "default", "backup"};
  a.sas = {{0xc1a2b3c4, false, 123456, 98765432, 0}, {0x00000102, true, 99, 12345, 7}};
  ControlPath b = a;
  b.name = "site-b/broadband";
  b.uplink = "broadband";
  b.state = "down";
  b.adminDown = true;
  b.classes.clear();
  b.sas.clear();
  ControlPath c = a;
  c.name = "a-peer-with-a-long-name/lte-backup-with-a-very-long-name";
  c.uplink = "lte-backup-with-a-very-long-name";
  c.keying = "manual";
  c.state = "dead";
  s.paths = {a, b, c};
  return s;
}

TEST(ControlView, StatusShowsUplinksPathsAndSasIn80Columns) {
  auto text = formatControlResponse(controlStatusResponse("status", sample()));
  ASSERT_TRUE(text) << text.status().message();
  expectFits(*text);
  const auto l = lines(*text);
  ASSERT_GE(l.size(), 8u);
  EXPECT_NE(l[0].find("up 1h02m"), std::string::npos) << l[0];
  EXPECT_NE(l[0].find("42 flow(s)"), std::string::npos) << l[0];
  EXPECT_NE(text->find("uplink fiber (10.0.1.1:4500)"), std::string::npos);
  EXPECT_NE(text->find(", metered"), std::string::npos);
  // The fiber path's row: state, keying, RTT, jitter, loss %, first classes.
  auto row = std::find_if(l.begin(), l.end(),
                          [](const std::string& s) { return s.starts_with("  site-b/fiber"); });
  ASSERT_NE(row, l.end());
  EXPECT_NE(row->find("up"), std::string::npos);
  EXPECT_NE(row->find("established"), std::string::npos);
  EXPECT_NE(row->find("10.2"), std::string::npos) << *row;
  EXPECT_NE(row->find("0.3"), std::string::npos) << *row;
  EXPECT_NE(row->find("0.2"), std::string::npos) << *row;  // loss in %
  // Classes that do not fit the row's column get lines of their own.
  EXPECT_NE(text->find("    classes: voice, video-conferencing, interactive, bulk, default,"),
            std::string::npos);
  // Every class is shown, wrapped under the column.
  for (const char* cls : {"video-conferencing", "interactive", "bulk", "default", "backup"}) {
    EXPECT_NE(text->find(cls), std::string::npos) << cls;
  }
  EXPECT_NE(text->find("SA out c1a2b3c4"), std::string::npos);
  EXPECT_NE(text->find("SA in  00000102"), std::string::npos);
  EXPECT_NE(text->find("admin-down"), std::string::npos);
  // An unmeasured path shows dashes, not zeros.
  auto bb = std::find_if(l.begin(), l.end(),
                         [](const std::string& s) { return s.starts_with("  site-b/broadband"); });
  ASSERT_NE(bb, l.end());
  EXPECT_NE(bb->find(" -"), std::string::npos) << *bb;
}

TEST(ControlView, SasListsEveryPathLikeSwanctl) {
  auto text = formatControlResponse(controlStatusResponse("sas", sample()));
  ASSERT_TRUE(text) << text.status().message();
  expectFits(*text);
  EXPECT_NE(text->find("site-b/fiber: ESTABLISHED, IKEv2, path up"), std::string::npos) << *text;
  EXPECT_NE(text->find("remote 10.0.1.2:4500"), std::string::npos);
  EXPECT_NE(text->find("SPIs: c1a2b3c4_o 00000102_i"), std::string::npos) << *text;
  EXPECT_NE(text->find("in  00000102, 12.3 kB, 99 packets, 7 dropped"), std::string::npos) << *text;
  EXPECT_NE(text->find("MANUAL, manual keys"), std::string::npos);
  EXPECT_NE(text->find("no ESP SA installed"), std::string::npos);
}

// An IKE path's SA in detail, as swanctl --list-sas: SPIs (ours starred), proposal, times,
// endpoints and identities, each Child SA's SPIs, proposal, traffic, times and selectors.
TEST(ControlView, SasShowsIkeAndChildSaDetails) {
  ControlStatus s = sample();
  ControlIkeSa ike;
  ike.state = "ESTABLISHED";
  ike.initiator = true;
  ike.spiI = 0x1a2b3c4d5e6f7081;
  ike.spiR = 0x9f8e7d6c5b4a3921;
  ike.proposal = "aes256gcm16-prfsha256-x25519";
  ike.local = "10.0.1.1[4500]";
  ike.remote = "10.0.1.2[4500]";
  ike.localId = "gwA.lab";
  ike.remoteId = "gwB.lab";
  ike.establishedAgo = 75;
  ike.rekeyIn = 14325;
  ike.expireIn = -1;
  ike.natRemote = true;
  ControlChildSa child;
  child.name = "site-b";
  child.state = "INSTALLED";
  child.spiIn = 0x532750cc;
  child.spiOut = 0x1abc55ad;
  child.proposal = "aes256gcm16";
  child.installedAgo = 75;
  child.rekeyIn = 3125;
  child.expireIn = 3525;
  child.bytesIn = 1344;
  child.packetsIn = 48;
  child.bytesOut = 27000;
  child.packetsOut = 392;
  child.localTs = {"10.10.1.0/24", "fd00:a::/64"};
  for (int i = 0; i < 8; ++i) child.remoteTs.push_back("10.20." + std::to_string(i) + ".0/24");
  ike.children = {child};
  s.paths[0].ikeSas = {ike};
  const std::string response = controlStatusResponse("sas", s);
  EXPECT_NE(response.find(R"("ike_sas":[{"state":"ESTABLISHED","initiator":true)"),
            std::string::npos)
      << response;
  EXPECT_NE(response.find(R"("spi_in":1395085516,"spi_out":448550317)"), std::string::npos);
  EXPECT_NE(response.find(R"("expire_in_seconds":-1)"), std::string::npos);
  auto text = formatControlResponse(response);
  ASSERT_TRUE(text) << text.status().message();
  expectFits(*text);
  for (const char* line :
       {"site-b/fiber: ESTABLISHED, IKEv2, path up",
        "  SPIs 1a2b3c4d5e6f7081_i* 9f8e7d6c5b4a3921_r", "  local  'gwA.lab' @ 10.0.1.1[4500]",
        "  remote 'gwB.lab' @ 10.0.1.2[4500] (behind NAT)", "  aes256gcm16-prfsha256-x25519",
        "  established 1m15s ago, rekeying in 3h58m",
        "  site-b: INSTALLED, ESP in UDP, aes256gcm16",
        "    installed 1m15s ago, rekeying in 52m05s, expires in 58m45s",
        "    in  532750cc, 1344 B, 48 packets", "    out 1abc55ad, 27.0 kB, 392 packets",
        "    local  10.10.1.0/24 fd00:a::/64"}) {
    EXPECT_NE(text->find(std::string(line) + "\n"), std::string::npos) << line << "\n" << *text;
  }
  // Eight remote selectors wrap under their column; every one is shown.
  for (int i = 0; i < 8; ++i) {
    EXPECT_NE(text->find("10.20." + std::to_string(i) + ".0/24"), std::string::npos) << i;
  }
  EXPECT_NE(text->find("\n           10.20."), std::string::npos) << *text;
  // Paths without an IKE SA keep the plain view.
  EXPECT_NE(text->find("MANUAL, manual keys"), std::string::npos);
}

TEST(ControlView, FlowsAndMessagesAndErrors) {
  ControlFlows f;
  f.total = 3;
  f.top = {{"udp 10.1.0.10:40000 -> 10.2.0.10:5004 and a long tail", "b", "voice", "site-b/fiber",
            12345678, 0.2},
           {"tcp 10.1.0.10:1 -> 10.2.0.10:2", "b", "bulk", "site-b/broadband", 5, 75}};
  auto text = formatControlResponse(controlFlowsResponse(f));
  ASSERT_TRUE(text) << text.status().message();
  expectFits(*text);
  EXPECT_NE(text->find("3 flow(s), the 2 with most packets"), std::string::npos);
  EXPECT_NE(text->find("voice"), std::string::npos);
  EXPECT_NE(text->find("12.3M"), std::string::npos) << *text;

  auto done = formatControlResponse(controlDone("reload", "policy reloaded"));
  ASSERT_TRUE(done);
  EXPECT_EQ(*done, "policy reloaded\n");
  // A refusal carries the config's file:line:col text through JSON escaping intact.
  const std::string msg = "b.toml:3:7: 'x' = \"y\"\n\tsecond line";
  auto err = formatControlResponse(controlError(msg));
  ASSERT_FALSE(err);
  EXPECT_EQ(err.status().message(), msg);
  EXPECT_FALSE(formatControlResponse("not json"));
  EXPECT_FALSE(formatControlResponse("[1,2,3]"));
  EXPECT_FALSE(formatControlResponse(R"({"ok":true,"command":"nope","data":{}})"));
  // Wrong types inside a response degrade to blanks, never a crash.
  auto odd = formatControlResponse(
      R"({"ok":true,"command":"status","data":{"uplinks":[1,{"name":5}],"paths":[{"uplink":5,"sas":[2]}]}})");
  EXPECT_TRUE(odd);
}

// braidctl metrics: the registry's JSON travels as the response's data, unchanged, and the
// text view has one line per series (a histogram as _count and _sum).
TEST(ControlView, MetricsCarriesTheWholeRegistry) {
  metrics::Registry r;
  auto c =
      r.addFamily({"braid_x_drops_total", "Drops.", metrics::Type::kCounter, "", {"reason"}, {}});
  auto g =
      r.addFamily({"braid_x_rtt_seconds", "RTT.", metrics::Type::kGauge, "seconds", {"path"}, {}});
  static constexpr std::array<double, 2> kB = {0.01, 0.1};
  auto h = r.addFamily({"braid_x_probe_seconds",
                        "Probes.",
                        metrics::Type::kHistogram,
                        "seconds",
                        {},
                        {kB.begin(), kB.end()}});
  ASSERT_TRUE(c && g && h);
  auto c1 = r.addSeries(*c, {"bad_spi"});
  auto c2 = r.addSeries(*c, {"replay"});
  auto g1 = r.addSeries(*g, {"hq/fiber \"a\""});
  auto h1 = r.addSeries(*h, {});
  ASSERT_TRUE(c1 && c2 && g1 && h1);
  r.set(*c1, uint64_t{7});
  r.set(*g1, 0.0125);
  metrics::Histogram hist(kB);
  for (double v : {0.005, 0.05, 0.5}) hist.observe(v);
  r.set(*h1, hist);
  const std::string response = controlMetricsResponse(r.json());
  EXPECT_EQ(response.find('\n'), std::string::npos);  // one line on the socket
  auto v = boost::json::parse(response);
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.at("command"), "metrics");
  EXPECT_EQ(boost::json::serialize(v.at("data")),
            boost::json::serialize(boost::json::parse(r.json())));
  EXPECT_EQ(v.at("data").at("metrics").as_array().size(), 3u);
  auto text = formatControlResponse(response);
  ASSERT_TRUE(text) << text.status().message();
  EXPECT_EQ(*text,
            "braid_x_drops_total{reason=\"bad_spi\"} 7\n"
            "braid_x_drops_total{reason=\"replay\"} 0\n"
            "braid_x_rtt_seconds{path=\"hq/fiber \\\"a\\\"\"} 0.0125\n"
            "braid_x_probe_seconds_count 3\n"
            "braid_x_probe_seconds_sum 0.555\n");
  EXPECT_TRUE(formatControlResponse(R"({"ok":true,"command":"metrics","data":{}})"));
}

// ---- the TX thread's side: classes per path and the top flows from the flow tables ----

std::vector<uint8_t> udp(const char* dst, uint16_t dport, uint8_t tos = 0) {
  std::vector<uint8_t> p(48, 0);
  p[0] = 0x45;
  p[1] = tos;
  storeBe16(&p[2], uint16_t(p.size()));
  p[8] = 64;
  p[9] = 17;
  storeBe32(&p[12], IpAddress::parse("10.1.0.1")->v4HostOrder());
  storeBe32(&p[16], IpAddress::parse(dst)->v4HostOrder());
  storeBe16(&p[20], 40000);
  storeBe16(&p[22], dport);
  return p;
}

TEST(ControlPolicy, ClassesPerPathAndTopFlowsFromTheFlowTables) {
  // Peer p0: paths 0 fiber, 1 broadband, 2 lte; peer p1: path 3 fiber.
  std::vector<PathSpec> paths = {{"p0/fiber", 0, 0, {}},
                                 {"p0/broadband", 0, 1, {}},
                                 {"p0/lte", 0, 2, {}},
                                 {"p1/fiber", 1, 0, {}}};
  std::vector<PeerSpec> peers = {{"p0", {*IpPrefix::parse("10.2.0.0/16")}, {0, 1, 2}},
                                 {"p1", {*IpPrefix::parse("10.3.0.0/16")}, {3}}};
  MultipathConfig m;
  ClassConfig voice;
  voice.policy.name = "voice";
  voice.preferUplinks = {1, 0};  // broadband first
  ClassConfig def;
  def.policy.name = "default";
  def.pathOrder = true;
  m.classes = {voice, def};
  policy::Rule r;
  r.cls = 0;
  r.dscp = uint64_t{1} << 46;  // EF
  m.rules = {r};
  m.engine.defaultClass = 1;
  Steering s(m, peers, paths);
  std::vector<policy::PathView> views;
  for (uint16_t i = 0; i < 4; ++i) {
    s.setKeyed(i, true);
    policy::PathView v;
    v.id = i;
    v.health = policy::PathHealth::kUp;
    v.rttUs = 5000 * (i + 1);
    views.push_back(v);
  }
  s.setViews(views);
  const TimePoint now{};
  Steering::Choice c;
  // Packets per flow: a reference to compare the top-N with.
  std::vector<std::pair<uint64_t, uint16_t>> sent;  // (packets, port) of peer p0's default
  auto send = [&](const char* dst, uint16_t port, uint8_t tos, int n) {
    auto pkt = udp(dst, port, tos);
    for (int i = 0; i < n; ++i) ASSERT_TRUE(s.choose(pkt.data(), pkt.size(), now, c));
  };
  send("10.2.0.9", 5004, 46 << 2, 7);  // voice -> broadband
  for (uint16_t port = 80; port < 90; ++port) {
    const int n = 1 + (port * 7) % 11;
    send("10.2.0.9", port, 0, n);
    sent.push_back({uint64_t(n), port});
  }
  send("10.3.0.9", 443, 0, 2);  // p1's only path
  PolicyView v = inspectPolicy(s, paths, {"p0", "p1"}, 4, now + std::chrono::seconds(3));
  EXPECT_EQ(v.flows.total, 12u);
  ASSERT_EQ(v.classesByPath.size(), 4u);
  EXPECT_EQ(v.classesByPath[0], (std::vector<std::string>{"default"}));
  EXPECT_EQ(v.classesByPath[1], (std::vector<std::string>{"voice"}));
  EXPECT_TRUE(v.classesByPath[2].empty());
  EXPECT_EQ(v.classesByPath[3], (std::vector<std::string>{"default"}));
  // The 4 largest, most packets first, against a sort of everything sent.
  sent.push_back({7, 5004});
  std::sort(sent.begin(), sent.end(), [](auto& a, auto& b) { return a.first > b.first; });
  ASSERT_EQ(v.flows.top.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(v.flows.top[i].packets, sent[i].first) << i;
    EXPECT_EQ(v.flows.top[i].peer, "p0");
    EXPECT_NEAR(v.flows.top[i].idleSeconds, 3.0, 1e-9);
  }
  for (const ControlFlow& f : v.flows.top) {
    EXPECT_TRUE(f.flow.starts_with("udp 10.1.0.1:40000 > 10.2.0.9:")) << f.flow;
    const bool isVoice = f.flow.ends_with(":5004");
    EXPECT_EQ(f.cls, isVoice ? "voice" : "default") << f.flow;
    EXPECT_EQ(f.path, isVoice ? "p0/broadband" : "p0/fiber") << f.flow;
  }
  // maxFlows 0: counts and classes only.
  EXPECT_TRUE(inspectPolicy(s, paths, {"p0", "p1"}, 0, now).flows.top.empty());
}

// ---- the socket ----------------------------------------------------------------------

class Echo final : public ControlHandler {
 public:
  void handle(const ControlRequest& r, Reply reply) override {
    ++calls;
    reply(controlDone(controlVerbName(r.verb), r.arg));
  }
  int calls = 0;
};

class Client {
 public:
  explicit Client(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    connected = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Client() { ::close(fd_); }
  void send(const std::string& s) {
    ASSERT_EQ(::send(fd_, s.data(), s.size(), 0), ssize_t(s.size()));
  }
  // One line, or "" at EOF.
  std::string line() {
    for (;;) {
      if (size_t nl = buf_.find('\n'); nl != std::string::npos) {
        std::string l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return l;
      }
      char b[4096];
      ssize_t n = ::recv(fd_, b, sizeof b, 0);
      if (n <= 0) return "";
      buf_.append(b, size_t(n));
    }
  }
  bool connected = false;

 private:
  int fd_ = -1;
  std::string buf_;
};

class ControlSocket : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/braid-ctl-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/run/braidd.sock";  // the directory is created
    ControlServerOptions o;
    o.path = path_;
    o.maxSessions = 2;
    auto s = ControlServer::start(io_, o, handler_);
    ASSERT_TRUE(s) << s.status().message();
    server_ = std::move(*s);
    work_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    io_.stop();
    if (work_.joinable()) work_.join();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  boost::asio::io_context io_;
  std::shared_ptr<Echo> handler_ = std::make_shared<Echo>();
  std::unique_ptr<ControlServer> server_;
  std::thread work_;
  std::string dir_, path_;
};

TEST_F(ControlSocket, AnswersRequestsLineByLineAndSurvivesBadOnes) {
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  Client c(path_);
  ASSERT_TRUE(c.connected);
  c.send("path down fiber\nstatus\n");
  EXPECT_EQ(c.line(), R"({"ok":true,"command":"path down","message":"fiber"})");
  EXPECT_EQ(c.line(), R"({"ok":true,"command":"status","message":""})");
  c.send("bogus\n");
  EXPECT_NE(c.line().find(R"("ok":false,"error":"unknown command 'bogus')"), std::string::npos);
  c.send(std::string("\x00\x01\x02\n", 4));
  EXPECT_NE(c.line().find("not printable"), std::string::npos);
  c.send("sas\n");  // the session goes on after refusals
  EXPECT_EQ(c.line(), R"({"ok":true,"command":"sas","message":""})");
  // Too long: an error, then the connection is closed (no resynchronising a stream).
  c.send(std::string(kMaxControlRequest + 10, 'a'));
  EXPECT_NE(c.line().find("longer than"), std::string::npos);
  EXPECT_EQ(c.line(), "");
  // Other clients are unaffected.
  Client d(path_);
  ASSERT_TRUE(d.connected);
  d.send("reload\n");
  EXPECT_EQ(d.line(), R"({"ok":true,"command":"reload","message":""})");
}

TEST_F(ControlSocket, RefusesSessionsOverTheLimitAndASecondServer) {
  Client a(path_), b(path_);
  a.send("status\n");
  b.send("status\n");
  EXPECT_NE(a.line(), "");
  EXPECT_NE(b.line(), "");
  Client c(path_);
  EXPECT_NE(c.line().find("too many braidctl connections"), std::string::npos);
  // A second daemon on the same path is refused while this one answers.
  boost::asio::io_context io2;
  ControlServerOptions o;
  o.path = path_;
  auto second = ControlServer::start(io2, o, std::make_shared<Echo>());
  ASSERT_FALSE(second);
  EXPECT_NE(second.status().message().find("answers on it"), std::string::npos);
}

TEST(ControlSocketFiles, ReplacesAStaleSocketAndRefusesOtherFiles) {
  char tmpl[] = "/tmp/braid-ctl-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  boost::asio::io_context io;
  ControlServerOptions o;
  o.path = dir + "/file";
  { std::ofstream(o.path) << "x"; }
  EXPECT_FALSE(ControlServer::start(io, o, std::make_shared<Echo>()));
  // A socket file nobody answers on (a daemon that was killed) is replaced.
  o.path = dir + "/stale.sock";
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, o.path.c_str(), sizeof a.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ::close(fd);
  }
  {
    auto s = ControlServer::start(io, o, std::make_shared<Echo>());
    ASSERT_TRUE(s) << s.status().message();
  }
  EXPECT_FALSE(std::filesystem::exists(o.path));  // removed with the server
  // [control] group: the socket's group, still mode 0660.
  if (const group* g = ::getgrnam("nogroup"); g != nullptr) {
    o.group = "nogroup";
    auto s = ControlServer::start(io, o, std::make_shared<Echo>());
    ASSERT_TRUE(s) << s.status().message();
    struct stat st {};
    ASSERT_EQ(::stat(o.path.c_str(), &st), 0);
    EXPECT_EQ(st.st_gid, g->gr_gid);
    EXPECT_EQ(st.st_mode & 0777, 0660u);
    o.group = "no-such-group-here";
    EXPECT_FALSE(ControlServer::start(io, o, std::make_shared<Echo>()));
    o.group.clear();
  }
  o.path = "relative.sock";
  EXPECT_FALSE(ControlServer::start(io, o, std::make_shared<Echo>()));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace braid::edge
