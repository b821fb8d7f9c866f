// Responder DoS defences (RFC 7296 2.6, RFC 8019) in simulated time: COOKIE challenges above
// the half-open threshold with a rotating secret, half-open caps (global, per source),
// half-open expiry, the per-source IKE_SA_INIT rate limit, findByPeer() ignoring half-open
// SAs, rate-limited log lines, and a 100k spoofed IKE_SA_INIT flood with bounded tables
// during which a braid initiator still connects through a cookie challenge.
#include <algorithm>

#include "ike_harness.hpp"

namespace braid::ike::test {
namespace {

// Limits with every defence off; each test turns on the one it checks.
ResponderLimits noLimits() {
  ResponderLimits l;
  l.cookieThreshold = 1u << 30;
  l.halfOpenMax = 1u << 30;
  l.halfOpenMaxPerSource = 1u << 30;
  l.initRatePerSource = 0;
  return l;
}

IpAddress addr(uint32_t n) {
  return IpAddress::v4(0x0B000000u + n);  // 11.0.0.0/8: spoofed sources
}

class IkeDos : public IkeTwoPartyTest {
 protected:
  // Rebuilds b's manager with `limits` (before start()); same seeds as the harness.
  void limitB(const ResponderLimits& limits) {
    SaManagerOptions o;
    o.random = std::make_unique<SeededRandom>(2 * 7919);
    o.keyExchange = seededKeyExchange(2);
    o.keySink = &t.b.keys;
    o.deterministicIvs = true;
    o.limits = limits;
    t.b.mgr = std::make_unique<SaManager>(t.clock, t.timers, t.b.net, t.b.events, std::move(o));
  }
  // b accepts IKE_SA_INIT from any address (identity decides), as a hub does.
  void acceptAny() { pb.remoteAny = true; }

  // A valid IKE_SA_INIT request from another braid initiator, to replay with spoofed SPIs.
  const Message& initTemplate() {
    if (!template_) {
      Capture net;
      Recorder events;
      SaManagerOptions o;
      o.random = std::make_unique<SeededRandom>(99);
      o.keyExchange = seededKeyExchange(99);
      SaManager x(t.clock, t.timers, net, events, std::move(o));
      PeerConfig px = pa;
      px.name = "x";
      EXPECT_TRUE(x.addPeer(px).isOk());
      EXPECT_TRUE(x.initiate("x", t.a.addr).isOk());
      EXPECT_EQ(net.out.size(), 1u);
      template_.emplace();
      EXPECT_FALSE(template_->parse(net.out.at(0).data).has_value());
    }
    return *template_;
  }
  ByteVec spoofed(uint64_t spiI, const ByteVec& cookie = {}) {
    Message m = initTemplate();
    m.header.spiI = spiI;
    if (!cookie.empty()) {
      m.addNotify(notify::kCookie, cookie);  // RFC 7296 2.6: the first payload
      std::rotate(m.payloads.begin(), m.payloads.end() - 1, m.payloads.end());
    }
    auto bytes = m.encode(nullptr);
    EXPECT_TRUE(bytes.isOk());
    return bytes.isOk() ? *bytes : ByteVec{};
  }
  // Sends a spoofed IKE_SA_INIT to b; returns b's answer (empty if none) and discards it.
  Message send(uint64_t spiI, const IpAddress& from, const ByteVec& cookie = {}) {
    t.b.net.out.clear();
    ByteVec d = spoofed(spiI, cookie);
    t.b.mgr->receive(t.b.addr, Endpoint{from, kIkePort}, d);
    Message reply;
    if (!t.b.net.out.empty()) {
      EXPECT_FALSE(reply.parse(t.b.net.out.back().data).has_value());
      t.b.net.out.clear();
    }
    return reply;
  }
  static ByteVec cookieOf(const Message& reply) {
    const NotifyPayload* n = reply.notify(notify::kCookie);
    return n ? n->data : ByteVec{};
  }
  // Only the COOKIE notify: no SA, KE, Nr, and no responder SPI (stateless).
  static bool isCookieOnly(const Message& reply) {
    return reply.notify(notify::kCookie) != nullptr && reply.payloads.size() == 1 &&
           reply.header.spiR == 0 && reply.header.response();
  }

