// Fuzzes the scrape endpoint's request handling (metricsHttpResponse): what a TCP client can
// send before braidd answers. Invariants: a well-formed status line with a known code; a
// Content-Length that matches the body; the body of a 200 is the scrape output, and a 200
// with a token configured only when the request carried `Bearer <token>`; no request byte
// reaches the response head (no header injection).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "edge/metrics_server.hpp"

using namespace braid;
using namespace braid::edge;

namespace {

constexpr std::string_view kToken = "fuzz-token";
constexpr std::string_view kBody = "braid_fuzz 1\n";

void check(std::string_view request, const SecretBytes& token) {
  MetricsServerCounters counters;
  std::string r = metricsHttpResponse(
      request, token, [](metrics::Format) { return std::string(kBody); }, counters);
  if (!r.starts_with("HTTP/1.1 ") || r.size() < 12) std::abort();
  std::string_view code(r.data() + 9, 3);
  if (code != "200" && code != "400" && code != "401" && code != "404" && code != "405") {
    std::abort();
  }
  size_t end = r.find("\r\n\r\n");
  if (end == std::string::npos) std::abort();
  std::string_view head(r.data(), end + 2), body(r.data() + end + 4, r.size() - end - 4);
  std::string length = "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (head.find(length) == std::string_view::npos) std::abort();
  // Every head line is one braid writes.
  size_t pos = head.find("\r\n") + 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    std::string_view line = head.substr(pos, e - pos);
    bool known = false;
    for (std::string_view p :
         {"Content-Type: ", "Content-Length: ", "Cache-Control: no-store", "Connection: close",
          "Allow: GET", "WWW-Authenticate: Bearer realm=\"braid\""}) {
      known = known || line.starts_with(p);
    }
    if (!known) std::abort();
    pos = e + 2;
  }
  if (code == "200") {
    if (body != kBody || counters.scrapes != 1) std::abort();
    if (!token.empty() && request.find(kToken) == std::string_view::npos) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const SecretBytes none;
  const SecretBytes token(Bytes(reinterpret_cast<const uint8_t*>(kToken.data()), kToken.size()));
  check(in, none);
  check(in, token);
  // The server only passes heads that end with the blank line.
  std::string head(in);
  head += "\r\n\r\n";
  check(head, none);
  check(head, token);
  return 0;
}
