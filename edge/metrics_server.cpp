#include "edge/metrics_server.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "core/log.hpp"

namespace braid::edge {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

// RFC 9110 section 5.6.2: token characters (method and header names).
bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool isToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), isTokenChar);
}

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// SHA-256 of both sides, compared with CRYPTO_memcmp: the time depends on neither the token
// nor its length.
bool tokenMatches(std::string_view given, const SecretBytes& expected) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> a{}, b{};
  unsigned la = 0, lb = 0;
  if (EVP_Digest(given.data(), given.size(), a.data(), &la, EVP_sha256(), nullptr) != 1 ||
      EVP_Digest(expected.data(), expected.size(), b.data(), &lb, EVP_sha256(), nullptr) != 1) {
    return false;
  }
  return la == lb && CRYPTO_memcmp(a.data(), b.data(), la) == 0;
}

std::string response(int code, std::string_view reason, std::string_view contentType,
                     std::string_view body, std::string_view extraHeaders = {}) {
  std::string out = "HTTP/1.1 " + std::to_string(code) + " " + std::string(reason) + "\r\n";
  out += "Content-Type: ";
  out += contentType;
  out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Cache-Control: no-store\r\nConnection: close\r\n";
  out += extraHeaders;
  out += "\r\n";
  out += body;
  return out;
}

constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";

std::string errorResponse(int code, std::string_view reason, MetricsServerCounters& counters,
                          std::string_view extraHeaders = {}) {
  if (code == 401) {
    ++counters.unauthorized;
  } else {
    ++counters.badRequests;
  }
  return response(code, reason, kTextPlain, std::string(reason) + "\n", extraHeaders);
}

}  // namespace

std::string metricsHttpResponse(std::string_view head, const SecretBytes& token,
                                const ScrapeFunction& scrape, MetricsServerCounters& counters) {
  auto bad = [&] { return errorResponse(400, "Bad Request", counters); };
  // Request line (RFC 9112 section 3): method SP request-target SP HTTP-version CRLF.
  size_t eol = head.find("\r\n");
  if (eol == std::string_view::npos) return bad();
  std::string_view line = head.substr(0, eol);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return bad();
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!isToken(method) || target.empty() || !version.starts_with("HTTP/1.") ||
      version.size() != 8) {
    return bad();
  }
  // Header fields (RFC 9112 section 5); obsolete line folding is refused (section 5.2).
  std::string accept;
  std::optional<std::string_view> authorization;
  size_t pos = eol + 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    if (e == std::string_view::npos) return bad();
    std::string_view field = head.substr(pos, e - pos);
    pos = e + 2;
    if (field.empty()) break;  // the blank line ending the head
    size_t colon = field.find(':');
    if (colon == std::string_view::npos || !isToken(field.substr(0, colon))) return bad();
    std::string_view name = field.substr(0, colon);
    std::string_view value = trimOws(field.substr(colon + 1));
    if (iequals(name, "accept")) {
      if (!accept.empty()) accept += ", ";  // repeated fields combine as a list
      accept += value;
    } else if (iequals(name, "authorization")) {
      if (authorization) return bad();  // ambiguous
      authorization = value;
    }
  }
  if (!token.empty()) {
    // RFC 6750 section 2.1: "Bearer" (case-insensitive) 1*SP b64token.
    bool ok = false;
    if (authorization && authorization->size() > 7 &&
        iequals(authorization->substr(0, 6), "bearer") && (*authorization)[6] == ' ') {
      ok = tokenMatches(trimOws(authorization->substr(7)), token);
    }
    if (!ok) {
      return errorResponse(401, "Unauthorized", counters,
                           "WWW-Authenticate: Bearer realm=\"braid\"\r\n");
    }
  }
  std::string_view path = target.substr(0, target.find('?'));
  if (path != "/metrics") return errorResponse(404, "Not Found", counters);
  if (method != "GET") return errorResponse(405, "Method Not Allowed", counters, "Allow: GET\r\n");
  metrics::Negotiated n = metrics::negotiate(accept);
  std::string body;
  try {
    body = scrape(n.format);
  } catch (const std::exception& e) {
    BRAID_LOG(kError, "metrics") << "scrape failed: " << e.what();
    return errorResponse(500, "Internal Server Error", counters);
  }
  ++counters.scrapes;
  return response(200, "OK", n.contentType, body);
}

