#!/usr/bin/env bash
# Throughput of braid's data plane in the integration topology (not a ctest: figures, not
# assertions). Median of RUNS x SECS iperf3 single TCP stream LAN A -> LAN B per mode.
#   dataplane_perf.sh [CIPHER] [RUNS] [SECS]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../support/netns.sh"
. "$HERE/dataplane_lib.sh"
CIPHER=${1:-aes256gcm16}
RUNS=${2:-3}
SECS=${3:-10}

nn_init
[ -x "$BRAIDD" ] || nn_die "braidd not built: $BRAIDD"
dp_topology
declare -A MODES=(
  [plain]="tun_offload = false|udp_gso = false|udp_gro = false"
  [tun_offload]="udp_gso = false|udp_gro = false"
  [all_offloads]=""
)
for mode in plain tun_offload all_offloads; do
  IFS='|' read -r -a knobs <<<"${MODES[$mode]}"
  dp_config A "$CIPHER" "${knobs[@]}" >"$NN_TMP/a.toml"
  dp_config B "$CIPHER" "${knobs[@]}" >"$NN_TMP/b.toml"
  dp_start A "$NN_TMP/a.toml"
  dp_start B "$NN_TMP/b.toml"
  nn_exec lanA ping -q -c 1 -W 2 10.98.2.2 >/dev/null || nn_die "tunnel down ($mode)"
  results=()
  for i in $(seq 1 "$RUNS"); do
    nn_bg lanB /dev/null iperf3 -s -1
    dp_wait_listen lanB 5201 || nn_die "iperf3 server did not start"
    cpu0=$(awk '{print $14 + $15}' /proc/${DP_PID[A]}/stat /proc/${DP_PID[B]}/stat | paste -sd+ | bc)
    bps=$(nn_exec lanA iperf3 -c 10.98.2.2 -t "$SECS" -J | python3 -c \
      'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))')
    cpu1=$(awk '{print $14 + $15}' /proc/${DP_PID[A]}/stat /proc/${DP_PID[B]}/stat | paste -sd+ | bc)
    results+=("$((bps / 1000000))")
    cpu=$(( (cpu1 - cpu0) * 100 / $(getconf CLK_TCK) / SECS ))
    nn_log "$mode run $i: $((bps / 1000000)) Mbit/s, both braidd: ${cpu}% of a core"
  done
  median=$(printf '%s\n' "${results[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "RESULT $CIPHER $mode: median $median Mbit/s (runs: ${results[*]})"
  dp_stop A; dp_stop B
done
