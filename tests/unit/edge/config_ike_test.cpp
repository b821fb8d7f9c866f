// [ike] and [peer.ike]: values load, and every error class is reported at its line:col.
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "edge/config.hpp"
#include "tests/unit/edge/config_test_support.hpp"

namespace braid::edge {
namespace {

using testing::at;
using testing::errorsOf;
using testing::hasError;

// The example PKI, copied with its keys at mode 600: git keeps them 644, and braidd refuses
// key files that group or others may access.
struct PrivatePki {
  std::filesystem::path dir;
  PrivatePki() {
    namespace fs = std::filesystem;
    dir = fs::path(::testing::TempDir()) / ("braid-pki-" + std::to_string(::getpid()));
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

std::string ikeConfig(const std::string& ikeLines, const std::string& pathLines = "",
                      const std::string& global = "") {
  return R"([overlay]
local_subnets = ["10.98.1.0/24"]

[ike]
)" + global +
         R"(

[[uplink]]
name = "wan0"
local_address = "10.99.0.1"

[[peer]]
name = "site-b"
remote_subnets = ["10.98.2.0/24", "10.97.0.0/16"]

[peer.ike]
)" + ikeLines +
         R"(

[[peer.path]]
uplink = "wan0"
remote_address = "10.99.0.2"
)" + pathLines;
}

const char* kPsk = "psk = \"0123456789abcdef-long-enough\"\n";

TEST(ConfigIkeTest, PskPeerLoadsWithDefaults) {
  auto r = parseConfig(ikeConfig(kPsk), "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const PeerConfig& peer = r->peers.at(0);
  ASSERT_TRUE(peer.ike);
  ASSERT_EQ(peer.paths.size(), 1u);
  EXPECT_FALSE(peer.paths[0].manual);
  EXPECT_TRUE(r->hasIkePaths());
  const PeerIkeConfig& k = *peer.ike;
  EXPECT_EQ(k.auth, ike::AuthKind::kPsk);
  EXPECT_EQ(k.psk.size(), 28u);
  EXPECT_FALSE(k.proposals.empty());
  EXPECT_FALSE(k.espProposals.empty());
  EXPECT_TRUE(k.initiate);
  EXPECT_TRUE(k.forceEncap);
  EXPECT_TRUE(k.remoteId.any());
  EXPECT_FALSE(k.localId);
  EXPECT_EQ(k.localSubnets, r->overlay.localSubnets);
  EXPECT_EQ(k.remoteSubnets, peer.remoteSubnets);
  EXPECT_EQ(r->ike.port, 500);
  EXPECT_EQ(r->ike.nattPort, 4500);
  EXPECT_EQ(r->ike.natKeepaliveSeconds, 20u);
  EXPECT_TRUE(r->ike.keylog.empty());
}

TEST(ConfigIkeTest, EveryKeyLoads) {
  std::string lines = R"(proposals = ["aes256gcm16-prfsha384-x25519", "aes128-sha256-ecp256"]
esp_proposals = "aes128gcm16-esn, chacha20poly1305-x25519"
auth = "psk"
psk = "0x000102030405060708090a0b0c0d0e0f"
local_id = "@gwA.lab"
remote_id = "C=CH, O=lab, CN=gwB"
initiate = false
force_encap = false
retransmit_timeout = 0.5
retransmit_base = 2
retransmit_tries = 3
retry_initial = 2
retry_max = 60
local_subnets = ["10.98.1.0/25"]
remote_subnets = ["10.97.1.0/24"]
replay_window = 2048
signature_hash_notify = false
)";
  auto r = parseConfig(ikeConfig(lines, "",
                                 "port = 5500\nnatt_port = 5501\nkeylog = \"/tmp/k\"\n"
                                 "nat_keepalive = 0"),
                       "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const PeerIkeConfig& k = *r->peers[0].ike;
  ASSERT_EQ(k.proposals.size(), 2u);
  EXPECT_EQ(k.proposals[1].number, 2);
  ASSERT_EQ(k.espProposals.size(), 2u);
  EXPECT_EQ(ike::formatProposal(k.espProposals[0]), "aes128gcm16-esn");
  EXPECT_EQ(k.psk.size(), 16u);
  EXPECT_EQ(k.localId->type(), ike::IdType::kFqdn);
  EXPECT_EQ(k.localId->toString(), "gwA.lab");
  EXPECT_EQ(k.remoteId.type(), ike::IdType::kDerAsn1Dn);
  EXPECT_FALSE(k.initiate);
  EXPECT_FALSE(k.forceEncap);
  EXPECT_EQ(k.retransmit.initial, std::chrono::milliseconds(500));
  EXPECT_EQ(k.retransmit.base, 2.0);
  EXPECT_EQ(k.retransmit.tries, 3u);
  EXPECT_EQ(k.retryInitial, std::chrono::seconds(2));
  EXPECT_EQ(k.retryMax, std::chrono::seconds(60));
  EXPECT_EQ(k.localSubnets, std::vector<IpPrefix>{*IpPrefix::parse("10.98.1.0/25")});
  EXPECT_EQ(k.remoteSubnets, std::vector<IpPrefix>{*IpPrefix::parse("10.97.1.0/24")});
  EXPECT_EQ(k.replayWindow, 2048u);
  EXPECT_FALSE(k.signatureHashNotify);
  EXPECT_EQ(r->ike.port, 5500);
  EXPECT_EQ(r->ike.nattPort, 5501);
  EXPECT_EQ(r->ike.keylog, "/tmp/k");
  EXPECT_EQ(r->ike.natKeepaliveSeconds, 0u);
}

TEST(ConfigIkeTest, ProposalErrorsPointAtTheToken) {
  std::string t = ikeConfig(std::string(kPsk) + "proposals = \"aes256gcm16-prfsha257-x25519\"");
  EXPECT_CONFIG_ERROR(t, at(t, "prfsha257"), "unknown algorithm 'prfsha257'");
  t = ikeConfig(std::string(kPsk) +
                "proposals = [\"aes256gcm16-prfsha256-x25519\", \"aes128-sha256-ecp522\"]");
  EXPECT_CONFIG_ERROR(t, at(t, "ecp522"), "'peer[0].ike.proposals[1]'");
  t = ikeConfig(std::string(kPsk) + "esp_proposals = \"aes256gcm16, aes128-sha256\"");
  EXPECT_CONFIG_ERROR(t, at(t, "aes128-"),
                      "ESP cipher 'aes128' is not supported by braid's data plane");
  t = ikeConfig(std::string(kPsk) + "esp_proposals = \"aes256gcm16-prfsha256\"");
  EXPECT_CONFIG_ERROR(t, at(t, "prfsha256"), "only valid in IKE proposals");
  t = ikeConfig(std::string(kPsk) + "proposals = 5");
  EXPECT_CONFIG_ERROR(t, at(t, "5\n"), "'peer[0].ike.proposals' is an integer");
}

TEST(ConfigIkeTest, PskErrors) {
  std::string t = ikeConfig("local_id = \"gwA.lab\"");
  EXPECT_CONFIG_ERROR(t, at(t, "[peer.ike]"), "missing required key 'peer[0].ike.psk'");
  t = ikeConfig("psk = \"short\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"short\""), "'peer[0].ike.psk' has 5 bytes; expected at least 16");
  t = ikeConfig("psk = \"0xzz0102\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"0xzz"), "starts with 0x but is not valid hex");
  t = ikeConfig(std::string(kPsk) + "psk_file = \"/nonexistent/psk\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"/nonexistent/psk\""), "given together with");
  t = ikeConfig("psk_file = \"/nonexistent/psk\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"/nonexistent/psk\""), "cannot read /nonexistent/psk");
  t = ikeConfig(std::string(kPsk) + "certificate = \"x.pem\"\nauth = \"psk\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"x.pem\""), "only used with auth = \"pubkey\"");
  t = ikeConfig(std::string(kPsk) + "auth = \"eap\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"eap\""), "'peer[0].ike.auth' = \"eap\" is unknown");
}