struct MetricsServer::Impl : std::enable_shared_from_this<Impl> {
  class Session;

  Impl(asio::io_context& io, MetricsServerOptions o, ScrapeFunction s)
      : io(io), opts(std::move(o)), scrape(std::move(s)), acceptor(io), retry(io) {}

  Status open();
  void accept();
  void stop();

  asio::io_context& io;
  MetricsServerOptions opts;
  ScrapeFunction scrape;
  tcp::acceptor acceptor;
  asio::steady_timer retry;  // after an accept error such as EMFILE
  std::unique_ptr<ssl::context> tls;
  std::set<Session*> sessions;
  MetricsServerCounters counters;
  bool stopped = false;
};

// One connection: (TLS handshake,) read the head, answer, close. Its deadline covers all of
// it, so a client that sends or reads slowly is cut off after opts.timeout.
class MetricsServer::Impl::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<Impl> server, tcp::socket socket)
      : server_(std::move(server)),
        socket_(std::move(socket)),
        buffer_(server_->opts.maxRequestBytes),
        deadline_(server_->io) {
    if (server_->tls) {
      tls_ = std::make_unique<ssl::stream<tcp::socket>>(std::move(socket_), *server_->tls);
    }
    server_->sessions.insert(this);
  }
  ~Session() { server_->sessions.erase(this); }

  void start() {
    deadline_.expires_after(server_->opts.timeout);
    deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      ++self->server_->counters.timeouts;
      self->close();
    });
    if (tls_) {
      tls_->async_handshake(ssl::stream_base::server,
                            [self = shared_from_this()](const boost::system::error_code& ec) {
                              if (ec) {
                                ++self->server_->counters.tlsFailures;
                                self->close();
                                return;
                              }
                              self->read();
                            });
    } else {
      read();
    }
  }

  void close() {
    deadline_.cancel();
    boost::system::error_code ec;
    tcp::socket& s = tls_ ? tls_->next_layer() : socket_;
    s.shutdown(tcp::socket::shutdown_both, ec);
    s.close(ec);
  }

 private:
  template <class F>
  void withStream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(socket_);
    }
  }

  void read() {
    withStream([&](auto& stream) {
      asio::async_read_until(stream, buffer_, "\r\n\r\n",
                             [self = shared_from_this()](const boost::system::error_code& ec,
                                                         size_t n) { self->onRead(ec, n); });
    });
  }

  void onRead(const boost::system::error_code& ec, size_t n) {
    if (ec == asio::error::not_found) {
      // The head did not fit in maxRequestBytes (RFC 6585 section 5).
      response_ = errorResponse(431, "Request Header Fields Too Large", server_->counters);
    } else if (ec) {
      close();
      return;
    } else {
      auto data = buffer_.data();
      std::string head(asio::buffers_begin(data), asio::buffers_begin(data) + n);
      response_ =
          metricsHttpResponse(head, server_->opts.token, server_->scrape, server_->counters);
    }
    withStream([&](auto& stream) {
      asio::async_write(stream, asio::buffer(response_),
                        [self = shared_from_this()](const boost::system::error_code& wec, size_t) {
                          self->onWritten(wec);
                        });
    });
  }

  void onWritten(const boost::system::error_code& ec) {
    if (ec) {
      close();
      return;
    }
    if (tls_) {
      // close_notify, then the TCP close (RFC 8446 section 6.1).
      tls_->async_shutdown(
          [self = shared_from_this()](const boost::system::error_code&) { self->close(); });
      return;
    }
    // Half-close and wait for the client's FIN (bounded by the deadline): closing with unread
    // input would reset the connection and could destroy the response in flight.
    boost::system::error_code sec;
    socket_.shutdown(tcp::socket::shutdown_send, sec);
    drain();
  }

  void drain() {
    socket_.async_read_some(
        asio::buffer(scratch_),
        [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
          if (ec) {
            self->close();
          } else {
            self->drain();
          }
        });
  }

  std::shared_ptr<Impl> server_;
  tcp::socket socket_;  // plain HTTP; moved into tls_ for HTTPS
  std::unique_ptr<ssl::stream<tcp::socket>> tls_;
  asio::streambuf buffer_;
  asio::steady_timer deadline_;
  std::string response_;
  std::array<char, 512> scratch_{};
};

