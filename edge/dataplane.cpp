#include "edge/dataplane.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include "core/log.hpp"
#include "edge/workers.hpp"
#include "policy/reorder.hpp"

namespace braid::edge {

CommandQueue::CommandQueue() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

CommandQueue::~CommandQueue() {
  if (fd_ >= 0) ::close(fd_);
}

void CommandQueue::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(fn));
    pending_.store(true, std::memory_order_release);
  }
  uint64_t one = 1;
  (void)!::write(fd_, &one, sizeof one);
}

size_t CommandQueue::drain() {
  uint64_t v;
  (void)!::read(fd_, &v, sizeof v);
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_.swap(queue_);
    pending_.store(false, std::memory_order_release);
  }
  size_t n = running_.size();
  for (auto& fn : running_) fn();
  running_.clear();
  return n;
}

DataPlane::DataPlane(DataPlaneOptions opts, int tunFd, std::vector<int> uplinkFds,
                     std::vector<PathSpec> paths, std::vector<PeerSpec> peers)
    : paths_(paths),
      activity_(std::make_shared<PathActivity>(paths.size())),
      tx_(std::make_unique<TxWorker>(opts, tunFd, uplinkFds, paths, peers, activity_)),
      rx_(std::make_unique<RxWorker>(opts, tunFd, uplinkFds, paths, peers, activity_)) {}

DataPlane::~DataPlane() {
  stop();
}

void DataPlane::start() {
  if (running_) return;
  stop_ = false;
  // Commands posted before start are applied on the data threads' first iteration.
  txThread_ = std::thread([this] { tx_->run(stop_); });
  rxThread_ = std::thread([this] { rx_->run(stop_); });
  running_ = true;
}

void DataPlane::stop() {
  if (!running_) return;
  stop_ = true;
  tx_->commands().post([] {});  // wake both polls
  rx_->commands().post([] {});
  txThread_.join();
  rxThread_.join();
  running_ = false;
  // Apply whatever was posted last, on this thread now that the workers are gone.
  tx_->commands().drain();
  rx_->commands().drain();
}

// unique_ptr captured through shared_ptr: std::function needs a copyable closure.
void DataPlane::installOutbound(size_t path, std::unique_ptr<ipsec::EspOutboundSa> sa,
                                std::shared_ptr<const SelectorMatcher> selectors) {
  auto holder = std::make_shared<std::unique_ptr<ipsec::EspOutboundSa>>(std::move(sa));
  tx_->commands().post([this, path, holder, sel = std::move(selectors)] {
    tx_->installSa(path, std::move(*holder), sel);
  });
}

void DataPlane::removeOutbound(size_t path) {
  tx_->commands().post([this, path] { tx_->removeSa(path); });
}

void DataPlane::installInbound(size_t path, std::unique_ptr<ipsec::EspInboundSa> sa) {
  auto holder = std::make_shared<std::unique_ptr<ipsec::EspInboundSa>>(std::move(sa));
  rx_->commands().post([this, path, holder] { rx_->installSa(path, std::move(*holder)); });
}

void DataPlane::installInbound(size_t path, std::unique_ptr<ipsec::EspInboundSa> sa,
                               std::vector<IpPrefix> remote, std::vector<IpPrefix> local,
                               std::shared_ptr<const SelectorMatcher> ports) {
  auto holder = std::make_shared<std::unique_ptr<ipsec::EspInboundSa>>(std::move(sa));
  auto sel = std::make_shared<SaSelectors>(
      SaSelectors{PrefixSet(remote), PrefixSet(local), std::move(ports)});
  rx_->commands().post([this, path, holder, sel] {
    rx_->installSa(path, std::move(*holder), std::make_unique<SaSelectors>(*sel));
  });
}

void DataPlane::setPathRemote(size_t path, const SockAddr& remote) {
  tx_->commands().post([this, path, remote] { tx_->setRemote(path, remote); });
}

void DataPlane::removeInbound(uint32_t spi) {
  rx_->commands().post([this, spi] { rx_->removeSa(spi); });
}

void DataPlane::setRoutes(std::vector<PeerSpec> peers) {
  tx_->commands().post([this, p = std::move(peers)] { tx_->setRoutes(p); });
}

void DataPlane::setPolicy(MultipathConfig policy) {
  tx_->commands().post([this, p = std::move(policy)] { tx_->setPolicy(p); });
}

void DataPlane::inspectSteering(std::function<void(const Steering&)> fn) {
  tx_->commands().post([this, f = std::move(fn)] { f(tx_->steering()); });
}

