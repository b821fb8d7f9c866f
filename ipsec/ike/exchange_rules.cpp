#include "ipsec/ike/exchange_rules.hpp"

#include <array>

namespace braid::ike {
namespace {

enum Role : uint8_t { kInitiatorRole = 1, kResponderRole = 2, kAnyRole = 3 };

constexpr uint8_t bit(IkeSaState s) {
  return static_cast<uint8_t>(1u << static_cast<unsigned>(s));
}

struct ExchangeRule {
  ExchangeType exchange;
  bool response;
  uint8_t roles;   // which side of the IKE SA may receive it
  uint8_t states;  // bit set of IkeSaState
  bool protectedSk;
};

using S = IkeSaState;
using X = ExchangeType;
constexpr std::array kRules = {
    // RFC 7296 1.2: the responder takes IKE_SA_INIT once, on a fresh SA (a retransmission
    // is answered from the response cache before this check), then IKE_AUTH once.
    ExchangeRule{X::kIkeSaInit, false, kResponderRole, bit(S::kCreated), false},
    ExchangeRule{X::kIkeSaInit, true, kInitiatorRole, bit(S::kConnecting), false},
    ExchangeRule{X::kIkeAuth, false, kResponderRole, bit(S::kConnecting), true},
    ExchangeRule{X::kIkeAuth, true, kInitiatorRole, bit(S::kConnecting), true},
    // RFC 7296 1.3, 1.4: only on an established SA. While we delete the SA, the peer's
    // INFORMATIONAL (its own Delete, 2.25) and answers to our requests still count.
    ExchangeRule{X::kCreateChildSa, false, kAnyRole, bit(S::kEstablished), true},
    ExchangeRule{X::kCreateChildSa, true, kAnyRole, bit(S::kEstablished) | bit(S::kDeleting), true},
    ExchangeRule{X::kInformational, false, kAnyRole, bit(S::kEstablished) | bit(S::kDeleting),
                 true},
    ExchangeRule{X::kInformational, true, kAnyRole, bit(S::kEstablished) | bit(S::kDeleting), true},
};

}  // namespace

ExchangeVerdict checkExchange(ExchangeType exchange, bool response, bool weInitiated,
                              IkeSaState state, bool protectedSk) {
  uint8_t role = weInitiated ? kInitiatorRole : kResponderRole;
  for (const auto& r : kRules) {
    if (r.exchange != exchange || r.response != response) continue;
    if ((r.roles & role) == 0 || (r.states & bit(state)) == 0) return ExchangeVerdict::kWrongState;
    // RFC 7296 3.10.1: without the integrity check nothing may be answered or changed.
    if (r.protectedSk && !protectedSk) return ExchangeVerdict::kUnprotected;
    return ExchangeVerdict::kAccept;
  }
  return ExchangeVerdict::kWrongState;  // unknown exchange type: no SA state accepts it
}

}  // namespace braid::ike
