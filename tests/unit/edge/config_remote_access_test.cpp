// [[remote_access]]: a section loads with its defaults; pools that overlap the site's subnets,
// a peer's remote subnets or each other are errors at file:line:col; clients authenticate with
// certificates or EAP (credentials files: their errors at file:line:col, braidctl user add);
// the IKE core config and the data-plane slots built from a section.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <string>

#include "edge/config.hpp"
#include "edge/credentials_file.hpp"
#include "edge/remote_access.hpp"
#include "ipsec/ike/remote_access.hpp"
#include "tests/unit/edge/config_test_support.hpp"

namespace braid::edge {
namespace {

using testing::at;

// The example PKI with its keys at mode 600 (braidd refuses keys others may read).
struct PrivatePki {
  std::filesystem::path dir;
  PrivatePki() {
    namespace fs = std::filesystem;
    dir = fs::path(::testing::TempDir()) / ("braid-ra-pki-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    for (auto& e : fs::directory_iterator(std::string(BRAID_SOURCE_DIR) + "/deploy/examples/pki")) {
      fs::path to = dir / e.path().filename();
      fs::copy_file(e.path(), to, fs::copy_options::overwrite_existing);
      fs::permissions(to, fs::perms::owner_read | fs::perms::owner_write);
    }
  }
  ~PrivatePki() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};
const PrivatePki kPrivatePki;
const std::string kPki = kPrivatePki.dir.string() + "/";

std::string gwIke() {
  return "certificate = \"" + kPki + "site-a.pem\"\nprivate_key = \"" + kPki +
         "site-a.key\"\nca_certificates = \"" + kPki + "ca.pem\"\n";
}

std::string config(const std::string& sections, bool withPeer = true) {
  std::string t = R"([overlay]
local_subnets = ["10.98.1.0/24"]

[[uplink]]
name = "wan0"
local_address = "10.99.0.1"

[[uplink]]
name = "wan1"
local_address = "10.99.1.1"
)";
  if (withPeer) {
    t += R"(
[[peer]]
name = "site-b"
remote_subnets = ["10.98.2.0/24"]

[peer.ike]
psk = "0123456789abcdef-long-enough"

[[peer.path]]
uplink = "wan0"
remote_address = "10.99.0.2"
)";
  }
  return t + sections;
}

std::string section(const std::string& lines, const std::string& ike = gwIke()) {
  return "\n[[remote_access]]\nname = \"staff\"\n" + lines + "\n[remote_access.ike]\n" + ike;
}

