// XOR parity FEC (one parity per group of k data packets, as in RFC 5109's generic FEC with
// a single parity): recovers one lost packet per group. Wire-agnostic: the encoder tells
// the caller each data packet's place (group, index, k) for the shim header, and hands out
// the parity payload when a group is complete; the decoder is fed the same triples. All
// buffers are allocated at construction; nothing is allocated per packet.
//
// Parity payload: 2-byte XOR of the data lengths (big-endian), then the XOR of the data
// payloads zero-padded to the longest. A recovered packet's length is the length XOR
// combined with the lengths that did arrive. A packet that was only late arrives after its
// rebuilt copy: the shim sequence number and the dedup window drop the second one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/bytes.hpp"

namespace braid::policy {

struct FecPlace {
  uint64_t group = 0;
  uint8_t index = 0;  // 0..k-1 for data packets
  uint8_t k = 0;      // data packets in the group
  bool operator==(const FecPlace&) const = default;
};

class XorFecEncoder {
 public:
  static constexpr uint8_t kMaxK = 32;
  explicit XorFecEncoder(size_t maxPayload = 2048);

  // Adds a data packet; k (clamped to [2, kMaxK]) is taken from the first packet of a group.
  // Payloads longer than maxPayload are not protected (index 0xff, k 0).
  FecPlace addData(Bytes payload, uint8_t k);
  // The parity of the group just completed, valid until the next addData; empty if the
  // last addData did not complete a group.
  Bytes parity() const { return ready_ ? Bytes(buf_.data(), 2 + maxLen_) : Bytes(); }
  uint64_t parityGroup() const { return group_ - 1; }
  uint8_t parityK() const { return lastK_; }
  // Abandons a partial group (e.g. traffic paused): the next packet starts a new one.
  void flushGroup();

 private:
  size_t maxPayload_;
  std::vector<uint8_t> buf_;  // 2-byte length XOR + payload XOR
  uint64_t group_ = 0;
  uint8_t k_ = 0, lastK_ = 0, count_ = 0;
  size_t maxLen_ = 0;
  bool ready_ = false;
};

struct FecCounters {
  uint64_t recovered = 0;
  uint64_t unrecoverable = 0;  // groups evicted with data missing and not rebuilt
  uint64_t badParity = 0;      // inconsistent lengths / k
};

class XorFecDecoder {
 public:
  // Up to `groups` recent groups are tracked (a ring by group number).
  explicit XorFecDecoder(size_t maxPayload = 2048, size_t groups = 64);

  struct Recovered {
    FecPlace place;
    size_t length = 0;  // bytes written to `out`
  };
  // A data packet arrived. If it leaves exactly one packet missing in a group whose parity
  // is here, that packet is rebuilt into `out` (which must hold maxPayload bytes).
  std::optional<Recovered> onData(const FecPlace& place, Bytes payload, MutableBytes out);
  // The parity of `group` (k data packets) arrived; same recovery rule.
  std::optional<Recovered> onParity(uint64_t group, uint8_t k, Bytes parity, MutableBytes out);
  const FecCounters& counters() const { return counters_; }

 private:
  struct Group {
    bool used = false;
    bool done = false;  // recovered, or nothing missing
    bool parity = false;
    uint64_t group = 0;
    uint8_t k = 0;
    uint8_t received = 0;
    uint32_t mask = 0;
    uint16_t lenXor = 0;
    std::vector<uint8_t> acc;
    size_t accLen = 0;  // bytes of acc possibly non-zero
  };
  Group* slotFor(uint64_t group, uint8_t k);
  void absorb(Group& g, Bytes payload);
  std::optional<Recovered> tryRecover(Group& g, MutableBytes out);

  size_t maxPayload_;
  std::vector<Group> groups_;
  FecCounters counters_;
};

}  // namespace braid::policy