  std::optional<Message> template_;
};

TEST_F(IkeDos, CookieRequiredAboveHalfOpenThreshold) {
  auto l = noLimits();
  l.cookieThreshold = 2;
  limitB(l);
  acceptAny();
  start();
  t.a.net.out.clear();
  EXPECT_NE(send(1, addr(1)).get<SaPayload>(PayloadType::kSa), nullptr);
  EXPECT_NE(send(2, addr(2)).get<SaPayload>(PayloadType::kSa), nullptr);
  EXPECT_EQ(t.b.mgr->halfOpenCount(), 2u);
  // At the threshold: answered statelessly with a cookie, no SA allocated.
  Message r = send(3, addr(3));
  EXPECT_TRUE(isCookieOnly(r)) << r.summary();
  EXPECT_EQ(r.header.spiI, 3u);
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 2u);
  EXPECT_EQ(t.b.counters().cookiesSent, 1u);
  ByteVec cookie = cookieOf(r);
  EXPECT_EQ(cookie.size(), CookieSecrets::kCookieLength);
  // The same request with the cookie returned: an SA.
  r = send(3, addr(3), cookie);
  EXPECT_NE(r.get<SaPayload>(PayloadType::kSa), nullptr) << r.summary();
  EXPECT_EQ(t.b.counters().cookiesValid, 1u);
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 3u);
  // The cookie is bound to SPIi and IPi (RFC 7296 2.6).
  EXPECT_TRUE(isCookieOnly(send(4, addr(3), cookie)));
  EXPECT_TRUE(isCookieOnly(send(3, addr(4), cookie)));
  ByteVec forged = cookie;
  forged.back() ^= 1;
  EXPECT_TRUE(isCookieOnly(send(5, addr(5), forged)));
  EXPECT_EQ(t.b.counters().cookiesInvalid, 3u);
  EXPECT_EQ(t.b.counters().cookiesSent, 4u);
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 3u);
}

TEST_F(IkeDos, BraidInitiatorPassesCookieChallenge) {
  auto l = noLimits();
  l.cookieThreshold = 0;  // always
  limitB(l);
  start();
  t.deliver(t.a);
  ASSERT_EQ(t.b.net.out.size(), 1u);
  Message r;
  ASSERT_FALSE(r.parse(t.b.net.out[0].data).has_value());
  EXPECT_TRUE(isCookieOnly(r));
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 0u);
  t.run();
  ASSERT_EQ(t.a.events.ikeUp.size(), 1u);
  ASSERT_EQ(t.b.events.ikeUp.size(), 1u);
  EXPECT_EQ(t.a.events.childUp.size(), 1u);
  EXPECT_EQ(t.b.counters().cookiesSent, 1u);
  EXPECT_EQ(t.b.counters().cookiesValid, 1u);
  EXPECT_EQ(t.b.mgr->halfOpenCount(), 0u);  // established: no longer half-open
}

TEST_F(IkeDos, CookieSecretRotation) {
  auto l = noLimits();
  l.cookieThreshold = 0;
  l.cookieSecretLifetime = std::chrono::seconds(60);
  limitB(l);
  acceptAny();
  start();
  ByteVec c1 = cookieOf(send(1, addr(1)));
  ByteVec c2 = cookieOf(send(2, addr(2)));
  ByteVec c3 = cookieOf(send(3, addr(3)));
  ASSERT_FALSE(c1.empty());
  t.advance(std::chrono::seconds(61));  // one rotation: the previous secret still verifies
  EXPECT_NE(send(1, addr(1), c1).get<SaPayload>(PayloadType::kSa), nullptr);
  t.advance(std::chrono::seconds(60));  // two rotations
  EXPECT_TRUE(isCookieOnly(send(2, addr(2), c2)));
  EXPECT_EQ(t.b.counters().cookiesValid, 1u);
  EXPECT_EQ(t.b.counters().cookiesInvalid, 1u);
  // Idle for many lifetimes: both secrets are new.
  t.advance(std::chrono::hours(5));
  EXPECT_TRUE(isCookieOnly(send(3, addr(3), c3)));
  EXPECT_EQ(t.b.counters().cookiesInvalid, 2u);
}

