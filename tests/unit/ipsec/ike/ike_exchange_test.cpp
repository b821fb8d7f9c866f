// Two-party IKE exchanges (strongSwan test_child_rekey.c style): the test moves every
// datagram by hand and checks events, counters, notifies and log lines on both sides.
#include <cstdio>

#include "ike_harness.hpp"

namespace braid::ike::test {
namespace {

class IkeExchange : public IkeTwoPartyTest {};

TEST_F(IkeExchange, PskEstablishesIkeAndChildSa) {
  start();
  EXPECT_EQ(t.run(), 4u);  // IKE_SA_INIT and IKE_AUTH, one datagram each way
  ASSERT_EQ(t.a.events.childUp.size(), 1u);
  ASSERT_EQ(t.b.events.childUp.size(), 1u);
  const auto& ca = t.a.events.childUp[0];
  const auto& cb = t.b.events.childUp[0];
  expectPair(ca, cb);
  EXPECT_EQ(ca.outbound.cipher, ipsec::EspCipher::kAesGcm16_256);
  EXPECT_EQ(selectorsToString(ca.localTs), "10.1.0.0/16");
  EXPECT_EQ(selectorsToString(ca.remoteTs), "10.2.0.0/16");
  EXPECT_EQ(selectorsToString(cb.localTs), "10.2.0.0/16");
  EXPECT_EQ(ca.remote, t.b.addr);
  EXPECT_EQ(cb.remote, t.a.addr);
  EXPECT_EQ(t.a.events.ikeUp[0].remoteId, *Identity::parse("@b.example"));
  EXPECT_EQ(t.b.events.ikeUp[0].remoteId, *Identity::parse("@a.example"));
  EXPECT_FALSE(t.a.events.ikeUp[0].natDetected);
  EXPECT_EQ(t.a.counters().ikeSaUp, 1u);
  EXPECT_EQ(t.b.counters().childSaUp, 1u);
  // Key log: one IKE SA and two ESP SAs on each side.
  EXPECT_EQ(t.a.keys.ike.size(), 1u);
  EXPECT_EQ(t.a.keys.esp.size(), 2u);
  EXPECT_TRUE(log.lines.empty()) << log.lines[0];
}

TEST_F(IkeExchange, WrongPskFailsOnBothSidesWithOneLineEach) {
  pb.remoteAuth.psk = SecretBytes(asBytes("other"));
  start();
  roundTrip();     // IKE_SA_INIT
  t.deliver(t.a);  // IKE_AUTH request
  ASSERT_EQ(t.b.net.out.size(), 1u);
  t.deliver(t.b);
  EXPECT_EQ(t.b.counters().authFailed, 1u);
  EXPECT_EQ(t.a.counters().authFailedByPeer, 1u);
  EXPECT_EQ(log.count("pre-shared key mismatch"), 1u);
  EXPECT_EQ(log.count("AUTHENTICATION_FAILED"), 2u);  // b's cause, a's refusal
  EXPECT_EQ(log.lines.size(), 2u);                    // one line per side, nothing else
  EXPECT_TRUE(t.a.events.ikeUp.empty());
  EXPECT_TRUE(t.b.events.ikeUp.empty());
  ASSERT_EQ(t.b.events.failures.size(), 1u);
  EXPECT_EQ(t.b.events.failures[0].kind, FailureKind::kAuthFailed);
  EXPECT_TRUE(t.a.events.failures[0].byPeer);
  t.advance(1ms);
  EXPECT_EQ(t.a.mgr->ikeSaCount(), 0u);
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 0u);
}

TEST_F(IkeExchange, InitiatorRejectsResponderAuthAndTellsIt) {
  pa.remoteAuth.psk = SecretBytes(asBytes("other"));
  start();
  t.run();
  EXPECT_EQ(t.a.counters().authFailed, 1u);
  // b had considered the SA up; the INFORMATIONAL tells it (RFC 7296 2.21.2).
  EXPECT_EQ(t.b.counters().authFailedByPeer, 1u);
  EXPECT_EQ(t.b.events.ikeDown.size(), 1u);
  EXPECT_EQ(t.b.events.childDown.size(), 1u);
  EXPECT_TRUE(t.a.events.ikeUp.empty());
}

TEST_F(IkeExchange, NoIkeProposalLogsBothLists) {
  pb.ikeProposals = proposals("aes128-sha256-modp2048", ProtocolId::kIke);
  start();
  roundTrip();
  EXPECT_EQ(t.b.counters().noProposal, 1u);
  EXPECT_EQ(t.a.counters().noProposalByPeer, 1u);
  EXPECT_EQ(log.count("aes256gcm16-prfsha256-x25519"), 2u);
  EXPECT_EQ(log.count("aes128-sha256"), 1u);
  EXPECT_TRUE(t.a.net.out.empty());
  t.advance(1ms);
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 0u);  // no state kept for a refused IKE_SA_INIT
}

TEST_F(IkeExchange, UnknownIdentityGetsAuthenticationFailed) {
  pb.remoteId = *Identity::parse("@c.example");
  start();
  t.run();
  EXPECT_EQ(t.b.counters().unknownIdentity, 1u);
  EXPECT_EQ(t.a.counters().authFailedByPeer, 1u);
  EXPECT_EQ(log.count("unknown identity a.example"), 1u);
}

