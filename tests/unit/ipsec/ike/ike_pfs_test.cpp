// Child SA rekey with PFS (RFC 7296 1.3.3: CREATE_CHILD_SA with KE), INVALID_KE_PAYLOAD inside
// the rekey (1.3, 2.7), and a PFS mismatch, which IKE_AUTH cannot see (its Child SA has no
// KE) and which therefore shows first at the first rekey: one log line per side naming the
// groups. Both roles; no packet lost meanwhile.
#include "ike_harness.hpp"

namespace braid::ike::test {
namespace {

using namespace std::chrono_literals;

// true: a (the IKE initiator) rekeys; false: b does.
class PfsRekey : public ::testing::TestWithParam<bool> {
 protected:
  void TearDown() override {
    if (HasFailure()) {
      for (const auto& l : log.lines) std::cerr << "log: " << l << "\n";
    }
  }
  Party& rekeyer() { return GetParam() ? t.a : t.b; }
  Party& peer() { return t.other(rekeyer()); }
  PeerConfig& configOf(Party& p) { return &p == &t.a ? pa : pb; }
  IkeSa& saOf(Party& p) { return *p.mgr->findByPeer(&p == &t.a ? "to-b" : "to-a"); }
  // ESP proposals of each side's Child SA.
  void establish(const std::string& rekeyerEsp, const std::string& peerEsp) {
    pa = pskPeer("to-b", t.b.addr.address, "@a.example", "@b.example", "secret");
    pb = pskPeer("to-a", t.a.addr.address, "@b.example", "@a.example", "secret");
    const bool aRekeys = GetParam();
    pa.children.push_back(
        child("net", {ts("10.1.0.0/16")}, {ts("10.2.0.0/16")}, aRekeys ? rekeyerEsp : peerEsp));
    pb.children.push_back(
        child("net", {ts("10.2.0.0/16")}, {ts("10.1.0.0/16")}, aRekeys ? peerEsp : rekeyerEsp));
    ASSERT_TRUE(t.a.mgr->addPeer(pa).isOk());
    ASSERT_TRUE(t.b.mgr->addPeer(pb).isOk());
    ASSERT_TRUE(t.a.mgr->initiate("to-b", t.a.addr).isOk());
    t.run();
    ASSERT_EQ(t.a.events.childUp.size(), 1u);
    ASSERT_EQ(t.b.events.childUp.size(), 1u);
    // IKE_AUTH's Child SA never has a D-H group (RFC 7296 1.2).
    EXPECT_EQ(saOf(t.a).children()[0]->suite.dh, DhGroup::kNone);
  }
  void expectNoLoss(const std::string& where) {
    const Recorder& ea = t.a.events;
    const Recorder& eb = t.b.events;
    EXPECT_TRUE(ea.sending == 0 || eb.inbound.count(ea.sending) == 1) << where;
    EXPECT_TRUE(eb.sending == 0 || ea.inbound.count(eb.sending) == 1) << where;
  }
  size_t runChecked() {
    size_t n = 0;
    while (n < 50 && (!t.a.net.out.empty() || !t.b.net.out.empty())) {
      t.deliver(t.a.net.out.empty() ? t.b : t.a);
      ++n;
      expectNoLoss("after a delivery");
    }
    return n;
  }
  // Rekeys the Child SA and lets the old one be deleted.
  void rekey() {
    ASSERT_TRUE(saOf(rekeyer()).rekeyChild(saOf(rekeyer()).children()[0]->spiIn));
    runChecked();
    t.advance(3s);
    expectNoLoss("after the timers");
    runChecked();
  }

