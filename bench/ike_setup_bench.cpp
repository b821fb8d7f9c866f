// IKE setup rate, braid to braid on loopback: time per complete IKE_SA_INIT + IKE_AUTH (IKE
// SA and the first Child SA up on BOTH sides), and setups per second. Two SaManagers in one
// process, each on its own UDP socket on 127.0.0.1, one thread (ike_setup_support.hpp).
//
//   setup/<auth>/<group>   auth: psk, ecdsa-p256 (RFC 7427 method 14, ECDSA with SHA-256,
//                          P-256 CA), rsa-3072 (method 14, RSASSA-PKCS1-v1_5 SHA-256,
//                          RSA-3072 CA); group: x25519 or ecp256; IKE and ESP AES-GCM-256.
//
// Each iteration times initiate() until the last Child SA event (manual time); the Delete
// that follows is not timed. Counters: setups/s, datagrams and bytes per setup.
// Where the time goes is measured by the micro-benchmarks in ike_setup_micro.cpp. Figures:
// docs/performance.md, "IKEv2 setup"; bench/e2e/ike_setup.sh compares with strongSwan.
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>

#include "bench/ike_setup_support.hpp"
#include "core/log.hpp"

namespace braid::ike::bench {
namespace {

void setupBench(benchmark::State& state, BenchAuth auth, std::string group) {
  const BenchIdentities* ids = cachedIdentities(auth);
  if (ids == nullptr) {
    state.SkipWithError("no credentials");
    return;
  }
  LoopbackPair pair;
  if (Status s = pair.configure(*ids, "aes256gcm16-prfsha256-" + group); !s) {
    state.SkipWithError(s.message().c_str());
    return;
  }
  // One untimed round first: the first X509 store lookup and EVP fetches warm caches.
  if (Status s = pair.setupOnce(); !s || !pair.teardown()) {
    state.SkipWithError(s ? "teardown failed" : s.message().c_str());
    return;
  }
  uint64_t datagrams = 0, bytes = 0;
  for (auto _ : state) {
    const uint64_t d0 = pair.initiator().datagramsSent + pair.responder().datagramsSent;
    const uint64_t b0 = pair.initiator().bytesSent + pair.responder().bytesSent;
    auto t0 = std::chrono::steady_clock::now();
    Status s = pair.setupOnce();
    auto t1 = std::chrono::steady_clock::now();
    if (!s) {
      state.SkipWithError(s.message().c_str());
      break;
    }
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
    datagrams += pair.initiator().datagramsSent + pair.responder().datagramsSent - d0;
    bytes += pair.initiator().bytesSent + pair.responder().bytesSent - b0;
    if (Status t = pair.teardown(); !t) {
      state.SkipWithError(t.message().c_str());
      break;
    }
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["setups/s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  if (n > 0) {
    state.counters["datagrams"] = static_cast<double>(datagrams) / n;
    state.counters["bytes"] = static_cast<double>(bytes) / n;
  }
  state.counters["send_errors"] =
      static_cast<double>(pair.initiator().sendErrors + pair.responder().sendErrors);
}

void registerSetups() {
  struct Case {
    BenchAuth auth;
    const char* group;
  };
  const Case cases[] = {
      {BenchAuth::kPsk, "x25519"},       {BenchAuth::kPsk, "ecp256"},
      {BenchAuth::kEcdsaP256, "x25519"}, {BenchAuth::kEcdsaP256, "ecp256"},
      {BenchAuth::kRsa3072, "x25519"},   {BenchAuth::kRsa3072, "ecp256"},
  };
  for (const Case& c : cases) {
    std::string name = std::string("setup/") + benchAuthName(c.auth) + "/" + c.group;
    benchmark::RegisterBenchmark(name.c_str(), setupBench, c.auth, std::string(c.group))
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace

void registerMicroBenchmarks();  // ike_setup_micro.cpp

}  // namespace braid::ike::bench

int main(int argc, char** argv) {
  braid::ike::bench::logLikeBraidd();
  braid::ike::bench::registerSetups();
  braid::ike::bench::registerMicroBenchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
