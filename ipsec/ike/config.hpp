// Peer and Child SA configuration as the IKE core sees it (edge builds it from TOML).
#pragma once

#include <array>
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

struct RemoteAccessConfig;  // remote_access.hpp
class EapUserTable;         // eap_auth.hpp

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

// kEap: initiator only, EAP-MSCHAPv2 as a road-warrior client (RFC 7296 2.16).
enum class AuthKind : uint8_t { kPsk, kPubkey, kEap };

struct LocalAuth {
  AuthKind kind = AuthKind::kPsk;
  SecretBytes psk;
  PrivateKey key;                  // kPubkey
  std::vector<Certificate> certs;  // kPubkey: leaf first, then intermediates
  bool preferPss = false;
  // kEap: the EAP identity, the NT hash of the password, the EAP types we take (a Nak
  // names them when the gateway proposes another). EAP-TLS (13) uses `key` and `certs`.
  std::string eapIdentity;
  std::array<uint8_t, 16> eapNtHash{};
  std::vector<uint8_t> eapMethods{26};
};

struct RemoteAuth {
  AuthKind kind = AuthKind::kPsk;
  SecretBytes psk;                        // usually the same as LocalAuth::psk
  std::shared_ptr<const TrustStore> cas;  // kPubkey
  // Responder: a client whose first IKE_AUTH request has no AUTH authenticates with
  // EAP-MSCHAPv2 against these users (RFC 7296 2.16); null: EAP refused.
  std::shared_ptr<const EapUserTable> eapUsers;
  // Responder: the EAP methods offered, in order (26 MSCHAPv2 needs eapUsers; 13 EAP-TLS
  // verifies the client's certificate against `cas`, the TLS server being our
  // LocalAuth certificate). Empty: MSCHAPv2 when eapUsers is set.
  std::vector<uint8_t> eapMethods;
  std::optional<int64_t> verifyTime;  // tests: Unix time for certificate validity
};

// RFC 7296 2.8 lifetimes, with strongSwan's names: the soft limit (rekey_*) starts a rekey,
// the hard one (life_*) deletes. The soft time is rekeyTime minus a random share of randTime,
// so that two peers with the same settings do not rekey together. Zero disables a limit.
struct Lifetime {
  Duration rekeyTime{};
  Duration lifeTime{};
  Duration randTime{};
  uint64_t rekeyBytes = 0, lifeBytes = 0;
  uint64_t rekeyPackets = 0, lifePackets = 0;
};
// strongSwan's defaults: Child SA 1 h, IKE SA 4 h; life = 1.1 x rekey, rand = life - rekey.
inline Lifetime defaultChildLifetime() {
  return {std::chrono::seconds(3600), std::chrono::seconds(3960), std::chrono::seconds(360)};
}
inline Lifetime defaultIkeLifetime() {
  return {std::chrono::seconds(14400), std::chrono::seconds(15840), std::chrono::seconds(1440)};
}

// Outbound ESP packets after which a Child SA is rekeyed whatever the configured limits
// (RFC 4303 2.2: the sequence number must never cycle): 3/4 of the 32-bit space, so that a
// rekey has ~1e9 packets to complete; with ESN, 2^62.
inline constexpr uint64_t kSeqRekeyPackets32 = 0xC0000000ull;
inline constexpr uint64_t kSeqRekeyPacketsEsn = 1ull << 62;

// Dead peer detection (RFC 7296 2.4): what happens to the IKE SA when the peer does not
// answer. kRestart re-initiates at once, kClear closes, kHold closes and leaves the next
// attempt to the owner (edge).
enum class DpdAction : uint8_t { kRestart, kClear, kHold };

struct ChildConfig {
  std::string name;
  std::vector<Proposal> espProposals;  // ProtocolId::kEsp; a D-H transform = PFS group
  std::vector<TrafficSelector> localTs;
  std::vector<TrafficSelector> remoteTs;
  uint32_t replayWindow = 1024;
  Lifetime lifetime = defaultChildLifetime();
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
  // Responder for road-warrior clients: answer CP(CFG_REQUEST) from these pools and narrow
  // the clients' TSi to their virtual IPs (remote_access.hpp). Initiator: ask for one.
  std::shared_ptr<const RemoteAccessConfig> remoteAccess;
  bool requestVirtualIp = false;
  // RFC 7383: offer IKE fragmentation in IKE_SA_INIT (used when the peer offers it too), and
  // the largest IP datagram of one fragment (strongSwan's fragment_size; 0: the uplink's MTU,
  // else 1280). PMTU discovery (2.5.2) may shrink it on retransmissions.
  bool fragmentation = true;
  // RFC 4555: offer MOBIKE in IKE_AUTH (strongSwan's mobike); when both sides do, the
  // original initiator moves the IKE SA and its Child SAs to a new local address.
  bool mobike = true;
  size_t fragmentSize = 0;
  RetransmitConfig retransmit;
  Lifetime ikeLifetime = defaultIkeLifetime();  // bytes/packets not used for the IKE SA
  // Make-before-break (RFC 7296 2.8): after a Child SA rekey we initiated, the old SA keeps
  // receiving this long before we delete it (ESP still in flight on it).
  Duration rekeyDeleteDelay = std::chrono::seconds(2);
  // An empty INFORMATIONAL when nothing came from the peer for dpdDelay (0: off).
  Duration dpdDelay{};
  DpdAction dpdAction = DpdAction::kRestart;
  // A failed initiator retries after retryInitial, doubling up to retryMax (0 = no retry).
  Duration retryInitial = std::chrono::seconds(5);
  Duration retryMax = std::chrono::seconds(300);
};

}  // namespace braid::ike
