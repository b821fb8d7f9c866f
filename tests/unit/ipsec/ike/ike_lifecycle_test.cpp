// Child SA lifecycle in simulated time: make-before-break rekey on the soft lifetime (RFC
// 7296 1.3.3, 2.8), byte/packet/sequence limits, hard expiry, rekey collisions (2.25), with
// every message of the exchanges dropped once. Each party's data plane is modelled as edge
// drives it (Recorder::inbound / sending): at every step, what one side sends with must be an
// SA the other side receives on -- no packet is lost to a rekey.
#include "ike_harness.hpp"

namespace braid::ike::test {
namespace {

using namespace std::chrono_literals;

Lifetime lifetime(Duration rekey, Duration life, Duration rand = {}) {
  Lifetime l;
  l.rekeyTime = rekey;
  l.lifeTime = life;
  l.randTime = rand;
  return l;
}

class ChildLifecycle : public IkeTwoPartyTest {
 protected:
  // Both sides send on an SA the other side receives on (or neither sends yet).
  void expectNoLoss(const char* where) {
    const Recorder& ea = t.a.events;
    const Recorder& eb = t.b.events;
    EXPECT_TRUE(ea.sending == 0 || eb.inbound.count(ea.sending) == 1)
        << where << ": a sends with " << ea.sending << ", b does not receive on it";
    EXPECT_TRUE(eb.sending == 0 || ea.inbound.count(eb.sending) == 1)
        << where << ": b sends with " << eb.sending << ", a does not receive on it";
  }
  // Delivers everything, one datagram at a time, checking expectNoLoss after each.
  size_t runChecked(size_t limit = 100) {
    size_t n = 0;
    while (n < limit && (!t.a.net.out.empty() || !t.b.net.out.empty())) {
      Party& from = t.a.net.out.empty() ? t.b : t.a;
      t.deliver(from);
      ++n;
      expectNoLoss("after a delivery");
    }
    return n;
  }
  void advanceChecked(Duration d) {
    t.advance(d);
    expectNoLoss("after the timers");
  }
  IkeSa& saOf(Party& p) { return *p.mgr->findByPeer(&p == &t.a ? "to-b" : "to-a"); }
  // One Child SA each, paired, both sending.
  void expectOnePair() {
    ASSERT_EQ(saOf(t.a).children().size(), 1u);
    ASSERT_EQ(saOf(t.b).children().size(), 1u);
    const ChildSa& ca = *saOf(t.a).children()[0];
    const ChildSa& cb = *saOf(t.b).children()[0];
    EXPECT_EQ(ca.spiIn, cb.spiOut);
    EXPECT_EQ(ca.spiOut, cb.spiIn);
    EXPECT_EQ(t.a.events.sending, ca.spiOut);
    EXPECT_EQ(t.b.events.sending, cb.spiOut);
    EXPECT_EQ(t.a.events.inbound, std::set<uint32_t>{ca.spiIn});
    EXPECT_EQ(t.b.events.inbound, std::set<uint32_t>{cb.spiIn});
  }
};

// true: a (the IKE initiator) has the shorter lifetime and rekeys; false: b does.
class ChildRekey : public ChildLifecycle, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    ChildLifecycle::SetUp();
    PeerConfig& fast = GetParam() ? pa : pb;
    PeerConfig& slow = GetParam() ? pb : pa;
    fast.children[0].lifetime = lifetime(600s, 660s);
    slow.children[0].lifetime = lifetime(3600s, 3960s);
  }
  Party& rekeyer() { return GetParam() ? t.a : t.b; }
  Party& peer() { return t.other(rekeyer()); }
};

