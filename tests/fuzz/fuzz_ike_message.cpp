// Fuzz target: IKE message parsing (header, plaintext payload chain, every payload body)
// and the rule tables. Nothing may crash; a parsed message must re-encode and re-parse.
#include <cstddef>
#include <cstdint>

#include "ipsec/ike/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace braid::ike;
  Message m;
  if (m.parse(braid::Bytes(data, size))) return 0;
  (void)m.verify();
  (void)m.summary();
  if (m.hasSk()) return 0;
  // Round trip: what we parsed must encode, and encode to something that parses the same.
  auto bytes = m.encode(nullptr);
  if (!bytes) return 0;  // e.g. unknown exchange type with SK semantics
  Message again;
  if (again.parse(*bytes) || again.payloads.size() != m.payloads.size()) __builtin_trap();
  return 0;
}
