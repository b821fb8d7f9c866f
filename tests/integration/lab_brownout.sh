#!/usr/bin/env bash
# Multipath acceptance, brownout and FEC (issue 12):
#   1. Brownout: 8 % random loss on fiber for 10 s while voice (50 packets/s) runs on it.
#      Voice must move to broadband within 2 s of the loss starting (its SLA allows 3 %),
#      and back to fiber after the loss ends and the hold-down has passed.
#   2. FEC: 3 % random loss on fiber; the class "video" stays on fiber (no SLA) with
#      fec = "auto" (XOR parity over k packets, k from the measured loss, the parity on
#      broadband). Delivered loss must stay under 0.5 %; the byte overhead is reported.
#   3. Carrier loss on A's fiber (netlink link event): voice moves within ~one packet gap.
# Figures: docs/performance.md "Brownout" and "FEC". Skipped (77) only until edge/braidd
# is built.
SRC=${BRAID_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/tests/support/netns.sh"
. "$SRC/deploy/lab/lab-lib.sh"
. "$SRC/tests/integration/lab_failover_lib.sh"
export LAB_BRAIDD=${LAB_BRAIDD:-${BRAID_BUILD_DIR:-/nonexistent}/edge/braidd}
if [ ! -x "$LAB_BRAIDD" ]; then echo "SKIP: $LAB_BRAIDD not built"; exit 77; fi
nn_init
lab_up
nn_check "lab links: fiber 4 ms, broadband 25 ms" mp_links

P=$LAB_STATE_DIR/policy-brownout.toml
mp_policy "$P" 20 <<'EOF'
[[class]]
name = "voice"
priority = "realtime"
mode = "steer"
prefer = ["fiber", "broadband"]
metered = "never"
[class.sla]
max_rtt_ms = 150
max_jitter_ms = 30
max_loss = 0.03

[[class]]
name = "video"
priority = "business"
mode = "steer"
prefer = ["fiber", "broadband"]
metered = "never"
fec = "auto"
fec_loss = 0.01

[[rule]]
class = "video"
protocol = "udp"
dst_ports = ["6000-6100"]
EOF
mp_up "braidd up: voice (SLA loss 3 %) and video (FEC auto) on fiber" "$P" || nn_finish

# 1. Brownout. A background job sets the loss 3 s into the stream and clears it 10 s later,
# writing both CLOCK_REALTIME instants; killed by PID on every exit path.
BROWN=
nn_on_cleanup '[ -n "$BROWN" ] && nn_kill_pid "$BROWN"'
(
  sleep 3
  lab_wanem set fiber loss=8% >/dev/null
  t0=$(date +%s%N)
  sleep 10
  lab_wanem set fiber loss=0% >/dev/null
  echo "$t0 $(date +%s%N)" >"$LAB_STATE_DIR/brown-times"
) &
BROWN=$!
R=$(mp_voice 5550 1400)
wait "$BROWN"
BROWN=
read -r T0 T1 <"$LAB_STATE_DIR/brown-times"
# move_ms: from the loss start to the first of 10 deliveries in a row over broadband;
# back_ms: from the loss end to the first of 5 in a row over fiber again; mid_fiber: share
# of deliveries over fiber from 3 s after the loss started to its end.
eval "$(awk -v thr="$MP_FIBER_OWD_MS" -v t0="$T0" -v t1="$T1" '
  /^#/ { next }
  !($1 in seen) { seen[$1] = 1; n++; rx[n] = $2; fib[n] = ($3 / 1e6 < thr) }
  END {
    move = -1; back = -1; m = 0; mf = 0
    for (i = 1; i <= n; i++) {
      if (move < 0 && rx[i] >= t0 && i + 9 <= n) {
        ok = 1; for (j = i; j <= i + 9; j++) if (fib[j]) ok = 0
        if (ok) move = (rx[i] - t0) / 1e6
      }
      if (back < 0 && rx[i] >= t1 && i + 4 <= n) {
        ok = 1; for (j = i; j <= i + 4; j++) if (!fib[j]) ok = 0
        if (ok) back = (rx[i] - t1) / 1e6
      }
      if (rx[i] >= t0 + 3e9 && rx[i] < t1) { m++; mf += fib[i] }
    }
    printf "move_ms=%.0f back_ms=%.0f mid_n=%d mid_fiber=%d\n", move, back, m, mf
  }' "$(mp_dump 5550)")"
echo "brownout (fiber 8 % loss for 10 s): voice moved to broadband after $move_ms ms," \
  "back on fiber $back_ms ms after the loss ended; over fiber while lossy: $mid_fiber of $mid_n;" \
  "voice lost $(kv lost <<<"$R") of 1400, dup $(kv dup <<<"$R"); load $(mp_load)"
nn_check "voice left the lossy fiber within 2 s ($move_ms ms)" fcmp "$move_ms >= 0 && $move_ms <= 2000"
nn_check "voice stayed off fiber while it was lossy ($mid_fiber of $mid_n)" \
  fcmp "$mid_n > 100 && $mid_fiber <= $mid_n / 20"
# Back needs the lossy probes out of fiber's window: 100 probes, sent at the idle rate
# (idle_interval_ms = 100) while fiber carries nothing, so up to ~10 s, then the hold-down.
nn_check "voice back on fiber after the hold-down, within 15 s ($back_ms ms)" \
  fcmp "$back_ms >= 1000 && $back_ms <= 15000"
nn_check "no voice packet delivered twice" [ "$(kv dup <<<"$R")" = 0 ]

# 2. FEC. The loss runs 3 s first so that the path monitor measures it and FEC is on.
nn_check "fiber: 3 % random loss" eval "lab_wanem set fiber loss=3% >/dev/null"
sleep 3
bash "$LAB_SH" tunnel status >/dev/null 2>&1
p0=$(mp_stat a tx.fec_parity); r0=$(mp_stat b rx.fec_recovered)
fb0=$(mp_bytes fiber:ab); bb0=$(mp_bytes broadband:ab)
N=3000
R=$(LAB_PROBE_IDLE=1500ms lab_probe a-lan b-lan 10.10.2.10 6000 --pps 200 --count "$N" --size 1000)
fb=$(( $(mp_bytes fiber:ab) - fb0 )); bb=$(( $(mp_bytes broadband:ab) - bb0 ))
bash "$LAB_SH" tunnel status >/dev/null 2>&1
parity=$(( $(mp_stat a tx.fec_parity) - p0 )); recovered=$(( $(mp_stat b rx.fec_recovered) - r0 ))
lost=$(kv lost <<<"$R")
loss_pct=$(awk -v l="$lost" -v n="$N" 'BEGIN { printf "%.2f", 100 * l / n }')
over=$(awk -v b="$bb" -v f="$fb" 'BEGIN { printf "%.1f", (f > 0 ? 100 * b / f : 0) }')
echo "FEC (fiber 3 % loss, 200 packets/s of 1000 bytes): delivered loss $lost of $N ($loss_pct %)," \
  "$recovered rebuilt from $parity parities; bytes on broadband (parity, probes) $bb =" \
  "$over % of fiber's $fb; load $(mp_load)"
# The target is 0.5 %; k is sized for 0.2 % (measured 0.10 %, docs/performance.md), so the
# target is the bound (k sized from a lower loss reading gave 0.97 % once: this catches it).
nn_check "FEC kept the delivered loss under 0.5 % ($loss_pct %, 3 % without)" fcmp "$loss_pct < 0.5"
nn_check "packets were rebuilt from parities ($recovered)" fcmp "$recovered > 20"
nn_check "no video packet delivered twice" [ "$(kv dup <<<"$R")" = 0 ]

# 3. Carrier loss: the WAN end of A's fiber access link goes down (a pulled cable: fiber0
# stays administratively up, loses IFF_LOWER_UP). braidd learns it from netlink and moves
# voice at once instead of after missed probes; the carrier comes back 2 s later.
nn_check "fiber: loss off" eval "lab_wanem set fiber loss=0% >/dev/null"
sleep 2
mp_bg_cut carrier 2 2000
R=$(mp_voice 5560 300)
mp_wait_cut
eval "$(mp_timeline "$(mp_dump 5560)")"
echo "carrier loss on A's fiber: voice gap $failover_gap_ms ms (fiber to broadband $bb_ms ms)," \
  "lost $(kv lost <<<"$R") of 300; load $(mp_load)"
nn_check "braidd logged the carrier loss (netlink)" \
  grep -q "uplink fiber: link down or address removed (netlink)" "$LAB_STATE_DIR/braidd-a.log"
nn_check "fiber's paths went down by link_down" \
  grep -q "path site-b/fiber: .*-> down (link_down" "$LAB_STATE_DIR/braidd-a.log"
# Broadband is 21 ms slower and packets are 20 ms apart: ~41 ms plus scheduling.
nn_check "voice gap at the carrier loss <= 100 ms ($failover_gap_ms ms)" \
  fcmp "$failover_gap_ms > 0 && $failover_gap_ms <= 100"
nn_finish
