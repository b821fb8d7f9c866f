// Fuzzes the probe decoder. Invariants: a decoded message re-encodes to the same 28 bytes
// except the ignored reserved byte, and decodes again to the same message.
#include <array>
#include <cstdint>
#include <cstdlib>

#include "pathmon/probe.hpp"

using namespace braid;
using namespace braid::pathmon;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ProbeMessage m;
  if (!decodeProbe(Bytes(data, size), m)) return 0;
  if (size < kProbeSize) std::abort();
  std::array<uint8_t, kProbeSize> out{};
  ByteWriter w(out);
  if (!encodeProbe(m, w)) std::abort();
  for (size_t i = 0; i < kProbeSize; ++i) {
    if (i != 1 && out[i] != data[i]) std::abort();
  }
  ProbeMessage again;
  if (!decodeProbe(out, again) || !(again == m)) std::abort();
  ProbeMessage reply = makeReply(m, m.txUs, m.txUs + m.holdUs);
  if (reply.seq != m.seq || reply.echoUs != m.txUs) std::abort();
  return 0;
}