TEST_F(IkeDos, HalfOpenCapPerSource) {
  auto l = noLimits();
  l.halfOpenMaxPerSource = 3;
  limitB(l);
  acceptAny();
  start();
  for (uint64_t spi = 1; spi <= 5; ++spi) (void)send(spi, addr(1));
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 3u);
  EXPECT_EQ(t.b.counters().dropsHalfOpenPerSource, 2u);
  EXPECT_TRUE(t.b.net.out.empty());  // dropped silently
  EXPECT_NE(send(6, addr(2)).get<SaPayload>(PayloadType::kSa), nullptr);
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 4u);
  EXPECT_EQ(t.b.mgr->halfOpenSources(), 2u);
}

TEST_F(IkeDos, HalfOpenCapGlobal) {
  auto l = noLimits();
  l.halfOpenMax = 5;
  limitB(l);
  acceptAny();
  start();
  for (uint32_t i = 1; i <= 10; ++i) (void)send(i, addr(i));
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 5u);
  EXPECT_EQ(t.b.mgr->halfOpenCount(), 5u);
  EXPECT_EQ(t.b.counters().dropsHalfOpenCap, 5u);
  // The legitimate initiator is dropped too while the table is full (the cookie threshold
  // below the cap is what keeps spoofed sources from filling it), then gets in on expiry.
  t.deliver(t.a);
  EXPECT_TRUE(t.b.net.out.empty());
  EXPECT_EQ(t.b.counters().dropsHalfOpenCap, 6u);
  t.advance(std::chrono::seconds(30));
  t.a.net.out.clear();  // a's retransmissions, dropped too; a has given up
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 0u);
  ASSERT_TRUE(t.a.mgr->initiate("to-b", t.a.addr).isOk());
  t.run();
  EXPECT_EQ(t.b.events.ikeUp.size(), 1u);
}

TEST_F(IkeDos, HalfOpenExpiresAfter30Seconds) {
  limitB(noLimits());
  acceptAny();
  start();
  (void)send(1, addr(1));  // IKE_SA_INIT only (kConnecting)
  t.advance(std::chrono::seconds(10));
  (void)send(2, addr(2));
  t.deliver(t.a);  // a's IKE_SA_INIT answered; its IKE_AUTH never arrives
  t.a.net.out.clear();
  t.b.net.out.clear();
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 3u);
  t.advance(std::chrono::seconds(20) - 1ms);
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 3u);
  t.advance(1ms);  // the first one is 30 s old
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 2u);
  EXPECT_EQ(t.b.counters().halfOpenExpired, 1u);
  t.advance(std::chrono::seconds(10));
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 0u);
  EXPECT_EQ(t.b.mgr->halfOpenCount(), 0u);
  EXPECT_EQ(t.b.mgr->halfOpenSources(), 0u);
  EXPECT_EQ(t.b.counters().halfOpenExpired, 3u);
  EXPECT_TRUE(t.b.events.failures.empty());
}

TEST_F(IkeDos, EstablishedSaNeitherHalfOpenNorExpired) {
  limitB(noLimits());
  establish();
  EXPECT_EQ(t.b.mgr->halfOpenCount(), 0u);
  EXPECT_EQ(t.b.mgr->halfOpenSources(), 0u);
  t.advance(std::chrono::seconds(120));
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 1u);
  EXPECT_EQ(t.b.counters().halfOpenExpired, 0u);
  EXPECT_TRUE(t.b.events.ikeDown.empty());
}

