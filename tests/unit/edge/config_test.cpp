// Config validation: every error class yields `file:line:col: message` at the right spot.
#include "edge/config.hpp"
#include "tests/unit/edge/config_test_support.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace braid::edge {
namespace {

using testing::at;
using testing::errorsOf;
using testing::hasError;

const char* kKeyAB = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20a1a2a3a4";
const char* kKeyBA = "2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40b1b2b3b4";
const char* kKeyAC = "4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60c1c2c3c4";
const char* kKeyCA = "6162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f80d1d2d3d4";

std::string baseConfig() {
  return std::string(R"([log]
level = "debug"

[overlay]
device = "braid0"
mtu = 1438
local_subnets = ["10.98.1.0/24"]

[dataplane]
batch_size = 32
udp_gso = false

[[uplink]]
name = "wan0"
local_address = "10.99.0.1"

[[peer]]
name = "site-b"
remote_subnets = ["10.98.2.0/24", "10.97.0.0/16"]

[[peer.path]]
uplink = "wan0"
remote_address = "10.99.0.2"

[peer.path.manual]
cipher = "aes256gcm16"
replay_window = 2048
outbound = { spi = 0x1001, key = ")") +
         kKeyAB + R"(" }
inbound = { spi = 0x2001, key = ")" +
         kKeyBA + R"(" }
)";
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  size_t pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

// The same without the trailing ": ", as quoted inside messages.
std::string loc(const std::string& text, const std::string& needle) {
  std::string a = at(text, needle);
  return a.substr(0, a.size() - 2);
}

// Without overlay.mtu the default fits a 1500-byte link: 1438 behind a 20-byte IPv4 outer
// header, 1418 behind a 40-byte IPv6 one; an explicit mtu always wins.
TEST(ConfigTest, DefaultMtuDependsOnTheUplinkFamily) {
  std::string v4 = replace(baseConfig(), "mtu = 1438\n", "");
  auto r = parseConfig(v4, "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->overlay.mtu, kDefaultOverlayMtu);
  EXPECT_EQ(kDefaultOverlayMtu, 1438u);
  std::string v6 =
      replace(replace(v4, "\"10.99.0.1\"", "\"fd00:99::1\""), "\"10.99.0.2\"", "\"fd00:99::2\"");
  r = parseConfig(v6, "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->overlay.mtu, 1418u);
  EXPECT_EQ(r->overlay.mtu, kDefaultOverlayMtuIpv6);
  r = parseConfig(replace(v6, "device = \"braid0\"\n", "device = \"braid0\"\nmtu = 1400\n"),
                  "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->overlay.mtu, 1400u);
}

TEST(ConfigTest, ValidConfigLoadsEveryField) {
  auto r = parseConfig(baseConfig(), "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const Config& c = *r;
  EXPECT_EQ(c.logLevel, LogLevel::kDebug);
  EXPECT_EQ(c.overlay.device, "braid0");
  EXPECT_EQ(c.overlay.mtu, 1438u);
  ASSERT_EQ(c.overlay.localSubnets.size(), 1u);
  EXPECT_EQ(c.dataplane.batchSize, 32u);
  EXPECT_FALSE(c.dataplane.udpGso);
  EXPECT_TRUE(c.dataplane.udpGro);  // default
  ASSERT_EQ(c.uplinks.size(), 1u);
  EXPECT_EQ(c.uplinks[0].port, 4500);
  ASSERT_EQ(c.peers.size(), 1u);
  EXPECT_EQ(c.peers[0].remoteSubnets.size(), 2u);
  ASSERT_EQ(c.peers[0].paths.size(), 1u);
  const PathConfig& p = c.peers[0].paths[0];
  EXPECT_EQ(p.remoteAddress.toString(), "10.99.0.2");
  EXPECT_EQ(p.remotePort, 4500);
  ASSERT_TRUE(p.manual);
  EXPECT_EQ(p.manual->cipher, ipsec::EspCipher::kAesGcm16_256);
  EXPECT_EQ(p.manual->replayWindow, 2048u);
  EXPECT_EQ(p.manual->outbound.spi, 0x1001u);
  EXPECT_EQ(p.manual->inbound.spi, 0x2001u);
  EXPECT_EQ(p.manual->outbound.keymat.size(), 36u);
}

TEST(ConfigTest, SyntaxError) {
  std::string t = replace(baseConfig(), "mtu = 1438", "mtu = ");
  EXPECT_CONFIG_ERROR(t, "t.toml:6:7: ", "TOML syntax error");
}

TEST(ConfigTest, UnknownKeys) {
  std::string t = replace(baseConfig(), "mtu = 1438", "mtu = 1438\nmtux = 1");
  EXPECT_CONFIG_ERROR(t, at(t, "mtux"), "unknown key 'overlay.mtux'; expected one of: device, mtu");
  t = replace(baseConfig(), "[log]", "[logging]\nx = 1\n[log]");
  EXPECT_CONFIG_ERROR(t, at(t, "logging"), "unknown key 'logging'");
  t = replace(baseConfig(), "outbound = { spi = 0x1001,", "outbound = { spi = 0x1001, salt = 1,");
  EXPECT_CONFIG_ERROR(t, at(t, "salt"), "unknown key 'peer[0].path[0].manual.outbound.salt'");
}

TEST(ConfigTest, WrongTypes) {
  std::string t = replace(baseConfig(), "mtu = 1438", "mtu = \"1438\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"1438\""),
                      "'overlay.mtu' is a string; expected an integer in 576..9000");
  t = replace(baseConfig(), "udp_gso = false", "udp_gso = 0");
  EXPECT_CONFIG_ERROR(t, at(t, "0\n"), "'dataplane.udp_gso' is an integer; expected true or false");
  t = replace(baseConfig(), "local_subnets = [\"10.98.1.0/24\"]",
              "local_subnets = \"10.98.1.0/24\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"10.98.1.0/24\""),
                      "'overlay.local_subnets' is a string; expected");
}

TEST(ConfigTest, BadPrefixAndAddress) {
  std::string t = replace(baseConfig(), "\"10.97.0.0/16\"", "\"10.97.0.1/16\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"10.97.0.1/16\""),
                      "'peer[0].remote_subnets[1]' = \"10.97.0.1/16\" is not a valid prefix");
  t = replace(baseConfig(), "\"10.98.1.0/24\"", "\"10.98.1.0/33\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"10.98.1.0/33\""), "is not a valid prefix");
  t = replace(baseConfig(), "\"10.99.0.1\"", "\"10.99.0.300\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"10.99.0.300\""),
                      "'uplink[0].local_address' = \"10.99.0.300\" is not");
  t = replace(baseConfig(), "remote_address = \"10.99.0.2\"", "remote_address = \"fd00::2\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"fd00::2\""), "expected the same address family");
}

