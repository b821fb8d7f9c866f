#include "edge/config.hpp"

#include <grp.h>
#include <sys/un.h>
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "core/hex.hpp"
#include "edge/config_checker.hpp"
#include "edge/secret_file.hpp"

namespace braid::edge {
namespace {

// The parsed tree holds inline keys and PSKs as strings; overwrite every string before the
// tree is freed (the loaded Config keeps them in SecretBytes only).
void wipeStrings(toml::node& n) {
  if (toml::table* t = n.as_table()) {
    for (auto&& [k, v] : *t) wipeStrings(v);
  } else if (toml::array* a = n.as_array()) {
    for (toml::node& v : *a) wipeStrings(v);
  } else if (toml::value<std::string>* s = n.as_string()) {
    std::string& str = s->get();
    secureWipe(str.data(), str.size());
  }
}

// "address:port" or "[v6 address]:port"; the address may be unspecified (every interface).
std::optional<std::pair<IpAddress, uint16_t>> parseListen(std::string_view s) {
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = s.substr(0, colon), port = s.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (host.find(':') == std::string_view::npos) return std::nullopt;
  } else if (host.find(':') != std::string_view::npos) {
    return std::nullopt;  // a bare IPv6 address is ambiguous with the port
  }
  auto a = IpAddress::parse(host);
  unsigned v = 0;
  auto r = std::from_chars(port.data(), port.data() + port.size(), v);
  if (!a || port.empty() || r.ec != std::errc{} || r.ptr != port.data() + port.size() || v == 0 ||
      v > 65535) {
    return std::nullopt;
  }
  return std::pair{*a, static_cast<uint16_t>(v)};
}

using detail::Checker;
using detail::joinPath;
using detail::typeName;

struct Loader {
  Checker& c;
  Config cfg;
  std::vector<Checker::LocatedPrefix> localSubnets;
  std::vector<Checker::LocatedPrefix> remoteSubnets;
  struct SpiUse {
    uint32_t spi;
    std::string key;  // what must be unique: "in" or "out:<remote>"
    const toml::node* node;
  };
  std::vector<SpiUse> spis;
  struct KeyUse {
    SecretBytes key;
    const toml::node* node;
  };
  std::vector<KeyUse> keys;  // every manual key: each must be distinct
  std::string baseDir;       // for relative file names in [peer.ike]
  bool hadBadIke = false;    // the current peer's [peer.ike] had errors (already reported)
  bool mtuSet = false;       // overlay.mtu given; else the default depends on the uplinks

  void log(const toml::table& root) {
    const toml::table* t = c.table(root, "", "log", false, "a table [log]");
    if (t == nullptr) return;
    c.allowOnly(*t, "log", {"level"});
    if (auto s = c.str(*t, "log", "level", false, "one of trace, debug, info, warn, error, off")) {
      if (!parseLogLevel(*s, cfg.logLevel)) {
        c.error(*t->get("level"), "'log.level' = \"" + *s +
                                      "\" is unknown; expected one of trace, debug, info, warn, "
                                      "error, off");
      }
    }
  }

  void overlay(const toml::table& root) {
    const toml::table* t = c.table(root, "", "overlay", true, "a table [overlay]");
    if (t == nullptr) return;
    auto& o = cfg.overlay;
    c.allowOnly(*t, "overlay", {"device", "mtu", "address", "local_subnets"});
    if (auto s = c.str(*t, "overlay", "device", false, "an interface name")) {
      bool ok = !s->empty() && s->size() <= 15 && *s != "." && *s != "..";
      for (char ch : *s) ok = ok && ch > ' ' && ch != '/' && ch != ':' && ch < 127;
      if (!ok) {
        c.error(*t->get("device"), "'overlay.device' = \"" + *s +
                                       "\" is not a valid interface name; expected 1..15 "
                                       "printable characters without '/', ':' or spaces");
      } else {
        o.device = *s;
      }
    }
    if (auto v = c.integer(*t, "overlay", "mtu", false, kMinOverlayMtu, kMaxOverlayMtu)) {
      o.mtu = static_cast<uint32_t>(*v);
      mtuSet = true;
    }
    if (auto s = c.str(*t, "overlay", "address", false, "an address with prefix length")) {
      auto p = IpPrefix::parse(*s, /*allowHostBits=*/true);
      auto slash = s->find('/');
      auto a = IpAddress::parse(slash == std::string::npos ? *s : s->substr(0, slash));
      if (!p || !a || a->isUnspecified()) {
        c.error(*t->get("address"), "'overlay.address' = \"" + *s +
                                        "\" is not valid; expected an address with optional "
                                        "prefix length such as \"10.98.1.1/32\"");
      } else {
        o.address = *a;
        o.addressPrefixLength = p->length();
      }
    }
    localSubnets = c.prefixes(*t, "overlay", "local_subnets");
    for (auto& lp : localSubnets) o.localSubnets.push_back(lp.prefix);
  }

