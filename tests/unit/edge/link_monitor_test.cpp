// LinkEventParser on hand-built rtnetlink messages: an uplink is usable while its interface
// is up with carrier and holds its address; every change is reported once.
#include "edge/link_monitor.hpp"

#include <gtest/gtest.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cstring>
#include <utility>

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000  // linux/if.h; <net/if.h> omits it
#endif

namespace braid::edge {
namespace {

void append(std::vector<uint8_t>& out, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  out.insert(out.end(), b, b + n);
}
void pad(std::vector<uint8_t>& out) {
  while (out.size() % 4) out.push_back(0);
}

std::vector<uint8_t> linkMsg(uint16_t type, int ifindex, unsigned flags) {
  nlmsghdr h{};
  h.nlmsg_type = type;
  h.nlmsg_len = uint32_t(NLMSG_LENGTH(sizeof(ifinfomsg)));
  ifinfomsg i{};
  i.ifi_index = ifindex;
  i.ifi_flags = flags;
  std::vector<uint8_t> m;
  append(m, &h, sizeof h);
  append(m, &i, sizeof i);
  return m;
}

std::vector<uint8_t> addrMsg(uint16_t type, int ifindex, const char* text) {
  const IpAddress a = *IpAddress::parse(text);
  ifaddrmsg i{};
  i.ifa_family = a.isV6() ? AF_INET6 : AF_INET;
  i.ifa_index = uint32_t(ifindex);
  std::vector<uint8_t> body;
  append(body, &i, sizeof i);
  pad(body);
  rtattr r{};
  r.rta_type = a.isV6() ? IFA_ADDRESS : IFA_LOCAL;
  r.rta_len = uint16_t(RTA_LENGTH(a.bytes().size()));
  append(body, &r, sizeof r);
  append(body, a.bytes().data(), a.bytes().size());
  pad(body);
  nlmsghdr h{};
  h.nlmsg_type = type;
  h.nlmsg_len = uint32_t(NLMSG_LENGTH(body.size()));
  std::vector<uint8_t> m;
  append(m, &h, sizeof h);
  m.insert(m.end(), body.begin(), body.end());
  return m;
}

class LinkEventParserTest : public ::testing::Test {
 protected:
  LinkEventParser p{{*IpAddress::parse("172.16.1.1"), *IpAddress::parse("fd00:2::1")}};
  std::vector<std::pair<size_t, bool>> got;
  void feed(const std::vector<uint8_t>& m) {
    p.feed(m, [&](size_t u, bool usable) { got.emplace_back(u, usable); });
  }
};

TEST_F(LinkEventParserTest, AnUplinkIsUsableWithItsAddressAndCarrier) {
  EXPECT_FALSE(p.usable(0));  // no address seen yet
  feed(addrMsg(RTM_NEWADDR, 5, "172.16.1.1"));
  EXPECT_EQ(got, (std::vector<std::pair<size_t, bool>>{{0, true}}));
  EXPECT_EQ(p.ifindex(0), 5);
  feed(linkMsg(RTM_NEWLINK, 5, IFF_UP | IFF_LOWER_UP));  // no change: nothing reported
  feed(linkMsg(RTM_NEWLINK, 5, IFF_UP));                 // carrier lost
  feed(linkMsg(RTM_NEWLINK, 5, IFF_UP));                 // the same again: once
  feed(linkMsg(RTM_NEWLINK, 7, IFF_UP | IFF_LOWER_UP));  // another interface
  feed(linkMsg(RTM_NEWLINK, 5, IFF_UP | IFF_LOWER_UP));
  feed(linkMsg(RTM_NEWLINK, 5, IFF_LOWER_UP));  // administratively down
  feed(linkMsg(RTM_NEWLINK, 5, IFF_UP | IFF_LOWER_UP));
  feed(linkMsg(RTM_DELLINK, 5, IFF_UP | IFF_LOWER_UP));  // the interface is gone
  EXPECT_EQ(got, (std::vector<std::pair<size_t, bool>>{
                     {0, true}, {0, false}, {0, true}, {0, false}, {0, true}, {0, false}}));
  EXPECT_EQ(p.malformed(), 0u);
}

TEST_F(LinkEventParserTest, AddressRemovalAndReturnAndIpv6) {
  feed(addrMsg(RTM_NEWADDR, 5, "172.16.1.1"));
  feed(addrMsg(RTM_NEWADDR, 9, "fd00:2::1"));
  feed(addrMsg(RTM_NEWADDR, 5, "172.16.1.9"));  // another address: not an uplink's
  feed(addrMsg(RTM_DELADDR, 9, "fd00:2::1"));
  feed(addrMsg(RTM_DELADDR, 5, "10.0.0.1"));
  feed(addrMsg(RTM_NEWADDR, 9, "fd00:2::1"));
  EXPECT_EQ(got,
            (std::vector<std::pair<size_t, bool>>{{0, true}, {1, true}, {1, false}, {1, true}}));
  EXPECT_TRUE(p.usable(0));
  EXPECT_TRUE(p.usable(1));
}

TEST_F(LinkEventParserTest, SeveralMessagesInOneReadAndMalformedInput) {
  std::vector<uint8_t> buf = addrMsg(RTM_NEWADDR, 5, "172.16.1.1");
  auto down = linkMsg(RTM_NEWLINK, 5, 0);
  buf.insert(buf.end(), down.begin(), down.end());
  feed(buf);
  EXPECT_EQ(got, (std::vector<std::pair<size_t, bool>>{{0, true}, {0, false}}));
  // A length past the buffer, a truncated body, an attribute past its message: ignored.
  auto bad = linkMsg(RTM_NEWLINK, 5, IFF_UP | IFF_LOWER_UP);
  bad[0] = 200;
  feed(bad);
  auto shortLink = linkMsg(RTM_NEWLINK, 5, IFF_UP | IFF_LOWER_UP);
  shortLink.resize(NLMSG_HDRLEN + 4);
  shortLink[0] = uint8_t(shortLink.size());
  feed(shortLink);
  auto badAttr = addrMsg(RTM_DELADDR, 5, "172.16.1.1");
  badAttr[NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifaddrmsg))] = 0xff;  // rta_len 255
  feed(badAttr);
  feed(std::vector<uint8_t>(3, 0));
  EXPECT_EQ(got.size(), 2u);
  EXPECT_EQ(p.malformed(), 3u);
}

