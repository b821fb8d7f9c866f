// RFC 3948 classification of datagrams on the ESP-in-UDP port.
#include <gtest/gtest.h>

#include <vector>

#include "ipsec/esp.hpp"

namespace braid::ipsec {
namespace {

UdpEncapKind classify(std::vector<uint8_t> v) {
  return classifyUdpEncap(v);
}

TEST(ClassifyUdpEncap, Keepalive) {
  EXPECT_EQ(classify({0xFF}), UdpEncapKind::kKeepalive);  // RFC 3948 2.3
  EXPECT_EQ(classify({0xFE}), UdpEncapKind::kInvalid);
  EXPECT_EQ(classify({0xFF, 0xFF}), UdpEncapKind::kInvalid);
}

TEST(ClassifyUdpEncap, TooShortIsInvalid) {
  EXPECT_EQ(classify({}), UdpEncapKind::kInvalid);
  EXPECT_EQ(classify({0, 0, 0}), UdpEncapKind::kInvalid);
  EXPECT_EQ(classify({1, 2, 3, 4}), UdpEncapKind::kInvalid);           // SPI only
  EXPECT_EQ(classify({1, 2, 3, 4, 0, 0, 0}), UdpEncapKind::kInvalid);  // SPI + 3 bytes
}

TEST(ClassifyUdpEncap, NonEspMarkerIsIke) {
  std::vector<uint8_t> ike(4 + 28, 0x11);
  ike[0] = ike[1] = ike[2] = ike[3] = 0;  // RFC 3948 2.2
  EXPECT_EQ(classify(ike), UdpEncapKind::kIke);
  ike.pop_back();  // marker + less than an IKE header
  EXPECT_EQ(classify(ike), UdpEncapKind::kInvalid);
  EXPECT_EQ(classify({0, 0, 0, 0}), UdpEncapKind::kInvalid);
}

TEST(ClassifyUdpEncap, NonZeroSpiIsEsp) {
  EXPECT_EQ(classify({0, 0, 0, 1, 0, 0, 0, 1}), UdpEncapKind::kEsp);
  EXPECT_EQ(classify({0x80, 0, 0, 0, 0, 0, 0, 0}), UdpEncapKind::kEsp);
  std::vector<uint8_t> big(1500, 0xAB);
  EXPECT_EQ(classify(big), UdpEncapKind::kEsp);
  big[0] = big[1] = big[2] = big[3] = 0;
  EXPECT_EQ(classify(big), UdpEncapKind::kIke);
}

}  // namespace
}  // namespace braid::ipsec