TEST_F(IkeExchange, SecondConfigChosenByIdentity) {
  pb.remoteId = *Identity::parse("@c.example");
  PeerConfig alt = pskPeer("alt", t.a.addr.address, "@b.example", "@a.example", "secret");
  alt.children = pb.children;
  ASSERT_TRUE(t.b.mgr->addPeer(alt).isOk());
  start();
  t.run();
  ASSERT_EQ(t.b.events.ikeUp.size(), 1u);
  EXPECT_EQ(t.b.events.ikeUp[0].peer, "alt");
}

TEST_F(IkeExchange, TsUnacceptableKeepsIkeSa) {
  pb.children[0].remoteTs = {ts("192.168.0.0/24")};
  start();
  t.run();
  EXPECT_EQ(t.a.events.ikeUp.size(), 1u);
  EXPECT_EQ(t.b.events.ikeUp.size(), 1u);
  EXPECT_TRUE(t.a.events.childUp.empty());
  EXPECT_TRUE(t.b.events.childUp.empty());
  EXPECT_EQ(t.b.counters().tsUnacceptable, 1u);
  EXPECT_EQ(t.a.counters().tsUnacceptableByPeer, 1u);
  EXPECT_EQ(log.count("TS_UNACCEPTABLE"), 2u);
  EXPECT_EQ(t.a.mgr->findByPeer("to-b")->state(), IkeSaState::kEstablished);
  // The IKE SA still works: an additional Child SA with acceptable selectors comes up.
  pa.children.clear();
}

TEST_F(IkeExchange, ChildNoProposalKeepsIkeSa) {
  pb.children[0].espProposals = proposals("chacha20poly1305", ProtocolId::kEsp);
  start();
  t.run();
  EXPECT_EQ(t.a.events.ikeUp.size(), 1u);
  EXPECT_TRUE(t.a.events.childUp.empty());
  EXPECT_EQ(t.b.counters().noProposal, 1u);
  EXPECT_EQ(t.a.counters().noProposalByPeer, 1u);
  EXPECT_EQ(log.count("chacha20poly1305"), 1u);
  EXPECT_EQ(log.count("aes256gcm16"), 2u);
}

TEST_F(IkeExchange, InvalidKeRetryWithRequestedGroup) {
  pa.ikeProposals = proposals("aes256gcm16-prfsha256-ecp256-x25519", ProtocolId::kIke);
  start();
  roundTrip();
  EXPECT_EQ(t.b.counters().invalidKeSent, 1u);
  EXPECT_EQ(t.a.counters().invalidKeReceived, 1u);
  t.run();
  EXPECT_EQ(t.a.events.childUp.size(), 1u);
  EXPECT_EQ(t.a.mgr->findByPeer("to-b")->suite.dh, DhGroup::kCurve25519);
  EXPECT_EQ(log.count("INVALID_KE_PAYLOAD"), 1u);  // b's line; a's retry is info only
}

TEST_F(IkeExchange, LostRequestIsRetransmittedWithBackoff) {
  start();
  t.drop(t.a);  // IKE_SA_INIT lost
  t.advance(999ms);
  EXPECT_TRUE(t.a.net.out.empty());
  t.advance(1ms);
  ASSERT_EQ(t.a.net.out.size(), 1u);
  t.drop(t.a);
  t.advance(1999ms);
  EXPECT_TRUE(t.a.net.out.empty());
  t.advance(1ms);  // base 2: second retransmit 2 s after the first
  ASSERT_EQ(t.a.net.out.size(), 1u);
  EXPECT_EQ(t.a.counters().retransmits, 2u);
  t.run();
  EXPECT_EQ(t.a.events.childUp.size(), 1u);
}

TEST_F(IkeExchange, LostResponseIsAnsweredFromCache) {
  start();
  roundTrip();
  t.deliver(t.a);  // IKE_AUTH request processed by b
  EXPECT_EQ(t.b.events.ikeUp.size(), 1u);
  uint64_t processed = t.b.counters().requestsProcessed;
  Datagram lost = t.drop(t.b);
  t.advance(1s);
  t.deliver(t.a);  // retransmitted request
  EXPECT_EQ(t.b.counters().responsesReplayed, 1u);
  EXPECT_EQ(t.b.counters().requestsProcessed, processed);
  EXPECT_EQ(t.b.events.ikeUp.size(), 1u);  // nothing processed twice
  EXPECT_EQ(t.b.events.childUp.size(), 1u);
  ASSERT_EQ(t.b.net.out.size(), 1u);
  EXPECT_EQ(t.b.net.out[0].data, lost.data);  // byte-identical replay
  t.deliver(t.b);
  EXPECT_EQ(t.a.events.childUp.size(), 1u);
  expectPair(t.a.events.childUp[0], t.b.events.childUp[0]);
}

