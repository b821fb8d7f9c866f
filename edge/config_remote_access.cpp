// [[remote_access]] (docs/remote-access.md): road-warrior sections. Every problem is reported
// at its file:line:col; pools must be disjoint from the site's subnets, from every peer's
// remote subnets and from each other, since the data plane routes a client's virtual IP to
// that client alone.
#include <algorithm>
#include <string>
#include <vector>

#include "edge/config.hpp"
#include "edge/config_checker.hpp"
#include "edge/credentials_file.hpp"

namespace braid::edge::detail {
namespace {

struct Located {
  IpPrefix prefix;
  const toml::node* node;
  std::string path;
  std::string what;
};

// Prefix strings already checked elsewhere (overlay, peers): bad ones were reported there.
void collect(const toml::node* arrayNode, const std::string& path, const std::string& what,
             std::vector<Located>& out) {
  if (arrayNode == nullptr || !arrayNode->is_array()) return;
  const toml::array& a = *arrayNode->as_array();
  for (size_t i = 0; i < a.size(); ++i) {
    const toml::node& n = *a.get(i);
    if (!n.is_string()) continue;
    if (auto p = IpPrefix::parse(n.as_string()->get())) {
      out.push_back({*p, &n, path + "[" + std::to_string(i) + "]", what});
    }
  }
}

std::string resolvePath(const std::string& baseDir, const std::string& file) {
  if (file.empty() || file[0] == '/' || baseDir.empty()) return file;
  return baseDir + "/" + file;
}

std::vector<IpAddress> addresses(Checker& c, const toml::table& t, const std::string& path,
                                 std::string_view key) {
  std::vector<IpAddress> out;
  for (const auto& s : c.stringList(t, path, key, "an address or an array of addresses")) {
    auto a = IpAddress::parse(s.text);
    if (!a || a->isUnspecified()) {
      c.error(*s.node, "'" + s.path + "' = \"" + s.text +
                           "\" is not a usable address; expected e.g. \"10.2.0.53\"");
      continue;
    }
    out.push_back(*a);
  }
  return out;
}

}  // namespace

void parseRemoteAccess(Checker& c, const toml::table& root, const std::string& baseDir,
                       Config& cfg) {
  const toml::node* top = root.get("remote_access");
  if (top == nullptr) return;
  if (!top->is_array_of_tables()) {
    c.error(*top,
            "'remote_access' is " + typeName(top->type()) + "; expected [[remote_access]] tables");
    return;
  }
  // What pools must not overlap: the site's subnets and every peer's remote subnets.
  std::vector<Located> taken;
  if (const toml::table* o = root.get_as<toml::table>("overlay")) {
    collect(o->get("local_subnets"), "overlay.local_subnets", "a local subnet", taken);
  }
  if (const toml::array* peers = root.get_as<toml::array>("peer")) {
    for (size_t i = 0; i < peers->size(); ++i) {
      if (const toml::table* p = peers->get(i)->as_table()) {
        collect(p->get("remote_subnets"), "peer[" + std::to_string(i) + "].remote_subnets",
                "a peer's remote subnet", taken);
      }
    }
  }
  const toml::array& arr = *top->as_array();
  for (size_t i = 0; i < arr.size(); ++i) {
    const toml::table& t = *arr.get(i)->as_table();
    const std::string p = "remote_access[" + std::to_string(i) + "]";
    c.allowOnly(t, p,
                {"name", "uplinks", "pools", "dns", "split_subnets", "allowed_subnets",
                 "max_clients", "credentials", "eap", "group", "ike"});
    RemoteAccessSection ra;
    if (auto name = c.str(t, p, "name", true, "a unique name")) {
      bool dup = false;
      for (const auto& peer : cfg.peers) dup = dup || peer.name == *name;
      for (const auto& other : cfg.remoteAccess) dup = dup || other.name == *name;
      if (dup) {
        c.error(*t.get("name"), "'" + p + ".name' = \"" + *name +
                                    "\" is a duplicate; expected a name no peer or other "
                                    "remote_access section has");
      }
      ra.name = *name;
    }
    const auto uplinks = c.stringList(t, p, "uplinks", "an uplink name or an array of them");
    for (const auto& u : uplinks) {
      bool found = false;
      for (size_t k = 0; k < cfg.uplinks.size(); ++k) {
        if (cfg.uplinks[k].name == u.text) {
          ra.uplinks.push_back(k);
          found = true;
        }
      }
      if (!found) {
        c.error(*u.node, "'" + u.path + "' = \"" + u.text + "\" is no [[uplink]] name");
      }
    }
    if (t.get("uplinks") == nullptr) {
      for (size_t k = 0; k < cfg.uplinks.size(); ++k) ra.uplinks.push_back(k);
    }
    // An unknown address's IKE_SA_INIT goes to the first "any address" config of its uplink:
    // a site path with remote_address = "%any" there would take the clients' exchanges.
    for (const auto& peer : cfg.peers) {
      for (const auto& path : peer.paths) {
        if (!path.remoteAny) continue;
        for (size_t u : ra.uplinks) {
          if (u != path.uplinkIndex) continue;
          c.error(t.get("uplinks") ? *t.get("uplinks") : static_cast<const toml::node&>(t),
                  "'" + p + "' serves uplink '" + cfg.uplinks[u].name + "', where peer '" +
                      peer.name +
                      "' has a path with remote_address = \"%any\"; expected "
                      "remote access on other uplinks, or site paths with fixed addresses");
        }
      }
    }
    auto pools = c.prefixes(t, p, "pools");
    bool have4 = false, have6 = false;
    for (const auto& pool : pools) {
      bool& have = pool.prefix.family() == IpFamily::kV4 ? have4 : have6;
      if (have) {
        c.error(*pool.node, "'" + pool.path + "' = " + pool.prefix.toString() +
                                " is a second pool of its address family; expected at most one "
                                "IPv4 and one IPv6 pool");
        continue;
      }
      have = true;
      for (const auto& o : taken) {
        if (!pool.prefix.overlaps(o.prefix)) continue;
        c.error(*pool.node, "'" + pool.path + "' = " + pool.prefix.toString() + " overlaps '" +
                                o.path + "' = " + o.prefix.toString() + " (" +
                                c.where(o.node->source()) + "); expected a pool disjoint from " +
                                o.what);
      }
      taken.push_back({pool.prefix, pool.node, pool.path, "every other pool"});
      ra.pools.push_back(pool.prefix);
    }
    ra.dns = addresses(c, t, p, "dns");
    for (const auto& a : c.prefixes(t, p, "allowed_subnets", false)) {
      ra.allowedSubnets.push_back(a.prefix);
    }
    if (ra.allowedSubnets.empty()) ra.allowedSubnets = cfg.overlay.localSubnets;
    for (const auto& s : c.prefixes(t, p, "split_subnets", false)) {
      ra.splitSubnets.push_back(s.prefix);
    }
    if (t.get("split_subnets") == nullptr) ra.splitSubnets = ra.allowedSubnets;
    if (auto n = c.integer(t, p, "max_clients", false, 1, 4096)) {
      ra.maxClients = static_cast<uint32_t>(*n);
    }
    // EAP-MSCHAPv2 users (RFC 7296 2.16); their file's errors at its own line and column.
    if (auto file = c.str(t, p, "credentials", false, "the path of a credentials file")) {
      ra.credentials = resolvePath(baseDir, *file);
      CredentialsFile creds = loadCredentials(ra.credentials);
      for (const auto& e : creds.errors)
        c.errorAt(e.substr(0, e.find(": ")), e.substr(e.find(": ") + 2));
      for (const auto& w : creds.warnings) BRAID_LOG(kWarn, "config") << w;
      if (creds.errors.empty()) ra.eapUsers = std::move(creds.users);
    }
    // EAP methods for clients without AUTH (RFC 7296 2.16), in order; a Nak may pick a later
    // one (RFC 3748 5.3.1). "mschapv2" checks the credentials file, "tls" the client's
    // certificate against ike.ca_certificates (RFC 5216).
    const toml::node* eapNode = t.get("eap");
    bool wantsTls = false;
    for (const auto& m : c.stringList(t, p, "eap", "\"mschapv2\", \"tls\" or an array of them")) {
      uint8_t type = m.text == "mschapv2" ? ike::eap_type::kMschapv2
                     : m.text == "tls"    ? ike::eap_type::kTls
                                          : 0;
      if (type == 0) {
        c.error(*m.node, "'" + m.path + "' = \"" + m.text +
                             "\" is no EAP method; expected \"mschapv2\" or \"tls\"");
        continue;
      }
      if (std::find(ra.eapMethods.begin(), ra.eapMethods.end(), type) != ra.eapMethods.end()) {
        c.error(*m.node, "'" + m.path + "' = \"" + m.text + "\" is a duplicate");
        continue;
      }
      if (type == ike::eap_type::kMschapv2 && t.get("credentials") == nullptr) {
        c.error(*m.node, "'" + m.path +
                             "' = \"mschapv2\" needs the users' credentials file; expected "
                             "credentials = \"/path\" in the section, or eap = \"tls\"");
      }
      wantsTls = wantsTls || type == ike::eap_type::kTls;
      ra.eapMethods.push_back(type);
    }
    if (eapNode != nullptr && t.get("credentials") != nullptr &&
        std::find(ra.eapMethods.begin(), ra.eapMethods.end(), ike::eap_type::kMschapv2) ==
            ra.eapMethods.end()) {
      c.error(*eapNode, "'" + p +
                            ".eap' leaves out \"mschapv2\" although the section has "
                            "credentials; expected \"mschapv2\" in the list, or no credentials");
    }
    if (eapNode == nullptr && t.get("credentials") != nullptr)
      ra.eapMethods = {ike::eap_type::kMschapv2};
    // Per-group policy: a group's clients reach its allowed_subnets (TSr, split subnets).
    if (const toml::node* g = t.get("group")) {
      if (!g->is_array_of_tables()) {
        c.error(*g, "'" + p + ".group' is " + typeName(g->type()) +
                        "; expected [[remote_access.group]] tables");
      } else {
        const toml::array& ga = *g->as_array();
        for (size_t k = 0; k < ga.size(); ++k) {
          const toml::table& gt = *ga.get(k)->as_table();
          const std::string gp = p + ".group[" + std::to_string(k) + "]";
          c.allowOnly(gt, gp, {"name", "allowed_subnets"});
          auto gname = c.str(gt, gp, "name", true, "a group name of the credentials file");
          std::vector<IpPrefix> nets;
          for (const auto& a : c.prefixes(gt, gp, "allowed_subnets", true))
            nets.push_back(a.prefix);
          if (!gname) continue;
          bool dup = false;
          for (const auto& other : ra.groups) dup = dup || other.first == *gname;
          if (dup) {
            c.error(*gt.get("name"), "'" + gp + ".name' = \"" + *gname + "\" is a duplicate");
            continue;
          }
          ra.groups.emplace_back(*gname, std::move(nets));
        }
      }
    }
    if (const toml::table* ike = c.table(t, p, "ike", true,
                                         "a table [remote_access.ike] with the gateway's "
                                         "certificate, key and the clients' CA")) {
      const bool initiateSet = ike->get("initiate") != nullptr;
      // With EAP users the clients need not have certificates: the gateway then needs only
      // its own certificate and key (RFC 7296 2.16), and no CA to check clients with.
      const bool caRequired = t.get("credentials") == nullptr;
      auto k = parsePeerIke(c, *ike, p + ".ike", baseDir, ra.allowedSubnets, ra.pools, caRequired);
      if (k) {
        if (k->auth != ike::AuthKind::kPubkey) {
          c.error(*ike, "'" + p +
                            ".ike' authenticates with a pre-shared key; expected "
                            "certificate, private_key and ca_certificates (clients "
                            "authenticate with certificates or EAP; the gateway with its "
                            "certificate; ca_certificates may be left out with credentials)");
        }
        if (initiateSet && k->initiate) {
          c.error(*ike->get("initiate"),
                  "'" + p + ".ike.initiate' = true; expected false (clients initiate)");
        }
        k->initiate = false;
        k->forceEncap = false;
        if (wantsTls && (k->cas == nullptr || k->cas->size() == 0)) {
          c.error(*eapNode, "'" + p + ".eap' offers \"tls\" but '" + p +
                                ".ike' has no ca_certificates; expected the CA that issues "
                                "the clients' certificates");
        }
        ra.ike = std::move(*k);
      }
    }
    cfg.remoteAccess.push_back(std::move(ra));
  }
}

}  // namespace braid::edge::detail
