// RX: UDP -> ESP -> TUN, batched and run to completion on one thread.
#include <netinet/udp.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/log.hpp"
#include "edge/workers.hpp"

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace braid::edge {
namespace {
constexpr size_t kGroBufferLength = 65535;
constexpr size_t kGroBuffers = 8;
constexpr int kRoundsPerWakeup = 8;  // then give the other uplinks and commands a turn

// The next header a shim data packet's inner packet would have had in plain ESP; a bad
// version is caught by deliverInner's checks.
uint8_t innerNextHeader(const uint8_t* ip, size_t len) {
  return len > 0 && (ip[0] >> 4) == 6 ? ipsec::kNextHeaderIpv6 : ipsec::kNextHeaderIpv4;
}

bool sameSource(const SockAddr& a, const SockAddr& b) {
  const auto* x = reinterpret_cast<const sockaddr*>(&a.storage);
  const auto* y = reinterpret_cast<const sockaddr*>(&b.storage);
  if (x->sa_family != y->sa_family) return false;
  if (x->sa_family == AF_INET) {
    const auto* p = reinterpret_cast<const sockaddr_in*>(x);
    const auto* q = reinterpret_cast<const sockaddr_in*>(y);
    return p->sin_port == q->sin_port && p->sin_addr.s_addr == q->sin_addr.s_addr;
  }
  if (x->sa_family == AF_INET6) {
    const auto* p = reinterpret_cast<const sockaddr_in6*>(x);
    const auto* q = reinterpret_cast<const sockaddr_in6*>(y);
    return p->sin6_port == q->sin6_port &&
           std::memcmp(&p->sin6_addr, &q->sin6_addr, sizeof p->sin6_addr) == 0;
  }
  return false;
}
}  // namespace

RxWorker::RxWorker(const DataPlaneOptions& opts, int tunFd, std::vector<int> uplinkFds,
                   std::vector<PathSpec> paths, const std::vector<PeerSpec>& peers,
                   std::shared_ptr<PathActivity> activity)
    : opts_(opts),
      uplinkFds_(std::move(uplinkFds)),
      paths_(std::move(paths)),
      local_(opts.localSubnets),
      // With GRO a datagram carries up to 64 KiB of segments; without, one ESP packet.
      bufLen_(opts.udpGro ? kGroBufferLength : opts.mtu + 128),
      pool_(opts.udpGro ? kGroBuffers : opts.batchSize, kPacketHeadroom + bufLen_, kPacketHeadroom),
      writer_([fd = tunFd](const uint8_t* d, size_t n) { return long(::write(fd, d, n)); },
              opts.vnetHdr, opts.tunGro, counters_),
      reorder_(peers.size(), opts.reorderHold, [this](uint8_t* ip, size_t len) {
        ++counters_.opened;
        writer_.add(ip, len);
      }) {
  for (const PeerSpec& p : peers) peerSubnets_.emplace_back(p.remoteSubnets);
  activity_ = std::move(activity);
  shim_.assign(paths_.size(), 0);
  dedup_.resize(peers.size());
  fecDec_.resize(peers.size());
  fecOut_.resize(kFecOutOffset + opts.mtu + 4);
  const size_t n = pool_.total();
  msgs_.resize(n);
  iovs_.resize(n);
  names_.resize(n);
  cmsgs_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    bufs_.push_back(pool_.acquire());
    iovs_[i].iov_base = bufs_[i]->data();
    iovs_[i].iov_len = bufLen_;
  }
}

void RxWorker::installSa(size_t path, std::unique_ptr<ipsec::EspInboundSa> sa,
                         std::unique_ptr<SaSelectors> selectors) {
  ++counters_.commands;
  if (!sa || path >= paths_.size()) return;
  const uint32_t spi = sa->spi();
  if (Status s = table_.add(std::move(sa)); !s) {
    BRAID_LOG(kError, "rx") << "inbound SA " << spi << ": " << s.message();
    return;
  }
  spiPath_[spi] = InboundRoute{path, std::move(selectors)};
}

void RxWorker::removeSa(uint32_t spi) {
  ++counters_.commands;
  table_.remove(spi);
  spiPath_.erase(spi);
}

void RxWorker::publish(RxCounters& counters, ipsec::EspCounters& table, std::vector<SaStats>& sas,
                       std::vector<ClassCounters>& classes) const {
  counters = counters_;
  classes = classes_;
  reorder_.addTo(counters);
  table = table_.counters();
  sas.clear();
  for (auto& [spi, route] : spiPath_) {
    if (const ipsec::EspInboundSa* sa = table_.find(spi)) {
      sas.push_back({spi, true, paths_[route.path].name, sa->counters()});
    }
  }
}

