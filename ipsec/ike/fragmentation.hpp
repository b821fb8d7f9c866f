// IKEv2 message fragmentation (RFC 7383). Used only when both sides sent
// IKEV2_FRAGMENTATION_SUPPORTED in IKE_SA_INIT (2.3), and only for protected messages.
//   fragmentMessage()  splits one message's inner payload chain into Encrypted Fragment (SKF)
//                      datagrams, each encrypted and integrity-protected on its own (2.5).
//   Reassembler        collects the verified fragments of one message per direction (2.6),
//                      bounded in count, bytes and time; invalid input never changes state.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "ipsec/ike/crypto_cipher.hpp"
#include "ipsec/ike/events.hpp"
#include "ipsec/ike/message.hpp"

namespace braid::ike {

// strongSwan's default fragment_size: the whole IP datagram of one fragment.
inline constexpr size_t kDefaultFragmentSize = 1280;
inline constexpr size_t kMinFragmentSize = 576;  // RFC 791: every IPv4 host takes 576
inline constexpr size_t kMaxFragmentSize = 65535;

// The largest IKE message (UDP payload without the non-ESP marker) whose IP datagram is at
// most `fragmentSize` bytes: minus the IPv4 (20) or IPv6 (40) header, UDP (8) and, on the
// NAT-T port, the 4-byte non-ESP marker (RFC 3948 2.2). RFC 7383 2.5.1.
size_t ikeMessageLimit(size_t fragmentSize, bool ipv6, bool nonEspMarker);
// IP datagram bytes a fragment carries besides its IKE message (ikeMessageLimit's overhead).
size_t fragmentOverhead(bool ipv6, bool nonEspMarker);

// RFC 7383 2.5.2 PMTU discovery: the next smaller fragment size (whole IP datagram) to try
// when a message whose largest datagram is `datagram` bytes (IP included) got no answer:
// 1280, then (IPv4 only) 576, the minimum every path takes. 0 when there is none below.
size_t nextFragmentSize(size_t datagram, bool ipv6);

// One SKF datagram (parsed) whose ICV verifies under `cipher` (RFC 7383 2.6: a retransmitted
// request split differently is recognised by its authentic first fragment).
bool fragmentAuthentic(const Message& fragment, const IkeCipher& cipher);

// `message` (a protected exchange) as SKF datagrams of at most `maxMessage` bytes each, the
// same header (Next Payload = SKF) on every one. A message that fits stays one SK datagram.
// Each fragment's plaintext gets the largest share that fits (cipher.maxPlaintextLength).
Result<std::vector<ByteVec>> fragmentMessage(const Message& message, IkeCipher& cipher,
                                             size_t maxMessage);

struct ReassemblyLimits {
  uint16_t maxFragments = 64;                   // a larger Total Fragments is dropped at once
  size_t maxBytes = 64 * 1024;                  // decrypted bytes held for one message
  Duration timeout = std::chrono::seconds(30);  // an incomplete set older than this goes
};

class Reassembler {
 public:
  enum class Verdict : uint8_t {
    kStored,    // verified and kept; more fragments to come
    kComplete,  // whole: `fragment` now holds the message, decrypted (adoptReassembled);
                // `error` is set if its payloads do not parse (answered like a bad SK body)
    kDropped,   // counted in `counters`; nothing changed (or, memory bound, the set went)
  };

  explicit Reassembler(ReassemblyLimits limits = {}) : limits_(limits) {}

  // One SKF datagram already parsed (Message::isFragment()) whose message ID the caller
  // expects. Verifies the ICV before anything is stored (RFC 7383 2.6).
  Verdict offer(Message& fragment, const IkeCipher& cipher, TimePoint now, IkeCounters& counters,
                std::optional<DecodeError>& error);
  // Forgets everything (e.g. the SA's keys changed).
  void clear();

  // State, for tests: whether a set of this direction is being collected, and how big it is.
  bool pending(bool response) const { return slots_[response].total != 0; }
  size_t storedFragments(bool response) const { return slots_[response].have; }
  size_t storedBytes(bool response) const { return slots_[response].bytes; }

 private:
  struct Slot {
    uint32_t messageId = 0;
    uint16_t total = 0;  // 0: empty
    uint16_t have = 0;
    size_t bytes = 0;
    TimePoint started{};
    PayloadType first = PayloadType::kNone;
    ByteVec firstRaw;
    std::vector<std::optional<ByteVec>> parts;
  };
  void reset(Slot& s);
  void start(Slot& s, uint32_t messageId, uint16_t total, TimePoint now);

  ReassemblyLimits limits_;
  std::array<Slot, 2> slots_;  // [0] requests, [1] responses: one message each at a time
};

}  // namespace braid::ike
