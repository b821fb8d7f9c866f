// One forwarding thread: an epoll loop over the packet sockets of its links, a timerfd armed
// (absolute, CLOCK_MONOTONIC) at the earliest release time, and an eventfd the control thread
// writes after a settings change. Each direction keeps its held packets in a min-heap ordered
// by (release time, arrival sequence), so equal release times leave in arrival order.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "core/packet_buffer.hpp"
#include "core/result.hpp"
#include "deploy/lab/wanem/link_model.hpp"
#include "deploy/lab/wanem/links.hpp"
#include "deploy/lab/wanem/packet_io.hpp"

namespace braid::wanem {

struct WorkerOptions {
  size_t poolPackets = 8192;  // per direction: bucket queue + delay line
  size_t frameSize = 2048;    // largest frame; longer ones are counted drop_toolong
  bool realtime = false;      // SCHED_FIFO for tighter release times on a busy machine
};

class Worker {
 public:
  explicit Worker(WorkerOptions options);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Opens both interfaces of `link`; call before start().
  Status addLink(Link& link);
  Status start();
  void notify();
  void stop();

 private:
  struct Held {
    TimePoint release;
    uint64_t seq;
    PacketBuffer* buf;
  };
  struct DirRuntime {
    DirRuntime(Direction* d, const WorkerOptions& o)
        : dir(d), model(d->seed()), pool(o.poolPackets, o.frameSize, 0) {}
    Direction* dir;
    DirectionModel model;
    PacketPool pool;
    int rxFd = -1;
    int txFd = -1;
    uint64_t seenVersion = 0;
    bool down = false;
    bool readable = false;
    std::vector<Held> heap;
    uint64_t seq = 0;
    TimePoint lastArrival{};
  };

  void run();
  void syncParams(DirRuntime& d);
  void receive(DirRuntime& d);
  void releaseDue(DirRuntime& d, TimePoint now);
  void dropHeld(DirRuntime& d);
  void armTimer();

  WorkerOptions options_;
  std::vector<PacketSocket> sockets_;
  std::vector<std::unique_ptr<DirRuntime>> dirs_;
  int epoll_ = -1, timer_ = -1, wake_ = -1;
  TimePoint armed_ = TimePoint::max();
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace braid::wanem
