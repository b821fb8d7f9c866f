// Rekey collisions in simulated time (RFC 7296 2.8.1, 2.8.2, 2.25): both sides rekey the same
// SA at once. Each case runs in both roles (the deterministic random seeds decide which side
// has the lowest nonce, and the test checks that side lost) and with the messages delivered
// in order, reordered and with one dropped. After every delivery each side sends with an SA
// the other receives on (the data plane as edge drives it), and exactly one pair remains.
#include <tuple>

#include "ike_harness.hpp"

namespace braid::ike::test {
namespace {

using namespace std::chrono_literals;

// How the four CREATE_CHILD_SA messages travel.
enum class Order : int {
  kCrossed,          // both requests arrive before either response
  kResponseFirst,    // a's response overtakes b's request on its way to a
  kRequestDropped,   // a's first request is lost (retransmitted)
  kResponseDropped,  // the response to a's request is lost (a retransmits, b replays)
};

struct Case {
  const char* name;
  uint64_t seedA, seedB;
  // What the seeds give: a's exchange has the lowest of the four nonces (the nonces depend on
  // the order of the messages too: other random draws come in between).
  bool aLoses;
  Order order;
};

class Collision : public ::testing::TestWithParam<Case> {
 protected:
  Collision() : t(GetParam().seedA, GetParam().seedB) {
    pa = pskPeer("to-b", t.b.addr.address, "@a.example", "@b.example", "secret");
    pa.children.push_back(child("net", {ts("10.1.0.0/16")}, {ts("10.2.0.0/16")}));
    pb = pskPeer("to-a", t.a.addr.address, "@b.example", "@a.example", "secret");
    pb.children.push_back(child("net", {ts("10.2.0.0/16")}, {ts("10.1.0.0/16")}));
    // Longer than a retransmission, so that a retransmitted rekey request still collides.
    pa.rekeyDeleteDelay = pb.rekeyDeleteDelay = 10s;
  }
  void TearDown() override {
    if (HasFailure()) {
      for (const auto& l : log.lines) std::cerr << "log: " << l << "\n";
    }
  }
  void establish() {
    ASSERT_TRUE(t.a.mgr->addPeer(pa).isOk());
    ASSERT_TRUE(t.b.mgr->addPeer(pb).isOk());
    ASSERT_TRUE(t.a.mgr->initiate("to-b", t.a.addr).isOk());
    t.run();
    ASSERT_EQ(t.a.events.ikeUp.size(), 1u);
    ASSERT_EQ(t.b.events.ikeUp.size(), 1u);
  }
  IkeSa& saOf(Party& p) { return *p.mgr->findByPeer(&p == &t.a ? "to-b" : "to-a"); }
  Party& loser() { return GetParam().aLoses ? t.a : t.b; }
  Party& winner() { return t.other(loser()); }

  void expectNoLoss(const std::string& where) {
    const Recorder& ea = t.a.events;
    const Recorder& eb = t.b.events;
    EXPECT_TRUE(ea.sending == 0 || eb.inbound.count(ea.sending) == 1)
        << where << ": a sends with " << ea.sending << ", b does not receive on it";
    EXPECT_TRUE(eb.sending == 0 || ea.inbound.count(eb.sending) == 1)
        << where << ": b sends with " << eb.sending << ", a does not receive on it";
  }
  void deliver(Party& from, size_t index = 0) {
    t.deliver(from, index);
    expectNoLoss("after a delivery from " + from.name);
  }
  size_t runChecked() {
    size_t n = 0;
    while (n < 100 && (!t.a.net.out.empty() || !t.b.net.out.empty())) {
      deliver(t.a.net.out.empty() ? t.b : t.a);
      ++n;
    }
    return n;
  }
  void advanceChecked(Duration d) {
    t.advance(d);
    expectNoLoss("after the timers");
  }
  // Time passes in 1 s steps, everything delivered at each.
  void settle(int seconds) {
    for (int i = 0; i < seconds; ++i) {
      advanceChecked(1s);
      runChecked();
    }
  }
  void expectOnePair() {
    ASSERT_EQ(saOf(t.a).children().size(), 1u);
    ASSERT_EQ(saOf(t.b).children().size(), 1u);
    const ChildSa& ca = *saOf(t.a).children()[0];
    const ChildSa& cb = *saOf(t.b).children()[0];
    EXPECT_EQ(ca.spiIn, cb.spiOut);
    EXPECT_EQ(ca.spiOut, cb.spiIn);
    EXPECT_EQ(ca.state, ChildSaState::kInstalled);
    EXPECT_EQ(cb.state, ChildSaState::kInstalled);
    EXPECT_EQ(t.a.events.sending, ca.spiOut);
    EXPECT_EQ(t.b.events.sending, cb.spiOut);
    EXPECT_EQ(t.a.events.inbound, std::set<uint32_t>{ca.spiIn});
    EXPECT_EQ(t.b.events.inbound, std::set<uint32_t>{cb.spiIn});
  }

