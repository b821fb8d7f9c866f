// braidd configuration: the TOML schema (docs/configuration.md) as plain structs, and its
// loader. Loading validates everything before the daemon touches a device or socket; every
// problem is reported as `file:line:col: what is wrong; what is expected`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip.hpp"
#include "core/log.hpp"
#include "core/result.hpp"
#include "core/secure.hpp"
#include "ipsec/esp.hpp"
#include "ipsec/ike/config.hpp"
#include "pathmon/supervisor.hpp"
#include "policy/budget.hpp"
#include "policy/engine.hpp"

namespace braid::edge {

inline constexpr uint16_t kDefaultEspUdpPort = 4500;  // RFC 3948 section 1
inline constexpr uint32_t kMinOverlayMtu = 576;
inline constexpr uint32_t kMaxOverlayMtu = 9000;
// 1500 - outer IPv4 20 - UDP 8 - ESP 8 - IV 8 - padlen/nh 2 - ICV 16 (pad 0 at 1438).
inline constexpr uint32_t kDefaultOverlayMtu = 1438;
// The same over an IPv6 uplink (40-byte outer header): 1500 - 40 - 8 - 8 - 8 - 2 - 16.
inline constexpr uint32_t kDefaultOverlayMtuIpv6 = 1418;
// Without overlay.mtu, when some peer has several paths that may speak the braid shim
// (policy/shim.hpp): room for its largest data header (16 bytes with FEC) plus the 2 bytes
// a parity adds, so that bonded, duplicated and FEC-protected packets carry it without
// growing past the uplink's MTU (they would be sent unmarked otherwise).
inline constexpr uint32_t kShimMtuReserve = 18;

struct UplinkConfig {
  std::string name;
  IpAddress localAddress;
  uint16_t port = kDefaultEspUdpPort;
  bool metered = false;  // LTE: last resort unless a class allows it; relaxed idle probing
  // Renumbering (DHCP, LTE reattach): when local_address leaves its interface and the
  // interface has another address of the same family, the uplink moves there (IKE with
  // MOBIKE, else re-established; edge/link_monitor.hpp).
  bool followAddress = false;
  uint32_t egressKbps = 0;  // configured egress rate: balance/bond weight (0 = unknown)
  bool shape = false;       // shape sending to 95 % of egressKbps, by class priority
  std::optional<uint32_t> probeIntervalMs;  // overrides [pathmon] probe_interval_ms
  // budget_day_mb / budget_month_mb / budget_reset_day / budget_warn_percent: the plan's byte
  // budget (edge/budgets.hpp); budget_exhausted: what a used-up budget does to the paths.
  policy::BudgetConfig budget;
  policy::BudgetUse budgetExhausted = policy::BudgetUse::kLastResort;
};

// One direction of a manually keyed SA.
struct ManualSaKeys {
  uint32_t spi = 0;
  SecretBytes keymat;  // key || 4-byte salt
};

// [peer.path.manual]: static keys until IKEv2 ([peer.ike]) installs SAs instead.
struct ManualKeying {
  ipsec::EspCipher cipher = ipsec::EspCipher::kAesGcm16_256;
  bool esn = false;
  uint32_t replayWindow = 1024;
  ManualSaKeys outbound;
  ManualSaKeys inbound;
  bool braidShim = false;  // the peer is braid with the shim on too (nothing negotiates it)
};

// A path is one (uplink x peer) pair with its own SA pair, keyed manually or by IKEv2.
struct PathConfig {
  std::string uplink;
  size_t uplinkIndex = 0;
  IpAddress remoteAddress;
  bool remoteAny = false;  // "%any": IKE responder paths only, address learnt from IKE
  uint16_t remotePort = kDefaultEspUdpPort;
  std::optional<ManualKeying> manual;  // none: keyed by the peer's [peer.ike]
};

// [ike]: global IKEv2 settings (docs/configuration.md "IKEv2").
struct IkeGlobalConfig {
  uint16_t port = ike::kIkePort;       // local IKE socket port on each uplink address
  uint16_t nattPort = ike::kNattPort;  // the peer's NAT-T port
  std::string keylog;                  // "" = off
  uint32_t natKeepaliveSeconds = 20;   // 0 = off
  // Responder DoS defences; unset keeps ike::ResponderLimits' default (sa_manager.hpp).
  std::optional<uint32_t> cookieThreshold, halfOpenMax, halfOpenMaxPerSource;
  std::optional<uint32_t> halfOpenTimeoutSeconds, initRatePerSource;
};

// [peer.ike]: how every IKE path of one peer negotiates (checked and loaded at config time).
struct PeerIkeConfig {
  std::vector<ike::Proposal> proposals;     // IKE
  std::vector<ike::Proposal> espProposals;  // ESP, AEAD only
  ike::AuthKind auth = ike::AuthKind::kPsk;
  SecretBytes psk;
  std::vector<ike::Certificate> certificates;  // leaf first
  ike::PrivateKey privateKey;
  std::shared_ptr<const ike::TrustStore> cas;
  std::optional<ike::Identity> localId;  // none: the uplink address (psk) / cert DN (pubkey)
  ike::Identity remoteId;                // default "%any"
  bool initiate = true;
  bool forceEncap = true;
  ike::RetransmitConfig retransmit;
  Duration retryInitial = std::chrono::seconds(5);
  Duration retryMax = std::chrono::seconds(300);
  std::vector<IpPrefix> localSubnets;   // traffic selectors; default overlay.local_subnets
  std::vector<IpPrefix> remoteSubnets;  // default the peer's remote_subnets
  uint32_t replayWindow = 1024;
  bool signatureHashNotify = true;
  bool braidShim = true;  // offer the braid shim in IKE_AUTH (used if the peer offers it too)
  // RFC 7383 IKE fragmentation (used if the peer offers it too) and the largest IP datagram
  // of one fragment, strongSwan's fragment_size; 0 (unset): the uplink interface's MTU.
  bool fragmentation = true;
  uint32_t fragmentSize = 0;
  bool mobike = true;  // RFC 4555, strongSwan's mobike (used if the peer offers it too)
  // Child SA lifetimes (rekey_time, life_time, rand_time, rekey_bytes, ...; strongSwan's).
  ike::Lifetime childLifetime = ike::defaultChildLifetime();
  ike::Lifetime ikeLifetime = ike::defaultIkeLifetime();  // ike_rekey_time, ...
  Duration dpdDelay{};                                    // 0: no DPD
  ike::DpdAction dpdAction = ike::DpdAction::kRestart;
};

struct PeerConfig {
  std::string name;
  std::vector<IpPrefix> remoteSubnets;
  std::vector<PathConfig> paths;
  std::optional<PeerIkeConfig> ike;
  bool hasIkePaths() const {
    for (auto& p : paths) {
      if (!p.manual) return true;
    }
    return false;
  }
};

// [[remote_access]]: road-warrior clients with certificates (docs/remote-access.md). Each
// client gets an address from `pools`, `dns` and `split_subnets` in CP (RFC 7296 3.15) and
// may reach `allowed_subnets` (its TSr); the gateway keeps up to `max_clients` at once.
struct RemoteAccessSection {
  std::string name;
  std::vector<size_t> uplinks;  // indices into Config::uplinks (default: all)
  std::vector<IpPrefix> pools;  // at most one IPv4 and one IPv6
  std::vector<IpAddress> dns;
  std::vector<IpPrefix> splitSubnets;    // default allowed_subnets
  std::vector<IpPrefix> allowedSubnets;  // default overlay.local_subnets
  uint32_t maxClients = 16;
  PeerIkeConfig ike;  // auth = pubkey; initiate = false
  // `credentials`: EAP-MSCHAPv2 users (edge/credentials_file.hpp), loaded; null if none.
  std::string credentials;
  std::shared_ptr<const ike::EapUserTable> eapUsers;
  // `eap`: the EAP methods offered, in order (ike::eap_type: 26 MSCHAPv2, 13 EAP-TLS);
  // default MSCHAPv2 when `credentials` is set.
  std::vector<uint8_t> eapMethods;
  // [[remote_access.group]]: name -> allowed_subnets for the clients of that group.
  std::vector<std::pair<std::string, std::vector<IpPrefix>>> groups;
};

struct OverlayConfig {
  std::string device = "braid0";
  uint32_t mtu = kDefaultOverlayMtu;
  uint32_t shimRoom = 0;             // bytes of kShimMtuReserve taken off the default mtu (else 0)
  std::optional<IpAddress> address;  // optional address of the TUN device
  uint8_t addressPrefixLength = 32;
  std::vector<IpPrefix> localSubnets;
};

struct DataplaneConfig {
  uint32_t batchSize = 64;          // packets per TUN read burst / recvmmsg / sendmmsg
  uint32_t poolPackets = 4096;      // preallocated buffers per direction
  bool tunOffload = true;           // IFF_VNET_HDR + TUNSETOFFLOAD (CSUM|TSO4|TSO6)
  bool tunGro = true;               // coalesce TCP before writing to the TUN (needs tunOffload)
  bool udpGso = true;               // UDP_SEGMENT on send
  bool udpGro = true;               // UDP_GRO on receive
  uint32_t socketBuffer = 4 << 20;  // SO_SNDBUF/SO_RCVBUF (FORCE variants when permitted)
};

// [state]: what braidd keeps across restarts (docs/configuration.md "[state]").
inline constexpr uint64_t kDefaultSequenceBlock = 1 << 20;
struct StateConfig {
  std::string directory = "/var/lib/braid";
  // Manual keying: outbound sequence numbers reserved per state-file write (edge/seq_state.hpp).
  uint64_t sequenceBlock = kDefaultSequenceBlock;
};

// [metrics]: the Prometheus scrape endpoint (docs/metrics.md "The scrape endpoint"). No
// [metrics] table: no endpoint.
inline constexpr uint16_t kDefaultMetricsPort = 9469;
struct MetricsConfig {
  IpAddress address = IpAddress::v4(0x7f000001);  // loopback unless configured
  uint16_t port = kDefaultMetricsPort;
  std::string tokenFile;  // "" = no bearer token
  SecretBytes token;      // read and checked at load time
  std::string tlsCert;    // both or neither; "" = plain HTTP
  std::string tlsKey;
  SecretBytes tlsKeyPem;  // read and checked (private) at load time
};

// [control]: braidctl's unix socket (docs/operations.md). Mode 0660, owner root, group
// `group` if set; socket = "" turns it off.
inline constexpr const char* kDefaultControlSocket = "/run/braid/braidd.sock";
struct ControlConfig {
  std::string socket = kDefaultControlSocket;
  std::string group;        // "" = root only
  bool configured = false;  // [control] present: braidd stops if the socket cannot be opened
};

// [pathmon], [policy], [[class]], [[rule]] (docs/multipath.md, docs/configuration.md).
struct ClassConfig {
  policy::ClassPolicy policy;         // `preferred` is filled per peer from preferUplinks
  std::vector<size_t> preferUplinks;  // uplink indices, in order
  bool pathOrder = false;             // the implicit class: prefer the peer's paths in order
};
struct MultipathConfig {
  // Defaults of every path. Paths to a standard IKEv2 peer (no shim) check liveness over
  // IKE after 300 ms of inbound ESP silence while sending ([pathmon] esp_silence_ms), and
  // every second while sending, for a cut of our direction alone (round_trip_check_ms).
  pathmon::PathConfig pathmon = [] {
    pathmon::PathConfig c;
    c.espSilence = std::chrono::milliseconds(300);
    c.roundTripCheck = std::chrono::milliseconds(1000);
    return c;
  }();
  // Without [[class]]: one class "default", steer, preferring the paths in config order
  // (the first path that is up carries everything, as before multipath).
  std::vector<ClassConfig> classes;
  std::vector<policy::Rule> rules;
  policy::EngineConfig engine;  // knobs only; classes/rules are built per peer by edge
};

struct Config {
  std::string sourceName;
  LogLevel logLevel = LogLevel::kInfo;
  OverlayConfig overlay;
  DataplaneConfig dataplane;
  std::vector<UplinkConfig> uplinks;
  std::vector<PeerConfig> peers;
  std::vector<RemoteAccessSection> remoteAccess;
  IkeGlobalConfig ike;
  StateConfig state;
  std::optional<MetricsConfig> metrics;
  ControlConfig control;
  MultipathConfig multipath;
  bool hasIkePaths() const {
    for (auto& p : peers) {
      if (p.hasIkePaths()) return true;
    }
    return !remoteAccess.empty();
  }
  // The data-plane path `index` (site peers' paths in order) is a site path keyed by IKE;
  // false for manual keys and road-warrior slots (after the site paths).
  bool ikePathAt(size_t index) const {
    for (auto& p : peers) {
      if (index < p.paths.size()) return !p.paths[index].manual.has_value();
      index -= p.paths.size();
    }
    return false;
  }
};

// Identity text as in [peer.ike] local_id / remote_id (docs/configuration.md): "%any",
// IP addresses, FQDN ("@" optional), RFC822 "user@domain", a DN "C=CH, O=lab, CN=gw", or
// with an explicit prefix fqdn: email: rfc822: ipv4: ipv6: dn: asn1dn:. Error text on failure.
Result<ike::Identity> parseIdentity(std::string_view text);

// Parses and validates. On failure the status message holds one line per problem.
Result<Config> parseConfig(std::string_view text, std::string_view sourceName);
Result<Config> loadConfigFile(const std::string& path);

}  // namespace braid::edge