TEST_F(IkeExchange, DuplicatedMessagesAreHarmless) {
  start();
  t.duplicate(t.a);  // IKE_SA_INIT twice: the second is a retransmission for b
  t.deliver(t.a);
  EXPECT_EQ(t.b.counters().responsesReplayed, 1u);
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 1u);
  ASSERT_EQ(t.b.net.out.size(), 2u);
  EXPECT_EQ(t.b.net.out[0].data, t.b.net.out[1].data);
  t.deliver(t.b);
  t.deliver(t.b);  // the same response again: stale for a
  EXPECT_EQ(t.a.counters().dropsMessageId, 1u);
  t.duplicate(t.a);  // IKE_AUTH twice
  t.run();
  EXPECT_EQ(t.b.counters().responsesReplayed, 2u);
  EXPECT_EQ(t.a.events.childUp.size(), 1u);
  EXPECT_EQ(t.b.events.childUp.size(), 1u);
  EXPECT_EQ(t.a.counters().dropsMessageId, 2u);
}

TEST_F(IkeExchange, OldRequestAfterNewerOneIsDropped) {
  start();
  roundTrip();
  Datagram auth = t.a.net.out[0];
  roundTrip();  // IKE_AUTH
  ASSERT_TRUE(t.a.mgr->checkLiveness("to-b").isOk());
  roundTrip();  // INFORMATIONAL, ID 2: b's cache now holds it
  uint64_t processed = t.b.counters().requestsProcessed;
  t.b.mgr->receive(t.b.addr, t.a.addr, auth.data);  // reordered, late ID 1
  // IKE_AUTH on an established SA: out of state before its message ID is even looked at.
  EXPECT_EQ(t.b.counters().dropsState, 1u);
  EXPECT_EQ(t.b.counters().requestsProcessed, processed);
  EXPECT_TRUE(t.b.net.out.empty());
}

TEST_F(IkeExchange, RetransmitJitterShortensTimeout) {
  pa.retransmit.jitterPercent = 50;
  start();
  t.drop(t.a);
  t.advance(499ms);
  EXPECT_TRUE(t.a.net.out.empty());  // at most 50 % shorter
  for (int i = 0; i < 501 && t.a.net.out.empty(); ++i) t.advance(1ms);
  EXPECT_EQ(t.a.net.out.size(), 1u);
  EXPECT_EQ(t.a.counters().retransmits, 1u);
}

TEST_F(IkeExchange, MalformedProtectedRequestGetsInvalidSyntax) {
  start();
  roundTrip();  // keys exist now
  // A forged IKE_AUTH request without IDi, AUTH or EAP, protected with a's real keys.
  IkeSa* sa = t.a.mgr->findByPeer("to-b");
  Message bad(ExchangeType::kIkeAuth, false, 1);
  bad.header.spiI = sa->spiI();
  bad.header.spiR = sa->spiR();
  bad.header.flags |= kFlagInitiator;
  bad.addNotify(notify::kInitialContact);
  auto bytes = bad.encode(sa->outCipher());
  ASSERT_TRUE(bytes.isOk());
  t.b.mgr->receive(t.b.addr, t.a.addr, *bytes);
  EXPECT_EQ(t.b.counters().invalidSyntaxSent, 1u);
  EXPECT_EQ(log.count("INVALID_SYNTAX in reply to IKE_AUTH request 1: IDi payload missing"), 1u);
  t.drop(t.a);     // a's real IKE_AUTH request never arrives
  t.deliver(t.b);  // a gets the INVALID_SYNTAX response to its ID 1
  EXPECT_EQ(t.a.counters().invalidSyntaxReceived, 1u);
  EXPECT_EQ(log.count("IKE_AUTH refused by peer: INVALID_SYNTAX"), 1u);
  t.advance(1ms);
  EXPECT_EQ(t.a.mgr->ikeSaCount(), 0u);
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 0u);  // RFC 7296 2.21.2: IKE_AUTH errors end the SA
}

TEST_F(IkeExchange, NoConfigForAddressGetsNoProposalChosen) {
  pb.remote.address = *IpAddress::parse("10.0.0.99");
  start();
  roundTrip();
  EXPECT_EQ(t.b.counters().dropsNoConfig, 1u);
  EXPECT_EQ(t.a.counters().noProposalByPeer, 1u);
  EXPECT_EQ(log.count("no peer config for this address"), 1u);
}

TEST_F(IkeExchange, PeerNotAnsweringGivesUpWithOneLine) {
  pa.retryInitial = std::chrono::seconds(5);
  start();
  for (int i = 0; i < 20; ++i) {
    t.a.net.out.clear();
    t.advance(1s);
  }
  EXPECT_EQ(t.a.counters().retransmits, 3u);
  EXPECT_EQ(t.a.counters().peerNotAnswering, 1u);
  EXPECT_EQ(log.count("peer not answering"), 1u);
  EXPECT_EQ(log.count("after 3 retransmits"), 1u);
  // 1 + 2 + 4 + 8 s, then a new attempt 5 s later.
  EXPECT_EQ(t.a.counters().initiateRetries, 1u);
}

