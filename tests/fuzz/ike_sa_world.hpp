// A whole IKE initiator (a) and a whole responder (b), each an SaManager on one ManualClock,
// driven by a program of operations read from bytes (the stateful fuzzer's input, see
// fuzz_ike_sa.cpp). Everything is deterministic: seeded SPIs, nonces, IVs and DH keys.
// The program can deliver, drop, duplicate, reorder, replay and mutate the datagrams each
// side sends, advance time, run operator actions, and inject messages built from its bytes:
// plaintext, or SK-protected with the target IKE SA's own keys (so they pass the integrity
// check and reach the tasks). Invariants are checked after each operation; a violation
// prints what broke and aborts.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/timer.hpp"
#include "ipsec/ike/sa_manager.hpp"

namespace braid::ike::fuzz {

// Operation codes (the first byte of each operation, modulo kOpCount).
enum Op : uint8_t {
  kOpDeliver = 0,    // side|index<<1: deliver and remove
  kOpDrop = 1,       // side|index<<1
  kOpDuplicate = 2,  // side|index<<1: deliver a copy, keep the original queued
  kOpRun = 3,        // n: deliver alternately up to n%16+1 datagrams
  kOpAdvance = 4,    // hi lo: advance (hi&0x7f)<<8|lo ms, times 100 if hi&0x80
  kOpMutate = 5,     // side|index<<1, n, n x (pos16, xor8): deliver a damaged copy
  kOpRaw = 6,        // target|src<<1, len16, bytes: a datagram from the program
  kOpInjectSk = 7,   // msg spec (below), encrypted with the target SA's peer keys
  kOpRewriteSk = 8,  // side|index<<1, n, n x (pos16, xor8): edit inside SK, reseal, deliver
  kOpOperator = 9,   // side|action<<1, arg
  kOpSwap = 10,      // side|i<<1, j: reorder a queue
  kOpPlain = 11,     // msg spec (below), sent in plaintext
  kOpReplay = 12,    // side|index<<1: deliver a copy of an earlier datagram again
  kOpCount = 13,
};
// Message spec (kOpInjectSk, kOpPlain): target|src<<1|sa<<3 (sa 0: the newest SA of the
// peer, else the SA with the (sa-1)-th known SPI of the target), exchange (< 0x80: 34 +
// (x&3), else the raw byte), flags (bit0 response, bit1 invert the I flag), msgid mode
// (0: the ID the SA expects, 1: one less, 2: one more, 3: u32 follows), first payload type,
// len16, inner payload chain.

// Operator actions (kOpOperator, action = byte>>1 % kActCount). kActBoth: both sides start
// an exchange in the same step, before either sees the other's request (RFC 7296 2.8.1,
// 2.8.2, 2.25 collisions); arg % kBothCount picks the pair, arg / kBothCount the Child SA.
enum Action : uint8_t {
  kActInitiate,
  kActCreateChild,
  kActDeleteChild,
  kActDeleteIke,
  kActLive,
  kActRekeyChild,  // arg: which Child SA
  kActRekeyIke,
  kActBoth,
  kActCount,
};
// kActBoth pairs (a's action / b's action), on the same Child SA where one is named.
enum Both : uint8_t {
  kBothRekeyChild,        // 2.8.1: simultaneous Child SA rekey
  kBothRekeyIke,          // 2.8.2: simultaneous IKE SA rekey
  kBothRekeyDeleteChild,  // 2.25: rekey vs delete of one Child SA
  kBothDeleteRekeyChild,
  kBothDeleteChild,  // delete vs delete
  kBothRekeyIkeDeleteIke,
  kBothDeleteIkeRekeyIke,
  kBothDeleteIke,
  kBothRekeyChildRekeyIke,
  kBothRekeyIkeRekeyChild,
  kBothCount,
};

// Config byte (the program's first byte).
enum ConfigBit : uint8_t {
  kCfgEstablish = 0x01,    // run the first handshake to the end before the operations
  kCfgForceEncap = 0x02,   // both sides force UDP encapsulation (float to 4500)
  kCfgPfs = 0x04,          // Child SAs with a D-H group (KE in CREATE_CHILD_SA)
  kCfgSuiteMask = 0x18,    // IKE suite: GCM/x25519, ChaCha20/x25519, CBC+HMAC/x25519, GCM/P-256
  kCfgNatA = 0x20,         // a is behind a NAT (its source rewritten)
  kCfgAnyRemote = 0x40,    // b accepts its peer from any address
  kCfgTightLimits = 0x80,  // small DoS limits on both sides (cookies from 2 half-open SAs)
};

struct Datagram {
  Endpoint local, remote;  // as the sender handed them out
  ByteVec data;
};

// A message seen on the wire, its payload chain decrypted if it was SK-protected (the seed
// generator builds injections from them).
struct Captured {
  int from = 0;  // 0 = a, 1 = b
  ExchangeType exchange = ExchangeType::kIkeSaInit;
  bool response = false;
  bool sk = false;
  uint8_t firstInner = 0;
  ByteVec inner;
};

class World {
 public:
  World();
  ~World();
  // Runs a whole program. Aborts (after printing why) when an invariant breaks.
  void run(Bytes program);