TEST(ConfigTest, KeyLengthMustMatchCipher) {
  std::string t = replace(baseConfig(), "aes256gcm16", "aes128gcm16");
  EXPECT_CONFIG_ERROR(
      t, at(t, std::string("\"") + kKeyAB),
      "'peer[0].path[0].manual.outbound.key' has 36 bytes; aes128gcm16 expects 20 bytes "
      "(16-byte key followed by the 4-byte salt), i.e. 40 hex digits");
  t = replace(baseConfig(), kKeyBA, "00112233");
  EXPECT_CONFIG_ERROR(t, at(t, "\"00112233\""), "has 4 bytes; aes256gcm16 expects 36 bytes");
  t = replace(baseConfig(), kKeyBA, "zz");
  EXPECT_CONFIG_ERROR(t, at(t, "\"zz\""), "'peer[0].path[0].manual.inbound.key' is not valid hex");
  // ChaCha20-Poly1305 keys have the same 36-byte length: the base keys fit.
  t = replace(baseConfig(), "aes256gcm16", "chacha20poly1305");
  EXPECT_TRUE(parseConfig(t, "t.toml").isOk());
  t = replace(baseConfig(), "aes256gcm16", "aes256cbc");
  EXPECT_CONFIG_ERROR(t, at(t, "\"aes256cbc\""),
                      "cipher' = \"aes256cbc\" is unknown; expected aes128gcm16");
}

TEST(ConfigTest, OverlappingSubnets) {
  std::string t = replace(baseConfig(), "\"10.97.0.0/16\"", "\"10.98.0.0/16\"");
  EXPECT_CONFIG_ERROR(
      t, at(t, "\"10.98.0.0/16\""),
      "'peer[0].remote_subnets[1]' = 10.98.0.0/16 overlaps 'overlay.local_subnets[0]' = "
      "10.98.1.0/24 (" +
          loc(t, "\"10.98.1.0/24\"") + "); expected local and remote subnets to be disjoint");
  t = replace(baseConfig(), "\"10.97.0.0/16\"", "\"10.98.2.128/25\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"10.98.2.128/25\""), "overlaps 'peer[0].remote_subnets[0]'");
}

