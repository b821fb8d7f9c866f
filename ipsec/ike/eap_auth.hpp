// The two ends of EAP-MSCHAPv2 inside IKE_AUTH (RFC 7296 2.16): the authenticator (the
// gateway, against a table of users and their NT hashes) and the peer (braid as a client,
// tests). Each takes one EAP packet and answers the next; the IKE_AUTH task carries them.
// Pure: no I/O, randomness from the caller.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/secure.hpp"
#include "ipsec/ike/eap.hpp"
#include "ipsec/ike/eap_mschapv2.hpp"

namespace braid::ike {

class Random;
using mschapv2::Challenge16;
using mschapv2::NtHash;

// A user of the credentials file: the NT hash is what MS-CHAPv2 needs, never the password.
struct EapUser {
  std::string name;
  std::string group;
  NtHash ntHash{};
};

class EapUserTable {
 public:
  bool add(EapUser user);  // false if the name is taken
  // Exact name first, then without a "DOMAIN\" prefix (Windows sends one).
  const EapUser* find(std::string_view name) const;
  size_t size() const { return users_.size(); }

 private:
  std::map<std::string, EapUser, std::less<>> users_;
};

enum class EapOutcome : uint8_t { kContinue, kSuccess, kFailure };

struct EapStep {
  EapOutcome outcome = EapOutcome::kContinue;
  ByteVec reply;       // the EAP packet to send (Request, Success or Failure / a Response)
  std::string reason;  // kFailure: for the log line
};

// Authenticator: EAP-Request/Identity, then the MS-CHAPv2 challenge, the Success-Request
// with the authenticator response, EAP-Success. An unknown user gets the same challenge as
// a known one and fails on its response (no hint which names exist).
class EapAuthenticator {
 public:
  EapAuthenticator(std::shared_ptr<const EapUserTable> users, std::string serverName,
                   Random& random);
  ByteVec start();  // the first request: Identity
  EapStep process(Bytes response);

  // After kSuccess.
  const SecretBytes& msk() const { return msk_; }
  const std::string& identity() const { return identity_; }
  const std::string& group() const { return group_; }

 private:
  enum class State : uint8_t { kIdentity, kChallenge, kSuccessSent, kDone };
  EapStep fail(std::string reason);
  EapStep request(ByteVec packetWithoutId);

  std::shared_ptr<const EapUserTable> users_;
  std::string serverName_;
  Random& random_;
  State state_ = State::kIdentity;
  uint8_t id_ = 0;
  uint8_t msId_ = 0;
  Challenge16 challenge_{};
  std::string identity_;
  std::string group_;
  std::optional<EapUser> user_;
  SecretBytes msk_;
};

// Peer: answers Identity, the challenge (or Naks a method it lacks), checks the
// authenticator response, and has the MSK on EAP-Success.
class EapPeer {
 public:
  // `methods`: the EAP types it supports, in order of preference (a Nak names them).
  EapPeer(std::string identity, NtHash hash, Random& random,
          std::vector<uint8_t> methods = {eap_type::kMschapv2});
  EapStep process(Bytes request);
  const SecretBytes& msk() const { return msk_; }

 private:
  EapStep fail(std::string reason);

  std::string identity_;
  NtHash hash_;
  Random& random_;
  std::vector<uint8_t> methods_;
  std::string expectedAuthResponse_;
  bool serverVerified_ = false;
  SecretBytes msk_;
};

}  // namespace braid::ike
