#!/usr/bin/env bash
# Multipath acceptance, steer failover (issue 12): voice-like UDP, 50 packets/s (20 ms
# spacing) LAN A -> LAN B through braidd, class voice steered fiber then broadband. Fiber
# is cut (1) by a braid-wanem blackout and (2) by nftables in the WAN namespace dropping
# every frame on the fiber segment, an impairment braid's own emulator does not make. The
# longest delivery gap is measured at 20 ms probes, and reported at 10 ms and 100 ms.
# After the blackout, voice moves back to fiber only once the hold-down has passed.
# Bounds are for a noisy shared 2-core VM; docs/performance.md "Multipath failover" records
# the measured figures and the issue's targets (<= 80 ms at 20 ms probes, <= 40 ms at 10 ms).
# Skipped (77) only until edge/braidd is built; a braidd without multipath fails.
SRC=${BRAID_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/tests/support/netns.sh"
. "$SRC/deploy/lab/lab-lib.sh"
. "$SRC/tests/integration/lab_failover_lib.sh"
export LAB_BRAIDD=${LAB_BRAIDD:-${BRAID_BUILD_DIR:-/nonexistent}/edge/braidd}
if [ ! -x "$LAB_BRAIDD" ]; then echo "SKIP: $LAB_BRAIDD not built"; exit 77; fi
nn_init
lab_up
nn_check "lab links: fiber 4 ms, broadband 25 ms" mp_links
nn_check "nftables voice-size counters on A's uplinks" mp_count_setup

# voice_policy PROBE_MS [PATHMON_EXTRA] -> policy file
voice_policy() {
  local f=$LAB_STATE_DIR/policy-steer-$1.toml
  mp_policy "$f" "$1" "${2:-}" <<'EOF'
[[class]]
name = "voice"
priority = "realtime"
mode = "steer"
prefer = ["fiber", "broadband"]
duplicate = "never"
metered = "last_resort"
[class.sla]
max_rtt_ms = 150
max_jitter_ms = 30
max_loss = 0.05
EOF
  printf '%s' "$f"
}

# steer PORT PROBE_MS PATHMON_EXTRA CUT LEN_MS: a fresh tunnel (no flap damping carried
# over), 250 voice packets (5 s), fiber cut about 1.2 s into them for LEN_MS by CUT
# (blackout: braid-wanem; nft: nftables). Sets R (receiver report), T (mp_timeline), F, B,
# LTE (voice-size packets each of A's uplinks carried during the run).
steer() {
  local port=$1 ms=$2 extra=$3 cut=$4 len=$5 f0 b0 l0
  mp_up "braidd up, voice steered fiber > broadband, ${ms} ms probes" "$(voice_policy "$ms" "$extra")" || return 1
  f0=$(mp_voice_pkts fiber); b0=$(mp_voice_pkts broadband); l0=$(mp_voice_pkts lte)
  mp_bg_cut "$cut" 1.5 "$len"
  R=$(mp_voice "$port" 250)
  mp_wait_cut
  T=$(mp_timeline "$(mp_dump "$port")")
  F=$(( $(mp_voice_pkts fiber) - f0 )); B=$(( $(mp_voice_pkts broadband) - b0 ))
  LTE=$(( $(mp_voice_pkts lte) - l0 ))
  echo "steer ${ms} ms probes, fiber $cut ${len} ms: longest gap $(kv max_gap_ms <<<"$R") ms" \
    "(p99 $(kv gap_p99_ms <<<"$R")), at the cut $(kv failover_gap_ms <<<"$T") ms, lost $(kv lost <<<"$R") of 250 in $(kv bursts <<<"$R") burst(s)," \
    "dup $(kv dup <<<"$R"), on broadband $(kv bb_ms <<<"$T") ms after the last fiber packet," \
    "back on fiber after $(kv back_ms <<<"$T") ms; voice-size packets fiber $F broadband $B lte $LTE;" \
    "load $(mp_load)"
}

common_checks() {  # common_checks MAX_GAP_MS
  nn_check "voice rode fiber before the cut ($(kv pre_fiber_pct <<<"$T")% of $(kv pre_n <<<"$T") deliveries)" \
    fcmp "$(kv pre_fiber_pct <<<"$T") >= 90"
  nn_check "voice went on over broadband (first after $(kv bb_ms <<<"$T") ms)" \
    fcmp "$(kv bb_ms <<<"$T") > 0"
  nn_check "longest delivery gap <= $1 ms ($(kv max_gap_ms <<<"$R") ms)" \
    fcmp "$(kv max_gap_ms <<<"$R") > 0 && $(kv max_gap_ms <<<"$R") <= $1"
  nn_check "no duplicate delivered ($(kv dup <<<"$R"))" [ "$(kv dup <<<"$R")" = 0 ]
  nn_check "both fiber and broadband carried voice ($F, $B packets)" fcmp "$F >= 50 && $B >= 5"
  # Metered lte is the last resort: no voice while broadband is up (2 allowed for IKE
  # messages of that size; the run is too short for a rekey).
  nn_check "lte carried no voice ($LTE voice-size packets)" fcmp "$LTE <= 2"
}

# 1. 20 ms probes, braid-wanem blackout of 400 ms. Death >= the cut, so with a 1 s hold-down
#    fiber may carry voice again >= 1 s after the last fiber packet before the gap (-4 ms of
#    its delay); without hold-down it would be back about 500 ms after it.
d0=$(lab_get fiber:ab drop_down)
if mp_want 1 && steer 5500 20 "" blackout 400; then
  nn_check "the blackout dropped fiber traffic (drop_down +$(( $(lab_get fiber:ab drop_down) - d0 )))" \
    fcmp "$(lab_get fiber:ab drop_down) - $d0 > 0"
  common_checks 300
  nn_check "lost <= 15 of 250 ($(kv lost <<<"$R"))" fcmp "$(kv lost <<<"$R") <= 15"
  nn_check "back on fiber only after the 1 s hold-down ($(kv back_ms <<<"$T") ms)" \
    fcmp "$(kv back_ms <<<"$T") >= 990"
  nn_check "back on fiber within 2.5 s of the cut, and stays ($(kv post_fiber_pct <<<"$T")%)" \
    fcmp "$(kv back_ms <<<"$T") <= 2500 && $(kv post_fiber_pct <<<"$T") >= 90"
fi

# 2. 20 ms probes, nftables drops everything on the fiber segment for 1 s.
if mp_want 2 && steer 5501 20 "" nft 1000; then
  n=$(cat "$LAB_STATE_DIR/nft-cut-dropped" 2>/dev/null || echo 0)
  nn_check "nftables dropped fiber frames ($n)" fcmp "$n > 0"
  common_checks 300
  nn_check "lost <= 15 of 250 ($(kv lost <<<"$R"))" fcmp "$(kv lost <<<"$R") <= 15"
  nn_check "back on fiber after the cut ($(kv back_ms <<<"$T") ms)" \
    fcmp "$(kv back_ms <<<"$T") >= 990 && $(kv back_ms <<<"$T") <= 3000"
fi

# 3. 10 ms probes (silence floor lowered to 30 ms, docs/multipath.md 2.3): reported; the
#    same honest bound.
if mp_want 3 && steer 5502 10 "silence_floor_ms = 30" blackout 400; then common_checks 300; fi

# 4. 100 ms probes: detection deadline ~300 ms; reported, bounded at 1 s.
if mp_want 4 && steer 5503 100 "" blackout 1000; then common_checks 1000; fi
nn_check "tunnel down" lab tunnel down
nn_finish
