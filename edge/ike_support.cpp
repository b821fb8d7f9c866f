#include "edge/ike_support.hpp"

#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "core/hex.hpp"
#include "core/log.hpp"
#include "core/secure.hpp"

namespace braid::edge {

uint32_t interfaceMtu(const IpAddress& local) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return 0;
  std::string name;
  for (ifaddrs* i = list; i != nullptr && name.empty(); i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_name == nullptr) continue;
    if (local.isV4() && i->ifa_addr->sa_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      if (std::memcmp(&in->sin_addr, local.bytes().data(), 4) == 0) name = i->ifa_name;
    } else if (local.isV6() && i->ifa_addr->sa_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      if (std::memcmp(&in6->sin6_addr, local.bytes().data(), 16) == 0) name = i->ifa_name;
    }
  }
  freeifaddrs(list);
  if (name.empty() || name.size() >= IFNAMSIZ) return 0;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  ifreq req{};
  std::memcpy(req.ifr_name, name.c_str(), name.size() + 1);
  const int rc = ioctl(fd, SIOCGIFMTU, &req);
  close(fd);
  return rc == 0 && req.ifr_mtu > 0 ? static_cast<uint32_t>(req.ifr_mtu) : 0;
}

// ---- timers ----------------------------------------------------------------------------

TimerId AsioTimers::schedule(TimePoint deadline, std::function<void()> callback) {
  TimerId id = queue_.schedule(deadline, std::move(callback));
  if (!firing_) rearm();
  return id;
}

void AsioTimers::cancel(TimerId id) {
  queue_.cancel(id);  // a wake-up for a cancelled timer finds nothing due: harmless
}

void AsioTimers::rearm() {
  std::optional<TimePoint> next = queue_.nextDeadline();
  if (!next) {
    if (armedAt_) timer_.cancel();
    armedAt_.reset();
    return;
  }
  if (armedAt_ && *armedAt_ <= *next) return;  // an earlier wake-up is already pending
  armedAt_ = next;
  timer_.expires_at(*next);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec == boost::asio::error::operation_aborted) return;
    armedAt_.reset();
    firing_ = true;
    queue_.runUntil(std::chrono::steady_clock::now());
    firing_ = false;
    rearm();
  });
}

// ---- key log ----------------------------------------------------------------------------

namespace {

// tshark 4.0 names (ikev2_decryption_table); empty = tshark cannot decrypt it.
std::string_view wiresharkIkeEncr(std::string_view name) {
  if (name == "aes128gcm16") return "AES-GCM-128 with 16 octet ICV [RFC5282]";
  if (name == "aes256gcm16") return "AES-GCM-256 with 16 octet ICV [RFC5282]";
  if (name == "aes128") return "AES-CBC-128 [RFC3602]";
  if (name == "aes256") return "AES-CBC-256 [RFC3602]";
  return {};
}

std::string_view wiresharkIkeInteg(std::string_view name) {
  if (name == "none" || name.empty()) return "NONE [RFC4306]";
  if (name == "sha256") return "HMAC_SHA2_256_128 [RFC4868]";
  if (name == "sha384") return "HMAC_SHA2_384_192 [RFC4868]";
  if (name == "sha512") return "HMAC_SHA2_512_256 [RFC4868]";
  return {};
}

std::string hexOf(const SecretBytes* s) {
  return s == nullptr ? std::string() : toHex(s->bytes());
}

std::string spiHex(uint64_t spi) {
  char b[20];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(spi));
  return b;
}

}  // namespace

std::string ikeKeyLogLine(const ike::IkeKeyLog& k) {
  std::string_view encr = wiresharkIkeEncr(k.encr);
  std::string_view integ = wiresharkIkeInteg(k.integ);
  std::string keys = hexOf(k.skEi) + "," + hexOf(k.skEr);
  std::string auth = hexOf(k.skAi) + "," + hexOf(k.skAr);
  if (encr.empty() || integ.empty()) {
    return "# ikev2 " + spiHex(k.spiI) + "," + spiHex(k.spiR) + " " + k.encr + "/" + k.integ +
           " (not decryptable by tshark 4.0): SK_ei,SK_er=" + keys + " SK_ai,SK_ar=" + auth;
  }
  return "ikev2_decryption_table:" + spiHex(k.spiI) + "," + spiHex(k.spiR) + "," + keys + ",\"" +
         std::string(encr) + "\"," + auth + ",\"" + std::string(integ) + "\"";
}

