// What braid-wanem-probe's receiver reports, computed without I/O from the samples it
// collected, so that tests/unit/lab can check it on hand-made arrivals.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace braid::wanem {

// One datagram as it arrived (in arrival order): the sender's sequence number, the
// receive time (CLOCK_REALTIME ns, the kernel's stamp) and the one-way delay.
struct ProbeSample {
  uint64_t seq = 0;
  int64_t rxNs = 0;
  int64_t owdNs = 0;
  size_t bytes = 0;
};

struct ProbeReport {
  uint64_t received = 0;    // datagrams, duplicates included
  uint64_t unique = 0;      // distinct sequence numbers delivered
  uint64_t expected = 0;    // the sender's count (or the highest sequence + 1)
  uint64_t lost = 0;        // expected - unique
  uint64_t dup = 0;         // deliveries of a sequence number already delivered
  uint64_t reordered = 0;   // first deliveries below the highest sequence seen so far
  uint64_t outOfRange = 0;  // sequence numbers >= expected (counted, otherwise ignored)
  uint64_t bursts = 0;      // runs of consecutive lost sequence numbers
  uint64_t maxBurst = 0;    // the longest such run
  // Delivery gaps: intervals between consecutive first deliveries, ordered by receive
  // time. This is what a voice call hears during a failover, independent of the send
  // rate; a loss burst at the very end of the run is only seen in `lost`.
  double maxGapMs = 0;
  double gapP99Ms = 0;
  double maxGapAtMs = 0;   // start of the longest gap, from the first delivery
  uint64_t maxGapSeq = 0;  // sequence number delivered at the end of the longest gap
  // One-way delay over every delivery (duplicates included).
  double owdMinMs = 0, owdAvgMs = 0, owdMaxMs = 0, owdStdMs = 0;
  double owdP10Ms = 0, owdP25Ms = 0, owdP50Ms = 0, owdP75Ms = 0, owdP90Ms = 0, owdP95Ms = 0,
         owdP99Ms = 0;
  double rateBps = 0;  // IP bytes per second between the first and the last arrival
};

// `senderTotal` is the count each datagram carries (0 if unknown). Sequence numbers at or
// above a known total, or above `maxSeq`, are counted in outOfRange (a bogus datagram must
// not make the receiver allocate gigabytes).
ProbeReport analyzeProbe(const std::vector<ProbeSample>& samples, uint64_t senderTotal,
                         uint64_t maxSeq = uint64_t{1} << 26);

// Nearest-rank quantile q in [0, 1] of v (reorders v); 0 for an empty v.
int64_t quantile(std::vector<int64_t>& v, double q);

}  // namespace braid::wanem
