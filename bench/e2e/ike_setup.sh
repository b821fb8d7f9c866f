#!/usr/bin/env bash
# bench/e2e/ike_setup.sh - IKE SA + first Child SA setup time, strongSwan vs braid, one run.
#
# strongSwan: two charons (kernel-libipsec) in the lab's namespaces (lanA-gwA==gwB-lanB from
# the interop lab.sh), IKEv2 aes256gcm16-prfsha256-<group>, ESP aes256gcm16, encap = yes;
# each setup timed from the initiator log's "initiating IKE_SA" to "CHILD_SA ... established"
# (charon's own 1 ms timestamps), N setups per mode, median - as
# shared/interop/strongswan-pair.sh measures it.
# braid: build/*/bench/ike_setup_bench, setup/<auth>/<group>: two SaManagers in one process
# over UDP on 127.0.0.1, from initiate() until the Child SA is up on both sides; N
# repetitions of Google Benchmark's default run, median.
# Modes alternate (strongSwan, then braid, per mode) so that machine noise hits both alike.
# Prints both, braid's setups/s and the ratio strongSwan / braid.
#
# Usage: sudo bench/e2e/ike_setup.sh [--runs N] [--modes psk,ecdsa,rsa] [--group G]
#                                    [--bench PATH] [--keep]
# Env:   EST_RUNS=5  IKE_SETUP_MODES=psk,ecdsa  IKE_GROUP=x25519 (or ecp256)
#        IKE_SETUP_BENCH=path/to/ike_setup_bench  BRAID_INTEROP_DIR=path/to/shared/interop
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

RUNS=${EST_RUNS:-5}
MODES=${IKE_SETUP_MODES:-psk,ecdsa}
GROUP=${IKE_GROUP:-x25519}
BENCH=${IKE_SETUP_BENCH:-}
usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=${2:?--runs needs a number}; shift ;;
    --modes) MODES=${2:?--modes needs a list}; shift ;;
    --group) GROUP=${2:?--group needs x25519 or ecp256}; shift ;;
    --bench) BENCH=${2:?--bench needs a path}; shift ;;
    --keep) export LAB_KEEP=1 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown option $1" >&2; usage 2 ;;
  esac
  shift
done
MODES=${MODES//,/ }
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "--runs must be a positive integer" >&2; exit 2; }
case $GROUP in x25519|ecp256) ;; *) echo "--group must be x25519 or ecp256" >&2; exit 2 ;; esac
for m in $MODES; do
  case $m in psk|ecdsa|rsa) ;; *) echo "unknown mode '$m' (psk, ecdsa, rsa)" >&2; exit 2 ;; esac
done

# The interop lab's helpers (read-only; sourced, never changed).
INTEROP=${BRAID_INTEROP_DIR:-}
if [ -z "$INTEROP" ]; then
  for d in "$REPO/../shared/interop" /work/shared/interop; do
    [ -f "$d/lib.sh" ] && { INTEROP=$d; break; }
  done
fi
[ -n "$INTEROP" ] && [ -f "$INTEROP/lib.sh" ] || {
  echo "interop lab.sh not found (set BRAID_INTEROP_DIR)" >&2; exit 2; }
# Our own namespace prefix, so that the interop scripts or another run never collide.
LAB_PREFIX=ikb$$-
. "$INTEROP/lib.sh"