std::string secondPeer(const std::string& inboundSpi, const std::string& subnet) {
  return std::string(R"(
[[peer]]
name = "site-c"
remote_subnets = [")") +
         subnet + R"("]
[[peer.path]]
uplink = "wan0"
remote_address = "10.99.0.3"
[peer.path.manual]
cipher = "aes256gcm16"
outbound = { spi = 0x3001, key = ")" +
         kKeyAC + R"(" }
inbound = { spi = )" +
         inboundSpi + R"(, key = ")" + kKeyCA + R"(" }
)";
}

TEST(ConfigTest, DuplicateSpisAndNames) {
  std::string t = baseConfig() + secondPeer("0x2001", "10.96.0.0/16");
  // The second inbound 0x2001 is the duplicate; the message points back at the first.
  size_t second = t.find("spi = 0x2001", t.find("site-c"));
  std::string where = at(t.substr(0, second + 6) + "\x01", "\x01");
  EXPECT_CONFIG_ERROR(t, where,
                      "'peer[1].path[0].manual.inbound.spi' = 8193 is already used at " +
                          loc(t, "0x2001, key") + ";");
  t = baseConfig() + secondPeer("0x2002", "10.96.0.0/16");
  EXPECT_TRUE(parseConfig(t, "t.toml").isOk());
  t = replace(baseConfig() + secondPeer("0x2002", "10.96.0.0/16"), "\"site-c\"", "\"site-b\"");
  EXPECT_CONFIG_ERROR(t, at(t.substr(0, t.rfind("\"site-b\"")) + "\x01", "\x01"),
                      "'peer[1].name' = \"site-b\" is a duplicate");
  // Remote subnets of two peers must not overlap either.
  t = baseConfig() + secondPeer("0x2002", "10.97.1.0/24");
  EXPECT_CONFIG_ERROR(t, at(t, "\"10.97.1.0/24\""),
                      "expected every remote subnet to be routed to one peer");
}

TEST(ConfigTest, MissingRequiredKeys) {
  std::string t =
      replace(baseConfig(), "remote_subnets = [\"10.98.2.0/24\", \"10.97.0.0/16\"]\n", "");
  EXPECT_CONFIG_ERROR(t, at(t, "[[peer]]"), "missing required key 'peer[0].remote_subnets'");
  t = replace(baseConfig(), "local_address = \"10.99.0.1\"\n", "");
  EXPECT_CONFIG_ERROR(t, at(t, "[[uplink]]"), "missing required key 'uplink[0].local_address'");
  t = replace(baseConfig(), "cipher = \"aes256gcm16\"\n", "");
  EXPECT_CONFIG_ERROR(t, at(t, "[peer.path.manual]"),
                      "missing required key 'peer[0].path[0].manual.cipher'");
  std::string noOverlay = replace(baseConfig(), "[overlay]", "[overlay_gone]");
  EXPECT_CONFIG_ERROR(noOverlay, "t.toml:1:1: ", "missing required key 'overlay'");
  t = replace(baseConfig(), "[peer.path.manual]", "[peer.path.other]");
  EXPECT_CONFIG_ERROR(t, at(t, "[[peer.path]]"), "missing required key 'peer[0].path[0].manual'");
}

TEST(ConfigTest, OutOfRangeValues) {
  std::string t = replace(baseConfig(), "replay_window = 2048", "replay_window = 32");
  EXPECT_CONFIG_ERROR(t, at(t, "32\noutbound"),
                      "'peer[0].path[0].manual.replay_window' = 32 is out of range; "
                      "expected an integer in 64..4096");
  t = replace(baseConfig(), "replay_window = 2048", "replay_window = 8192");
  EXPECT_CONFIG_ERROR(t, at(t, "8192"), "= 8192 is out of range");
  t = replace(baseConfig(), "mtu = 1438", "mtu = 70000");
  EXPECT_CONFIG_ERROR(t, at(t, "70000"),
                      "'overlay.mtu' = 70000 is out of range; expected an integer in 576..9000");
  t = replace(baseConfig(), "mtu = 1438", "mtu = 500");
  EXPECT_CONFIG_ERROR(t, at(t, "500"), "out of range");
  t = replace(baseConfig(), "spi = 0x1001", "spi = 255");
  EXPECT_CONFIG_ERROR(t, at(t, "255"),
                      "'peer[0].path[0].manual.outbound.spi' = 255 is out of range");
  t = replace(baseConfig(), "batch_size = 32", "batch_size = 0");
  EXPECT_CONFIG_ERROR(t, at(t, "0\nudp"), "'dataplane.batch_size' = 0 is out of range");
}