TEST_P(ChildRekey, SoftLifetimeRekeysMakeBeforeBreak) {
  establish();
  expectOnePair();
  const uint32_t oldIn = saOf(rekeyer()).children()[0]->spiIn;
  const uint32_t oldPeerIn = saOf(peer()).children()[0]->spiIn;
  advanceChecked(599s);
  EXPECT_TRUE(rekeyer().net.out.empty());
  advanceChecked(1s);
  ASSERT_EQ(rekeyer().net.out.size(), 1u);  // CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, TSi, TSr }
  EXPECT_EQ(saOf(rekeyer()).children()[0]->state, ChildSaState::kRekeying);
  EXPECT_EQ(rekeyer().counters().childSoftExpired, 1u);

  // The responder installs the new inbound SA and keeps sending on the old one.
  t.deliver(rekeyer());
  expectNoLoss("request delivered");
  ASSERT_EQ(peer().events.childUp.size(), 2u);
  const ChildSaEvent& upPeer = peer().events.childUp[1];
  EXPECT_FALSE(upPeer.outboundActive);
  EXPECT_EQ(upPeer.replacesSpi, oldPeerIn);
  EXPECT_EQ(peer().events.sending, saOf(peer()).findChildByInbound(oldPeerIn)->spiOut);
  EXPECT_EQ(saOf(peer()).findChildByInbound(oldPeerIn)->state, ChildSaState::kRekeyed);

  // The initiator of the rekey switches at once on the response.
  t.deliver(peer());
  expectNoLoss("response delivered");
  ASSERT_EQ(rekeyer().events.childUp.size(), 2u);
  const ChildSaEvent& upRekeyer = rekeyer().events.childUp[1];
  EXPECT_TRUE(upRekeyer.outboundActive);
  expectPair(upRekeyer, upPeer);
  EXPECT_EQ(upRekeyer.child, "net");
  EXPECT_EQ(rekeyer().events.sending, upRekeyer.outbound.spi);
  EXPECT_EQ(rekeyer().events.inbound.count(oldIn), 1u);  // the old SA still receives
  EXPECT_EQ(saOf(rekeyer()).findChildByInbound(oldIn)->state, ChildSaState::kRekeyed);

  // After rekeyDeleteDelay the old SA is deleted; the responder switches, then drops it.
  advanceChecked(1900ms);
  EXPECT_TRUE(rekeyer().net.out.empty());
  advanceChecked(100ms);
  ASSERT_EQ(rekeyer().net.out.size(), 1u);
  t.deliver(rekeyer());
  expectNoLoss("delete delivered");
  EXPECT_EQ(peer().events.order,
            (std::vector<std::string>{"outbound " + std::to_string(upPeer.inbound.spi),
                                      "down " + std::to_string(oldPeerIn)}));
  EXPECT_EQ(peer().events.childOutbound[0].outbound.keymat, upPeer.outbound.keymat);
  t.deliver(peer());
  expectNoLoss("delete answered");
  ASSERT_EQ(rekeyer().events.childDown.size(), 1u);
  EXPECT_EQ(rekeyer().events.childDown[0].inbound.spi, oldIn);
  expectOnePair();
  EXPECT_EQ(rekeyer().counters().childRekeysInitiated, 1u);
  EXPECT_EQ(peer().counters().childRekeysResponded, 1u);
  EXPECT_EQ(t.a.counters().retransmits + t.b.counters().retransmits, 0u);
  EXPECT_TRUE(log.lines.empty()) << log.lines[0];

  // The new Child SA has its own lifetime: the next rekey 600 s after it was installed.
  advanceChecked(597s);
  EXPECT_TRUE(rekeyer().net.out.empty());
  advanceChecked(1s);
  EXPECT_EQ(runChecked(), 2u);
  advanceChecked(2s);
  EXPECT_EQ(runChecked(), 2u);
  EXPECT_EQ(rekeyer().counters().childRekeysInitiated, 2u);
  expectOnePair();
}

// Both soft lifetimes at the same moment: the requests cross, both exchanges complete and
// the lowest nonce loses (RFC 7296 2.8.1; every order and drop in ike_collision_test): one
// pair is left, nothing is retried and nothing is lost meanwhile.
TEST_P(ChildRekey, SimultaneousSoftLifetimesCollide) {
  pa.children[0].lifetime = lifetime(600s, 660s);
  pb.children[0].lifetime = lifetime(600s, 660s);
  establish();
  advanceChecked(600s);
  ASSERT_EQ(t.a.net.out.size(), 1u);
  ASSERT_EQ(t.b.net.out.size(), 1u);
  // Reorder by the parameter: whose request arrives first.
  t.deliver(rekeyer());
  expectNoLoss("first request");
  t.deliver(peer());
  expectNoLoss("second request");
  EXPECT_EQ(runChecked(), 2u);
  for (int i = 0; i < 20; ++i) {
    advanceChecked(1s);
    runChecked();
  }
  EXPECT_EQ(t.a.counters().childRekeyCollisions, 1u);
  EXPECT_EQ(t.b.counters().childRekeyCollisions, 1u);
  EXPECT_EQ(t.a.counters().childRekeyCollisionsLost + t.b.counters().childRekeyCollisionsLost, 1u);
  EXPECT_EQ(t.a.counters().childRekeyFailures + t.b.counters().childRekeyFailures, 0u);
  EXPECT_EQ(t.a.events.childUp.size(), 3u);
  EXPECT_EQ(t.b.events.childUp.size(), 3u);
  expectOnePair();
  EXPECT_TRUE(log.lines.empty()) << log.lines[0];
}

