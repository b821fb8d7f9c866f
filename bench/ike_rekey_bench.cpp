// CPU cost of one complete Child SA rekey, braid to braid, both sides in one thread with the
// datagrams handed over in memory (no sockets) and time simulated (ManualClock):
//
//   rekey/<pfs>   pfs: none or x25519 (KE payloads in the CREATE_CHILD_SA, RFC 7296 1.3.3)
//
// One IKE SA + Child SA is set up once (untimed). Each iteration rekeys the current Child SA
// (rekeyChild, as the soft lifetime does): the CREATE_CHILD_SA request with N(REKEY_SA) and
// its response, the new SAs installed on both sides, then the clock jumps by the make-before-
// break delay (PeerConfig::rekeyDeleteDelay) and the INFORMATIONAL Delete of the old SA and
// its response run. Everything both managers do for it is on this thread, so the thread's
// CPU time is the cost of the rekey for BOTH sides together. Counters: cpu_us_per_rekey,
// core_pct_at_100_per_s (share of one core that 100 rekeys/s take), datagrams per rekey.
// Figures: docs/performance.md, "SA lifecycle: rekeys under traffic".
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <memory>
#include <string>

#include "bench/ike_setup_support.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/timer.hpp"
#include "ipsec/ike/ike_sa.hpp"
#include "ipsec/ike/sa_manager.hpp"

namespace braid::ike::bench {
namespace {

struct Datagram {
  Endpoint local, remote;
  ByteVec data;
};

// One side: its outgoing datagrams queue here until the pump hands them to the other side.
class MemParty final : public DatagramSender, public SaListener {
 public:
  void sendDatagram(const Endpoint& local, const Endpoint& remote, Bytes data) override {
    out.push_back({local, remote, ByteVec(data.begin(), data.end())});
    ++datagrams;
  }
  void onChildSaUp(const ChildSaEvent&) override { ++childUp; }
  void onChildSaDown(const ChildSaEvent&) override { ++childDown; }
  void onFailure(const FailureEvent& e) override {
    ++failures;
    lastFailure = e.reason;
  }
  std::deque<Datagram> out;
  std::unique_ptr<SaManager> mgr;
  uint64_t datagrams = 0, childUp = 0, childDown = 0, failures = 0;
  std::string lastFailure;
};

class MemPair {
 public:
  MemPair() {
    a_.mgr = std::make_unique<SaManager>(clock_, timers_, a_, a_);
    b_.mgr = std::make_unique<SaManager>(clock_, timers_, b_, b_);
  }
  Status configure(const std::string& esp) {
    const BenchIdentities* ids = cachedIdentities(BenchAuth::kPsk);
    if (ids == nullptr) return errorStatus(ErrorCode::kInternal, "no credentials");
    for (bool initiator : {true, false}) {
      PeerConfig pc = makePeerConfig(*ids, initiator, initiator ? addrB_ : addrA_,
                                     "aes256gcm16-prfsha256-x25519");
      pc.children[0].espProposals = parseProposals(esp, ProtocolId::kEsp).value();
      // Simulated time runs rekeyDeleteDelay (2 s) per iteration: no IKE SA rekey or
      // Child SA lifetime may start in between.
      pc.ikeLifetime = Lifetime{};
      pc.children[0].lifetime = Lifetime{};
      if (Status s = (initiator ? a_ : b_).mgr->addPeer(std::move(pc)); !s) return s;
    }
    if (Status s = a_.mgr->initiate("to-resp", addrA_); !s) return s;
    pump();
    if (a_.childUp != 1 || b_.childUp != 1) {
      return errorStatus(ErrorCode::kUnavailable,
                         "setup failed: " + a_.lastFailure + b_.lastFailure);
    }
    return Status::ok();
  }

  // One complete Child SA rekey started by the IKE initiator. False (with why) if it did not
  // end with exactly one Child SA on each side, a new one.
  bool rekeyOnce(std::string& why) {
    IkeSa* sa = a_.mgr->findByPeer("to-resp");
    IkeSa* peer = b_.mgr->findByPeer("to-init");
    if (sa == nullptr || peer == nullptr || sa->children().size() != 1) {
      why = "no IKE SA with one Child SA";
      return false;
    }
    const uint64_t upA = a_.childUp, upB = b_.childUp;
    if (!sa->rekeyChild(sa->children()[0]->spiIn)) {
      why = "rekeyChild refused";
      return false;
    }
    pump();  // CREATE_CHILD_SA request + response
    clock_.advance(sa->config()->rekeyDeleteDelay + std::chrono::milliseconds(1));
    timers_.runUntil(clock_.now());
    pump();  // INFORMATIONAL Delete + response
    if (a_.childUp != upA + 1 || b_.childUp != upB + 1 || sa->children().size() != 1 ||
        peer->children().size() != 1 || a_.failures + b_.failures != 0) {
      why = "rekey incomplete: " + a_.lastFailure + b_.lastFailure;
      return false;
    }
    return true;
  }

  uint64_t datagrams() const { return a_.datagrams + b_.datagrams; }

 private:
  void pump() {
    while (!a_.out.empty() || !b_.out.empty()) {
      deliver(a_, b_);
      deliver(b_, a_);
    }
  }
  static void deliver(MemParty& from, MemParty& to) {
    while (!from.out.empty()) {
      Datagram d = std::move(from.out.front());
      from.out.pop_front();
      to.mgr->receive(d.remote, d.local, d.data);
    }
  }

  ManualClock clock_;
  TimerQueue timers_;
  const Endpoint addrA_{*IpAddress::parse("10.0.0.1"), kIkePort};
  const Endpoint addrB_{*IpAddress::parse("10.0.0.2"), kIkePort};
  MemParty a_, b_;  // declared after the clock and timers: destroyed first
};

double threadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void rekeyBench(benchmark::State& state, std::string esp) {
  MemPair pair;
  if (Status s = pair.configure(esp); !s) {
    state.SkipWithError(s.message().c_str());
    return;
  }
  std::string why;
  if (!pair.rekeyOnce(why)) {  // untimed warm-up
    state.SkipWithError(why.c_str());
    return;
  }
  const uint64_t d0 = pair.datagrams();
  double cpu = 0;
  for (auto _ : state) {
    const double c0 = threadCpuSeconds();
    bool ok = pair.rekeyOnce(why);
    cpu += threadCpuSeconds() - c0;
    if (!ok) {
      state.SkipWithError(why.c_str());
      break;
    }
  }
  const double n = static_cast<double>(state.iterations());
  if (n > 0) {
    state.counters["cpu_us_per_rekey"] = cpu / n * 1e6;
    // 100 rekeys/s take 100 x the CPU time of one per second of one core, in percent.
    state.counters["core_pct_at_100_per_s"] = cpu / n * 100.0 * 100.0;
    state.counters["datagrams"] = static_cast<double>(pair.datagrams() - d0) / n;
  }
}

}  // namespace
}  // namespace braid::ike::bench

int main(int argc, char** argv) {
  braid::ike::bench::logLikeBraidd();
  using braid::ike::bench::rekeyBench;
  benchmark::RegisterBenchmark("rekey/none", rekeyBench, std::string("aes256gcm16"))
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("rekey/x25519", rekeyBench, std::string("aes256gcm16-x25519"))
      ->Unit(benchmark::kMicrosecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