  // Strict invariants: an unauthenticated datagram never changes an established SA, and
  // after a long quiet time no IKE SA is left half-open. On unless BRAID_FUZZ_IKE_SA_STRICT=0.
  static bool strict();

  // Seed generation: every message delivered is kept here, SK ones decrypted.
  bool capture = false;
  std::vector<Captured> captured;
  // After run(): whether the pair checks ran (a clean program, see checkPairs), and the
  // number of collisions started (kActBoth), for the seed generator.
  bool pairsChecked = false;
  size_t collisions = 0;

 private:
  struct Side;
  class Reader;
  class Sender;
  class Listener;

  void setup(uint8_t config);
  void step(Reader& in);
  Side& side(int i) { return *sides_[i & 1]; }
  Side& other(const Side& s);
  // Routes `d`, sent by `from`, to the other side (NAT rewriting on the way).
  void deliver(Side& from, const Datagram& d, bool authentic);
  void receiveAt(Side& to, const Endpoint& dst, const Endpoint& src, Bytes data, bool authentic);
  void advanceTo(TimePoint t);
  void injectMessage(Reader& in, bool encrypt);
  void rewriteSk(Reader& in);
  void operatorAction(Reader& in);
  // One side's action on its newest IKE SA (`child`: index of the Child SA to act on).
  void act(Side& s, Action a, uint8_t child);
  void both(uint8_t arg);
  // Delivers everything and lets timers run for up to `horizon`: a perfect network.
  void settle(Duration horizon);
  // A clean program (no forged or injected input, no SA that gave up on its peer), settled:
  // one IKE SA per pair at most and the same on both sides, the same Child SAs on both, and
  // every outbound ESP SA has its inbound SA at the peer (no key gap).
  void checkPairs();
  Endpoint sourceFor(Side& target, int selector);
  IkeSa* pickSa(Side& s, int selector);
  void captureMessage(Side& to, Bytes data);
  void checkAll(const char* after);
  void summary();  // BRAID_FUZZ_IKE_SA_VERBOSE: what the program did, on stderr
  [[noreturn]] void violated(const std::string& what);

  ManualClock clock_;
  TimerQueue timers_;
  std::unique_ptr<Side> sides_[2];
  bool natA_ = false;
  bool tampered_ = false;    // forged, mutated or injected input reached a side
  bool gaveUp_ = false;      // an exchange ran out of retransmissions
  bool unilateral_ = false;  // one side alone initiated or deleted (operator action)
  size_t ops_ = 0;
  std::string trace_;  // the operations so far, for the report of a violation
};

}  // namespace braid::ike::fuzz
