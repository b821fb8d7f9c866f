// One IKE SA per peer: INITIAL_CONTACT after a restart (RFC 7296 3.10.1), and both sides
// initiating at start-up (sa_uniqueness.cpp). In simulated time; after every delivery each
// side sends with an SA the other receives on.
#include "ike_harness.hpp"

namespace braid::ike::test {
namespace {

using namespace std::chrono_literals;

class Uniqueness : public ::testing::Test {
 protected:
  explicit Uniqueness(uint64_t seedA = 1, uint64_t seedB = 2) : t(seedA, seedB) {
    pa = pskPeer("to-b", t.b.addr.address, "@a.example", "@b.example", "secret");
    pa.children.push_back(child("net", {ts("10.1.0.0/16")}, {ts("10.2.0.0/16")}));
    pb = pskPeer("to-a", t.a.addr.address, "@b.example", "@a.example", "secret");
    pb.children.push_back(child("net", {ts("10.2.0.0/16")}, {ts("10.1.0.0/16")}));
  }
  void TearDown() override {
    if (HasFailure()) {
      for (const auto& l : log.lines) std::cerr << "log: " << l << "\n";
    }
  }
  void addPeers() {
    ASSERT_TRUE(t.a.mgr->addPeer(pa).isOk());
    ASSERT_TRUE(t.b.mgr->addPeer(pb).isOk());
  }
  std::string peerOf(Party& p) { return &p == &t.a ? "to-b" : "to-a"; }
  IkeSa& saOf(Party& p) { return *p.mgr->findByPeer(peerOf(p)); }
  // IKE_AUTH's responder sends on its new Child SA at once, before the initiator has its half
  // (the response is on its way): that is no loss. A loss is a side sending with an SA the
  // other side has removed, or a side that sent losing its outbound SA.
  void expectNoLoss(const std::string& where) {
    for (Party* p : {&t.a, &t.b}) {
      Party& o = t.other(*p);
      const uint32_t s = p->events.sending;
      bool removed = false;
      for (const auto& e : o.events.childDown) removed = removed || e.inbound.spi == s;
      EXPECT_FALSE(s != 0 && removed && o.events.inbound.count(s) == 0)
          << where << ": " << p->name << " sends with " << s << ", which " << o.name << " removed";
      if (s != 0) sent_.insert(p);
      EXPECT_FALSE(s == 0 && sent_.count(p) != 0)
          << where << ": " << p->name << " has no outbound SA any more";
    }
  }
  size_t runChecked() {
    size_t n = 0;
    while (n < 200 && (!t.a.net.out.empty() || !t.b.net.out.empty())) {
      if (!t.a.net.out.empty()) {
        t.deliver(t.a);
        ++n;
        expectNoLoss("after a delivery from a");
      }
      if (!t.b.net.out.empty()) {
        t.deliver(t.b);
        ++n;
        expectNoLoss("after a delivery from b");
      }
    }
    return n;
  }
  void settle(int seconds) {
    for (int i = 0; i < seconds; ++i) {
      t.advance(1s);
      expectNoLoss("after the timers");
      runChecked();
    }
  }
  // A fresh SaManager for `p`, as after a restart of braidd (its SAs are simply gone).
  void restart(Party& p, uint64_t seed) {
    SaManagerOptions o;
    o.random = std::make_unique<SeededRandom>(seed);
    o.keyExchange = seededKeyExchange(seed);
    o.deterministicIvs = true;
    p.mgr = std::make_unique<SaManager>(t.clock, t.timers, p.net, p.events, std::move(o));
    p.events.inbound.clear();
    p.events.sending = 0;
    sent_.erase(&p);
    ASSERT_TRUE(p.mgr->addPeer(&p == &t.a ? pa : pb).isOk());
  }

