// The IKE driver's pieces: key log lines in tshark's UAT syntax, port translation, selector
// to prefix conversion, the Asio timer scheduler and the core's view of a path.
#include "edge/ike_support.hpp"

#include <gtest/gtest.h>

#include <array>

#include <boost/asio/io_context.hpp>

#include "core/hex.hpp"

namespace braid::edge {
namespace {

SecretBytes hexSecret(const char* h) {
  return SecretBytes{Bytes(*fromHex(h))};
}

TEST(IkeKeyLogTest, IkeLineMatchesTsharkUat) {
  SecretBytes ei = hexSecret("00112233"), er = hexSecret("44556677"), none;
  ike::IkeKeyLog k{
      0x0102030405060708ULL, 0xa0b0c0d0e0f00011ULL, "aes256gcm16", "none", &ei, &er, &none, &none};
  EXPECT_EQ(ikeKeyLogLine(k),
            "ikev2_decryption_table:0102030405060708,a0b0c0d0e0f00011,00112233,44556677,"
            "\"AES-GCM-256 with 16 octet ICV [RFC5282]\",,,\"NONE [RFC4306]\"");
  SecretBytes ai = hexSecret("aa"), ar = hexSecret("bb");
  ike::IkeKeyLog cbc{1, 2, "aes128", "sha256", &ei, &er, &ai, &ar};
  EXPECT_EQ(ikeKeyLogLine(cbc),
            "ikev2_decryption_table:0000000000000001,0000000000000002,00112233,44556677,"
            "\"AES-CBC-128 [RFC3602]\",aa,bb,\"HMAC_SHA2_256_128 [RFC4868]\"");
  ike::IkeKeyLog chacha{1, 2, "chacha20poly1305", "none", &ei, &er, &none, &none};
  EXPECT_EQ(ikeKeyLogLine(chacha).rfind("# ikev2 ", 0), 0u);
}

TEST(IkeKeyLogTest, EspLineMatchesTsharkUat) {
  SecretBytes key = hexSecret("000102030405060708090a0b0c0d0e0fa1a2a3a4");
  ike::EspKeyLog k{0x1234abcd, *IpAddress::parse("10.99.0.1"), *IpAddress::parse("10.99.0.2"),
                   ipsec::EspCipher::kAesGcm16_128, &key};
  EXPECT_EQ(
      espKeyLogLine(k),
      "esp_sa:\"IPv4\",\"10.99.0.1\",\"10.99.0.2\",\"0x1234abcd\","
      "\"AES-GCM with 16 octet ICV [RFC4106]\",\"0x000102030405060708090a0b0c0d0e0fa1a2a3a4\","
      "\"NULL\",\"\"");
  k.src = *IpAddress::parse("2001:db8::1");
  k.dst = *IpAddress::parse("2001:db8::2");
  EXPECT_EQ(espKeyLogLine(k).rfind("esp_sa:\"IPv6\",\"2001:db8::1\"", 0), 0u);
  k.cipher = ipsec::EspCipher::kChaCha20Poly1305;
  EXPECT_EQ(espKeyLogLine(k).rfind("# esp 0x1234abcd", 0), 0u);
}

TEST(IkePortMapTest, DefaultIsIdentityAndCustomIsAnInvolution) {
  IkePortMap def;
  for (uint16_t p : {500, 4500, 1234, 61000}) EXPECT_EQ(def.map(p), p);
  IkePortMap m{5500, 5501};
  EXPECT_EQ(m.map(500), 5500);
  EXPECT_EQ(m.map(4500), 5501);
  EXPECT_EQ(m.map(5500), 500);
  EXPECT_EQ(m.map(5501), 4500);
  for (uint16_t p : {500, 4500, 5500, 5501, 1234, 61000}) EXPECT_EQ(m.map(m.map(p)), p);
}

TEST(SelectorPrefixesTest, RangesBecomeExactPrefixes) {
  auto ts = ike::TrafficSelector::fromPrefix(*IpPrefix::parse("10.98.1.0/24"));
  EXPECT_EQ(selectorPrefixes(ts), std::vector<IpPrefix>{*IpPrefix::parse("10.98.1.0/24")});
  ike::TrafficSelector range;
  range.start = *IpAddress::parse("10.0.0.5");
  range.end = *IpAddress::parse("10.0.0.20");
  std::vector<IpPrefix> want;
  for (const char* p :
       {"10.0.0.5/32", "10.0.0.6/31", "10.0.0.8/29", "10.0.0.16/30", "10.0.0.20/32"}) {
    want.push_back(*IpPrefix::parse(p));
  }
  EXPECT_EQ(selectorPrefixes(range), want);
  // Differential check against per-address membership on a few ranges.
  for (auto [lo, hi] : {std::pair{0u, 255u}, {7u, 7u}, {1u, 254u}, {100u, 1000u}}) {
    ike::TrafficSelector r;
    r.start = IpAddress::v4(0x0a000000u + lo);
    r.end = IpAddress::v4(0x0a000000u + hi);
    auto prefixes = selectorPrefixes(r);
    for (uint32_t a = 0; a < 1100; ++a) {
      bool in = false;
      for (auto& p : prefixes) in = in || p.contains(IpAddress::v4(0x0a000000u + a));
      EXPECT_EQ(in, a >= lo && a <= hi) << lo << ".." << hi << " at " << a;
    }
  }
  ike::TrafficSelector all;
  all.start = *IpAddress::parse("0.0.0.0");
  all.end = *IpAddress::parse("255.255.255.255");
  EXPECT_EQ(selectorPrefixes(all), std::vector<IpPrefix>{*IpPrefix::parse("0.0.0.0/0")});
}

// A peer may narrow to an IPv6 range that is no prefix (RFC 7296 2.9, 3.13.1): it is split
// like an IPv4 one, never dropped (which would leave only the IPv4 half of a Child SA).
TEST(SelectorPrefixesTest, Ipv6RangesBecomeExactPrefixes) {
  ike::TrafficSelector range;
  range.start = *IpAddress::parse("fd00:b::5");
  range.end = *IpAddress::parse("fd00:b::1:3");
  std::vector<IpPrefix> want;
  for (const char* p :
       {"fd00:b::5/128", "fd00:b::6/127", "fd00:b::8/125", "fd00:b::10/124", "fd00:b::20/123",
        "fd00:b::40/122", "fd00:b::80/121", "fd00:b::100/120", "fd00:b::200/119", "fd00:b::400/118",
        "fd00:b::800/117", "fd00:b::1000/116", "fd00:b::2000/115", "fd00:b::4000/114",
        "fd00:b::8000/113", "fd00:b::1:0/126"}) {
    want.push_back(*IpPrefix::parse(p));
  }
  EXPECT_EQ(selectorPrefixes(range), want);
  // Differential check against membership near the edges of a few ranges.
  const IpAddress base = *IpAddress::parse("fd00:b::");
  auto at = [&](uint32_t off) {
    std::array<uint8_t, 16> b{};
    std::copy(base.bytes().begin(), base.bytes().end(), b.begin());
    storeBe32(b.data() + 12, off);
    return IpAddress::v6(Bytes(b.data(), 16));
  };
  for (auto [lo, hi] : {std::pair{0u, 0xffffu}, {3u, 3u}, {1u, 0x1fffeu}, {100u, 1000u}}) {
    ike::TrafficSelector r;
    r.start = at(lo);
    r.end = at(hi);
    auto prefixes = selectorPrefixes(r);
    EXPECT_LE(prefixes.size(), 256u);
    for (uint32_t a : {0u, 1u, 2u, 3u, 4u, 99u, 100u, 101u, 999u, 1000u, 1001u, 0xfffeu, 0xffffu,
                       0x10000u, 0x1fffeu, 0x1ffffu}) {
      bool in = false;
      for (auto& p : prefixes) in = in || p.contains(at(a));
      EXPECT_EQ(in, a >= lo && a <= hi) << lo << ".." << hi << " at " << a;
    }
  }
  ike::TrafficSelector top;  // up to the last address: no wrap-around
  top.start = *IpAddress::parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffd");
  top.end = *IpAddress::parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  EXPECT_EQ(
      selectorPrefixes(top),
      (std::vector<IpPrefix>{*IpPrefix::parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffd/128"),
                             *IpPrefix::parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127")}));
}

TEST(AsioTimersTest, FiresInDeadlineOrderAndHonoursCancel) {
  boost::asio::io_context io;
  AsioTimers timers(io);
  std::vector<int> fired;
  auto now = std::chrono::steady_clock::now();
  timers.schedule(now + std::chrono::milliseconds(30), [&] { fired.push_back(3); });
  timers.schedule(now + std::chrono::milliseconds(10), [&] {
    fired.push_back(1);
    // Scheduled from a callback, earlier than the pending one. Relative to `now`, not the
    // clock: on a loaded machine this callback can run after 30 ms, and both are then due.
    timers.schedule(now + std::chrono::milliseconds(15), [&] { fired.push_back(2); });
  });
  TimerId gone = timers.schedule(now + std::chrono::milliseconds(20), [&] { fired.push_back(99); });
  timers.cancel(gone);
  io.run_for(std::chrono::milliseconds(500));
  EXPECT_EQ(fired, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(timers.pending(), 0u);
}

TEST(InterfaceMtuTest, LoopbackAddressesHaveTheLoopbackMtu) {
  // lo exists in every namespace; its MTU is whatever it is set to, but never 0.
  const uint32_t lo = interfaceMtu(*IpAddress::parse("127.0.0.1"));
  EXPECT_GE(lo, 576u);
  // No interface holds this address: unknown.
  EXPECT_EQ(interfaceMtu(*IpAddress::parse("192.0.2.254")), 0u);
  EXPECT_EQ(interfaceMtu(*IpAddress::parse("2001:db8::fe")), 0u);
}

TEST(IkePeerConfigTest, PathBecomesCorePeerConfig) {
  auto cfg = parseConfig(R"([overlay]
local_subnets = ["10.98.1.0/24"]
[[uplink]]
name = "wan0"
local_address = "10.99.0.1"
[[peer]]
name = "b"
remote_subnets = ["10.98.2.0/24"]
[peer.ike]
psk = "0123456789abcdef0123"
esp_proposals = "chacha20poly1305"
[[peer.path]]
uplink = "wan0"
remote_address = "10.99.0.2"
)",
                         "t.toml");
  ASSERT_TRUE(cfg.isOk()) << cfg.status().message();
  ike::PeerConfig pc = ikePeerConfig(cfg->peers[0], cfg->peers[0].paths[0], cfg->uplinks[0]);
  EXPECT_EQ(pc.name, "b");
  EXPECT_EQ(pc.remote, (ike::Endpoint{*IpAddress::parse("10.99.0.2"), 500}));
  // PSK default identity: our uplink address (like strongSwan).
  EXPECT_EQ(pc.localId, ike::Identity::address(*IpAddress::parse("10.99.0.1")));
  EXPECT_TRUE(pc.remoteId.any());
  ASSERT_EQ(pc.children.size(), 1u);
  EXPECT_EQ(pc.children[0].localTs.at(0).toString(), "10.98.1.0/24");
  EXPECT_EQ(pc.children[0].remoteTs.at(0).toString(), "10.98.2.0/24");
  EXPECT_EQ(ike::formatProposals(pc.children[0].espProposals), "chacha20poly1305");
  EXPECT_TRUE(pc.forceEncap);
  EXPECT_EQ(pc.localAuth.psk.size(), 20u);
  EXPECT_EQ(pc.remoteAuth.psk.size(), 20u);
}

}  // namespace
}  // namespace braid::edge
