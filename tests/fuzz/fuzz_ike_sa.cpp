// Fuzz target: a whole IKE initiator and a whole responder (two SaManagers, simulated time)
// driven by a program of operations: deliver, drop, duplicate, reorder, replay and mutate
// datagrams, advance time, operator actions, and messages built from the input, in
// plaintext or SK-protected with the target IKE SA's keys so that they reach every task.
// ike_sa_world.hpp describes the program and the invariants checked after each operation.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/ike_sa_world.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  braid::ike::fuzz::World world;
  world.run(braid::Bytes(data, size));
  return 0;
}
