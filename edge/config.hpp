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

namespace braid::edge {

inline constexpr uint16_t kDefaultEspUdpPort = 4500;  // RFC 3948 section 1
inline constexpr uint32_t kMinOverlayMtu = 576;
inline constexpr uint32_t kMaxOverlayMtu = 9000;
// 1500 - outer IPv4 20 - UDP 8 - ESP 8 - IV 8 - padlen/nh 2 - ICV 16 (pad 0 at 1438).
inline constexpr uint32_t kDefaultOverlayMtu = 1438;

struct UplinkConfig {
  std::string name;
  IpAddress localAddress;
  uint16_t port = kDefaultEspUdpPort;
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
};

// A path is one (uplink x peer) pair with its own SA pair.
struct PathConfig {
  std::string uplink;
  size_t uplinkIndex = 0;
  IpAddress remoteAddress;
  uint16_t remotePort = kDefaultEspUdpPort;
  std::optional<ManualKeying> manual;
};

struct PeerConfig {
  std::string name;
  std::vector<IpPrefix> remoteSubnets;
  std::vector<PathConfig> paths;
};

struct OverlayConfig {
  std::string device = "braid0";
  uint32_t mtu = kDefaultOverlayMtu;
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

struct Config {
  std::string sourceName;
  LogLevel logLevel = LogLevel::kInfo;
  OverlayConfig overlay;
  DataplaneConfig dataplane;
  std::vector<UplinkConfig> uplinks;
  std::vector<PeerConfig> peers;
};

// Parses and validates. On failure the status message holds one line per problem.
Result<Config> parseConfig(std::string_view text, std::string_view sourceName);
Result<Config> loadConfigFile(const std::string& path);

}  // namespace braid::edge
