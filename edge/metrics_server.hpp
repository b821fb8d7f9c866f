// The Prometheus scrape endpoint of braidd: a small HTTP/1.1 server on the daemon's Asio
// thread that answers `GET /metrics` and nothing else (docs/metrics.md "The scrape endpoint").
//   * one request per connection (answered with `Connection: close`), the request head
//     bounded in size and the whole exchange in time, at most N connections at once: a slow
//     or hostile client costs one socket and a timer, never the Asio thread or the data plane;
//   * the format follows the Accept header (metrics::negotiate: Prometheus text 0.0.4 or
//     OpenMetrics 1.0), the body comes from the daemon's callback;
//   * optional bearer token (RFC 6750 section 2.1), compared in constant time;
//   * optional TLS (OpenSSL 3 through Boost.Asio ssl).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/ip.hpp"
#include "core/result.hpp"
#include "core/secure.hpp"
#include "metrics/metric.hpp"

namespace braid::edge {

// Produces the exposition in the requested format. Runs on the Asio thread; it must not wait
// on anything slow (braidd takes a data-plane snapshot, as SIGUSR1 does).
using ScrapeFunction = std::function<std::string(metrics::Format)>;

struct MetricsServerOptions {
  IpAddress address = IpAddress::v4(0x7f000001);
  uint16_t port = 0;  // 0: any free port (tests)
  SecretBytes token;  // empty: no authentication
  size_t maxConnections = 16;
  size_t maxRequestBytes = 8192;            // request line and headers; bodies are never read
  std::chrono::milliseconds timeout{5000};  // accept to last response byte
  std::string tlsCertFile;                  // PEM chain; empty: plain HTTP
  SecretBytes tlsKeyPem;                    // PEM private key
};

struct MetricsServerCounters {
  uint64_t connections = 0;
  uint64_t refused = 0;  // over maxConnections: closed at once
  uint64_t scrapes = 0;  // 200 responses
  uint64_t unauthorized = 0;
  uint64_t badRequests = 0;  // 400, 404, 405, 431
  uint64_t timeouts = 0;
  uint64_t tlsFailures = 0;
};

// The response to one request head (everything up to and including the blank line), without
// any I/O: status line, headers and body, ready to send. Exposed for the unit tests.
std::string metricsHttpResponse(std::string_view head, const SecretBytes& token,
                                const ScrapeFunction& scrape, MetricsServerCounters& counters);

class MetricsServer {
 public:
  // Binds and starts accepting. Fails if the address cannot be bound or TLS files are bad.
  static Result<std::unique_ptr<MetricsServer>> start(boost::asio::io_context& io,
                                                      MetricsServerOptions options,
                                                      ScrapeFunction scrape);
  ~MetricsServer();  // stops accepting and closes every connection
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  boost::asio::ip::tcp::endpoint localEndpoint() const;
  const MetricsServerCounters& counters() const;

  struct Impl;

 private:
  explicit MetricsServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace braid::edge
