// Two-party IKE harness: two SaManagers on one ManualClock + TimerQueue. Nothing is delivered
// by itself; the test delivers, drops, duplicates or reorders each datagram.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/timer.hpp"
#include "ipsec/ike/sa_manager.hpp"

namespace braid::ike::test {

struct Datagram {
  Endpoint local, remote;  // as the sender handed them out
  ByteVec data;
};

class Capture final : public DatagramSender {
 public:
  void sendDatagram(const Endpoint& local, const Endpoint& remote, Bytes data) override {
    out.push_back({local, remote, ByteVec(data.begin(), data.end())});
  }
  std::deque<Datagram> out;
};

class Recorder final : public SaListener {
 public:
  void onIkeSaUp(const IkeSaEvent& e) override { ikeUp.push_back(e); }
  void onIkeSaDown(const IkeSaEvent& e) override { ikeDown.push_back(e); }
  void onChildSaUp(const ChildSaEvent& e) override {
    childUp.push_back(e);
    inbound.insert(e.inbound.spi);
    if (e.outboundActive) sending = e.outbound.spi;
  }
  void onChildSaDown(const ChildSaEvent& e) override {
    childDown.push_back(e);
    order.push_back("down " + std::to_string(e.inbound.spi));
    inbound.erase(e.inbound.spi);
    if (sending == e.outbound.spi) sending = 0;
  }
  void onChildSaOutbound(const ChildSaEvent& e) override {
    childOutbound.push_back(e);
    order.push_back("outbound " + std::to_string(e.inbound.spi));
    sending = e.outbound.spi;
  }
  void onPeerEndpointChanged(const IkeSaEvent& e) override { moved.push_back(e); }
  void onFailure(const FailureEvent& e) override { failures.push_back(e); }
  std::vector<IkeSaEvent> ikeUp, ikeDown, moved;
  std::vector<ChildSaEvent> childUp, childDown, childOutbound;
  std::vector<std::string> order;  // outbound switches and downs, in order
  // The data plane as edge drives it (ike_driver.cpp): inbound SAs by SPI, the one SA that
  // sends (the newest outbound; a down removes it only if it is the current one).
  std::set<uint32_t> inbound;
  uint32_t sending = 0;
  std::vector<FailureEvent> failures;
};

class KeyRecorder final : public KeySink {
 public:
  void ikeSaKeys(const IkeKeyLog& k) override { ike.push_back(k.skEi ? k.skEi->size() : 0); }
  void childSaKeys(const EspKeyLog& k) override { esp.push_back(k.spi); }
  std::vector<size_t> ike;
  std::vector<uint32_t> esp;
};

// Captures log lines so tests can check the one-line-per-failure rule.
class LogCapture {
 public:
  LogCapture() {
    Logger::instance().setLevel(LogLevel::kInfo);
    Logger::instance().setSink([this](LogLevel l, std::string_view, std::string_view line) {
      if (l >= LogLevel::kWarn) lines.emplace_back(line);
    });
  }
  ~LogCapture() { Logger::instance().setSink({}); }
  size_t count(std::string_view needle) const {
    size_t n = 0;
    for (const auto& l : lines) n += l.find(needle) != std::string::npos;
    return n;
  }
  std::vector<std::string> lines;
};

struct Party {
  std::string name;
  Endpoint addr;
  Capture net;
  Recorder events;
  KeyRecorder keys;
  std::unique_ptr<SaManager> mgr;
  const IkeCounters& counters() const { return mgr->counters(); }
};

// Deterministic key exchanges: private keys from a seeded generator.
KeyExchangeFactory seededKeyExchange(uint64_t seed);

class TwoParty {
 public:
  // `spisA`: a's inbound SPI space, shared with other managers (default: its own).
  TwoParty(uint64_t seedA = 1, uint64_t seedB = 2, std::shared_ptr<SpiAllocator> spisA = {});
  ManualClock clock;
  TimerQueue timers;
  Party a, b;  // a initiates (10.0.0.1), b responds (10.0.0.2)
  // If set, a sits behind a NAT: its source is rewritten to this public endpoint base.
  std::optional<Endpoint> natA;