TEST_F(IkeExchange, FailedInitiatorRetriesWithBackoff) {
  pa.retryInitial = std::chrono::seconds(5);
  pb.remoteAuth.psk = SecretBytes(asBytes("wrong"));
  start();
  t.run();
  EXPECT_EQ(t.a.counters().authFailedByPeer, 1u);
  t.advance(4999ms);
  EXPECT_TRUE(t.a.net.out.empty());
  t.advance(1ms);
  EXPECT_EQ(t.a.net.out.size(), 1u);
  t.run();
  EXPECT_EQ(t.a.counters().authFailedByPeer, 2u);
  t.advance(9999ms);  // doubled
  EXPECT_TRUE(t.a.net.out.empty());
  t.advance(1ms);
  EXPECT_EQ(t.a.net.out.size(), 1u);
  EXPECT_EQ(t.a.counters().initiateRetries, 2u);
}

TEST_F(IkeExchange, ResponderNarrowsSelectors) {
  pb.children[0].localTs = {ts("10.2.1.0/24"), ts("10.2.7.0/24")};
  start();
  t.run();
  ASSERT_EQ(t.a.events.childUp.size(), 1u);
  EXPECT_EQ(selectorsToString(t.a.events.childUp[0].remoteTs), "10.2.1.0/24 10.2.7.0/24");
  EXPECT_EQ(selectorsToString(t.b.events.childUp[0].localTs), "10.2.1.0/24 10.2.7.0/24");
  EXPECT_EQ(selectorsToString(t.a.events.childUp[0].localTs), "10.1.0.0/16");
}

std::string spiHex(uint32_t spi) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", spi);
  return buf;
}

// Sets every selector of the TSi or TSr payload (as a misbehaving responder would).
void setSelectors(Message& m, PayloadType type, std::vector<TrafficSelector> selectors) {
  for (auto& p : m.payloads) {
    if (p.type == type) std::get<TsPayload>(p.body).selectors = selectors;
  }
}

TEST_F(IkeExchange, WiderSelectorsInIkeAuthAreRefusedAndTheResponderHalfDeleted) {
  start();
  roundTrip();     // IKE_SA_INIT
  t.deliver(t.a);  // IKE_AUTH request: b installs its half of "net"
  ASSERT_EQ(t.b.events.childUp.size(), 1u);
  const uint32_t aSpi = t.b.events.childUp[0].outbound.spi;  // the SPI a chose for "net"
  // RFC 7296 2.9: the responder may only narrow; this one answers 10.2.0.0/15 for 10.2.0.0/16.
  ASSERT_TRUE(
      t.rewrite(t.b, [](Message& m) { setSelectors(m, PayloadType::kTsr, {ts("10.2.0.0/15")}); }));
  t.deliver(t.b);
  EXPECT_EQ(t.a.events.ikeUp.size(), 1u);  // a Child SA failure keeps the IKE SA
  EXPECT_TRUE(t.a.events.childUp.empty());
  EXPECT_EQ(t.a.counters().tsUnacceptable, 1u);
  EXPECT_EQ(t.a.counters().refusedChildDeletes, 1u);
  const std::string line = "exceed ours 10.1.0.0/16 === 10.2.0.0/16; deleting the peer's Child SA";
  EXPECT_EQ(log.count(line + " (SPI " + spiHex(aSpi) + ")"), 1u);
  // The next request is an INFORMATIONAL Delete naming a's inbound SPI (RFC 7296 3.11).
  ASSERT_EQ(t.a.net.out.size(), 1u);
  IkeSa* sb = t.b.mgr->findByPeer("to-a");
  Message del;
  ASSERT_FALSE(del.decode(t.a.net.out[0].data, sb->inCipher()));
  EXPECT_EQ(del.header.exchange, ExchangeType::kInformational);
  const auto* d = del.get<DeletePayload>(PayloadType::kDelete);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->protocol, ProtocolId::kEsp);
  EXPECT_EQ(d->spis, std::vector<uint32_t>{aSpi});
  EXPECT_EQ(t.run(), 2u);
  ASSERT_EQ(t.b.events.childDown.size(), 1u);
  EXPECT_EQ(t.b.events.childDown[0].outbound.spi, aSpi);
  EXPECT_TRUE(sb->children().empty());
  EXPECT_TRUE(t.a.events.childDown.empty());  // nothing was installed on a
  EXPECT_EQ(t.a.mgr->findByPeer("to-b")->state(), IkeSaState::kEstablished);
  EXPECT_EQ(sb->state(), IkeSaState::kEstablished);
  EXPECT_EQ(log.lines.size(), 1u) << log.lines[0];
}

