// [ike] and [peer.ike]: IKEv2 settings, with every file (PSK, certificates, keys, CAs) read
// and checked at load time so that a bad file is a `file:line:col` error, not a run-time one.
#include <openssl/x509.h>

#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>

#include "core/hex.hpp"
#include "edge/config_checker.hpp"
#include "edge/secret_file.hpp"
#include "ipsec/ike/sa_manager.hpp"

namespace braid::edge {
namespace {

std::string_view trimView(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

// "C=CH, O=lab, CN=gw" -> DER Name, RDNs in the order written (RFC 4945 3.1.5). String
// types follow OpenSSL's defaults, like `openssl req -subj` (PrintableString for C,
// UTF8String otherwise).
Result<ike::ByteVec> dnToDer(std::string_view text) {
  X509_NAME* name = X509_NAME_new();
  if (name == nullptr) return errorStatus(ErrorCode::kInternal, "out of memory");
  std::string_view rest = text;
  std::string err;
  while (err.empty()) {
    size_t comma = rest.find(',');
    std::string_view part = trimView(rest.substr(0, comma));
    size_t eq = part.find('=');
    if (part.empty() || eq == std::string_view::npos || eq == 0 || eq + 1 == part.size()) {
      err = "'" + std::string(part) + "' is not KEY=VALUE";
      break;
    }
    std::string key(trimView(part.substr(0, eq)));
    std::string value(trimView(part.substr(eq + 1)));
    if (X509_NAME_add_entry_by_txt(name, key.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                   0) != 1) {
      err = "unknown attribute or bad value in '" + std::string(part) + "'";
      break;
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  ike::ByteVec der;
  if (err.empty()) {
    int len = i2d_X509_NAME(name, nullptr);
    if (len <= 0) {
      err = "cannot encode the DN";
    } else {
      der.resize(size_t(len));
      unsigned char* p = der.data();
      i2d_X509_NAME(name, &p);
    }
  }
  X509_NAME_free(name);
  if (!err.empty()) return errorStatus(ErrorCode::kParseError, err);
  return der;
}

std::string resolve(const std::string& baseDir, const std::string& file) {
  if (file.empty() || file[0] == '/' || baseDir.empty()) return file;
  return baseDir + "/" + file;
}

// Reads a key file (psk_file, private_key) named by the string node `n`; errors point at it.
std::optional<SecretBytes> readKeyFile(detail::Checker& c, const toml::node& n,
                                       const std::string& keyPath, const std::string& baseDir,
                                       const std::string& file, std::string_view what) {
  auto r = readSecretFile(resolve(baseDir, file), SecretFileCheck::kPrivate);
  if (r) return std::move(*r);
  if (r.status().code() == ErrorCode::kPermissionDenied) {
    c.error(n, "'" + keyPath + "' = \"" + file + "\" " + r.status().message() +
                   "; expected mode 600 or stricter, as ssh requires of private keys (chmod "
                   "600 " +
                   resolve(baseDir, file) + ")");
  } else {
    c.error(n, "'" + keyPath + "' = \"" + file + "\": " + r.status().message() + "; expected " +
                   std::string(what));
  }
  return std::nullopt;
}

// "0x..." is hex; anything else is the text's bytes.
std::optional<SecretBytes> pskBytes(std::string_view text) {
  if (startsWith(text, "0x") || startsWith(text, "0X")) return secretFromHex(text.substr(2));
  return SecretBytes{Bytes(reinterpret_cast<const uint8_t*>(text.data()), text.size())};
}

bool isAeadEsp(const ike::Transform& t) {
  auto id = static_cast<ike::EncrId>(t.id);
  return id == ike::EncrId::kAesGcm16 || id == ike::EncrId::kChaCha20Poly1305;
}

constexpr size_t kMinPskBytes = 16;

}  // namespace

Result<ike::Identity> parseIdentity(std::string_view text) {
  std::string_view t = trimView(text);
  auto bad = [&](const std::string& why) -> Result<ike::Identity> {
    return errorStatus(ErrorCode::kParseError, "identity \"" + std::string(text) + "\" " + why);
  };
  struct Prefix {
    std::string_view name;
    int kind;  // 0 fqdn, 1 rfc822, 2 ipv4, 3 ipv6, 4 dn
  };
  static constexpr Prefix kPrefixes[] = {{"fqdn:", 0}, {"email:", 1}, {"rfc822:", 1}, {"ipv4:", 2},
                                         {"ipv6:", 3}, {"dn:", 4},    {"asn1dn:", 4}};
  int kind = -1;
  for (const Prefix& p : kPrefixes) {
    if (startsWith(t, p.name)) {
      kind = p.kind;
      t = trimView(t.substr(p.name.size()));
      break;
    }
  }
  if (t.empty()) return bad("is empty");
  if (kind == -1) {
    if (t == "%any") return ike::Identity();
    if (IpAddress::parse(t)) {
      kind = IpAddress::parse(t)->isV4() ? 2 : 3;
    } else if (t.find('=') != std::string_view::npos) {
      kind = 4;
    } else if (t[0] == '@') {
      kind = 0;
      t.remove_prefix(1);
      if (t.empty()) return bad("is empty after '@'");
    } else if (t.find('@') != std::string_view::npos) {
      kind = 1;
    } else {
      kind = 0;
    }
  }
  switch (kind) {
    case 0:
      if (t.find_first_of(" \t@=,") != std::string_view::npos) {
        return bad("is not a host name; expected e.g. \"gw.example.net\"");
      }
      return ike::Identity::fqdn(t);
    case 1:
      if (t.find('@') == std::string_view::npos || t.find(' ') != std::string_view::npos) {
        return bad("is not an e-mail style identity; expected e.g. \"user@example.net\"");
      }
      return ike::Identity::rfc822(t);
    case 2:
    case 3: {
      auto a = IpAddress::parse(t);
      if (!a || a->isV4() != (kind == 2)) {
        return bad(std::string("is not an ") + (kind == 2 ? "IPv4" : "IPv6") + " address");
      }
      return ike::Identity::address(*a);
    }
    default: {
      auto der = dnToDer(t);
      if (!der) {
        return bad("is not a distinguished name (" + der.status().message() +
                   "); expected e.g. \"C=CH, O=lab, CN=gw\"");
      }
      return ike::Identity::derDn(std::move(*der));
    }
  }
}

namespace detail {

// [ike] responder DoS limits (ike::ResponderLimits, RFC 7296 2.6).
static void parseIkeLimits(Checker& c, const toml::table& t, IkeGlobalConfig& out) {
  auto get = [&](std::string_view key, int64_t lo, int64_t hi) -> std::optional<uint32_t> {
    auto v = c.integer(t, "ike", key, false, lo, hi);
    return v ? std::optional<uint32_t>(uint32_t(*v)) : std::nullopt;
  };
  out.cookieThreshold = get("cookie_threshold", 0, 1000000);
  out.halfOpenMax = get("half_open_max", 1, 1000000);
  out.halfOpenMaxPerSource = get("half_open_max_per_source", 1, 1000000);
  out.halfOpenTimeoutSeconds = get("half_open_timeout", 1, 3600);
  out.initRatePerSource = get("init_rate_per_source", 0, 1000000);
  const ike::ResponderLimits defaults;
  size_t max = out.halfOpenMax.value_or(uint32_t(defaults.halfOpenMax));
  // Cookies must start below the cap, or spoofed IKE_SA_INITs fill the table and lock out
  // real peers until the half-open SAs expire.
  if (out.cookieThreshold && *out.cookieThreshold >= max) {
    c.error(*t.get("cookie_threshold"),
            "'ike.cookie_threshold' = " + std::to_string(*out.cookieThreshold) +
                " is not below the half-open limit " + std::to_string(max) +
                "; expected a value below ike.half_open_max");
  }
  if (out.halfOpenMaxPerSource && *out.halfOpenMaxPerSource > max) {
    c.error(*t.get("half_open_max_per_source"),
            "'ike.half_open_max_per_source' = " + std::to_string(*out.halfOpenMaxPerSource) +
                " is above the half-open limit " + std::to_string(max) +
                "; expected at most ike.half_open_max");
  }
}

void parseIkeGlobal(Checker& c, const toml::table& root, IkeGlobalConfig& out) {
  const toml::table* t = c.table(root, "", "ike", false, "a table [ike]");
  if (t == nullptr) return;
  c.allowOnly(*t, "ike",
              {"port", "natt_port", "keylog", "nat_keepalive", "cookie_threshold", "half_open_max",
               "half_open_max_per_source", "half_open_timeout", "init_rate_per_source"});
  if (auto v = c.integer(*t, "ike", "port", false, 1, 65535)) {
    if (*v == ike::kNattPort) {
      c.error(*t->get("port"),
              "'ike.port' = 4500 is the NAT-T port; expected another port (default 500)");
    } else {
      out.port = uint16_t(*v);
    }
  }
  if (auto v = c.integer(*t, "ike", "natt_port", false, 1, 65535)) {
    if (*v == ike::kIkePort || *v == out.port) {
      c.error(*t->get("natt_port"), "'ike.natt_port' = " + std::to_string(*v) +
                                        " is an IKE port; expected a port other than 500 and "
                                        "ike.port (default 4500)");
    } else {
      out.nattPort = uint16_t(*v);
    }
  }
  if (auto s = c.str(*t, "ike", "keylog", false, "a file path")) {
    if (s->empty()) {
      c.error(*t->get("keylog"), "'ike.keylog' is empty; expected a file path");
    } else {
      out.keylog = *s;
    }
  }
  if (auto v = c.integer(*t, "ike", "nat_keepalive", false, 0, 3600)) {
    out.natKeepaliveSeconds = uint32_t(*v);
  }
  parseIkeLimits(c, *t, out);
}

namespace {

// Parses one proposal list key; an unknown token is reported at its own column.
std::vector<ike::Proposal> proposalList(Checker& c, const toml::table& t, const std::string& path,
                                        std::string_view key, ike::ProtocolId protocol,
                                        std::string_view fallback) {
  std::vector<ike::Proposal> out;
  auto items = c.stringList(t, path, key, "a proposal string or an array of them");
  if (items.empty() && t.get(key) == nullptr) {
    auto p = ike::parseProposals(fallback, protocol);
    if (p) out = std::move(*p);
    return out;
  }
  for (auto& item : items) {
    auto p = ike::parseProposals(item.text, protocol);
    if (!p) {
      // "proposal 'WHOLE': ... 'TOKEN'": point at the token (else the proposal) in the string.
      const std::string& msg = p.status().message();
      size_t offset = 0;
      size_t q2 = msg.rfind('\'');
      size_t q1 = q2 == std::string::npos || q2 == 0 ? std::string::npos : msg.rfind('\'', q2 - 1);
      size_t colon = msg.find("': ");
      if (q1 != std::string::npos && q1 > colon) {
        std::string token = msg.substr(q1 + 1, q2 - q1 - 1);
        std::string whole = msg.substr(msg.find('\'') + 1, colon - msg.find('\'') - 1);
        size_t w = item.text.find(whole);
        size_t k = item.text.find(token, w == std::string::npos ? 0 : w);
        if (k != std::string::npos) offset = k;
      } else if (colon != std::string::npos) {
        std::string whole = msg.substr(msg.find('\'') + 1, colon - msg.find('\'') - 1);
        size_t w = item.text.find(whole);
        if (w != std::string::npos) offset = w;
      }
      c.errorAt(c.whereInString(*item.node, offset),
                "'" + item.path + "': " + msg +
                    "; expected strongSwan-style proposals such as "
                    "\"aes256gcm16-prfsha256-x25519\" (docs/configuration.md)");
      continue;
    }
    for (auto& prop : *p) {
      if (protocol == ike::ProtocolId::kEsp) {
        for (auto& tr : prop.ofType(ike::TransformType::kEncr)) {
          if (!isAeadEsp(tr)) {
            std::string name = ike::transformName(tr);
            size_t k = item.text.find(name);
            c.errorAt(c.whereInString(*item.node, k == std::string::npos ? 0 : k),
                      "'" + item.path + "': ESP cipher '" + name +
                          "' is not supported by braid's data plane; expected aes128gcm16, "
                          "aes256gcm16 or chacha20poly1305");
          }
        }
      }
      prop.number = static_cast<uint8_t>(out.size() + 1);
      out.push_back(std::move(prop));
    }
  }
  return out;
}

// Loads a PEM file named by a string node; errors point at the node.
template <typename T, typename Loader>
std::optional<T> loadPem(Checker& c, const toml::node& n, const std::string& keyPath,
                         const std::string& file, std::string_view what, Loader load) {
  auto r = load(file);
  if (!r) {
    c.error(n, "'" + keyPath + "' = \"" + file + "\": " + r.status().message() + "; expected " +
                   std::string(what));
    return std::nullopt;
  }
  return std::move(*r);
}

std::vector<IpPrefix> selectors(Checker& c, const toml::table& t, const std::string& path,
                                std::string_view key, const std::vector<IpPrefix>& bound,
                                std::string_view boundName) {
  if (t.get(key) == nullptr) return bound;
  if (const toml::node* n = t.get(key); n->is_array() && n->as_array()->empty()) {
    c.error(*n, "'" + joinPath(path, key) + "' is empty; expected a non-empty array of prefixes");
    return bound;
  }
  std::vector<IpPrefix> out;
  for (auto& lp : c.prefixes(t, path, key, false)) {
    bool inside = false;
    for (auto& b : bound) inside = inside || b.contains(lp.prefix);
    if (!inside) {
      c.error(*lp.node, "'" + lp.path + "' = " + lp.prefix.toString() + " is outside " +
                            std::string(boundName) +
                            "; expected a traffic selector inside it (routing and the inner "
                            "policy check use those subnets)");
      continue;
    }
    out.push_back(lp.prefix);
  }
  return out;
}

// Lifetimes with strongSwan's names and defaults (swanctl.conf): life_* is 1.1 x rekey_* and
// rand_time is life_time - rekey_time unless given; 0 disables a limit. `prefix` is "" for
// the Child SAs and "ike_" for the IKE SA (time only).
void parseLifetime(Checker& c, const toml::table& t, const std::string& path,
                   const std::string& prefix, bool counts, ike::Lifetime& l) {
  auto dur = [](double s) {
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
  };
  const std::string rekeyTime = prefix + "rekey_time", lifeTime = prefix + "life_time",
                    randTime = prefix + "rand_time";
  constexpr int64_t kMaxCount = int64_t(1) << 62;
  if (auto v = c.seconds(t, path, rekeyTime, 0, 30 * 86400.0)) {
    l.rekeyTime = dur(*v);
    l.lifeTime = l.rekeyTime + l.rekeyTime / 10;
  }
  if (auto v = c.seconds(t, path, lifeTime, 0, 33 * 86400.0)) l.lifeTime = dur(*v);
  l.randTime = l.lifeTime > l.rekeyTime ? l.lifeTime - l.rekeyTime : Duration{};
  if (auto v = c.seconds(t, path, randTime, 0, 30 * 86400.0)) l.randTime = dur(*v);
  // A hard limit at or below the soft one would delete before any rekey could complete.
  auto order = [&](const std::string& life, bool bad, const std::string& rekey) {
    if (!bad || t.get(life) == nullptr) return;
    c.error(*t.get(life), "'" + path + "." + life + "' must be above " + rekey +
                              " (the rekey must complete before the hard limit), or 0");
  };
  order(lifeTime, l.lifeTime.count() > 0 && l.lifeTime <= l.rekeyTime, rekeyTime);
  if (t.get(randTime) != nullptr && l.rekeyTime.count() > 0 && l.randTime >= l.rekeyTime) {
    c.error(*t.get(randTime), "'" + path + "." + randTime + "' must be below " + rekeyTime);
  }
  if (!counts) return;
  if (auto v = c.integer(t, path, "rekey_bytes", false, 0, kMaxCount)) {
    l.rekeyBytes = uint64_t(*v);
    l.lifeBytes = l.rekeyBytes + l.rekeyBytes / 10;
  }
  if (auto v = c.integer(t, path, "life_bytes", false, 0, kMaxCount)) l.lifeBytes = uint64_t(*v);
  if (auto v = c.integer(t, path, "rekey_packets", false, 0, kMaxCount)) {
    l.rekeyPackets = uint64_t(*v);
    l.lifePackets = l.rekeyPackets + l.rekeyPackets / 10;
  }
  if (auto v = c.integer(t, path, "life_packets", false, 0, kMaxCount)) {
    l.lifePackets = uint64_t(*v);
  }
  order("life_bytes", l.lifeBytes > 0 && l.lifeBytes <= l.rekeyBytes, "rekey_bytes");
  order("life_packets", l.lifePackets > 0 && l.lifePackets <= l.rekeyPackets, "rekey_packets");
}

}  // namespace

std::optional<PeerIkeConfig> parsePeerIke(Checker& c, const toml::table& t, const std::string& path,
                                          const std::string& baseDir,
                                          const std::vector<IpPrefix>& overlayLocal,
                                          const std::vector<IpPrefix>& peerRemote,
                                          bool caRequired) {
  c.allowOnly(t, path,
              {"proposals",
               "esp_proposals",
               "auth",
               "psk",
               "psk_file",
               "certificate",
               "private_key",
               "ca_certificates",
               "crls",
               "local_id",
               "remote_id",
               "initiate",
               "force_encap",
               "retransmit_timeout",
               "retransmit_base",
               "retransmit_tries",
               "retry_initial",
               "retry_max",
               "local_subnets",
               "remote_subnets",
               "replay_window",
               "signature_hash_notify",
               "braid_shim",
               "rekey_time",
               "life_time",
               "rand_time",
               "rekey_bytes",
               "life_bytes",
               "rekey_packets",
               "life_packets",
               "ike_rekey_time",
               "ike_life_time",
               "ike_rand_time",
               "dpd_delay",
               "dpd_action",
               "fragmentation",
               "fragment_size",
               "mobike"});
  const size_t errorsBefore = c.errors().size();
  PeerIkeConfig k;
  k.proposals = proposalList(c, t, path, "proposals", ike::ProtocolId::kIke,
                             "aes256gcm16-aes128gcm16-chacha20poly1305-prfsha256-prfsha384-"
                             "x25519-ecp256-ecp384");
  k.espProposals = proposalList(c, t, path, "esp_proposals", ike::ProtocolId::kEsp,
                                "aes256gcm16-aes128gcm16-chacha20poly1305");

  // Authentication.
  const bool hasCert = t.get("certificate") != nullptr;
  k.auth = hasCert ? ike::AuthKind::kPubkey : ike::AuthKind::kPsk;
  if (auto s = c.str(t, path, "auth", false, "\"psk\" or \"pubkey\"")) {
    if (*s == "psk") {
      k.auth = ike::AuthKind::kPsk;
    } else if (*s == "pubkey") {
      k.auth = ike::AuthKind::kPubkey;
    } else {
      c.error(*t.get("auth"),
              "'" + path + ".auth' = \"" + *s + "\" is unknown; expected \"psk\" or \"pubkey\"");
    }
  }
  if (k.auth == ike::AuthKind::kPsk) {
    for (auto key : {"certificate", "private_key", "ca_certificates", "crls"}) {
      if (const toml::node* n = t.get(key)) {
        c.error(*n, "'" + joinPath(path, key) + "' is only used with auth = \"pubkey\"");
      }
    }
    const toml::node* pskNode = t.get("psk");
    const toml::node* fileNode = t.get("psk_file");
    std::optional<std::string> text;
    const toml::node* at = pskNode ? pskNode : fileNode;
    std::string keyPath = joinPath(path, pskNode ? "psk" : "psk_file");
    if (pskNode != nullptr && fileNode != nullptr) {
      c.error(*fileNode, "'" + path + ".psk_file' given together with '" + path +
                             ".psk'; expected exactly one of them");
    } else if (at == nullptr) {
      c.error(t.source(), "missing required key '" + path +
                              ".psk'; expected the pre-shared key (or psk_file) with auth = "
                              "\"psk\"");
    } else if (pskNode != nullptr) {
      text = c.str(t, path, "psk", false, "the pre-shared key string");
    } else if (auto f = c.str(t, path, "psk_file", false, "a file path")) {
      if (auto content = readKeyFile(c, *fileNode, keyPath, baseDir, *f,
                                     "a readable file holding the pre-shared key")) {
        std::string_view all(reinterpret_cast<const char*>(content->data()), content->size());
        text = std::string(trimView(all));  // wiped below
      }
    }
    if (text) {
      auto secret = pskBytes(*text);
      secureWipe(text->data(), text->size());
      if (!secret) {
        c.error(*at, "'" + keyPath +
                         "' starts with 0x but is not valid hex; expected hex "
                         "digits after 0x, or a plain string");
      } else if (secret->size() < kMinPskBytes) {
        c.error(*at, "'" + keyPath + "' has " + std::to_string(secret->size()) +
                         " bytes; expected at least " + std::to_string(kMinPskBytes) +
                         " (e.g. openssl rand -hex 32)");
      } else {
        k.psk = std::move(*secret);
      }
    }
  } else {
    for (auto key : {"psk", "psk_file"}) {
      if (const toml::node* n = t.get(key)) {
        c.error(*n, "'" + joinPath(path, key) + "' is only used with auth = \"psk\"");
      }
    }
    auto certFile = c.str(t, path, "certificate", true, "a PEM certificate file");
    auto keyFile = c.str(t, path, "private_key", true, "a PEM private key file");
    if (certFile) {
      if (auto certs = loadPem<std::vector<ike::Certificate>>(
              c, *t.get("certificate"), path + ".certificate", *certFile,
              "a readable PEM file with our certificate first", [&](const std::string& f) {
                return ike::Certificate::loadPemFile(resolve(baseDir, f));
              })) {
        k.certificates = std::move(*certs);
      }
    }
    std::optional<SecretBytes> keyPem;
    if (keyFile) {
      keyPem = readKeyFile(c, *t.get("private_key"), path + ".private_key", baseDir, *keyFile,
                           "a readable unencrypted PEM private key");
    }
    if (keyPem) {
      if (auto key = loadPem<ike::PrivateKey>(
              c, *t.get("private_key"), path + ".private_key", *keyFile,
              "a readable unencrypted PEM private key", [&](const std::string&) {
                // OpenSSL reads the PEM in place (a read-only memory BIO), no copy.
                return ike::PrivateKey::fromPem(std::string_view(
                    reinterpret_cast<const char*>(keyPem->data()), keyPem->size()));
              })) {
        k.privateKey = std::move(*key);
        if (k.privateKey.type() == ike::KeyType::kUnsupported) {
          c.error(*t.get("private_key"), "'" + path +
                                             ".private_key' is neither RSA nor ECDSA "
                                             "P-256/384/521; expected one of those");
        }
      }
    }
    if (!k.certificates.empty() && k.privateKey.valid() &&
        k.certificates.front().publicKey().spkiDer() != k.privateKey.publicKey().spkiDer()) {
      c.error(*t.get("private_key"), "'" + path + ".private_key' does not belong to '" + path +
                                         ".certificate' (" + k.certificates.front().subjectText() +
                                         "); expected the certificate's private key");
    }
    auto cas = std::make_shared<ike::TrustStore>();
    auto caItems = c.stringList(t, path, "ca_certificates", "a PEM file or an array of them");
    if (t.get("ca_certificates") == nullptr && caRequired) {
      c.error(t.source(), "missing required key '" + path +
                              ".ca_certificates'; expected the PEM file(s) of the CAs that "
                              "sign the peer's certificate");
    }
    for (auto& item : caItems) {
      if (Status s = cas->addCaFile(resolve(baseDir, item.text)); !s) {
        c.error(*item.node, "'" + item.path + "' = \"" + item.text + "\": " + s.message() +
                                "; expected a readable PEM file of CA certificates");
      }
    }
    // Optional CRLs (PEM or DER); their signatures are checked when a certificate is.
    for (auto& item : c.stringList(t, path, "crls", "a CRL file or an array of them")) {
      if (Status s = cas->addCrlFile(resolve(baseDir, item.text)); !s) {
        c.error(*item.node, "'" + item.path + "' = \"" + item.text + "\": " + s.message() +
                                "; expected a readable CRL file (PEM or DER) from one of the CAs");
      }
    }
    k.cas = std::move(cas);
  }

  // Identities.
  if (auto s = c.str(t, path, "local_id", false, "an identity string")) {
    auto id = parseIdentity(*s);
    if (!id) {
      c.error(*t.get("local_id"), "'" + path + ".local_id': " + id.status().message());
    } else if (id->any()) {
      c.error(*t.get("local_id"), "'" + path + ".local_id' = \"%any\"; expected our own identity");
    } else {
      k.localId = *id;
      if (k.auth == ike::AuthKind::kPubkey && !k.certificates.empty() &&
          !k.certificates.front().matchesIdentity(static_cast<uint8_t>(id->type()), id->data())) {
        c.error(*t.get("local_id"), "'" + path + ".local_id' = \"" + *s +
                                        "\" is not vouched for by the certificate (subject " +
                                        k.certificates.front().subjectText() +
                                        "); expected its subject DN or a subjectAltName");
      }
    }
  }
  if (auto s = c.str(t, path, "remote_id", false, "an identity string")) {
    auto id = parseIdentity(*s);
    if (!id) {
      c.error(*t.get("remote_id"), "'" + path + ".remote_id': " + id.status().message());
    } else {
      k.remoteId = *id;
    }
  }

  if (auto v = c.boolean(t, path, "initiate")) k.initiate = *v;
  if (auto v = c.boolean(t, path, "force_encap")) k.forceEncap = *v;
  if (auto v = c.boolean(t, path, "signature_hash_notify")) k.signatureHashNotify = *v;
  if (auto v = c.boolean(t, path, "braid_shim")) k.braidShim = *v;
  if (auto v = c.boolean(t, path, "fragmentation")) k.fragmentation = *v;
  if (auto v = c.boolean(t, path, "mobike")) k.mobike = *v;
  // RFC 791: every IPv4 path carries 576-byte datagrams; IKE's own limit is 64 KiB.
  if (auto v = c.integer(t, path, "fragment_size", false, 576, 65535)) {
    k.fragmentSize = uint32_t(*v);
  }
  auto dur = [](double s) {
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
  };
  if (auto v = c.seconds(t, path, "retransmit_timeout", 0.05, 60)) k.retransmit.initial = dur(*v);
  if (auto v = c.seconds(t, path, "retransmit_base", 1.0, 4.0)) k.retransmit.base = *v;
  if (auto v = c.integer(t, path, "retransmit_tries", false, 0, 20)) {
    k.retransmit.tries = uint32_t(*v);
  }
  if (auto v = c.seconds(t, path, "retry_initial", 0, 3600)) k.retryInitial = dur(*v);
  if (auto v = c.seconds(t, path, "retry_max", 0, 86400)) {
    k.retryMax = dur(*v);
    if (k.retryMax < k.retryInitial) {
      c.error(*t.get("retry_max"), "'" + path +
                                       ".retry_max' is below retry_initial; expected "
                                       "at least retry_initial");
    }
  }
  if (auto v = c.integer(t, path, "replay_window", false, ipsec::ReplayWindow::kMinSize,
                         ipsec::ReplayWindow::kMaxSize)) {
    k.replayWindow = uint32_t(*v);
  }
  parseLifetime(c, t, path, "", true, k.childLifetime);
  parseLifetime(c, t, path, "ike_", false, k.ikeLifetime);
  if (auto v = c.seconds(t, path, "dpd_delay", 0, 3600)) k.dpdDelay = dur(*v);
  if (auto s = c.str(t, path, "dpd_action", false, "\"restart\", \"clear\" or \"hold\"")) {
    if (*s == "restart") {
      k.dpdAction = ike::DpdAction::kRestart;
    } else if (*s == "clear") {
      k.dpdAction = ike::DpdAction::kClear;
    } else if (*s == "hold") {
      k.dpdAction = ike::DpdAction::kHold;
    } else {
      c.error(*t.get("dpd_action"), "'" + path + ".dpd_action' = \"" + *s +
                                        "\"; expected \"restart\", \"clear\" or \"hold\"");
    }
  }
  k.localSubnets = selectors(c, t, path, "local_subnets", overlayLocal, "overlay.local_subnets");
  k.remoteSubnets =
      selectors(c, t, path, "remote_subnets", peerRemote, "the peer's remote_subnets");
  if (c.errors().size() != errorsBefore) return std::nullopt;
  return k;
}

}  // namespace detail
}  // namespace braid::edge
