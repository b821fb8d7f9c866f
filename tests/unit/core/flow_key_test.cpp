#include "core/flow_key.hpp"

#include <gtest/gtest.h>

#include "core/hex.hpp"

namespace braid {
namespace {

TEST(FlowKey, ParsesIpv4Udp) {
  // IPv4 10.98.1.2 -> 10.98.2.2, UDP 40000 -> 7777
  auto bytes = *fromHex("4500001c00004000401100000a6201020a6202029c401e6100080000");
  auto key = FlowKey::parse(bytes);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->toString(), "10.98.1.2:40000 -> 10.98.2.2:7777 proto 17");
  EXPECT_EQ(key->reversed().reversed(), *key);
}

TEST(FlowKey, Ipv4LaterFragmentHasNoPorts) {
  auto bytes = *fromHex("4500001c00000010401100000a6201020a6202029c401e6100080000");
  auto key = FlowKey::parse(bytes);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->srcPort, 0);
}

TEST(FlowKey, ParsesIpv6TcpThroughExtensionHeader) {
  // IPv6, next=0 (hop-by-hop, 8 bytes) then TCP 443 -> 1234
  std::string hex = "60000000001c0040";
  hex += "fd000000000000000000000000000001";
  hex += "fd000000000000000000000000000002";
  hex += "0600000000000000";  // hop-by-hop: next 6 (TCP), len 0
  hex += "01bb04d2000000000000000050000000";
  auto key = FlowKey::parse(*fromHex(hex));
  ASSERT_TRUE(key);
  EXPECT_EQ(key->proto, kProtoTcp);
  EXPECT_EQ(key->srcPort, 443);
  EXPECT_EQ(key->dstPort, 1234);
}

TEST(FlowKey, RejectsTruncatedAndGarbage) {
  auto bytes = *fromHex("4500001c00004000401100000a6201020a6202029c401e6100080000");
  for (size_t n = 0; n < 24; ++n) EXPECT_FALSE(FlowKey::parse(Bytes(bytes.data(), n))) << n;
  uint8_t junk[40] = {0x70};
  EXPECT_FALSE(FlowKey::parse(junk));
}

}  // namespace
}  // namespace braid