// Rekey vs delete (RFC 7296 2.25): the peer's rekey request crosses our Delete of the same
// Child SA: TEMPORARY_FAILURE, the Delete completes, no Child SA is left and none is retried.
// A rekey naming an SPI we do not know gets CHILD_SA_NOT_FOUND; the IKE SA stays.
TEST_P(ChildRekey, RekeyVersusDeleteAndChildSaNotFound) {
  establish();
  const uint32_t peerIn = saOf(peer()).children()[0]->spiIn;
  const uint32_t rekeyerIn = saOf(rekeyer()).children()[0]->spiIn;
  ASSERT_TRUE(saOf(peer()).rekeyChild(peerIn));
  saOf(rekeyer()).deleteChild(rekeyerIn);
  ASSERT_EQ(peer().net.out.size(), 1u);
  ASSERT_EQ(rekeyer().net.out.size(), 1u);
  t.deliver(peer());     // rekey request: the Child SA is being deleted
  t.deliver(rekeyer());  // the Delete, then TEMPORARY_FAILURE
  EXPECT_EQ(t.run(), 2u);
  EXPECT_TRUE(saOf(t.a).children().empty());
  EXPECT_TRUE(saOf(t.b).children().empty());
  advanceChecked(30s);
  EXPECT_EQ(runChecked(), 0u);
  std::optional<Message> response;
  injectRequest(
      saOf(peer()), ExchangeType::kCreateChildSa,
      [&](Message& m) {
        NotifyPayload n;
        n.notifyType = notify::kRekeySa;
        n.protocol = ProtocolId::kEsp;
        n.spi = ByteVec{0x12, 0x34, 0x56, 0x78};
        m.add(PayloadType::kNotify, n);
        m.add(PayloadType::kSa, SaPayload{proposals("aes256gcm16", ProtocolId::kEsp)});
        m.add(PayloadType::kNonce, NoncePayload{ByteVec(32, 1)});
        m.add(PayloadType::kTsi, TsPayload{{ts("10.0.0.0/8")}});
        m.add(PayloadType::kTsr, TsPayload{{ts("10.0.0.0/8")}});
      },
      [&](const Message& m) { response = m; });
  EXPECT_EQ(runChecked(), 2u);
  ASSERT_TRUE(response.has_value());
  EXPECT_NE(response->notify(notify::kChildSaNotFound), nullptr) << response->summary();
  EXPECT_TRUE(saOf(t.a).children().empty());
  EXPECT_EQ(saOf(t.a).state(), IkeSaState::kEstablished);
  EXPECT_EQ(saOf(t.b).state(), IkeSaState::kEstablished);
}

// Delete vs delete (RFC 7296 2.25, 1.4.1): both sides delete the same Child SA at once; each
// answers the other's Delete, the Child SA goes once on each side, the IKE SA stays.
TEST_P(ChildRekey, SimultaneousChildDeletes) {
  establish();
  saOf(t.a).deleteChild(saOf(t.a).children()[0]->spiIn);
  saOf(t.b).deleteChild(saOf(t.b).children()[0]->spiIn);
  t.deliver(rekeyer());  // the order of the crossing requests by the parameter
  t.deliver(peer());
  EXPECT_EQ(t.run(), 2u);
  for (Party* p : {&t.a, &t.b}) {
    EXPECT_EQ(p->events.childDown.size(), 1u);
    EXPECT_TRUE(saOf(*p).children().empty());
    EXPECT_EQ(saOf(*p).state(), IkeSaState::kEstablished);
  }
  EXPECT_TRUE(log.lines.empty()) << log.lines[0];
}