  // Delivers the datagram at `index` in from's queue to the other party. Returns it.
  Datagram deliver(Party& from, size_t index = 0);
  Datagram drop(Party& from, size_t index = 0);
  // Delivers a copy without removing it.
  void duplicate(Party& from, size_t index = 0);
  // Delivers everything, alternating, until both queues are empty. Returns datagrams moved.
  size_t run(size_t limit = 100);
  // Rewrites the protected datagram at `index` in from's queue as a misbehaving peer would:
  // decrypted with the receiver's IKE SA keys, changed by `edit`, protected again with the
  // sender's. False (and a test failure) if it cannot.
  bool rewrite(Party& from, const std::function<void(Message&)>& edit, size_t index = 0);
  void advance(Duration d) {
    clock.advance(d);
    timers.runUntil(clock.now());
  }
  Party& other(Party& p) { return &p == &a ? b : a; }
};

// A test-only initiator task, so that a test can send what a peer (strongSwan) would but
// braid's own tasks do not, e.g. an IKE SA rekey (RFC 7296 1.3.2): `build` adds the payloads,
// the SA's real TaskManager assigns the message ID, SK-protects and retransmits it, and
// `onResponse` sees the decrypted answer. Queued on `sa` and started if the SA is idle.
void injectRequest(IkeSa& sa, ExchangeType exchange, std::function<void(Message&)> build,
                   std::function<void(const Message&)> onResponse = {});

// ---- configuration helpers ---------------------------------------------------------------
std::vector<Proposal> proposals(const std::string& text, ProtocolId protocol);
TrafficSelector ts(const std::string& prefix);
PeerConfig pskPeer(const std::string& name, const IpAddress& remote, const std::string& localId,
                   const std::string& remoteId, const std::string& psk);
ChildConfig child(const std::string& name, std::vector<TrafficSelector> local,
                  std::vector<TrafficSelector> remote, const std::string& esp = "aes256gcm16");

// PKI for signature tests: a CA and leaf certificates generated with OpenSSL.
struct TestPki {
  PrivateKey caKey;
  Certificate ca;
  std::shared_ptr<TrustStore> store;
};
TestPki makePki();
// A leaf for `fqdn` (SAN dNSName), signed by the CA.
Certificate issueLeaf(const TestPki& pki, const PrivateKey& key, const std::string& fqdn);

// The usual two-party setup: PSK peers "to-b" (a) and "to-a" (b), one Child SA "net"
// 10.1.0.0/16 === 10.2.0.0/16. Tests change pa/pb before start(); logs print on failure.
class IkeTwoPartyTest : public ::testing::Test {
 protected:
  void SetUp() override { configure(); }
  void TearDown() override {
    if (HasFailure()) {
      for (const auto& l : log.lines) std::cerr << "log: " << l << "\n";
    }
  }

  void configure() {
    pa = pskPeer("to-b", t.b.addr.address, "@a.example", "@b.example", "secret");
    pa.children.push_back(child("net", {ts("10.1.0.0/16")}, {ts("10.2.0.0/16")}));
    pb = pskPeer("to-a", t.a.addr.address, "@b.example", "@a.example", "secret");
    pb.children.push_back(child("net", {ts("10.2.0.0/16")}, {ts("10.1.0.0/16")}));
  }
  void start() {
    ASSERT_TRUE(t.a.mgr->addPeer(pa).isOk());
    ASSERT_TRUE(t.b.mgr->addPeer(pb).isOk());
    ASSERT_TRUE(t.a.mgr->initiate("to-b", t.a.addr).isOk());
  }
  void establish() {
    start();
    t.run();
    ASSERT_EQ(t.a.events.ikeUp.size(), 1u);
    ASSERT_EQ(t.b.events.ikeUp.size(), 1u);
  }
  // The exchange of one datagram each way.
  void roundTrip() {
    t.deliver(t.a);
    t.deliver(t.b);
  }
  static void expectPair(const ChildSaEvent& x, const ChildSaEvent& y) {
    EXPECT_EQ(x.outbound.spi, y.inbound.spi);
    EXPECT_EQ(x.inbound.spi, y.outbound.spi);
    EXPECT_EQ(x.outbound.keymat, y.inbound.keymat);
    EXPECT_EQ(x.inbound.keymat, y.outbound.keymat);
    EXPECT_NE(x.outbound.keymat, x.inbound.keymat);
    EXPECT_EQ(x.outbound.keymat.size(), ipsec::espKeymatLength(x.outbound.cipher));
  }

  LogCapture log;
  TwoParty t;
  PeerConfig pa, pb;
};

}  // namespace braid::ike::test