void RxWorker::run(const std::atomic<bool>& stop) {
  std::vector<pollfd> fds;
  for (int fd : uplinkFds_) fds.push_back({fd, POLLIN, 0});
  fds.push_back({commands_.fd(), POLLIN, 0});
  while (!stop.load(std::memory_order_relaxed)) {
    const timespec timeout = pollTimeout();
    int r = ::ppoll(fds.data(), fds.size(), &timeout, nullptr);
    if (r < 0 && errno != EINTR) {
      BRAID_LOG(kError, "rx") << "ppoll: " << std::strerror(errno);
      return;
    }
    if (commands_.pending()) commands_.drain();
    if (r > 0) {
      for (size_t u = 0; u < uplinkFds_.size(); ++u) {
        if (fds[u].revents & (POLLIN | POLLERR)) receive(u);
      }
    }
    if (reorder_.waiting() > 0) {
      reorder_.onTimer(std::chrono::steady_clock::now());
      writer_.flush();
    }
  }
}

void RxWorker::receive(size_t uplink) {
  const int fd = uplinkFds_[uplink];
  const size_t n = msgs_.size();
  for (int round = 0; round < kRoundsPerWakeup; ++round) {
    for (size_t i = 0; i < n; ++i) {
      msghdr& h = msgs_[i].msg_hdr;
      h = msghdr{};
      h.msg_name = &names_[i].storage;
      h.msg_namelen = sizeof(sockaddr_storage);
      h.msg_iov = &iovs_[i];
      h.msg_iovlen = 1;
      h.msg_control = cmsgs_[i].data();
      h.msg_controllen = cmsgs_[i].size();
    }
    int r = ::recvmmsg(fd, msgs_.data(), static_cast<unsigned>(n), MSG_DONTWAIT, nullptr);
    if (r <= 0) return;
    ++counters_.recvCalls;
    rxTime_ = std::chrono::steady_clock::now();
    for (size_t i = 0; i < size_t(r); ++i) {
      msghdr& h = msgs_[i].msg_hdr;
      names_[i].length = h.msg_namelen;
      const size_t len = msgs_[i].msg_len;
      if (h.msg_flags & MSG_TRUNC) {
        counters_.drop(RxDrop::kOversize);
        continue;
      }
      size_t gso = 0;
      for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
        if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
          int v = 0;
          std::memcpy(&v, CMSG_DATA(c), sizeof v);
          gso = v > 0 ? size_t(v) : 0;
        }
      }
      uint8_t* base = bufs_[i]->data() - kPacketHeadroom;
      if (gso == 0 || gso >= len) {
        handleSegment(uplink, base, kPacketHeadroom, len, i);
        continue;
      }
      ++counters_.groDatagrams;
      for (size_t off = 0; off < len; off += gso) {
        handleSegment(uplink, base, kPacketHeadroom + off, std::min(gso, len - off), i);
      }
    }
    writer_.flush();
    if (size_t(r) < n) return;
  }
}

void RxWorker::handleSegment(size_t uplink, uint8_t* base, size_t off, size_t len, size_t msg) {
  ++counters_.datagrams;
  counters_.bytes += len;
  Bytes payload(base + off, len);
  switch (ipsec::classifyUdpEncap(payload)) {
    case ipsec::UdpEncapKind::kKeepalive:
      ++counters_.keepalives;  // RFC 3948 section 2.3: receivers ignore them
      return;
    case ipsec::UdpEncapKind::kInvalid:
      counters_.drop(RxDrop::kInvalid);
      return;
    case ipsec::UdpEncapKind::kIke:
      if (ike_) {
        ++counters_.ikeMessages;
        ike_(uplink, names_[msg], payload.subspan(4));  // after the non-ESP marker
      } else {
        counters_.drop(RxDrop::kNoIkeHandler);
      }
      return;
    case ipsec::UdpEncapKind::kEsp:
      break;
  }
  ++counters_.espPackets;
  const uint32_t spi = loadBe32(payload.data());
  // Sequence number, read before open() decrypts in place (too short: open() drops it).
  const uint32_t seq = payload.size() >= 8 ? loadBe32(payload.data() + 4) : 0;
  // A view over this segment: the headroom in front is this segment's own bytes, or the
  // buffer's headroom for the first segment.
  PacketBuffer pkt(base, off + len);
  pkt.reset(off);
  (void)pkt.commit(len);
  uint8_t nh = 0;
  if (table_.open(pkt, nh)) return;  // dropped and counted by the ESP layer
  auto it = spiPath_.find(spi);
  if (it != spiPath_.end()) {
    noteSource(it->second, spi, seq, names_[msg]);
    // Proof of life for the path monitor (passive liveness).
    const size_t path = it->second.path;
    activity_->rxLastNs[path].store(
        std::chrono::duration_cast<std::chrono::nanoseconds>(rxTime_.time_since_epoch()).count(),
        std::memory_order_relaxed);
    std::atomic<uint64_t>& wire = activity_->rxWireBytes[path];
    wire.store(wire.load(std::memory_order_relaxed) + len + wireOverhead(paths_[path].remote),
               std::memory_order_relaxed);  // one writer
  }
  if (nh == ipsec::kNextHeaderDummy) {
    ++counters_.dummy;
    return;
  }
  if (nh == policy::kShimNextHeader && (it == spiPath_.end() || !handleShim(it->second, pkt, nh))) {
    return;
  }
  deliverInner(it == spiPath_.end() ? nullptr : &it->second, nh, pkt.data(), pkt.size());
}

