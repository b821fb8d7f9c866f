// Inbound ESP SPIs are unique across every uplink's SaManager and the manual SPIs (one
// SpiRegistry shared by all of them, as edge wires it). Collisions are forced with
// deterministic random sources: a generator that repeats itself, and two uplinks whose
// managers draw the very same numbers.
#include <set>

#include "ike_harness.hpp"
#include "ipsec/ike/spi_allocator.hpp"

namespace braid::ike::test {
namespace {

// Returns the values of `seq` in turn, forever (each u32() takes 4 bytes).
class CyclingRandom final : public Random {
 public:
  explicit CyclingRandom(std::vector<uint32_t> seq) : seq_(std::move(seq)) {}
  void fill(MutableBytes out) override {
    for (size_t i = 0; i < out.size(); i += 4) {
      uint32_t v = seq_[next_++ % seq_.size()];
      for (size_t j = 0; j < 4 && i + j < out.size(); ++j) {
        out[i + j] = static_cast<uint8_t>(v >> (8 * (3 - j)));
      }
    }
  }

 private:
  std::vector<uint32_t> seq_;
  size_t next_ = 0;
};

TEST(SpiRegistry, RepeatedDrawsAreDrawnAgain) {
  SpiRegistry reg;
  CyclingRandom rng({1000, 1000, 1000, 2000, 7, 1000, 2000, 3000});
  EXPECT_EQ(rng.u32(), 1000u);  // u32() reads big-endian, as the registry will
  CyclingRandom r2({1000, 1000, 1000, 2000, 7, 1000, 2000, 3000});
  EXPECT_EQ(reg.allocate(r2), 1000u);
  EXPECT_EQ(reg.allocate(r2), 2000u);  // two repeats of 1000 skipped
  EXPECT_EQ(reg.allocate(r2), 3000u);  // 7 (reserved range), 1000 and 2000 skipped
  EXPECT_EQ(reg.collisions(), 4u);
  EXPECT_EQ(reg.size(), 3u);
  reg.release(2000);
  EXPECT_FALSE(reg.inUse(2000));
  EXPECT_TRUE(reg.inUse(1000));
}

TEST(SpiRegistry, ASourceStuckOnOneValueStillEnds) {
  SpiRegistry reg;
  CyclingRandom stuck({0xFFFFFFFFu});
  std::set<uint32_t> got;
  for (int i = 0; i < 5; ++i) got.insert(reg.allocate(stuck));
  // 0xFFFFFFFF, then the walk wraps past 0..255 to 256, 257, ...
  EXPECT_EQ(got, (std::set<uint32_t>{0xFFFFFFFFu, 256, 257, 258, 259}));
  CyclingRandom low({3});  // always in the reserved range
  EXPECT_EQ(reg.allocate(low), 260u);
}

TEST(SpiRegistry, ManualSpisAreReserved) {
  SpiRegistry reg;
  EXPECT_TRUE(reg.reserve(0x1000));
  EXPECT_FALSE(reg.reserve(0x1000));  // two manual paths with one inbound SPI
  EXPECT_FALSE(reg.reserve(255));     // RFC 4303 2.1: reserved
  CyclingRandom rng({0x1000, 0x2000});
  EXPECT_EQ(reg.allocate(rng), 0x2000u);
}

// Two uplinks of site a (one SaManager each, same seeds: without a shared registry both
// would pick the same inbound SPI) to the same peer site b. With the registry every inbound
// SPI of a is distinct, the manual one is avoided, and both tunnels carry their Child SAs.
TEST(SpiRegistry, TwoUplinksSharingOneRegistryNeverCollide) {
  LogCapture log;
  uint32_t firstIn = 0;
  {
    // Control: separate registries, identical draws -> the same SPI on both uplinks.
    TwoParty u1(5, 6), u2(5, 6);
    for (TwoParty* t : {&u1, &u2}) {
      PeerConfig pa = pskPeer("to-b", t->b.addr.address, "@a.example", "@b.example", "secret");
      pa.children.push_back(child("net", {ts("10.1.0.0/16")}, {ts("10.2.0.0/16")}));
      PeerConfig pb = pskPeer("to-a", t->a.addr.address, "@b.example", "@a.example", "secret");
      pb.children.push_back(child("net", {ts("10.2.0.0/16")}, {ts("10.1.0.0/16")}));
      ASSERT_TRUE(t->a.mgr->addPeer(pa).isOk());
      ASSERT_TRUE(t->b.mgr->addPeer(pb).isOk());
      ASSERT_TRUE(t->a.mgr->initiate("to-b", t->a.addr).isOk());
      t->run();
    }
    ASSERT_EQ(u1.a.events.childUp.size(), 1u);
    ASSERT_EQ(u2.a.events.childUp.size(), 1u);
    firstIn = u1.a.events.childUp[0].inbound.spi;
    EXPECT_EQ(u2.a.events.childUp[0].inbound.spi, firstIn) << "the control no longer collides";
  }
  auto shared = std::make_shared<SpiRegistry>();
  ASSERT_TRUE(shared->reserve(0x00C0FFEE));  // a manual path's inbound SPI
  TwoParty u1(5, 6, shared), u2(5, 6, shared);
  std::set<uint32_t> inbound;
  for (TwoParty* t : {&u1, &u2}) {
    PeerConfig pa = pskPeer("to-b", t->b.addr.address, "@a.example", "@b.example", "secret");
    pa.children.push_back(child("net", {ts("10.1.0.0/16")}, {ts("10.2.0.0/16")}));
    pa.children.push_back(child("voice", {ts("10.3.0.0/16")}, {ts("10.4.0.0/16")}));
    PeerConfig pb = pskPeer("to-a", t->a.addr.address, "@b.example", "@a.example", "secret");
    pb.children.push_back(child("net", {ts("10.2.0.0/16")}, {ts("10.1.0.0/16")}));
    pb.children.push_back(child("voice", {ts("10.4.0.0/16")}, {ts("10.3.0.0/16")}));
    ASSERT_TRUE(t->a.mgr->addPeer(pa).isOk());
    ASSERT_TRUE(t->b.mgr->addPeer(pb).isOk());
    ASSERT_TRUE(t->a.mgr->initiate("to-b", t->a.addr).isOk());
    t->run();
    ASSERT_TRUE(t->a.mgr->createChild("to-b", "voice").isOk());
    t->run();
    // A rekey allocates again.
    IkeSa* sa = t->a.mgr->findByPeer("to-b");
    ASSERT_NE(sa, nullptr);
    ASSERT_TRUE(sa->rekeyChild(sa->children()[0]->spiIn));
    t->run();
    for (const auto& e : t->a.events.childUp) {
      EXPECT_TRUE(inbound.insert(e.inbound.spi).second)
          << "inbound SPI " << e.inbound.spi << " allocated twice";
      EXPECT_NE(e.inbound.spi, 0x00C0FFEEu);
    }
    EXPECT_EQ(t->a.events.childUp.size(), 3u);
    EXPECT_EQ(t->b.events.childUp.size(), 3u);
  }
  EXPECT_EQ(inbound.size(), 6u);
  EXPECT_EQ(inbound.count(firstIn), 1u);  // u1 got it, u2 drew it too and was given another
  EXPECT_GE(shared->collisions(), 1u);
  // The old SA of each rekey is deleted 2 s later: its SPI goes back to the registry.
  EXPECT_EQ(shared->size(), 1u + 6u);
  u1.advance(std::chrono::seconds(3));
  u2.advance(std::chrono::seconds(3));
  u1.run();
  u2.run();
  EXPECT_EQ(shared->size(), 1u + 4u);
}

}  // namespace
}  // namespace braid::ike::test
