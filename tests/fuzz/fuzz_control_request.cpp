// Fuzzes what crosses braidd's control socket (edge/control_commands.hpp). The input is used
// twice: as a request line (what a local client sends braidd) and as a response line (what
// braidctl reads back). Invariants: a request is accepted only within kMaxControlRequest
// bytes, with a known verb and an argument only for path down|up; a refusal's message goes
// through the JSON error response and comes back unchanged; any response text is either
// formatted or refused, never a crash.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "edge/control_commands.hpp"

using namespace braid;
using namespace braid::edge;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto r = parseControlRequest(input);
  if (r) {
    if (input.size() > kMaxControlRequest) std::abort();
    if (r->verb >= ControlVerb::kCount) std::abort();
    const bool path = r->verb == ControlVerb::kPathDown || r->verb == ControlVerb::kPathUp;
    if (path == r->arg.empty()) std::abort();
    for (char c : r->arg) {
      if (c <= 0x20 || c >= 0x7f) std::abort();
    }
  } else {
    auto back = formatControlResponse(controlError(r.status().message()));
    if (back || back.status().message() != r.status().message()) std::abort();
  }
  (void)formatControlResponse(input);
  return 0;
}