TEST(ConfigIkeTest, PskFileIsRead) {
  std::string path = ::testing::TempDir() + "/braid-psk-test";
  {
    std::ofstream f(path);
    f << "  0123456789abcdef0123  \n";
  }
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  auto r = parseConfig(ikeConfig("psk_file = \"" + path + "\""), "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->peers[0].ike->psk.size(), 20u);
  std::remove(path.c_str());
}

// Like ssh with private keys: a key file that group or others may access is refused.
TEST(ConfigIkeTest, KeyFilesMustBePrivate) {
  const std::string psk = ::testing::TempDir() + "/braid-psk-mode-" + std::to_string(::getpid());
  std::ofstream(psk) << "0123456789abcdef0123\n";
  std::string t = ikeConfig("psk_file = \"" + psk + "\"");
  for (mode_t mode : {0644, 0640, 0604, 0620, 0660}) {
    ASSERT_EQ(::chmod(psk.c_str(), mode), 0);
    char want[32];
    std::snprintf(want, sizeof want, "has mode 0%o", unsigned(mode));
    EXPECT_CONFIG_ERROR(t, at(t, "\"" + psk + "\""),
                        std::string("'peer[0].ike.psk_file' = \"" + psk + "\" ") + want);
    EXPECT_CONFIG_ERROR(t, at(t, "\"" + psk + "\""), "expected mode 600 or stricter");
  }
  ASSERT_EQ(::chmod(psk.c_str(), 0400), 0);
  EXPECT_TRUE(parseConfig(t, "t.toml").isOk());
  if (::geteuid() == 0) {
    // Owned by another (non-root) user, who could open it up at any time.
    ASSERT_EQ(::chown(psk.c_str(), 65534, 65534), 0);
    EXPECT_CONFIG_ERROR(t, at(t, "\"" + psk + "\""), "is owned by uid 65534");
  }
  std::remove(psk.c_str());

  const std::string key = kPki + "site-a-open.key";
  std::filesystem::copy_file(kPki + "site-a.key", key,
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  t = ikeConfig("certificate = \"" + kPki + "site-a.pem\"\nprivate_key = \"" + key +
                "\"\nca_certificates = [\"" + kPki + "ca.pem\"]");
  EXPECT_CONFIG_ERROR(t, at(t, "\"" + key + "\""),
                      "'peer[0].ike.private_key' = \"" + key + "\" has mode 0644");
  ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
  EXPECT_TRUE(parseConfig(t, "t.toml").isOk());
  // Not a regular file.
  t = ikeConfig("psk_file = \"/dev/null\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"/dev/null\""), "is not a regular file");
}

TEST(ConfigIkeTest, CertificateFilesAreCheckedAtLoad) {
  auto pub = [](const std::string& cert, const std::string& key, const std::string& extra = "") {
    return ikeConfig("certificate = \"" + cert + "\"\nprivate_key = \"" + key +
                     "\"\nca_certificates = [\"" + kPki + "ca.pem\"]\n" + extra);
  };
  auto ok = parseConfig(pub(kPki + "site-a.pem", kPki + "site-a.key"), "t.toml");
  ASSERT_TRUE(ok.isOk()) << ok.status().message();
  EXPECT_EQ(ok->peers[0].ike->auth, ike::AuthKind::kPubkey);
  EXPECT_EQ(ok->peers[0].ike->certificates.size(), 1u);
  EXPECT_EQ(ok->peers[0].ike->cas->size(), 1u);

  std::string t = pub("/nonexistent/cert.pem", kPki + "site-a.key");
  EXPECT_CONFIG_ERROR(t, at(t, "\"/nonexistent/cert.pem\""), "'peer[0].ike.certificate'");
  t = pub(kPki + "site-a.pem", "/nonexistent/key.pem");
  EXPECT_CONFIG_ERROR(t, at(t, "\"/nonexistent/key.pem\""), "'peer[0].ike.private_key'");
  t = pub(kPki + "site-a.pem", kPki + "site-b.key");
  EXPECT_CONFIG_ERROR(t, at(t, "\"" + kPki + "site-b.key\""), "does not belong to");
  t = pub(kPki + "site-a.key", kPki + "site-a.key");  // a key where a certificate should be
  EXPECT_CONFIG_ERROR(t, at(t, "\"" + kPki + "site-a.key\""), "'peer[0].ike.certificate'");
  t = pub(kPki + "site-a.pem", kPki + "site-a.key", "local_id = \"site-b.example.net\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"site-b.example.net\""), "is not vouched for by the certificate");
  t = pub(kPki + "site-a.pem", kPki + "site-a.key",
          "local_id = \"C=CH, O=braid example, CN=site-a.example.net\"");
  EXPECT_TRUE(parseConfig(t, "t.toml").isOk());
  t = ikeConfig("certificate = \"" + kPki + "site-a.pem\"\nprivate_key = \"" + kPki +
                "site-a.key\"\nca_certificates = [\"" + kPki + "nonexistent.pem\"]");
  EXPECT_CONFIG_ERROR(t, at(t, "\"" + kPki + "nonexistent.pem\""),
                      "'peer[0].ike.ca_certificates[0]'");
  t = ikeConfig("certificate = \"" + kPki + "site-a.pem\"\nprivate_key = \"" + kPki +
                "site-a.key\"");
  EXPECT_CONFIG_ERROR(t, at(t, "[peer.ike]"), "missing required key 'peer[0].ike.ca_certificates'");
}

