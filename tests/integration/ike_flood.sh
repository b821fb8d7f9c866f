#!/usr/bin/env bash
# IKE_SA_INIT flood at a running braidd responder (RFC 7296 2.6, RFC 8019), default limits.
# braidd B answers IKE_SA_INIT from any address (remote_address "%any", as a hub does).
# From gwA's namespace, ike_flood.py sends FLOOD_RATE spoofed IKE_SA_INIT per second for
# FLOOD_SECS seconds from random addresses in 10.77.0.0/16 (raw socket, forged sources; the
# answers are blackholed in gwA, so the attacker never returns a cookie). While it runs, a
# legitimate braidd A (10.99.0.1) starts and must bring up its tunnel through the cookie
# challenge. Measured and printed: braidd B's RSS before / during (max) / after, its CPU time,
# datagrams received, cookies sent; asserted: B alive, RSS bounded, cookies sent, half-open
# SAs held at the cookie threshold, A up during the flood, a ping through the tunnel.
#   ike_flood.sh [RATE [SECS [PEER]]]   (default 5000 per second for 10 s, PEER braid)
# PEER "strongswan": the legitimate initiator in gwA is strongSwan's charon instead of braidd
# (kernel-libipsec, ESP-in-UDP; needs the interop recipe, like tests/interop; label interop).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../support/netns.sh"
. "$HERE/dataplane_lib.sh"
. "$HERE/ike_lib.sh"
FLOOD_RATE=${1:-5000}
FLOOD_SECS=${2:-10}
PEER=${3:-braid}
FLOOD_NET=10.77.0.0/16
COOKIE_THRESHOLD=20  # ike::ResponderLimits' default (braidd B runs without [ike] limits)

nn_init
[ -x "$BRAIDD" ] || nn_die "braidd not built: $BRAIDD"
command -v python3 >/dev/null || nn_die "python3 missing"
case $PEER in
  braid) ;;
  strongswan) . "$HERE/../interop/interop_lib.sh"; ss_check_deps ;;
  *) nn_die "unknown peer $PEER" ;;
esac
dp_topology
# Spoofed sources: B routes its answers back towards gwA, which drops them silently.
nn_exec gwB sysctl -qw net.ipv4.conf.wan0.rp_filter=0
nn_exec gwB ip route add $FLOOD_NET via 10.99.0.1
nn_exec gwA ip route add blackhole $FLOOD_NET

COMMON=('proposals = "aes256gcm16-prfsha256-x25519"' 'retransmit_timeout = 0.5'
        'retransmit_base = 1.5' 'retransmit_tries = 4' 'retry_initial = 1' 'retry_max = 2'
        "psk = \"$IKE_PSK\"")
ike_config A "${COMMON[@]}" 'local_id = "gwA.lab"' 'remote_id = "gwB.lab"' >"$NN_TMP/a.toml"
IKE_REMOTE_ADDRESS="%any" ike_config B "${COMMON[@]}" 'local_id = "gwB.lab"' \
  'remote_id = "gwA.lab"' 'initiate = false' >"$NN_TMP/b.toml"
dp_check_configs
dp_start B "$NN_TMP/b.toml"
B_PID=${DP_PID[B]}
if [ "$PEER" = strongswan ]; then
  # charon in gwA, idle until told to initiate (during the flood).
  SS=$NN_TMP/charonA
  ss_conf "$SS" 1
  ss_start "$(nn gwA)" "$SS"
  NN_PIDS+=("$LAB_LAST_PID")
  io_swanctl_conf flood A init psk aes256gcm16-prfsha256-x25519 aes256gcm16 "$IKE_PSK" \
    gwA.lab gwB.lab 10.98.1.0/24 10.98.2.0/24 yes >"$SS/swanctl/swanctl.conf"
  ss_load "$SS" >/dev/null
fi

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }  # kB
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
HZ=$(getconf CLK_TCK)

sleep 1
RSS0=$(rss "$B_PID")
CPU0=$(cpu_ticks "$B_PID")
nn_log "braidd B before the flood: RSS $RSS0 kB"

# RSS samples every 0.2 s while B runs (a background loop; killed at cleanup by PID).
( while kill -0 "$B_PID" 2>/dev/null; do rss "$B_PID"; sleep 0.2; done ) >"$NN_TMP/rss" 2>/dev/null &
NN_PIDS+=("$!")

nn_log "flood: $FLOOD_RATE IKE_SA_INIT/s for $FLOOD_SECS s from $FLOOD_NET"
T0=$(date +%s%N)
nn_bg gwA "$NN_TMP/flood.log" python3 "$HERE/ike_flood.py" 10.99.0.2 "$FLOOD_NET" \
  "$FLOOD_RATE" "$FLOOD_SECS"
FLOOD_PID=$NN_LAST_PID

# The legitimate peer starts once B answers the flood with cookies (the tool needs a moment
# to start on a busy machine).
cookies_flowing() { dp_refresh B && [ "$(dp_counter B ike.cookies_sent)" -gt 0 ]; }
nn_check "braidd B answers the flood with cookies" nn_wait_for 5 cookies_flowing
sleep 1
TA=$(date +%s%N)
if [ "$PEER" = braid ]; then
  dp_start A "$NN_TMP/a.toml"
  nn_check "gwA: Child SA installed during the flood" ike_wait_up A $((FLOOD_SECS - 4))