  LogCapture log;
  TwoParty t;
  PeerConfig pa, pb;
};

TEST_P(PfsRekey, RekeyWithPfsCarriesAKeyExchange) {
  establish("aes128gcm16-x25519", "aes128gcm16-x25519");
  const SecretBytes oldKeys = t.a.events.childUp[0].inbound.keymat;
  rekey();
  ASSERT_EQ(t.a.events.childUp.size(), 2u);
  ASSERT_EQ(saOf(t.a).children().size(), 1u);
  ASSERT_EQ(saOf(t.b).children().size(), 1u);
  // The new Child SA's keys come from a fresh D-H exchange (RFC 7296 2.17).
  EXPECT_EQ(saOf(t.a).children()[0]->suite.dh, DhGroup::kCurve25519);
  EXPECT_EQ(saOf(t.b).children()[0]->suite.dh, DhGroup::kCurve25519);
  const ChildSaEvent& na = t.a.events.childUp[1];
  const ChildSaEvent& nb = t.b.events.childUp[1];
  EXPECT_EQ(na.outbound.spi, nb.inbound.spi);
  EXPECT_EQ(na.outbound.keymat, nb.inbound.keymat);
  EXPECT_EQ(na.inbound.keymat, nb.outbound.keymat);
  EXPECT_NE(na.inbound.keymat, oldKeys);
  EXPECT_EQ(rekeyer().counters().childRekeysInitiated, 1u);
  EXPECT_TRUE(log.lines.empty()) << log.lines[0];
}

// The rekeyer's first group is one the peer does not take: INVALID_KE_PAYLOAD names the
// peer's group, the rekey is sent again with it and completes; the old SA carries traffic
// meanwhile.
TEST_P(PfsRekey, InvalidKeInsideTheRekeyIsRetried) {
  establish("aes128gcm16-ecp256-x25519", "aes128gcm16-x25519");
  rekey();
  EXPECT_EQ(peer().counters().invalidKeSent, 1u);
  EXPECT_EQ(rekeyer().counters().invalidKeReceived, 1u);
  EXPECT_EQ(rekeyer().counters().childRekeysInitiated, 1u);
  EXPECT_EQ(rekeyer().counters().childRekeyFailures, 0u);
  ASSERT_EQ(saOf(t.a).children().size(), 1u);
  EXPECT_EQ(saOf(t.a).children()[0]->suite.dh, DhGroup::kCurve25519);
  EXPECT_EQ(saOf(t.b).children()[0]->suite.dh, DhGroup::kCurve25519);
}

// PFS on the rekeyer, none on the peer (and the reverse): the Child SA comes up in IKE_AUTH,
// and the first rekey is refused with NO_PROPOSAL_CHOSEN. Each side logs one line that names
// the D-H groups; the old Child SA stays and keeps carrying traffic.
TEST_P(PfsRekey, PfsMismatchReportedAtTheFirstRekey) {
  for (bool rekeyerHasPfs : {true, false}) {
    SCOPED_TRACE(rekeyerHasPfs ? "rekeyer has PFS" : "peer has PFS");
    log.lines.clear();
    // Start over with fresh managers.
    t.a.events = Recorder();
    t.b.events = Recorder();
    t.a.net.out.clear();
    t.b.net.out.clear();
    for (Party* p : {&t.a, &t.b}) {
      SaManagerOptions o;
      o.random = std::make_unique<SeededRandom>(p == &t.a ? 11 : 12);
      o.keyExchange = seededKeyExchange(p == &t.a ? 11 : 12);
      o.deterministicIvs = true;
      p->mgr = std::make_unique<SaManager>(t.clock, t.timers, p->net, p->events, std::move(o));
    }
    establish(rekeyerHasPfs ? "aes256gcm16-x25519" : "aes256gcm16",
              rekeyerHasPfs ? "aes256gcm16" : "aes256gcm16-ecp256");
    EXPECT_TRUE(log.lines.empty()) << log.lines[0];  // nothing shows at IKE_AUTH
    const uint32_t childIn = saOf(rekeyer()).children()[0]->spiIn;
    ASSERT_TRUE(saOf(rekeyer()).rekeyChild(childIn));
    EXPECT_EQ(runChecked(), 2u);
    // The responder's line names both sides' groups; the initiator's its own.
    EXPECT_EQ(
        log.count("PFS mismatch for Child SA 'net': peer offers D-H groups " +
                  std::string(rekeyerHasPfs ? "x25519, we accept none" : "none, we accept ecp256")),
        1u);
    EXPECT_EQ(log.count(std::string("Child SA 'net' refused by peer: NO_PROPOSAL_CHOSEN (we "
                                    "offered ") +
                        (rekeyerHasPfs ? "aes256gcm16-x25519; PFS D-H groups: x25519)"
                                       : "aes256gcm16; PFS D-H groups: none)")),
              1u);
    EXPECT_EQ(log.lines.size(), 2u);
    EXPECT_EQ(rekeyer().counters().childRekeyFailures, 1u);
    EXPECT_EQ(rekeyer().counters().noProposalByPeer, 1u);
    EXPECT_EQ(peer().counters().noProposal, 1u);
    // The old Child SA carries on; the IKE SA stays.
    ASSERT_EQ(saOf(rekeyer()).children().size(), 1u);
    EXPECT_EQ(saOf(rekeyer()).children()[0]->spiIn, childIn);
    EXPECT_EQ(saOf(rekeyer()).children()[0]->state, ChildSaState::kInstalled);
    EXPECT_EQ(saOf(t.a).state(), IkeSaState::kEstablished);
    expectNoLoss("after the refusal");
  }
}

INSTANTIATE_TEST_SUITE_P(Roles, PfsRekey, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "ByIkeInitiator" : "ByIkeResponder";
                         });

}  // namespace
}  // namespace braid::ike::test
