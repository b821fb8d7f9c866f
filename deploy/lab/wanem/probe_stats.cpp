#include "deploy/lab/wanem/probe_stats.hpp"

#include <algorithm>
#include <cmath>

namespace braid::wanem {

namespace {
constexpr double kIpUdpOverhead = 28;
double ms(int64_t ns) {
  return static_cast<double>(ns) / 1e6;
}
}  // namespace

int64_t quantile(std::vector<int64_t>& v, double q) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

ProbeReport analyzeProbe(const std::vector<ProbeSample>& samples, uint64_t senderTotal,
                         uint64_t maxSeq) {
  ProbeReport r;
  uint64_t limit = senderTotal != 0 ? std::min(senderTotal, maxSeq) : maxSeq;
  std::vector<uint8_t> seen;
  std::vector<int64_t> firstRx;  // receive times of first deliveries
  std::vector<uint64_t> firstSeq;
  std::vector<int64_t> owd;
  uint64_t highest = 0;
  bool any = false;
  double sum = 0, sumSq = 0, bytes = 0;
  int64_t rxFirst = 0, rxLast = 0;
  for (const auto& s : samples) {
    if (s.seq >= limit) {
      ++r.outOfRange;
      continue;
    }
    if (r.received == 0) {
      rxFirst = s.rxNs;
    } else {
      bytes += static_cast<double>(s.bytes) + kIpUdpOverhead;
    }
    rxLast = s.rxNs;
    ++r.received;
    owd.push_back(s.owdNs);
    sum += static_cast<double>(s.owdNs);
    sumSq += static_cast<double>(s.owdNs) * static_cast<double>(s.owdNs);
    if (s.seq >= seen.size()) seen.resize(s.seq + 1, 0);
    if (seen[s.seq]) {
      ++r.dup;
      continue;
    }
    seen[s.seq] = 1;
    firstRx.push_back(s.rxNs);
    firstSeq.push_back(s.seq);
    if (any && s.seq < highest) ++r.reordered;
    highest = any ? std::max(highest, s.seq) : s.seq;
    any = true;
  }

  r.expected = senderTotal != 0 ? senderTotal : (any ? highest + 1 : 0);
  uint64_t run = 0;
  for (uint64_t i = 0; i < r.expected; ++i) {
    if (i < seen.size() && seen[i]) {
      ++r.unique;
      run = 0;
      continue;
    }
    ++r.lost;
    if (run++ == 0) ++r.bursts;
    r.maxBurst = std::max(r.maxBurst, run);
  }

  // Gaps by receive time. Kernel stamps of one socket are in order already; sorting keeps
  // the result right should they not be (sequence numbers follow their times).
  std::vector<size_t> order(firstRx.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return firstRx[a] < firstRx[b]; });
  std::vector<int64_t> gaps;
  gaps.reserve(order.size());
  int64_t maxGap = -1;
  for (size_t i = 1; i < order.size(); ++i) {
    int64_t g = firstRx[order[i]] - firstRx[order[i - 1]];
    gaps.push_back(g);
    if (g > maxGap) {
      maxGap = g;
      r.maxGapAtMs = ms(firstRx[order[i - 1]] - firstRx[order[0]]);
      r.maxGapSeq = firstSeq[order[i]];
    }
  }
  if (maxGap > 0) r.maxGapMs = ms(maxGap);
  r.gapP99Ms = ms(quantile(gaps, 0.99));

  if (!owd.empty()) {
    double n = static_cast<double>(owd.size());
    double mean = sum / n;
    r.owdAvgMs = mean / 1e6;
    r.owdStdMs = owd.size() > 1 ? std::sqrt(std::max(0.0, sumSq / n - mean * mean)) / 1e6 : 0;
    r.owdMinMs = ms(*std::min_element(owd.begin(), owd.end()));
    r.owdMaxMs = ms(*std::max_element(owd.begin(), owd.end()));
    r.owdP10Ms = ms(quantile(owd, 0.10));
    r.owdP25Ms = ms(quantile(owd, 0.25));
    r.owdP50Ms = ms(quantile(owd, 0.50));
    r.owdP75Ms = ms(quantile(owd, 0.75));
    r.owdP90Ms = ms(quantile(owd, 0.90));
    r.owdP95Ms = ms(quantile(owd, 0.95));
    r.owdP99Ms = ms(quantile(owd, 0.99));
  }
  if (r.received > 1 && rxLast > rxFirst) {
    r.rateBps = bytes * 8e9 / static_cast<double>(rxLast - rxFirst);
  }
  return r;
}

}  // namespace braid::wanem
