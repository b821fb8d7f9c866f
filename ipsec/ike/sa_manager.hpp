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

#include "ipsec/ike/ike_sa.hpp"

namespace braid::ike {

struct SaManagerOptions {
  std::unique_ptr<Random> random;  // default SystemRandom
  KeyExchangeFactory keyExchange;  // default KeyExchange::create
  KeySink* keySink = nullptr;      // optional key logging
  bool deterministicIvs = false;   // tests: IVs from `random`
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

  // Operator / edge requests on established SAs.
  Status createChild(std::string_view peer, std::string_view child);
  Status deleteChild(std::string_view peer, uint32_t inboundSpi);
  Status deleteIkeSa(std::string_view peer);
  Status checkLiveness(std::string_view peer);

  // The newest IKE SA of a peer (tests, control socket); null if none.
  IkeSa* findByPeer(std::string_view peer);
  IkeSa* findBySpi(uint64_t ourSpi);
  size_t ikeSaCount() const { return sas_.size(); }
  const IkeCounters& counters() const { return counters_; }

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
  const PeerConfig* findPeerConfig(const Endpoint& remote, const Identity& id) override;
  void ikeSaEnded(IkeSa& sa, bool failed) override;
  void ikeSaEstablished(IkeSa& sa) override;

  uint64_t newIkeSpi();
  const PeerConfig* configForAddress(const IpAddress& remote) const;
  void handleInitRequest(Message& m, const Endpoint& local, const Endpoint& remote);
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

  std::deque<PeerConfig> peers_;                              // stable addresses
  std::unordered_map<uint64_t, std::unique_ptr<IkeSa>> sas_;  // by our SPI
  // RFC 7296 2.1: a retransmitted IKE_SA_INIT (same SPIi, same peer) finds its SA.
  std::map<std::pair<uint64_t, IpAddress>, uint64_t> halfOpen_;
  std::unordered_set<uint32_t> childSpis_;
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
