// Which payloads each exchange may carry, per direction (RFC 7296 1.2-1.5, 2.21), in the
// manner of strongSwan's message rule table. Violations are INVALID_SYNTAX (RFC 7296 2.21.1).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "ipsec/ike/ike_types.hpp"

namespace braid::ike {

class Message;
struct DecodeError;

struct PayloadRule {
  PayloadType type;
  uint16_t min;
  uint16_t max;
  bool encrypted;  // must be inside SK
};

struct MessageRules {
  ExchangeType exchange;
  bool response;
  bool encrypted;  // the exchange is protected by SK
  std::span<const PayloadRule> payloads;
};

// nullptr for an exchange type braid does not know.
const MessageRules* findRules(ExchangeType exchange, bool response);

// Unknown (non-critical) payloads are ignored. Minimum counts are not enforced when the
// message carries an error notify or COOKIE (an error-only or cookie reply is complete).
std::optional<DecodeError> checkRules(const Message& m, bool hadSk);

}  // namespace braid::ike