  LogCapture log;
  TwoParty t;
  PeerConfig pa, pb;
};

// RFC 7296 2.8.1: both sides send CREATE_CHILD_SA with N(REKEY_SA) for the same Child SA.
// Both exchanges complete; the SA made by the exchange with the lowest nonce is deleted by
// its initiator once the winner has deleted the old SA; the winner's SA is the one left.
TEST_P(Collision, SimultaneousChildRekey) {
  establish();
  const uint32_t oldA = saOf(t.a).children()[0]->spiIn;
  const uint32_t oldB = saOf(t.b).children()[0]->spiIn;
  ASSERT_TRUE(saOf(t.a).rekeyChild(oldA));
  ASSERT_TRUE(saOf(t.b).rekeyChild(oldB));
  ASSERT_EQ(t.a.net.out.size(), 1u);
  ASSERT_EQ(t.b.net.out.size(), 1u);
  switch (GetParam().order) {
    case Order::kCrossed:
      deliver(t.a);  // a's request; b answers it
      deliver(t.b);  // b's request; a answers it
      deliver(t.b);  // the response to a's request
      deliver(t.a);  // the response to b's request
      break;
    case Order::kResponseFirst:
      deliver(t.a);     // a's request; b answers it
      deliver(t.b, 1);  // ... and that answer reaches a before b's request
      deliver(t.b);     // b's request, for an SA a has rekeyed already
      deliver(t.a);
      break;
    case Order::kRequestDropped:
      t.drop(t.a);
      deliver(t.b);  // b's request; a answers it
      deliver(t.a);  // b completes its rekey, a's is still open
      advanceChecked(5s);
      ASSERT_EQ(t.a.net.out.size(), 1u);  // the retransmission
      deliver(t.a);
      deliver(t.b);
      break;
    case Order::kResponseDropped:
      deliver(t.a);
      deliver(t.b);
      t.drop(t.b);  // the response to a's request
      deliver(t.a);
      advanceChecked(5s);
      ASSERT_EQ(t.a.net.out.size(), 1u);
      deliver(t.a);  // retransmitted request: b replays its response, processes nothing
      deliver(t.b);
      break;
  }
  EXPECT_TRUE(t.a.net.out.empty() && t.b.net.out.empty());
  // Both exchanges completed; both sides chose the same winner.
  for (Party* p : {&t.a, &t.b}) {
    EXPECT_EQ(p->counters().childRekeyCollisions, 1u) << p->name;
    EXPECT_EQ(p->counters().childRekeysInitiated, 1u) << p->name;
    EXPECT_EQ(p->counters().childRekeysResponded, 1u) << p->name;
    EXPECT_EQ(p->events.childUp.size(), 3u) << p->name;
  }
  EXPECT_EQ(loser().counters().childRekeyCollisionsLost, 1u)
      << "the seeds no longer give " << loser().name << " the lowest nonce";
  EXPECT_EQ(winner().counters().childRekeyCollisionsLost, 0u);
  const ChildSa* oldW = saOf(winner()).findChildByInbound(&winner() == &t.a ? oldA : oldB);
  const ChildSa* oldL = saOf(loser()).findChildByInbound(&loser() == &t.a ? oldA : oldB);
  ASSERT_NE(oldW, nullptr);
  ASSERT_NE(oldL, nullptr);
  // The nonce each side kept for each exchange agree, and the loser's is the lowest.
  EXPECT_EQ(oldW->ourRekeyNonce, oldL->peerRekeyNonce);
  EXPECT_EQ(oldW->peerRekeyNonce, oldL->ourRekeyNonce);
  EXPECT_LT(oldL->ourRekeyNonce, oldW->ourRekeyNonce);
  const uint32_t survivorIn = oldW->ourRekeySpi;    // the winner's new SA, winner's SPI
  const uint32_t survivorOut = oldL->peerRekeySpi;  // ... the loser's SPI for it
  const uint32_t redundantIn = oldL->ourRekeySpi;   // the loser's new SA, deleted
  EXPECT_EQ(oldL->redundant, redundantIn);

  // The winner deletes the old SA after rekeyDeleteDelay; the loser then switches to the
  // winner's SA and deletes its own.
  settle(12);
  EXPECT_EQ(winner().counters().childSaDown, 2u);  // the old SA and the loser's
  EXPECT_EQ(loser().counters().childSaDown, 2u);
  expectOnePair();
  EXPECT_EQ(saOf(winner()).children()[0]->spiIn, survivorIn);
  EXPECT_EQ(saOf(loser()).children()[0]->spiIn, survivorOut);
  EXPECT_EQ(saOf(loser()).findChildByInbound(redundantIn), nullptr);
  EXPECT_TRUE(log.lines.empty()) << log.lines[0];

  // The survivor rekeys as usual later.
  ASSERT_TRUE(saOf(t.b).rekeyChild(saOf(t.b).children()[0]->spiIn));
  settle(12);
  expectOnePair();
  EXPECT_EQ(t.a.counters().childRekeyCollisions, 1u);
}

// RFC 7296 2.8.2: both sides rekey the IKE SA at once. The peer's request is answered and its
// new SA held until our own rekey completes; then the lowest nonce loses. The Child SA moves
// to the surviving IKE SA unchanged (no Child SA event, so no traffic key changes at all), the
// old IKE SA and the redundant new one go, and each side has exactly one IKE SA.
class IkeCollision : public Collision {};
TEST_P(IkeCollision, SimultaneousIkeRekey) {
  establish();
  const uint32_t childA = saOf(t.a).children()[0]->spiIn;
  const uint32_t childB = saOf(t.b).children()[0]->spiIn;
  const uint64_t oldSpiI = saOf(t.a).spiI();
  ASSERT_TRUE(saOf(t.a).rekeyIke());
  ASSERT_TRUE(saOf(t.b).rekeyIke());
  ASSERT_EQ(t.a.net.out.size(), 1u);
  ASSERT_EQ(t.b.net.out.size(), 1u);
  // Who starts the surviving IKE SA: the nonces decide when both exchanges complete; when
  // one side's rekey completes before the other's request arrives (it is then refused or
  // overtaken by the Delete of the old SA), that one.
  Party* survivorInitiator = &winner();
  switch (GetParam().order) {
    case Order::kCrossed:
      deliver(t.a);
      deliver(t.b);
      deliver(t.b);
      deliver(t.a);
      break;
    case Order::kResponseFirst:
      survivorInitiator = &t.a;
      deliver(t.a);
      deliver(t.b, 1);  // a's rekey completes: TEMPORARY_FAILURE for b's request
      break;
    case Order::kRequestDropped:
      survivorInitiator = &t.b;
      t.drop(t.a);
      deliver(t.b);
      deliver(t.a);  // b's rekey completes; its Delete of the old SA ends a's
      break;
    case Order::kResponseDropped:
      deliver(t.a);
      deliver(t.b);
      t.drop(t.b);
      deliver(t.a);
      advanceChecked(5s);
      break;
  }
  settle(70);  // retransmissions, Deletes, a held SA's wait for a Delete that never comes
  EXPECT_EQ(t.a.mgr->ikeSaCount(), 1u);
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 1u);
  IkeSa& na = saOf(t.a);
  IkeSa& nb = saOf(t.b);
  EXPECT_NE(na.spiI(), oldSpiI);
  EXPECT_EQ(na.spiI(), nb.spiI());
  EXPECT_EQ(na.spiR(), nb.spiR());
  EXPECT_EQ(na.state(), IkeSaState::kEstablished);
  EXPECT_EQ(nb.state(), IkeSaState::kEstablished);
  EXPECT_TRUE(saOf(*survivorInitiator).initiator())
      << "the surviving IKE SA was not started by " << survivorInitiator->name;
  EXPECT_FALSE(saOf(t.other(*survivorInitiator)).initiator());
  ASSERT_EQ(na.children().size(), 1u);
  ASSERT_EQ(nb.children().size(), 1u);
  EXPECT_EQ(na.children()[0]->spiIn, childA);
  EXPECT_EQ(nb.children()[0]->spiIn, childB);
  for (Party* p : {&t.a, &t.b}) {
    EXPECT_EQ(p->events.childUp.size(), 1u) << p->name;
    EXPECT_TRUE(p->events.childDown.empty()) << p->name;
    EXPECT_EQ(p->events.ikeUp.size(), 2u) << p->name;
    EXPECT_EQ(p->events.ikeDown.size(), 1u) << p->name;
    EXPECT_TRUE(p->events.failures.empty()) << p->name;
  }
  if (GetParam().order == Order::kCrossed) {
    EXPECT_EQ(t.a.counters().ikeRekeyCollisions, 1u);
    EXPECT_EQ(t.b.counters().ikeRekeyCollisions, 1u);
    EXPECT_EQ(loser().counters().ikeRekeyCollisionsLost, 1u)
        << "the seeds no longer give " << loser().name << " the lowest nonce";
    EXPECT_EQ(winner().counters().ikeRekeyCollisionsLost, 0u);
  }
  // The surviving IKE SA works both ways.
  ASSERT_TRUE(t.a.mgr->checkLiveness("to-b").isOk());
  ASSERT_TRUE(t.b.mgr->checkLiveness("to-a").isOk());
  EXPECT_EQ(runChecked(), 4u);
  ASSERT_TRUE(nb.rekeyChild(childB));
  settle(12);
  expectOnePair();
  EXPECT_EQ(t.a.counters().dropsIntegrity + t.b.counters().dropsIntegrity, 0u);
}

// The seeds that give each side the lowest nonce differ from the Child SA case (the IKE SA
// rekey draws other random numbers). With one exchange completing before the other's request
// arrives, the nonces do not matter (the survivor is fixed by the order).
const Case kIkeCases[] = {
    {"ALoses_Crossed", 1, 2, true, Order::kCrossed},
    {"BLoses_Crossed", 6, 2, false, Order::kCrossed},
    {"AFirst_ResponseFirst", 1, 2, true, Order::kResponseFirst},
    {"AFirst_ResponseFirst2", 6, 2, false, Order::kResponseFirst},
    {"BFirst_RequestDropped", 1, 2, true, Order::kRequestDropped},
    {"BFirst_RequestDropped2", 6, 2, false, Order::kRequestDropped},
    {"ALoses_ResponseDropped", 1, 2, true, Order::kResponseDropped},
    {"BLoses_ResponseDropped", 6, 2, false, Order::kResponseDropped},
};
INSTANTIATE_TEST_SUITE_P(Cases, IkeCollision, ::testing::ValuesIn(kIkeCases),
                         [](const ::testing::TestParamInfo<Case>& p) { return p.param.name; });

// Not quite a collision: one side's rekey request is lost twice, and its retransmission
// arrives after the peer's own rekey completed and the peer deleted the old SA. The answer is
// CHILD_SA_NOT_FOUND (RFC 7296 2.25), and no extra Child SA is created for it.
class LateRetransmit : public Collision {};
TEST_P(LateRetransmit, RekeyRetransmittedAfterThePeersRekeyDeletedTheSa) {
  establish();
  Party& late = loser();  // whose request is lost
  Party& other = winner();
  ASSERT_TRUE(saOf(late).rekeyChild(saOf(late).children()[0]->spiIn));
  ASSERT_TRUE(saOf(other).rekeyChild(saOf(other).children()[0]->spiIn));
  t.drop(late);
  deliver(other);  // the peer's request, answered
  deliver(late);   // its rekey completes
  advanceChecked(4s);
  ASSERT_EQ(late.net.out.size(), 1u);
  t.drop(late);  // the first retransmission is lost too
  advanceChecked(6s);
  ASSERT_EQ(other.net.out.size(), 1u);  // Delete of the old SA (rekeyDeleteDelay)
  deliver(other);
  deliver(late);
  advanceChecked(2s);
  ASSERT_EQ(late.net.out.size(), 1u);  // the second retransmission
  deliver(late);
  deliver(other);  // CHILD_SA_NOT_FOUND
  settle(30);
  EXPECT_EQ(late.counters().childRekeyFailures, 0u);
  EXPECT_EQ(late.events.childUp.size(), 2u);  // no new Child SA for the failed rekey
  EXPECT_EQ(other.counters().childRekeysInitiated, 1u);
  expectOnePair();
}
INSTANTIATE_TEST_SUITE_P(Roles, LateRetransmit,
                         ::testing::Values(Case{"ALate", 3, 2, true, Order::kCrossed},
                                           Case{"BLate", 1, 2, false, Order::kCrossed}),
                         [](const ::testing::TestParamInfo<Case>& p) { return p.param.name; });

// Crossing exchanges of different kinds; `loser()` (a for the first case, b for the second)
// starts the first-named exchange.
class Crossing : public Collision {};

// RFC 7296 2.25: the IKE SA is deleted by one side while the other rekeys it. The Delete is
// answered as usual and the rekey forgotten (the rekey request reaches an SA that is being
// deleted and gets no answer). Both IKE SAs end cleanly: no failure, nothing retried.
TEST_P(Crossing, IkeRekeyVersusIkeDelete) {
  establish();
  Party& rekeyer = loser();
  Party& deleter = winner();
  ASSERT_TRUE(saOf(rekeyer).rekeyIke());
  ASSERT_TRUE(deleter.mgr->deleteIkeSa(&deleter == &t.a ? "to-b" : "to-a").isOk());
  // A teardown: the tunnel ends, so no no-loss check here.
  t.deliver(rekeyer);  // the rekey request: dropped, the SA is deleting
  t.deliver(deleter);  // the Delete: answered, the rekeyer's SA ends
  for (int i = 0; i < 60; ++i) {
    t.run();
    t.advance(1s);
  }
  for (Party* p : {&t.a, &t.b}) {
    EXPECT_EQ(p->mgr->ikeSaCount(), 0u) << p->name;
    EXPECT_EQ(p->events.ikeDown.size(), 1u) << p->name;
    EXPECT_EQ(p->events.childDown.size(), 1u) << p->name;
    EXPECT_TRUE(p->events.failures.empty()) << p->name;
    EXPECT_EQ(p->counters().initiateRetries, 0u) << p->name;
    EXPECT_EQ(p->counters().ikeRekeysInitiated + p->counters().ikeRekeysResponded, 0u);
  }
  EXPECT_EQ(deleter.counters().dropsState, 1u);
}

// RFC 7296 2.25: an IKE SA rekey request that arrives while a Child SA exchange of ours is in
// flight gets TEMPORARY_FAILURE (that exchange's outcome would land on the old IKE SA). The
// Child SA rekey completes, the IKE SA rekey is tried again 2-10 s later and completes, the
// new Child SA moves to the new IKE SA; one pair of each is left.
TEST_P(Crossing, ChildRekeyVersusIkeRekey) {
  establish();
  Party& childRekeyer = loser();
  Party& ikeRekeyer = winner();
  ASSERT_TRUE(saOf(childRekeyer).rekeyChild(saOf(childRekeyer).children()[0]->spiIn));
  ASSERT_TRUE(saOf(ikeRekeyer).rekeyIke());
  deliver(childRekeyer);  // the Child SA rekey: answered (our IKE rekey is only in flight)
  deliver(ikeRekeyer);    // the IKE SA rekey: TEMPORARY_FAILURE
  runChecked();
  EXPECT_EQ(ikeRekeyer.counters().ikeRekeyFailures, 1u);
  EXPECT_EQ(childRekeyer.counters().childRekeysInitiated, 1u);
  settle(30);
  EXPECT_EQ(ikeRekeyer.counters().ikeRekeysInitiated, 1u);
  EXPECT_EQ(childRekeyer.counters().ikeRekeysResponded, 1u);
  EXPECT_EQ(t.a.mgr->ikeSaCount(), 1u);
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 1u);
  EXPECT_EQ(saOf(t.a).spiI(), saOf(t.b).spiI());
  expectOnePair();
  EXPECT_TRUE(t.a.events.failures.empty() && t.b.events.failures.empty());
  EXPECT_TRUE(log.lines.empty()) << log.lines[0];
}

