#!/usr/bin/env bash
# Delay accuracy of braid-wanem, measured through it: one-way delay of UDP probes at
# ~95 Mbit/s must stay within +-1 ms of the setting; jitter must follow its distribution
# without reordering; ping RTT agrees.
# The machine is a shared 2-core VM: a wake-up of the emulator or the probe can come late
# (hypervisor steal, other SCHED_FIFO work, packet processing deferred to ksoftirqd, which is
# SCHED_OTHER), which only ever adds delay. So lower bounds are hard (the emulator never
# releases early) and upper bounds are on percentiles with a tolerance, never on the maximum
# or the stdev. Under a full compile load (load average 15) a stall of up to 130 ms hit 4% of
# one 300-packet run (p99 103 ms, stdev 11.9 ms, median unmoved), so
# tails are bounded at p90/p95, the spread by the interquartile range. Precise figures from a
# quiet machine: docs/lab.md. A broken emulator still fails: no delay (min), double delay
# (p50), a wrong jitter range (p95) or distribution (IQR: J for uniform, 0.64 J for normal).
SRC=${BRAID_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/tests/support/netns.sh"
. "$SRC/deploy/lab/lab-lib.sh"
nn_init
LAB_SEED=${LAB_SEED:-1} lab_up
lab_wanem set fiber reset delay=20ms jitter=0 rate=off >/dev/null

# 1. Fixed delay under load: 95 Mbit/s of 1400-byte datagrams for 2 s.
r=$(lab_probe a-gw b-gw 172.16.1.2 5001 --rate 95mbit --size 1400 --duration 2s)
echo "$r" | grep -E '^(received|expected|owd_|rate_bps)' | paste -sd' '
nn_check "no loss at 95 Mbit/s" [ "$(kv lost <<<"$r")" = 0 ]
nn_check "owd min >= 19.9 ms ($(kv owd_min_ms <<<"$r"))" fcmp "$(kv owd_min_ms <<<"$r") >= 19.9"
nn_check "owd p50 within 20+-1 ms ($(kv owd_p50_ms <<<"$r"))" fcmp "$(kv owd_p50_ms <<<"$r") <= 21 && $(kv owd_p50_ms <<<"$r") >= 19"
# p90, not p99 or the average: one 100 ms stall under 8k pps delays 5% of the packets and
# moves the average by 2.5 ms (quiet machine: p99 20.1 ms).
nn_check "owd p90 <= 20+1 ms ($(kv owd_p90_ms <<<"$r"))" fcmp "$(kv owd_p90_ms <<<"$r") <= 21"

# 2. Uniform jitter +-5 ms at 100 pps (gaps >= 2J, so the no-reorder clamp never acts):
#    range [25, 35] ms, median 30, IQR J = 5 ms, p95 34.5 ms (stdev J/sqrt(3) = 2.89, printed).
iqr() { awk -v a="$(kv owd_p75_ms <<<"$1")" -v b="$(kv owd_p25_ms <<<"$1")" 'BEGIN {printf "%.3f", a - b}'; }
lab_wanem set fiber delay=30ms jitter=5ms dist=uniform >/dev/null
r=$(lab_probe a-gw b-gw 172.16.1.2 5002 --pps 100 --count 300)
echo "$r" | grep -E '^owd_' | paste -sd' '
nn_check "uniform: min >= 24.9 ms" fcmp "$(kv owd_min_ms <<<"$r") >= 24.9"
nn_check "uniform: p50 30+-1 ms ($(kv owd_p50_ms <<<"$r"))" fcmp "$(kv owd_p50_ms <<<"$r") >= 29 && $(kv owd_p50_ms <<<"$r") <= 31"
nn_check "uniform: IQR 5 ms +-20% ($(iqr "$r"))" fcmp "$(iqr "$r") >= 4 && $(iqr "$r") <= 6"
nn_check "uniform: p95 <= 34.5+1.5 ms ($(kv owd_p95_ms <<<"$r"))" fcmp "$(kv owd_p95_ms <<<"$r") <= 36"

# 3. Normal jitter: N(0, (J/2)^2) truncated at +-J: median 30, IQR 1.28 sigma = 3.2 ms,
#    p95 30 + 3.68 ms (stdev 0.44 J = 2.2 ms, printed).
lab_wanem set fiber dist=normal >/dev/null
r=$(lab_probe a-gw b-gw 172.16.1.2 5003 --pps 100 --count 300)
echo "$r" | grep -E '^owd_' | paste -sd' '
nn_check "normal: min >= 24.9 ms" fcmp "$(kv owd_min_ms <<<"$r") >= 24.9"
nn_check "normal: p50 30+-1 ms ($(kv owd_p50_ms <<<"$r"))" fcmp "$(kv owd_p50_ms <<<"$r") >= 29 && $(kv owd_p50_ms <<<"$r") <= 31"
nn_check "normal: IQR 3.2 ms +-20% ($(iqr "$r"))" fcmp "$(iqr "$r") >= 2.56 && $(iqr "$r") <= 3.84"
nn_check "normal: p95 <= 33.7+1.5 ms ($(kv owd_p95_ms <<<"$r"))" fcmp "$(kv owd_p95_ms <<<"$r") <= 35.2"

# 4. Jitter never reorders unless asked: 2000 pps with +-10 ms jitter.
lab_wanem set fiber delay=20ms jitter=10ms dist=uniform >/dev/null
r=$(lab_probe a-gw b-gw 172.16.1.2 5004 --pps 2000 --count 4000)
nn_check "jitter without reorder=: 0 reordered ($(kv reordered <<<"$r"))" [ "$(kv reordered <<<"$r")" = 0 ]
nn_check "jitter without reorder=: no loss" [ "$(kv lost <<<"$r")" = 0 ]

# 5. ping agrees: 2 x 20 ms. The median RTT, not the average (the replies are not at
#    SCHED_FIFO, so one late softirq would move the average of 50).
lab_wanem set fiber delay=20ms jitter=0 >/dev/null
med=$(lab_exec a-gw ping -c 50 -i 0.01 172.16.1.2 |
  sed -n 's/.* time=\([0-9.]*\) ms$/\1/p' | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
echo "ping rtt median $med ms"
nn_check "ping rtt median within 40..42 ms ($med)" fcmp "${med:-0} >= 40 && ${med:-0} <= 42"
nn_finish