// A CRL in the name of the example CA, written as PEM or DER. Its signature is checked only
// when a certificate is verified, so any key signs it here.
std::string writeCrl(const std::string& name, bool pem) {
  auto ca = ike::Certificate::loadPemFile(kPki + "ca.pem");
  EXPECT_TRUE(ca.isOk());
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->front().get()));
  ASN1_TIME* t = ASN1_TIME_adj(nullptr, time(nullptr), 0, 0);
  X509_CRL_set1_lastUpdate(crl, t);
  ASN1_TIME_adj(t, time(nullptr), 30, 0);
  X509_CRL_set1_nextUpdate(crl, t);
  ASN1_TIME_free(t);
  X509_CRL_sign(crl, key, EVP_sha256());
  const std::string path = ::testing::TempDir() + "/" + name;
  BIO* bio = BIO_new_file(path.c_str(), "wb");
  if (pem) {
    PEM_write_bio_X509_CRL(bio, crl);
  } else {
    i2d_X509_CRL_bio(bio, crl);
  }
  BIO_free(bio);
  X509_CRL_free(crl);
  EVP_PKEY_free(key);
  return path;
}

TEST(ConfigIkeTest, CrlFilesAreCheckedAtLoad) {
  const std::string pem = writeCrl("braid-test.crl.pem", true);
  const std::string der = writeCrl("braid-test.crl", false);
  const std::string junk = ::testing::TempDir() + "/braid-test-junk.crl";
  std::ofstream(junk) << "not a CRL\n";
  auto pub = [](const std::string& crls) {
    return ikeConfig("certificate = \"" + kPki + "site-a.pem\"\nprivate_key = \"" + kPki +
                     "site-a.key\"\nca_certificates = \"" + kPki + "ca.pem\"\ncrls = " + crls +
                     "\n");
  };
  auto ok = parseConfig(pub("[\"" + pem + "\", \"" + der + "\"]"), "t.toml");
  ASSERT_TRUE(ok.isOk()) << ok.status().message();
  EXPECT_EQ(ok->peers[0].ike->cas->crlCount(), 2u);
  ok = parseConfig(pub("\"" + pem + "\""), "t.toml");
  ASSERT_TRUE(ok.isOk()) << ok.status().message();
  EXPECT_EQ(ok->peers[0].ike->cas->crlCount(), 1u);

  std::string t = pub("[\"" + pem + "\", \"/nonexistent/x.crl\"]");
  EXPECT_CONFIG_ERROR(t, at(t, "\"/nonexistent/x.crl\""),
                      "'peer[0].ike.crls[1]' = \"/nonexistent/x.crl\": /nonexistent/x.crl: cannot "
                      "open; expected a readable CRL file");
  t = pub("[\"" + junk + "\"]");
  EXPECT_CONFIG_ERROR(t, at(t, "\"" + junk + "\""), "no CRL (neither PEM");
  // A certificate where a CRL should be.
  t = pub("\"" + kPki + "ca.pem\"");
  EXPECT_CONFIG_ERROR(t, at(t, "crls = ", 7), "'peer[0].ike.crls'");
  t = pub("7");
  EXPECT_CONFIG_ERROR(t, at(t, "crls = ", 7), "'peer[0].ike.crls' is an integer");
  t = ikeConfig(std::string(kPsk) + "crls = [\"" + pem + "\"]");
  EXPECT_CONFIG_ERROR(t, at(t, "crls = ", 7),
                      "'peer[0].ike.crls' is only used with auth = \"pubkey\"");
  for (const auto& f : {pem, der, junk}) std::remove(f.c_str());
}