INSTANTIATE_TEST_SUITE_P(Roles, Crossing,
                         ::testing::Values(Case{"AFirst", 1, 2, true, Order::kCrossed},
                                           Case{"BFirst", 1, 2, false, Order::kCrossed}),
                         [](const ::testing::TestParamInfo<Case>& p) { return p.param.name; });

const Case kCases[] = {
    {"ALoses_Crossed", 3, 2, true, Order::kCrossed},
    {"BLoses_Crossed", 1, 2, false, Order::kCrossed},
    {"ALoses_ResponseFirst", 3, 2, true, Order::kResponseFirst},
    {"BLoses_ResponseFirst", 1, 2, false, Order::kResponseFirst},
    {"ALoses_RequestDropped", 3, 2, true, Order::kRequestDropped},
    {"BLoses_RequestDropped", 6, 2, false, Order::kRequestDropped},
    {"ALoses_ResponseDropped", 3, 2, true, Order::kResponseDropped},
    {"BLoses_ResponseDropped", 1, 2, false, Order::kResponseDropped},
};
INSTANTIATE_TEST_SUITE_P(Cases, Collision, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& p) { return p.param.name; });

// docs/fuzzing.md F2 (found by fuzz_ike_sa): b creates a Child SA, a installs it, answers,
// and deletes it at once (RFC 7296 1.4.1 allows that); a's response is lost, so a's Delete
// reaches b first, naming an SPI b does not know yet. b's retransmitted request gets the
// cached response: b must not install the SA a no longer has. Both sides keep only the
// first Child SA, and b deletes its half of the one it refused.
TEST(ChildDeleteOvertakesCreate, TheCreatorDoesNotInstallWhatThePeerDeleted) {
  TwoParty t(1, 2);
  LogCapture log;
  PeerConfig pa = pskPeer("to-b", t.b.addr.address, "@a.example", "@b.example", "secret");
  pa.children.push_back(child("net", {ts("10.1.0.0/16")}, {ts("10.2.0.0/16")}));
  PeerConfig pb = pskPeer("to-a", t.a.addr.address, "@b.example", "@a.example", "secret");
  pb.children.push_back(child("net", {ts("10.2.0.0/16")}, {ts("10.1.0.0/16")}));
  ASSERT_TRUE(t.a.mgr->addPeer(pa).isOk());
  ASSERT_TRUE(t.b.mgr->addPeer(pb).isOk());
  ASSERT_TRUE(t.a.mgr->initiate("to-b", t.a.addr).isOk());
  t.run();
  ASSERT_EQ(t.b.events.childUp.size(), 1u);

  ASSERT_TRUE(t.b.mgr->createChild("to-a", "net").isOk());
  t.deliver(t.b);  // CREATE_CHILD_SA request: a installs and answers
  ASSERT_EQ(t.a.events.childUp.size(), 2u);
  const uint32_t aNew = t.a.events.childUp.back().inbound.spi;
  t.drop(t.a);  // the response is lost
  ASSERT_TRUE(t.a.mgr->deleteChild("to-b", aNew).isOk());
  t.deliver(t.a);  // a's Delete overtakes: b does not know the SPI
  t.deliver(t.b);  // b's answer, without a Delete payload: a removes its half
  EXPECT_EQ(t.a.mgr->findByPeer("to-b")->children().size(), 1u);
  t.advance(5s);  // b retransmits; a answers from its cache
  t.run();
  t.advance(1s);
  t.run();
  EXPECT_EQ(t.b.events.childUp.size(), 1u) << "b installed the SA a deleted";
  EXPECT_EQ(t.b.mgr->findByPeer("to-a")->children().size(), 1u);
  EXPECT_EQ(t.a.mgr->findByPeer("to-b")->children().size(), 1u);
  EXPECT_EQ(t.b.counters().childDeletedBeforeCreated, 1u);
  EXPECT_EQ(t.b.events.sending, t.a.events.childUp.front().inbound.spi);
}

}  // namespace
}  // namespace braid::ike::test