  void dataplane(const toml::table& root) {
    const toml::table* t = c.table(root, "", "dataplane", false, "a table [dataplane]");
    if (t == nullptr) return;
    auto& d = cfg.dataplane;
    const std::string p = "dataplane";
    c.allowOnly(*t, p,
                {"batch_size", "pool_packets", "tun_offload", "tun_gro", "udp_gso", "udp_gro",
                 "socket_buffer"});
    if (auto v = c.integer(*t, p, "batch_size", false, 1, 256)) d.batchSize = uint32_t(*v);
    if (auto v = c.integer(*t, p, "pool_packets", false, 64, 65536)) {
      d.poolPackets = uint32_t(*v);
      if (d.poolPackets < 2 * d.batchSize) {
        c.error(*t->get("pool_packets"),
                "'dataplane.pool_packets' = " + std::to_string(*v) +
                    " is too small; expected at least twice dataplane.batch_size (" +
                    std::to_string(2 * d.batchSize) + ")");
      }
    }
    if (auto v = c.boolean(*t, p, "tun_offload")) d.tunOffload = *v;
    if (auto v = c.boolean(*t, p, "tun_gro")) d.tunGro = *v;
    if (auto v = c.boolean(*t, p, "udp_gso")) d.udpGso = *v;
    if (auto v = c.boolean(*t, p, "udp_gro")) d.udpGro = *v;
    if (auto v = c.integer(*t, p, "socket_buffer", false, 65536, 64 << 20)) {
      d.socketBuffer = uint32_t(*v);
    }
  }

  void state(const toml::table& root) {
    const toml::table* t = c.table(root, "", "state", false, "a table [state]");
    if (t == nullptr) return;
    c.allowOnly(*t, "state", {"directory", "sequence_block"});
    if (auto s = c.str(*t, "state", "directory", false, "an absolute directory path")) {
      if (s->empty() || (*s)[0] != '/') {
        c.error(*t->get("directory"), "'state.directory' = \"" + *s +
                                          "\" is not absolute; expected an absolute directory "
                                          "path such as \"/var/lib/braid\"");
      } else {
        cfg.state.directory = *s;
      }
    }
    if (auto v = c.integer(*t, "state", "sequence_block", false, 1024, int64_t(1) << 32)) {
      cfg.state.sequenceBlock = uint64_t(*v);
    }
  }

  // [control]: socket = absolute path or "" (off), group = an existing group name.
  void control(const toml::table& root) {
    const toml::table* t = c.table(root, "", "control", false, "a table [control]");
    if (t == nullptr) return;
    c.allowOnly(*t, "control", {"socket", "group"});
    cfg.control.configured = true;
    if (auto s = c.str(*t, "control", "socket", false, "an absolute socket path or \"\"")) {
      if (!s->empty() && ((*s)[0] != '/' || s->size() >= sizeof(sockaddr_un{}.sun_path))) {
        c.error(*t->get("socket"),
                "'control.socket' = \"" + *s +
                    "\" is not valid; expected an absolute path of at most " +
                    std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) +
                    " bytes such as \"/run/braid/braidd.sock\", or \"\" for none");
      } else {
        cfg.control.socket = *s;
      }
    }
    if (auto g = c.str(*t, "control", "group", false, "a group name")) {
      if (g->empty() || getgrnam(g->c_str()) == nullptr) {
        c.error(*t->get("group"), "'control.group' = \"" + *g +
                                      "\" is not a group of this system; expected a group "
                                      "name from /etc/group");
      } else {
        cfg.control.group = *g;
      }
    }
  }