timespec RxWorker::pollTimeout() {
  Duration wait = std::chrono::milliseconds(200);
  if (auto d = reorder_.nextDeadline()) {
    wait = std::clamp<Duration>(*d - std::chrono::steady_clock::now(), Duration::zero(), wait);
  }
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
  return timespec{time_t(ns / 1'000'000'000), long(ns % 1'000'000'000)};
}

void RxWorker::deliverInner(const InboundRoute* route, uint8_t nh, uint8_t* ip, size_t ipLen) {
  ipLen = checkInner(route, nh, ip, ipLen);
  if (ipLen == 0) return;
  ++counters_.opened;
  writer_.add(ip, ipLen);
}

size_t RxWorker::checkInner(const InboundRoute* route, uint8_t nh, const uint8_t* ip,
                            size_t ipLen) {
  // RFC 4303 section 2.6: TFC padding may follow the inner packet; its length field rules.
  if (nh == ipsec::kNextHeaderIpv4 && ipLen >= 20 && (ip[0] >> 4) == 4 && loadBe16(ip + 2) >= 20 &&
      loadBe16(ip + 2) <= ipLen) {
    ipLen = loadBe16(ip + 2);
  } else if (nh == ipsec::kNextHeaderIpv6 && ipLen >= 40 && (ip[0] >> 4) == 6 &&
             size_t(loadBe16(ip + 4)) + 40 <= ipLen) {
    ipLen = size_t(loadBe16(ip + 4)) + 40;
  } else {
    counters_.drop(RxDrop::kBadInner);
    return 0;
  }
  // RFC 4301 section 5.2: the inner addresses must match the SA's selectors.
  const SaSelectors* sel = route == nullptr ? nullptr : route->selectors.get();
  if (route == nullptr ||
      !(sel ? sel->remote : peerSubnets_[paths_[route->path].peer]).contains(ip, ipLen, false)) {
    // A road-warrior client sending as another address (another client's) has its own reason.
    const bool client = route != nullptr && paths_[route->path].remoteAccess;
    counters_.drop(client ? RxDrop::kSpoofedSource : RxDrop::kPolicy);
    return 0;
  }
  if (!(sel ? sel->local : local_).contains(ip, ipLen, true)) {
    counters_.drop(RxDrop::kPolicy);
    return 0;
  }
  // The addresses are in; the protocol and ports too, if the selectors name any.
  if (sel != nullptr && sel->ports != nullptr && !sel->ports->matchInbound(ip, ipLen)) {
    counters_.drop(RxDrop::kSelector);
    return 0;
  }
  return ipLen;
}

