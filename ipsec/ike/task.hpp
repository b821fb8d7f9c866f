// An IKE task: one protocol job that takes one exchange (or, with kNeedMore, several) as
// initiator or responder, in the manner of strongSwan's tasks. The TaskManager owns message
// IDs, retransmission and the responder cache; tasks only build and process messages.
#pragma once

#include <string_view>

#include "core/bytes.hpp"
#include "ipsec/ike/message.hpp"

namespace braid::ike {

class IkeSa;

enum class TaskResult : uint8_t {
  kDone,      // the task finished (successfully, or with a failure the IKE SA survives)
  kNeedMore,  // initiator: send another request for this task (e.g. INVALID_KE retry)
  kFailed,    // the IKE SA must go (the task has logged why); an initiator retries
  kDestroy,   // the IKE SA ends as planned (deleted)
};

enum class TaskKind : uint8_t {
  kIkeInit,
  kIkeAuth,
  kChildCreate,
  kChildRekey,
  kIkeRekey,
  kChildDelete,
  kIkeDelete,
  kInformational,
  kMobike,  // RFC 4555 UPDATE_SA_ADDRESSES (task_mobike.cpp)
};

class Task {
 public:
  explicit Task(IkeSa& sa) : sa_(sa) {}
  virtual ~Task() = default;
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;

  virtual TaskKind kind() const = 0;
  virtual ExchangeType exchange() const = 0;
  virtual std::string_view name() const = 0;

  // Initiator side. buildRequest returns kNeedMore when it built a request to send, kDone
  // when there is nothing to send (the task is finished), kFailed/kDestroy to end the SA.
  virtual TaskResult buildRequest(Message& request) = 0;
  virtual TaskResult processResponse(const Message& response) = 0;
  // Responder side.
  virtual TaskResult processRequest(const Message& request) = 0;
  virtual TaskResult buildResponse(Message& response) = 0;

  // The peer's request `incoming` (already processed) arrived while this task waits for its
  // response: rekey and delete collisions (RFC 7296 2.8.1, 2.25) hook in here.
  virtual void onPeerRequest(const Task& incoming) { (void)incoming; }
  // The encoded datagram of the message this task just built (IKE_SA_INIT keeps it for
  // the AUTH computation, RFC 7296 2.15).
  virtual void onEncoded(Bytes datagram) { (void)datagram; }
  // The exchange will not complete (retransmissions exhausted, IKE SA deleted).
  virtual void abort() {}

 protected:
  IkeSa& sa_;
};

}  // namespace braid::ike
