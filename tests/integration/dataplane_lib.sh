# Helpers for the data-plane integration tests (sourced after tests/support/netns.sh).
#   lanA 10.98.1.2 -- gwA 10.98.1.1 | wan0 10.99.0.1 -- 10.99.0.2 wan0 | gwB 10.98.2.1 -- lanB 10.98.2.2
# The gateways have no route to the other LAN: only braid's routes over its TUN connect them.

DP_BUILD=${BRAID_BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/default}
DP_SRC=${BRAID_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BRAIDD=${BRAIDD:-$DP_BUILD/edge/braidd}
DP_TOOL=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/dataplane_tool.py
DP_KEY_AB=0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20a1a2a3a4
DP_KEY_BA=2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40b1b2b3b4
DP_SPI_AB=0x00001001
DP_SPI_BA=0x00002001
declare -A DP_PID

dp_topology() {
  local ns
  for ns in lanA gwA gwB lanB; do
    nn_add $ns
    # No IPv6 anywhere: the WAN capture must show nothing but ESP-in-UDP.
    nn_exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
  nn_veth lanA eth0 10.98.1.2/24 gwA lan0 10.98.1.1/24
  nn_veth gwA wan0 10.99.0.1/24 gwB wan0 10.99.0.2/24
  nn_veth gwB lan0 10.98.2.1/24 lanB eth0 10.98.2.2/24
  nn_exec lanA ip route add default via 10.98.1.1
  nn_exec lanB ip route add default via 10.98.2.1
  nn_forwarding gwA
  nn_forwarding gwB
}

# dp_topology_dual WAN(4|6): dp_topology's namespaces with dual-stack LANs (IPv6 on):
#   lanA fd00:a::2 -- gwA fd00:a::1 | WAN | gwB fd00:b::1 -- lanB fd00:b::2 (and the IPv4 above)
#   WAN 4: wan0 10.99.0.1/24 -- 10.99.0.2/24, IPv6 off on wan0 (only ESP-in-UDP on the wire)
#   WAN 6: wan0 fd00:99::1/64 -- fd00:99::2/64 only, no IPv4 on the WAN
# Sets DP_WAN_A / DP_WAN_B (the uplink addresses dp_config and ike_config use).
dp_topology_dual() {
  local wan=$1 ns
  for ns in lanA gwA gwB lanB; do
    nn_add $ns
    nn_exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 \
      net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  done
  nn_veth lanA eth0 10.98.1.2/24 gwA lan0 10.98.1.1/24
  nn_veth gwB lan0 10.98.2.1/24 lanB eth0 10.98.2.2/24
  nn_exec lanA ip -6 addr add fd00:a::2/64 dev eth0 nodad
  nn_exec gwA ip -6 addr add fd00:a::1/64 dev lan0 nodad
  nn_exec gwB ip -6 addr add fd00:b::1/64 dev lan0 nodad
  nn_exec lanB ip -6 addr add fd00:b::2/64 dev eth0 nodad
  if [ "$wan" = 6 ]; then
    nn_veth gwA wan0 - gwB wan0 -
    nn_exec gwA ip -6 addr add fd00:99::1/64 dev wan0 nodad
    nn_exec gwB ip -6 addr add fd00:99::2/64 dev wan0 nodad
    DP_WAN_A=fd00:99::1 DP_WAN_B=fd00:99::2
  else
    nn_veth gwA wan0 10.99.0.1/24 gwB wan0 10.99.0.2/24
    for ns in gwA gwB; do nn_exec $ns sysctl -qw net.ipv6.conf.wan0.disable_ipv6=1; done
    DP_WAN_A=10.99.0.1 DP_WAN_B=10.99.0.2
  fi
  nn_exec lanA ip route add default via 10.98.1.1
  nn_exec lanB ip route add default via 10.98.2.1
  nn_exec lanA ip -6 route add default via fd00:a::1
  nn_exec lanB ip -6 route add default via fd00:b::1
  nn_forwarding gwA
  nn_forwarding gwB
}

# dp_key AB|BA CIPHER: the manual key of that direction; AES-128-GCM takes the first 16 key
# bytes and the 4-byte salt (RFC 4106 section 8.1).
dp_key() {
  local k=$DP_KEY_AB
  [ "$1" = BA ] && k=$DP_KEY_BA
  [ "$2" = aes128gcm16 ] && k=${k:0:32}${k:64:8}
  echo "$k"
}

# dp_config SITE(A|B) CIPHER KEYLEN_HEX [dataplane lines...] -> prints a config
# Knobs (for dual-stack tests): DP_WAN_A / DP_WAN_B uplink addresses; DP_NETS_A / DP_NETS_B
# the sites' subnets as TOML array items ('"10.98.1.0/24", "fd00:a::/64"'); DP_MTU the
# overlay mtu (default 1438; set but empty: no mtu line, braidd's default). The manual keys'
# sequence state goes to DP_STATE_DIR (default $NN_TMP/stateSITE), DP_SEQ_BLOCK numbers per
# reservation (default braidd's).
dp_config() {
  local site=$1 cipher=$2; shift 2
  local keyab keyba
  keyab=$(dp_key AB "$cipher") keyba=$(dp_key BA "$cipher")
  local local_net remote_net me peer out_spi in_spi out_key in_key
  if [ "$site" = A ]; then
    local_net=10.98.1.0/24 remote_net=10.98.2.0/24 me=${DP_WAN_A:-10.99.0.1} peer=${DP_WAN_B:-10.99.0.2}
    out_spi=$DP_SPI_AB in_spi=$DP_SPI_BA out_key=$keyab in_key=$keyba
  else
    local_net=10.98.2.0/24 remote_net=10.98.1.0/24 me=${DP_WAN_B:-10.99.0.2} peer=${DP_WAN_A:-10.99.0.1}
    out_spi=$DP_SPI_BA in_spi=$DP_SPI_AB out_key=$keyba in_key=$keyab
  fi
  local nets_a=${DP_NETS_A:-\"10.98.1.0/24\"} nets_b=${DP_NETS_B:-\"10.98.2.0/24\"} mtu_line
  local_net=$nets_a remote_net=$nets_b
  [ "$site" = B ] && local_net=$nets_b remote_net=$nets_a
  mtu_line="mtu = ${DP_MTU-1438}"
  [ -z "${DP_MTU-1438}" ] && mtu_line=""
  cat <<CFG
[log]
level = "info"

[overlay]
device = "braid0"
$mtu_line
local_subnets = [$local_net]

[dataplane]
$(printf '%s\n' "$@")

[state]
directory = "${DP_STATE_DIR:-$NN_TMP/state$site}"
${DP_SEQ_BLOCK:+sequence_block = $DP_SEQ_BLOCK}

[[uplink]]
name = "wan0"
local_address = "$me"

[[peer]]
name = "site-$site-peer"
remote_subnets = [$remote_net]

[[peer.path]]
uplink = "wan0"
remote_address = "$peer"

[peer.path.manual]
cipher = "$cipher"
replay_window = 1024
outbound = { spi = $out_spi, key = "$out_key" }
inbound = { spi = $in_spi, key = "$in_key" }
CFG
}

# dp_start SITE CONFIGFILE: braidd in gwSITE, waits until it wrote its stats file (ready).
dp_start() {
  local site=$1 cfg=$2 stats=$NN_TMP/stats$1
  rm -f "$stats"
  nn_bg gw$site "$NN_TMP/braidd$site.log" "$BRAIDD" --config "$cfg" --stats-file "$stats"
  DP_PID[$site]=$NN_LAST_PID
  if ! nn_wait_for 10 test -s "$stats"; then
    cat "$NN_TMP/braidd$site.log" >&2
    nn_die "braidd in gw$site did not start"
  fi
}

# dp_stop SITE: SIGTERM and wait; returns braidd's exit code.
dp_stop() {
  local pid=${DP_PID[$1]} rc=0
  kill -TERM "$pid" 2>/dev/null || return 1
  wait "$pid" || rc=$?
  return $rc
}

# dp_refresh SITE: SIGUSR1 makes braidd rewrite its stats file; waits for the new one.
dp_refresh() {
  local stats=$NN_TMP/stats$1
  rm -f "$stats"
  kill -USR1 "${DP_PID[$1]}"
  nn_wait_for 5 test -s "$stats" || nn_die "braidd in gw$1 wrote no stats after SIGUSR1"
}

# dp_counter SITE NAME: value from the last stats file (0 if missing).
dp_counter() {
  awk -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) print 0 }' "$NN_TMP/stats$1"
}

