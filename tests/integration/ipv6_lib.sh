# Helpers for the IPv6 integration tests (sourced after netns.sh and dataplane_lib.sh, whose
# dp_topology_dual / dp_config / dp_start helpers they use). Only traffic helpers live here;
# the topology is dataplane_lib.sh's.
IPV6_NETS_A='"10.98.1.0/24", "fd00:a::/64"'
IPV6_NETS_B='"10.98.2.0/24", "fd00:b::/64"'

# v6_tcp_server NS PORT OUT: accepts one connection on [::]:PORT (dual-stack) in NS, in the
# background; writes "sha256 bytes" of what arrived to OUT. dataplane_tool.py's server is
# IPv4 only, its client (socket.create_connection) speaks both.
v6_tcp_server() {
  nn_bg "$1" "$3" python3 -c '
import hashlib, socket, sys
srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
srv.bind(("::", int(sys.argv[1])))
srv.listen(1)
conn, _ = srv.accept()
h, n = hashlib.sha256(), 0
while True:
    b = conn.recv(1 << 16)
    if not b:
        break
    h.update(b)
    n += len(b)
print(h.hexdigest(), n, flush=True)
' "$2"
}

# v6_transfer FROM_NS TO_NS TO_ADDR PORT BYTES: a hashed TCP transfer; true if it arrived intact.
v6_transfer() {
  local out=$NN_TMP/tcp-$4.out sent got
  v6_tcp_server "$2" "$4" "$out"
  dp_wait_listen "$2" "$4" || return 1
  sent=$(nn_exec "$1" python3 "$HERE/dataplane_tool.py" tcp-client "$3" "$4" "$5")
  nn_wait_for 10 test -s "$out"
  got=$(cat "$out")
  nn_log "TCP $1 -> $2 [$3]: sent '$sent' got '$got'"
  [ -n "$sent" ] && [ "$sent" = "$got" ]
}

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
