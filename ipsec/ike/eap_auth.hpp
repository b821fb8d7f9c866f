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
#include "ipsec/ike/eap_tls.hpp"

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
  ByteVec reply;          // the EAP packet to send (Request, Success or Failure / a Response)
  std::string reason;     // kFailure: for the log line
  bool oversize = false;  // kFailure: an EAP-TLS message over the reassembly bound
};

// "EAP-MSCHAPv2", "EAP-TLS", or "EAP type N".
std::string eapMethodName(uint8_t type);

// Authenticator: EAP-Request/Identity, then the MS-CHAPv2 challenge, the Success-Request
// with the authenticator response, EAP-Success. An unknown user gets the same challenge as
// a known one and fails on its response (no hint which names exist).
// With several `methods` (in order of preference) the first is proposed after Identity and
// a Nak naming another of them switches to it once (RFC 3748 5.3.1). EAP-TLS (`tls`):
// the client's certificate must chain to the CAs and vouch for its EAP identity; its
// subject's OU is the client's group.
class EapAuthenticator {
 public:
  EapAuthenticator(std::shared_ptr<const EapUserTable> users, std::string serverName,
                   Random& random, std::vector<uint8_t> methods = {eap_type::kMschapv2},
                   std::shared_ptr<const EapTlsConfig> tls = nullptr);
  ByteVec start();  // the first request: Identity
  EapStep process(Bytes response);

  // After kSuccess.
  const SecretBytes& msk() const { return msk_; }
  const std::string& identity() const { return identity_; }
  const std::string& group() const { return group_; }
  uint8_t method() const { return method_; }  // the method being run (after Identity)
  std::string methodName() const { return eapMethodName(method_); }
  // EAP-TLS, after kSuccess: "certificate '<subject>', TLSv1.2" (the session is freed).
  const std::string& tlsDetails() const { return tlsDetails_; }

 private:
  enum class State : uint8_t { kIdentity, kChallenge, kSuccessSent, kTls, kDone };
  EapStep fail(std::string reason);
  EapStep request(ByteVec packetWithoutId);
  EapStep startMethod(uint8_t type);
  EapStep continueTls(const EapPacket& p);

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
  std::vector<uint8_t> methods_;
  std::shared_ptr<const EapTlsConfig> tlsConfig_;
  std::unique_ptr<EapTlsSession> tls_;
  std::string tlsDetails_;
  uint8_t method_ = 0;
  bool switched_ = false;       // a Nak moved us to another method already
  bool firstTlsRound_ = false;  // EAP-TLS Start sent, no answer yet (a Nak may come)
};

// Peer: answers Identity, the challenge (or Naks a method it lacks), checks the
// authenticator response, and has the MSK on EAP-Success.
class EapPeer {
 public:
  // `methods`: the EAP types it supports, in order of preference (a Nak names them).
  // `tls`: our certificate, key and the gateway's CAs for EAP-TLS (type 13 in `methods`).
  EapPeer(std::string identity, NtHash hash, Random& random,
          std::vector<uint8_t> methods = {eap_type::kMschapv2},
          std::shared_ptr<const EapTlsConfig> tls = nullptr);
  EapStep process(Bytes request);
  const SecretBytes& msk() const { return msk_; }
  std::string methodName() const { return tls_ ? "EAP-TLS" : "EAP-MSCHAPv2"; }

 private:
  EapStep fail(std::string reason);

  std::string identity_;
  NtHash hash_;
  Random& random_;
  std::vector<uint8_t> methods_;
  std::string expectedAuthResponse_;
  bool serverVerified_ = false;
  SecretBytes msk_;
  std::shared_ptr<const EapTlsConfig> tlsConfig_;
  std::unique_ptr<EapTlsSession> tls_;
};

}  // namespace braid::ike