  // [metrics]: listen = "host:port" ("[v6]:port"), token_file, tls_cert + tls_key. Files
  // are read now so that a bad one stops braidd before it touches the network.
  void metrics(const toml::table& root) {
    const toml::table* t = c.table(root, "", "metrics", false, "a table [metrics]");
    if (t == nullptr) return;
    const std::string p = "metrics";
    c.allowOnly(*t, p, {"listen", "token_file", "tls_cert", "tls_key"});
    MetricsConfig m;
    if (auto s = c.str(*t, p, "listen", false, "\"address:port\"")) {
      auto ep = parseListen(*s);
      if (!ep) {
        c.error(*t->get("listen"), "'metrics.listen' = \"" + *s +
                                       "\" is not valid; expected \"address:port\" such as "
                                       "\"127.0.0.1:9469\" or \"[::1]:9469\"");
      } else {
        m.address = ep->first;
        m.port = ep->second;
      }
    }
    // Reads a private file (mode & 077 == 0); false if absent or refused (error reported).
    auto file = [&](std::string_view key, std::string& path, SecretBytes* contents) {
      auto s = c.str(*t, p, key, false, "a file path");
      if (!s) return false;
      if (s->empty()) {
        c.error(*t->get(key), "'metrics." + std::string(key) + "' is empty; expected a file path");
        return false;
      }
      path = (*s)[0] == '/' || baseDir.empty() ? *s : baseDir + "/" + *s;
      if (contents == nullptr) return true;
      auto r = readSecretFile(path, SecretFileCheck::kPrivate);
      if (!r) {
        c.error(*t->get(key),
                "'metrics." + std::string(key) + "' = \"" + *s + "\": " + r.status().message());
        return false;
      }
      *contents = std::move(*r);
      return true;
    };
    if (file("token_file", m.tokenFile, &m.token)) {
      // Trailing newlines are not part of the token; an empty token would accept anyone.
      size_t n = m.token.size();
      while (n > 0 && (m.token.data()[n - 1] == '\n' || m.token.data()[n - 1] == '\r')) --n;
      if (n == 0) {
        c.error(*t->get("token_file"), "'metrics.token_file' = \"" + m.tokenFile +
                                           "\" holds no token; expected one line of text");
      } else {
        SecretBytes trimmed(n);
        std::copy_n(m.token.data(), n, trimmed.data());
        m.token = std::move(trimmed);
      }
    }
    (void)file("tls_cert", m.tlsCert, nullptr);
    (void)file("tls_key", m.tlsKey, &m.tlsKeyPem);
    if (m.tlsCert.empty() != m.tlsKey.empty()) {
      c.error(*t,
              "[metrics] has only one of tls_cert and tls_key; expected both (HTTPS) or "
              "neither (HTTP)");
    }
    cfg.metrics = std::move(m);
  }

  // A plan's byte budget in MB (10^6 bytes, as carriers count). Without a limit the other
  // budget keys mean nothing: an error rather than a budget silently off.
  void budget(const toml::table& t, const std::string& p, UplinkConfig& u) {
    constexpr int64_t kMaxMb = 1'000'000'000;  // 1 PB
    if (auto v = c.integer(t, p, "budget_day_mb", false, 1, kMaxMb)) {
      u.budget.dayBytes = uint64_t(*v) * 1'000'000;
    }
    if (auto v = c.integer(t, p, "budget_month_mb", false, 1, kMaxMb)) {
      u.budget.monthBytes = uint64_t(*v) * 1'000'000;
    }
    // 1..28: every month has the billing day.
    if (auto v = c.integer(t, p, "budget_reset_day", false, 1, 28))
      u.budget.resetDay = unsigned(*v);
    if (auto v = c.integer(t, p, "budget_warn_percent", false, 1, 99)) {
      u.budget.warnPercent = unsigned(*v);
    }
    if (auto s = c.str(t, p, "budget_exhausted", false, "\"last_resort\" or \"block\"")) {
      if (*s == "block") {
        u.budgetExhausted = policy::BudgetUse::kBlocked;
      } else if (*s != "last_resort") {
        c.error(*t.get("budget_exhausted"),
                "'" + p + ".budget_exhausted' = \"" + *s +
                    "\" is unknown; expected \"last_resort\" or \"block\"");
      }
    }
    if (u.budget.enabled()) return;
    for (const char* key : {"budget_reset_day", "budget_warn_percent", "budget_exhausted"}) {
      if (const toml::node* n = t.get(key)) {
        c.error(*n, "'" + p + "." + key +
                        "' without a budget; expected budget_day_mb or budget_month_mb in the "
                        "same [[uplink]]");
      }
    }
  }

