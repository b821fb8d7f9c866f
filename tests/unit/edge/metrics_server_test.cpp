// The scrape endpoint (edge/metrics_server.hpp): request handling without sockets, then the
// server on 127.0.0.1 port 0 with plain blocking clients (loopback only, no namespaces).
#include "edge/metrics_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <thread>

namespace braid::edge {
namespace {

constexpr std::string_view kOpenMetricsAccept =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";  // what Prometheus 2.x sends

std::string scrapeBody(metrics::Format f) {
  return f == metrics::Format::kOpenMetrics ? "braid_up 1\n# EOF\n" : "braid_up 1\n";
}

SecretBytes secret(std::string_view s) {
  return SecretBytes(Bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

std::string get(std::string_view target, std::string_view extra = {},
                std::string_view method = "GET") {
  return std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n" +
         std::string(extra) + "\r\n";
}

std::string respond(const std::string& head, const SecretBytes& token = {}) {
  MetricsServerCounters c;
  return metricsHttpResponse(head, token, scrapeBody, c);
}

TEST(MetricsHttpTest, NegotiatesTheFormat) {
  std::string r = respond(get("/metrics"));
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\n")) << r;
  EXPECT_NE(r.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
            std::string::npos);
  EXPECT_NE(r.find("\r\nContent-Length: 11\r\n"), std::string::npos);
  EXPECT_TRUE(r.ends_with("\r\n\r\nbraid_up 1\n"));

  r = respond(get("/metrics", "Accept: " + std::string(kOpenMetricsAccept) + "\r\n"));
  EXPECT_NE(r.find("\r\nContent-Type: application/openmetrics-text; version=1.0.0; "
                   "charset=utf-8\r\n"),
            std::string::npos)
      << r;
  EXPECT_TRUE(r.ends_with("# EOF\n"));
  // A query string is ignored; header names are case-insensitive.
  r = respond(get("/metrics?x=1", "aCCEPT:  application/openmetrics-text\r\n"));
  EXPECT_NE(r.find("openmetrics-text"), std::string::npos);
}

TEST(MetricsHttpTest, OtherPathsMethodsAndGarbage) {
  MetricsServerCounters c;
  std::string r = metricsHttpResponse(get("/"), {}, scrapeBody, c);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 404 ")) << r;
  r = metricsHttpResponse(get("/metricsx"), {}, scrapeBody, c);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 404 ")) << r;
  r = metricsHttpResponse(get("/metrics", {}, "POST"), {}, scrapeBody, c);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 405 ")) << r;
  EXPECT_NE(r.find("\r\nAllow: GET\r\n"), std::string::npos);
  EXPECT_EQ(c.badRequests, 3u);
  EXPECT_EQ(c.scrapes, 0u);
  for (std::string bad :
       {std::string("GET /metrics\r\n\r\n"), std::string("GET  /metrics HTTP/1.1\r\n\r\n"),
        std::string("GET /metrics HTTP/2.0\r\n\r\n"), std::string("G(T /metrics HTTP/1.1\r\n\r\n"),
        get("/metrics", "Bad Header: x\r\n"), get("/metrics", " folded\r\n"),
        get("/metrics", "NoColon\r\n")}) {
    EXPECT_TRUE(respond(bad).starts_with("HTTP/1.1 400 ")) << bad;
  }
}

TEST(MetricsHttpTest, BearerToken) {
  const SecretBytes token = secret("t0ken-ABC");
  MetricsServerCounters c;
  for (std::string auth :
       {"", "Authorization: Bearer wrong\r\n", "Authorization: Bearer t0ken-AB\r\n",
        "Authorization: Bearer t0ken-ABCD\r\n", "Authorization: Basic dDBrZW4tQUJD\r\n",
        "Authorization: Bearer\r\n"}) {
    std::string r = metricsHttpResponse(get("/metrics", auth), token, scrapeBody, c);
    EXPECT_TRUE(r.starts_with("HTTP/1.1 401 ")) << auth;
    EXPECT_NE(r.find("\r\nWWW-Authenticate: Bearer realm=\"braid\"\r\n"), std::string::npos);
    EXPECT_EQ(r.find("braid_up"), std::string::npos);
  }
  // Unauthenticated clients learn nothing about paths either.
  EXPECT_TRUE(respond(get("/other"), token).starts_with("HTTP/1.1 401 "));
  EXPECT_TRUE(metricsHttpResponse(get("/metrics", "Authorization: bearer t0ken-ABC\r\n"), token,
                                  scrapeBody, c)
                  .starts_with("HTTP/1.1 200 "));
  EXPECT_EQ(c.unauthorized, 6u);
  EXPECT_EQ(c.scrapes, 1u);
  // Two Authorization fields are ambiguous.
  EXPECT_TRUE(
      respond(get("/metrics", "Authorization: Bearer t0ken-ABC\r\nAuthorization: Bearer x\r\n"),
              token)
          .starts_with("HTTP/1.1 400 "));
}

// ---- over TCP ----

class MetricsServerTest : public ::testing::Test {
 protected:
  void start(MetricsServerOptions o) {
    auto s = MetricsServer::start(io_, std::move(o), scrapeBody);
    ASSERT_TRUE(s.isOk()) << s.status().message();
    server_ = std::move(*s);
    port_ = server_->localEndpoint().port();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    boost::asio::post(io_, [this] { server_.reset(); });
    work_.reset();
    if (thread_.joinable()) thread_.join();
  }

  // A blocking client with a receive timeout, so that a broken server fails the test instead
  // of hanging it.
  int connectClient() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
  }
  static bool sendAll(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Reads until EOF; "timeout" if the receive timeout passed first.
  static std::string readAll(int fd) {
    std::string out;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno == ECONNRESET) {
        return out;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return out + "timeout";
      } else if (errno != EINTR) {
        return out + "error";
      }
    }
  }
  std::string exchange(std::string_view request) {
    int fd = connectClient();
    sendAll(fd, request);
    std::string r = readAll(fd);
    ::close(fd);
    return r;
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::unique_ptr<MetricsServer> server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

TEST_F(MetricsServerTest, ServesBothFormats) {
  start({});
  std::string r = exchange(get("/metrics"));
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\n")) << r;
  EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(r.find("\r\nConnection: close\r\n"), std::string::npos);
  r = exchange(get("/metrics", "Accept: " + std::string(kOpenMetricsAccept) + "\r\n"));
  EXPECT_NE(r.find("Content-Type: application/openmetrics-text; version=1.0.0"), std::string::npos)
      << r;
  EXPECT_TRUE(r.ends_with("# EOF\n"));
  EXPECT_TRUE(exchange(get("/nope")).starts_with("HTTP/1.1 404 "));
  EXPECT_TRUE(exchange(get("/metrics", {}, "DELETE")).starts_with("HTTP/1.1 405 "));
}

TEST_F(MetricsServerTest, TokenOverTcp) {
  MetricsServerOptions o;
  o.token = secret("abc");
  start(std::move(o));
  EXPECT_TRUE(exchange(get("/metrics")).starts_with("HTTP/1.1 401 "));
  EXPECT_TRUE(
      exchange(get("/metrics", "Authorization: Bearer abd\r\n")).starts_with("HTTP/1.1 401 "));
  EXPECT_TRUE(
      exchange(get("/metrics", "Authorization: Bearer abc\r\n")).starts_with("HTTP/1.1 200 "));
}

TEST_F(MetricsServerTest, OversizeRequestIsAnsweredAndClosed) {
  MetricsServerOptions o;
  o.maxRequestBytes = 1024;
  start(std::move(o));
  int fd = connectClient();
  // Headers beyond the bound, never finished: the server must not wait for the end.
  std::string big = "GET /metrics HTTP/1.1\r\nX-Fill: " + std::string(4000, 'a');
  sendAll(fd, big);
  std::string r = readAll(fd);
  ::close(fd);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 431 ")) << r.substr(0, 100);
  EXPECT_EQ(r.find("timeout"), std::string::npos);
  // A request just within the bound is served.
  std::string fits = get("/metrics", "X-Fill: " + std::string(900, 'a') + "\r\n");
  ASSERT_LT(fits.size(), 1024u);
  EXPECT_TRUE(exchange(fits).starts_with("HTTP/1.1 200 "));
}

TEST_F(MetricsServerTest, SlowClientBlocksNobodyAndIsCutOff) {
  MetricsServerOptions o;
  o.timeout = std::chrono::milliseconds(300);
  start(std::move(o));
  int slow = connectClient();
  sendAll(slow, "GET /metrics HTTP/1.1\r\nHost: x\r\n");  // and nothing more
  // Another client is served while the slow one holds its connection.
  std::string r = exchange(get("/metrics"));
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200 ")) << r;
  // The slow one is closed by the deadline, without a response (well before the client's own
  // 10 s receive timeout).
  EXPECT_EQ(readAll(slow), "");
  ::close(slow);
}

TEST_F(MetricsServerTest, ConnectionLimit) {
  MetricsServerOptions o;
  o.maxConnections = 2;
  start(std::move(o));
  int a = connectClient();
  int b = connectClient();
  sendAll(a, "GET /metrics HTTP/1.1\r\n");  // both idle mid-request
  sendAll(b, "GET /metrics HTTP/1.1\r\n");
  // A third is accepted and closed at once: no response.
  EXPECT_EQ(exchange(get("/metrics")), "");
  // When one of the two finishes its request, new clients are served again.
  sendAll(a, "\r\n");
  EXPECT_TRUE(readAll(a).starts_with("HTTP/1.1 200 "));
  ::close(a);
  bool served = false;
  for (int i = 0; i < 100 && !served; ++i) {
    served = exchange(get("/metrics")).starts_with("HTTP/1.1 200 ");
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(served);
  ::close(b);
}

TEST_F(MetricsServerTest, ServesOnIpv6Loopback) {
  int probe = ::socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  bool v6 = probe >= 0 && ::bind(probe, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  if (probe >= 0) ::close(probe);
  if (!v6) GTEST_SKIP() << "no IPv6 loopback";
  MetricsServerOptions o;
  o.address = *IpAddress::parse("::1");
  start(std::move(o));
  EXPECT_TRUE(server_->localEndpoint().address().is_v6());
  int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  a.sin6_port = htons(port_);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  sendAll(fd, get("/metrics"));
  EXPECT_TRUE(readAll(fd).starts_with("HTTP/1.1 200 "));
  ::close(fd);
}

TEST_F(MetricsServerTest, RefusesAnAddressInUse) {
  start({});
  MetricsServerOptions o;
  o.port = port_;
  boost::asio::io_context other;
  auto s = MetricsServer::start(other, std::move(o), scrapeBody);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.status().message().find("metrics.listen 127.0.0.1:"), std::string::npos)
      << s.status().message();
}

}  // namespace
}  // namespace braid::edge
