#!/usr/bin/env bash
# Delay accuracy of braid-wanem, measured through it: one-way delay of UDP probes at
# ~95 Mbit/s must stay within +-1 ms of the setting; jitter must follow its distribution
# without reordering; ping RTT agrees.
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
nn_check "owd p99 within 20+-1 ms ($(kv owd_p99_ms <<<"$r"))" fcmp "$(kv owd_p99_ms <<<"$r") <= 21"
nn_check "owd avg within 20+-1 ms ($(kv owd_avg_ms <<<"$r"))" fcmp "$(kv owd_avg_ms <<<"$r") <= 21"

# 2. Uniform jitter +-5 ms at 100 pps (gaps >= 2J, so the no-reorder clamp never acts):
#    range [25, 35] ms and standard deviation J/sqrt(3) = 2.89 ms.
lab_wanem set fiber delay=30ms jitter=5ms dist=uniform >/dev/null
r=$(lab_probe a-gw b-gw 172.16.1.2 5002 --pps 100 --count 300)
echo "$r" | grep -E '^owd_' | paste -sd' '
nn_check "uniform: min >= 24.9 ms" fcmp "$(kv owd_min_ms <<<"$r") >= 24.9"
nn_check "uniform: max <= 36 ms" fcmp "$(kv owd_max_ms <<<"$r") <= 36"
nn_check "uniform: stdev 2.89 ms +-20% ($(kv owd_std_ms <<<"$r"))" fcmp "$(kv owd_std_ms <<<"$r") >= 2.31 && $(kv owd_std_ms <<<"$r") <= 3.47"

# 3. Normal jitter: sigma J/2 truncated at +-J has stdev 0.44 J = 2.2 ms.
lab_wanem set fiber dist=normal >/dev/null
r=$(lab_probe a-gw b-gw 172.16.1.2 5003 --pps 100 --count 300)
echo "$r" | grep -E '^owd_' | paste -sd' '
nn_check "normal: within [25, 36] ms" fcmp "$(kv owd_min_ms <<<"$r") >= 24.9 && $(kv owd_max_ms <<<"$r") <= 36"
nn_check "normal: stdev 2.2 ms +-20% ($(kv owd_std_ms <<<"$r"))" fcmp "$(kv owd_std_ms <<<"$r") >= 1.76 && $(kv owd_std_ms <<<"$r") <= 2.64"

# 4. Jitter never reorders unless asked: 2000 pps with +-10 ms jitter.
lab_wanem set fiber delay=20ms jitter=10ms dist=uniform >/dev/null
r=$(lab_probe a-gw b-gw 172.16.1.2 5004 --pps 2000 --count 4000)
nn_check "jitter without reorder=: 0 reordered ($(kv reordered <<<"$r"))" [ "$(kv reordered <<<"$r")" = 0 ]
nn_check "jitter without reorder=: no loss" [ "$(kv lost <<<"$r")" = 0 ]

# 5. ping agrees: 2 x 20 ms.
lab_wanem set fiber delay=20ms jitter=0 >/dev/null
avg=$(lab_exec a-gw ping -c 50 -i 0.01 -q 172.16.1.2 | awk -F/ '/^rtt/ {print $5}')
echo "ping rtt avg $avg ms"
nn_check "ping rtt avg within 40..42 ms ($avg)" fcmp "$avg >= 40 && $avg <= 42"
nn_finish