  LogCapture log;
  TwoParty t;
  PeerConfig pa, pb;
  std::set<Party*> sent_;  // parties that had an outbound SA
};

// ---- INITIAL_CONTACT ---------------------------------------------------------------------

// true: a (the first IKE SA's initiator) restarts; false: b does. The restarted side
// initiates a new IKE SA with INITIAL_CONTACT; the other deletes the stale one and its Child
// SA at once instead of waiting for DPD, and keeps exactly the new pair.
class InitialContact : public Uniqueness, public ::testing::WithParamInterface<bool> {
 protected:
  Party& restarted() { return GetParam() ? t.a : t.b; }
  Party& survivor() { return t.other(restarted()); }
};

TEST_P(InitialContact, RestartedPeerFlushesTheStaleSas) {
  addPeers();
  ASSERT_TRUE(t.a.mgr->initiate("to-b", t.a.addr).isOk());
  runChecked();
  ASSERT_EQ(survivor().events.childUp.size(), 1u);
  const uint32_t staleIn = survivor().events.childUp[0].inbound.spi;
  restart(restarted(), 99);
  ASSERT_TRUE(restarted().mgr->initiate(peerOf(restarted()), restarted().addr).isOk());
  runChecked();
  EXPECT_EQ(survivor().counters().initialContactFlushed, 1u);
  EXPECT_EQ(survivor().mgr->ikeSaCount(), 1u);
  EXPECT_EQ(restarted().mgr->ikeSaCount(), 1u);
  EXPECT_EQ(survivor().events.ikeDown.size(), 1u);
  ASSERT_EQ(survivor().events.childDown.size(), 1u);
  EXPECT_EQ(survivor().events.childDown[0].inbound.spi, staleIn);
  ASSERT_EQ(survivor().events.childUp.size(), 2u);
  // The new pair is the only one, and both send on it.
  const ChildSa& cs = *saOf(survivor()).children()[0];
  const ChildSa& cr = *saOf(restarted()).children()[0];
  EXPECT_EQ(saOf(survivor()).children().size(), 1u);
  EXPECT_EQ(cs.spiIn, cr.spiOut);
  EXPECT_EQ(cs.spiOut, cr.spiIn);
  EXPECT_EQ(survivor().events.sending, cs.spiOut);
  EXPECT_EQ(restarted().events.sending, cr.spiOut);
  EXPECT_EQ(survivor().events.inbound, std::set<uint32_t>{cs.spiIn});
  // Our Delete of the stale SA reached a manager that does not know it.
  EXPECT_GE(restarted().counters().dropsUnknownSpi, 1u);
  EXPECT_TRUE(log.lines.empty()) << log.lines[0];
}

// With an IKE SA to the peer up, a second one carries no INITIAL_CONTACT: nothing is flushed.
// Started by the other side, the two are then settled as start-up duplicates (below); by
// the same side (an operator's extra initiate), both stay.
TEST_P(InitialContact, NotSentWhileAnotherIkeSaIsUp) {
  addPeers();
  ASSERT_TRUE(t.a.mgr->initiate("to-b", t.a.addr).isOk());
  runChecked();
  Party& second = restarted();  // who starts a second IKE SA (not restarted here)
  if (&second == &t.b) {
    ASSERT_TRUE(t.b.mgr->initiate("to-a", t.b.addr).isOk());
  } else {
    ASSERT_TRUE(t.a.mgr->initiate("to-b", t.a.addr).isOk());
  }
  runChecked();
  settle(70);
  EXPECT_EQ(t.a.counters().initialContactFlushed + t.b.counters().initialContactFlushed, 0u);
  for (Party* p : {&t.a, &t.b}) {
    EXPECT_EQ(p->events.ikeUp.size(), 2u) << p->name;
    EXPECT_EQ(p->mgr->ikeSaCount(), &second == &t.b ? 1u : 2u) << p->name;
    EXPECT_EQ(p->counters().duplicateIkeSas, &second == &t.b ? 1u : 0u) << p->name;
  }
}

INSTANTIATE_TEST_SUITE_P(Roles, InitialContact, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "IkeInitiatorRestarts" : "IkeResponderRestarts";
                         });

// ---- Both sides initiating ------------------------------------------------------------------

struct StartCase {
  const char* name;
  uint64_t seedA, seedB;
  bool keepA;   // what the seeds give: the IKE SA a started is kept
  bool bLater;  // b initiates only once a's IKE SA is up (then without INITIAL_CONTACT)
};

class BothInitiate : public Uniqueness, public ::testing::WithParamInterface<StartCase> {
 protected:
  BothInitiate() : Uniqueness(GetParam().seedA, GetParam().seedB) {}
};

// Two IKE SAs come up, one started by each side; both sides keep the same one (the other's
// IKE_SA_INIT has the lowest nonce). The dropped SA's Child SA moves to it unchanged, so no
// side ever sends with an SA the other does not receive on; the side that started the dropped
// SA deletes it, rekeys the moved Child SA and then deletes the kept one's, on which nobody
// sends any more. One IKE SA and one Child SA pair are left, nothing fails or is retried.
TEST_P(BothInitiate, OneIkeSaIsKept) {
  addPeers();
  ASSERT_TRUE(t.a.mgr->initiate("to-b", t.a.addr).isOk());
  if (GetParam().bLater) runChecked();
  ASSERT_TRUE(t.b.mgr->initiate("to-a", t.b.addr).isOk());
  runChecked();
  settle(70);
  for (Party* p : {&t.a, &t.b}) {
    EXPECT_EQ(p->mgr->ikeSaCount(), 1u) << p->name;
    EXPECT_EQ(p->counters().duplicateIkeSas, 1u) << p->name;
    EXPECT_EQ(p->counters().initialContactFlushed, 0u) << p->name;
    EXPECT_EQ(p->events.ikeUp.size(), 2u) << p->name;
    EXPECT_EQ(p->events.ikeDown.size(), 1u) << p->name;
    EXPECT_EQ(p->events.childUp.size(), 3u) << p->name;  // two at start-up, one rekey
    EXPECT_EQ(p->events.childDown.size(), 2u) << p->name;
    EXPECT_TRUE(p->events.failures.empty()) << p->name;
  }
  IkeSa& sa = saOf(t.a);
  IkeSa& sb = saOf(t.b);
  EXPECT_EQ(sa.spiI(), sb.spiI());
  EXPECT_EQ(sa.spiR(), sb.spiR());
  EXPECT_EQ(sa.initiator(), GetParam().keepA)
      << "the seeds no longer keep the SA " << (GetParam().keepA ? "a" : "b") << " started";
  // Exactly one Child SA pair, the rekeyed one, and both send with it.
  ASSERT_EQ(sa.children().size(), 1u);
  ASSERT_EQ(sb.children().size(), 1u);
  const ChildSa& ca = *sa.children()[0];
  const ChildSa& cb = *sb.children()[0];
  EXPECT_EQ(ca.spiIn, cb.spiOut);
  EXPECT_EQ(ca.spiOut, cb.spiIn);
  EXPECT_EQ(ca.spiIn, t.a.events.childUp[2].inbound.spi);
  EXPECT_EQ(t.a.events.sending, ca.spiOut);
  EXPECT_EQ(t.b.events.sending, cb.spiOut);
  EXPECT_EQ(t.a.events.inbound, std::set<uint32_t>{ca.spiIn});
  EXPECT_EQ(t.b.events.inbound, std::set<uint32_t>{cb.spiIn});
  expectNoLoss("at the end");
  // The kept SA works both ways.
  ASSERT_TRUE(t.a.mgr->checkLiveness("to-b").isOk());
  ASSERT_TRUE(t.b.mgr->checkLiveness("to-a").isOk());
  EXPECT_EQ(runChecked(), 4u);
  EXPECT_TRUE(log.lines.empty()) << log.lines[0];
}

// A peer that settles the duplicates its own way within the grace period (strongSwan's
// uniqueids deletes one as soon as the other is up): braidd then drops nothing more, so the
// two rules never delete both IKE SAs.
TEST_P(BothInitiate, PeerSettlingItselfIsLeftAlone) {
  addPeers();
  ASSERT_TRUE(t.a.mgr->initiate("to-b", t.a.addr).isOk());
  if (GetParam().bLater) t.run();
  ASSERT_TRUE(t.b.mgr->initiate("to-a", t.b.addr).isOk());
  t.run();
  ASSERT_EQ(t.a.mgr->ikeSaCount(), 2u);
  // b deletes the IKE SA it started (whichever the nonces would keep).
  IkeSa* own = nullptr;
  for (const auto& e : t.b.events.ikeUp) {
    IkeSa* sa = t.b.mgr->findBySpi(e.spiI);  // ours as initiator
    if (sa != nullptr && sa->startedByUs()) own = sa;
  }
  ASSERT_NE(own, nullptr);
  own->deleteIkeSa();
  for (int i = 0; i < 70; ++i) {
    t.run();
    t.advance(1s);
  }
  for (Party* p : {&t.a, &t.b}) {
    EXPECT_EQ(p->mgr->ikeSaCount(), 1u) << p->name;
    EXPECT_EQ(p->counters().duplicateIkeSas, 0u) << p->name;
    EXPECT_EQ(p->events.ikeDown.size(), 1u) << p->name;
    EXPECT_TRUE(p->events.failures.empty()) << p->name;
  }
  EXPECT_TRUE(saOf(t.a).initiator());  // what is left is the IKE SA a started
  EXPECT_EQ(saOf(t.a).children().size(), 1u);
}

const StartCase kStartCases[] = {
    {"KeepA", 1, 2, true, false},
    {"KeepB", 3, 2, false, false},
    {"KeepA_BLater", 1, 2, true, true},
    {"KeepB_BLater", 6, 2, false, true},
};
INSTANTIATE_TEST_SUITE_P(Cases, BothInitiate, ::testing::ValuesIn(kStartCases),
                         [](const ::testing::TestParamInfo<StartCase>& p) { return p.param.name; });

}  // namespace
}  // namespace braid::ike::test