// Delete vs delete of the IKE SA: both end it, nobody retries, no failure is reported.
TEST_P(ChildRekey, SimultaneousIkeDeletes) {
  establish();
  ASSERT_TRUE(t.a.mgr->deleteIkeSa("to-b").isOk());
  ASSERT_TRUE(t.b.mgr->deleteIkeSa("to-a").isOk());
  t.deliver(rekeyer());
  t.deliver(peer());
  t.run();
  t.advance(1ms);
  for (Party* p : {&t.a, &t.b}) {
    EXPECT_EQ(p->events.ikeDown.size(), 1u);
    EXPECT_EQ(p->events.childDown.size(), 1u);
    EXPECT_EQ(p->mgr->ikeSaCount(), 0u);
    EXPECT_TRUE(p->events.failures.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Sides, ChildRekey, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "ByIkeInitiator" : "ByIkeResponder";
                         });

// Each of the four messages (rekey request, response, Delete, its response) dropped once, in
// both roles: the retransmission completes the rekey, nothing is installed twice, nothing is
// lost meanwhile.
class ChildRekeyDrop : public ChildLifecycle,
                       public ::testing::WithParamInterface<std::tuple<bool, int>> {
 protected:
  void SetUp() override {
    ChildLifecycle::SetUp();
    PeerConfig& fast = std::get<0>(GetParam()) ? pa : pb;
    PeerConfig& slow = std::get<0>(GetParam()) ? pb : pa;
    fast.children[0].lifetime = lifetime(600s, 660s);
    slow.children[0].lifetime = lifetime(3600s, 3960s);
  }
  Party& rekeyer() { return std::get<0>(GetParam()) ? t.a : t.b; }
  Party& peer() { return t.other(rekeyer()); }
};

TEST_P(ChildRekeyDrop, MessageDroppedOnce) {
  const int dropIndex = std::get<1>(GetParam());
  establish();
  advanceChecked(600s);
  int seen = 0;
  for (int step = 0; step < 30; ++step) {
    while (!t.a.net.out.empty() || !t.b.net.out.empty()) {
      Party& from = t.a.net.out.empty() ? t.b : t.a;
      if (seen++ == dropIndex) {
        t.drop(from);
      } else {
        t.deliver(from);
      }
      expectNoLoss("step");
    }
    advanceChecked(1s);
  }
  EXPECT_EQ(seen, dropIndex % 2 == 1 ? 6 : 5);  // a lost response: request and reply again
  EXPECT_EQ(rekeyer().counters().childRekeysInitiated, 1u);
  EXPECT_EQ(peer().counters().childRekeysResponded, 1u);
  EXPECT_EQ(rekeyer().events.childUp.size(), 2u);
  EXPECT_EQ(peer().events.childUp.size(), 2u);
  EXPECT_EQ(t.a.counters().retransmits + t.b.counters().retransmits, 1u);
  EXPECT_EQ(t.a.counters().responsesReplayed + t.b.counters().responsesReplayed,
            dropIndex % 2 == 1 ? 1u : 0u);
  expectOnePair();
  EXPECT_TRUE(log.lines.empty()) << log.lines[0];
}

std::string dropName(const ::testing::TestParamInfo<std::tuple<bool, int>>& p) {
  static const char* const kMessages[] = {"RekeyRequest", "RekeyResponse", "DeleteRequest",
                                          "DeleteResponse"};
  return std::string(std::get<0>(p.param) ? "ByIkeInitiator_" : "ByIkeResponder_") +
         kMessages[std::get<1>(p.param)];
}
INSTANTIATE_TEST_SUITE_P(SidesAndMessages, ChildRekeyDrop,
                         ::testing::Combine(::testing::Bool(), ::testing::Range(0, 4)), dropName);

// The rekey initiator does not delete the old SA (here: a very long delete delay): the
// responder's old SA reaches its hard lifetime; the responder switches to the new SA before
// its Delete goes, so still nothing is lost.
TEST_F(ChildLifecycle, ResponderSwitchesWhenTheOldSaExpires) {
  pa.children[0].lifetime = lifetime(50s, 3960s);
  pa.rekeyDeleteDelay = 1000s;
  pb.children[0].lifetime = lifetime(3600s, 80s);
  establish();
  advanceChecked(50s);
  EXPECT_EQ(runChecked(), 2u);
  EXPECT_TRUE(t.b.events.childOutbound.empty());
  advanceChecked(30s);
  ASSERT_EQ(t.b.events.childOutbound.size(), 1u);
  // Replaced already: its end is the rekey's, not counted as a hard expiry.
  EXPECT_EQ(t.b.counters().childHardExpired, 0u);
  EXPECT_EQ(runChecked(), 2u);
  expectOnePair();
}

TEST_F(ChildLifecycle, HardLifetimeDeletes) {
  pa.children[0].lifetime = lifetime({}, 100s);
  pb.children[0].lifetime = lifetime({}, 0s);
  establish();
  advanceChecked(99s);
  EXPECT_TRUE(t.a.net.out.empty());
  advanceChecked(1s);
  EXPECT_EQ(t.run(), 2u);  // a plain delete: no replacement, so no make-before-break
  EXPECT_TRUE(saOf(t.a).children().empty());
  EXPECT_TRUE(saOf(t.b).children().empty());
  EXPECT_EQ(t.a.counters().childHardExpired, 1u);
  EXPECT_EQ(saOf(t.a).state(), IkeSaState::kEstablished);
}

TEST_F(ChildLifecycle, ByteAndPacketLimitsFromTheDataPlane) {
  pa.children[0].lifetime = lifetime({}, {});
  pa.children[0].lifetime.rekeyBytes = 1000000;
  pa.children[0].lifetime.lifeBytes = 1200000;
  pa.children[0].lifetime.rekeyPackets = 5000;
  establish();
  const uint32_t in = saOf(t.a).children()[0]->spiIn;
  const uint32_t out = saOf(t.a).children()[0]->spiOut;
  EXPECT_FALSE(t.a.mgr->reportUsage(0x9999, true, 1, 1));
  EXPECT_TRUE(t.a.mgr->reportUsage(in, true, 999999, 10));
  EXPECT_TRUE(t.a.net.out.empty());
  EXPECT_TRUE(t.a.mgr->reportUsage(out, false, 1000000, 10));  // either direction counts
  EXPECT_EQ(t.a.net.out.size(), 1u);
  EXPECT_EQ(t.a.counters().childSoftExpired, 1u);
  EXPECT_TRUE(t.a.mgr->reportUsage(out, false, 1100000, 11));  // already rekeying: nothing
  EXPECT_EQ(t.a.net.out.size(), 1u);
  EXPECT_EQ(runChecked(), 2u);
  // The new SA: the packet limit.
  const uint32_t in2 = t.a.events.childUp[1].inbound.spi;
  EXPECT_TRUE(t.a.mgr->reportUsage(in2, true, 10, 5000));
  EXPECT_EQ(t.a.counters().childSoftExpired, 2u);
  runChecked();
  // The old SA (still receiving, not yet deleted) over its hard limit: deleted now.
  EXPECT_TRUE(t.a.mgr->reportUsage(in, true, 1200000, 20));
  EXPECT_EQ(t.a.counters().childHardExpired, 1u);
  runChecked();
  EXPECT_EQ(saOf(t.a).findChildByInbound(in), nullptr);
  advanceChecked(3s);
  runChecked();
  expectOnePair();
}

// RFC 4303 2.2: without ESN the 32-bit sequence number must not cycle; braid rekeys at 3/4
// of the space whatever the configured limits (none here).
TEST_F(ChildLifecycle, SequenceNumberLimitRekeys) {
  pa.children[0].lifetime = lifetime({}, {});
  establish();
  const uint32_t out = saOf(t.a).children()[0]->spiOut;
  EXPECT_TRUE(t.a.mgr->reportUsage(out, false, 1ull << 40, kSeqRekeyPackets32 - 1));
  EXPECT_TRUE(t.a.net.out.empty());
  EXPECT_TRUE(t.a.mgr->reportUsage(out, false, 1ull << 40, kSeqRekeyPackets32));
  EXPECT_EQ(t.a.counters().childSeqLimit, 1u);
  EXPECT_EQ(runChecked(), 2u);
  advanceChecked(2s);
  runChecked();
  expectOnePair();
  EXPECT_GT(kSeqRekeyPacketsEsn, 0xFFFFFFFFull);
}

// Both sides with strongSwan's default 1 h lifetimes and jitter plus byte limits, 30 days of
// traffic at ~1 MB/s each way in simulated time: every rekey is make-before-break (no instant
// where one side sends on an SA the other does not receive on), no Child SA ever expires
// hard, and the IKE SA stays up.
TEST_F(ChildLifecycle, ThirtyDaysOfRekeysLoseNothing) {
  for (PeerConfig* p : {&pa, &pb}) {
    p->children[0].lifetime = defaultChildLifetime();
    p->children[0].lifetime.rekeyBytes = 4000000000ull;  // a: time first (54-60 min)
    p->children[0].lifetime.lifeBytes = 5000000000ull;
  }
  pb.children[0].lifetime.rekeyBytes = 2500000000ull;  // b: bytes first (~42 min)
  establish();
  std::map<uint32_t, uint64_t> sent;  // bytes by outbound SPI (= the peer's inbound SPI)
  const Duration step = 10s;
  const uint64_t bytesPerStep = 10000000;  // 1 MB/s
  for (Duration elapsed{}; elapsed < std::chrono::hours(24 * 30); elapsed += step) {
    for (Party* p : {&t.a, &t.b}) {
      const uint32_t spi = p->events.sending;
      if (spi == 0) continue;
      sent[spi] += bytesPerStep;
      const uint64_t bytes = sent[spi];
      p->mgr->reportUsage(spi, false, bytes, bytes / 1000);
      t.other(*p).mgr->reportUsage(spi, true, bytes, bytes / 1000);
    }
    runChecked();
    advanceChecked(step);
    runChecked();
    if (HasFailure()) break;
  }
  const uint64_t rekeys = t.a.counters().childRekeysInitiated + t.b.counters().childRekeysInitiated;
  EXPECT_GE(rekeys, 30u * 24u);
  EXPECT_EQ(t.a.counters().childHardExpired + t.b.counters().childHardExpired, 0u);
  // The IKE SA rekeys too (default 4 h): each rekey retires one IKE SA on each side.
  const uint64_t ikeRekeys = t.a.counters().ikeRekeysInitiated + t.b.counters().ikeRekeysInitiated;
  EXPECT_GE(ikeRekeys, 30u * 24u / 4u);
  EXPECT_EQ(t.b.counters().ikeRekeysResponded + t.a.counters().ikeRekeysResponded, ikeRekeys);
  EXPECT_EQ(t.a.events.ikeDown.size(), ikeRekeys);
  EXPECT_EQ(t.b.events.ikeDown.size(), ikeRekeys);
  EXPECT_TRUE(t.a.events.failures.empty());
  EXPECT_TRUE(t.b.events.failures.empty());
  t.advance(1ms);
  EXPECT_EQ(t.a.mgr->ikeSaCount(), 1u);
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 1u);
  expectOnePair();
  std::cout << "30 days: " << rekeys << " Child SA rekeys, " << ikeRekeys << " IKE SA rekeys, "
            << t.a.counters().childRekeyFailures + t.b.counters().childRekeyFailures +
                   t.a.counters().ikeRekeyFailures + t.b.counters().ikeRekeyFailures
            << " TEMPORARY_FAILURE retries\n";
}