dp_alive() { kill -0 "${DP_PID[$1]}" 2>/dev/null; }

# dp_wait_listen NS PORT: until a TCP socket listens on PORT in NS.
dp_wait_listen() {
  nn_wait_for 5 bash -c "ss -N $(nn "$1") -ltnH 'sport = :$2' | grep -q ."
}

# dp_check_configs: braidd --check accepts $NN_TMP/a.toml and b.toml.
dp_check_configs() {
  nn_check "configs are valid" bash -c "'$BRAIDD' --check --config '$NN_TMP/a.toml' && '$BRAIDD' --check --config '$NN_TMP/b.toml'"
}

# dp_transfer FROM_NS TO_NS TO_ADDR PORT BYTES: a hashed TCP transfer (IPv4 or IPv6: the
# tool's server takes both); true if what arrived hashes like what was sent.
dp_transfer() {
  local out=$NN_TMP/tcp-$4.out sent got
  nn_bg "$2" "$out" python3 "$DP_TOOL" tcp-server "$4"
  dp_wait_listen "$2" "$4" || return 1
  sent=$(nn_exec "$1" python3 "$DP_TOOL" tcp-client "$3" "$4" "$5")
  nn_wait_for 10 test -s "$out"
  got=$(cat "$out")
  nn_log "TCP $1 -> $2 [$3]: sent '$sent' got '$got'"
  [ -n "$sent" ] && [ "$sent" = "$got" ]
}

