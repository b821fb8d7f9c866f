// MOBIKE (RFC 4555) and uplink address changes in simulated time: the original initiator
// moves its IKE SA and Child SA to a new address without reauthentication (3.5), lost and
// retransmitted UPDATE_SA_ADDRESSES, forged or replayed input that must change nothing, and
// the fallback (no MOBIKE, or the original responder moved): the IKE SA is re-established
// from the new address.
#include "ike_harness.hpp"

namespace braid::ike::test {
namespace {

using namespace std::chrono_literals;

const IpAddress kOldA = *IpAddress::parse("10.0.0.1");
const IpAddress kNewA = *IpAddress::parse("10.0.0.11");

class Mobike : public IkeTwoPartyTest {
 protected:
  IkeSa& saA() { return *t.a.mgr->findByPeer("to-b"); }
  IkeSa& saB() { return *t.b.mgr->findByPeer("to-a"); }
  // The request a sends now carries UPDATE_SA_ADDRESSES, NAT-D and COOKIE2 (3.5).
  void expectUpdateRequest() {
    ASSERT_EQ(t.a.net.out.size(), 1u);
    EXPECT_EQ(t.a.net.out[0].local.address, kNewA);
    EXPECT_TRUE(t.rewrite(t.a, [](Message& m) {
      EXPECT_EQ(m.header.exchange, ExchangeType::kInformational);
      EXPECT_NE(m.notify(notify::kUpdateSaAddresses), nullptr);
      EXPECT_NE(m.notify(notify::kNatDetectionSourceIp), nullptr);
      EXPECT_NE(m.notify(notify::kNatDetectionDestinationIp), nullptr);
      EXPECT_NE(m.notify(notify::kCookie2), nullptr);
    }));
  }
  // Same IKE SA (SPIs), same Child SA, nothing went down, no second IKE_AUTH.
  void expectNoReauth(uint64_t spiI, uint64_t spiR) {
    EXPECT_EQ(saA().spiI(), spiI);
    EXPECT_EQ(saA().spiR(), spiR);
    EXPECT_EQ(saB().spiI(), spiI);
    EXPECT_EQ(t.a.events.ikeUp.size(), 1u);
    EXPECT_EQ(t.b.events.ikeUp.size(), 1u);
    EXPECT_TRUE(t.a.events.ikeDown.empty());
    EXPECT_TRUE(t.b.events.ikeDown.empty());
    EXPECT_TRUE(t.a.events.childDown.empty());
    EXPECT_TRUE(t.b.events.childDown.empty());
    EXPECT_EQ(saA().children().size(), 1u);
    EXPECT_EQ(saB().children().size(), 1u);
  }
};

TEST_F(Mobike, NegotiatedInIkeAuthBothRoles) {
  establish();
  EXPECT_TRUE(saA().mobike());
  EXPECT_TRUE(saB().mobike());
}

TEST_F(Mobike, NotNegotiatedWhenOneSideHasItOff) {
  pb.mobike = false;
  establish();
  EXPECT_FALSE(saA().mobike());
  EXPECT_FALSE(saB().mobike());
}

TEST_F(Mobike, InitiatorMovesIkeSaAndChildSaWithoutReauthentication) {
  establish();
  const uint64_t spiI = saA().spiI(), spiR = saA().spiR();
  t.a.mgr->localAddressChanged(kOldA, kNewA);
  EXPECT_EQ(saA().local().address, kNewA);
  expectUpdateRequest();
  t.deliver(t.a);
  // The responder took the new address from the authenticated request (3.5), for IKE and,
  // through the endpoint event, for ESP.
  EXPECT_EQ(saB().remote().address, kNewA);
  ASSERT_EQ(t.b.events.moved.size(), 1u);
  EXPECT_EQ(t.b.events.moved[0].remote.address, kNewA);
  ASSERT_EQ(t.b.net.out.size(), 1u);
  EXPECT_EQ(t.b.net.out[0].remote.address, kNewA);
  t.deliver(t.b);
  EXPECT_EQ(t.a.counters().mobikeUpdatesInitiated, 1u);
  EXPECT_EQ(t.b.counters().mobikeUpdatesResponded, 1u);
  EXPECT_FALSE(saA().natDetected());
  EXPECT_FALSE(saB().natDetected());
  expectNoReauth(spiI, spiR);
  // Later exchanges use the new address both ways.
  saA().sendLivenessCheck();
  ASSERT_EQ(t.a.net.out.size(), 1u);
  EXPECT_EQ(t.a.net.out[0].local.address, kNewA);
  t.run();
  EXPECT_EQ(t.a.counters().peerNotAnswering, 0u);
}

TEST_F(Mobike, LostRequestAndLostResponseAreRetransmittedFromTheNewAddress) {
  establish();
  const uint64_t spiI = saA().spiI(), spiR = saA().spiR();
  t.a.mgr->localAddressChanged(kOldA, kNewA);
  t.drop(t.a);
  t.advance(1s);  // the first retransmission (RFC 7296 2.1)
  ASSERT_EQ(t.a.net.out.size(), 1u);
  EXPECT_EQ(t.a.net.out[0].local.address, kNewA);
  t.deliver(t.a);
  EXPECT_EQ(saB().remote().address, kNewA);
  t.drop(t.b);  // the response is lost
  t.advance(2s);
  ASSERT_EQ(t.a.net.out.size(), 1u);
  t.deliver(t.a);  // answered from the responder's cache, not processed twice
  EXPECT_EQ(t.b.counters().responsesReplayed, 1u);
  EXPECT_EQ(t.b.counters().mobikeUpdatesResponded, 1u);
  EXPECT_EQ(t.b.events.moved.size(), 1u);
  t.deliver(t.b);
  EXPECT_EQ(t.a.counters().mobikeUpdatesInitiated, 1u);
  EXPECT_GE(t.a.counters().retransmits, 2u);
  expectNoReauth(spiI, spiR);
}

TEST_F(Mobike, AddressChangesAgainWhileTheUpdateRunsTheNewestWins) {
  establish();
  const IpAddress newer = *IpAddress::parse("10.0.0.21");
  t.a.mgr->localAddressChanged(kOldA, kNewA);
  t.a.mgr->localAddressChanged(kNewA, newer);  // before the first answer
  t.drop(t.a);
  t.advance(1s);
  t.run();
  EXPECT_EQ(saA().local().address, newer);
  EXPECT_EQ(saB().remote().address, newer);
  EXPECT_FALSE(saB().natDetected());
}

TEST_F(Mobike, ForgedOrReplayedUpdateChangesNothing) {
  establish();
  const Endpoint bRemote = saB().remote();
  t.a.mgr->localAddressChanged(kOldA, kNewA);
  // A tampered copy (integrity check fails): dropped, no state changes, no answer.
  Datagram d = t.a.net.out[0];
  ByteVec forged = d.data;
  forged[forged.size() - 3] ^= 0x40;
  const uint64_t integrity = t.b.counters().dropsIntegrity;
  t.b.mgr->receive(d.remote, Endpoint{*IpAddress::parse("192.0.2.66"), kIkePort}, forged);
  EXPECT_EQ(t.b.counters().dropsIntegrity, integrity + 1);
  EXPECT_EQ(saB().remote(), bRemote);
  EXPECT_TRUE(t.b.events.moved.empty());
  EXPECT_TRUE(t.b.net.out.empty());
  // The genuine request moves the SA; a replay of it from a spoofed source gets the cached
  // answer and moves nothing (RFC 7296 2.1: a retransmission is not processed again).
  t.deliver(t.a);
  EXPECT_EQ(saB().remote().address, kNewA);
  t.b.mgr->receive(d.remote, Endpoint{*IpAddress::parse("192.0.2.66"), kIkePort}, d.data);
  EXPECT_EQ(saB().remote().address, kNewA);
  EXPECT_EQ(t.b.events.moved.size(), 1u);
  EXPECT_EQ(t.b.counters().mobikeUpdatesResponded, 1u);
}

TEST_F(Mobike, UpdateIsIgnoredWhenMobikeWasNotNegotiated) {
  pa.mobike = true;
  pb.mobike = false;
  establish();
  const Endpoint bRemote = saB().remote();
  // a, as a peer that sends it anyway from another address.
  injectRequest(saA(), ExchangeType::kInformational,
                [](Message& m) { m.addNotify(notify::kUpdateSaAddresses); });
  Datagram d = t.drop(t.a);
  t.b.mgr->receive(d.remote, Endpoint{kNewA, kIkePort}, d.data);
  EXPECT_EQ(saB().remote(), bRemote);
  EXPECT_TRUE(t.b.events.moved.empty());
  EXPECT_EQ(t.b.counters().mobikeUpdatesResponded, 0u);
}

TEST_F(Mobike, ResponderTakesTheNatBehindTheNewAddress) {
  establish();
  t.a.mgr->localAddressChanged(kOldA, kNewA);
  t.natA = Endpoint{*IpAddress::parse("203.0.113.5"), 40000};  // a now behind a NAT
  t.deliver(t.a);
  EXPECT_EQ(saB().remote(), (Endpoint{*IpAddress::parse("203.0.113.5"), 40000}));
  EXPECT_TRUE(saB().natRemote());
  t.deliver(t.b);
  // 3.5: the initiator sees the NAT in the response's NAT-D and floats to port 4500.
  EXPECT_TRUE(saA().natLocal());
  EXPECT_EQ(saA().local().port, kNattPort);
  EXPECT_EQ(saA().remote().port, kNattPort);
}

TEST_F(Mobike, WithoutMobikeTheIkeSaIsReestablishedFromTheNewAddress) {
  pb.mobike = false;
  pb.remoteAny = true;  // a site with a dynamic address: its peer accepts any (%any)
  establish();
  const uint64_t oldSpi = saA().spiI();
  t.a.mgr->localAddressChanged(kOldA, kNewA);
  EXPECT_EQ(t.a.counters().addressChangeReinitiations, 1u);
  EXPECT_EQ(t.a.events.ikeDown.size(), 1u);
  ASSERT_FALSE(t.a.net.out.empty());
  EXPECT_EQ(t.a.net.out[0].local.address, kNewA);  // IKE_SA_INIT from the new address
  t.run();
  ASSERT_EQ(t.a.events.ikeUp.size(), 2u);
  EXPECT_NE(saA().spiI(), oldSpi);
  EXPECT_EQ(saA().local().address, kNewA);
  EXPECT_EQ(saB().remote().address, kNewA);
  EXPECT_EQ(saA().children().size(), 1u);
  // INITIAL_CONTACT (RFC 7296 3.10.1) let b drop the stale SA at once.
  t.advance(1s);
  t.run();
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 1u);
}

TEST_F(Mobike, OriginalResponderReestablishesFromItsNewAddress) {
  pa.remoteAny = true;
  establish();
  const IpAddress newB = *IpAddress::parse("10.0.0.12");
  // RFC 4555 3.5: only the original initiator moves with UPDATE_SA_ADDRESSES.
  t.b.mgr->localAddressChanged(t.b.addr.address, newB);
  EXPECT_EQ(t.b.counters().addressChangeReinitiations, 1u);
  ASSERT_FALSE(t.b.net.out.empty());
  EXPECT_EQ(t.b.net.out[0].local.address, newB);
  t.run();
  ASSERT_NE(t.b.mgr->findByPeer("to-a"), nullptr);
  ASSERT_NE(t.a.mgr->findByPeer("to-b"), nullptr);
  IkeSa& b = saB();
  EXPECT_TRUE(b.initiator());
  EXPECT_EQ(b.state(), IkeSaState::kEstablished);
  EXPECT_EQ(b.local().address, newB);
  EXPECT_EQ(saA().remote().address, newB);
}

TEST_F(Mobike, UnansweredUpdateFailsAndTheRetryStartsFromTheNewAddress) {
  pa.retryInitial = 5s;
  pb.remoteAny = true;
  establish();
  t.a.mgr->localAddressChanged(kOldA, kNewA);
  for (int i = 0; i < 10 && t.a.events.ikeDown.empty(); ++i) {
    while (!t.a.net.out.empty()) t.drop(t.a);
    t.advance(4s);
  }
  EXPECT_EQ(t.a.counters().peerNotAnswering, 1u);
  ASSERT_EQ(t.a.events.ikeDown.size(), 1u);
  t.advance(5s);  // retry_initial
  ASSERT_FALSE(t.a.net.out.empty());
  EXPECT_EQ(t.a.net.out[0].local.address, kNewA);
  t.run();
  ASSERT_EQ(t.a.events.ikeUp.size(), 2u);
  EXPECT_EQ(saA().local().address, kNewA);
}

}  // namespace
}  // namespace braid::ike::test