TEST_F(IkeExchange, WiderSelectorsInCreateChildSaAreRefusedAndTheResponderHalfDeleted) {
  pa.children.push_back(child("voice", {ts("10.3.5.0/24")}, {ts("10.4.5.0/24")}));
  pb.children.push_back(child("voice", {ts("10.4.0.0/16")}, {ts("10.3.0.0/16")}));
  establish();
  ASSERT_TRUE(t.a.mgr->createChild("to-b", "voice").isOk());
  t.deliver(t.a);
  ASSERT_EQ(t.b.events.childUp.size(), 2u);
  const uint32_t aSpi = t.b.events.childUp[1].outbound.spi;
  // TSi wider than a's own 10.3.5.0/24 (b should have narrowed to it).
  ASSERT_TRUE(
      t.rewrite(t.b, [](Message& m) { setSelectors(m, PayloadType::kTsi, {ts("10.3.0.0/16")}); }));
  t.deliver(t.b);
  EXPECT_EQ(t.a.events.childUp.size(), 1u);
  EXPECT_EQ(t.a.counters().refusedChildDeletes, 1u);
  EXPECT_EQ(log.count("'voice': peer's traffic selectors 10.3.0.0/16 === 10.4.5.0/24 exceed"), 1u);
  EXPECT_EQ(t.run(), 2u);
  ASSERT_EQ(t.b.events.childDown.size(), 1u);
  EXPECT_EQ(t.b.events.childDown[0].child, "voice");
  EXPECT_EQ(t.b.events.childDown[0].outbound.spi, aSpi);
  IkeSa* sb = t.b.mgr->findByPeer("to-a");
  ASSERT_EQ(sb->children().size(), 1u);  // "net" stays
  EXPECT_EQ(sb->children()[0]->config->name, "net");
  // The IKE SA goes on: "voice" again, this time answered properly.
  ASSERT_TRUE(t.a.mgr->createChild("to-b", "voice").isOk());
  EXPECT_EQ(t.run(), 2u);
  ASSERT_EQ(t.a.events.childUp.size(), 2u);
  expectPair(t.a.events.childUp[1], t.b.events.childUp[2]);
}

TEST_F(IkeExchange, InitiatorProposesSeveralSubnetsResponderPicks) {
  pa.children[0].remoteTs = {ts("10.2.0.0/24"), ts("10.9.0.0/24"), ts("fd00:2::/64")};
  pb.children[0].localTs = {ts("10.9.0.0/16"), ts("fd00:2::/48")};
  start();
  t.run();
  ASSERT_EQ(t.a.events.childUp.size(), 1u);
  EXPECT_EQ(selectorsToString(t.a.events.childUp[0].remoteTs), "10.9.0.0/24 fd00:2::/64");
}

TEST_F(IkeExchange, CreateChildWithoutPfs) {
  pa.children.push_back(child("voice", {ts("10.1.5.0/24")}, {ts("10.2.5.0/24")}));
  pb.children.push_back(child("voice", {ts("10.2.5.0/24")}, {ts("10.1.5.0/24")}));
  establish();
  ASSERT_TRUE(t.a.mgr->createChild("to-b", "voice").isOk());
  EXPECT_EQ(t.run(), 2u);
  ASSERT_EQ(t.a.events.childUp.size(), 2u);
  ASSERT_EQ(t.b.events.childUp.size(), 2u);
  EXPECT_EQ(t.a.events.childUp[1].child, "voice");
  expectPair(t.a.events.childUp[1], t.b.events.childUp[1]);
  EXPECT_NE(t.a.events.childUp[0].inbound.keymat, t.a.events.childUp[1].inbound.keymat);
}

TEST_F(IkeExchange, CreateChildWithPfs) {
  pa.children.push_back(
      child("pfs", {ts("10.1.6.0/24")}, {ts("10.2.6.0/24")}, "aes128gcm16-x25519"));
  pb.children.push_back(
      child("pfs", {ts("10.2.6.0/24")}, {ts("10.1.6.0/24")}, "aes128gcm16-x25519"));
  establish();
  ASSERT_TRUE(t.a.mgr->createChild("to-b", "pfs").isOk());
  Message req;
  ASSERT_FALSE(req.parse(t.a.net.out[0].data));
  t.run();
  ASSERT_EQ(t.a.events.childUp.size(), 2u);
  expectPair(t.a.events.childUp[1], t.b.events.childUp[1]);
  EXPECT_EQ(t.a.events.childUp[1].outbound.cipher, ipsec::EspCipher::kAesGcm16_128);
  EXPECT_EQ(t.a.mgr->findByPeer("to-b")->children()[1]->suite.dh, DhGroup::kCurve25519);
}

TEST_F(IkeExchange, CreateChildPfsInvalidKeRetry) {
  pa.children.push_back(
      child("pfs", {ts("10.1.6.0/24")}, {ts("10.2.6.0/24")}, "aes128gcm16-ecp256-x25519"));
  pb.children.push_back(
      child("pfs", {ts("10.2.6.0/24")}, {ts("10.1.6.0/24")}, "aes128gcm16-x25519"));
  establish();
  ASSERT_TRUE(t.a.mgr->createChild("to-b", "pfs").isOk());
  t.run();
  EXPECT_EQ(t.b.counters().invalidKeSent, 1u);
  EXPECT_EQ(t.a.counters().invalidKeReceived, 1u);
  ASSERT_EQ(t.a.events.childUp.size(), 2u);
  expectPair(t.a.events.childUp[1], t.b.events.childUp[1]);
}

TEST_F(IkeExchange, DeleteChildSa) {
  establish();
  uint32_t spi = t.a.events.childUp[0].inbound.spi;
  ASSERT_TRUE(t.a.mgr->deleteChild("to-b", spi).isOk());
  EXPECT_EQ(t.run(), 2u);
  ASSERT_EQ(t.a.events.childDown.size(), 1u);
  ASSERT_EQ(t.b.events.childDown.size(), 1u);
  EXPECT_EQ(t.a.events.childDown[0].inbound.spi, spi);
  EXPECT_EQ(t.b.events.childDown[0].outbound.spi, spi);
  EXPECT_TRUE(t.a.events.ikeDown.empty());
  EXPECT_TRUE(t.a.mgr->findByPeer("to-b")->children().empty());
}

