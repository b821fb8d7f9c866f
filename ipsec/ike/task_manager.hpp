// One per IKE SA: queues initiator tasks and runs one exchange at a time (window size 1,
// RFC 7296 2.3), owns both message ID counters, the retransmission timer (2.1, exponential
// backoff with jitter), and the responder's cached last response (2.1/2.2: a retransmitted
// request is answered from the cache, never processed twice). With RFC 7383 fragmentation a
// message is a list of datagrams (all resent on retransmission) and inbound fragments are
// reassembled before the message is processed.
#pragma once

#include <deque>
#include <memory>
#include <optional>

#include "core/timer.hpp"
#include "ipsec/ike/config.hpp"
#include "ipsec/ike/fragmentation.hpp"
#include "ipsec/ike/task.hpp"

namespace braid::ike {

class TaskManager {
 public:
  explicit TaskManager(IkeSa& sa);
  ~TaskManager();

  void queue(std::unique_ptr<Task> task);
  // Starts the next queued task if no exchange is in flight.
  void initiate();
  // A datagram for this SA whose header is already parsed into `message` (parse() done,
  // not decrypted). `from`/`to` are the datagram's endpoints.
  void receive(Message& message, const Endpoint& to, const Endpoint& from);
  // Cancels the timer, aborts active and queued tasks.
  void shutdown();
  // Sends the request in flight again now, identical (same Message ID, every fragment), and
  // leaves the backoff schedule alone: RFC 7296 2.1 leaves the timing of retransmissions
  // to the initiator. For edge's liveness checks, which cannot wait for the next timeout.
  // False if nothing is in flight.
  bool resendNow();

  bool idle() const { return active_ == nullptr; }
  const Task* active() const { return active_.get(); }
  size_t queued() const { return queue_.size(); }
  bool hasQueued(TaskKind kind) const;
  uint32_t nextRequestId() const { return requestId_; }
  uint32_t expectedPeerId() const { return peerId_; }
  // The timeout before retransmission `n` (0 = the first send), with jitter.
  Duration timeoutFor(uint32_t n);
  // The addresses of the request being processed (RFC 4555 3.5: a responder takes the new
  // addresses from the IP header of UPDATE_SA_ADDRESSES).
  const Endpoint& requestTo() const { return requestTo_; }
  const Endpoint& requestFrom() const { return requestFrom_; }

 private:
  void handleRequest(Message& m, const Endpoint& to, const Endpoint& from);
  void handleResponse(Message& m, const Endpoint& to, const Endpoint& from);
  bool sendRequest();
  void armRetransmit();
  void onRetransmitTimer();
  void finishActive();
  std::unique_ptr<Task> responderTaskFor(const Message& request);
  // The message as datagrams: one, or SKF fragments when negotiated and too big. `cap`
  // (responder, 0: none): the largest IKE message of the request's fragments.
  Result<std::vector<ByteVec>> encode(const Message& m, size_t cap = 0);
  // RFC 7383 2.5.2: `sent` (m's datagrams) again as a complete new split of smaller
  // datagrams: at most `cap` bytes each (responder), or (cap 0, initiator) the SA's next
  // smaller fragment size. False, `sent` unchanged, when there is none.
  bool refragment(const Message& m, std::vector<ByteVec>& sent, size_t cap);
  void sendAll(const std::vector<ByteVec>& datagrams, const Endpoint& to, const Endpoint& from);
  // An SKF fragment: true when it completed the message (`m` is then the whole message and
  // `error` set if its payloads do not parse); false when stored or dropped (counted).
  bool reassemble(Message& m, std::optional<DecodeError>& error);
  // exchange_rules.hpp: false (counted) when the SA does not take `m` in its state.
  bool admit(const Message& m);
  void sendErrorResponse(const Message& request, const DecodeError& e, const Endpoint& to,
                         const Endpoint& from);
  void sendStatelessError(const Message& request, const DecodeError& e, const Endpoint& to,
                          const Endpoint& from);

  IkeSa& sa_;
  std::deque<std::unique_ptr<Task>> queue_;
  std::unique_ptr<Task> active_;
  uint32_t requestId_ = 0;                 // our next request's ID
  uint32_t peerId_ = 0;                    // the ID we expect in the peer's next request
  std::vector<ByteVec> lastRequest_;       // our request in flight, as encoded (fragments)
  std::optional<Message> lastRequestMsg_;  // and as built, to split again (RFC 7383 2.5.2)
  uint32_t retransmits_ = 0;
  TimePoint firstSent_{};
  ScopedTimer timer_;
  // Responder cache (RFC 7296 2.1): the last request we answered and our answer.
  ByteVec cachedRequest_;
  std::vector<ByteVec> cachedResponse_;
  std::optional<Message> cachedResponseMsg_;  // when fragmentation is negotiated
  ExchangeType cachedResponseExchange_ = ExchangeType::kIkeSaInit;
  Reassembler reassembler_;
  Endpoint requestTo_, requestFrom_;
};

}  // namespace braid::ike