  void uplinks(const toml::table& root) {
    const toml::array* arr = c.array(root, "", "uplink", true, "one or more [[uplink]] tables");
    if (arr == nullptr) return;
    for (size_t i = 0; i < arr->size(); ++i) {
      const toml::node& n = *arr->get(i);
      std::string p = "uplink[" + std::to_string(i) + "]";
      if (!n.is_table()) {
        c.error(n, "'" + p + "' is " + typeName(n.type()) + "; expected a [[uplink]] table");
        continue;
      }
      const toml::table& t = *n.as_table();
      c.allowOnly(t, p,
                  {"name", "local_address", "port", "metered", "egress_kbps", "shape",
                   "probe_interval_ms", "budget_day_mb", "budget_month_mb", "budget_reset_day",
                   "budget_warn_percent", "budget_exhausted", "follow_address"});
      UplinkConfig u;
      auto name = c.str(t, p, "name", true, "a unique uplink name");
      auto addr = c.address(t, p, "local_address", true);
      if (auto v = c.integer(t, p, "port", false, 1, 65535)) u.port = uint16_t(*v);
      if (auto v = c.boolean(t, p, "metered")) u.metered = *v;
      if (auto v = c.boolean(t, p, "follow_address")) u.followAddress = *v;
      if (auto v = c.integer(t, p, "egress_kbps", false, 1, 100'000'000)) {
        u.egressKbps = uint32_t(*v);
      }
      if (auto v = c.boolean(t, p, "shape")) {
        u.shape = *v;
        if (u.shape && t.get("egress_kbps") == nullptr) {
          c.error(*t.get("shape"), "'" + p +
                                       ".shape' needs the uplink's rate; expected "
                                       "egress_kbps = <kbit/s> in the same [[uplink]]");
        }
      }
      if (auto v = c.integer(t, p, "probe_interval_ms", false, 5, 10'000)) {
        u.probeIntervalMs = uint32_t(*v);
      }
      budget(t, p, u);
      if (!name || !addr) continue;
      u.name = *name;
      u.localAddress = *addr;
      for (auto& other : cfg.uplinks) {
        if (other.name == u.name) {
          c.error(*t.get("name"), "'" + p + ".name' = \"" + u.name +
                                      "\" is a duplicate; expected a unique uplink name");
        } else if (other.localAddress == u.localAddress && other.port == u.port) {
          c.error(*t.get("local_address"),
                  "'" + p + "' uses " + u.localAddress.toString() + " port " +
                      std::to_string(u.port) + " like uplink \"" + other.name +
                      "\"; expected a distinct local address or port per uplink");
        }
      }
      cfg.uplinks.push_back(std::move(u));
    }
  }

  std::optional<ManualSaKeys> saKeys(const toml::table& parent, const std::string& path,
                                     std::string_view dir, std::optional<ipsec::EspCipher> cipher,
                                     const std::string& spiScope) {
    const toml::table* t = c.table(parent, path, dir, true, "a table with spi and key");
    if (t == nullptr) return std::nullopt;
    std::string p = joinPath(path, dir);
    c.allowOnly(*t, p, {"spi", "key"});
    auto spi = c.integer(*t, p, "spi", true, 256, 0xFFFFFFFFLL);  // RFC 4303 2.1: 1..255 reserved
    auto key = c.str(*t, p, "key", true, "the key || salt in hex");
    if (!spi || !key) return std::nullopt;
    ManualSaKeys out;
    out.spi = static_cast<uint32_t>(*spi);
    for (auto& used : spis) {
      if (used.spi == out.spi && used.key == spiScope) {
        c.error(*t->get("spi"), "'" + p + ".spi' = " + std::to_string(out.spi) +
                                    " is already used at " + c.where(used.node->source()) +
                                    "; expected a unique " +
                                    (dir == "inbound" ? "inbound SPI (inbound ESP is "
                                                        "demultiplexed by SPI alone)"
                                                      : "outbound SPI per remote address"));
      }
    }
    spis.push_back({out.spi, spiScope, t->get("spi")});
    auto parsed = secretFromHex(*key);
    secureWipe(key->data(), key->size());
    if (!parsed) {
      c.error(*t->get("key"), "'" + p +
                                  ".key' is not valid hex; expected hex digits (optional "
                                  "0x prefix, ':' or spaces allowed)");
      return std::nullopt;
    }
    SecretBytes secret = std::move(*parsed);
    for (const KeyUse& k : keys) {
      if (k.key == secret) {
        // RFC 4106 section 3.1 / RFC 7634 section 2: two senders with one key (and both
        // counters starting at 1) repeat nonces.
        c.error(*t->get("key"), "'" + p + ".key' is the same key as " + c.where(k.node->source()) +
                                    "; expected a distinct key per direction and path");
      }
    }
    keys.push_back({secret, t->get("key")});
    if (cipher) {
      size_t want = ipsec::espKeymatLength(*cipher);
      if (secret.size() != want) {
        c.error(*t->get("key"), "'" + p + ".key' has " + std::to_string(secret.size()) +
                                    " bytes; " + std::string(ipsec::espCipherName(*cipher)) +
                                    " expects " + std::to_string(want) + " bytes (" +
                                    std::to_string(want - 4) + "-byte key followed by the " +
                                    "4-byte salt), i.e. " + std::to_string(2 * want) +
                                    " hex digits");
        return std::nullopt;
      }
    }
    out.keymat = std::move(secret);
    return out;
  }

  std::optional<ManualKeying> manual(const toml::table& path_t, const std::string& path,
                                     const IpAddress& remote) {
    const toml::table* t = c.table(path_t, path, "manual", !hadBadIke,
                                   "a table [peer.path.manual] with static keys, or a [peer.ike] "
                                   "table for IKEv2 keying");
    if (t == nullptr) return std::nullopt;
    std::string p = path + ".manual";
    c.allowOnly(*t, p, {"cipher", "esn", "replay_window", "outbound", "inbound", "braid_shim"});
    ManualKeying m;
    if (auto v = c.boolean(*t, p, "braid_shim")) m.braidShim = *v;
    std::optional<ipsec::EspCipher> cipher;
    if (auto s = c.str(*t, p, "cipher", true, "aes128gcm16, aes256gcm16 or chacha20poly1305")) {
      cipher = ipsec::parseEspCipher(*s);
      if (!cipher) {
        c.error(*t->get("cipher"), "'" + p + ".cipher' = \"" + *s +
                                       "\" is unknown; expected aes128gcm16, aes256gcm16 or "
                                       "chacha20poly1305");
      } else {
        m.cipher = *cipher;
      }
    }
    if (auto v = c.boolean(*t, p, "esn")) m.esn = *v;
    if (auto v = c.integer(*t, p, "replay_window", false, ipsec::ReplayWindow::kMinSize,
                           ipsec::ReplayWindow::kMaxSize)) {
      m.replayWindow = uint32_t(*v);
    }
    auto out = saKeys(*t, p, "outbound", cipher, "out:" + remote.toString());
    auto in = saKeys(*t, p, "inbound", cipher, "in");
    if (!out || !in || !cipher) return std::nullopt;
    m.outbound = std::move(*out);
    m.inbound = std::move(*in);
    return m;
  }

  void paths(const toml::table& peer_t, const std::string& path, PeerConfig& peer) {
    const toml::array* arr =
        c.array(peer_t, path, "path", true, "one or more [[peer.path]] tables (uplink x peer)");
    if (arr == nullptr) return;
    for (size_t i = 0; i < arr->size(); ++i) {
      const toml::node& n = *arr->get(i);
      std::string p = path + ".path[" + std::to_string(i) + "]";
      if (!n.is_table()) {
        c.error(n, "'" + p + "' is " + typeName(n.type()) + "; expected a [[peer.path]] table");
        continue;
      }
      const toml::table& t = *n.as_table();
      c.allowOnly(t, p, {"uplink", "remote_address", "remote_port", "manual"});
      PathConfig pc;
      auto uplink = c.str(t, p, "uplink", true, "the name of an [[uplink]]");
      const bool ikePath = t.get("manual") == nullptr && peer.ike.has_value();
      std::optional<IpAddress> remote;
      if (const toml::node* ra = t.get("remote_address");
          ra != nullptr && ra->is_string() && ra->as_string()->get() == "%any") {
        if (!ikePath || peer.ike->initiate) {
          c.error(*ra, "'" + p +
                           ".remote_address' = \"%any\" needs an IKE responder; expected "
                           "a specific address, or no [peer.path.manual] and [peer.ike] initiate = "
                           "false");
        } else {
          pc.remoteAny = true;
        }
      } else {
        remote = c.address(t, p, "remote_address", true);
      }
      if (ikePath && t.get("remote_port") != nullptr) {
        c.error(*t.get("remote_port"), "'" + p +
                                           ".remote_port' is not used on IKE paths (IKE learns "
                                           "the peer's ports); expected [ike] natt_port instead");
      } else if (auto v = c.integer(t, p, "remote_port", false, 1, 65535)) {
        pc.remotePort = uint16_t(*v);
      }
      if (uplink) {
        auto it = std::find_if(cfg.uplinks.begin(), cfg.uplinks.end(),
                               [&](const UplinkConfig& u) { return u.name == *uplink; });
        if (it == cfg.uplinks.end()) {
          std::string names;
          for (auto& u : cfg.uplinks) names += (names.empty() ? "" : ", ") + u.name;
          c.error(*t.get("uplink"), "'" + p + ".uplink' = \"" + *uplink +
                                        "\" names no uplink; expected one of: " + names);
          uplink.reset();
        } else {
          pc.uplink = *uplink;
          pc.uplinkIndex = size_t(it - cfg.uplinks.begin());
          for (auto& other : peer.paths) {
            if (other.uplinkIndex == pc.uplinkIndex) {
              c.error(*t.get("uplink"), "'" + p + ".uplink' = \"" + *uplink +
                                            "\" is used twice for this peer; expected one path "
                                            "per uplink and peer");
            }
          }
          if (remote && remote->family() != it->localAddress.family()) {
            c.error(*t.get("remote_address"), "'" + p + ".remote_address' is " +
                                                  remote->toString() + " but uplink \"" + *uplink +
                                                  "\" is " + it->localAddress.toString() +
                                                  "; expected the same address family");
          }
        }
      }
      if (!remote && !pc.remoteAny) continue;
      if (remote) pc.remoteAddress = *remote;
      if (ikePath) {
        if (uplink) peer.paths.push_back(std::move(pc));
        continue;
      }
      pc.manual = manual(t, p, *remote);
      if (uplink && pc.manual) peer.paths.push_back(std::move(pc));
    }
  }

  void peers(const toml::table& root) {
    const toml::array* arr = c.array(root, "", "peer", root.get("remote_access") == nullptr,
                                     "one or more [[peer]] tables");
    if (arr == nullptr) return;
    for (size_t i = 0; i < arr->size(); ++i) {
      const toml::node& n = *arr->get(i);
      std::string p = "peer[" + std::to_string(i) + "]";
      if (!n.is_table()) {
        c.error(n, "'" + p + "' is " + typeName(n.type()) + "; expected a [[peer]] table");
        continue;
      }
      const toml::table& t = *n.as_table();
      c.allowOnly(t, p, {"name", "remote_subnets", "path", "ike"});
      PeerConfig peer;
      hadBadIke = false;
      if (auto name = c.str(t, p, "name", true, "a unique peer name")) {
        for (auto& other : cfg.peers) {
          if (other.name == *name) {
            c.error(*t.get("name"), "'" + p + ".name' = \"" + *name +
                                        "\" is a duplicate; expected a unique peer name");
          }
        }
        peer.name = *name;
      }
      auto subnets = c.prefixes(t, p, "remote_subnets");
      for (auto& rs : subnets) {
        peer.remoteSubnets.push_back(rs.prefix);
        remoteSubnets.push_back(rs);
      }
      if (const toml::table* ike =
              c.table(t, p, "ike", false, "a table [peer.ike] with IKEv2 settings")) {
        peer.ike = detail::parsePeerIke(c, *ike, p + ".ike", baseDir, cfg.overlay.localSubnets,
                                        peer.remoteSubnets);
        if (!peer.ike) hadBadIke = true;
      }
      paths(t, p, peer);
      cfg.peers.push_back(std::move(peer));
    }
  }

  // Routing needs disjoint subnets: local vs remote, and remote vs remote across peers.
  void crossCheck() {
    for (size_t i = 0; i < remoteSubnets.size(); ++i) {
      auto& r = remoteSubnets[i];
      for (auto& l : localSubnets) {
        if (r.prefix.overlaps(l.prefix)) {
          c.error(*r.node, "'" + r.path + "' = " + r.prefix.toString() + " overlaps '" + l.path +
                               "' = " + l.prefix.toString() + " (" + c.where(l.node->source()) +
                               "); expected local and remote subnets to be disjoint");
        }
      }
      for (size_t j = 0; j < i; ++j) {
        auto& o = remoteSubnets[j];
        if (r.prefix.overlaps(o.prefix)) {
          c.error(*r.node, "'" + r.path + "' = " + r.prefix.toString() + " overlaps '" + o.path +
                               "' = " + o.prefix.toString() + " (" + c.where(o.node->source()) +
                               "); expected every remote subnet to be routed to one peer");
        }
      }
    }
  }
};

}  // namespace

