// TX: TUN -> ESP -> UDP, batched and run to completion on one thread.
#include <netinet/udp.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/log.hpp"
#include "edge/workers.hpp"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

namespace braid::edge {

TxWorker::TxWorker(const DataPlaneOptions& opts, int tunFd, std::vector<int> uplinkFds,
                   std::vector<PathSpec> paths, const std::vector<PeerSpec>& peers,
                   std::shared_ptr<PathActivity> activity)
    : opts_(opts),
      tunFd_(tunFd),
      uplinkFds_(std::move(uplinkFds)),
      paths_(std::move(paths)),
      sas_(paths_.size()),
      outSel_(paths_.size()),
      ready_(paths_.size(), 0),
      seqRequestAt_(paths_.size(), UINT64_MAX),
      steering_(opts.multipath, peers, paths_),
      activity_(std::move(activity)),
      pool_(opts.poolPackets, kPacketHeadroom + opts.mtu + kPacketTailroom, kPacketHeadroom),
      udpGso_(opts.udpGso) {
  const size_t maxPkts = opts.batchSize + kMaxGsoSegments;
  pkts_.reserve(maxPkts);
  copies_.reserve(maxPkts * policy::Decision::kMaxCopies);
  if (opts.vnetHdr) scratch_.resize(kVirtioNetHdrLen + 65535 + 64);
  batches_.resize(uplinkFds_.size());
  shapers_.resize(uplinkFds_.size());
  for (size_t u = 0; u < uplinkFds_.size(); ++u) {
    if (u < opts.shapeBitsPerSecond.size() && opts.shapeBitsPerSecond[u] > 0) {
      ShaperConfig c;
      c.rateBitsPerSecond = opts.shapeBitsPerSecond[u];
      // Bounded by the pool: every queued packet holds a buffer.
      c.otherPackets = std::max<uint32_t>(64, opts.poolPackets / uint32_t(4 * uplinkFds_.size()));
      shapers_[u] = std::make_unique<EgressShaper<Queued>>(c);
    }
  }
  released_.reserve(opts.poolPackets);
  classes_.resize(steering_.peerCount() > 0 ? steering_.engine(0).classCount() : 0);
  for (SendBatch& b : batches_) {
    b.msgs.resize(maxPkts);
    b.iovs.resize(maxPkts);
    b.cmsgs.resize(maxPkts);
    b.segments.resize(maxPkts);
    b.gsoSize.resize(maxPkts);
    b.bytes.resize(maxPkts);
  }
}

void TxWorker::installSa(size_t path, std::unique_ptr<ipsec::EspOutboundSa> sa,
                         std::shared_ptr<const SelectorMatcher> selectors) {
  ++counters_.commands;
  if (path >= sas_.size()) return;
  sas_[path] = std::move(sa);
  outSel_[path] = sas_[path] ? std::move(selectors) : nullptr;
  ready_[path] = sas_[path] != nullptr;
  steering_.setKeyed(path, ready_[path] != 0);
}

void TxWorker::setSequenceLimit(size_t path, uint64_t limit, uint64_t requestAt) {
  ++counters_.commands;
  if (path >= sas_.size()) return;
  if (sas_[path]) sas_[path]->setSequenceLimit(limit);
  seqRequestAt_[path] = requestAt;
  if (std::find(seqPaths_.begin(), seqPaths_.end(), path) == seqPaths_.end()) {
    seqPaths_.push_back(path);
  }
}

// Once per batch, not per packet: a block is large enough (docs/configuration.md [state])
// that the next one is on disk long before this one runs out.
void TxWorker::checkSequenceReservations() {
  for (size_t path : seqPaths_) {
    const ipsec::EspOutboundSa* sa = sas_[path].get();
    if (sa == nullptr || sa->lastSequence() < seqRequestAt_[path]) continue;
    seqRequestAt_[path] = UINT64_MAX;  // asked; the answer is the next setSequenceLimit
    if (seqReserve_) seqReserve_(path, sa->lastSequence());
  }
}

void TxWorker::setRemote(size_t path, const SockAddr& remote) {
  ++counters_.commands;
  if (path < paths_.size()) paths_[path].remote = remote;
}

void TxWorker::removeSa(size_t path) {
  installSa(path, nullptr);
}

void TxWorker::setPolicy(const MultipathConfig& m) {
  ++counters_.commands;
  std::vector<std::pair<std::string, ClassCounters>> old;
  for (size_t c = 0; c < classes_.size(); ++c) {
    old.emplace_back(steering_.engine(0).classPolicy(policy::ClassId(c)).name, classes_[c]);
  }
  steering_.reload(m);
  classes_.assign(steering_.peerCount() > 0 ? steering_.engine(0).classCount() : 0, {});
  for (size_t c = 0; c < classes_.size(); ++c) {
    const std::string& name = steering_.engine(0).classPolicy(policy::ClassId(c)).name;
    for (auto& [n, counts] : old) {
      if (n == name) classes_[c] = counts;
    }
  }
}

void TxWorker::publish(TxCounters& counters, std::vector<SaStats>& sas,
                       std::vector<policy::EngineCounters>& engines,
                       std::vector<ClassStats>& classes) const {
  counters = counters_;
  classes.resize(classes_.size());
  for (size_t c = 0; c < classes_.size(); ++c) {
    const auto id = policy::ClassId(c);
    classes[c].name = steering_.engine(0).classPolicy(id).name;
    classes[c].counters = classes_[c];
    classes[c].paths.clear();
    for (size_t i = 0; i < steering_.peerCount(); ++i) {
      const policy::Engine& e = steering_.engine(i);
      if (c < e.classCount() && e.classBest(id) < paths_.size()) {
        classes[c].paths.push_back(paths_[e.classBest(id)].name);
      }
    }
  }
  engines.clear();
  for (size_t i = 0; i < steering_.peerCount(); ++i) {
    engines.push_back(steering_.engine(i).counters());
  }
  sas.clear();
  for (size_t i = 0; i < sas_.size(); ++i) {
    if (sas_[i]) sas.push_back({sas_[i]->spi(), false, paths_[i].name, sas_[i]->counters()});
  }
}

void TxWorker::run(const std::atomic<bool>& stop) {
  pollfd fds[2] = {{tunFd_, POLLIN, 0}, {commands_.fd(), POLLIN, 0}};
  bool drained = true;
  while (!stop.load(std::memory_order_relaxed)) {
    if (drained) {
      // Shaped uplinks with a backlog wake the thread when their next packet may go.
      timespec ts{0, 200'000'000};
      const TimePoint now = std::chrono::steady_clock::now();
      if (auto next = nextShaperRelease(now)) {
        const auto ns = std::max<int64_t>(0, (*next - now).count());
        ts = {time_t(ns / 1'000'000'000), long(ns % 1'000'000'000)};
      }
      int r = ::ppoll(fds, 2, &ts, nullptr);
      if (r < 0 && errno != EINTR) {
        BRAID_LOG(kError, "tx") << "poll: " << std::strerror(errno);
        return;
      }
      if (r <= 0 && !commands_.pending()) {
        drainShapers(std::chrono::steady_clock::now());
        sendBatches();
        continue;
      }
    }
    if (commands_.pending()) commands_.drain();
    drained = readBurst();
    if (!pkts_.empty()) processAndSend();
  }
}

bool TxWorker::readBurst() {
  while (pkts_.size() < opts_.batchSize) {
    if (opts_.vnetHdr) {
      ssize_t n = ::read(tunFd_, scratch_.data(), scratch_.size());
      if (n < 0) return true;  // EAGAIN: drained
      ++counters_.tunReads;
      if (size_t(n) <= kVirtioNetHdrLen) {
        counters_.drop(TxDrop::kMalformed);
        continue;
      }
      VirtioNetHdr h;
      std::memcpy(&h, scratch_.data(), sizeof h);
      switch (splitTunRead(h, scratch_.data() + kVirtioNetHdrLen, size_t(n) - kVirtioNetHdrLen,
                           opts_.mtu, pool_, pkts_, counters_)) {
        case SplitResult::kOk:
          break;
        case SplitResult::kMalformed:
          counters_.drop(TxDrop::kMalformed);
          break;
        case SplitResult::kTooManySegments:
        case SplitResult::kOversize:
          counters_.drop(TxDrop::kOversize);
          break;
        case SplitResult::kNoBuffer:
          counters_.drop(TxDrop::kPoolExhausted);
          break;
      }
    } else {
      PacketPtr b = pool_.acquire();
      if (!b) {
        counters_.drop(TxDrop::kPoolExhausted);
        return false;
      }
      MutableBytes space = b->tailSpace();
      ssize_t n = ::read(tunFd_, space.data(), space.size() - ipsec::kEspMaxTrailer);
      if (n < 0) return true;
      ++counters_.tunReads;
      (void)b->commit(size_t(n));
      pkts_.push_back(std::move(b));
    }
  }
  return false;
}

void TxWorker::enqueue(SendBatch& b, int path, uint8_t* data, size_t len) {
  iovec& iov = b.iovs[b.niov++];
  iov.iov_base = data;
  iov.iov_len = len;
  if (b.nmsg > 0) {
    size_t m = b.nmsg - 1;
    // RFC-agnostic kernel rule for UDP_SEGMENT: every segment but the last is exactly
    // gso_size bytes, at most 64 segments and one datagram's worth of payload.
    if (udpGso_ && b.lastPath == path && !b.lastClosed && len <= b.gsoSize[m] &&
        b.segments[m] < kMaxUdpGsoSegments && b.bytes[m] + len <= kMaxUdpPayload) {
      ++b.msgs[m].msg_hdr.msg_iovlen;
      ++b.segments[m];
      b.bytes[m] += static_cast<uint32_t>(len);
      if (len < b.gsoSize[m]) b.lastClosed = true;
      return;
    }
  }
  size_t m = b.nmsg++;
  msghdr& h = b.msgs[m].msg_hdr;
  h = msghdr{};
  h.msg_name = &paths_[size_t(path)].remote.storage;
  h.msg_namelen = paths_[size_t(path)].remote.length;
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  b.segments[m] = 1;
  b.gsoSize[m] = static_cast<uint16_t>(len);
  b.bytes[m] = static_cast<uint32_t>(len);
  b.lastPath = path;
  b.lastClosed = false;
}

bool TxWorker::sealAndQueue(PacketBuffer& b, size_t path, uint8_t nh, bool data) {
  ipsec::EspOutboundSa* sa = path < sas_.size() ? sas_[path].get() : nullptr;
  if (sa == nullptr) {
    counters_.drop(TxDrop::kNoSa);
    return false;
  }
  if (const ipsec::SealStatus st = sa->seal(b, nh); st != ipsec::SealStatus::kOk) {
    counters_.drop(st == ipsec::SealStatus::kSequenceLimit ? TxDrop::kSeqReserve
                                                           : TxDrop::kSealFailed);
    return false;
  }
  ++counters_.sealed;
  if (data) {  // probes do not make a path "active"
    std::atomic<uint64_t>& n = activity_->txPackets[path];
    n.store(n.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);  // one writer
  }
  std::atomic<uint64_t>& wire = activity_->txWireBytes[path];
  wire.store(wire.load(std::memory_order_relaxed) + b.size() + wireOverhead(paths_[path].remote),
             std::memory_order_relaxed);
  enqueue(batches_[paths_[path].uplink], int(path), b.data(), b.size());
  return true;
}

void TxWorker::dispatch(PacketPtr& b, size_t path, uint8_t nh, policy::Priority prio,
                        std::vector<PacketPtr>& keep) {
  EgressShaper<Queued>* shaper = shapers_[paths_[path].uplink].get();
  if (shaper == nullptr) {
    (void)sealAndQueue(*b, path, nh);
    if (&keep != &pkts_) keep.push_back(std::move(b));  // pkts_ holds its own until sent
    return;
  }
  // Bytes on the uplink: the inner packet plus ESP header and IV (16), padding and trailer
  // (up to 5), ICV (16), UDP (8) and the outer IPv4 header (20); counting less would let
  // the link's own queue grow again.
  const uint32_t bytes = uint32_t(b->size() + 65);
  if (!shaper->push(Queued{std::move(b), uint16_t(path), nh, uint8_t(prio)}, prio, bytes)) {
    counters_.drop(TxDrop::kQueueFull);
    return;
  }
  ++counters_.shaperQueued[size_t(prio)];
}

void TxWorker::drainShapers(TimePoint now) {
  for (auto& s : shapers_) {
    if (!s) continue;
    while (auto q = s->pop(now)) {
      ++counters_.shaperSent[q->prio];
      (void)sealAndQueue(*q->pkt, q->path, q->nh);
      released_.push_back(std::move(q->pkt));
    }
  }
}

std::optional<TimePoint> TxWorker::nextShaperRelease(TimePoint now) {
  std::optional<TimePoint> next;
  for (auto& s : shapers_) {
    if (!s) continue;
    if (auto t = s->nextRelease(now); t && (!next || *t < *next)) next = t;
  }
  return next;
}

void TxWorker::sendBatches() {
  for (size_t u = 0; u < batches_.size(); ++u) {
    if (batches_[u].nmsg > 0) send(u, batches_[u]);
    batches_[u].nmsg = batches_[u].niov = 0;
    batches_[u].lastPath = -1;
  }
  pkts_.clear();  // buffers go back to the pool
  copies_.clear();
  released_.clear();
}

void TxWorker::sendCopies(const Steering::Choice& ch, const PacketBuffer& original, uint8_t nh,
                          policy::Priority prio) {
  for (uint8_t i = 0; i < ch.decision.copyCount; ++i) {
    PacketPtr c = pool_.acquire();
    if (!c) {
      counters_.copiesSkipped += ch.decision.copyCount - i;
      counters_.drop(TxDrop::kPoolExhausted);
      return;
    }
    MutableBytes space = c->tailSpace();
    std::memcpy(space.data(), original.data(), original.size());
    (void)c->commit(original.size());
    ++counters_.copiesSent;
    dispatch(c, ch.decision.copies[i], nh, prio, copies_);  // kept until send()
  }
}

policy::XorFecEncoder& TxWorker::fecEncoder(size_t peer, policy::ClassId cls) {
  if (fecEnc_.size() <= peer) fecEnc_.resize(peer + 1);
  auto& perClass = fecEnc_[peer];
  if (perClass.size() <= cls) perClass.resize(size_t(cls) + 1);
  // First FEC packet of this class: allocated once, then reused (not per packet).
  if (!perClass[cls]) perClass[cls] = std::make_unique<policy::XorFecEncoder>(opts_.mtu + 4);
  return *perClass[cls];
}

void TxWorker::sendParity(const Steering::Choice& ch, const policy::XorFecEncoder& enc,
                          policy::Priority prio) {
  PacketPtr b = pool_.acquire();
  if (!b) {
    counters_.drop(TxDrop::kPoolExhausted);
    return;
  }
  const Bytes parity = enc.parity();
  uint8_t* out = b->tailSpace().data();
  policy::encodeShimParity(out, {ch.header.cls, uint32_t(enc.parityGroup()), enc.parityK()});
  std::memcpy(out + policy::kShimParityHeaderSize, parity.data(), parity.size());
  (void)b->commit(policy::kShimParityHeaderSize + parity.size());
  ++counters_.fecParity;
  dispatch(b, ch.parityPath, policy::kShimNextHeader, prio, copies_);
}

void TxWorker::sendShim(size_t path, Bytes message) {
  ++counters_.commands;
  PacketPtr b = pool_.acquire();
  if (!b || message.size() > b->tailSpace().size() - ipsec::kEspMaxTrailer) {
    counters_.drop(TxDrop::kPoolExhausted);
    return;
  }
  std::memcpy(b->tailSpace().data(), message.data(), message.size());
  (void)b->commit(message.size());
  SendBatch& batch = batches_[paths_[path].uplink];
  batch.nmsg = batch.niov = 0;
  batch.lastPath = -1;
  if (!sealAndQueue(*b, path, policy::kShimNextHeader, false)) return;
  ++counters_.probesSent;
  send(paths_[path].uplink, batch);
  batch.nmsg = batch.niov = 0;
}

void TxWorker::processAndSend() {
  const TimePoint now = std::chrono::steady_clock::now();
  for (SendBatch& b : batches_) {
    b.nmsg = b.niov = 0;
    b.lastPath = -1;
  }
  for (PacketPtr& p : pkts_) {
    uint8_t* ip = p->data();
    const size_t len = p->size();
    ++counters_.tunPackets;
    counters_.tunBytes += len;
    const uint8_t version = len > 0 ? ip[0] >> 4 : 0;
    if (!((version == 4 && len >= 20) || (version == 6 && len >= 40))) {
      counters_.drop(TxDrop::kMalformed);
      continue;
    }
    if (len > opts_.mtu) {
      counters_.drop(TxDrop::kOversize);
      continue;
    }
    if (version == 6 && ip[24] == 0xff && (ip[25] & 0x0f) <= 2) {
      // RFC 4291 2.7: multicast of interface- or link-local scope never leaves the link
      // (the kernel's MLD reports on braid0); not a routing miss.
      counters_.drop(TxDrop::kLinkLocal);
      continue;
    }
    Steering::Choice ch;
    if (!steering_.choose(ip, len, now, ch)) {
      counters_.drop(TxDrop::kNoRoute);
      continue;
    }
    if (!ch.decision.ok()) {
      counters_.drop(steering_.peerKeyed(ch.peer) ? TxDrop::kNoPath : TxDrop::kNoSa);
      continue;
    }
    // RFC 4301 5.1: only traffic the SA's selectors cover (protocol, ports) goes on it.
    if (!coveredOn(ch.decision.primary, ip, len)) {
      counters_.drop(TxDrop::kSelector);
      continue;
    }
    for (uint8_t i = 0; i < ch.decision.copyCount;) {  // a copy's path needs it as well
      if (coveredOn(ch.decision.copies[i], ip, len)) {
        ++i;
        continue;
      }
      ch.decision.copies[i] = ch.decision.copies[--ch.decision.copyCount];
      ++counters_.copiesSkipped;
    }
    if (ch.decision.cls < classes_.size()) {
      ++classes_[ch.decision.cls].txPackets;
      classes_[ch.decision.cls].txBytes += len;
    }
    uint8_t nh = version == 4 ? ipsec::kNextHeaderIpv4 : ipsec::kNextHeaderIpv6;
    policy::XorFecEncoder* fec = nullptr;
    if (ch.withHeader) {
      // The copies, FEC and bonding need the shim header; a packet it would push past what
      // the uplinks carry (the overlay MTU plus the room the default MTU leaves for it,
      // overlay.shimRoom) is sent once, unmarked, rather than fragmented on the uplink. A
      // parity is 2 bytes longer than its longest data packet's payload.
      const size_t hs = ch.header.size();
      const size_t room = ch.header.fec ? hs + 2 : hs;
      uint8_t* h = len + room <= opts_.mtu + opts_.shimRoom ? p->prepend(hs) : nullptr;
      if (h == nullptr) {
        counters_.copiesSkipped += ch.decision.copyCount;
        ch.decision.copyCount = 0;
      } else {
        if (ch.header.fec) {
          // The protected payload is the sequence number and the inner packet.
          policy::encodeShimData(h, ch.header);
          fec = &fecEncoder(ch.peer, ch.header.cls);
          const policy::FecPlace place =
              fec->addData(Bytes(h + policy::kShimFecPayloadOffset, 4 + len), ch.header.k);
          ch.header.group = uint32_t(place.group);
          ch.header.index = place.index;
          ch.header.k = place.k;
        }
        policy::encodeShimData(h, ch.header);
        nh = policy::kShimNextHeader;
        ++counters_.shimData;
      }
    }
    const policy::Priority prio = steering_.priority(ch.peer, ch.decision.cls);
    if (ch.decision.copyCount > 0) sendCopies(ch, *p, nh, prio);  // before the in-place seal
    dispatch(p, ch.decision.primary, nh, prio, pkts_);
    if (fec != nullptr && !fec->parity().empty()) sendParity(ch, *fec, prio);
  }
  drainShapers(now);
  if (now - lastExpire_ > std::chrono::seconds(1)) {
    lastExpire_ = now;
    steering_.expireFlows(now);
  }
  sendBatches();
  if (!seqPaths_.empty()) checkSequenceReservations();
}

void TxWorker::sendSegmentsSeparately(int fd, SendBatch& b, size_t m) {
  msghdr h = b.msgs[m].msg_hdr;
  iovec* first = h.msg_iov;
  size_t n = h.msg_iovlen;
  h.msg_control = nullptr;
  h.msg_controllen = 0;
  h.msg_iovlen = 1;
  for (size_t i = 0; i < n; ++i) {
    h.msg_iov = first + i;
    ++counters_.sendCalls;
    if (::sendmsg(fd, &h, 0) < 0) {
      counters_.drop(TxDrop::kSendError);
    } else {
      ++counters_.datagramsSent;
      counters_.bytesSent += first[i].iov_len;
    }
  }
}

void TxWorker::send(size_t uplink, SendBatch& b) {
  const int fd = uplinkFds_[uplink];
  for (size_t m = 0; m < b.nmsg; ++m) {
    msghdr& h = b.msgs[m].msg_hdr;
    if (b.segments[m] > 1) {
      h.msg_control = b.cmsgs[m].data();
      h.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
      cmsghdr* c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      std::memcpy(CMSG_DATA(c), &b.gsoSize[m], sizeof(uint16_t));
    }
  }
  size_t done = 0;
  while (done < b.nmsg) {
    ++counters_.sendCalls;
    int r = ::sendmmsg(fd, &b.msgs[done], static_cast<unsigned>(b.nmsg - done), 0);
    if (r > 0) {
      for (size_t m = done; m < done + size_t(r); ++m) {
        counters_.datagramsSent += b.segments[m];
        counters_.bytesSent += b.bytes[m];
        if (b.segments[m] > 1) ++counters_.gsoSends;
      }
      done += size_t(r);
      continue;
    }
    const int e = errno;
    if (r < 0 && e == EINTR) continue;
    if (b.segments[done] > 1 && (e == EIO || e == EINVAL)) {
      // EIO: the egress device cannot checksum (a hard requirement of UDP_SEGMENT); EINVAL:
      // this socket/kernel rejects GSO. Turn it off for good and resend one by one.
      if (udpGso_) {
        udpGso_ = false;
        ++counters_.udpGsoDisabled;
        BRAID_LOG(kWarn, "tx") << "UDP GSO refused (" << std::strerror(e)
                               << "); falling back to one datagram per packet";
      }
      for (; done < b.nmsg; ++done) sendSegmentsSeparately(fd, b, done);
      return;
    }
    counters_.drop(TxDrop::kSendError, b.segments[done]);
    ++done;
  }
}

}  // namespace braid::edge
