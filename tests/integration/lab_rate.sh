#!/usr/bin/env bash
# Rate accuracy of braid-wanem, measured through it with iperf3 and the probe: received rate
# within +-5% of the setting (the rate counts IP bytes), tail drops counted as drop_queue,
# and queueing delay bounded by the queue limit.
SRC=${BRAID_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/tests/support/netns.sh"
. "$SRC/deploy/lab/lab-lib.sh"
nn_init
lab_up
lab_wanem set broadband reset delay=5ms jitter=0 loss=0 rate=50mbit queue=100 >/dev/null

within() { fcmp "$1 >= $2 * 0.95 && $1 <= $2 * 1.05"; }
# iperf3 at SCHED_FIFO like the probe: on a loaded 2-core machine a normal-priority receiver
# overflows its socket buffer and would measure itself, not the link.
# Each run gets its own port: a one-off server of the previous run may still be exiting
# on a loaded machine, and a client must never talk to it.
IPERF_PORT=5210
iperf() {  # iperf CLIENT_ARGS... : client JSON on stdout
  IPERF_PORT=$((IPERF_PORT + 1))
  lab_exec b-gw chrt -f 5 iperf3 -s -1 -B 172.16.2.2 -p "$IPERF_PORT" -D \
    --logfile "$LAB_STATE_DIR/iperf-server-$IPERF_PORT.log" || return 1
  nn_wait_for 10 lab_exec b-gw sh -c "ss -ltn | grep -q 172.16.2.2:$IPERF_PORT" ||
    { echo "iperf3 server on port $IPERF_PORT did not listen" >&2; return 1; }
  lab_exec a-gw chrt -f 5 iperf3 -c 172.16.2.2 -p "$IPERF_PORT" "$@" -J
}
json() { python3 -c "import json,sys; j=json.load(sys.stdin); print(j$1)"; }

# 1. Probe: 1400-byte datagrams offered at 80 Mbit/s; the received IP rate is the setting.
q0=$(lab_get broadband:ab drop_queue)
r=$(lab_probe a-gw b-gw 172.16.2.2 5201 --rate 80mbit --size 1400 --duration 2s)
rate=$(kv rate_bps <<<"$r"); drops=$(( $(lab_get broadband:ab drop_queue) - q0 ))
echo "probe: received $(awk "BEGIN{printf \"%.2f\", $rate/1e6}") Mbit/s of IP, owd p50 $(kv owd_p50_ms <<<"$r") p95 $(kv owd_p95_ms <<<"$r") p99 $(kv owd_p99_ms <<<"$r") max $(kv owd_max_ms <<<"$r") ms, $drops tail drops"
nn_check "probe rate 50 Mbit/s +-5%" within "$rate" 50e6
nn_check "overload is tail-dropped and counted (drop_queue $drops = lost $(kv lost <<<"$r"))" \
  [ "$drops" = "$(kv lost <<<"$r")" ]
# queue=100 packets of 1428 bytes at 50 Mbit/s drain in 22.8 ms, plus one in service and the
# bucket: delay <= 5 + 23.5 ms. Bounded on p95 (of ~9k packets) with 1.5 ms of slack: a late
# wake-up on a shared VM only adds delay (the maximum met 30.6 ms on a quiet machine, and a
# 130 ms softirq stall under a compile load delays several % of the packets). Without a queue
# bound the delay would grow by ~0.75 s over the 2 s run. The queue is used: under overload
# it stays full, so the median is near the bound (5 + 22.8 ms).
nn_check "queueing delay bounded by the queue limit: p95 <= 28.5+1.5 ms ($(kv owd_p95_ms <<<"$r"))" \
  fcmp "$(kv owd_p95_ms <<<"$r") <= 30"
nn_check "overload fills the queue: p50 >= 5+20 ms ($(kv owd_p50_ms <<<"$r"))" \
  fcmp "$(kv owd_p50_ms <<<"$r") >= 25"

# 2. iperf3 UDP at 80 Mbit/s: goodput = 50 Mbit/s * 1400/1428 = 49.02 Mbit/s.
iperf -u -b 80M -l 1400 -w 4M -t 3 >"$NN_TMP/udp.json" || nn_die "iperf3 udp"
u=$(cat "$NN_TMP/udp.json")
got=$(json "['end']['sum_received']['bits_per_second']" <<<"$u")
echo "iperf3 udp: $(awk "BEGIN{printf \"%.2f\", $got/1e6}") Mbit/s goodput"
nn_check "iperf3 UDP goodput 49.02 Mbit/s +-5%" within "$got" 49.02e6

# 3. iperf3 TCP: goodput = 50 Mbit/s * 1448/1500 = 48.27 Mbit/s.
iperf -t 3 >"$NN_TMP/tcp.json" || nn_die "iperf3 tcp"
t=$(cat "$NN_TMP/tcp.json")
got=$(json "['end']['sum_received']['bits_per_second']" <<<"$t")
echo "iperf3 tcp: $(awk "BEGIN{printf \"%.2f\", $got/1e6}") Mbit/s goodput"
nn_check "iperf3 TCP goodput 48.27 Mbit/s +-5%" within "$got" 48.27e6

# 4. A slow link: 5 Mbit/s.
lab_wanem set broadband rate=5mbit >/dev/null
r=$(lab_probe a-gw b-gw 172.16.2.2 5202 --rate 8mbit --size 1000 --duration 2s)
rate=$(kv rate_bps <<<"$r")
echo "probe at 5mbit: $(awk "BEGIN{printf \"%.3f\", $rate/1e6}") Mbit/s"
nn_check "probe rate 5 Mbit/s +-5%" within "$rate" 5e6
nn_finish