if [ -z "$BENCH" ]; then
  for b in "$REPO"/build/*/bench/ike_setup_bench; do   # the newest, not asan/fuzz builds
    case $b in *asan*|*fuzz*) continue ;; esac
    [ -x "$b" ] && { [ -z "$BENCH" ] || [ "$b" -nt "$BENCH" ]; } && BENCH=$b
  done
fi
[ -n "$BENCH" ] && [ -x "$BENCH" ] || lab_die "ike_setup_bench not found: cmake --build <dir> --target ike_setup_bench, or --bench PATH"
command -v python3 >/dev/null || lab_die "python3 missing"
lab_require_root; ss_check_deps
lab_mktmp; lab_trap   # from here on every exit path kills our charons and deletes our netns
A=$LAB_TMP/gwA; B=$LAB_TMP/gwB
PSK=lab-psk-0123456789abcdef0123456789abcdef

# swanctl.conf for one side: write_swanctl DIR MODE ME PEER MY_ADDR PEER_ADDR MY_TS PEER_TS
write_swanctl() {
  local dir=$1 mode=$2 me=$3 peer=$4 myaddr=$5 peeraddr=$6 myts=$7 peerts=$8
  local localauth remoteauth
  rm -f "$dir"/swanctl/x509/* "$dir"/swanctl/x509ca/* "$dir"/swanctl/private/*
  if [ "$mode" = psk ]; then
    localauth="auth = psk"
    remoteauth="auth = psk"
  else
    cp "$LAB_TMP/pki-$mode/ca.pem" "$dir/swanctl/x509ca/ca.pem"
    cp "$LAB_TMP/pki-$mode/$me.pem" "$dir/swanctl/x509/$me.pem"
    cp "$LAB_TMP/pki-$mode/$me.key" "$dir/swanctl/private/$me.key"
    localauth="auth = pubkey
      certs = $me.pem"
    remoteauth="auth = pubkey
      cacerts = ca.pem"
  fi
  cat >"$dir/swanctl/swanctl.conf" <<EOF
connections {
  lab {
    version = 2
    local_addrs = $myaddr
    remote_addrs = $peeraddr
    encap = yes
    mobike = no
    proposals = aes256gcm16-prfsha256-$GROUP
    local {
      $localauth
      id = $me
    }
    remote {
      $remoteauth
      id = $peer
    }
    children {
      net {
        local_ts = $myts
        remote_ts = $peerts
        esp_proposals = aes256gcm16
        mode = tunnel
        start_action = none
      }
    }
  }
}
secrets {
  ike-lab {
    id-a = gwA.lab
    id-b = gwB.lab
    secret = "$PSK"
  }
}
EOF
}

# strongSwan: RUNS setups of one mode; sets SS_MEDIAN (ms) and SS_ALL.
strongswan_mode() {
  local mode=$1 i out uid ms vals=()
  if [ "$mode" != psk ]; then
    local type=ecdsa; [ "$mode" = rsa ] && type=rsa
    ss_pki_ca "$LAB_TMP/pki-$mode" "$type"
    ss_pki_issue "$LAB_TMP/pki-$mode" "$type" gwA.lab
    ss_pki_issue "$LAB_TMP/pki-$mode" "$type" gwB.lab
  fi
  write_swanctl "$A" "$mode" gwA.lab gwB.lab 10.99.0.1 10.99.0.2 10.98.1.0/24 10.98.2.0/24
  write_swanctl "$B" "$mode" gwB.lab gwA.lab 10.99.0.2 10.99.0.1 10.98.2.0/24 10.98.1.0/24
  ss_load "$A" >"$LAB_TMP/load-A-$mode.txt" || lab_die "swanctl --load-all (gwA, $mode)"
  ss_load "$B" >"$LAB_TMP/load-B-$mode.txt" || lab_die "swanctl --load-all (gwB, $mode)"
  for i in $(seq 1 "$RUNS"); do
    out=$(ss_swanctl "$A" --initiate --ike lab --child net --timeout 20 2>&1)
    if [ $? -ne 0 ] || ! echo "$out" | grep -q "CHILD_SA net{.*} established"; then
      echo "$out" | tail -20 >&2
      lab_die "strongSwan initiate failed (mode $mode, run $i)"
    fi
    uid=$(echo "$out" | sed -n 's/.*initiating IKE_SA lab\[\([0-9]*\)\].*/\1/p' | head -1)
    sleep 0.2  # the log line is flushed by then
    ms=$(ss_log_setup_ms "$A/charon.log" lab "$uid")
    [ "$ms" = nan ] && lab_die "no setup time in gwA's charon.log for IKE_SA lab[$uid]"
    vals+=("$ms")
    ss_swanctl "$A" --terminate --ike lab --timeout 10 >/dev/null 2>&1
    sleep 0.3
  done
  SS_ALL="${vals[*]}"
  SS_MEDIAN=$(printf '%s\n' "${vals[@]}" | lab_median)
}