TEST_F(IkeDos, RetransmittedInitFindsItsHalfOpenSa) {
  auto l = noLimits();
  l.halfOpenMaxPerSource = 1;
  limitB(l);
  acceptAny();
  start();
  Message first = send(7, addr(1));
  Message again = send(7, addr(1));  // answered from the cache, not a second SA
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 1u);
  EXPECT_EQ(again.header.spiR, first.header.spiR);
  EXPECT_EQ(t.b.counters().dropsHalfOpenPerSource, 0u);
}

TEST_F(IkeDos, PerSourceInitRateLimit) {
  auto l = noLimits();
  l.initRatePerSource = 2;
  l.initBurstPerSource = 2;
  limitB(l);
  acceptAny();
  start();
  for (uint64_t spi = 1; spi <= 5; ++spi) (void)send(spi, addr(1));
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 2u);
  EXPECT_EQ(t.b.counters().dropsInitRate, 3u);
  (void)send(10, addr(2));  // another source has its own bucket
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 3u);
  t.advance(std::chrono::milliseconds(500));  // one token at 2/s
  (void)send(6, addr(1));
  (void)send(7, addr(1));
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 4u);
  EXPECT_EQ(t.b.counters().dropsInitRate, 4u);
  EXPECT_EQ(t.b.mgr->rateTableSize(), 2u);
}

TEST_F(IkeDos, RateTableIsBounded) {
  auto l = noLimits();
  l.initRatePerSource = 1;
  l.rateTableMax = 64;
  l.cookieThreshold = 0;  // cheap stateless answers
  limitB(l);
  acceptAny();
  start();
  for (uint32_t i = 0; i < 1000; ++i) (void)send(i + 1, addr(i));
  EXPECT_EQ(t.b.mgr->rateTableSize(), 64u);
  EXPECT_EQ(t.b.counters().cookiesSent, 1000u);
}

TEST_F(IkeDos, FindByPeerIgnoresPlantedHalfOpenSa) {
  limitB(noLimits());
  ASSERT_TRUE(t.a.mgr->addPeer(pa).isOk());
  ASSERT_TRUE(t.b.mgr->addPeer(pb).isOk());
  // An IKE_SA_INIT spoofed from a's address: b creates a half-open SA with a's config.
  (void)send(0x1234, t.a.addr.address);
  ASSERT_EQ(t.b.mgr->ikeSaCount(), 1u);
  EXPECT_EQ(t.b.mgr->findByPeer("to-a"), nullptr);
  EXPECT_EQ(t.b.mgr->createChild("to-a", "net").code(), ErrorCode::kNotFound);
  // b initiates itself: its own SA, not the planted one.
  ASSERT_TRUE(t.b.mgr->initiate("to-a", t.b.addr).isOk());
  IkeSa* sa = t.b.mgr->findByPeer("to-a");
  ASSERT_NE(sa, nullptr);
  EXPECT_TRUE(sa->initiator());
  t.b.net.out.clear();
  // Once a real SA is established, that one is returned.
  ASSERT_TRUE(t.a.mgr->initiate("to-b", t.a.addr).isOk());
  t.run();
  ASSERT_EQ(t.b.events.ikeUp.size(), 1u);
  sa = t.b.mgr->findByPeer("to-a");
  ASSERT_NE(sa, nullptr);
  EXPECT_EQ(sa->state(), IkeSaState::kEstablished);
}

TEST_F(IkeDos, LogLinesFromUnauthenticatedInputAreLimited) {
  auto l = noLimits();
  l.logLinesPerMinute = 5;
  limitB(l);
  start();
  for (uint32_t i = 0; i < 100; ++i) (void)send(i + 1, addr(i));  // no config for them
  EXPECT_EQ(t.b.counters().dropsNoConfig, 100u);
  EXPECT_EQ(log.count("no peer config for this address"), 5u);
  EXPECT_EQ(t.b.counters().logSuppressed, 95u);
  t.advance(std::chrono::minutes(1));
  (void)send(1000, addr(1000));
  EXPECT_EQ(log.count("IKE_SA_INIT refused: 95 similar lines suppressed"), 1u);
  EXPECT_EQ(log.count("no peer config for this address"), 6u);
}

