// Unauthenticated and out-of-state input against a real responder and initiator: none of it
// may crash, and none of it may change an IKE SA's state, message IDs, keys or response cache
// (RFC 7296 2.21, 3.10.1: INVALID_SYNTAX only after the integrity check).
#include "ike_harness.hpp"

namespace braid::ike::test {
namespace {

constexpr size_t kExchangeTypeOffset = 18;

// A plaintext IKE message of any exchange type: built as IKE_SA_INIT (which needs no
// cipher), then the exchange type octet is rewritten, as an attacker would.
ByteVec plaintext(ExchangeType exchange, uint64_t spiI, uint64_t spiR, uint32_t messageId,
                  const std::function<void(Message&)>& build, bool initiatorFlag = true) {
  Message m(ExchangeType::kIkeSaInit, false, messageId);
  m.header.spiI = spiI;
  m.header.spiR = spiR;
  if (initiatorFlag) m.header.flags |= kFlagInitiator;
  build(m);
  auto bytes = m.encode(nullptr);
  EXPECT_TRUE(bytes.isOk());
  ByteVec out = bytes ? std::move(bytes.value()) : ByteVec{};
  if (out.size() > kExchangeTypeOffset) out[kExchangeTypeOffset] = static_cast<uint8_t>(exchange);
  return out;
}

// What an unauthenticated message must not touch.
struct Snapshot {
  IkeSaState state;
  uint32_t nextRequestId, expectedPeerId;
  ByteVec skEi, skAr;
  Endpoint remote;
  size_t children;
  static Snapshot of(IkeSa& sa) {
    return {sa.state(),
            sa.tasks().nextRequestId(),
            sa.tasks().expectedPeerId(),
            ByteVec(sa.keys.skEi.bytes().begin(), sa.keys.skEi.bytes().end()),
            ByteVec(sa.keys.skAr.bytes().begin(), sa.keys.skAr.bytes().end()),
            sa.remote(),
            sa.children().size()};
  }
  void expectSame(IkeSa& sa) const {
    Snapshot now = of(sa);
    EXPECT_EQ(now.state, state);
    EXPECT_EQ(now.nextRequestId, nextRequestId);
    EXPECT_EQ(now.expectedPeerId, expectedPeerId);
    EXPECT_EQ(now.skEi, skEi);
    EXPECT_EQ(now.skAr, skAr);
    EXPECT_EQ(now.remote, remote);
    EXPECT_EQ(now.children, children);
  }
};

class IkeHardening : public IkeTwoPartyTest {
 protected:
  // The responder's IKE SA and its snapshot after a clean establishment.
  IkeSa& responderSa() {
    IkeSa* sa = t.b.mgr->findByPeer("to-a");
    EXPECT_NE(sa, nullptr);
    return *sa;
  }
  // After the attack, a liveness check still completes both ways.
  void expectAlive() {
    EXPECT_TRUE(t.a.mgr->checkLiveness("to-b").isOk());
    EXPECT_EQ(t.run(), 2u);
    EXPECT_TRUE(t.b.mgr->checkLiveness("to-a").isOk());
    EXPECT_EQ(t.run(), 2u);
    EXPECT_EQ(t.a.events.ikeDown.size(), 0u);
    EXPECT_EQ(t.b.events.ikeDown.size(), 0u);
  }
};

// The 52-byte datagram from the issue: an IKE_SA_INIT request with one notify and nothing
// else. The "error notify or COOKIE" relaxation of the payload rules let it reach the task.
TEST_F(IkeHardening, NotifyOnlyInitRequestGetsStatelessInvalidSyntax) {
  ASSERT_TRUE(t.b.mgr->addPeer(pb).isOk());
  for (uint16_t type : {notify::kCookie, notify::kInvalidSyntax, notify::kNoProposalChosen}) {
    ByteVec d = plaintext(ExchangeType::kIkeSaInit, 0x1122334455667788ULL, 0, 0,
                          [&](Message& m) { m.addNotify(type, ByteVec(16, 0xAB)); });
    if (type == notify::kCookie) {
      EXPECT_EQ(d.size(), 52u);
    }
    t.b.mgr->receive(t.b.addr, t.a.addr, d);
    t.advance(1ms);
    EXPECT_EQ(t.b.mgr->ikeSaCount(), 0u) << type;
    ASSERT_EQ(t.b.net.out.size(), 1u) << type;
    Message reply;
    ASSERT_FALSE(reply.parse(t.b.net.out.front().data));
    EXPECT_TRUE(reply.header.response());
    EXPECT_EQ(reply.header.spiR, 0u);  // RFC 7296 2.21.1: stateless
    ASSERT_NE(reply.notify(notify::kInvalidSyntax), nullptr);
    t.b.net.out.clear();
  }
  EXPECT_TRUE(t.b.events.failures.empty());
}

// Each mandatory IKE_SA_INIT payload missing in turn: a stateless INVALID_SYNTAX, no SA.
TEST_F(IkeHardening, InitRequestMissingSaKeOrNonceKeepsNoState) {
  ASSERT_TRUE(t.b.mgr->addPeer(pb).isOk());
  ASSERT_TRUE(t.a.mgr->addPeer(pa).isOk());
  ASSERT_TRUE(t.a.mgr->initiate("to-b", t.a.addr).isOk());
  ByteVec good = t.a.net.out.front().data;
  for (PayloadType drop : {PayloadType::kSa, PayloadType::kKe, PayloadType::kNonce}) {
    Message m;
    ASSERT_FALSE(m.parse(good));
    std::erase_if(m.payloads, [&](const Payload& p) { return p.type == drop; });
    m.addNotify(notify::kCookie, ByteVec(16, 1));  // the relaxation's trigger
    auto bytes = m.encode(nullptr);
    ASSERT_TRUE(bytes.isOk());
    t.b.mgr->receive(t.b.addr, t.a.addr, *bytes);
    t.advance(1ms);
    EXPECT_EQ(t.b.mgr->ikeSaCount(), 0u);
    ASSERT_EQ(t.b.net.out.size(), 1u);
    Message reply;
    ASSERT_FALSE(reply.parse(t.b.net.out.front().data));
    EXPECT_NE(reply.notify(notify::kInvalidSyntax), nullptr);
    t.b.net.out.clear();
  }
  // The genuine request still establishes afterwards.
  t.run();
  EXPECT_EQ(t.a.events.ikeUp.size(), 1u);
  EXPECT_EQ(t.b.events.ikeUp.size(), 1u);
}

// IKE_AUTH without IDi and AUTH, carrying an error notify: integrity-protected, so the
// responder may answer INVALID_SYNTAX (RFC 7296 2.21.2), but must not reach the task.
TEST_F(IkeHardening, AuthRequestWithoutIdiAndAuthIsRefusedNotCrashing) {
  start();
  roundTrip();  // IKE_SA_INIT
  ASSERT_TRUE(t.rewrite(t.a, [](Message& m) {
    std::erase_if(m.payloads, [](const Payload& p) {
      return p.type == PayloadType::kIdi || p.type == PayloadType::kAuth;
    });
    m.addNotify(notify::kInvalidSyntax);
  }));
  t.deliver(t.a);
  EXPECT_EQ(t.b.counters().invalidSyntaxSent, 1u);
  EXPECT_TRUE(t.b.events.ikeUp.empty());
  ASSERT_EQ(t.b.net.out.size(), 1u);
  t.deliver(t.b);
  EXPECT_TRUE(t.a.events.ikeUp.empty());
  EXPECT_EQ(t.a.counters().invalidSyntaxReceived, 1u);
}

// A response relaxation case that must stay: an IKE_AUTH response with an error notify
// alone (AUTHENTICATION_FAILED) is complete.
TEST_F(IkeHardening, ErrorOnlyResponsesStillAccepted) {
  pb.remoteAuth.psk = SecretBytes(asBytes("other"));
  start();
  roundTrip();
  roundTrip();
  EXPECT_EQ(t.a.counters().authFailedByPeer, 1u);
  EXPECT_EQ(t.a.counters().dropsMalformed, 0u);
}

// A plaintext IKE_SA_INIT request carrying the SPIs of an established SA used to run the
// init task again and replace the IKE keys.
TEST_F(IkeHardening, ReplayedInitOnEstablishedSaIsDroppedWithoutStateChange) {
  start();
  ByteVec init = t.a.net.out.front().data;
  t.run();
  ASSERT_EQ(t.b.events.ikeUp.size(), 1u);
  IkeSa& sa = responderSa();
  Snapshot before = Snapshot::of(sa);
  ByteVec replay = init;
  storeBe64(replay.data() + 8, sa.spiR());  // now addressed to the established SA
  for (const ByteVec& d : {init, replay}) {
    t.b.mgr->receive(t.b.addr, t.a.addr, d);
  }
  before.expectSame(sa);
  EXPECT_GE(t.b.counters().dropsState, 1u);
  EXPECT_TRUE(t.b.net.out.empty() || Message().parse(t.b.net.out.front().data) == std::nullopt);
  t.b.net.out.clear();  // the SPIr=0 copy may be answered by a fresh half-open SA, not this one
  expectAlive();
}

// Plaintext IKE_AUTH, CREATE_CHILD_SA and INFORMATIONAL requests to an established SA with
// the next message ID: dropped and counted, never answered (no INVALID_SYNTAX, no ID bump).
TEST_F(IkeHardening, PlaintextRequestsToEstablishedSaAreDroppedSilently) {
  establish();
  IkeSa& sa = responderSa();
  Snapshot before = Snapshot::of(sa);
  for (ExchangeType x :
       {ExchangeType::kIkeAuth, ExchangeType::kCreateChildSa, ExchangeType::kInformational}) {
    ByteVec d = plaintext(x, sa.spiI(), sa.spiR(), sa.tasks().expectedPeerId(), [](Message& m) {
      m.addNotify(notify::kInvalidSyntax);
      m.add(PayloadType::kIdi, Identity::parse("@a.example")->toPayload());
    });
    t.b.mgr->receive(t.b.addr, t.a.addr, d);
    EXPECT_TRUE(t.b.net.out.empty()) << exchangeName(x);
    t.b.net.out.clear();
  }
  before.expectSame(sa);
  EXPECT_EQ(t.b.counters().invalidSyntaxSent, 0u);
  EXPECT_GE(t.b.counters().dropsState + t.b.counters().dropsUnprotected, 3u);
  EXPECT_TRUE(t.b.events.failures.empty());
  expectAlive();
}

// The same against the initiator: plaintext responses and requests are dropped.
TEST_F(IkeHardening, PlaintextMessagesToInitiatorAreDropped) {
  establish();
  IkeSa* sa = t.a.mgr->findByPeer("to-b");
  ASSERT_NE(sa, nullptr);
  Snapshot before = Snapshot::of(*sa);
  for (ExchangeType x :
       {ExchangeType::kIkeSaInit, ExchangeType::kIkeAuth, ExchangeType::kInformational}) {
    ByteVec req = plaintext(
        x, sa->spiI(), sa->spiR(), sa->tasks().expectedPeerId(),
        [](Message& m) { m.addNotify(notify::kAuthenticationFailed); }, false);
    t.a.mgr->receive(t.a.addr, t.b.addr, req);
    ByteVec resp = req;
    resp[19] |= kFlagResponse;
    t.a.mgr->receive(t.a.addr, t.b.addr, resp);
  }
  before.expectSame(*sa);
  EXPECT_TRUE(t.a.net.out.empty());
  EXPECT_TRUE(t.a.events.failures.empty());
  expectAlive();
}

// While the responder waits for IKE_AUTH, a plaintext IKE_AUTH (spoofed) must not destroy
// the half-open SA: the genuine IKE_AUTH still completes.
TEST_F(IkeHardening, PlaintextAuthDuringHandshakeDoesNotKillTheHalfOpenSa) {
  start();
  roundTrip();  // IKE_SA_INIT
  IkeSa* half = nullptr;
  ASSERT_FALSE(t.a.net.out.empty());
  Message real;
  ASSERT_FALSE(real.parse(t.a.net.out.front().data));
  half = t.b.mgr->findBySpi(real.header.spiR);
  ASSERT_NE(half, nullptr);
  ByteVec spoof = plaintext(ExchangeType::kIkeAuth, real.header.spiI, real.header.spiR, 1,
                            [](Message& m) { m.addNotify(notify::kInvalidSyntax); });
  t.b.mgr->receive(t.b.addr, t.a.addr, spoof);
  EXPECT_TRUE(t.b.net.out.empty());
  EXPECT_EQ(half->state(), IkeSaState::kConnecting);
  EXPECT_EQ(half->tasks().expectedPeerId(), 1u);
  t.run();
  EXPECT_EQ(t.a.events.ikeUp.size(), 1u);
  EXPECT_EQ(t.b.events.ikeUp.size(), 1u);
}

// An SK-protected IKE_AUTH request (valid keys: the peer is the one that did the DH) that
// arrives after the SA is established is out of state: dropped, not processed again.
TEST_F(IkeHardening, ProtectedIkeAuthAfterEstablishmentIsOutOfState) {
  start();
  roundTrip();
  ByteVec authReq = t.a.net.out.front().data;
  t.run();
  IkeSa& sa = responderSa();
  // Same bytes: a retransmission, answered from the cache (RFC 7296 2.1).
  t.b.mgr->receive(t.b.addr, t.a.addr, authReq);
  EXPECT_EQ(t.b.net.out.size(), 1u);
  t.b.net.out.clear();
  Snapshot before = Snapshot::of(sa);
  // The same request under the next message ID: would re-run IKE_AUTH.
  IkeSa* ini = t.a.mgr->findByPeer("to-b");
  ASSERT_NE(ini, nullptr);
  injectRequest(*ini, ExchangeType::kIkeAuth, [](Message& m) {
    m.add(PayloadType::kIdi, Identity::parse("@a.example")->toPayload());
    m.add(PayloadType::kAuth, AuthPayload{AuthMethod::kSharedKeyMic, ByteVec(32, 0)});
  });
  ASSERT_EQ(t.a.net.out.size(), 1u);
  t.deliver(t.a);
  EXPECT_TRUE(t.b.net.out.empty());
  before.expectSame(sa);
  EXPECT_EQ(t.b.counters().dropsState, 1u);
  EXPECT_EQ(t.b.counters().authFailed, 0u);
}

// RFC 7296 2.23: only the side that is NOT behind the NAT follows the peer's new address.
TEST_F(IkeHardening, SideBehindNatDoesNotFollowPeerAddressChanges) {
  t.natA = Endpoint{*IpAddress::parse("198.51.100.7"), 31000};
  pb.remote.address = t.natA->address;
  establish();
  IkeSa* sa = t.a.mgr->findByPeer("to-b");
  ASSERT_NE(sa, nullptr);
  ASSERT_TRUE(sa->natLocal());
  Endpoint before = sa->remote();
  // b's authenticated liveness request arrives at a from somewhere else.
  ASSERT_TRUE(t.b.mgr->checkLiveness("to-a").isOk());
  ASSERT_EQ(t.b.net.out.size(), 1u);
  Datagram d = t.b.net.out.front();
  t.b.net.out.clear();
  Endpoint elsewhere{*IpAddress::parse("203.0.113.9"), kNattPort};
  t.a.mgr->receive(Endpoint{t.a.addr.address, kNattPort}, elsewhere, d.data);
  EXPECT_EQ(sa->remote(), before);
  EXPECT_TRUE(t.a.events.moved.empty());
  // The response goes where the request came from (RFC 7296 2.11); a's own next request
  // still goes to the address it configured.
  t.a.net.out.clear();
  ASSERT_TRUE(t.a.mgr->checkLiveness("to-b").isOk());
  ASSERT_EQ(t.a.net.out.size(), 1u);
  EXPECT_EQ(t.a.net.out.front().remote, before);
}

// Failures caused by unauthenticated input are marked so (edge does not fail the path).
TEST_F(IkeHardening, ResponderFailuresBeforeAuthenticationAreUnauthenticated) {
  pb.ikeProposals = proposals("aes128-sha256-modp2048", ProtocolId::kIke);
  start();
  roundTrip();
  ASSERT_EQ(t.b.events.failures.size(), 1u);
  EXPECT_FALSE(t.b.events.failures[0].authenticated);
  ASSERT_EQ(t.a.events.failures.size(), 1u);
  EXPECT_TRUE(t.a.events.failures[0].authenticated);  // our own attempt failed
}

// Fuzz finding F1: the initiator refusing the responder's AUTH deletes an SA that never
// came up; it must not report an IKE SA down (or count one) for it.
TEST_F(IkeHardening, SaThatNeverCameUpNeverGoesDown) {
  pa.remoteAuth.psk = SecretBytes(asBytes("other"));
  start();
  t.run();
  t.advance(10min);
  t.run();
  t.advance(10min);
  EXPECT_TRUE(t.a.events.ikeUp.empty());
  EXPECT_TRUE(t.a.events.ikeDown.empty());
  EXPECT_EQ(t.a.counters().ikeSaDown, 0u);
  EXPECT_EQ(t.b.events.ikeDown.size(), t.b.events.ikeUp.size());
}

// Once the peer's AUTH verified, a Child SA failure is the authenticated peer's doing.
TEST_F(IkeHardening, ChildFailureAfterVerifiedAuthIsAuthenticated) {
  pb.children[0].espProposals = proposals("aes128-sha256", ProtocolId::kEsp);
  establish();
  ASSERT_EQ(t.b.events.failures.size(), 1u);
  EXPECT_EQ(t.b.events.failures[0].kind, FailureKind::kNoProposal);
  EXPECT_TRUE(t.b.events.failures[0].authenticated);
}

}  // namespace
}  // namespace braid::ike::test