// ---- IKE SA rekey (RFC 7296 1.3.2, 2.8, 2.18) ----------------------------------------------

// Who rekeys (true: a, the original IKE initiator) and which message is dropped once (-1:
// none; 0 request, 1 response, 2 Delete of the old IKE SA, 3 its response).
class IkeRekey : public ChildLifecycle,
                 public ::testing::WithParamInterface<std::tuple<bool, int>> {
 protected:
  void SetUp() override {
    ChildLifecycle::SetUp();
    PeerConfig& fast = std::get<0>(GetParam()) ? pa : pb;
    PeerConfig& slow = std::get<0>(GetParam()) ? pb : pa;
    fast.ikeLifetime = lifetime(1000s, 1100s);
    slow.ikeLifetime = lifetime(14400s, 15840s);
    for (PeerConfig* p : {&pa, &pb}) p->children[0].lifetime = lifetime(86400s, 90000s);
  }
  Party& rekeyer() { return std::get<0>(GetParam()) ? t.a : t.b; }
  Party& peer() { return t.other(rekeyer()); }
};

TEST_P(IkeRekey, ChildSasMoveToTheNewIkeSa) {
  const int dropIndex = std::get<1>(GetParam());
  establish();
  const uint64_t oldSpiI = saOf(t.a).spiI(), oldSpiR = saOf(t.a).spiR();
  const uint32_t childIn = saOf(t.a).children()[0]->spiIn;
  const uint32_t childOut = saOf(t.a).children()[0]->spiOut;
  advanceChecked(999s);
  EXPECT_TRUE(rekeyer().net.out.empty());
  advanceChecked(1s);
  ASSERT_EQ(rekeyer().net.out.size(), 1u);
  int seen = 0;
  for (int step = 0; step < 30; ++step) {
    while (!t.a.net.out.empty() || !t.b.net.out.empty()) {
      Party& from = t.a.net.out.empty() ? t.b : t.a;
      if (seen++ == dropIndex) {
        t.drop(from);
      } else {
        t.deliver(from);
      }
      expectNoLoss("step");
    }
    advanceChecked(1s);
  }
  if (dropIndex == 3) {
    // The old SA is gone at the peer: the Delete's retransmissions go unanswered until the
    // old SA ends quietly (as any Delete whose answer is lost).
    EXPECT_GE(seen, 6);
    for (int i = 0; i < 200; ++i) {
      advanceChecked(1s);
      while (!rekeyer().net.out.empty()) t.deliver(rekeyer());
    }
  } else {
    EXPECT_EQ(seen, dropIndex < 0 ? 4 : dropIndex % 2 == 1 ? 6 : 5);
  }
  EXPECT_EQ(rekeyer().counters().ikeRekeysInitiated, 1u);
  EXPECT_EQ(peer().counters().ikeRekeysResponded, 1u);
  EXPECT_EQ(t.a.mgr->ikeSaCount(), 1u);
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 1u);
  IkeSa& na = saOf(t.a);
  IkeSa& nb = saOf(t.b);
  EXPECT_NE(na.spiI(), oldSpiI);
  EXPECT_NE(na.spiR(), oldSpiR);
  EXPECT_EQ(na.spiI(), nb.spiI());
  EXPECT_EQ(na.spiR(), nb.spiR());
  // RFC 7296 2.18: the side that started the rekey is the new SA's initiator.
  EXPECT_EQ(saOf(rekeyer()).initiator(), true);
  EXPECT_EQ(saOf(peer()).initiator(), false);
  EXPECT_EQ(na.state(), IkeSaState::kEstablished);
  // The Child SA moved without an event: same SPIs, nothing installed or removed.
  ASSERT_EQ(na.children().size(), 1u);
  EXPECT_EQ(na.children()[0]->spiIn, childIn);
  EXPECT_EQ(na.children()[0]->spiOut, childOut);
  for (Party* p : {&t.a, &t.b}) {
    EXPECT_EQ(p->events.childUp.size(), 1u);
    EXPECT_TRUE(p->events.childDown.empty());
    EXPECT_EQ(p->events.ikeUp.size(), 2u);
    EXPECT_EQ(p->events.ikeDown.size(), 1u);
  }
  EXPECT_TRUE(log.lines.empty()) << log.lines[0];
  // The new IKE SA carries exchanges both ways: liveness checks, then a Child SA rekey.
  ASSERT_TRUE(t.a.mgr->checkLiveness("to-b").isOk());
  ASSERT_TRUE(t.b.mgr->checkLiveness("to-a").isOk());
  EXPECT_EQ(runChecked(), 4u);
  ASSERT_TRUE(saOf(peer()).rekeyChild(saOf(peer()).children()[0]->spiIn));
  EXPECT_EQ(runChecked(), 2u);
  advanceChecked(2s);
  EXPECT_EQ(runChecked(), 2u);
  expectOnePair();
  EXPECT_EQ(t.a.counters().dropsIntegrity + t.b.counters().dropsIntegrity, 0u);
}

