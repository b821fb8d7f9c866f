// Per-packet cost of an inbound SA's selector check on the RX thread (ns per packet = time
// per iteration, over 256 different packets): the address check alone (PrefixSet, what an SA
// whose selectors have protocol 0 and full ports costs, the matcher pointer being null), and
// with the protocol/port matcher (edge/ts_match.hpp) for IPv4 TCP, IPv6 TCP behind two
// extension headers, and 4 selectors per side with the packet's in the last one.
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "core/bytes.hpp"
#include "edge/paths.hpp"
#include "edge/ts_match.hpp"

namespace {

using namespace braid;
using namespace braid::edge;

constexpr size_t kPackets = 256;

std::vector<std::vector<uint8_t>> v4Packets() {
  std::vector<std::vector<uint8_t>> out;
  for (size_t i = 0; i < kPackets; ++i) {
    std::vector<uint8_t> p(60, 0);
    p[0] = 0x45;
    storeBe16(&p[2], 60);
    p[9] = 6;
    const uint8_t src[4] = {10, 98, 2, uint8_t(1 + i % 200)}, dst[4] = {10, 98, 1, uint8_t(i)};
    std::memcpy(&p[12], src, 4);
    std::memcpy(&p[16], dst, 4);
    storeBe16(&p[20], 5201);
    storeBe16(&p[22], uint16_t(30000 + i));
    out.push_back(p);
  }
  return out;
}

std::vector<std::vector<uint8_t>> v6Packets() {
  std::vector<std::vector<uint8_t>> out;
  for (size_t i = 0; i < kPackets; ++i) {
    std::vector<uint8_t> p(40 + 8 + 16 + 20, 0);
    p[0] = 0x60;
    storeBe16(&p[4], uint16_t(p.size() - 40));
    p[6] = 0;  // hop-by-hop (8 bytes) -> destination options (16 bytes) -> TCP
    p[8] = 0xfd;
    p[9] = 2;
    p[23] = uint8_t(i);
    p[24] = 0xfd;
    p[25] = 1;
    p[39] = uint8_t(i);
    p[40] = 60;
    p[48] = 6;
    p[49] = 1;
    storeBe16(&p[64], 5201);
    storeBe16(&p[66], uint16_t(30000 + i));
    out.push_back(p);
  }
  return out;
}

ike::TrafficSelector ts(const char* prefix, uint8_t proto = 0, uint16_t lo = 0,
                        uint16_t hi = 65535) {
  return ike::TrafficSelector::fromPrefix(*IpPrefix::parse(prefix), proto, lo, hi);
}

// What RxWorker::checkInner does after the TFC length: addresses, then the matcher if any.
void run(benchmark::State& state, const std::vector<std::vector<uint8_t>>& pkts,
         const std::vector<ike::TrafficSelector>& remote,
         const std::vector<ike::TrafficSelector>& local) {
  std::vector<IpPrefix> r, l;
  for (auto& t : remote) r.push_back(*t.toPrefix());
  for (auto& t : local) l.push_back(*t.toPrefix());
  const PrefixSet rs(r), ls(l);
  const auto m = SelectorMatcher::from(remote, local);
  size_t i = 0, ok = 0;
  for (auto _ : state) {
    const auto& p = pkts[i++ % kPackets];
    bool pass = rs.contains(p.data(), p.size(), false) && ls.contains(p.data(), p.size(), true);
    if (pass && m != nullptr) pass = m->matchInbound(p.data(), p.size());
    ok += pass;
    benchmark::DoNotOptimize(ok);
  }
  if (ok != size_t(state.iterations())) state.SkipWithError("a packet did not match");
  state.counters["matcher"] = m != nullptr;
}

void BM_Ipv4AddressesOnly(benchmark::State& s) {
  run(s, v4Packets(), {ts("10.98.2.0/24")}, {ts("10.98.1.0/24")});
}
void BM_Ipv4TcpPort(benchmark::State& s) {
  run(s, v4Packets(), {ts("10.98.2.0/24", 6, 5201, 5201)}, {ts("10.98.1.0/24", 6)});
}
void BM_Ipv4FourSelectorsEach(benchmark::State& s) {
  run(s, v4Packets(),
      {ts("10.97.0.0/16", 17), ts("10.96.0.0/16", 6, 80, 80), ts("10.98.2.0/24", 17, 53, 53),
       ts("10.98.2.0/24", 6, 5201, 5201)},
      {ts("10.95.0.0/16", 17), ts("10.94.0.0/16", 6), ts("10.98.1.0/24", 1),
       ts("10.98.1.0/24", 6)});
}
void BM_Ipv6AddressesOnly(benchmark::State& s) {
  run(s, v6Packets(), {ts("fd02::/64")}, {ts("fd01::/64")});
}
void BM_Ipv6ExtHeadersTcpPort(benchmark::State& s) {
  run(s, v6Packets(), {ts("fd02::/64", 6, 5201, 5201)}, {ts("fd01::/64", 6)});
}

BENCHMARK(BM_Ipv4AddressesOnly);
BENCHMARK(BM_Ipv4TcpPort);
BENCHMARK(BM_Ipv4FourSelectorsEach);
BENCHMARK(BM_Ipv6AddressesOnly);
BENCHMARK(BM_Ipv6ExtHeadersTcpPort);

}  // namespace

BENCHMARK_MAIN();