TEST(ConfigIkeTest, CloudGatewayGroupsLoad) {
  auto r = parseConfig(ikeConfig(std::string(kPsk) + "proposals = [\"aes256-sha256-modp3072\", "
                                                     "\"aes256gcm16-prfsha384-modp4096-ecp521\"]\n"
                                                     "esp_proposals = \"aes256gcm16-ecp521\""),
                       "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const auto& k = *r->peers[0].ike;
  ASSERT_EQ(k.proposals.size(), 2u);
  EXPECT_EQ(ike::formatProposal(k.proposals[0]), "aes256-sha256-prfsha256-modp3072");
  EXPECT_EQ(ike::formatProposal(k.proposals[1]), "aes256gcm16-prfsha384-modp4096-ecp521");
  EXPECT_EQ(ike::formatProposal(k.espProposals[0]), "aes256gcm16-ecp521");
}

TEST(ConfigIkeTest, IdentityAndSelectorErrors) {
  std::string t = ikeConfig(std::string(kPsk) + "local_id = \"C=CH, NOPE=x\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"C=CH"), "is not a distinguished name");
  t = ikeConfig(std::string(kPsk) + "remote_id = \"ipv4:fe80::1\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"ipv4:"), "is not an IPv4 address");
  t = ikeConfig(std::string(kPsk) + "local_id = \"%any\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"%any\""), "expected our own identity");
  t = ikeConfig(std::string(kPsk) + "remote_subnets = [\"10.96.0.0/24\"]");
  EXPECT_CONFIG_ERROR(t, at(t, "\"10.96.0.0/24\""), "is outside the peer's remote_subnets");
  t = ikeConfig(std::string(kPsk) + "local_subnets = [\"10.98.0.0/16\"]");
  EXPECT_CONFIG_ERROR(t, at(t, "\"10.98.0.0/16\""), "is outside overlay.local_subnets");
  t = ikeConfig(std::string(kPsk) + "local_subnets = []");
  EXPECT_CONFIG_ERROR(t, at(t, "[]"), "is empty");
}

TEST(ConfigIkeTest, ValueAndPathErrors) {
  std::string t = ikeConfig(std::string(kPsk) + "retransmit_base = 9.5");
  EXPECT_CONFIG_ERROR(t, at(t, "9.5"), "'peer[0].ike.retransmit_base' = 9.5 is out of range");
  t = ikeConfig(std::string(kPsk) + "retry_initial = \"5s\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"5s\""), "is a string; expected a number of seconds");
  t = ikeConfig(std::string(kPsk) + "retry_initial = 10\nretry_max = 5");
  EXPECT_CONFIG_ERROR(t, at(t, "retry_max = 5", 12), "is below retry_initial");
  t = ikeConfig(std::string(kPsk) + "replay_window = 10");
  EXPECT_CONFIG_ERROR(t, at(t, "10\n"), "'peer[0].ike.replay_window' = 10 is out of range");
  t = ikeConfig(std::string(kPsk) + "dpd = 30");
  EXPECT_CONFIG_ERROR(t, at(t, "dpd"), "unknown key 'peer[0].ike.dpd'");
  t = ikeConfig(kPsk, "remote_port = 4500\n");
  EXPECT_CONFIG_ERROR(t, at(t, "4500\n"), "'peer[0].path[0].remote_port' is not used on IKE paths");
  // "%any" needs a responder-only IKE path.
  t = ikeConfig(kPsk);
  t.replace(t.find("\"10.99.0.2\""), 11, "\"%any\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"%any\""), "needs an IKE responder");
  auto ok = parseConfig(ikeConfig(std::string(kPsk) + "initiate = false"), "t.toml");
  ASSERT_TRUE(ok.isOk());
  t = ikeConfig(std::string(kPsk) + "initiate = false");
  t.replace(t.find("\"10.99.0.2\""), 11, "\"%any\"");
  auto any = parseConfig(t, "t.toml");
  ASSERT_TRUE(any.isOk()) << any.status().message();
  EXPECT_TRUE(any->peers[0].paths[0].remoteAny);
}