std::string ikeRekeyName(const ::testing::TestParamInfo<std::tuple<bool, int>>& p) {
  static const char* const kMessages[] = {"NoneDropped", "RequestDropped", "ResponseDropped",
                                          "DeleteDropped", "DeleteResponseDropped"};
  return std::string(std::get<0>(p.param) ? "ByIkeInitiator_" : "ByIkeResponder_") +
         kMessages[std::get<1>(p.param) + 1];
}
INSTANTIATE_TEST_SUITE_P(SidesAndMessages, IkeRekey,
                         ::testing::Combine(::testing::Bool(), ::testing::Range(-1, 4)),
                         ikeRekeyName);

// Both sides' IKE soft lifetimes at once: both rekeys complete, the lowest nonce loses (RFC
// 7296 2.8.2; every order and drop in ike_collision_test); one IKE SA is left, with the Child
// SA, and nothing is retried.
TEST_F(ChildLifecycle, SimultaneousIkeRekeyEndsWithOneIkeSa) {
  pa.ikeLifetime = lifetime(1000s, 1100s);
  pb.ikeLifetime = lifetime(1000s, 1100s);
  establish();
  advanceChecked(1000s);
  ASSERT_EQ(t.a.net.out.size(), 1u);
  ASSERT_EQ(t.b.net.out.size(), 1u);
  runChecked();
  EXPECT_EQ(t.a.counters().ikeRekeyFailures + t.b.counters().ikeRekeyFailures, 0u);
  EXPECT_EQ(t.a.counters().ikeRekeyCollisions + t.b.counters().ikeRekeyCollisions, 2u);
  for (int i = 0; i < 70; ++i) {
    advanceChecked(1s);
    runChecked();
  }
  EXPECT_EQ(t.a.counters().ikeRekeysInitiated + t.b.counters().ikeRekeysInitiated, 1u);
  EXPECT_EQ(t.a.mgr->ikeSaCount(), 1u);
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 1u);
  EXPECT_EQ(saOf(t.a).spiI(), saOf(t.b).spiI());
  expectOnePair();
}

