# Helpers for the IPv6 integration tests (sourced after netns.sh and dataplane_lib.sh, whose
# dp_topology_dual / dp_config / dp_start / dp_transfer helpers they use). Only traffic
# helpers live here; the topology is dataplane_lib.sh's.
IPV6_NETS_A='"10.98.1.0/24", "fd00:a::/64"'
IPV6_NETS_B='"10.98.2.0/24", "fd00:b::/64"'

# v6_iperf FROM_NS TO_NS TO_ADDR LABEL: logs a 3 s single-stream iperf3 figure (not asserted).
v6_iperf() {
  local bps
  nn_bg "$2" /dev/null iperf3 -s -1
  dp_wait_listen "$2" 5201 || { nn_log "iperf3 server did not start"; return 0; }
  bps=$(nn_exec "$1" iperf3 -c "$3" -t 3 -J | python3 -c \
    'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))')
  nn_log "iperf3 single TCP stream $1 -> $2 [$3], $4: $((${bps:-0} / 1000000)) Mbit/s"
}

# v6_delta SITE NAME BEFORE: counter growth since BEFORE (from the last stats file).
v6_delta() { echo $(($(dp_counter "$1" "$2") - $3)); }
