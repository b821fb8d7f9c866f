#!/usr/bin/env bash
# An IPv6-only uplink (outer IPv6: wan0 fd00:99::1/64 -- fd00:99::2/64, no IPv4 on the WAN)
# carrying IPv4 and IPv6 LANs, manual keys:
#   ipv6_uplink.sh MODE      MODE: offload (defaults: TUN TSO/GRO, UDP GSO/GRO over IPv6)
#                                  plain   (all four offloads off)
# Checks: braid0 gets the IPv6-uplink default MTU 1418 (no mtu in the config); ping -4 and
# ping -6 both ways; full-size DF pings (1418-byte inner packets, 1500-byte outer) pass and
# one byte more is answered by the gateway's kernel from braid0's MTU (IPv4 "Frag needed",
# mtu = 1418; IPv6 "Packet too big", mtu=1418) without reaching braid (tx.drop.oversize 0);
# hashed TCP transfers over IPv6 and IPv4; the WAN carries nothing but ESP-in-UDP over IPv6
# (and neighbour discovery), which tshark decrypts with IPv6 SA entries, every ICV good;
# offload counters in offload mode, none in plain mode; clean exit. Prints an iperf3 figure.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../support/netns.sh"
. "$HERE/dataplane_lib.sh"
. "$HERE/ipv6_lib.sh"
MODE=${1:-offload}

nn_init
[ -x "$BRAIDD" ] || nn_die "braidd not built: $BRAIDD"
dp_topology_dual 6
nn_check "no IPv4 on the WAN" bash -c "! ip -n $(nn gwA) -4 addr show dev wan0 | grep -q inet"
nn_check "no route LAN A -> LAN B without braid" \
  bash -c "! ip netns exec $(nn lanA) ping -6 -c1 -W1 fd00:b::2 >/dev/null 2>&1"

knobs=()
[ "$MODE" = plain ] && knobs=("tun_offload = false" "udp_gso = false" "udp_gro = false")
export DP_NETS_A=$IPV6_NETS_A DP_NETS_B=$IPV6_NETS_B DP_MTU=
dp_config A aes256gcm16 "${knobs[@]}" >"$NN_TMP/a.toml"
dp_config B aes256gcm16 "${knobs[@]}" >"$NN_TMP/b.toml"
dp_check_configs

dp_wan_udp_segmentation off
dp_capture_start

dp_start A "$NN_TMP/a.toml"
dp_start B "$NN_TMP/b.toml"
nn_check "braid0 has the IPv6-uplink default MTU 1418" \
  test "$(nn_exec gwA cat /sys/class/net/braid0/mtu)" = 1418
nn_check "uplink socket bound to [fd00:99::1]:4500" grep -q "uplink wan0 on \[fd00:99::1\]:4500" "$NN_TMP/braiddA.log"

nn_check "ping -6 LAN A -> LAN B" nn_exec lanA ping -6 -q -c 3 -i 0.2 -W 2 fd00:b::2
nn_check "ping -6 LAN B -> LAN A" nn_exec lanB ping -6 -q -c 3 -i 0.2 -W 2 fd00:a::2
nn_check "ping -4 LAN A -> LAN B" nn_exec lanA ping -4 -q -c 3 -i 0.2 -W 2 10.98.2.2
nn_check "ping -4 LAN B -> LAN A" nn_exec lanB ping -4 -q -c 3 -i 0.2 -W 2 10.98.1.2

# Path MTU: 1418-byte inner packets fit (1418 + 82 = 1500 on the wire); 1419 do not, and
# the gateway's kernel answers from braid0's MTU before braid sees the packet.
dp_refresh A
oversize0=$(dp_counter A tx.drop.oversize)
nn_check "full-size ping -4 (1418 bytes, DF) passes" \
  nn_exec lanA ping -4 -q -c 2 -i 0.2 -W 2 -M do -s 1390 10.98.2.2
nn_check "full-size ping -6 (1418 bytes) passes" \
  nn_exec lanA ping -6 -q -c 2 -i 0.2 -W 2 -M do -s 1370 fd00:b::2
nn_exec lanA ping -4 -c 2 -i 0.2 -W 1 -M do -s 1391 10.98.2.2 >"$NN_TMP/ptb4.out" 2>&1
nn_exec lanA ping -6 -c 2 -i 0.2 -W 1 -M do -s 1371 fd00:b::2 >"$NN_TMP/ptb6.out" 2>&1
cat "$NN_TMP/ptb4.out" "$NN_TMP/ptb6.out"
nn_check "1419-byte IPv4 DF packet: gwA answers Frag needed, mtu = 1418" \
  grep -q "From 10.98.1.1 .*Frag needed and DF set (mtu = 1418)" "$NN_TMP/ptb4.out"
