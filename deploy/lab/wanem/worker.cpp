#include "deploy/lab/wanem/worker.hpp"

#include <linux/if_packet.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/log.hpp"

namespace braid::wanem {
namespace {

constexpr size_t kBatch = 64;
constexpr int kRxBatchesPerWake = 4;  // then let releases run before reading more
constexpr uint32_t kEthHeader = 14;

// Tags in epoll_event.data.u64: sockets are 1 + index into dirs_, these two are special.
constexpr uint64_t kTagTimer = 0;
constexpr uint64_t kTagWake = ~uint64_t{0};

bool later(const auto& a, const auto& b) {
  return a.release != b.release ? a.release > b.release : a.seq > b.seq;
}

timespec toTimespec(TimePoint t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  if (ns < 1) ns = 1;  // 0 would disarm the timer
  return timespec{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
}

}  // namespace

Worker::Worker(WorkerOptions options) : options_(options) {
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

Worker::~Worker() {
  stop();
  for (auto& d : dirs_) dropHeld(*d);
  for (int fd : {epoll_, timer_, wake_}) {
    if (fd >= 0) ::close(fd);
  }
}

Status Worker::addLink(Link& link) {
  if (epoll_ < 0 || timer_ < 0 || wake_ < 0) {
    return errorStatus(ErrorCode::kIoError,
                       "epoll/timerfd/eventfd: " + std::string(std::strerror(errno)));
  }
  auto a = PacketSocket::open(link.ifA);
  if (!a) return a.status();
  auto b = PacketSocket::open(link.ifB);
  if (!b) return b.status();
  auto ab = std::make_unique<DirRuntime>(link.ab.get(), options_);
  auto ba = std::make_unique<DirRuntime>(link.ba.get(), options_);
  ab->rxFd = a->fd();
  ab->txFd = b->fd();
  ba->rxFd = b->fd();
  ba->txFd = a->fd();
  for (auto* d : {ab.get(), ba.get()}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = dirs_.size() + 1;
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, d->rxFd, &ev) != 0) {
      return errorStatus(ErrorCode::kIoError, "epoll_ctl: " + std::string(std::strerror(errno)));
    }
    dirs_.push_back(d == ab.get() ? std::move(ab) : std::move(ba));
  }
  sockets_.push_back(std::move(*a));
  sockets_.push_back(std::move(*b));
  return Status::ok();
}

Status Worker::start() {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTagTimer;
  if (epoll_ctl(epoll_, EPOLL_CTL_ADD, timer_, &ev) != 0) {
    return errorStatus(ErrorCode::kIoError, "epoll_ctl timer");
  }
  ev.data.u64 = kTagWake;
  if (epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev) != 0) {
    return errorStatus(ErrorCode::kIoError, "epoll_ctl eventfd");
  }
  thread_ = std::thread([this] { run(); });
  if (options_.realtime) {
    sched_param sp{};
    sp.sched_priority = 10;
    if (pthread_setschedparam(thread_.native_handle(), SCHED_FIFO, &sp) != 0) {
      BRAID_LOG(kWarn, "wanem") << "SCHED_FIFO not available; running with normal priority";
    }
  }
  return Status::ok();
}

void Worker::notify() {
  uint64_t one = 1;
  ssize_t r = ::write(wake_, &one, sizeof(one));
  (void)r;
}

void Worker::stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  notify();
  thread_.join();
}

void Worker::dropHeld(DirRuntime& d) {
  for (auto& h : d.heap) {
    d.dir->counters.add(d.dir->counters.dropDown);
    d.pool.release(h.buf);
  }
  d.heap.clear();
  d.dir->counters.held.store(0, std::memory_order_relaxed);
  d.dir->counters.rateQueued.store(0, std::memory_order_relaxed);
}

void Worker::syncParams(DirRuntime& d) {
  uint64_t v = d.dir->version();
  if (v == d.seenVersion) return;
  d.seenVersion = v;
  LinkParams p = d.dir->params();
  d.model.setParams(p);
  // A cut link loses what is in flight on it.
  if (p.down && !d.down) {
    dropHeld(d);
    d.model.flush();
  }
  d.down = p.down;
}