TEST_F(IkeExchange, DeleteIkeSaFromResponder) {
  establish();
  ASSERT_TRUE(t.b.mgr->deleteIkeSa("to-a").isOk());
  t.run();
  t.advance(1ms);
  EXPECT_EQ(t.a.events.ikeDown.size(), 1u);
  EXPECT_EQ(t.b.events.ikeDown.size(), 1u);
  EXPECT_EQ(t.a.events.childDown.size(), 1u);
  EXPECT_EQ(t.a.mgr->ikeSaCount(), 0u);
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 0u);
  EXPECT_TRUE(log.lines.empty());
}

TEST_F(IkeExchange, LivenessCheck) {
  establish();
  ASSERT_TRUE(t.a.mgr->checkLiveness("to-b").isOk());
  EXPECT_EQ(t.run(), 2u);
  EXPECT_EQ(t.a.counters().responsesProcessed, 3u);
}

// Edge's round-trip check (pathmon): only a response to our request proves our direction,
// and a lost request can be sent again at once, identical, without waiting for the 4 s
// retransmission timeout (RFC 7296 2.1 leaves its timing to the initiator).
TEST_F(IkeExchange, LivenessCheckResentNowAndOnlyResponsesProveTheRoundTrip) {
  establish();
  IkeSa* sa = t.a.mgr->findByPeer("to-b");
  ASSERT_NE(sa, nullptr);
  t.advance(10ms);
  const TimePoint before = sa->lastResponse();
  // A request from the peer is an authenticated message but not a response.
  ASSERT_TRUE(t.b.mgr->checkLiveness("to-a").isOk());
  t.run();
  EXPECT_GT(sa->lastMessage(), before);
  EXPECT_EQ(sa->lastResponse(), before);
  // Our check, lost on the way.
  ASSERT_TRUE(sa->checkLivenessIfIdle());
  const Datagram lost = t.drop(t.a);
  EXPECT_FALSE(sa->checkLivenessIfIdle());  // in flight: nothing new
  EXPECT_TRUE(t.a.net.out.empty());
  t.advance(100ms);
  const uint64_t retransmits = t.a.counters().retransmits;
  ASSERT_TRUE(sa->checkLivenessIfIdle(true));  // sent again now, the same datagram
  ASSERT_EQ(t.a.net.out.size(), 1u);
  EXPECT_EQ(t.a.net.out[0].data, lost.data);
  EXPECT_EQ(t.a.counters().retransmits, retransmits + 1);
  t.run();
  EXPECT_EQ(sa->lastResponse(), t.clock.now());
  EXPECT_TRUE(sa->checkLivenessIfIdle(true));  // answered: a new check, not a resend
  EXPECT_EQ(t.run(), 2u);
}

TEST_F(IkeExchange, NatDetectedFloatsTo4500) {
  t.natA = Endpoint{*IpAddress::parse("198.51.100.7"), 31000};
  pb.remote.address = t.natA->address;
  start();
  t.deliver(t.a);
  t.deliver(t.b);
  ASSERT_EQ(t.a.net.out.size(), 1u);
  EXPECT_EQ(t.a.net.out[0].local.port, kNattPort);  // IKE_AUTH with the non-ESP marker
  EXPECT_EQ(t.a.net.out[0].remote.port, kNattPort);
  t.run();
  ASSERT_EQ(t.b.events.childUp.size(), 1u);
  EXPECT_TRUE(t.a.events.ikeUp[0].natDetected);
  EXPECT_TRUE(t.b.events.ikeUp[0].natDetected);
  EXPECT_TRUE(t.a.events.ikeUp[0].behindNat);
  EXPECT_FALSE(t.b.events.ikeUp[0].behindNat);
  EXPECT_EQ(t.a.events.childUp[0].remote, (Endpoint{t.b.addr.address, kNattPort}));
  EXPECT_EQ(t.b.events.childUp[0].remote, (Endpoint{t.natA->address, 31001}));
  EXPECT_TRUE(t.a.mgr->findByPeer("to-b")->natLocal());
  EXPECT_TRUE(t.b.mgr->findByPeer("to-a")->natRemote());
}

TEST_F(IkeExchange, NatRebindingUpdatesPeerEndpoint) {
  t.natA = Endpoint{*IpAddress::parse("198.51.100.7"), 31000};
  pb.remote.address = t.natA->address;
  establish();
  t.natA->port = 42000;  // the NAT mapping changed
  ASSERT_TRUE(t.a.mgr->checkLiveness("to-b").isOk());
  t.run();
  ASSERT_EQ(t.b.events.moved.size(), 1u);
  EXPECT_EQ(t.b.events.moved[0].remote, (Endpoint{t.natA->address, 42001}));
  EXPECT_EQ(t.b.counters().peerEndpointChanges, 1u);
}

TEST_F(IkeExchange, ForcedEncapsulationWithoutNat) {
  pa.forceEncap = true;
  start();
  t.run();
  ASSERT_EQ(t.b.events.childUp.size(), 1u);
  EXPECT_EQ(t.a.events.childUp[0].remote.port, kNattPort);
  EXPECT_EQ(t.b.events.childUp[0].remote.port, kNattPort);
  EXPECT_TRUE(t.b.events.ikeUp[0].natDetected);
}

