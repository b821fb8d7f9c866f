// Per-packet costs of the multipath libraries (ns per packet = the benchmark's time per
// iteration): first-match classification over 1k rules, flow-table lookups with 1M flows
// (and bytes per flow), Engine::decide for sticky and bonded flows over 3 paths, dedup of
// two skewed copies, reordering of a two-path bond, XOR FEC, and the probe codec.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "pathmon/probe.hpp"
#include "policy/dedup.hpp"
#include "policy/engine.hpp"
#include "policy/fec.hpp"
#include "policy/reorder.hpp"

namespace {

using namespace braid;
using namespace braid::policy;

FlowKey flowN(uint32_t n) {
  return FlowKey{IpAddress::v4(0x0a000000u + (n >> 8)), IpAddress::v4(0xac100000u + (n & 0xff)),
                 static_cast<uint8_t>(n & 1 ? kProtoTcp : kProtoUdp),
                 static_cast<uint16_t>(1024 + n % 50000),
                 static_cast<uint16_t>(n % 7 == 0 ? 5060 : 443)};
}

// 1000 rules that mostly do not match the benchmark's flows (the worst case: the scan goes
// far), the voice rule last but one.
std::vector<Rule> manyRules(size_t n) {
  std::mt19937_64 rng(1);
  std::vector<Rule> rules(n);
  for (size_t i = 0; i < n; ++i) {
    Rule& r = rules[i];
    r.cls = static_cast<ClassId>(1 + i % 3);
    r.dst = {IpPrefix(IpAddress::v4(0xc0000000u | static_cast<uint32_t>(rng() % 65536) << 8), 24)};
    r.proto = i % 2 ? kProtoTcp : kProtoUdp;
    uint16_t lo = static_cast<uint16_t>(rng() % 60000);
    r.dstPorts = {{lo, static_cast<uint16_t>(lo + 10)}};
  }
  rules[n - 2] = Rule{};
  rules[n - 2].cls = 1;
  rules[n - 2].dstPorts = {{5060, 5061}};
  return rules;
}

std::vector<PathView> threePaths() {
  std::vector<PathView> v(3);
  v[0] = {0, true, PathHealth::kUp, 4000, 300, 0.0f, false, 500'000};
  v[1] = {1, true, PathHealth::kUp, 15000, 1000, 0.0f, false, 100'000};
  v[2] = {2, true, PathHealth::kUp, 50000, 5000, 0.0f, true, 20'000};
  return v;
}

EngineConfig engineConfig(size_t rules, size_t flows) {
  EngineConfig cfg;
  cfg.classes.resize(4);
  cfg.classes[1].sla = {150'000, 30'000, 0.01f};
  cfg.classes[1].duplicate = DuplicateWhen::kBestBreaches;
  cfg.classes[2].mode = Mode::kBond;
  cfg.classes[3].mode = Mode::kBalance;
  cfg.rules = manyRules(rules);
  cfg.maxFlows = flows;
  return cfg;
}

void BM_Classify1kRules(benchmark::State& state) {
  Classifier c(manyRules(1000), 0);
  std::vector<FlowKey> keys;
  for (uint32_t i = 0; i < 4096; ++i) keys.push_back(flowN(i * 2654435761u));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(c.classify(keys[i++ & 4095]));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Classify1kRules);

void BM_FlowTableLookup(benchmark::State& state) {
  const size_t flows = static_cast<size_t>(state.range(0));
  FlowTable t(flows, std::chrono::hours(1));
  TimePoint now{};
  for (uint32_t i = 0; i < flows; ++i) t.insert(flowN(i), now);
  std::mt19937_64 rng(3);
  std::vector<FlowKey> keys;
  for (size_t i = 0; i < 65536; ++i) keys.push_back(flowN(static_cast<uint32_t>(rng() % flows)));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(t.find(keys[i++ & 65535], now));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["bytes_per_flow"] = static_cast<double>(FlowTable::bytesPerFlow());
  state.counters["table_MiB"] =
      static_cast<double>(FlowTable::bytesPerFlow() * flows) / (1024.0 * 1024.0);
}
BENCHMARK(BM_FlowTableLookup)->Arg(1 << 10)->Arg(1 << 20);

// Established flows (the common case): flow-table hit, class state, stickiness check.
void BM_DecideSticky(benchmark::State& state) {
  const size_t flows = static_cast<size_t>(state.range(0));
  Engine e(engineConfig(1000, flows));
  auto paths = threePaths();
  TimePoint now{};
  std::vector<FlowKey> keys;
  for (uint32_t i = 0; i < flows; ++i) keys.push_back(flowN(i));
  for (const auto& k : keys) e.decide(k, now, paths);
  std::mt19937_64 rng(5);
  std::vector<uint32_t> order(65536);
  for (auto& o : order) o = static_cast<uint32_t>(rng() % flows);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(e.decide(keys[order[i++ & 65535]], now, paths));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_DecideSticky)->Arg(1)->Arg(1 << 10)->Arg(1 << 20);

// New flow per packet: classification over 1k rules + insertion (evicting the LRU).
void BM_DecideNewFlow(benchmark::State& state) {
  Engine e(engineConfig(1000, 1 << 16));
  auto paths = threePaths();
  TimePoint now{};
  uint32_t n = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(e.decide(flowN(n++), now, paths));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_DecideNewFlow);

// One bulk flow bonded per packet over the eligible paths.
void BM_DecideBond(benchmark::State& state) {
  EngineConfig cfg = engineConfig(10, 1024);
  Rule bulk;
  bulk.cls = 2;
  cfg.rules.insert(cfg.rules.begin(), bulk);
  Engine e(cfg);
  auto paths = threePaths();
  FlowKey k = flowN(1);
  for (auto _ : state) {
    benchmark::DoNotOptimize(e.decide(k, TimePoint{}, paths));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_DecideBond);

// Two copies of every number, the second arriving up to 64 numbers later.
void BM_DedupTwoCopies(benchmark::State& state) {
  DedupWindow w(4096);
  std::mt19937_64 rng(7);
  std::vector<uint64_t> stream;
  for (uint64_t s = 0; s < 32768; ++s) {
    stream.push_back(s);
    stream.push_back(s >= 64 ? s - rng() % 64 : s);
  }
  uint64_t base = 0;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(w.accept(base + stream[i]));
    if (++i == stream.size()) {
      i = 0;
      base += 32768;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_DedupTwoCopies);

// A two-path bond: every third packet 80 numbers late; items are 8-byte handles.
void BM_ReorderTwoPaths(benchmark::State& state) {
  ReorderBuffer<uint64_t> rb(1024, std::chrono::milliseconds(30));
  std::vector<uint64_t> stream;
  for (uint64_t s = 0; s < 30000; ++s) stream.push_back(s % 3 == 0 ? s + 80 : s);
  TimePoint now{};
  uint64_t base = 0, sum = 0;
  size_t i = 0;
  auto sink = [&sum](uint64_t s, uint64_t&&) { sum += s; };
  for (auto _ : state) {
    uint64_t seq = base + stream[i];
    rb.push(seq, uint64_t{seq}, now, sink);
    if (++i == stream.size()) {
      i = 0;
      base += 30000 + 200;
      rb.flush(sink);
    }
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ReorderTwoPaths);

// XOR FEC over 1400-byte packets, k = 5: encode every packet, decode every packet with one
// loss per group rebuilt (time per data packet).
void BM_FecXorK5(benchmark::State& state) {
  XorFecEncoder enc(1500);
  XorFecDecoder dec(1500, 16);
  std::vector<uint8_t> pkt(1400, 0x5a), out(1500);
  uint64_t n = 0;
  for (auto _ : state) {
    pkt[0] = static_cast<uint8_t>(n);
    FecPlace place = enc.addData(pkt, 5);
    if (place.index != 2) benchmark::DoNotOptimize(dec.onData(place, pkt, out));
    if (!enc.parity().empty()) {
      benchmark::DoNotOptimize(dec.onParity(enc.parityGroup(), 5, enc.parity(), out));
    }
    ++n;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * pkt.size()));
  state.counters["recovered"] = static_cast<double>(dec.counters().recovered);
}
BENCHMARK(BM_FecXorK5);

void BM_ProbeEncodeDecode(benchmark::State& state) {
  using namespace braid::pathmon;
  ProbeMessage m{ProbeType::kReply, 2, 1, 1000, 900, 5};
  std::array<uint8_t, kProbeSize> buf{};
  for (auto _ : state) {
    ByteWriter w(buf);
    m.seq++;
    (void)encodeProbe(m, w);
    ProbeMessage out;
    benchmark::DoNotOptimize(decodeProbe(buf, out));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ProbeEncodeDecode);

}  // namespace

BENCHMARK_MAIN();