// Renumbering (follow_address): the uplink takes the interface's other address of the same
// family once its own is gone, reported before (and instead of) the loss of usability.
class FollowTest : public LinkEventParserTest {
 protected:
  std::vector<std::pair<size_t, std::string>> moves;
  void SetUp() override {
    p.follow(0);
    p.setMovedHandler([&](size_t u, const IpAddress& a) { moves.emplace_back(u, a.toString()); });
    feed(addrMsg(RTM_NEWADDR, 5, "172.16.1.1"));
    got.clear();
  }
};

TEST_F(FollowTest, AddThenDeleteMovesWithoutAnOutage) {
  feed(addrMsg(RTM_NEWADDR, 5, "172.16.1.9"));
  EXPECT_TRUE(moves.empty());                   // a second address: the uplink keeps its own
  feed(addrMsg(RTM_NEWADDR, 6, "172.16.7.7"));  // another interface
  feed(addrMsg(RTM_NEWADDR, 5, "fd00:5::9"));   // another family
  feed(addrMsg(RTM_DELADDR, 5, "172.16.1.1"));
  EXPECT_EQ(moves, (std::vector<std::pair<size_t, std::string>>{{0, "172.16.1.9"}}));
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(p.usable(0));
  EXPECT_EQ(p.address(0).toString(), "172.16.1.9");
  // The address it moved to goes too, with none left: down.
  feed(addrMsg(RTM_DELADDR, 5, "172.16.1.9"));
  EXPECT_EQ(got, (std::vector<std::pair<size_t, bool>>{{0, false}}));
  EXPECT_EQ(moves.size(), 1u);
}

TEST_F(FollowTest, DeleteThenAddComesBackOnTheNewAddress) {
  feed(addrMsg(RTM_DELADDR, 5, "172.16.1.1"));
  EXPECT_EQ(got, (std::vector<std::pair<size_t, bool>>{{0, false}}));
  feed(addrMsg(RTM_NEWADDR, 6, "172.16.7.7"));  // another interface: not ours
  EXPECT_TRUE(moves.empty());
  feed(addrMsg(RTM_NEWADDR, 5, "172.16.1.20"));
  EXPECT_EQ(moves, (std::vector<std::pair<size_t, std::string>>{{0, "172.16.1.20"}}));
  EXPECT_EQ(got, (std::vector<std::pair<size_t, bool>>{{0, false}, {0, true}}));
}

TEST_F(LinkEventParserTest, AnUplinkThatDoesNotFollowNeverMoves) {
  std::vector<std::string> moves;
  p.setMovedHandler([&](size_t, const IpAddress& a) { moves.push_back(a.toString()); });
  feed(addrMsg(RTM_NEWADDR, 5, "172.16.1.1"));
  feed(addrMsg(RTM_NEWADDR, 5, "172.16.1.9"));
  feed(addrMsg(RTM_DELADDR, 5, "172.16.1.1"));
  EXPECT_TRUE(moves.empty());
  EXPECT_FALSE(p.usable(0));
  EXPECT_EQ(p.address(0).toString(), "172.16.1.1");
}

}  // namespace
}  // namespace braid::edge