std::string espKeyLogLine(const ike::EspKeyLog& k) {
  char spi[16];
  std::snprintf(spi, sizeof spi, "0x%08x", k.spi);
  std::string key = hexOf(k.keymat);
  if (k.cipher == ipsec::EspCipher::kChaCha20Poly1305) {
    return "# esp " + std::string(spi) + " " + k.src.toString() + " -> " + k.dst.toString() +
           " chacha20poly1305 (not decryptable by tshark 4.0): key||salt=" + key;
  }
  return std::string("esp_sa:\"") + (k.src.isV4() ? "IPv4" : "IPv6") + "\",\"" + k.src.toString() +
         "\",\"" + k.dst.toString() + "\",\"" + spi +
         "\",\"AES-GCM with 16 octet ICV [RFC4106]\",\"0x" + key + "\",\"NULL\",\"\"";
}

Result<std::unique_ptr<KeyLogFile>> KeyLogFile::open(const std::string& path) {
  // O_NOFOLLOW: a symlink planted at the path cannot send the keys elsewhere; O_NONBLOCK: a
  // FIFO there cannot hang us (it is refused below).
  int fd =
      ::open(path.c_str(),
             O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0600);
  if (fd < 0) {
    return errorStatus(ErrorCode::kIoError,
                       "keylog " + path + ": " +
                           (errno == ELOOP ? std::string("is a symbolic link (refused)")
                                           : std::string(std::strerror(errno))));
  }
  // An existing file must be a regular file of ours; whatever its mode was, it becomes 0600.
  struct stat st;
  std::string bad;
  if (::fstat(fd, &st) != 0) {
    bad = std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    bad = "is not a regular file (refused)";
  } else if (st.st_uid != ::geteuid()) {
    bad = "is owned by uid " + std::to_string(st.st_uid) + ", not by us (refused)";
  } else if ((st.st_mode & 07777) != 0600 && ::fchmod(fd, 0600) != 0) {
    bad = std::string("cannot chmod 600: ") + std::strerror(errno);
  } else if (::fcntl(fd, F_SETFL, O_WRONLY | O_APPEND) != 0) {
    bad = std::strerror(errno);
  }
  if (!bad.empty()) {
    ::close(fd);
    return errorStatus(ErrorCode::kIoError, "keylog " + path + ": " + bad);
  }
  std::FILE* f = ::fdopen(fd, "a");
  if (f == nullptr) {
    ::close(fd);
    return errorStatus(ErrorCode::kIoError, "keylog " + path + ": fdopen failed");
  }
  return std::unique_ptr<KeyLogFile>(new KeyLogFile(f));
}

KeyLogFile::~KeyLogFile() {
  if (f_ != nullptr) std::fclose(f_);
}

void KeyLogFile::write(std::string line) {
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), f_);
  std::fflush(f_);
  secureWipe(line.data(), line.size());
}

// ---- conversions ------------------------------------------------------------------------

std::optional<ike::Endpoint> endpointOf(const SockAddr& a) {
  if (a.storage.ss_family == AF_INET) {
    auto* sin = reinterpret_cast<const sockaddr_in*>(&a.storage);
    return ike::Endpoint{IpAddress::v4(Bytes(reinterpret_cast<const uint8_t*>(&sin->sin_addr), 4)),
                         ntohs(sin->sin_port)};
  }
  if (a.storage.ss_family == AF_INET6) {
    auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
    return ike::Endpoint{
        IpAddress::v6(Bytes(reinterpret_cast<const uint8_t*>(&sin6->sin6_addr), 16)),
        ntohs(sin6->sin6_port)};
  }
  return std::nullopt;
}

SockAddr espEndpoint(const IkePortMap& ports, const ike::Endpoint& remote) {
  uint16_t port = remote.port == ike::kIkePort || remote.port == ike::kNattPort
                      ? ports.nattPort
                      : ports.map(remote.port);
  return SockAddr::from(remote.address, port);
}

