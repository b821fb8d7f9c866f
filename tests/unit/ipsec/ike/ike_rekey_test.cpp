// Rekey requests from the peer (RFC 7296 1.3.2, 1.3.3, 2.8), sent the way strongSwan sends
// them: the test builds the CREATE_CHILD_SA request with the codec on one side's IKE SA
// (injectRequest), the other side is braid's unchanged core.
//
// An IKE SA rekey braid cannot accept (here: a proposal it does not allow) is refused with a
// notify and leaves the IKE SA and its Child SAs as they were. It once answered INVALID_SYNTAX
// (the request has no TS), and strongSwan then dropped the IKE SA (found by tests/interop,
// fixed in 08dbc49). ike_lifecycle_test covers IKE SA rekeys that succeed.
#include "ike_harness.hpp"
#include "ipsec/ike/child_negotiation.hpp"

namespace braid::ike::test {
namespace {

// What must not change when a rekey is refused: SPIs, state, every IKE SA key, the Child SAs.
struct SaSnapshot {
  uint64_t spiI = 0, spiR = 0;
  IkeSaState state = IkeSaState::kDead;
  std::vector<ByteVec> keys;
  std::vector<std::pair<uint32_t, uint32_t>> children;  // (in, out) SPIs
  bool operator==(const SaSnapshot&) const = default;
};

SaSnapshot snapshot(const IkeSa& sa) {
  SaSnapshot s{sa.spiI(), sa.spiR(), sa.state(), {}, {}};
  for (const SecretBytes* k : {&sa.keys.skD, &sa.keys.skAi, &sa.keys.skAr, &sa.keys.skEi,
                               &sa.keys.skEr, &sa.keys.skPi, &sa.keys.skPr}) {
    s.keys.emplace_back(k->bytes().begin(), k->bytes().end());
  }
  for (const auto& c : sa.children()) s.children.emplace_back(c->spiIn, c->spiOut);
  return s;
}

// SK { SA(protocol IKE, new 8-byte SPI), Ni, KEi } -- no TSi/TSr (RFC 7296 1.3.2).
void addIkeRekeyPayloads(Message& m, const std::vector<Proposal>& ikeProposals,
                         const KeyExchange& ke) {
  std::vector<Proposal> offer = ikeProposals;
  uint8_t number = 1;
  for (auto& p : offer) {
    p.number = number++;
    p.protocol = ProtocolId::kIke;
    p.spi = ByteVec{0x5e, 0x4b, 0x1e, 0x3a, 0x00, 0x00, 0x00, 0x01};
  }
  m.add(PayloadType::kSa, SaPayload{offer});
  m.add(PayloadType::kNonce, NoncePayload{ByteVec(32, 0x4e)});
  Bytes pub = ke.publicValue();
  m.add(PayloadType::kKe,
        KePayload{static_cast<uint16_t>(ke.group()), ByteVec(pub.begin(), pub.end())});
}

// true: a (the original IKE initiator) sends the rekey request to b; false: b to a.
class IkeRekeyFromPeer : public IkeTwoPartyTest, public ::testing::WithParamInterface<bool> {
 protected:
  Party& from() { return GetParam() ? t.a : t.b; }
  Party& to() { return t.other(from()); }
  IkeSa& saOf(Party& p) { return *p.mgr->findByPeer(&p == &t.a ? "to-b" : "to-a"); }
};

TEST_P(IkeRekeyFromPeer, RefusedIkeSaRekeyLeavesEverythingUp) {
  establish();
  const SaSnapshot beforeA = snapshot(saOf(t.a)), beforeB = snapshot(saOf(t.b));
  ASSERT_EQ(beforeA.children.size(), 1u);
  auto ke = KeyExchange::create(DhGroup::kCurve25519);
  ASSERT_TRUE(ke.isOk());
  std::optional<Message> response;
  injectRequest(
      saOf(from()), ExchangeType::kCreateChildSa,
      [&](Message& m) {
        addIkeRekeyPayloads(m, proposals("chacha20poly1305-prfsha512-x25519", ProtocolId::kIke),
                            **ke);
      },
      [&](const Message& m) { response = m; });
  EXPECT_EQ(t.run(), 2u);
  ASSERT_TRUE(response.has_value());
  EXPECT_NE(response->notify(notify::kNoProposalChosen), nullptr) << response->summary();
  EXPECT_EQ(response->notify(notify::kInvalidSyntax), nullptr) << response->summary();
  EXPECT_EQ(response->get<SaPayload>(PayloadType::kSa), nullptr);
  EXPECT_EQ(response->get<KePayload>(PayloadType::kKe), nullptr);
  EXPECT_EQ(to().counters().invalidSyntaxSent, 0u);
  EXPECT_EQ(log.count("IKE SA rekey: no acceptable proposal"), 1u);
  EXPECT_EQ(log.lines.size(), 1u);
  t.advance(1ms);  // the SaManager reaps ended SAs on the next timer run
  // Both sides: the same IKE SA with the same keys, the same Child SA, nothing re-keyed.
  EXPECT_TRUE(snapshot(saOf(t.a)) == beforeA);
  EXPECT_TRUE(snapshot(saOf(t.b)) == beforeB);
  for (Party* p : {&t.a, &t.b}) {
    SCOPED_TRACE(p->name);
    EXPECT_EQ(p->mgr->ikeSaCount(), 1u);
    EXPECT_TRUE(p->events.ikeDown.empty());
    EXPECT_TRUE(p->events.childDown.empty());
    EXPECT_EQ(p->events.ikeUp.size(), 1u);
    EXPECT_EQ(p->events.childUp.size(), 1u);
    EXPECT_EQ(p->keys.ike.size(), 1u);  // no new IKE or ESP keys
    EXPECT_EQ(p->keys.esp.size(), 2u);
  }
  // ...and it still works both ways: liveness checks from each side, then a new Child SA.
  const uint64_t answeredA = t.a.counters().responsesProcessed;
  const uint64_t answeredB = t.b.counters().responsesProcessed;
  ASSERT_TRUE(t.a.mgr->checkLiveness("to-b").isOk());
  ASSERT_TRUE(t.b.mgr->checkLiveness("to-a").isOk());
  EXPECT_EQ(t.run(), 4u);
  EXPECT_EQ(t.a.counters().responsesProcessed, answeredA + 1);
  EXPECT_EQ(t.b.counters().responsesProcessed, answeredB + 1);
  EXPECT_EQ(t.a.counters().dropsMessageId + t.b.counters().dropsMessageId, 0u);
  ASSERT_TRUE(t.a.mgr->createChild("to-b", "net").isOk());
  EXPECT_EQ(t.run(), 2u);
  ASSERT_EQ(t.a.events.childUp.size(), 2u);
  ASSERT_EQ(t.b.events.childUp.size(), 2u);
  expectPair(t.a.events.childUp[1], t.b.events.childUp[1]);
}

// RFC 7296 1.3.3: SK { N(REKEY_SA), SA, Ni, [KEi], TSi, TSr }, as strongSwan sends it. The
// responder installs the new Child SA receive-only (make-before-break, 2.8), the old one
// stays until the rekeying peer deletes it (as strongSwan does right after a rekey); then the
// new SA takes over sending and only it is left (ike_lifecycle_test covers braid's own rekey).
TEST_P(IkeRekeyFromPeer, ChildSaRekeyBringsUpANewChildSaAndTheOldOneGoesOnDelete) {
  establish();
  IkeSa& sf = saOf(from());
  IkeSa& st = saOf(to());
  const ChildSaEvent oldFrom = from().events.childUp[0];
  const ChildSaEvent oldTo = to().events.childUp[0];
  // The rekeying side's own Child SA negotiation (real code), plus N(REKEY_SA).
  auto negotiation = std::make_shared<ChildNegotiation>(sf, &sf.config()->children[0], false);
  bool built = false;
  auto outcome = ChildNegotiation::Outcome::kFailed;
  injectRequest(
      sf, ExchangeType::kCreateChildSa,
      [&](Message& m) {
        built = negotiation->buildRequest(m);
        NotifyPayload rekey;
        rekey.notifyType = notify::kRekeySa;
        rekey.protocol = ProtocolId::kEsp;
        rekey.spi = ByteVec(4);
        storeBe32(rekey.spi.data(), oldFrom.inbound.spi);  // the SA as the sender knows it
        m.payloads.insert(m.payloads.begin(), Payload{PayloadType::kNotify, false, false, rekey});
      },
      [&](const Message& m) { outcome = negotiation->processResponse(m); });
  EXPECT_EQ(t.run(), 2u);
  EXPECT_TRUE(built);
  EXPECT_EQ(outcome, ChildNegotiation::Outcome::kInstalled);
  ASSERT_EQ(from().events.childUp.size(), 2u);
  ASSERT_EQ(to().events.childUp.size(), 2u);
  const ChildSaEvent& newFrom = from().events.childUp[1];
  const ChildSaEvent& newTo = to().events.childUp[1];
  expectPair(newFrom, newTo);
  EXPECT_EQ(newTo.child, "net");
  EXPECT_EQ(newTo.localTs, oldTo.localTs);
  EXPECT_EQ(newTo.remoteTs, oldTo.remoteTs);
  EXPECT_NE(newTo.inbound.spi, oldTo.inbound.spi);
  EXPECT_NE(newTo.inbound.keymat, oldTo.inbound.keymat);  // fresh nonces, fresh keys
  EXPECT_NE(newTo.outbound.keymat, oldTo.outbound.keymat);
  // The old Child SA is still up on the responding side and still sends.
  EXPECT_FALSE(newTo.outboundActive);
  EXPECT_EQ(newTo.replacesSpi, oldTo.inbound.spi);
  EXPECT_TRUE(to().events.childOutbound.empty());
  EXPECT_TRUE(to().events.childDown.empty());
  ASSERT_EQ(st.children().size(), 2u);
  EXPECT_NE(st.findChildByInbound(oldTo.inbound.spi), nullptr);
  // The rekeying peer deletes the old one; the responder follows (RFC 7296 1.4.1).
  ASSERT_TRUE(
      from().mgr->deleteChild(&from() == &t.a ? "to-b" : "to-a", oldFrom.inbound.spi).isOk());
  EXPECT_EQ(t.run(), 2u);
  ASSERT_EQ(to().events.childDown.size(), 1u);
  EXPECT_EQ(to().events.childDown[0].inbound.spi, oldTo.inbound.spi);
  ASSERT_EQ(to().events.childOutbound.size(), 1u);  // switched first, then the old one went
  EXPECT_EQ(to().events.order.front(), "outbound " + std::to_string(newTo.inbound.spi));
  EXPECT_EQ(to().events.childOutbound[0].outbound.spi, newTo.outbound.spi);
  ASSERT_EQ(st.children().size(), 1u);
  EXPECT_EQ(st.children()[0]->spiIn, newTo.inbound.spi);
  ASSERT_EQ(sf.children().size(), 1u);
  EXPECT_EQ(sf.children()[0]->spiIn, newFrom.inbound.spi);
  EXPECT_EQ(st.state(), IkeSaState::kEstablished);
  EXPECT_TRUE(log.lines.empty()) << log.lines[0];
}

INSTANTIATE_TEST_SUITE_P(Sides, IkeRekeyFromPeer, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "FromInitiator" : "FromResponder";
                         });

}  // namespace
}  // namespace braid::ike::test
