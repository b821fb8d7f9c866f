// RFC 7383 2.5.2 in simulated time: fragments cut for the uplink's MTU by default, and a path
// that silently drops datagrams above its MTU still completes a certificate IKE_AUTH because
// unanswered messages are split again, smaller, on retransmission (initiator), and replayed
// responses follow the size of the request's fragments (responder).
#include <gtest/gtest.h>

#include "fragment_test_creds.hpp"
#include "ike_harness.hpp"
#include "ipsec/ike/fragmentation.hpp"

namespace braid::ike::test {
namespace {

constexpr size_t kIpUdp = 20 + 8;  // IPv4 + UDP on port 500 (no non-ESP marker)

TEST(FragmentSizeLadder, StepsDownToTheMinimumOfEachFamily) {
  EXPECT_EQ(nextFragmentSize(1500, false), 1280u);
  EXPECT_EQ(nextFragmentSize(1281, false), 1280u);
  EXPECT_EQ(nextFragmentSize(1280, false), 576u);
  EXPECT_EQ(nextFragmentSize(577, false), 576u);
  EXPECT_EQ(nextFragmentSize(576, false), 0u);
  EXPECT_EQ(nextFragmentSize(9000, true), 1280u);
  EXPECT_EQ(nextFragmentSize(1280, true), 0u);  // IPv6's minimum MTU
  EXPECT_EQ(fragmentOverhead(false, true), 32u);
  EXPECT_EQ(fragmentOverhead(true, false), 48u);
}

class IkeFragmentPmtu : public IkeTwoPartyTest {
 protected:
  void SetUp() override {
    IkeTwoPartyTest::SetUp();
    useFragmentCreds(pa, "a.example");
    useFragmentCreds(pb, "b.example");
    pa.localId = pb.remoteId = Identity::fqdn("a.example");
    pb.localId = pa.remoteId = Identity::fqdn("b.example");
    // Both uplinks say 1500 (the interface MTU), fragment_size left at its default.
    t.a.mgr->setLinkMtu(1500);
    t.b.mgr->setLinkMtu(1500);
  }
  // The path: datagrams whose IP datagram is above the direction's MTU vanish (a black hole,
  // no ICMP). Everything else is delivered, recording the sizes that got through.
  void pump(Party& from, size_t mtu) {
    while (!from.net.out.empty()) {
      const size_t ip = from.net.out.front().data.size() + kIpUdp;
      if (ip > mtu) {
        ++dropped;
        t.drop(from);
      } else {
        (&from == &t.a ? deliveredA : deliveredB).push_back(ip);
        t.deliver(from);
      }
    }
  }
  // Runs both ways, a second of simulated time per round, until both sides are up.
  bool runUntilUp(size_t mtuAB, size_t mtuBA, int seconds = 60) {
    for (int i = 0; i < seconds; ++i) {
      while (!t.a.net.out.empty() || !t.b.net.out.empty()) {
        pump(t.a, mtuAB);
        pump(t.b, mtuBA);
      }
      if (!t.a.events.ikeUp.empty() && !t.b.events.ikeUp.empty()) return true;
      t.advance(std::chrono::seconds(1));
    }
    return false;
  }
  size_t dropped = 0;
  std::vector<size_t> deliveredA, deliveredB;
};

TEST_F(IkeFragmentPmtu, FragmentsFollowTheUplinkMtuByDefault) {
  start();
  roundTrip();
  IkeSa* sa = t.a.mgr->findByPeer("to-b");
  ASSERT_NE(sa, nullptr);
  EXPECT_EQ(sa->fragmentSize(), 1500u);
  EXPECT_EQ(sa->fragmentLimit(), 1500u - kIpUdp);
  // An explicit fragment_size wins below the link MTU; the link MTU caps one above it.
  pa.fragmentSize = 1280;
  sa->setConfig(&pa);
  EXPECT_EQ(sa->fragmentSize(), 1280u);
  pa.fragmentSize = 9000;
  EXPECT_EQ(sa->fragmentSize(), 1500u);
  t.a.mgr->setLinkMtu(0);
  EXPECT_EQ(sa->fragmentSize(), 9000u);
  pa.fragmentSize = 0;
  EXPECT_EQ(sa->fragmentSize(), kDefaultFragmentSize);  // nothing known: strongSwan's 1280
  sa->setConfig(t.a.mgr->peer("to-b"));
}

TEST_F(IkeFragmentPmtu, BlackHoleAbove576ShrinksUntilIkeAuthCompletes) {
  start();
  ASSERT_TRUE(runUntilUp(576, 576));
  EXPECT_EQ(t.a.events.childUp.size(), 1u);
  EXPECT_EQ(t.b.events.childUp.size(), 1u);
  // 1500 -> 1280 -> 576: two retransmissions, each a complete new split.
  EXPECT_EQ(t.a.counters().fragmentShrinks, 2u);
  EXPECT_EQ(t.a.counters().retransmits, 2u);
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(t.a.mgr->findByPeer("to-b")->fragmentSize(), 576u);
  // The responder answered once, in fragments no bigger than the request's: nothing of it
  // was lost, no split again on its side.
  EXPECT_EQ(t.b.counters().fragmentShrinks, 0u);
  EXPECT_EQ(t.b.counters().requestsProcessed, 2u);
  for (size_t ip : deliveredB) EXPECT_LE(ip, 576u);
  // Later exchanges keep the size found: a big request goes out at 576 at once.
  EXPECT_EQ(t.a.counters().messagesReassembled, 1u);
}

TEST_F(IkeFragmentPmtu, RetransmissionIsACompleteSplitWithTheSameMessageId) {
  start();
  roundTrip();  // IKE_SA_INIT
  const size_t first = t.a.net.out.size();
  ASSERT_GE(first, 2u);  // ~2 kB IKE_AUTH at 1500
  while (!t.a.net.out.empty()) t.drop(t.a);
  IkeSa* sa = t.a.mgr->findByPeer("to-b");
  for (size_t expectSize : {size_t{1280}, size_t{576}}) {
    for (int i = 0; i < 10 && t.a.net.out.empty(); ++i) t.advance(std::chrono::milliseconds(500));
    const size_t n = t.a.net.out.size();
    ASSERT_GT(n, first);
    for (size_t i = 0; i < n; ++i) {
      Message m;
      ASSERT_FALSE(m.parse(t.a.net.out[i].data));
      EXPECT_TRUE(m.isFragment());
      EXPECT_EQ(m.header.messageId, 1u);
      EXPECT_EQ(m.fragmentNumber(), i + 1);
      EXPECT_EQ(m.fragmentTotal(), n);
      EXPECT_LE(t.a.net.out[i].data.size() + kIpUdp, expectSize);
    }
    EXPECT_EQ(sa->fragmentSize(), expectSize);
    if (expectSize == 576) break;
    // Part of this split arrives: the next, larger split replaces it at the responder.
    t.deliver(t.a);
    while (!t.a.net.out.empty()) t.drop(t.a);
  }
  while (!t.a.net.out.empty()) t.deliver(t.a);
  EXPECT_EQ(t.b.counters().messagesReassembled, 1u);
  EXPECT_EQ(t.b.counters().dropsMalformed, 0u);
  t.run();
  EXPECT_EQ(t.a.events.ikeUp.size(), 1u);
  EXPECT_EQ(t.b.events.ikeUp.size(), 1u);
  // Nothing smaller to try at 576: a further retransmission resends the same split.
  EXPECT_FALSE(sa->reduceFragmentSize(548));
}

TEST_F(IkeFragmentPmtu, ResponderSplitsItsReplayLikeTheRetransmittedRequest) {
  // Asymmetric: a -> b carries 1500, b -> a only 576. The request gets through at once; the
  // response is lost until the initiator's retransmissions come in smaller fragments, and
  // the responder replays its cached response split no bigger than those.
  start();
  ASSERT_TRUE(runUntilUp(1500, 576));
  EXPECT_EQ(t.b.counters().requestsProcessed, 2u);  // IKE_AUTH processed once
  EXPECT_GE(t.b.counters().responsesReplayed, 1u);
  EXPECT_GE(t.b.counters().fragmentShrinks, 1u);
  EXPECT_EQ(t.a.counters().fragmentShrinks, 2u);
  EXPECT_EQ(t.a.counters().dropsMalformed, 0u);
  EXPECT_EQ(t.a.events.childUp.size(), 1u);
  EXPECT_EQ(t.b.events.childUp.size(), 1u);
}

TEST_F(IkeFragmentPmtu, PathThatCarriesTheLinkMtuNeverShrinks) {
  start();
  ASSERT_TRUE(runUntilUp(1500, 1500));
  EXPECT_EQ(t.a.counters().fragmentShrinks + t.b.counters().fragmentShrinks, 0u);
  EXPECT_EQ(t.a.counters().retransmits, 0u);
  EXPECT_EQ(dropped, 0u);
}

}  // namespace
}  // namespace braid::ike::test