// The IKE SA's hard lifetime without a rekey (the peer refuses it): deleted, and the
// initiator starts a new one.
TEST_F(ChildLifecycle, IkeHardLifetimeDeletes) {
  pa.ikeLifetime = lifetime({}, 500s);
  establish();
  advanceChecked(499s);
  EXPECT_TRUE(t.a.net.out.empty());
  advanceChecked(1s);
  EXPECT_EQ(t.run(), 2u);
  EXPECT_EQ(t.a.counters().ikeHardExpired, 1u);
  EXPECT_EQ(t.a.events.ikeDown.size(), 1u);
  EXPECT_EQ(t.b.events.ikeDown.size(), 1u);
}

// ---- Dead peer detection (RFC 7296 2.4) -------------------------------------------------------

// true: a (IKE initiator) runs DPD; false: b.
class Dpd : public ChildLifecycle, public ::testing::WithParamInterface<bool> {
 protected:
  PeerConfig& dpdConfig() { return GetParam() ? pa : pb; }
  Party& checker() { return GetParam() ? t.a : t.b; }
  Party& peer() { return t.other(checker()); }
  void SetUp() override {
    ChildLifecycle::SetUp();
    dpdConfig().dpdDelay = 30s;
  }
  // Lets everything the checker sends get lost until its retransmissions run out (~165 s).
  void peerDies() {
    for (int i = 0; i < 400; ++i) {
      while (!checker().net.out.empty()) t.drop(checker());
      t.advance(1s);
      if (checker().counters().peerNotAnswering > 0) break;
    }
  }
};

