#!/usr/bin/env bash
# Multipath acceptance, priority (issue 12): fiber set to 50 Mbit/s (the emulator's queue of
# 1000 packets stands for the modem's buffer), voice (realtime, 50 packets/s) and four bulk
# TCP flows LAN A -> LAN B on it, first with fiber not shaped, then with `shape = true` on
# both sites (braidd sends at 95 % of egress_kbps, strict priority for realtime):
#   - shaped, voice's one-way delay under load stays near its idle value (target p99 within
#     3 ms; the test's bound is looser for a loaded 2-core VM);
#   - shaped, bulk keeps most of what it gets unshaped (target >= 90 % of the link);
#   - the saturated path is never declared dead, and voice loses (almost) nothing.
# Figures: docs/performance.md "Priority". Skipped (77) only until edge/braidd is built.
SRC=${BRAID_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/tests/support/netns.sh"
. "$SRC/deploy/lab/lab-lib.sh"
. "$SRC/tests/integration/lab_failover_lib.sh"
export LAB_BRAIDD=${LAB_BRAIDD:-${BRAID_BUILD_DIR:-/nonexistent}/edge/braidd}
if [ ! -x "$LAB_BRAIDD" ]; then echo "SKIP: $LAB_BRAIDD not built"; exit 77; fi
SECS=${PRIO_SECS:-10}
# Honest bounds for a loaded 2-core VM; the measured figures are in docs/performance.md.
MAX_P99_RISE_MS=${PRIO_MAX_P99_RISE_MS:-8}
MIN_BULK_SHARE=${PRIO_MIN_BULK_SHARE:-0.85}
nn_init
lab_up

prio_links() {
  lab_wanem set fiber reset delay=4ms jitter=0.5ms rate=50mbit >/dev/null &&
    lab_wanem set broadband reset delay=25ms jitter=1ms rate=100mbit >/dev/null
}
nn_check "lab links: fiber 4 ms at 50 Mbit/s, broadband 25 ms" prio_links

P=$LAB_STATE_DIR/policy-priority.toml
mp_policy "$P" 20 <<'EOF'
[[class]]
name = "voice"
priority = "realtime"
mode = "steer"
prefer = ["fiber", "broadband"]

[[class]]
name = "bulk"
priority = "bulk"
mode = "steer"
prefer = ["fiber", "broadband"]

[[rule]]
class = "bulk"
protocol = "tcp"
EOF
export MP_FIBER_KBPS=50000

kv() { awk -F= -v k="$1" '$1 == k {print $2}'; }

# run_case LABEL: voice alone, then voice under 4 bulk flows; sets IDLE_P99, LOAD_P50,
# LOAD_P99, LOAD_LOST, BULK (Mbit/s), DEATHS (both sites), NO_PATH, QFULL.
run_case() {
  local label=$1 idle load srv deaths0
  idle=$(mp_voice 5510 150)
  IDLE_P50=$(kv owd_p50_ms <<<"$idle"); IDLE_P99=$(kv owd_p99_ms <<<"$idle")
  bash "$LAB_SH" tunnel status >/dev/null 2>&1
  deaths0=$(($(mp_stat a paths.deaths) + $(mp_stat b paths.deaths)))
  nn_bg b-lan "$NN_TMP/iperf-s-$label.log" iperf3 -s -1 -p 5201
  srv=$NN_LAST_PID
  nn_wait_for 5 bash -c "ss -N $(lab_ns b-lan) -ltnH 'sport = :5201' | grep -q ." ||
    nn_log "iperf3 server did not start"
  lab_exec a-lan iperf3 -c 10.10.2.10 -p 5201 -P 4 -t "$SECS" -J >"$NN_TMP/iperf-$label.json" \
    2>"$NN_TMP/iperf-$label.err" &
  local cli=$!
  sleep 2  # TCP at full rate first
  load=$(mp_voice 5511 $(((SECS - 4) * 50)))
  wait "$cli"
  nn_kill_pid "$srv"
  LOAD_P50=$(kv owd_p50_ms <<<"$load"); LOAD_P99=$(kv owd_p99_ms <<<"$load")
  LOAD_LOST=$(kv lost <<<"$load")
  BULK=$(python3 - "$NN_TMP/iperf-$label.json" <<'PY'
import json, sys
try:
    print("%.1f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception:
    print("0")
PY
)
  bash "$LAB_SH" tunnel status >/dev/null 2>&1
  DEATHS=$(($(mp_stat a paths.deaths) + $(mp_stat b paths.deaths) - deaths0))
  NO_PATH=$(mp_stat a tx.drop.no_path)
  QFULL=$(mp_stat a tx.drop.queue_full)
  SHAPED_BULK=$(mp_stat a tx.shaper.bulk.sent) SHAPED_VOICE=$(mp_stat a tx.shaper.realtime.sent)
  echo "$label: voice idle p50/p99 $IDLE_P50/$IDLE_P99 ms; under 4 bulk flows p50/p99" \
    "$LOAD_P50/$LOAD_P99 ms, $LOAD_LOST lost; bulk $BULK Mbit/s; path deaths $DEATHS;" \
    "no_path $NO_PATH, queue_full $QFULL; load $(mp_load)"
  echo "  $(mp_stats a | grep -E '^path\.fiber\.(deaths|suspicions|rtt)' | tr '\n' ' ')"
}

mp_up "braidd up: fiber 50 Mbit/s, not shaped" "$P" || nn_finish
run_case unshaped
U_BULK=$BULK U_P99=$LOAD_P99
nn_check "unshaped: bulk TCP ran ($U_BULK Mbit/s)" fcmp "$U_BULK > 20"

export MP_FIBER_EXTRA="shape = true"
mp_up "braidd up: fiber shaped (shape = true, egress_kbps = 50000)" "$P" || nn_finish
run_case shaped
share=$(awk -v a="$BULK" -v b="$U_BULK" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
rise=$(awk -v a="$LOAD_P99" -v b="$IDLE_P99" 'BEGIN { printf "%.1f", a - b }')
echo "shaped: voice p99 rose ${rise} ms (unshaped under load: $U_P99 ms); bulk ${share}x unshaped"
nn_check "shaped: voice p99 under load within ${MAX_P99_RISE_MS} ms of idle (+${rise} ms)" \
  fcmp "$rise <= $MAX_P99_RISE_MS"
nn_check "shaped: bulk keeps ${share}x of its unshaped goodput (>= ${MIN_BULK_SHARE})" \
  fcmp "$share >= $MIN_BULK_SHARE"
nn_check "shaped: no path declared dead under saturation ($DEATHS)" test "$DEATHS" -eq 0
# 0 lost in every measured run; a busier machine may lose one to a late receiver.
nn_check "shaped: voice loss under load at most 3 of $(((SECS - 4) * 50)) ($LOAD_LOST)" \
  test "${LOAD_LOST:-99}" -le 3
nn_check "shaped: bulk and voice went through the shaper ($SHAPED_BULK, $SHAPED_VOICE packets)" \
  test "$SHAPED_BULK" -gt 10000 -a "$SHAPED_VOICE" -ge $(((SECS - 4) * 50))
nn_finish