void Worker::receive(DirRuntime& d) {
  Counters& c = d.dir->counters;
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  sockaddr_ll from[kBatch];
  alignas(cmsghdr) char control[kBatch][CMSG_SPACE(sizeof(timespec))];
  PacketBuffer* bufs[kBatch];
  static thread_local std::vector<uint8_t> scratch(65536);

  for (int round = 0; round < kRxBatchesPerWake; ++round) {
    size_t n = 0;
    for (; n < kBatch; ++n) {
      PacketPtr p = d.pool.acquire();
      if (!p) break;
      bufs[n] = p.release();
    }
    bool noBuffers = n == 0;
    if (noBuffers) n = 1;  // still drain the socket, counting drops
    for (size_t i = 0; i < n; ++i) {
      MutableBytes space =
          noBuffers ? MutableBytes(scratch.data(), scratch.size()) : bufs[i]->tailSpace();
      iov[i] = {space.data(), space.size()};
      msgs[i].msg_hdr = msghdr{};
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = control[i];
      msgs[i].msg_hdr.msg_controllen = sizeof(control[i]);
    }
    int got = recvmmsg(d.rxFd, msgs, static_cast<unsigned>(n), MSG_DONTWAIT, nullptr);
    ClockPair clocks = ClockPair::sample();
    int used = std::max(got, 0);
    for (int i = 0; i < used; ++i) {
      uint32_t len = msgs[i].msg_len;
      if (from[i].sll_pkttype == PACKET_OUTGOING) {
        if (!noBuffers) d.pool.release(bufs[i]);
        continue;
      }
      c.add(c.rx);
      c.add(c.rxBytes, len);
      if (noBuffers) {
        c.add(c.dropNoBuf);
        continue;
      }
      PacketBuffer* b = bufs[i];
      if ((msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0 || len < kEthHeader || !b->commit(len)) {
        c.add(c.dropTooLong);
        d.pool.release(b);
        continue;
      }
      int64_t stamp = 0;
      for (cmsghdr* cm = CMSG_FIRSTHDR(&msgs[i].msg_hdr); cm != nullptr;
           cm = CMSG_NXTHDR(&msgs[i].msg_hdr, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
          timespec ts;
          std::memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
          stamp = int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
        }
      }
      TimePoint arrival = std::max(clocks.toMono(stamp), d.lastArrival);
      d.lastArrival = arrival;
      Decision dec = d.model.onPacket(arrival, len - kEthHeader);
      switch (dec.verdict) {
        case Verdict::kForward:
          break;
        case Verdict::kDropDown:
          c.add(c.dropDown);
          break;
        case Verdict::kDropMtu:
          c.add(c.dropMtu);
          break;
        case Verdict::kDropLoss:
          c.add(c.dropLoss);
          break;
        case Verdict::kDropBurst:
          c.add(c.dropBurst);
          break;
        case Verdict::kDropQueue:
          c.add(c.dropQueue);
          break;
      }
      if (dec.verdict != Verdict::kForward) {
        d.pool.release(b);
        continue;
      }
      if (dec.reordered) c.add(c.reordered);
      d.heap.push_back({dec.release, d.seq++, b});
      std::push_heap(d.heap.begin(), d.heap.end(), [](auto& x, auto& y) { return later(x, y); });
      if (dec.duplicate) {
        PacketPtr copy = d.pool.acquire();
        if (copy && copy->assign(b->span())) {
          c.add(c.dup);
          d.heap.push_back({dec.release, d.seq++, copy.release()});
          std::push_heap(d.heap.begin(), d.heap.end(),
                         [](auto& x, auto& y) { return later(x, y); });
        } else {
          c.add(c.dropNoBuf);
        }
      }
    }
    if (!noBuffers) {
      for (size_t i = static_cast<size_t>(used); i < n; ++i) d.pool.release(bufs[i]);
    }
    if (got < static_cast<int>(n)) break;  // socket drained
  }
}

void Worker::releaseDue(DirRuntime& d, TimePoint now) {
  Counters& c = d.dir->counters;
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  PacketBuffer* bufs[kBatch];
  for (;;) {
    size_t n = 0;
    while (n < kBatch && !d.heap.empty() && d.heap.front().release <= now) {
      std::pop_heap(d.heap.begin(), d.heap.end(), [](auto& x, auto& y) { return later(x, y); });
      bufs[n] = d.heap.back().buf;
      d.heap.pop_back();
      iov[n] = {bufs[n]->data(), bufs[n]->size()};
      msgs[n].msg_hdr = msghdr{};
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
      ++n;
    }
    if (n == 0) break;
    size_t done = 0;
    while (done < n) {
      int r = sendmmsg(d.txFd, msgs + done, static_cast<unsigned>(n - done), MSG_DONTWAIT);
      if (r <= 0) {
        c.add(c.dropTx);  // the first unsent frame is lost; carry on with the rest
        ++done;
        continue;
      }
      for (size_t i = done; i < done + static_cast<size_t>(r); ++i) {
        c.add(c.fwd);
        c.add(c.fwdBytes, bufs[i]->size());
      }
      done += static_cast<size_t>(r);
    }
    for (size_t i = 0; i < n; ++i) d.pool.release(bufs[i]);
    if (n < kBatch) break;
  }
  c.held.store(d.heap.size(), std::memory_order_relaxed);
  c.rateQueued.store(d.model.rateQueued(now), std::memory_order_relaxed);
}

void Worker::armTimer() {
  TimePoint next = TimePoint::max();
  for (auto& d : dirs_) {
    if (!d->heap.empty()) next = std::min(next, d->heap.front().release);
  }
  if (next == armed_) return;
  armed_ = next;
  itimerspec its{};
  if (next != TimePoint::max()) its.it_value = toTimespec(next);
  timerfd_settime(timer_, TFD_TIMER_ABSTIME, &its, nullptr);
}

void Worker::run() {
  epoll_event events[32];
  while (!stop_.load(std::memory_order_relaxed)) {
    int n = epoll_wait(epoll_, events, 32, -1);
    if (n < 0 && errno != EINTR) {
      BRAID_LOG(kError, "wanem") << "epoll_wait: " << std::strerror(errno);
      return;
    }
    for (int i = 0; i < n; ++i) {
      uint64_t tag = events[i].data.u64;
      uint64_t drain;
      if (tag == kTagTimer) {
        ssize_t r = ::read(timer_, &drain, sizeof(drain));
        (void)r;
        armed_ = TimePoint::max();  // expired; re-armed below
      } else if (tag == kTagWake) {
        ssize_t r = ::read(wake_, &drain, sizeof(drain));
        (void)r;
      } else if (tag - 1 < dirs_.size()) {
        dirs_[tag - 1]->readable = true;
      }
    }
    for (auto& d : dirs_) syncParams(*d);
    for (auto& d : dirs_) {
      if (d->readable) {
        d->readable = false;
        receive(*d);
      }
    }
    TimePoint now = std::chrono::steady_clock::now();
    for (auto& d : dirs_) releaseDue(*d, now);
    armTimer();
  }
}

}  // namespace braid::wanem
