// The per-process IKE SA table (RFC 7296 2.4-2.6 lookup rules): routes datagrams to IKE SAs
// by SPI, creates responder SAs from IKE_SA_INIT matched to peer configs, initiates
// configured peers (retrying with backoff after failures), and emits SA events to edge.
//
// Edge usage:
//   SaManager ike(clock, timers, sender, listener);      // SteadyClock, Asio-backed timers
//   ike.addPeer(peerConfig);
//   ike.initiate("site-b");
//   ...on a datagram on port 500, or on 4500 after stripping the non-ESP marker:
//   ike.receive(localEndpoint, remoteEndpoint, bytes);
//   ...DatagramSender::sendDatagram() and SaListener callbacks carry everything out.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/rate_limit.hpp"
#include "ipsec/ike/cookie.hpp"
#include "ipsec/ike/half_open.hpp"
#include "ipsec/ike/ike_sa.hpp"
#include "ipsec/ike/spi_allocator.hpp"

namespace braid::ike {

// Responder DoS defences (RFC 7296 2.6, RFC 8019), strongSwan-like. A half-open IKE SA is a
// responder SA created by IKE_SA_INIT that has not completed IKE_AUTH.
struct ResponderLimits {
  // IKE_SA_INIT must carry a valid COOKIE while this many SAs are half-open (0: always).
  size_t cookieThreshold = 20;
  Duration cookieSecretLifetime = std::chrono::seconds(60);
  // Beyond these, IKE_SA_INIT is dropped silently (counted).
  size_t halfOpenMax = 1000;
  size_t halfOpenMaxPerSource = 10;
  // A half-open SA that has not completed IKE_AUTH by then is removed.
  Duration halfOpenTimeout = std::chrono::seconds(30);
  // IKE_SA_INIT requests per second and source address (token bucket; 0: no limit), for at
  // most rateTableMax addresses (least recently seen evicted).
  double initRatePerSource = 10;
  double initBurstPerSource = 20;
  size_t rateTableMax = 4096;
  // Log lines caused by unauthenticated input: at most this many per minute per kind.
  uint32_t logLinesPerMinute = 10;
};

struct SaManagerOptions {
  std::unique_ptr<Random> random;  // default SystemRandom
  KeyExchangeFactory keyExchange;  // default KeyExchange::create
  KeySink* keySink = nullptr;      // optional key logging
  bool deterministicIvs = false;   // tests: IVs from `random`
  // The inbound ESP SPI space, shared with the other uplinks' managers and the manual SPIs
  // (edge); default: this manager's own.
  std::shared_ptr<SpiAllocator> spis;
  ResponderLimits limits;
};

class SaManager final : private IkeSaContext {
 public:
  SaManager(const Clock& clock, TimerScheduler& timers, DatagramSender& sender,
            SaListener& listener, SaManagerOptions options = {});
  ~SaManager() override;

  // Peer configs live as long as the manager; names are unique.
  Status addPeer(PeerConfig config);
  const PeerConfig* peer(std::string_view name) const;

  // Starts an IKE SA to a configured peer. `local` is our address (port 500).
  Status initiate(std::string_view peer, const Endpoint& local);
  // One IKE datagram (no non-ESP marker) received on `local` from `remote`.
  void receive(const Endpoint& local, const Endpoint& remote, Bytes datagram);

  // The uplink's address changed from `from` to `to` (DHCP renumbering, LTE reattach; `from`
  // is gone). IKE SAs on it move with MOBIKE where they can (RFC 4555 3.5); the others are
  // closed and initiated again from `to` (not those to "any" address: their peers return).
  // Later initiations and retries start from `to`.
  void localAddressChanged(const IpAddress& from, const IpAddress& to);

  // Operator / edge requests on established SAs.
  Status createChild(std::string_view peer, std::string_view child);
  Status deleteChild(std::string_view peer, uint32_t inboundSpi);
  Status deleteIkeSa(std::string_view peer);
  Status checkLiveness(std::string_view peer);
  // The data plane's counters of one ESP SA (edge polls them, e.g. every second): Child SA
  // byte/packet lifetimes and the sequence-number limit (RFC 7296 2.8, RFC 4303 2.2). False
  // if no Child SA of this manager has the SPI in that direction.
  bool reportUsage(uint32_t spi, bool inbound, uint64_t bytes, uint64_t packets);

