// Peer and Child SA configuration as the IKE core sees it (edge builds it from TOML).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/ip.hpp"
#include "core/secure.hpp"
#include "ipsec/ike/auth_cert.hpp"
#include "ipsec/ike/identity.hpp"
#include "ipsec/ike/proposal.hpp"
#include "ipsec/ike/traffic_selector.hpp"

namespace braid::ike {

inline constexpr uint16_t kIkePort = 500;
inline constexpr uint16_t kNattPort = 4500;  // RFC 3948 / RFC 7296 2.23

struct Endpoint {
  IpAddress address;
  uint16_t port = kIkePort;
  bool operator==(const Endpoint&) const = default;
  std::string toString() const;
};

// RFC 7296 2.1 retransmission: timeout_n = initial * base^n, minus up to jitter percent;
// after `tries` retransmissions the peer counts as not answering (strongSwan's defaults).
struct RetransmitConfig {
  Duration initial = std::chrono::milliseconds(4000);
  double base = 1.8;
  uint32_t tries = 5;
  uint32_t jitterPercent = 0;
  Duration limit = std::chrono::seconds(600);  // cap for one timeout
};

enum class AuthKind : uint8_t { kPsk, kPubkey };

struct LocalAuth {
  AuthKind kind = AuthKind::kPsk;
  SecretBytes psk;
  PrivateKey key;                  // kPubkey
  std::vector<Certificate> certs;  // kPubkey: leaf first, then intermediates
  bool preferPss = false;
};

struct RemoteAuth {
  AuthKind kind = AuthKind::kPsk;
  SecretBytes psk;                        // usually the same as LocalAuth::psk
  std::shared_ptr<const TrustStore> cas;  // kPubkey
  std::optional<int64_t> verifyTime;      // tests: Unix time for certificate validity
};

struct ChildConfig {
  std::string name;
  std::vector<Proposal> espProposals;  // ProtocolId::kEsp; a D-H transform = PFS group
  std::vector<TrafficSelector> localTs;
  std::vector<TrafficSelector> remoteTs;
  uint32_t replayWindow = 1024;
};

struct PeerConfig {
  std::string name;
  Endpoint remote;         // address to initiate to / accept IKE_SA_INIT from
  bool remoteAny = false;  // responder: accept any address (identity decides)
  std::vector<Proposal> ikeProposals;
  Identity localId;
  Identity remoteId;  // expected; default "any"
  LocalAuth localAuth;
  RemoteAuth remoteAuth;
  std::vector<ChildConfig> children;  // the first is negotiated in IKE_AUTH
  bool forceEncap = false;            // fake a NAT so that both sides float to 4500
  bool sendCertReq = true;
  bool initialContact = true;
  // RFC 7427: advertise SIGNATURE_HASH_ALGORITHMS (off = peers use the classic methods).
  bool signatureHashNotify = true;
  // Offer the braid shim in IKE_AUTH (N(BRAID_SHIM_SUPPORTED), a private-use notify).
  bool offerShim = false;
  RetransmitConfig retransmit;
  // A failed initiator retries after retryInitial, doubling up to retryMax (0 = no retry).
  Duration retryInitial = std::chrono::seconds(5);
  Duration retryMax = std::chrono::seconds(300);
};

}  // namespace braid::ike