TEST_F(IkeExchange, UnknownCriticalPayloadInIkeSaInit) {
  ASSERT_TRUE(t.b.mgr->addPeer(pb).isOk());
  ASSERT_TRUE(t.a.mgr->addPeer(pa).isOk());
  ASSERT_TRUE(t.a.mgr->initiate("to-b", t.a.addr).isOk());
  Message m;
  ASSERT_FALSE(m.parse(t.a.net.out[0].data));
  m.payloads.push_back(Payload{static_cast<PayloadType>(200), true, false, UnknownPayload{{1, 2}}});
  auto bytes = m.encode(nullptr);
  ASSERT_TRUE(bytes.isOk());
  t.b.mgr->receive(t.b.addr, t.a.addr, *bytes);
  ASSERT_EQ(t.b.net.out.size(), 1u);
  Message resp;
  ASSERT_FALSE(resp.decode(t.b.net.out[0].data, nullptr));
  const NotifyPayload* n = resp.notify(notify::kUnsupportedCriticalPayload);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->data, ByteVec{200});
  EXPECT_EQ(t.b.counters().unsupportedCritical, 1u);
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 0u);
  // The same payload without the critical bit is skipped.
  m.payloads.back().critical = false;
  t.b.net.out.clear();
  t.b.mgr->receive(t.b.addr, t.a.addr, *m.encode(nullptr));
  ASSERT_EQ(t.b.net.out.size(), 1u);
  ASSERT_FALSE(resp.decode(t.b.net.out[0].data, nullptr));
  EXPECT_NE(resp.get<SaPayload>(PayloadType::kSa), nullptr);
}

TEST_F(IkeExchange, GarbageIsCountedNeverAnswered) {
  establish();
  ByteVec junk(60, 0xAB);
  t.b.mgr->receive(t.b.addr, t.a.addr, junk);
  ByteVec shortMsg(10, 0);
  t.b.mgr->receive(t.b.addr, t.a.addr, shortMsg);
  EXPECT_EQ(t.b.counters().dropsMalformed, 2u);
  EXPECT_TRUE(t.b.net.out.empty());
}

// ---- braid shim negotiation: N(BRAID_SHIM_SUPPORTED) in IKE_AUTH (issue 12) -----------

void setShimData(Message& m, const ByteVec& data) {
  size_t found = 0;
  for (auto& p : m.payloads) {
    auto* n = std::get_if<NotifyPayload>(&p.body);
    if (n == nullptr || n->notifyType != notify::kBraidShimSupported) continue;
    n->data = data;
    ++found;
  }
  EXPECT_EQ(found, 1u);
}

// Adds the notify to a plaintext IKE_SA_INIT datagram, as a peer would have sent it.
ByteVec withShimNotify(const ByteVec& datagram) {
  Message m;
  EXPECT_FALSE(m.parse(datagram));
  m.addNotify(notify::kBraidShimSupported, ByteVec{notify::kBraidShimVersion});
  auto bytes = m.encode(nullptr);
  EXPECT_TRUE(bytes.isOk());
  return bytes ? std::move(bytes.value()) : ByteVec{};
}

class IkeShim : public IkeTwoPartyTest {
 protected:
  // Every IKE and Child SA up event on both sides carries `on`.
  void expectShim(bool on) {
    for (Party* p : {&t.a, &t.b}) {
      ASSERT_EQ(p->events.ikeUp.size(), 1u) << p->name;
      EXPECT_EQ(p->events.ikeUp[0].shim, on) << p->name;
      ASSERT_FALSE(p->events.childUp.empty()) << p->name;
      for (const auto& c : p->events.childUp) EXPECT_EQ(c.shim, on) << p->name << " " << c.child;
      EXPECT_TRUE(p->events.failures.empty()) << p->name;
    }
  }
  // The notify's data in the protected datagram `from` sends next (decrypted with the
  // receiver's keys); nullopt when it carries none.
  std::optional<ByteVec> shimNotifyIn(Party& from) {
    Message m;
    EXPECT_FALSE(m.parse(from.net.out.at(0).data));
    IkeSa* receiver =
        t.other(from).mgr->findBySpi(m.header.initiator() ? m.header.spiR : m.header.spiI);
    EXPECT_TRUE(receiver && receiver->inCipher());
    if (!receiver || !receiver->inCipher()) return std::nullopt;
    EXPECT_FALSE(m.decrypt(*receiver->inCipher()));
    const NotifyPayload* n = m.notify(notify::kBraidShimSupported);
    return n ? std::optional<ByteVec>(n->data) : std::nullopt;
  }
};