# dp_iperf FROM_NS TO_NS TO_ADDR LABEL: logs a 3 s single-stream iperf3 figure (not
# asserted); false if the iperf3 server did not start.
dp_iperf() {
  local bps
  nn_bg "$2" /dev/null iperf3 -s -1
  dp_wait_listen "$2" 5201 || { nn_log "iperf3 server did not start"; return 1; }
  bps=$(nn_exec "$1" iperf3 -c "$3" -t 3 -J | python3 -c \
    'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))')
  nn_log "iperf3 single TCP stream $1 -> $2 [$3], $4: $((${bps:-0} / 1000000)) Mbit/s"
}

# dp_sum SITE REGEX: the sum of the counters whose names match the awk REGEX (last stats file).
dp_sum() {
  DP_RE=$2 awk '$1 ~ ENVIRON["DP_RE"] { n += $2 } END { print n + 0 }' "$NN_TMP/stats$1"
}

# dp_wan_udp_segmentation on|off: a real NIC puts each datagram on the wire separately; the
# veth would pass UDP GSO super-datagrams to the capture tap, which tshark cannot split into
# ESP packets. "off" segments in software before the tap (braid still sends with UDP_SEGMENT).
dp_wan_udp_segmentation() {
  local gw
  for gw in gwA gwB; do nn_exec $gw ethtool -K wan0 tx-udp-segmentation "$1" >/dev/null; done
}

