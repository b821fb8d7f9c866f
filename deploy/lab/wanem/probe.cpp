// braid-wanem-probe: a UDP timestamping sender/receiver that measures a path THROUGH the
// emulator: one-way delay (sender and receiver share the host's CLOCK_REALTIME; the receive
// time is the kernel's SO_TIMESTAMPNS stamp), loss, loss bursts, duplicates, reordering,
// received rate, and which source addresses arrived (to see NAT rebinding).
//
//   braid-wanem-probe send --to IP:PORT [--bind IP:PORT] (--pps N | --rate 50mbit)
//                          (--count N | --duration 2s) [--size UDP_PAYLOAD_BYTES]
//   braid-wanem-probe recv --bind IP:PORT [--duration 5s] [--idle 1s] [--ready FILE]
//                          [--dump FILE]
// The receiver prints key=value lines (deploy/lab/wanem/probe_stats.hpp); --dump writes
// "seq rx_ns owd_ns" per datagram received, in arrival order.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "deploy/lab/wanem/params.hpp"
#include "deploy/lab/wanem/probe_stats.hpp"

namespace {

using braid::ByteReader;
using braid::ByteWriter;

constexpr uint32_t kMagic = 0x62776d70;    // "bwmp"
constexpr size_t kHeader = 4 + 8 + 8 + 8;  // magic, seq, total, send time
constexpr size_t kIpUdpOverhead = 28;

int64_t realNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

bool parseEndpoint(const std::string& s, sockaddr_in& out) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  out = sockaddr_in{};
  out.sin_family = AF_INET;
  uint64_t port;
  if (!braid::wanem::parseUint(s.substr(colon + 1), port) || port > 65535) return false;
  out.sin_port = htons(static_cast<uint16_t>(port));
  return inet_pton(AF_INET, s.substr(0, colon).c_str(), &out.sin_addr) == 1;
}

std::string endpointText(const sockaddr_in& a) {
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a.sin_addr, ip, sizeof(ip));
  return std::string(ip) + ":" + std::to_string(ntohs(a.sin_port));
}

int die(const char* what) {
  std::fprintf(stderr, "braid-wanem-probe: %s: %s\n", what, std::strerror(errno));
  return 1;
}

int usage() {
  std::fprintf(stderr,
               "usage: braid-wanem-probe send --to IP:PORT [--bind IP:PORT] (--pps N | --rate R)\n"
               "                              (--count N | --duration D) [--size BYTES]\n"
               "       braid-wanem-probe recv --bind IP:PORT [--duration D] [--idle D] "
               "[--ready FILE]\n"
               "                              [--dump FILE]\n");
  return 2;
}