else
  ss_initiate() { ss_swanctl "$SS" --initiate --child net --timeout $1 >"$NN_TMP/initiate.out" 2>&1; }
  nn_check "gwA: strongSwan's Child SA installed during the flood" ss_initiate $((FLOOD_SECS - 4))
fi
UP_MS=$(( ($(date +%s%N) - TA) / 1000000 ))
nn_check "the flood was still running when A came up (${UP_MS} ms after A started)" \
  kill -0 "$FLOOD_PID"
dp_refresh B
DURING_HALF_OPEN=$(dp_counter B ike.half_open) DURING_SAS=$(dp_counter B ike.ike_sas)
nn_log "braidd B during the flood: half_open=$DURING_HALF_OPEN ike_sas=$DURING_SAS cookies_sent=$(dp_counter B ike.cookies_sent)"
nn_check "ping LAN A -> LAN B through the tunnel during the flood" \
  nn_exec lanA ping -q -c 3 -i 0.2 -W 2 10.98.2.2

wait "$FLOOD_PID"
FLOOD_MS=$(( ($(date +%s%N) - T0) / 1000000 ))
CPU1=$(cpu_ticks "$B_PID")
sleep 2
RSS_MAX=$(sort -n "$NN_TMP/rss" | tail -1)
RSS1=$(rss "$B_PID")
fv() { awk -v k="$1" '$1 == k { print $2 }' "$NN_TMP/flood.log"; }
SENT=$(fv sent)
dp_refresh B
RECV=$(dp_counter B ike.datagrams_received)
COOKIES=$(dp_counter B ike.cookies_sent)
CPU_MS=$(( (CPU1 - CPU0) * 1000 / HZ ))
nn_log "flood sent $SENT IKE_SA_INIT in $(fv seconds) s from $(fv sources) addresses"
nn_log "braidd B: datagrams_received=$RECV cookies_sent=$COOKIES cookies_valid=$(dp_counter B ike.cookies_valid) cookies_invalid=$(dp_counter B ike.cookies_invalid) drop.init_rate=$(dp_counter B ike.drop.init_rate) drop.half_open_cap=$(dp_counter B ike.drop.half_open_cap) drop.half_open_per_source=$(dp_counter B ike.drop.half_open_per_source) half_open=$(dp_counter B ike.half_open) ike_sas=$(dp_counter B ike.ike_sas) log_suppressed=$(dp_counter B ike.log_suppressed) send_errors=$(dp_counter B ike.send_errors)"
nn_log "braidd B: CPU ${CPU_MS} ms over the ${FLOOD_MS} ms flood; RSS before ${RSS0} kB, max during ${RSS_MAX} kB, after ${RSS1} kB; log $(wc -l <"$NN_TMP/braiddB.log") lines"
nn_exec gwB nstat -az UdpRcvbufErrors 2>/dev/null | awk 'NR > 1 { printf "%s=%s ", $1, $2 } END { print "" }' >"$NN_TMP/udp"
nn_log "gwB kernel: $(cat "$NN_TMP/udp")"

nn_check "flood sent at least half its target ($SENT of $((FLOOD_RATE * FLOOD_SECS)))" \
  test "${SENT:-0}" -ge $((FLOOD_RATE * FLOOD_SECS / 2))
nn_check "braidd B still running" dp_alive B
nn_check "cookies sent ($COOKIES) for most of the flood received ($RECV)" \
  test "$COOKIES" -ge 1000 -a "$COOKIES" -ge $((RECV / 2))
nn_check "A passed the cookie challenge (cookies_valid $(dp_counter B ike.cookies_valid))" \
  test "$(dp_counter B ike.cookies_valid)" -ge 1
nn_check "half-open SAs held at the cookie threshold during the flood ($DURING_HALF_OPEN <= $((COOKIE_THRESHOLD + 1)))" \
  test "$DURING_HALF_OPEN" -le $((COOKIE_THRESHOLD + 1))
nn_check "RSS during the flood bounded (max $RSS_MAX kB <= 2 x $RSS0 + 20 MB)" \
  test "$RSS_MAX" -le $((2 * RSS0 + 20480))
nn_check "RSS after the flood bounded ($RSS1 kB)" test "$RSS1" -le $((2 * RSS0 + 20480))
nn_check "B's log stayed short (rate-limited)" test "$(wc -l <"$NN_TMP/braiddB.log")" -le 300
if [ "$PEER" = braid ]; then
  nn_check "gwA: tunnel still up after the flood" ike_wait_up A 2
  nn_check "braidd A exits 0" dp_stop A
else
  nn_check "gwB: the Child SA with strongSwan is up after the flood" ike_wait_up B 2
fi
nn_check "braidd B exits 0" dp_stop B
if [ "$NN_FAILS" -gt 0 ]; then
  nn_log "braidd B log (last 30 lines):"
  tail -30 "$NN_TMP/braiddB.log" >&2
  if [ "$PEER" = braid ]; then
    nn_log "braidd A log (last 30 lines):"
    tail -30 "$NN_TMP/braiddA.log" >&2
  else
    nn_log "charon log (last 30 lines):"
    tail -30 "$SS/charon.log" >&2
  fi
fi
nn_finish