TEST(ConfigTest, ReferencesAndNames) {
  std::string t = replace(baseConfig(), "uplink = \"wan0\"", "uplink = \"lte0\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"lte0\""),
                      "'peer[0].path[0].uplink' = \"lte0\" names no uplink; expected one of: wan0");
  // [peer.ike] is IKEv2 keying now (config_ike_test.cpp); an empty proposal list is an error.
  t = replace(baseConfig(), "[[peer.path]]", "[peer.ike]\nproposals = []\n\n[[peer.path]]");
  EXPECT_CONFIG_ERROR(t, at(t, "[]"), "'peer[0].ike.proposals' is empty");
  t = replace(baseConfig(), "level = \"debug\"", "level = \"loud\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"loud\""), "'log.level' = \"loud\" is unknown");
  t = replace(baseConfig(), "device = \"braid0\"", "device = \"a/b\"");
  EXPECT_CONFIG_ERROR(t, at(t, "\"a/b\""), "is not a valid interface name");
}

TEST(ConfigTest, ReportsEveryProblemAtOnce) {
  std::string t = replace(replace(baseConfig(), "mtu = 1438", "mtu = 1"), "batch_size = 32",
                          "batch_size = true");
  std::string errs = errorsOf(t);
  EXPECT_NE(errs.find("overlay.mtu"), std::string::npos);
  EXPECT_NE(errs.find("dataplane.batch_size"), std::string::npos);
  EXPECT_NE(errs.find('\n'), std::string::npos);
}

TEST(ConfigTest, StateTable) {
  auto r = parseConfig(baseConfig(), "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->state.directory, "/var/lib/braid");
  EXPECT_EQ(r->state.sequenceBlock, kDefaultSequenceBlock);
  r = parseConfig(baseConfig() + "[state]\ndirectory = \"/run/b\"\nsequence_block = 4096\n",
                  "t.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->state.directory, "/run/b");
  EXPECT_EQ(r->state.sequenceBlock, 4096u);
  std::string t = baseConfig() + "[state]\ndirectory = \"rel/dir\"\n";
  EXPECT_CONFIG_ERROR(t, at(t, "\"rel/dir\""), "'state.directory' = \"rel/dir\" is not absolute");
  t = baseConfig() + "[state]\nsequence_block = 10\n";
  EXPECT_CONFIG_ERROR(t, at(t, "10\n"), "'state.sequence_block'");
  t = baseConfig() + "[state]\ndir = \"/x\"\n";
  EXPECT_CONFIG_ERROR(t, at(t, "dir ="), "unknown key 'state.dir'");
}

// RFC 4106 3.1: two senders with one key (both counters from 1) repeat nonces.
TEST(ConfigTest, ManualKeysMustBeDistinct) {
  std::string t = replace(baseConfig(), kKeyBA, kKeyAB);  // inbound = outbound
  std::string errs = errorsOf(t);
  EXPECT_NE(errs.find("is the same key as t.toml:"), std::string::npos) << errs;
  EXPECT_NE(errs.find("expected a distinct key per direction and path"), std::string::npos);
  // The same key written differently (0x prefix, separators, upper case) is the same key.
  t = replace(baseConfig(), kKeyBA, std::string("0x") + kKeyAB);
  EXPECT_NE(errorsOf(t).find("is the same key as"), std::string::npos);
}

TEST(ConfigTest, ExampleConfigsAreValid) {
  // A copy whose key files are mode 600, as a deployment must have them (git keeps 644).
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::path(::testing::TempDir()) / ("braid-examples-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::copy(std::string(BRAID_SOURCE_DIR) + "/deploy/examples", dir, fs::copy_options::recursive);
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().extension() == ".key") {
      fs::permissions(e.path(), fs::perms::owner_read | fs::perms::owner_write);
    }
  }
  for (const char* f : {"site-a.toml", "site-b.toml", "ike-psk-a.toml", "ike-psk-b.toml",
                        "ike-cert-a.toml", "ike-cert-b.toml"}) {
    auto r = loadConfigFile((dir / f).string());
    EXPECT_TRUE(r.isOk()) << f << ": " << r.status().message();
  }
  fs::remove_all(dir);
  auto missing = loadConfigFile("/nonexistent/braid.toml");
  EXPECT_FALSE(missing.isOk());
}

}  // namespace
}  // namespace braid::edge
