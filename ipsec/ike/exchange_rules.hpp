// Which exchanges an IKE SA accepts, by direction, by our role in the SA and by the SA's
// state (RFC 7296 1.2-1.4, 2.2). The TaskManager checks this table before anything else
// touches a message, so that an out-of-state message (a replayed IKE_SA_INIT, an IKE_AUTH
// after establishment) never reaches a task, as strongSwan accepts IKE_SA_INIT only in its
// CREATED state and IKE_AUTH only while CONNECTING.
#pragma once

#include <cstdint>

#include "ipsec/ike/ike_sa.hpp"

namespace braid::ike {

enum class ExchangeVerdict : uint8_t {
  kAccept,
  kWrongState,   // the exchange is not allowed in this state or role: drop, count dropsState
  kUnprotected,  // plaintext, but the exchange must be SK-protected: drop, dropsUnprotected
};

// `weInitiated`: we are the original initiator of this IKE SA. `protectedSk`: the message
// carries an SK payload (not yet checked).
ExchangeVerdict checkExchange(ExchangeType exchange, bool response, bool weInitiated,
                              IkeSaState state, bool protectedSk);

}  // namespace braid::ike