  // The newest IKE SA of a peer (tests, control socket); null if none.
  IkeSa* findByPeer(std::string_view peer);
  IkeSa* findBySpi(uint64_t ourSpi);
  size_t ikeSaCount() const { return sas_.size(); }
  const IkeCounters& counters() const { return counters_; }
  // DoS state (tests, stats): half-open SAs, source addresses in the rate table.
  size_t halfOpenCount() const { return halfOpen_.size(); }
  size_t halfOpenSources() const { return halfOpen_.sources(); }
  size_t rateTableSize() const { return initRate_.size(); }
  const ResponderLimits& limits() const { return limits_; }
  // The MTU of the uplink this manager's SAs use (edge reads it from the interface; 0:
  // unknown): fragments are cut for it unless a peer sets fragment_size (RFC 7383 2.5.2).
  void setLinkMtu(size_t mtu) { linkMtu_ = mtu; }

 private:
  // IkeSaContext
  const Clock& clock() override { return clock_; }
  TimerScheduler& timers() override { return timers_; }
  DatagramSender& sender() override { return sender_; }
  SaListener& listener() override { return listener_; }
  IkeCounters& counterRef() override { return counters_; }
  Random& random() override { return *random_; }
  KeySink* keySink() override { return keySink_; }
  bool deterministicIvs() override { return deterministicIvs_; }
  Result<std::unique_ptr<KeyExchange>> createKeyExchange(DhGroup group) override;
  uint32_t allocateChildSpi() override;
  void releaseChildSpi(uint32_t spi) override;
  uint64_t allocateIkeSpi() override { return newIkeSpi(); }
  IkeSa& createRekeyedSa(IkeSa& old, bool initiator, uint64_t spiI, uint64_t spiR) override;
  const PeerConfig* findPeerConfig(const Endpoint& remote, const Identity& id) override;
  void ikeSaEnded(IkeSa& sa, bool failed) override;
  void ikeSaEstablished(IkeSa& sa) override;
  bool otherIkeSaUp(const IkeSa& sa) override;
  // INITIAL_CONTACT flush, or one of two IKE SAs both sides initiated (sa_uniqueness.cpp).
  void settleDuplicates(IkeSa& sa);
  std::vector<uint64_t> settle_;  // IKE SAs that came up while processing a datagram
  void resolveDuplicates();
  std::unique_ptr<ScopedTimer> duplicateTimer_;
  LogRateLimiter* unauthenticatedLog() override { return &unauthLog_; }
  size_t linkMtu() override { return linkMtu_; }
  size_t linkMtu_ = 0;

  uint64_t newIkeSpi();
  const PeerConfig* configForAddress(const IpAddress& remote) const;
  void handleInitRequest(Message& m, const Endpoint& local, const Endpoint& remote);
  // RFC 7296 2.6: false when the request was answered with N(COOKIE) or dropped instead.
  bool checkCookie(const Message& m, const Endpoint& local, const Endpoint& remote);
  void expireHalfOpen();
  void armExpiry();
  void sendStatelessError(const IkeHeader& h, uint16_t type, Bytes data, const Endpoint& local,
                          const Endpoint& remote);
  void reap();
  void scheduleRetry(const PeerConfig& pc, const Endpoint& local);

  const Clock& clock_;
  TimerScheduler& timers_;
  DatagramSender& sender_;
  SaListener& listener_;
  std::unique_ptr<Random> random_;
  KeyExchangeFactory keyExchange_;
  KeySink* keySink_;
  bool deterministicIvs_;
  IkeCounters counters_;
  ResponderLimits limits_;

  std::deque<PeerConfig> peers_;                              // stable addresses
  std::unordered_map<uint64_t, std::unique_ptr<IkeSa>> sas_;  // by our SPI
  // Responder SAs before IKE_AUTH completed; a retransmitted IKE_SA_INIT (same SPIi, same
  // peer) finds its SA here (RFC 7296 2.1). At most limits_.halfOpenMax.
  HalfOpenTable halfOpen_;
  ScopedTimer expiryTimer_;
  CookieSecrets cookies_;
  KeyedRateLimiter<IpAddress> initRate_;
  // Log lines caused by unauthenticated input, by kind (each bumps counters_.logSuppressed).
  LogRateLimiter initLog_, dropLog_, dosLog_, unauthLog_;
  std::shared_ptr<SpiAllocator> spis_;
  std::vector<uint64_t> dead_;
  ScopedTimer reapTimer_;
  struct Retry {
    Duration delay{};
    Endpoint local;
    std::unique_ptr<ScopedTimer> timer;
  };
  std::map<std::string, Retry, std::less<>> retries_;
};

}  // namespace braid::ike