int runSend(const std::map<std::string, std::string>& opt) {
  sockaddr_in to{}, local{};
  if (!opt.count("to") || !parseEndpoint(opt.at("to"), to)) return usage();
  uint64_t size = 200, count = 0;
  if (opt.count("size") &&
      (!braid::wanem::parseUint(opt.at("size"), size) || size < kHeader || size > 65000)) {
    return usage();
  }
  double pps = 0;
  if (opt.count("pps")) {
    uint64_t v;
    if (!braid::wanem::parseUint(opt.at("pps"), v) || v == 0) return usage();
    pps = static_cast<double>(v);
  } else if (opt.count("rate")) {
    uint64_t bps;
    if (!braid::wanem::parseRate(opt.at("rate"), bps) || bps == 0) return usage();
    pps = static_cast<double>(bps) / (8.0 * static_cast<double>(size + kIpUdpOverhead));
  } else {
    return usage();
  }
  if (opt.count("count")) {
    if (!braid::wanem::parseUint(opt.at("count"), count) || count == 0) return usage();
  } else if (opt.count("duration")) {
    braid::Duration d;
    if (!braid::wanem::parseDuration(opt.at("duration"), d)) return usage();
    count = static_cast<uint64_t>(std::llround(pps * std::chrono::duration<double>(d).count()));
  } else {
    return usage();
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return die("socket");
  int buf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
  if (opt.count("bind")) {
    if (!parseEndpoint(opt.at("bind"), local)) return usage();
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) return die("bind");
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) return die("connect");
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

  constexpr size_t kBatch = 32;
  std::vector<std::vector<uint8_t>> payload(kBatch, std::vector<uint8_t>(size, 0x5a));
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  auto startNs = int64_t{start.tv_sec} * 1000000000 + start.tv_nsec;
  double gapNs = 1e9 / pps;
  uint64_t sent = 0, errors = 0;
  while (sent < count) {
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t elapsed = int64_t{now.tv_sec} * 1000000000 + now.tv_nsec - startNs;
    uint64_t due = std::min<uint64_t>(count, static_cast<uint64_t>(elapsed / gapNs) + 1);
    while (sent < due) {
      size_t n = std::min<uint64_t>(kBatch, due - sent);
      int64_t stamp = realNs();
      for (size_t i = 0; i < n; ++i) {
        ByteWriter w(braid::MutableBytes(payload[i].data(), payload[i].size()));
        (void)w.writeU32(kMagic);
        (void)w.writeU64(sent + i);
        (void)w.writeU64(count);
        (void)w.writeU64(static_cast<uint64_t>(stamp));
        iov[i] = {payload[i].data(), payload[i].size()};
        msgs[i].msg_hdr = msghdr{};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      int r = sendmmsg(fd, msgs, static_cast<unsigned>(n), 0);
      if (r <= 0) {
        ++errors;  // e.g. ECONNREFUSED from an earlier ICMP error; the packet still counts
        r = 1;
      }
      sent += static_cast<uint64_t>(r);
    }
    if (sent >= count) break;
    int64_t next = startNs + static_cast<int64_t>(static_cast<double>(sent) * gapNs);
    timespec ts{static_cast<time_t>(next / 1000000000), static_cast<long>(next % 1000000000)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
  }
  std::printf("sent=%llu send_errors=%llu pps=%.1f\n", static_cast<unsigned long long>(sent),
              static_cast<unsigned long long>(errors), pps);
  return 0;
}

int runRecv(const std::map<std::string, std::string>& opt) {
  sockaddr_in local{};
  if (!opt.count("bind") || !parseEndpoint(opt.at("bind"), local)) return usage();
  braid::Duration total = std::chrono::seconds(30), idle = std::chrono::seconds(1);
  if (opt.count("duration") && !braid::wanem::parseDuration(opt.at("duration"), total)) {
    return usage();
  }
  if (opt.count("idle") && !braid::wanem::parseDuration(opt.at("idle"), idle)) return usage();
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return die("socket");
  int one = 1, buf = 32 << 20;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) return die("bind");
  if (opt.count("ready")) std::ofstream(opt.at("ready")) << "ready\n";

  std::vector<braid::wanem::ProbeSample> samples;
  samples.reserve(1 << 16);
  std::vector<std::string> sources;
  uint64_t total64 = 0, bad = 0;
  int64_t begin = realNs();
  int64_t lastRx = 0;
  constexpr size_t kBatch = 64;
  std::vector<uint8_t> data(kBatch * 2048);
  sockaddr_in from[kBatch];
  iovec iov[kBatch];
  mmsghdr msgs[kBatch];
  alignas(cmsghdr) char control[kBatch][CMSG_SPACE(sizeof(timespec))];
  timeval tv{0, 100000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  for (;;) {
    int64_t now = realNs();
    if (now - begin > total.count()) break;
    if (lastRx != 0 && now - lastRx > idle.count()) break;
    for (size_t i = 0; i < kBatch; ++i) {
      iov[i] = {data.data() + i * 2048, 2048};
      msgs[i].msg_hdr = msghdr{};
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = control[i];
      msgs[i].msg_hdr.msg_controllen = sizeof(control[i]);
    }
    int got = recvmmsg(fd, msgs, kBatch, MSG_WAITFORONE, nullptr);
    if (got <= 0) continue;
    int64_t fallback = realNs();
    lastRx = fallback;
    for (int m = 0; m < got; ++m) {
      msghdr& mh = msgs[m].msg_hdr;
      int64_t rx = fallback;
      for (cmsghdr* cm = CMSG_FIRSTHDR(&mh); cm != nullptr; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
          timespec ts;
          std::memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
          rx = int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
        }
      }
      ByteReader rd(braid::Bytes(static_cast<uint8_t*>(iov[m].iov_base), msgs[m].msg_len));
      uint32_t magic;
      uint64_t seq, tot, sentNs;
      if (!rd.readU32(magic) || magic != kMagic || !rd.readU64(seq) || !rd.readU64(tot) ||
          !rd.readU64(sentNs)) {
        ++bad;
        continue;
      }
      total64 = std::max(total64, tot);
      samples.push_back({seq, rx, rx - static_cast<int64_t>(sentNs), msgs[m].msg_len});
      std::string src = endpointText(from[m]);
      if (std::find(sources.begin(), sources.end(), src) == sources.end()) sources.push_back(src);
    }
  }

  if (opt.count("dump")) {
    // One line per datagram in arrival order, duplicates included: which path a packet took
    // shows in its delay (tests/integration/lab_failover*.sh).
    std::FILE* f = std::fopen(opt.at("dump").c_str(), "w");
    if (f == nullptr) return die("dump");
    std::fprintf(f, "# seq rx_ns owd_ns\n");
    for (const auto& s : samples) {
      std::fprintf(f, "%llu %lld %lld\n", static_cast<unsigned long long>(s.seq),
                   static_cast<long long>(s.rxNs), static_cast<long long>(s.owdNs));
    }
    std::fclose(f);
  }
  braid::wanem::ProbeReport r = braid::wanem::analyzeProbe(samples, total64);
  std::string src;
  for (const auto& s : sources) src += (src.empty() ? "" : ",") + s;
  auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  std::printf(
      "received=%llu unique=%llu expected=%llu lost=%llu dup=%llu reordered=%llu bad=%llu\n",
      u(r.received), u(r.unique), u(r.expected), u(r.lost), u(r.dup), u(r.reordered),
      u(bad + r.outOfRange));
  std::printf(
      "loss_pct=%.4f bursts=%llu burst_mean=%.3f max_burst=%llu\n",
      r.expected ? 100.0 * static_cast<double>(r.lost) / static_cast<double>(r.expected) : 0.0,
      u(r.bursts), r.bursts ? static_cast<double>(r.lost) / static_cast<double>(r.bursts) : 0.0,
      u(r.maxBurst));
  std::printf("max_gap_ms=%.3f gap_p99_ms=%.3f max_gap_at_ms=%.3f max_gap_seq=%llu\n", r.maxGapMs,
              r.gapP99Ms, r.maxGapAtMs, u(r.maxGapSeq));
  std::printf(
      "owd_min_ms=%.3f owd_avg_ms=%.3f owd_p50_ms=%.3f owd_p99_ms=%.3f owd_max_ms=%.3f "
      "owd_std_ms=%.3f\n",
      r.owdMinMs, r.owdAvgMs, r.owdP50Ms, r.owdP99Ms, r.owdMaxMs, r.owdStdMs);
  // More quantiles, so tests can bound a spread (IQR) and a tail (p90, p95) that a few late
  // wake-ups on a shared machine do not move, as they move the maximum and the stdev.
  std::printf("owd_p10_ms=%.3f owd_p25_ms=%.3f owd_p75_ms=%.3f owd_p90_ms=%.3f owd_p95_ms=%.3f\n",
              r.owdP10Ms, r.owdP25Ms, r.owdP75Ms, r.owdP90Ms, r.owdP95Ms);
  std::printf("rate_bps=%.0f\nsources=%s\n", r.rateBps, src.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  std::string mode = argv[1];
  std::map<std::string, std::string> opt;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (!a.starts_with("--") || i + 1 >= argc) return usage();
    opt[a.substr(2)] = argv[++i];
  }
  if (mode == "send") return runSend(opt);
  if (mode == "recv") return runRecv(opt);
  return usage();
}