Result<Config> parseConfig(std::string_view text, std::string_view sourceName) {
  Checker checker(sourceName);
  toml::table root;
  try {
    root = toml::parse(text, sourceName);
  } catch (const toml::parse_error& e) {
    checker.error(e.source(), "TOML syntax error: " + std::string(e.description()));
    return errorStatus(ErrorCode::kParseError, checker.errors().front());
  }
  struct Wiper {
    toml::table& root;
    ~Wiper() { wipeStrings(root); }
  } wiper{root};
  Loader l{checker, {}, {}, {}, {}, {}, {}, false, false};
  l.cfg.sourceName = std::string(sourceName);
  if (size_t slash = l.cfg.sourceName.rfind('/'); slash != std::string::npos) {
    l.baseDir = l.cfg.sourceName.substr(0, slash == 0 ? 1 : slash);
  }
  checker.allowOnly(root, "",
                    {"log", "overlay", "dataplane", "uplink", "peer", "ike", "state", "metrics",
                     "pathmon", "policy", "class", "rule", "remote_access", "control"});
  l.log(root);
  l.overlay(root);
  l.dataplane(root);
  l.state(root);
  l.metrics(root);
  l.control(root);
  l.uplinks(root);
  // Without overlay.mtu: the inner size that fits a 1500-byte link through every uplink.
  for (const UplinkConfig& u : l.cfg.uplinks) {
    if (!l.mtuSet && u.localAddress.isV6()) l.cfg.overlay.mtu = kDefaultOverlayMtuIpv6;
  }
  detail::parseIkeGlobal(checker, root, l.cfg.ike);
  l.peers(root);
  l.crossCheck();
  detail::parseRemoteAccess(checker, root, l.baseDir, l.cfg);
  detail::parseMultipath(checker, root, l.cfg.uplinks, l.cfg.multipath);
  if (!l.mtuSet) {
    for (const PeerConfig& peer : l.cfg.peers) {
      size_t shimPaths = 0;
      for (const PathConfig& path : peer.paths) {
        shimPaths += path.manual ? path.manual->braidShim : (peer.ike && peer.ike->braidShim);
      }
      if (shimPaths >= 2) {
        l.cfg.overlay.mtu -= kShimMtuReserve;
        l.cfg.overlay.shimRoom = kShimMtuReserve;
        break;
      }
    }
  }
  if (!checker.errors().empty()) {
    std::string all;
    for (auto& e : checker.errors()) all += (all.empty() ? "" : "\n") + e;
    return errorStatus(ErrorCode::kInvalidArgument, all);
  }
  return std::move(l.cfg);
}

Result<Config> loadConfigFile(const std::string& path) {
  // The file may hold inline keys: read it into memory that is wiped when freed.
  auto text = readSecretFile(path, SecretFileCheck::kNone);
  if (!text) {
    return errorStatus(ErrorCode::kNotFound, path + ": cannot open the configuration file (" +
                                                 text.status().message() + ")");
  }
  return parseConfig(std::string_view(reinterpret_cast<const char*>(text->data()), text->size()),
                     path);
}

}  // namespace braid::edge