TEST(ConfigRemoteAccessTest, SectionLoadsWithDefaults) {
  auto r = parseConfig(config(section("pools = [\"10.90.0.0/24\", \"fd00:90::/120\"]\n"
                                      "dns = [\"10.98.1.53\"]\n"),
                              false),
                       "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  ASSERT_EQ(r->remoteAccess.size(), 1u);
  const RemoteAccessSection& s = r->remoteAccess[0];
  EXPECT_EQ(s.name, "staff");
  EXPECT_EQ(s.uplinks, (std::vector<size_t>{0, 1}));  // every uplink
  EXPECT_EQ(s.pools.size(), 2u);
  EXPECT_EQ(s.dns.size(), 1u);
  ASSERT_EQ(s.allowedSubnets.size(), 1u);
  EXPECT_EQ(s.allowedSubnets[0].toString(), "10.98.1.0/24");  // overlay.local_subnets
  EXPECT_EQ(s.splitSubnets, s.allowedSubnets);
  EXPECT_EQ(s.maxClients, 16u);
  EXPECT_EQ(s.ike.auth, ike::AuthKind::kPubkey);
  EXPECT_FALSE(s.ike.initiate);
  EXPECT_TRUE(r->hasIkePaths());
}

TEST(ConfigRemoteAccessTest, EveryKeyLoads) {
  auto r = parseConfig(config(section("uplinks = [\"wan1\"]\npools = [\"10.90.0.0/24\"]\n"
                                      "dns = \"10.98.1.53\"\n"
                                      "allowed_subnets = [\"10.98.1.0/25\"]\n"
                                      "split_subnets = [\"10.98.0.0/16\"]\nmax_clients = 3\n")),
                       "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const RemoteAccessSection& s = r->remoteAccess[0];
  EXPECT_EQ(s.uplinks, std::vector<size_t>{1});
  EXPECT_EQ(s.allowedSubnets[0].toString(), "10.98.1.0/25");
  EXPECT_EQ(s.splitSubnets[0].toString(), "10.98.0.0/16");
  EXPECT_EQ(s.maxClients, 3u);
}

TEST(ConfigRemoteAccessTest, OverlappingPoolsAreErrorsAtTheirPosition) {
  std::string t = config(section("pools = [\"10.98.1.128/25\"]\n"));
  EXPECT_CONFIG_ERROR(t, at(t, "\"10.98.1.128/25\""), "overlaps 'overlay.local_subnets[0]'");
  t = config(section("pools = [\"10.98.0.0/16\"]\n"));
  EXPECT_CONFIG_ERROR(t, at(t, "\"10.98.0.0/16\""), "overlaps 'overlay.local_subnets[0]'");
  t = config(section("pools = [\"10.98.2.0/26\"]\n"));
  EXPECT_CONFIG_ERROR(t, at(t, "\"10.98.2.0/26\""), "overlaps 'peer[0].remote_subnets[0]'");
  t = config(section("pools = [\"10.90.0.0/24\"]\n") +
             "\n[[remote_access]]\nname = \"guests\"\npools = [\"10.90.0.128/25\"]\n"
             "\n[remote_access.ike]\n" +
             gwIke());
  EXPECT_CONFIG_ERROR(t, at(t, "\"10.90.0.128/25\""),
                      "overlaps 'remote_access[0].pools[0]' = 10.90.0.0/24 (t.toml:");
  t = config(section("pools = [\"10.90.0.0/24\", \"10.91.0.0/24\"]\n"));
  EXPECT_CONFIG_ERROR(t, at(t, "\"10.91.0.0/24\""), "second pool of its address family");
}

TEST(ConfigRemoteAccessTest, OtherErrors) {
  std::string t = config(section("pools = [\"10.90.0.0/24\"]\nuplinks = [\"wan7\"]\n"));
  EXPECT_CONFIG_ERROR(t, at(t, "\"wan7\""), "is no [[uplink]] name");
  t = config(section("pools = [\"10.90.0.0/24\"]\ndns = [\"not-an-address\"]\n"));
  EXPECT_CONFIG_ERROR(t, at(t, "\"not-an-address\""), "'remote_access[0].dns[0]'");
  t = config(section("pools = [\"10.90.0.0/24\"]\nmax_clients = 0\n"));
  EXPECT_CONFIG_ERROR(t, at(t, "max_clients = 0", 14), "out of range");
  t = config(section("pools = [\"10.90.0.0/24\"]\n", "psk = \"0123456789abcdef-long-enough\"\n"));
  EXPECT_CONFIG_ERROR(t, at(t, "[remote_access.ike]", 0), "authenticates with a pre-shared key");
  t = config(section("pools = [\"10.90.0.0/24\"]\n", gwIke() + "initiate = true\n"));
  EXPECT_CONFIG_ERROR(t, at(t, "initiate = true", 11), "expected false");
  t = config(section("pools = [\"10.90.0.0/24\"]\nname2 = 1\n"));
  EXPECT_CONFIG_ERROR(t, at(t, "name2"), "unknown key 'remote_access[0].name2'");
  t = config(section(""));
  EXPECT_CONFIG_ERROR(t, at(t, "[[remote_access]]", 0),
                      "missing required key 'remote_access[0].pools'");
  t = config(
      "\n[[remote_access]]\nname = \"site-b\"\npools = [\"10.90.0.0/24\"]\n"
      "\n[remote_access.ike]\n" +
      gwIke());
  EXPECT_CONFIG_ERROR(t, at(t, "\"site-b\"\npools"), "is a duplicate");
  // A site path that accepts any address on a remote-access uplink.
  std::string any = config(section("pools = [\"10.90.0.0/24\"]\nuplinks = [\"wan0\"]\n"));
  const std::string fixed = "remote_address = \"10.99.0.2\"";
  any.replace(any.find(fixed), fixed.size(), "remote_address = \"%any\"");
  any.replace(any.find("psk = "), 0, "initiate = false\n");
  EXPECT_CONFIG_ERROR(any, at(any, "[\"wan0\"]"), "where peer 'site-b' has a path with");
}

TEST(ConfigRemoteAccessTest, CoreConfigAndDataPlaneSlots) {
  auto r = parseConfig(config(section("pools = [\"10.90.0.0/24\"]\nmax_clients = 2\n")), "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  std::vector<PathSpec> paths(1);
  std::vector<PeerSpec> peers(1);
  appendRemoteAccessSpecs(*r, paths, peers);
  // 2 slots on each of the 2 uplinks, each its own peer, after the site's.
  ASSERT_EQ(paths.size(), 5u);
  ASSERT_EQ(peers.size(), 5u);
  EXPECT_EQ(paths[1].name, "staff#0/wan0");
  EXPECT_EQ(paths[4].name, "staff#1/wan1");
  EXPECT_EQ(paths[4].uplink, 1u);
  EXPECT_EQ(paths[4].peer, 4u);
  EXPECT_EQ(peers[4].paths, std::vector<size_t>{4});
  EXPECT_TRUE(peers[4].remoteSubnets.empty());  // no route until a client is up
  auto ra = std::make_shared<ike::RemoteAccessConfig>();
  ike::PeerConfig pc = remoteAccessPeerConfig(r->remoteAccess[0], r->uplinks[0], ra);
  EXPECT_TRUE(pc.remoteAny);
  EXPECT_EQ(pc.remoteAccess, ra);
  EXPECT_FALSE(pc.offerShim);
  ASSERT_EQ(pc.children.size(), 1u);
  EXPECT_EQ(pc.children[0].localTs[0].toString(), "10.98.1.0/24");
  EXPECT_EQ(pc.children[0].remoteTs[0].toString(), "10.90.0.0/24");
  EXPECT_EQ(pc.localAuth.kind, ike::AuthKind::kPubkey);
}

// ---- EAP credentials (edge/credentials_file.hpp) -------------------------------------------

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& name)
      : path((std::filesystem::path(::testing::TempDir()) /
              (name + "-" + std::to_string(::getpid())))
                 .string()) {
    std::filesystem::remove(path);
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
  void write(const std::string& text, std::filesystem::perms mode) const {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(text.c_str(), f);
    std::fclose(f);
    std::filesystem::permissions(path, mode);
  }
};

constexpr const char* kClientPassHash = "44ebba8d5312b8d611474411f56989ae";  // "clientPass"

TEST(CredentialsFileTest, ParsesUsersGroupsAndComments) {
  auto c = parseCredentials(std::string("# users\n\nalice staff ") + kClientPassHash +
                                "\r\n  bob - " + kClientPassHash + "  # no group\n",
                            "users");
  // A trailing comment is a fourth field: an error at its column.
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0], "users:4:3: 6 fields; expected 'name group nthash' (group '-' for none)");
  c = parseCredentials(
      std::string("alice staff ") + kClientPassHash + "\nbob - " + kClientPassHash + "\n", "users");
  ASSERT_TRUE(c.errors.empty()) << c.errors[0];
  ASSERT_EQ(c.users->size(), 2u);
  const ike::EapUser* a = c.users->find("alice");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->group, "staff");
  EXPECT_EQ(a->ntHash, *ike::mschapv2::ntPasswordHash("clientPass"));
  EXPECT_EQ(c.users->find("bob")->group, "");
  EXPECT_NE(c.users->find("CORP\\bob"), nullptr);  // a Windows domain prefix
}