// 100k spoofed IKE_SA_INITs from 50k addresses at 2500/s (40 s of simulated time) with the
// default limits; a braid initiator connects in the middle of it.
TEST_F(IkeDos, FloodOfSpoofedInitsStaysBoundedAndLegitimatePeerConnects) {
  ResponderLimits l;  // defaults
  limitB(l);
  acceptAny();
  ASSERT_TRUE(t.a.mgr->addPeer(pa).isOk());
  ASSERT_TRUE(t.b.mgr->addPeer(pb).isOk());
  const Message tmpl = initTemplate();
  size_t maxSas = 0, maxHalfOpen = 0, maxRate = 0, maxTimers = 0;
  constexpr uint32_t kFlood = 100000, kSources = 50000;
  bool started = false;
  for (uint32_t i = 0; i < kFlood; ++i) {
    Message m = tmpl;
    m.header.spiI = 0x5000000000000000ull + i;
    auto d = m.encode(nullptr);
    ASSERT_TRUE(d.isOk());
    t.b.mgr->receive(t.b.addr, Endpoint{addr(i % kSources), kIkePort}, *d);
    // Replies to spoofed sources go nowhere.
    std::erase_if(t.b.net.out,
                  [&](const Datagram& x) { return x.remote.address != t.a.addr.address; });
    if (i == kFlood / 2) {
      ASSERT_TRUE(t.a.mgr->initiate("to-b", t.a.addr).isOk());
      started = true;
    }
    if (started && i % 100 == 0) t.run();
    t.advance(std::chrono::microseconds(400));
    maxSas = std::max(maxSas, t.b.mgr->ikeSaCount());
    maxHalfOpen = std::max(maxHalfOpen, t.b.mgr->halfOpenCount());
    maxRate = std::max(maxRate, t.b.mgr->rateTableSize());
    maxTimers = std::max(maxTimers, t.timers.pending());
  }
  t.run();
  const IkeCounters& c = t.b.counters();
  std::printf(
      "flood: %u IKE_SA_INIT, max SAs %zu, max half-open %zu, rate table %zu, "
      "timers %zu, cookies sent %llu valid %llu, expired %llu, rate drops %llu\n",
      kFlood, maxSas, maxHalfOpen, maxRate, maxTimers,
      static_cast<unsigned long long>(c.cookiesSent),
      static_cast<unsigned long long>(c.cookiesValid),
      static_cast<unsigned long long>(c.halfOpenExpired),
      static_cast<unsigned long long>(c.dropsInitRate));
  // Spoofed sources never return cookies: the half-open SAs stay at the threshold (plus the
  // legitimate one), refilled after each 30 s expiry.
  EXPECT_LE(maxHalfOpen, l.cookieThreshold + 1);
  EXPECT_LE(maxSas, l.cookieThreshold + 2);
  EXPECT_LE(maxRate, l.rateTableMax);
  EXPECT_LE(maxTimers, 20u);
  EXPECT_GT(c.cookiesSent, kFlood * 9 / 10);
  EXPECT_EQ(c.cookiesValid, 1u);  // the braid initiator's
  ASSERT_EQ(t.a.events.ikeUp.size(), 1u);
  ASSERT_EQ(t.b.events.ikeUp.size(), 1u);
  EXPECT_EQ(t.b.events.ikeUp[0].remote, t.a.addr);
  EXPECT_EQ(t.a.events.childUp.size(), 1u);
  // The log stayed short.
  EXPECT_LT(log.lines.size(), 100u);
  // After the flood, the half-open SAs expire; the established one stays.
  t.advance(std::chrono::seconds(31));
  EXPECT_EQ(t.b.mgr->halfOpenCount(), 0u);
  EXPECT_EQ(t.b.mgr->ikeSaCount(), 1u);
}

}  // namespace
}  // namespace braid::ike::test
