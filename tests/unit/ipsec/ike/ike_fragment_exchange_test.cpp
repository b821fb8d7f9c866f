// RFC 7383 between two braid IKE SAs in simulated time: negotiation in IKE_SA_INIT (2.3), a
// certificate IKE_AUTH too big for a 576-byte path sent as SKF fragments both ways (2.5),
// a lost fragment recovered by retransmission of all fragments (2.6.1).
#include <gtest/gtest.h>

#include "fragment_test_creds.hpp"
#include "ike_harness.hpp"
#include "ipsec/ike/fragmentation.hpp"

namespace braid::ike::test {
namespace {

constexpr size_t kPathMtu = 576;
constexpr size_t kLimit = kPathMtu - 20 - 8;  // IPv4 + UDP, port 500: no non-ESP marker

class IkeFragmentation : public IkeTwoPartyTest {
 protected:
  void SetUp() override {
    IkeTwoPartyTest::SetUp();
    useFragmentCreds(pa, "a.example");
    useFragmentCreds(pb, "b.example");
    pa.localId = pb.remoteId = Identity::fqdn("a.example");
    pb.localId = pa.remoteId = Identity::fqdn("b.example");
    pa.fragmentSize = pb.fragmentSize = kPathMtu;
  }
  // IKE_SA_INIT both ways.
  void initExchange() {
    start();
    roundTrip();
    ASSERT_EQ(t.a.net.out.size(), t.a.counters().fragmentsSent);
  }
  // Delivers all of from's queue; every datagram must fit the path.
  void deliverAll(Party& from) {
    while (!from.net.out.empty()) {
      EXPECT_LE(from.net.out.front().data.size(), kLimit);
      t.deliver(from);
    }
  }
  void expectUp() {
    ASSERT_EQ(t.a.events.ikeUp.size(), 1u);
    ASSERT_EQ(t.b.events.ikeUp.size(), 1u);
    EXPECT_EQ(t.a.events.childUp.size(), 1u);
    EXPECT_EQ(t.b.events.childUp.size(), 1u);
  }
};

TEST_F(IkeFragmentation, CertificateAuthIsFragmentedBothWays) {
  initExchange();
  IkeSa* sa = t.a.mgr->findByPeer("to-b");
  ASSERT_NE(sa, nullptr);
  EXPECT_TRUE(sa->peerFragmentation);
  EXPECT_EQ(sa->fragmentLimit(), kLimit);
  const size_t requestFragments = t.a.net.out.size();
  EXPECT_GE(requestFragments, 4u);
  deliverAll(t.a);
  const size_t responseFragments = t.b.net.out.size();
  EXPECT_GE(responseFragments, 3u);
  EXPECT_EQ(t.b.counters().messagesReassembled, 1u);
  deliverAll(t.b);
  expectUp();
  EXPECT_EQ(t.a.counters().messagesReassembled, 1u);
  EXPECT_EQ(t.b.counters().fragmentsReceived, requestFragments);
  EXPECT_EQ(t.a.counters().fragmentsReceived, responseFragments);
  EXPECT_EQ(t.b.counters().fragmentsSent, responseFragments);
  // Later exchanges that fit are not fragmented: a liveness check is one datagram each way.
  ASSERT_TRUE(t.a.mgr->checkLiveness("to-b").isOk());
  ASSERT_EQ(t.a.net.out.size(), 1u);
  EXPECT_EQ(t.a.net.out[0].data[16], kPayloadTypeSk);
  roundTrip();
  EXPECT_EQ(t.a.counters().fragmentsSent, requestFragments);
}

TEST_F(IkeFragmentation, LostRequestFragmentIsRecoveredByRetransmission) {
  initExchange();
  const size_t n = t.a.net.out.size();
  ASSERT_GE(n, 4u);
  const ByteVec lost = t.drop(t.a, 2).data;
  deliverAll(t.a);
  EXPECT_TRUE(t.b.net.out.empty());  // incomplete: nothing processed, nothing answered
  EXPECT_EQ(t.b.counters().requestsProcessed, 1u);  // IKE_SA_INIT only
  // The retransmission resends every fragment, byte for byte.
  t.advance(t.a.mgr->findByPeer("to-b")->tasks().timeoutFor(0) + std::chrono::seconds(1));
  ASSERT_EQ(t.a.net.out.size(), n);
  EXPECT_EQ(t.a.net.out[2].data, lost);
  deliverAll(t.a);
  // Those before the lost one are duplicates; it completes the message, so those after it
  // belong to an answered request (dropped: IKE_AUTH is over).
  EXPECT_EQ(t.b.counters().dropsFragmentDuplicate, 2u);
  EXPECT_EQ(t.b.counters().dropsState + t.b.counters().dropsMessageId, n - 3);
  EXPECT_EQ(t.b.counters().requestsProcessed, 2u);
  EXPECT_EQ(t.b.counters().messagesReassembled, 1u);
  deliverAll(t.b);
  expectUp();
  EXPECT_EQ(t.a.counters().retransmits, 1u);
}

TEST_F(IkeFragmentation, LostResponseFragmentIsReplayedFromTheCache) {
  initExchange();
  deliverAll(t.a);
  const size_t n = t.b.net.out.size();
  ASSERT_GE(n, 3u);
  t.drop(t.b, n - 1);
  deliverAll(t.b);
  EXPECT_TRUE(t.a.events.ikeUp.empty());
  t.advance(t.a.mgr->findByPeer("to-b")->tasks().timeoutFor(0) + std::chrono::seconds(1));
  // 2.6.1: fragment 1 of the retransmitted request replays the whole cached response; the
  // other fragments of the answered request are ignored.
  deliverAll(t.a);
  EXPECT_EQ(t.b.counters().responsesReplayed, 1u);
  EXPECT_EQ(t.b.counters().messagesReassembled, 1u);
  ASSERT_EQ(t.b.net.out.size(), n);
  deliverAll(t.b);
  expectUp();
  EXPECT_EQ(t.b.events.childUp.size(), 1u);
}

TEST_F(IkeFragmentation, OffOnEitherSideMeansWholeMessages) {
  for (bool offA : {true, false}) {
    SCOPED_TRACE(offA ? "initiator off" : "responder off");
    TwoParty fresh;
    PeerConfig a = pa, b = pb;
    (offA ? a : b).fragmentation = false;
    ASSERT_TRUE(fresh.a.mgr->addPeer(a).isOk());
    ASSERT_TRUE(fresh.b.mgr->addPeer(b).isOk());
    ASSERT_TRUE(fresh.a.mgr->initiate("to-b", fresh.a.addr).isOk());
    fresh.deliver(fresh.a);
    // 2.3: the responder offers it only if the initiator did and it is on here too.
    Message resp;
    ASSERT_FALSE(resp.parse(fresh.b.net.out.at(0).data));
    EXPECT_EQ(resp.notify(notify::kIkev2FragmentationSupported) != nullptr, false);
    fresh.deliver(fresh.b);
    EXPECT_EQ(fresh.a.mgr->findByPeer("to-b")->fragmentLimit(), 0u);
    ASSERT_EQ(fresh.a.net.out.size(), 1u);  // IKE_AUTH whole, beyond the 548 bytes
    EXPECT_GT(fresh.a.net.out[0].data.size(), kLimit);
    fresh.run();
    EXPECT_EQ(fresh.a.events.ikeUp.size(), 1u);
    EXPECT_EQ(fresh.b.events.ikeUp.size(), 1u);
    EXPECT_EQ(fresh.a.counters().fragmentsSent + fresh.b.counters().fragmentsSent, 0u);
  }
}

TEST_F(IkeFragmentation, FragmentsAreRefusedWhenNotNegotiated) {
  pb.fragmentation = false;
  start();
  roundTrip();
  // A peer that fragments anyway: its fragments are dropped, counted, and change nothing.
  IkeSa* sa = t.a.mgr->findByPeer("to-b");
  ASSERT_NE(sa, nullptr);
  Message auth(ExchangeType::kIkeAuth, false, 1);
  auth.header.spiI = sa->spiI();
  auth.header.spiR = sa->spiR();
  auth.header.flags |= kFlagInitiator;
  auth.addNotify(40000, ByteVec(1500, 7));
  auto frags = fragmentMessage(auth, *sa->outCipher(), kLimit);
  ASSERT_TRUE(frags);
  ASSERT_GT(frags->size(), 1u);
  for (const auto& f : *frags) t.b.mgr->receive(t.b.addr, t.a.addr, f);
  EXPECT_EQ(t.b.counters().dropsFragmentInvalid, frags->size());
  EXPECT_EQ(t.b.counters().fragmentsReceived, 0u);
  EXPECT_TRUE(t.b.net.out.empty());
}

}  // namespace
}  // namespace braid::ike::test