TEST(CredentialsFileTest, ErrorsAtLineAndColumn) {
  auto c =
      parseCredentials(std::string("alice staff secret123\n") + "bob staff " + kClientPassHash +
                           "\n" + "bob x " + kClientPassHash + "\n" + "carol\n",
                       "/etc/braid/users");
  ASSERT_EQ(c.errors.size(), 3u);
  // The bad hash is not echoed: it may be a password.
  EXPECT_EQ(c.errors[0],
            "/etc/braid/users:1:13: the NT hash is not 32 hex digits; expected the hash that "
            "'braidctl user add' writes, not a password");
  EXPECT_EQ(c.errors[1], "/etc/braid/users:3:1: user 'bob' is a duplicate of line 2");
  EXPECT_EQ(c.errors[2],
            "/etc/braid/users:4:1: 1 fields; expected 'name group nthash' (group '-' for none)");
}

TEST(CredentialsFileTest, UserAddWritesHashesAndReplaces) {
  TempFile f("braid-users");
  auto h1 = *ike::mschapv2::ntPasswordHash("one");
  auto h2 = *ike::mschapv2::ntPasswordHash("two");
  ASSERT_TRUE(addCredentialsUser(f.path, "alice", "staff", h1).isOk());
  ASSERT_TRUE(addCredentialsUser(f.path, "bob", "", h1).isOk());
  ASSERT_TRUE(addCredentialsUser(f.path, "alice", "admins", h2).isOk());  // replaced
  EXPECT_FALSE(addCredentialsUser(f.path, "bad name", "", h1).isOk());
  auto st = std::filesystem::status(f.path);
  EXPECT_EQ(st.permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto c = loadCredentials(f.path);
  ASSERT_TRUE(c.errors.empty()) << c.errors[0];
  EXPECT_TRUE(c.warnings.empty());
  ASSERT_EQ(c.users->size(), 2u);
  EXPECT_EQ(c.users->find("alice")->group, "admins");
  EXPECT_EQ(c.users->find("alice")->ntHash, h2);
  EXPECT_EQ(c.users->find("bob")->ntHash, h1);
  // No password in the file, only hashes.
  FILE* in = std::fopen(f.path.c_str(), "r");
  ASSERT_NE(in, nullptr);
  char buf[512] = {};
  size_t n = std::fread(buf, 1, sizeof buf - 1, in);
  std::fclose(in);
  EXPECT_EQ(std::string(buf, n), "alice admins " + ike::mschapv2::toHex(h2, false) + "\nbob - " +
                                     ike::mschapv2::toHex(h1, false) + "\n");
}

TEST(CredentialsFileTest, SectionLoadsUsersAndReportsTheFile) {
  TempFile f("braid-ra-users");
  f.write(std::string("alice staff ") + kClientPassHash + "\n",
          std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
              std::filesystem::perms::others_read);
  auto w = loadCredentials(f.path);
  ASSERT_EQ(w.warnings.size(), 1u);
  EXPECT_NE(w.warnings[0].find("world-readable"), std::string::npos);
  auto r = parseConfig(
      config(section("pools = [\"10.90.0.0/24\"]\ncredentials = \"" + f.path + "\"\n"), false),
      "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  ASSERT_NE(r->remoteAccess[0].eapUsers, nullptr);
  EXPECT_EQ(r->remoteAccess[0].eapUsers->size(), 1u);
  ike::PeerConfig pc = remoteAccessPeerConfig(r->remoteAccess[0], r->uplinks[0],
                                              std::make_shared<ike::RemoteAccessConfig>());
  EXPECT_EQ(pc.remoteAuth.eapUsers, r->remoteAccess[0].eapUsers);
  // Groups: each with its allowed subnets; a duplicate and a missing list are errors.
  r = parseConfig(config(section("pools = [\"10.90.0.0/24\"]\ncredentials = \"" + f.path +
                                 "\"\n[[remote_access.group]]\nname = \"staff\"\n"
                                 "allowed_subnets = [\"10.98.1.0/25\"]\n"
                                 "[[remote_access.group]]\nname = \"lab\"\n"
                                 "allowed_subnets = [\"10.97.1.0/24\", \"10.98.1.128/25\"]\n"),
                         false),
                  "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  ASSERT_EQ(r->remoteAccess[0].groups.size(), 2u);
  EXPECT_EQ(r->remoteAccess[0].groups[1].first, "lab");
  EXPECT_EQ(r->remoteAccess[0].groups[1].second.size(), 2u);
  r = parseConfig(config(section("pools = [\"10.90.0.0/24\"]\n"
                                 "[[remote_access.group]]\nname = \"staff\"\n"
                                 "allowed_subnets = [\"10.98.1.0/25\"]\n"
                                 "[[remote_access.group]]\nname = \"staff\"\n"),
                         false),
                  "t.toml");
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(
      r.status().message().find("'remote_access[0].group[1].name' = \"staff\" is a duplicate"),
      std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("remote_access[0].group[1].allowed_subnets"),
            std::string::npos)
      << r.status().message();
  // A bad line: braidd --check reports the credentials file's own position.
  f.write("alice staff nothex\n",
          std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  r = parseConfig(
      config(section("pools = [\"10.90.0.0/24\"]\ncredentials = \"" + f.path + "\"\n"), false),
      "t.toml");
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find(f.path + ":1:13: the NT hash is not 32 hex digits"),
            std::string::npos)
      << r.status().message();
  r = parseConfig(
      config(section("pools = [\"10.90.0.0/24\"]\ncredentials = \"/nonexistent/users\"\n"), false),
      "t.toml");
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("/nonexistent/users: cannot read the credentials file"),
            std::string::npos)
      << r.status().message();
}

TEST(CredentialsFileTest, EapOnlySectionNeedsNoCaCertificates) {
  TempFile f("braid-ra-users-noca");
  f.write(std::string("alice staff ") + kClientPassHash + "\n",
          std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const std::string gwOnly =
      "certificate = \"" + kPki + "site-a.pem\"\nprivate_key = \"" + kPki + "site-a.key\"\n";
  // With EAP users: the gateway's own certificate and key are enough.
  auto r = parseConfig(
      config(section("pools = [\"10.90.0.0/24\"]\ncredentials = \"" + f.path + "\"\n", gwOnly),
             false),
      "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  ASSERT_NE(r->remoteAccess[0].ike.cas, nullptr);
  EXPECT_EQ(r->remoteAccess[0].ike.cas->size(), 0u);
  ike::PeerConfig pc = remoteAccessPeerConfig(r->remoteAccess[0], r->uplinks[0],
                                              std::make_shared<ike::RemoteAccessConfig>());
  EXPECT_FALSE(pc.sendCertReq);  // no CA to name in a CERTREQ
  // Certificate clients only (no credentials): the clients' CA is still required.
  r = parseConfig(config(section("pools = [\"10.90.0.0/24\"]\n", gwOnly), false), "t.toml");
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(
      r.status().message().find("missing required key 'remote_access[0].ike.ca_certificates'"),
      std::string::npos)
      << r.status().message();
  // Both: CERTREQ names the CA.
  r = parseConfig(
      config(section("pools = [\"10.90.0.0/24\"]\ncredentials = \"" + f.path + "\"\n"), false),
      "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  pc = remoteAccessPeerConfig(r->remoteAccess[0], r->uplinks[0],
                              std::make_shared<ike::RemoteAccessConfig>());
  EXPECT_TRUE(pc.sendCertReq);
}

// ---- eap = [...] (EAP-TLS, RFC 5216) ---------------------------------------------------------

TEST(ConfigEapMethodsTest, TlsAloneAndInOrderWithMschapv2) {
  auto r =
      parseConfig(config(section("pools = [\"10.90.0.0/24\"]\neap = \"tls\"\n"), false), "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->remoteAccess[0].eapMethods, std::vector<uint8_t>{ike::eap_type::kTls});
  ike::PeerConfig pc = remoteAccessPeerConfig(r->remoteAccess[0], r->uplinks[0],
                                              std::make_shared<ike::RemoteAccessConfig>());
  EXPECT_EQ(pc.remoteAuth.eapMethods, std::vector<uint8_t>{ike::eap_type::kTls});
  EXPECT_EQ(pc.remoteAuth.eapUsers, nullptr);

  TempFile f("braid-ra-users-tls");
  f.write(std::string("alice staff ") + kClientPassHash + "\n",
          std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  r = parseConfig(config(section("pools = [\"10.90.0.0/24\"]\ncredentials = \"" + f.path +
                                 "\"\neap = [\"tls\", \"mschapv2\"]\n"),
                         false),
                  "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->remoteAccess[0].eapMethods,
            (std::vector<uint8_t>{ike::eap_type::kTls, ike::eap_type::kMschapv2}));
  // Credentials without eap: MSCHAPv2, as before.
  r = parseConfig(
      config(section("pools = [\"10.90.0.0/24\"]\ncredentials = \"" + f.path + "\"\n"), false),
      "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->remoteAccess[0].eapMethods, std::vector<uint8_t>{ike::eap_type::kMschapv2});
}

TEST(ConfigEapMethodsTest, InvalidCombinationsAreErrorsAtTheirPosition) {
  std::string t = config(section("pools = [\"10.90.0.0/24\"]\neap = [\"tls\", \"peap\"]\n"), false);
  EXPECT_CONFIG_ERROR(t, at(t, "\"peap\""), "is no EAP method; expected \"mschapv2\" or \"tls\"");
  t = config(section("pools = [\"10.90.0.0/24\"]\neap = [\"tls\", \"tls\"]\n"), false);
  EXPECT_CONFIG_ERROR(t, at(t, "\"tls\"]"), "'remote_access[0].eap[1]' = \"tls\" is a duplicate");
  t = config(section("pools = [\"10.90.0.0/24\"]\neap = \"mschapv2\"\n"), false);
  EXPECT_CONFIG_ERROR(t, at(t, "\"mschapv2\""), "needs the users' credentials file");
  t = config(section("pools = [\"10.90.0.0/24\"]\neap = 13\n"), false);
  EXPECT_CONFIG_ERROR(t, at(t, "eap = 13", 6), "remote_access[0].eap");
  TempFile f("braid-ra-users-tls2");
  f.write(std::string("alice staff ") + kClientPassHash + "\n",
          std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  t = config(
      section("pools = [\"10.90.0.0/24\"]\ncredentials = \"" + f.path + "\"\neap = [\"tls\"]\n"),
      false);
  EXPECT_CONFIG_ERROR(t, at(t, "[\"tls\"]"), "leaves out \"mschapv2\"");
  // EAP users make ca_certificates optional, but EAP-TLS needs the clients' CA.
  const std::string gwOnly =
      "certificate = \"" + kPki + "site-a.pem\"\nprivate_key = \"" + kPki + "site-a.key\"\n";
  t = config(section("pools = [\"10.90.0.0/24\"]\ncredentials = \"" + f.path +
                         "\"\neap = [\"mschapv2\", \"tls\"]\n",
                     gwOnly),
             false);
  EXPECT_CONFIG_ERROR(t, at(t, "[\"mschapv2\""),
                      "'remote_access[0].eap' offers \"tls\" but 'remote_access[0].ike' has no "
                      "ca_certificates");
}

}  // namespace
}  // namespace braid::edge