// Child SA lifetimes: strongSwan's names and defaults (life = 1.1 x rekey, rand = life -
// rekey), explicit values, and the order checks.
TEST(ConfigIkeTest, ChildLifetimes) {
  auto d = parseConfig(ikeConfig(kPsk), "t.toml");
  ASSERT_TRUE(d.isOk()) << d.status().message();
  const ike::Lifetime& def = d->peers[0].ike->childLifetime;
  EXPECT_EQ(def.rekeyTime, std::chrono::seconds(3600));
  EXPECT_EQ(def.lifeTime, std::chrono::seconds(3960));
  EXPECT_EQ(def.randTime, std::chrono::seconds(360));
  EXPECT_EQ(def.rekeyBytes, 0u);
  EXPECT_EQ(def.lifePackets, 0u);
  auto r = parseConfig(
      ikeConfig(std::string(kPsk) + "rekey_time = 600\nrekey_bytes = 1000000000\n"
                                    "rekey_packets = 1000000\nlife_packets = 2000000\n"),
      "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const ike::Lifetime& l = r->peers[0].ike->childLifetime;
  EXPECT_EQ(l.rekeyTime, std::chrono::seconds(600));
  EXPECT_EQ(l.lifeTime, std::chrono::seconds(660));
  EXPECT_EQ(l.randTime, std::chrono::seconds(60));
  EXPECT_EQ(l.rekeyBytes, 1000000000u);
  EXPECT_EQ(l.lifeBytes, 1100000000u);
  EXPECT_EQ(l.rekeyPackets, 1000000u);
  EXPECT_EQ(l.lifePackets, 2000000u);
  auto off = parseConfig(
      ikeConfig(std::string(kPsk) + "rekey_time = 0\nlife_time = 86400\nrand_time = 0\n"),
      "t.toml");
  ASSERT_TRUE(off.isOk()) << off.status().message();
  EXPECT_EQ(off->peers[0].ike->childLifetime.rekeyTime.count(), 0);
  EXPECT_EQ(off->peers[0].ike->childLifetime.lifeTime, std::chrono::seconds(86400));
  std::string t = ikeConfig(std::string(kPsk) + "rekey_time = 600\nlife_time = 600");
  EXPECT_CONFIG_ERROR(t, at(t, "life_time = 600", 12), "must be above rekey_time");
  t = ikeConfig(std::string(kPsk) + "rekey_bytes = 100\nlife_bytes = 50");
  EXPECT_CONFIG_ERROR(t, at(t, "life_bytes = 50", 13), "must be above rekey_bytes");
  t = ikeConfig(std::string(kPsk) + "rekey_time = 600\nrand_time = 600");
  EXPECT_CONFIG_ERROR(t, at(t, "rand_time = 600", 12), "must be below rekey_time");
  t = ikeConfig(std::string(kPsk) + "rekey_packets = -1");
  EXPECT_CONFIG_ERROR(t, at(t, "-1"), "'peer[0].ike.rekey_packets' = -1 is out of range");
}

// The IKE SA's lifetime (ike_*) and dead peer detection.
TEST(ConfigIkeTest, IkeLifetimeAndDpd) {
  auto d = parseConfig(ikeConfig(kPsk), "t.toml");
  ASSERT_TRUE(d.isOk()) << d.status().message();
  const PeerIkeConfig& def = *d->peers[0].ike;
  EXPECT_EQ(def.ikeLifetime.rekeyTime, std::chrono::seconds(14400));
  EXPECT_EQ(def.ikeLifetime.lifeTime, std::chrono::seconds(15840));
  EXPECT_EQ(def.dpdDelay.count(), 0);
  EXPECT_EQ(def.dpdAction, ike::DpdAction::kRestart);
  auto r = parseConfig(ikeConfig(std::string(kPsk) + "ike_rekey_time = 7200\ndpd_delay = 30\n"
                                                     "dpd_action = \"clear\"\n"),
                       "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const PeerIkeConfig& k = *r->peers[0].ike;
  EXPECT_EQ(k.ikeLifetime.rekeyTime, std::chrono::seconds(7200));
  EXPECT_EQ(k.ikeLifetime.lifeTime, std::chrono::seconds(7920));
  EXPECT_EQ(k.ikeLifetime.randTime, std::chrono::seconds(720));
  EXPECT_EQ(k.childLifetime.rekeyTime, std::chrono::seconds(3600));  // unchanged
  EXPECT_EQ(k.dpdDelay, std::chrono::seconds(30));
  EXPECT_EQ(k.dpdAction, ike::DpdAction::kClear);
  auto ip = parseConfig(ikeConfig(std::string(kPsk) + "dpd_action = \"hold\""), "t.toml");
  ASSERT_TRUE(ip.isOk());
  EXPECT_EQ(ip->peers[0].ike->dpdAction, ike::DpdAction::kHold);
  std::string t = ikeConfig(std::string(kPsk) + "dpd_action = \"trap\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"trap\""), "expected \"restart\", \"clear\" or \"hold\"");
  t = ikeConfig(std::string(kPsk) + "ike_rekey_time = 7200\nike_life_time = 3600");
  EXPECT_CONFIG_ERROR(t, at(t, "ike_life_time = 3600", 16), "must be above ike_rekey_time");
  t = ikeConfig(std::string(kPsk) + "dpd_delay = 4000");
  EXPECT_CONFIG_ERROR(t, at(t, "4000"), "'peer[0].ike.dpd_delay' = 4000 is out of range");
}

TEST(ConfigIkeTest, GlobalIkeErrors) {
  std::string t = ikeConfig(kPsk, "", "port = 4500");
  EXPECT_CONFIG_ERROR(t, at(t, "4500"), "'ike.port' = 4500 is the NAT-T port");
  t = ikeConfig(kPsk, "", "natt_port = 500");
  EXPECT_CONFIG_ERROR(t, at(t, "500\n"), "'ike.natt_port' = 500 is an IKE port");
  t = ikeConfig(kPsk, "", "nat_keepalive = -1");
  EXPECT_CONFIG_ERROR(t, at(t, "-1"), "'ike.nat_keepalive' = -1 is out of range");
  t = ikeConfig(kPsk, "", "keylog = \"\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"\""), "'ike.keylog' is empty");
  t = ikeConfig(kPsk, "", "keylogg = \"x\"");
  EXPECT_CONFIG_ERROR(t, at(t, "keylogg"), "unknown key 'ike.keylogg'");
}