nn_check "1419-byte IPv6 packet: gwA answers Packet too big, mtu=1418" \
  grep -q "From fd00:a::1 .*Packet too big: mtu=1418" "$NN_TMP/ptb6.out"
nn_check "lanA learnt the IPv6 path MTU 1418" \
  bash -c "ip -n $(nn lanA) -6 route get fd00:b::2 | grep -q 'mtu 1418'"
dp_refresh A
nn_check "braid never saw the oversized packets (tx.drop.oversize +$(v6_delta A tx.drop.oversize "$oversize0"))" \
  test "$(v6_delta A tx.drop.oversize "$oversize0")" -eq 0

nn_check "4 MB TCP over IPv6 LAN A -> LAN B arrives intact" \
  dp_transfer lanA lanB fd00:b::2 5001 4000000
nn_check "4 MB TCP over IPv4 LAN B -> LAN A arrives intact" \
  dp_transfer lanB lanA 10.98.1.2 5002 4000000
dp_capture_stop

PCAP=$NN_TMP/wan.pcap
esp=$(tshark -r "$PCAP" -Y 'ipv6 && udp.srcport == 4500 && udp.dstport == 4500' 2>/dev/null | wc -l)
other=$(tshark -r "$PCAP" -Y "!(ipv6 && udp.srcport == 4500 && udp.dstport == 4500) && !($IPV6_ND)" 2>/dev/null | wc -l)
v4=$(tshark -r "$PCAP" -Y 'ip || arp' 2>/dev/null | wc -l)
nn_check "WAN capture has ESP-in-UDP over IPv6 ($esp)" test "$esp" -gt 100
nn_check "WAN capture has nothing else but neighbour discovery ($other other frames)" test "$other" -eq 0
nn_check "WAN capture has no IPv4 at all ($v4)" test "$v4" -eq 0
big=$(tshark -r "$PCAP" -Y 'ipv6 && udp.dstport == 4500 && frame.len == 1514' 2>/dev/null | wc -l)
huge=$(tshark -r "$PCAP" -Y 'frame.len > 1514' 2>/dev/null | wc -l)
nn_check "full-size ESP datagrams are exactly 1500 bytes of IPv6 ($big)" test "$big" -gt 0
nn_check "nothing above 1500 bytes on the WAN ($huge)" test "$huge" -eq 0
oracle() { dp_esp_count aes256gcm16 "$1"; }
good=$(oracle 'esp.icv_good')
bad=$(oracle 'esp && !esp.icv_good')
req6=$(oracle 'esp.icv_good && icmpv6.type == 128 && ipv6.src == fd00:a::2 && ipv6.dst == fd00:b::2')
req4=$(oracle 'esp.icv_good && icmp.type == 8 && ip.src == 10.98.1.2 && ip.dst == 10.98.2.2')
nn_check "tshark verifies every ESP ICV over IPv6 ($good good, $bad bad)" \
  test "$bad" -eq 0 -a "$good" -ge "$esp"
nn_check "decrypted: ICMPv6 echo requests inside IPv6 ESP ($req6)" test "$req6" -ge 5
nn_check "decrypted: ICMP echo requests inside IPv6 ESP ($req4)" test "$req4" -ge 5

dp_wan_udp_segmentation on
dp_iperf lanA lanB fd00:b::2 "IPv6 inner, IPv6 uplink, $MODE"

dp_refresh A
dp_refresh B
for s in A B; do
  drops=$(dp_sum $s '^rx\.drop\.(esp_|bad_inner|policy)')
  nn_check "gw$s: no ESP, inner-header or policy drops ($drops)" test "$drops" -eq 0
  nn_check "gw$s: no send errors ($(dp_counter $s tx.drop.send_error))" test "$(dp_counter $s tx.drop.send_error)" -eq 0
  nn_check "gw$s: no routing misses ($(dp_counter $s tx.drop.no_route))" test "$(dp_counter $s tx.drop.no_route)" -eq 0
done
nn_check "gwB opened what arrived ($(dp_counter B rx.opened))" \
  test "$(dp_counter B rx.opened)" -eq "$(dp_counter B rx.esp_packets)"
dp_check_offloads "$MODE" " over IPv6"
if [ "$MODE" = offload ]; then
  nn_check "gwA kept UDP GSO on ($(dp_counter A tx.udp_gso_disabled) fallbacks)" test "$(dp_counter A tx.udp_gso_disabled)" -eq 0
fi

nn_check "braidd A exits 0 on SIGTERM" dp_stop A
nn_check "braidd B exits 0 on SIGTERM" dp_stop B
nn_check "braid0 removed on exit" bash -c "! ip -n $(nn gwA) link show braid0 >/dev/null 2>&1"
nn_check "no sanitizer report (asan build)" \
  bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' '$NN_TMP/braiddA.log' '$NN_TMP/braiddB.log'"
nn_finish