Status MetricsServer::Impl::open() {
  if (!opts.tlsCertFile.empty()) {
    tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    boost::system::error_code ec;
    tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                     ec);
    SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
    if (!ec) tls->use_certificate_chain_file(opts.tlsCertFile, ec);
    if (ec) {
      return errorStatus(ErrorCode::kInvalidArgument,
                         "metrics.tls_cert " + opts.tlsCertFile + ": " + ec.message());
    }
    tls->use_private_key(asio::buffer(opts.tlsKeyPem.data(), opts.tlsKeyPem.size()),
                         ssl::context::pem, ec);
    if (!ec && SSL_CTX_check_private_key(tls->native_handle()) != 1) {
      return errorStatus(ErrorCode::kInvalidArgument,
                         "metrics.tls_key does not match the certificate of metrics.tls_cert");
    }
    if (ec) return errorStatus(ErrorCode::kInvalidArgument, "metrics.tls_key: " + ec.message());
  }
  boost::system::error_code ec;
  asio::ip::address address;
  if (opts.address.isV4()) {
    address = asio::ip::address_v4(opts.address.v4HostOrder());
  } else {
    asio::ip::address_v6::bytes_type b{};
    std::copy_n(opts.address.bytes().data(), b.size(), b.begin());
    address = asio::ip::address_v6(b);
  }
  const tcp::endpoint listen(address, opts.port);
  acceptor.open(listen.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(listen, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::ostringstream os;
    os << "metrics.listen " << listen << ": " << ec.message();
    return errorStatus(ErrorCode::kIoError, os.str());
  }
  return {};
}

void MetricsServer::Impl::accept() {
  acceptor.async_accept(
      [self = shared_from_this()](const boost::system::error_code& ec, tcp::socket socket) {
        if (self->stopped) return;
        if (ec) {
          // EMFILE and the like: try again shortly rather than spin.
          BRAID_LOG(kWarn, "metrics") << "accept: " << ec.message();
          self->retry.expires_after(std::chrono::milliseconds(200));
          self->retry.async_wait([self](const boost::system::error_code& tec) {
            if (!tec && !self->stopped) self->accept();
          });
          return;
        }
        ++self->counters.connections;
        if (self->sessions.size() >= self->opts.maxConnections) {
          ++self->counters.refused;
          boost::system::error_code cec;
          socket.close(cec);
        } else {
          std::make_shared<Session>(self, std::move(socket))->start();
        }
        self->accept();
      });
}

void MetricsServer::Impl::stop() {
  if (stopped) return;
  stopped = true;
  boost::system::error_code ec;
  acceptor.close(ec);
  retry.cancel();
  // Copy: closing may not erase (the sessions die when their handlers have run).
  std::vector<Session*> open(sessions.begin(), sessions.end());
  for (Session* s : open) s->close();
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(asio::io_context& io,
                                                            MetricsServerOptions options,
                                                            ScrapeFunction scrape) {
  auto impl = std::make_shared<Impl>(io, std::move(options), std::move(scrape));
  if (Status s = impl->open(); !s) return s;
  impl->accept();
  std::ostringstream os;
  os << (impl->tls ? "https://" : "http://") << impl->acceptor.local_endpoint() << "/metrics";
  BRAID_LOG(kInfo, "metrics") << "scrape endpoint " << os.str()
                              << (impl->opts.token.empty() ? "" : " (bearer token)");
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

MetricsServer::~MetricsServer() {
  if (impl_) impl_->stop();
}

tcp::endpoint MetricsServer::localEndpoint() const {
  boost::system::error_code ec;
  return impl_->acceptor.local_endpoint(ec);
}

const MetricsServerCounters& MetricsServer::counters() const {
  return impl_->counters;
}

}  // namespace braid::edge