TEST_P(Dpd, EmptyInformationalOnlyWhenIdle) {
  establish();
  advanceChecked(29s);
  EXPECT_TRUE(checker().net.out.empty());
  advanceChecked(1s);
  ASSERT_EQ(checker().net.out.size(), 1u);
  EXPECT_EQ(checker().counters().dpdChecks, 1u);
  EXPECT_EQ(runChecked(), 2u);
  // ESP from the peer counts as alive: no check while it keeps arriving.
  const uint32_t in = saOf(checker()).children()[0]->spiIn;
  for (int i = 1; i <= 12; ++i) {
    checker().mgr->reportUsage(in, true, 1000u * i, 10u * i);
    advanceChecked(10s);
  }
  EXPECT_TRUE(checker().net.out.empty());
  EXPECT_EQ(checker().counters().dpdChecks, 1u);
  advanceChecked(30s);
  EXPECT_EQ(checker().counters().dpdChecks, 2u);
  EXPECT_EQ(runChecked(), 2u);
  // The peer's own requests count too.
  advanceChecked(20s);
  EXPECT_TRUE(peer().mgr->checkLiveness(&peer() == &t.a ? "to-b" : "to-a").isOk());
  EXPECT_EQ(runChecked(), 2u);
  advanceChecked(20s);
  EXPECT_EQ(checker().counters().dpdChecks, 2u);
  EXPECT_TRUE(checker().net.out.empty());
  advanceChecked(10s);
  EXPECT_EQ(checker().counters().dpdChecks, 3u);
}

TEST_P(Dpd, DeadPeerRestart) {
  establish();
  peerDies();
  EXPECT_EQ(checker().counters().peerNotAnswering, 1u);
  EXPECT_EQ(checker().events.ikeDown.size(), 1u);
  t.advance(1ms);
  // restart: a new IKE_SA_INIT from the checker, whichever role it had.
  ASSERT_EQ(checker().net.out.size(), 1u);
  const size_t upBefore = checker().events.ikeUp.size();
  t.run();
  EXPECT_EQ(checker().events.ikeUp.size(), upBefore + 1);
}

TEST_P(Dpd, DeadPeerClearAndHoldDoNotReinitiate) {
  for (DpdAction action : {DpdAction::kClear, DpdAction::kHold}) {
    SCOPED_TRACE(static_cast<int>(action));
    dpdConfig().dpdAction = action;
    pa.retryInitial = Duration{};  // the IKE initiator's own retry off: only DPD decides
    t.~TwoParty();
    new (&t) TwoParty();
    establish();
    peerDies();
    EXPECT_EQ(checker().counters().peerNotAnswering, 1u);
    EXPECT_EQ(checker().events.ikeDown.size(), 1u);
    t.advance(600s);
    EXPECT_TRUE(checker().net.out.empty());
    EXPECT_EQ(checker().mgr->ikeSaCount(), 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Sides, Dpd, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "ByIkeInitiator" : "ByIkeResponder";
                         });

}  // namespace
}  // namespace braid::ike::test