namespace {
// a + 1, or nothing past the family's last address.
std::optional<IpAddress> nextAddress(const IpAddress& a) {
  std::array<uint8_t, 16> b{};
  Bytes in = a.bytes();
  std::copy(in.begin(), in.end(), b.begin());
  for (size_t i = in.size(); i-- > 0;) {
    if (++b[i] != 0) return IpAddress::fromBytes(Bytes(b.data(), in.size()));
  }
  return std::nullopt;
}
}  // namespace

std::vector<IpPrefix> selectorPrefixes(const ike::TrafficSelector& ts) {
  if (auto p = ts.toPrefix()) return {*p};
  std::vector<IpPrefix> out;
  if (!ts.valid()) return out;
  // Split [start, end] into the largest aligned blocks, IPv4 or IPv6 alike (at most
  // 2 x address bits prefixes; RFC 7296 3.13.1 ranges need not be prefixes).
  const size_t bits = ts.start.bitLength();
  std::optional<IpAddress> lo = ts.start;
  while (lo && *lo <= ts.end) {
    size_t len = bits;
    while (len > 0) {
      IpPrefix wider(*lo, static_cast<uint8_t>(len - 1));
      if (wider.first() != *lo || wider.last() > ts.end) break;
      --len;
    }
    IpPrefix block(*lo, static_cast<uint8_t>(len));
    out.push_back(block);
    lo = nextAddress(block.last());
  }
  return out;
}

std::vector<IpPrefix> selectorPrefixes(const std::vector<ike::TrafficSelector>& list) {
  std::vector<IpPrefix> out;
  for (auto& ts : list) {
    auto p = selectorPrefixes(ts);
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

bool dataPlaneSupports(const ipsec::EspSaConfig& sa) {
  return sa.keymat.size() == ipsec::espKeymatLength(sa.cipher);
}

ike::PeerConfig ikePeerConfig(const PeerConfig& peer, const PathConfig& path,
                              const UplinkConfig& uplink) {
  const PeerIkeConfig& k = *peer.ike;
  ike::PeerConfig pc;
  pc.name = peer.name;
  pc.remote = ike::Endpoint{path.remoteAddress, ike::kIkePort};
  pc.remoteAny = path.remoteAny;
  pc.ikeProposals = k.proposals;
  if (k.localId) {
    pc.localId = *k.localId;
  } else if (k.auth == ike::AuthKind::kPubkey && !k.certificates.empty()) {
    pc.localId = ike::Identity::derDn(k.certificates.front().subjectDer());
  } else {
    pc.localId = ike::Identity::address(uplink.localAddress);
  }
  pc.remoteId = k.remoteId;
  pc.localAuth.kind = k.auth;
  pc.localAuth.psk = k.psk;
  pc.localAuth.key = k.privateKey;
  pc.localAuth.certs = k.certificates;
  pc.remoteAuth.kind = k.auth;
  pc.remoteAuth.psk = k.psk;
  pc.remoteAuth.cas = k.cas;
  ike::ChildConfig child;
  child.name = peer.name;
  child.espProposals = k.espProposals;
  for (auto& p : k.localSubnets) child.localTs.push_back(ike::TrafficSelector::fromPrefix(p));
  for (auto& p : k.remoteSubnets) child.remoteTs.push_back(ike::TrafficSelector::fromPrefix(p));
  child.replayWindow = k.replayWindow;
  child.lifetime = k.childLifetime;
  pc.children.push_back(std::move(child));
  pc.forceEncap = k.forceEncap;
  pc.sendCertReq = k.auth == ike::AuthKind::kPubkey;
  pc.signatureHashNotify = k.signatureHashNotify;
  pc.offerShim = k.braidShim;
  pc.fragmentation = k.fragmentation;
  pc.mobike = k.mobike;
  pc.fragmentSize = k.fragmentSize;
  pc.retransmit = k.retransmit;
  pc.retryInitial = k.retryInitial;
  pc.retryMax = k.retryMax;
  pc.ikeLifetime = k.ikeLifetime;
  pc.dpdDelay = k.dpdDelay;
  pc.dpdAction = k.dpdAction;
  return pc;
}

}  // namespace braid::edge