TEST(ConfigIkeTest, IdentitySyntax) {
  struct Case {
    const char* text;
    ike::IdType type;
    const char* shown;
  } cases[] = {
      {"gw.example.net", ike::IdType::kFqdn, "gw.example.net"},
      {"@gw.example.net", ike::IdType::kFqdn, "gw.example.net"},
      {"fqdn:gw", ike::IdType::kFqdn, "gw"},
      {"user@example.net", ike::IdType::kRfc822Addr, "user@example.net"},
      {"email:user@example.net", ike::IdType::kRfc822Addr, "user@example.net"},
      {"192.0.2.1", ike::IdType::kIpv4Addr, "192.0.2.1"},
      {"ipv6:2001:db8::1", ike::IdType::kIpv6Addr, "2001:db8::1"},
  };
  for (const Case& c : cases) {
    auto id = parseIdentity(c.text);
    ASSERT_TRUE(id.isOk()) << c.text;
    EXPECT_EQ(id->type(), c.type) << c.text;
    EXPECT_EQ(id->toString(), c.shown) << c.text;
  }
  EXPECT_TRUE(parseIdentity("%any")->any());
  // A DN is DER in the order written; "dn:" and auto-detection agree.
  auto dn = parseIdentity("C=CH, O=lab, CN=gw");
  ASSERT_TRUE(dn.isOk());
  EXPECT_EQ(dn->type(), ike::IdType::kDerAsn1Dn);
  EXPECT_EQ(dn->data(), parseIdentity("dn:C=CH,O=lab,CN=gw")->data());
  EXPECT_NE(dn->data(), parseIdentity("CN=gw, O=lab, C=CH")->data());
  EXPECT_FALSE(parseIdentity("").isOk());
  EXPECT_FALSE(parseIdentity("@").isOk());
  EXPECT_FALSE(parseIdentity("email:nobody").isOk());
  EXPECT_FALSE(parseIdentity("ipv4:gw").isOk());
}