std::vector<Duration> peerReorderHolds(const std::vector<PathSpec>& paths,
                                       std::span<const policy::PathView> views) {
  // Per peer, the reorder hold of its bonded classes: over the paths a bond would use
  // (usable, within the default RTT spread of the fastest; a much slower path is left out
  // of the bond by the sender, so it must not stretch the hold either). The views are
  // grouped by peer first (a counting sort): with max_clients road-warrior slots, each a
  // peer of its own, a scan of every view per peer was quadratic.
  size_t peers = 0;
  for (const PathSpec& p : paths) peers = std::max(peers, p.peer + 1);
  std::vector<size_t> start(peers + 1, 0);
  for (const policy::PathView& v : views) {
    if (v.id < paths.size()) ++start[paths[v.id].peer + 1];
  }
  for (size_t peer = 0; peer < peers; ++peer) start[peer + 1] += start[peer];
  std::vector<policy::PathView> grouped(start[peers]);
  std::vector<size_t> fill(start.begin(), start.end() - 1);
  for (const policy::PathView& v : views) {
    if (v.id < paths.size()) grouped[fill[paths[v.id].peer]++] = v;
  }
  std::vector<Duration> holds(peers);
  std::vector<policy::PathView> mine;
  const uint32_t spread = policy::ClassPolicy{}.bondMaxRttSpreadUs;
  for (size_t peer = 0; peer < peers; ++peer) {
    mine.clear();
    uint32_t fastest = UINT32_MAX;
    for (size_t i = start[peer]; i < start[peer + 1]; ++i) {
      if (!policy::usable(grouped[i])) continue;
      mine.push_back(grouped[i]);
      fastest = std::min(fastest, grouped[i].rttUs);
    }
    std::erase_if(mine, [&](const policy::PathView& v) { return v.rttUs > fastest + spread; });
    holds[peer] = policy::reorderHold(mine);
  }
  return holds;
}

void DataPlane::setPathViews(std::vector<policy::PathView> views) {
  std::vector<Duration> holds = peerReorderHolds(paths_, views);
  rx_->commands().post([this, h = std::move(holds)] {
    for (size_t peer = 0; peer < h.size(); ++peer) rx_->setReorderHold(peer, h[peer]);
  });
  tx_->commands().post([this, v = std::move(views)] { tx_->setViews(v); });
}

void DataPlane::setPathShim(size_t path, bool on) {
  tx_->commands().post([this, path, on] { tx_->setShim(path, on); });
  rx_->commands().post([this, path, on] { rx_->setShim(path, on); });
}

void DataPlane::sendShim(size_t path, std::vector<uint8_t> message) {
  tx_->commands().post([this, path, m = std::move(message)] { tx_->sendShim(path, m); });
}

void DataPlane::setProbeHandler(ProbeHandler handler) {
  rx_->commands().post([this, h = std::move(handler)] { rx_->setProbeHandler(h); });
}

void DataPlane::setSequenceLimit(size_t path, uint64_t limit, uint64_t requestAt) {
  tx_->commands().post(
      [this, path, limit, requestAt] { tx_->setSequenceLimit(path, limit, requestAt); });
}

void DataPlane::setSeqReserveHandler(SeqReserveHandler handler) {
  tx_->commands().post([this, h = std::move(handler)] { tx_->setSeqReserveHandler(h); });
}

void DataPlane::setIkeHandler(IkeHandler handler) {
  rx_->commands().post([this, h = std::move(handler)] { rx_->setIkeHandler(h); });
}

void DataPlane::setEspSourceHandler(EspSourceHandler handler) {
  rx_->commands().post([this, h = std::move(handler)] { rx_->setEspSourceHandler(h); });
}

void DataPlane::publishTx() {
  TxCounters c;
  std::vector<SaStats> sas;
  std::vector<policy::EngineCounters> engines;
  std::vector<ClassStats> classes;
  tx_->publish(c, sas, engines, classes);
  std::lock_guard<std::mutex> lock(statsMu_);
  published_.tx = c;
  published_.engines = std::move(engines);
  published_.classes = std::move(classes);
  txSas_ = std::move(sas);
  ++txGen_;
  statsCv_.notify_all();
}

void DataPlane::publishRx() {
  RxCounters c;
  ipsec::EspCounters table;
  std::vector<SaStats> sas;
  std::vector<ClassCounters> classes;
  rx_->publish(c, table, sas, classes);
  std::lock_guard<std::mutex> lock(statsMu_);
  rxClasses_ = std::move(classes);
  published_.rx = c;
  published_.inboundTable = table;
  rxSas_ = std::move(sas);
  ++rxGen_;
  statsCv_.notify_all();
}

DataPlaneStats DataPlane::snapshot() {
  if (!running_) {
    tx_->commands().drain();
    rx_->commands().drain();
    publishTx();
    publishRx();
  } else {
    uint64_t tg, rg;
    {
      std::lock_guard<std::mutex> lock(statsMu_);
      tg = txGen_;
      rg = rxGen_;
    }
    tx_->commands().post([this] { publishTx(); });
    rx_->commands().post([this] { publishRx(); });
    std::unique_lock<std::mutex> wait(statsMu_);
    if (!statsCv_.wait_for(wait, std::chrono::seconds(1),
                           [&] { return txGen_ > tg && rxGen_ > rg; })) {
      BRAID_LOG(kWarn, "edge") << "stats snapshot: a data thread did not answer within 1 s";
    }
    wait.unlock();
  }
  std::lock_guard<std::mutex> lock(statsMu_);
  DataPlaneStats out = published_;
  out.sas = txSas_;
  out.sas.insert(out.sas.end(), rxSas_.begin(), rxSas_.end());
  for (size_t c = 0; c < out.classes.size() && c < rxClasses_.size(); ++c) {
    out.classes[c].counters.rxPackets = rxClasses_[c].rxPackets;
    out.classes[c].counters.rxBytes = rxClasses_[c].rxBytes;
  }
  return out;
}

}  // namespace braid::edge
