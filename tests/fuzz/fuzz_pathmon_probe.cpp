// Fuzzes the probe decoder. Invariants: a decoded message re-encodes to the same bytes (28,
// or 40 for a reply with receive counts) except the flags' ignored bits, and decodes again
// to the same message.
#include <array>
#include <cstdint>
#include <cstdlib>

#include "pathmon/probe.hpp"

using namespace braid;
using namespace braid::pathmon;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ProbeMessage m;
  if (!decodeProbe(Bytes(data, size), m)) return 0;
  const size_t n = encodedSize(m);
  if (size < n) std::abort();
  std::array<uint8_t, kProbeMaxSize> out{};
  ByteWriter w(out);
  if (!encodeProbe(m, w) || w.position() != n) std::abort();
  for (size_t i = 0; i < n; ++i) {
    if (i == 1) {
      if ((out[i] & kFlagRxCounts) != (m.hasRxCounts ? kFlagRxCounts : 0)) std::abort();
    } else if (out[i] != data[i]) {
      std::abort();
    }
  }
  ProbeMessage again;
  if (!decodeProbe(Bytes(out.data(), n), again) || !(again == m)) std::abort();
  ProbeMessage reply = makeReply(m, m.txUs, m.txUs + m.holdUs);
  if (reply.seq != m.seq || reply.echoUs != m.txUs) std::abort();
  return 0;
}