# dp_capture_start [PCAP [FILTER]] / dp_capture_stop: tcpdump on gwA's wan0 into PCAP
# (default $NN_TMP/wan.pcap), all frames or those the pcap FILTER takes.
dp_capture_start() {
  nn_bg gwA "$NN_TMP/tcpdump.log" tcpdump -i wan0 -n -s 0 -U -w "${1:-$NN_TMP/wan.pcap}" ${2:+"$2"}
  DP_TCPDUMP=$NN_LAST_PID
  nn_wait_for 5 grep -q listening "$NN_TMP/tcpdump.log" || nn_die "tcpdump did not start"
}
dp_capture_stop() {
  sleep 0.3
  nn_kill_pid "$DP_TCPDUMP"
}

# dp_check_wan_esp_only: the (IPv4) WAN capture holds ESP-in-UDP frames and nothing but
# UDP 4500 and ARP. Sets DP_ESP_FRAMES, the ESP-in-UDP frame count.
dp_check_wan_esp_only() {
  local pcap=$NN_TMP/wan.pcap other
  DP_ESP_FRAMES=$(tshark -r "$pcap" -Y 'udp.srcport == 4500 && udp.dstport == 4500' 2>/dev/null | wc -l)
  other=$(tshark -r "$pcap" -Y '(ip && !(udp.srcport == 4500 && udp.dstport == 4500)) || (!ip && !arp)' 2>/dev/null | wc -l)
  nn_check "WAN capture has ESP-in-UDP frames ($DP_ESP_FRAMES)" test "$DP_ESP_FRAMES" -gt 100
  nn_check "WAN capture has nothing but UDP 4500 ($other other frames)" test "$other" -eq 0
}

# dp_esp_count CIPHER FILTER: frames of the WAN capture matching the tshark FILTER, decrypted
# and ICV-checked with dp_config's manual SAs (AES-GCM only: tshark 4.0 has no ChaCha20).
# The outer family follows DP_WAN_A / DP_WAN_B.
dp_esp_count() {
  local a=${DP_WAN_A:-10.99.0.1} b=${DP_WAN_B:-10.99.0.2} fam=IPv4
  local enc='AES-GCM with 16 octet ICV [RFC4106]'
  case $a in *:*) fam=IPv6 ;; esac
  tshark -r "$NN_TMP/wan.pcap" -o esp.enable_encryption_decode:TRUE -o esp.enable_authentication_check:TRUE \
    -o "uat:esp_sa:\"$fam\",\"$a\",\"$b\",\"$DP_SPI_AB\",\"$enc\",\"0x$(dp_key AB "$1")\",\"NULL\",\"\"" \
    -o "uat:esp_sa:\"$fam\",\"$b\",\"$a\",\"$DP_SPI_BA\",\"$enc\",\"0x$(dp_key BA "$1")\",\"NULL\",\"\"" \
    -Y "$2" 2>/dev/null | wc -l
}

# dp_check_offloads MODE [OVER]: "offload": gwA split TSO super-packets and sent with UDP GSO,
# gwB received UDP GRO datagrams and coalesced TCP segments; "plain": none of these moved.
# OVER (" over IPv6") goes into the UDP GSO/GRO check names. Last stats files.
dp_check_offloads() {
  if [ "$1" = offload ]; then
    nn_check "gwA split TSO super-packets ($(dp_counter A tx.gso_super_packets))" test "$(dp_counter A tx.gso_super_packets)" -gt 0
    nn_check "gwA sent with UDP GSO${2:-} ($(dp_counter A tx.gso_sends))" test "$(dp_counter A tx.gso_sends)" -gt 0
    nn_check "gwB received UDP GRO datagrams${2:-} ($(dp_counter B rx.gro_datagrams))" test "$(dp_counter B rx.gro_datagrams)" -gt 0
    nn_check "gwB coalesced TCP segments ($(dp_counter B rx.gro_coalesced))" test "$(dp_counter B rx.gro_coalesced)" -gt 0
  else
    nn_check "plain mode: no offload used" test "$(dp_counter A tx.gso_super_packets)$(dp_counter A tx.gso_sends)$(dp_counter B rx.gro_datagrams)" = 000
  fi
}