bool RxWorker::handleShim(InboundRoute& route, PacketBuffer& pkt, uint8_t& nh) {
  const size_t path = route.path;
  if (!shim_[path]) {  // the peer did not offer the shim: not ours to interpret
    counters_.drop(RxDrop::kShimInvalid);
    return false;
  }
  const Bytes m(pkt.data(), pkt.size());
  const auto type = policy::shimType(m);
  if (type == policy::ShimType::kProbe || type == policy::ShimType::kProbeReply) {
    ++counters_.probesReceived;
    if (probe_) probe_(path, m, rxTime_);
    return false;
  }
  const size_t peer = paths_[path].peer;
  if (type == policy::ShimType::kParity) {
    policy::ShimParityHeader ph;
    if (!policy::decodeShimParity(m, ph) || ph.cls >= kMaxShimClasses) {
      counters_.drop(RxDrop::kShimInvalid);
      return false;
    }
    ++counters_.fecParity;
    auto r = fecDecoder(peer, ph.cls)
                 .onParity(ph.group, ph.k, m.subspan(policy::kShimParityHeaderSize), fecOutSpan());
    if (r) deliverRecovered(route, ph.cls, r->length);
    return false;
  }
  policy::ShimDataHeader h;
  if (!policy::decodeShimData(m, h) || h.cls >= kMaxShimClasses) {
    counters_.drop(RxDrop::kShimInvalid);
    return false;
  }
  uint64_t seq64 = 0;
  if (!acceptShimSequence(peer, h.cls, h.seq, seq64)) return false;
  countClass(h.cls, pkt.size() - h.size());
  if (h.fec && h.k > 0) {
    auto r = fecDecoder(peer, h.cls)
                 .onData({h.group, h.index, h.k}, m.subspan(policy::kShimFecPayloadOffset),
                         fecOutSpan());
    if (r) deliverRecovered(route, h.cls, r->length);
  }
  ++counters_.shimData;
  (void)pkt.trimFront(h.size());
  nh = innerNextHeader(pkt.data(), pkt.size());
  if (!h.ordered) return true;
  // A bonded class: back into the sender's order first (the RX buffer is reused after
  // this batch, so a packet that must wait is copied by the stage).
  if (const size_t len = checkInner(&route, nh, pkt.data(), pkt.size())) {
    reorder_.push(peer, h.cls, seq64, pkt.data(), len, rxTime_);
  }
  return false;
}

policy::XorFecDecoder& RxWorker::fecDecoder(size_t peer, policy::ClassId cls) {
  auto& perClass = fecDec_[peer];
  if (perClass.empty()) perClass.resize(kMaxShimClasses);
  // First FEC message of this class from this peer: allocated once, then reused.
  if (!perClass[cls]) perClass[cls] = std::make_unique<policy::XorFecDecoder>(fecOut_.size());
  return *perClass[cls];
}

// A packet rebuilt from a parity: its payload is the shim sequence number and the inner
// packet; it goes through duplicate suppression (the original may still come, late).
void RxWorker::deliverRecovered(InboundRoute& route, policy::ClassId cls, size_t length) {
  if (length < 4 + 20) return;
  const size_t peer = paths_[route.path].peer;
  uint8_t* out = fecOut_.data() + kFecOutOffset;
  uint64_t seq64 = 0;
  if (!acceptShimSequence(peer, cls, loadBe32(out), seq64)) return;
  ++counters_.fecRecovered;
  countClass(cls, length - 4);
  uint8_t* ip = out + 4;
  const uint8_t nh = innerNextHeader(ip, length - 4);
  if (!reorder_.ordered(peer, cls)) {
    deliverInner(&route, nh, ip, length - 4);
  } else if (const size_t len = checkInner(&route, nh, ip, length - 4)) {
    reorder_.push(peer, cls, seq64, ip, len, rxTime_);  // copied if it must wait
  }
}

bool RxWorker::acceptShimSequence(size_t peer, policy::ClassId cls, uint32_t seq, uint64_t& seq64) {
  auto& windows = dedup_[peer];
  if (windows.empty()) windows.resize(kMaxShimClasses);
  std::unique_ptr<policy::DedupWindow>& w = windows[cls];
  // Senders start each class at a random number. One far from everything seen (beyond any
  // copy skew) means the sender restarted: start over rather than drop its packets as old.
  if (w && std::abs(int64_t(int32_t(seq - uint32_t(w->highest())))) > kShimResyncDistance) {
    w.reset();
    ++counters_.shimResyncs;
    reorder_.restart(peer, cls);
  }
  if (!w) w = std::make_unique<policy::DedupWindow>();
  seq64 = policy::extendSequence(w->highest(), seq);
  switch (w->accept(seq64)) {
    case policy::DedupVerdict::kNew:
      return true;
    case policy::DedupVerdict::kDuplicate:
      counters_.drop(RxDrop::kDuplicate);
      return false;
    case policy::DedupVerdict::kTooOld:
      counters_.drop(RxDrop::kShimOld);
      return false;
  }
  return false;
}

// RFC 7296 2.23: a packet whose integrity verified and that is new (it advanced the replay
// window, so a replayed or delayed old packet never counts) shows where the peer is now.
// Reported once per change; the IKE driver decides whether to follow it (NAT-T only).
void RxWorker::noteSource(InboundRoute& route, uint32_t spi, uint32_t seq, const SockAddr& from) {
  const bool newest = int32_t(seq - route.topSeq) > 0;  // serial arithmetic: ESN low bits too
  if (!newest) return;
  route.topSeq = seq;
  if (route.haveSource && sameSource(route.source, from)) return;
  route.haveSource = true;
  route.source = from;
  if (espSource_) espSource_(route.path, spi, from);
}

}  // namespace braid::edge