# braid: RUNS repetitions of setup/<auth>/GROUP; sets BR_MEDIAN (ms), BR_RATE, BR_ALL.
braid_mode() {
  local auth=$1 json=$LAB_TMP/braid-$1.json
  "$BENCH" --benchmark_filter="^setup/$auth/$GROUP/" --benchmark_repetitions="$RUNS" \
    --benchmark_out="$json" --benchmark_out_format=json >"$LAB_TMP/braid-$auth.txt" 2>&1 \
    || { cat "$LAB_TMP/braid-$auth.txt" >&2; lab_die "ike_setup_bench failed ($auth)"; }
  read -r BR_MEDIAN BR_RATE BR_ALL < <(python3 - "$json" <<'PY'
import json, statistics, sys
runs = [b for b in json.load(open(sys.argv[1]))["benchmarks"]
        if b.get("run_type") == "iteration" and not b.get("error_occurred")]
if not runs:
    print("nan nan -"); sys.exit()
scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
ms = [b["real_time"] * scale[b["time_unit"]] for b in runs]
rate = statistics.median(b["setups/s"] for b in runs)
print("%.3f %.0f %s" % (statistics.median(ms), rate, ",".join("%.3f" % v for v in ms)))
PY
)
  [ -z "${BR_MEDIAN:-}" ] || [ "$BR_MEDIAN" = nan ] && { cat "$LAB_TMP/braid-$auth.txt" >&2; lab_die "no braid result ($auth)"; }
  return 0
}

lab_log "namespaces ${LAB_PREFIX}lanA/gwA/gwB/lanB, charons"
lab_topology
ss_conf "$A"; ss_conf "$B"
ss_start "${LAB_PREFIX}gwA" "$A"
ss_start "${LAB_PREFIX}gwB" "$B"
SS_VERSION=$(grep -m1 'Starting IKE charon' "$A/charon.log" | sed 's/.*(\(strongSwan [^,]*\).*/\1/')
lab_log "strongSwan: ${SS_VERSION:-?}; braid: $BENCH"

ROWS=()
for mode in $MODES; do
  case $mode in psk) auth=psk ;; ecdsa) auth=ecdsa-p256 ;; rsa) auth=rsa-3072 ;; esac
  lab_log "mode $mode: strongSwan, $RUNS setups"
  strongswan_mode "$mode"
  echo "strongSwan $mode/$GROUP: setup ms per run: $SS_ALL -> median $SS_MEDIAN ms"
  lab_log "mode $mode: braid setup/$auth/$GROUP, $RUNS repetitions"
  braid_mode "$auth"
  echo "braid      $mode/$GROUP: setup ms per repetition: ${BR_ALL//,/ } -> median $BR_MEDIAN ms ($BR_RATE setups/s)"
  ratio=$(awk -v s="$SS_MEDIAN" -v b="$BR_MEDIAN" 'BEGIN{ if (b > 0) printf "%.1f", s / b; else print "nan" }')
  ROWS+=("$(printf '%-6s %-7s %14s %12s %12s %10s' "$mode" "$GROUP" "$SS_MEDIAN" "$BR_MEDIAN" "$BR_RATE" "${ratio}x")")
done

echo
echo "=== IKE SA + first Child SA setup, median ($RUNS runs each; $(date '+%F %H:%M'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)) ==="
printf '%-6s %-7s %14s %12s %12s %10s\n' mode group strongswan_ms braid_ms braid_setup/s "ss/braid"
printf '%s\n' "${ROWS[@]}"
echo "strongSwan: ${SS_VERSION:-?}, two charons (kernel-libipsec) in namespaces, initiator log timestamps (1 ms resolution)."
echo "braid: $(basename "$BENCH") (two SaManagers, UDP on 127.0.0.1, one thread)."
