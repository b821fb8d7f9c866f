// Support for the IKE setup benchmark: a throw-away PKI made with OpenSSL, the peer configs
// of both sides, and a loopback pair: two SaManagers in one process, each with its own real
// UDP socket on 127.0.0.1 (ephemeral port), driven by a small poll loop that moves the
// datagrams and runs one TimerQueue on a SteadyClock. No edge code: this is what braidd's
// IKE path costs without Asio.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/timer.hpp"
#include "ipsec/ike/sa_manager.hpp"

namespace braid::ike::bench {

// ---- PKI ----------------------------------------------------------------------------------
struct BenchPki {
  PrivateKey caKey;
  Certificate ca;
  std::shared_ptr<TrustStore> store;
};
struct BenchCreds {
  PrivateKey key;
  Certificate cert;  // SAN dNSName = the FQDN, signed by the CA
};
// A CA with a key of `type` (kRsa = RSA-3072, as strongswan-pair.sh's rsa mode).
// braidd's info-level logging (formatting is part of the measured cost), with the lines
// dropped except warnings, which go to stderr (they say why an exchange failed).
void logLikeBraidd();

Result<BenchPki> makePki(KeyType type);
Result<BenchCreds> issueLeaf(const BenchPki& pki, KeyType type, const std::string& fqdn);

// ---- configs ------------------------------------------------------------------------------
enum class BenchAuth : uint8_t { kPsk, kEcdsaP256, kRsa3072 };
const char* benchAuthName(BenchAuth a);

// Both sides' credentials for one auth mode (made once; key generation is slow for RSA).
struct BenchIdentities {
  BenchAuth auth = BenchAuth::kPsk;
  std::shared_ptr<TrustStore> cas;
  BenchCreds initiator, responder;
};
Result<BenchIdentities> makeIdentities(BenchAuth auth);
// The same, made on first use and kept for the process (RSA-3072 keys take seconds to make).
// Null (with the reason on stderr) if making them failed.
const BenchIdentities* cachedIdentities(BenchAuth auth);

// IKE `ikeProposal` (e.g. "aes256gcm16-prfsha256-x25519"), ESP aes256gcm16, one Child SA
// 10.1.0.0/16 <-> 10.2.0.0/16, ids @init.bench / @resp.bench, no retries.
PeerConfig makePeerConfig(const BenchIdentities& ids, bool initiator, const Endpoint& remote,
                          const std::string& ikeProposal);

// ---- loopback pair ------------------------------------------------------------------------
class UdpParty final : public DatagramSender, public SaListener {
 public:
  UdpParty();
  ~UdpParty() override;
  UdpParty(const UdpParty&) = delete;
  UdpParty& operator=(const UdpParty&) = delete;

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  const Endpoint& local() const { return local_; }
  SaManager& mgr() { return *mgr_; }
  void attach(std::unique_ptr<SaManager> mgr) { mgr_ = std::move(mgr); }
  // Hands every datagram waiting on the socket to the manager. Returns how many.
  size_t drain();

  // DatagramSender
  void sendDatagram(const Endpoint& local, const Endpoint& remote, Bytes data) override;
  // SaListener
  void onIkeSaUp(const IkeSaEvent&) override { ++ikeUp; }
  void onChildSaUp(const ChildSaEvent&) override { ++childUp; }
  void onFailure(const FailureEvent& e) override {
    ++failures;
    lastFailure = e.reason;
  }

  uint64_t ikeUp = 0, childUp = 0, failures = 0;
  uint64_t datagramsSent = 0, bytesSent = 0, sendErrors = 0;
  std::string lastFailure;

 private:
  int fd_ = -1;
  Endpoint local_;
  std::unique_ptr<SaManager> mgr_;
  std::vector<uint8_t> buf_;
};

class LoopbackPair {
 public:
  // Sockets and managers; ok() is false if a socket could not be bound.
  LoopbackPair();
  bool ok() const { return init_.ok() && resp_.ok(); }
  Status configure(const BenchIdentities& ids, const std::string& ikeProposal);

  // One IKE_SA_INIT + IKE_AUTH: returns once the IKE SA and the first Child SA are up on
  // both sides (or with the failure / a timeout).
  Status setupOnce(Duration timeout = std::chrono::seconds(5));
  // INFORMATIONAL Delete from the initiator; returns once neither side holds an IKE SA.
  Status teardown(Duration timeout = std::chrono::seconds(5));

  UdpParty& initiator() { return init_; }
  UdpParty& responder() { return resp_; }

 private:
  // Moves datagrams and fires timers until `done()` or the timeout. False on timeout.
  bool pumpUntil(const std::function<bool()>& done, Duration timeout);

  SteadyClock clock_;
  TimerQueue timers_;
  UdpParty init_, resp_;
};

}  // namespace braid::ike::bench
