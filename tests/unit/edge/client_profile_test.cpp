// braidctl profile (edge/client_profile.hpp): each format carries the gateway's addresses,
// identity, CA, the user's authentication and proposals the gateway accepts; the one suite
// Apple and Windows get is the gateway's, checked by a reverse mapping written here from the
// vendors' documented value names; no usable proposal is an error naming the platform.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>

#include "edge/client_profile.hpp"
#include "edge/config.hpp"
#include "edge/credentials_file.hpp"

namespace braid::edge {
namespace {

struct Pki {
  std::filesystem::path dir;
  Pki() {
    namespace fs = std::filesystem;
    dir = fs::path(::testing::TempDir()) / ("braid-profile-pki-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    for (auto& e : fs::directory_iterator(std::string(BRAID_SOURCE_DIR) + "/deploy/examples/pki")) {
      fs::path to = dir / e.path().filename();
      fs::copy_file(e.path(), to, fs::copy_options::overwrite_existing);
      fs::permissions(to, fs::perms::owner_read | fs::perms::owner_write);
    }
    // alice (group lab) and bob (no group): "clientPass".
    std::FILE* f = std::fopen((dir / "users").c_str(), "w");
    std::fputs(
        "alice lab 44ebba8d5312b8d611474411f56989ae\n"
        "bob - 44ebba8d5312b8d611474411f56989ae\n",
        f);
    std::fclose(f);
    fs::permissions(dir / "users", fs::perms::owner_read | fs::perms::owner_write);
  }
  ~Pki() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string path(const std::string& f) const { return (dir / f).string(); }
};
const Pki kPki;

// `ike` extra lines; `ca` false: an EAP-only section without ca_certificates.
Config gateway(const std::string& ike = "", bool ca = true) {
  std::string t = R"([overlay]
local_subnets = ["10.98.1.0/24", "10.97.1.0/24"]

[[uplink]]
name = "fiber"
local_address = "192.0.2.1"

[[uplink]]
name = "lte"
local_address = "198.51.100.7"

[[remote_access]]
name = "staff"
pools = ["10.90.0.0/24"]
allowed_subnets = ["10.98.1.0/24", "10.97.1.0/24"]
split_subnets = ["10.98.1.0/24"]
credentials = ")" +
                  kPki.path("users") +
                  R"("

[[remote_access.group]]
name = "lab"
allowed_subnets = ["10.97.1.0/24"]

[remote_access.ike]
certificate = ")" +
                  kPki.path("site-a.pem") + "\"\nprivate_key = \"" + kPki.path("site-a.key") +
                  "\"\n" + (ca ? "ca_certificates = \"" + kPki.path("ca.pem") + "\"\n" : "") + ike;
  auto r = parseConfig(t, "t.toml");
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return r.isOk() ? std::move(*r) : Config{};
}

std::string fileText(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while (f != nullptr && (n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  if (f != nullptr) std::fclose(f);
  return out;
}

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

std::vector<ProfileFile> make(const Config& cfg, const std::string& user, ProfileFormat f) {
  ProfileRequest req;
  req.user = user;
  req.format = f;
  auto r = generateProfile(cfg, req);
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return r.isOk() ? *r : std::vector<ProfileFile>{};
}

TEST(ClientProfileTest, SwanctlHasTheGatewaysProposalsUplinksIdentityAndCa) {
  Config cfg = gateway();
  auto files = make(cfg, "bob", ProfileFormat::kSwanctl);
  ASSERT_EQ(files.size(), 2u);
  const std::string& t = files[0].text;
  EXPECT_EQ(files[0].name, "braid-staff-bob.conf");
  // One connection per uplink, each with the gateway's own proposal lists.
  EXPECT_TRUE(has(t, "braid-staff-fiber {\n"));
  EXPECT_TRUE(has(t, "remote_addrs = 192.0.2.1\n"));
  EXPECT_TRUE(has(t, "remote_addrs = 198.51.100.7\n"));
  const auto& k = cfg.remoteAccess[0].ike;
  EXPECT_TRUE(has(t, "proposals = " + ike::formatProposal(k.proposals[0]) + "\n")) << t;
  EXPECT_TRUE(has(t, "esp_proposals = " + ike::formatProposal(k.espProposals[0]) + "\n"));
  EXPECT_TRUE(has(t, "auth = eap-mschapv2\n"));
  EXPECT_TRUE(has(t, "eap_id = bob\n"));
  // No local_id: the gateway's IDr is its certificate's DN, in certificate order.
  EXPECT_TRUE(has(t, "id = \"C=CH, O=braid example, CN=site-a.example.net\"\n")) << t;
  EXPECT_TRUE(has(t, "remote_ts = 10.98.1.0/24\n"));  // bob: the split subnets
  EXPECT_EQ(files[1].name, "braid-staff-ca.pem");
  EXPECT_EQ(files[1].text, fileText(kPki.path("ca.pem")));
  // alice's group reaches 10.97.1.0/24 only; local_id wins as the identity.
  cfg = gateway("local_id = \"site-a.example.net\"\n");
  const std::string a = make(cfg, "alice", ProfileFormat::kSwanctl)[0].text;
  EXPECT_TRUE(has(a, "remote_ts = 10.97.1.0/24\n"));
  EXPECT_TRUE(has(a, "id = site-a.example.net\n"));
}

TEST(ClientProfileTest, AuthAndErrors) {
  Config cfg = gateway();
  ProfileRequest req;
  req.user = "carol";  // not in the credentials: a certificate user
  req.format = ProfileFormat::kSwanctl;
  auto r = generateProfile(cfg, req);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_TRUE(has((*r)[0].text, "auth = pubkey\n      certs = carol.pem\n"));
  req.auth = ProfileAuth::kEap;
  r = generateProfile(cfg, req);
  ASSERT_FALSE(r.isOk());
  EXPECT_TRUE(has(r.status().message(), "user 'carol' is not in its credentials file"));
  req.auth.reset();
  req.section = "nope";
  EXPECT_FALSE(generateProfile(cfg, req).isOk());
  // mobileconfig with a certificate needs the user's PKCS#12.
  req.section.clear();
  req.format = ProfileFormat::kMobileconfig;
  r = generateProfile(cfg, req);
  ASSERT_FALSE(r.isOk());
  EXPECT_TRUE(has(r.status().message(), "--p12"));
  // An EAP-only section (no ca_certificates): the CA must be named on the command line.
  cfg = gateway("", false);
  req.user = "bob";
  req.format = ProfileFormat::kSwanctl;
  r = generateProfile(cfg, req);
  ASSERT_FALSE(r.isOk());
  EXPECT_TRUE(has(r.status().message(), "--ca FILE"));
  req.cas = *ike::Certificate::loadPemFile(kPki.path("ca.pem"));
  EXPECT_TRUE(generateProfile(cfg, req).isOk());
}

TEST(ClientProfileTest, NetworkManagerKeyfile) {
  auto files = make(gateway(), "alice", ProfileFormat::kNetworkManager);
  ASSERT_EQ(files.size(), 3u);  // two uplinks and the CA
  const std::string& t = files[0].text;
  EXPECT_EQ(files[0].name, "braid-staff-fiber.nmconnection");
  EXPECT_TRUE(has(t, "[vpn]\nservice-type=org.freedesktop.NetworkManager.strongswan\n"));
  EXPECT_TRUE(has(t, "address=192.0.2.1\n"));
  EXPECT_TRUE(has(t, "method=eap\nuser=alice\n"));
  EXPECT_TRUE(has(t, "certificate=/etc/braid/braid-staff-ca.pem\n"));
  EXPECT_TRUE(has(t, "route1=10.97.1.0/24\n"));
  EXPECT_TRUE(has(t, "remote-ts=10.97.1.0/24\n"));
  EXPECT_TRUE(
      has(t, "ike=" + ike::formatProposal(gateway().remoteAccess[0].ike.proposals[0]) + "\n"));
  // Stable UUIDs: regenerating replaces the connection.
  EXPECT_EQ(t, make(gateway(), "alice", ProfileFormat::kNetworkManager)[0].text);
}

// Reverse mappings from the vendors' documented names (Apple Configuration Profile
// Reference "VPN.IKEv2"; Microsoft Set-VpnConnectionIPsecConfiguration) to braid tokens.
const std::map<std::string, std::string> kWinEncr = {{"AES128", "aes128"},
                                                     {"AES256", "aes256"},
                                                     {"GCMAES128", "aes128gcm16"},
                                                     {"GCMAES256", "aes256gcm16"}};
const std::map<std::string, std::string> kWinHash = {{"SHA256", "sha256"}, {"SHA384", "sha384"}};
const std::map<std::string, std::string> kWinDh = {
    {"Group14", "modp2048"}, {"ECP256", "ecp256"}, {"ECP384", "ecp384"}};
const std::map<std::string, std::string> kWinPfs = {
    {"None", ""}, {"PFS2048", "modp2048"}, {"ECP256", "ecp256"}, {"ECP384", "ecp384"}};

std::string param(const std::string& ps, const std::string& name) {
  size_t p = ps.find(" -" + name + " ");
  if (p == std::string::npos) return "";
  p += name.size() + 3;
  return ps.substr(p, ps.find_first_of(" \n", p) - p);
}

// The proposals the PowerShell script configures, as braid proposal strings.
std::pair<std::string, std::string> windowsProposals(const std::string& ps) {
  const std::string encr = kWinEncr.at(param(ps, "EncryptionMethod"));
  const std::string hash = kWinHash.at(param(ps, "IntegrityCheckMethod"));
  std::string ike = encr + (encr.find("gcm") == std::string::npos ? "-" + hash : "") + "-prf" +
                    hash + "-" + kWinDh.at(param(ps, "DHGroup"));
  EXPECT_EQ(param(ps, "CipherTransformConstants"), param(ps, "AuthenticationTransformConstants"));
  std::string esp = kWinEncr.at(param(ps, "CipherTransformConstants"));
  const std::string pfs = kWinPfs.at(param(ps, "PfsGroup"));
  return {ike, esp + (pfs.empty() ? "" : "-" + pfs)};
}

bool gatewayAccepts(const std::vector<ike::Proposal>& gw, const std::string& offer,
                    ike::ProtocolId protocol) {
  auto p = ike::parseProposals(offer, protocol);
  EXPECT_TRUE(p.isOk()) << offer;
  return p.isOk() && ike::selectProposal(gw, *p).has_value();
}

TEST(ClientProfileTest, PowershellTakesOneSuiteTheGatewayAccepts) {
  struct Case {
    std::string ike, esp, wantIke, wantEsp;
  };
  for (const Case& c : std::vector<Case>{
           // The default lists: x25519 comes first, Windows has no such group.
           {"", "", "aes256gcm16-prfsha256-ecp256", "aes256gcm16"},
           {"proposals = \"aes256-sha384-modp2048\"\n", "esp_proposals = \"aes128gcm16-ecp384\"\n",
            "aes256-sha384-prfsha384-modp2048", "aes128gcm16-ecp384"},
           {"proposals = \"chacha20poly1305-prfsha256-x25519, aes128gcm16-prfsha384-ecp384\"\n", "",
            "aes128gcm16-prfsha384-ecp384", "aes256gcm16"}}) {
    Config cfg = gateway(c.ike + c.esp);
    auto files = make(cfg, "alice", ProfileFormat::kPowershell);
    ASSERT_EQ(files.size(), 1u);
    const std::string& ps = files[0].text;
    EXPECT_TRUE(has(ps,
                    "Add-VpnConnection -Name 'braid-staff-fiber' -ServerAddress '192.0.2.1' "
                    "-TunnelType Ikev2 -AuthenticationMethod Eap"));
    EXPECT_TRUE(has(ps, "-----BEGIN CERTIFICATE-----"));
    EXPECT_TRUE(has(ps,
                    "Add-VpnConnectionRoute -ConnectionName 'braid-staff-fiber' "
                    "-DestinationPrefix '10.97.1.0/24'"));
    auto [ike, esp] = windowsProposals(ps);
    EXPECT_EQ(ike, c.wantIke) << c.ike;
    EXPECT_EQ(esp, c.wantEsp) << c.esp;
    EXPECT_TRUE(gatewayAccepts(cfg.remoteAccess[0].ike.proposals, ike, ike::ProtocolId::kIke));
    EXPECT_TRUE(gatewayAccepts(cfg.remoteAccess[0].ike.espProposals, esp, ike::ProtocolId::kEsp));
  }
  // Nothing Windows can use: an error that says so (braidctl exits 2).
  Config cfg = gateway("proposals = \"aes256gcm16-prfsha256-x25519\"\n");
  ProfileRequest req;
  req.user = "alice";
  req.format = ProfileFormat::kPowershell;
  auto r = generateProfile(cfg, req);
  ASSERT_FALSE(r.isOk());
  EXPECT_TRUE(has(r.status().message(), "no IKE proposal Windows can use")) << r.status().message();
  cfg = gateway("esp_proposals = \"chacha20poly1305\"\n");
  r = generateProfile(cfg, req);
  ASSERT_FALSE(r.isOk());
  EXPECT_TRUE(has(r.status().message(), "no ESP proposal Windows can use")) << r.status().message();
}

TEST(ClientProfileTest, MobileconfigPayloads) {
  Config cfg = gateway("esp_proposals = \"aes128gcm16-ecp384\"\n");
  auto files = make(cfg, "alice", ProfileFormat::kMobileconfig);
  ASSERT_EQ(files.size(), 1u);
  const std::string& t = files[0].text;
  EXPECT_TRUE(has(t, "<string>com.apple.security.root</string>"));
  EXPECT_TRUE(has(t, "<string>com.apple.vpn.managed</string>"));
  EXPECT_TRUE(has(t, "<key>VPNType</key>\n      <string>IKEv2</string>"));
  EXPECT_TRUE(has(t, "<key>AuthName</key>\n        <string>alice</string>"));
  // The default IKE list's first suite: AES-256-GCM, PRF SHA-256, Curve25519 (31).
  EXPECT_TRUE(has(t, "<key>EncryptionAlgorithm</key>\n          <string>AES-256-GCM</string>"))
      << t;
  EXPECT_TRUE(has(t, "<key>DiffieHellmanGroup</key>\n          <integer>31</integer>"));
  EXPECT_TRUE(has(t, "<key>EncryptionAlgorithm</key>\n          <string>AES-128-GCM</string>"));
  EXPECT_TRUE(has(t, "<key>DiffieHellmanGroup</key>\n          <integer>20</integer>"));
  EXPECT_TRUE(has(t, "<key>EnablePFS</key>\n        <integer>1</integer>"));
  auto ikeSuite = pickSuite(cfg.remoteAccess[0].ike.proposals, appleIkeOk);
  ASSERT_TRUE(ikeSuite);
  EXPECT_EQ(appleSuite(*ikeSuite).integrity, "SHA2-256");
  // Apple names the PRF by its integrity algorithm: a CBC suite with another PRF is unusable.
  EXPECT_FALSE(pickSuite(
      *ike::parseProposals("aes256-sha256-prfsha384-ecp256", ike::ProtocolId::kIke), appleIkeOk));
}

}  // namespace
}  // namespace braid::edge