TEST_F(IkeShim, BothOfferSoBothSidesAndLaterChildSasHaveIt) {
  pa.offerShim = pb.offerShim = true;
  pa.children.push_back(child("voice", {ts("10.1.5.0/24")}, {ts("10.2.5.0/24")}));
  pb.children.push_back(child("voice", {ts("10.2.5.0/24")}, {ts("10.1.5.0/24")}));
  start();
  roundTrip();  // IKE_SA_INIT
  EXPECT_EQ(shimNotifyIn(t.a), ByteVec{1});
  t.deliver(t.a);
  EXPECT_EQ(shimNotifyIn(t.b), ByteVec{1});
  t.deliver(t.b);
  // The flag is per IKE SA: CREATE_CHILD_SA from either side inherits it.
  ASSERT_TRUE(t.a.mgr->createChild("to-b", "voice").isOk());
  EXPECT_EQ(t.run(), 2u);
  ASSERT_TRUE(t.b.mgr->createChild("to-a", "voice").isOk());
  EXPECT_EQ(t.run(), 2u);
  ASSERT_EQ(t.a.events.childUp.size(), 3u);
  ASSERT_EQ(t.b.events.childUp.size(), 3u);
  expectShim(true);
  EXPECT_TRUE(log.lines.empty()) << log.lines[0];
  ASSERT_TRUE(t.a.mgr->deleteIkeSa("to-b").isOk());
  t.run();
  ASSERT_EQ(t.b.events.ikeDown.size(), 1u);
  EXPECT_TRUE(t.b.events.ikeDown[0].shim);
  ASSERT_EQ(t.b.events.childDown.size(), 3u);
  EXPECT_TRUE(t.b.events.childDown[0].shim);
}

TEST_F(IkeShim, OnlyInitiatorOffersNoShim) {
  pa.offerShim = true;
  start();
  roundTrip();
  EXPECT_EQ(shimNotifyIn(t.a), ByteVec{1});
  t.deliver(t.a);
  EXPECT_EQ(shimNotifyIn(t.b), std::nullopt);
  t.deliver(t.b);
  expectShim(false);
}

TEST_F(IkeShim, OnlyResponderOffersNoShim) {
  pb.offerShim = true;
  start();
  roundTrip();
  EXPECT_EQ(shimNotifyIn(t.a), std::nullopt);
  t.deliver(t.a);
  EXPECT_EQ(shimNotifyIn(t.b), std::nullopt);  // a responder only answers an offer
  t.deliver(t.b);
  expectShim(false);
}

TEST_F(IkeShim, UnaskedAnswerIsIgnored) {
  start();
  roundTrip();
  t.deliver(t.a);
  ASSERT_TRUE(t.rewrite(t.b, [](Message& m) {
    m.addNotify(notify::kBraidShimSupported, ByteVec{notify::kBraidShimVersion});
  }));
  t.deliver(t.b);
  expectShim(false);
}

// RFC 7296 1.2: IKE_SA_INIT is unprotected, so a notify there is never an offer. The test
// plays a peer that sent it there (and signs what it sent, RFC 7296 2.15).
TEST_F(IkeShim, NotifyInIkeSaInitRequestIsIgnored) {
  pb.offerShim = true;
  start();
  ByteVec init = withShimNotify(t.a.net.out.at(0).data);
  t.a.net.out[0].data = init;
  t.a.mgr->findByPeer("to-b")->initRequest = init;
  t.run();
  expectShim(false);
}

TEST_F(IkeShim, NotifyInIkeSaInitResponseIsIgnored) {
  pa.offerShim = true;
  start();
  t.deliver(t.a);
  ByteVec init = withShimNotify(t.b.net.out.at(0).data);
  t.b.net.out[0].data = init;
  IkeHeader h;
  ASSERT_TRUE(parseIkeHeader(init, h));
  t.b.mgr->findBySpi(h.spiR)->initResponse = init;
  t.run();
  expectShim(false);
}

// Other data (no version, two octets, version 2) means no shim, never an error.
class IkeShimMalformed : public IkeShim, public ::testing::WithParamInterface<ByteVec> {};

TEST_P(IkeShimMalformed, InRequestNoShimAndNoAnswer) {
  pa.offerShim = pb.offerShim = true;
  start();
  roundTrip();
  ASSERT_TRUE(t.rewrite(t.a, [](Message& m) { setShimData(m, GetParam()); }));
  t.deliver(t.a);
  EXPECT_EQ(shimNotifyIn(t.b), std::nullopt);
  t.deliver(t.b);
  expectShim(false);
}

TEST_P(IkeShimMalformed, InResponseInitiatorHasNoShim) {
  pa.offerShim = pb.offerShim = true;
  start();
  roundTrip();
  t.deliver(t.a);
  ASSERT_TRUE(t.rewrite(t.b, [](Message& m) { setShimData(m, GetParam()); }));
  t.deliver(t.b);
  ASSERT_EQ(t.a.events.ikeUp.size(), 1u);
  EXPECT_FALSE(t.a.events.ikeUp[0].shim);
  ASSERT_EQ(t.a.events.childUp.size(), 1u);
  EXPECT_FALSE(t.a.events.childUp[0].shim);
  EXPECT_TRUE(t.a.events.failures.empty());
  // b answered a valid offer; it cannot know that its answer was garbled on the way.
  EXPECT_TRUE(t.b.events.ikeUp.at(0).shim);
}

INSTANTIATE_TEST_SUITE_P(Data, IkeShimMalformed,
                         ::testing::Values(ByteVec{}, ByteVec{1, 1}, ByteVec{2}));

}  // namespace
}  // namespace braid::ike::test
