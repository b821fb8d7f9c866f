// Fuzz target: a CP payload body (RFC 7296 3.15) as a peer may send it. Checked: the raw
// codec re-serializes what it parsed to the same bytes; the typed layer (payload_cp.hpp), when
// it accepts the attributes, survives its own wire form unchanged.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/bytes.hpp"
#include "ipsec/ike/payload.hpp"
#include "ipsec/ike/payload_cp.hpp"

namespace {

using namespace braid::ike;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

std::vector<uint8_t> serialize(const CpPayload& cp) {
  std::vector<uint8_t> buf(70000);
  braid::ByteWriter w(buf);
  check(cp.serialize(w));
  buf.resize(w.position());
  return buf;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const braid::Bytes in(data, size);
  auto body = parsePayloadBody(PayloadType::kCp, in);
  if (!body) return 0;
  const CpPayload* cp = std::get_if<CpPayload>(&*body);
  check(cp != nullptr);
  // The reserved octets and the attribute types' R bit are not kept; the rest is.
  std::vector<uint8_t> again = serialize(*cp);
  check(again.size() == size);
  auto reparsed = parsePayloadBody(PayloadType::kCp, again);
  check(reparsed && std::get<CpPayload>(*reparsed) == *cp);

  auto typed = ConfigPayload::fromPayload(*cp);
  if (!typed) return 0;
  auto wire = parsePayloadBody(PayloadType::kCp, serialize(typed->toPayload()));
  check(wire.has_value());
  auto back = ConfigPayload::fromPayload(std::get<CpPayload>(*wire));
  check(back.isOk() && *back == *typed);
  return 0;
}