TEST(ConfigIkeTest, ManualAndIkePathsMix) {
  // A second uplink whose path keeps manual keys, next to the IKE path.
  std::string t = ikeConfig(kPsk, R"(
[[peer.path]]
uplink = "lte0"
remote_address = "10.99.1.2"

[peer.path.manual]
cipher = "aes128gcm16"
outbound = { spi = 0x1001, key = "0102030405060708090a0b0c0d0e0f10a1a2a3a4" }
inbound = { spi = 0x2001, key = "2122232425262728292a2b2c2d2e2f30b1b2b3b4" }
)");
  t.replace(t.find("[[peer]]"), 8,
            "[[uplink]]\nname = \"lte0\"\nlocal_address = \"10.99.1.1\"\n\n[[peer]]");
  auto r = parseConfig(t, "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  ASSERT_EQ(r->peers[0].paths.size(), 2u);
  EXPECT_FALSE(r->peers[0].paths[0].manual);
  EXPECT_TRUE(r->peers[0].paths[1].manual);
}

TEST(ConfigIkeTest, Fragmentation) {
  auto d = parseConfig(ikeConfig(kPsk), "t.toml");
  ASSERT_TRUE(d.isOk()) << d.status().message();
  EXPECT_TRUE(d->peers[0].ike->fragmentation);
  EXPECT_EQ(d->peers[0].ike->fragmentSize, 0u);  // unset: the uplink's MTU
  auto r = parseConfig(ikeConfig(std::string(kPsk) + "fragmentation = false\nfragment_size = 576"),
                       "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_FALSE(r->peers[0].ike->fragmentation);
  EXPECT_EQ(r->peers[0].ike->fragmentSize, 576u);
  std::string t = ikeConfig(std::string(kPsk) + "fragment_size = 500");
  EXPECT_CONFIG_ERROR(t, at(t, "500"), "'peer[0].ike.fragment_size' = 500 is out of range");
  t = ikeConfig(std::string(kPsk) + "fragmentation = \"yes\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"yes\""), "'peer[0].ike.fragmentation'");
}

}  // namespace
}  // namespace braid::edge
