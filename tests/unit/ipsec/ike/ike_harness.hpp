// Two-party IKE harness: two SaManagers on one ManualClock + TimerQueue. Nothing is delivered
// by itself; the test delivers, drops, duplicates or reorders each datagram.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>
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
  void onChildSaUp(const ChildSaEvent& e) override { childUp.push_back(e); }
  void onChildSaDown(const ChildSaEvent& e) override { childDown.push_back(e); }
  void onPeerEndpointChanged(const IkeSaEvent& e) override { moved.push_back(e); }
  void onFailure(const FailureEvent& e) override { failures.push_back(e); }
  std::vector<IkeSaEvent> ikeUp, ikeDown, moved;
  std::vector<ChildSaEvent> childUp, childDown;
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
  TwoParty(uint64_t seedA = 1, uint64_t seedB = 2);
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
  void advance(Duration d) {
    clock.advance(d);
    timers.runUntil(clock.now());
  }
  Party& other(Party& p) { return &p == &a ? b : a; }
};

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

}  // namespace braid::ike::test
