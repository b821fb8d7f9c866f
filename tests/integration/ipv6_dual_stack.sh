#!/usr/bin/env bash
# Dual-stack LANs over an IPv4 uplink, manual keys, default offloads (tun_offload, tun_gro,
# UDP GSO/GRO):
#   LAN A 10.98.1.0/24 + fd00:a::/64 -- gwA 10.99.0.1 == ESP-in-UDP == 10.99.0.2 gwB -- LAN B
#   10.98.2.0/24 + fd00:b::/64; the overlay's local and remote subnets hold both families.
# Checks: no LAN path without braid; braidd routes the IPv6 prefix into braid0 (libnl) and
# removes it on exit; ping -6 both ways, a full-size IPv6 DF ping (1438 bytes, default MTU);
# hashed 4 MB TCP transfers over IPv6 both ways with TSO split on TX and GRO coalescing on RX
# (counters); ping -4 still works; the WAN carries only UDP 4500 and tshark decrypts IPv6
# inside it with the configured keys (every ICV good); an inner IPv6 source outside the
# peer's subnets is dropped by the policy check (rx.drop.policy) and not delivered.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../support/netns.sh"
. "$HERE/dataplane_lib.sh"
. "$HERE/ipv6_lib.sh"

nn_init
[ -x "$BRAIDD" ] || nn_die "braidd not built: $BRAIDD"
dp_topology_dual 4
nn_check "no route LAN A -> LAN B (IPv6) without braid" \
  bash -c "! ip netns exec $(nn lanA) ping -6 -c1 -W1 fd00:b::2 >/dev/null 2>&1"

export DP_NETS_A=$IPV6_NETS_A DP_NETS_B=$IPV6_NETS_B DP_MTU=
dp_config A aes256gcm16 >"$NN_TMP/a.toml"
dp_config B aes256gcm16 >"$NN_TMP/b.toml"
dp_check_configs

# One datagram per ESP packet on the capture tap (see dataplane_lib.sh).
dp_wan_udp_segmentation off
dp_capture_start

dp_start A "$NN_TMP/a.toml"
dp_start B "$NN_TMP/b.toml"
nn_check "braid0 has the IPv4-uplink default MTU 1438" \
  test "$(nn_exec gwA cat /sys/class/net/braid0/mtu)" = 1438
nn_check "gwA routes fd00:b::/64 via braid0" \
  bash -c "ip -n $(nn gwA) -6 route get fd00:b::2 | grep -q 'dev braid0'"
nn_check "gwA routes 10.98.2.0/24 via braid0" \
  bash -c "ip -n $(nn gwA) route get 10.98.2.2 | grep -q 'dev braid0'"

nn_check "ping -6 LAN A -> LAN B" nn_exec lanA ping -6 -q -c 5 -i 0.2 -W 2 fd00:b::2
nn_check "ping -6 LAN B -> LAN A" nn_exec lanB ping -6 -q -c 5 -i 0.2 -W 2 fd00:a::2
nn_check "full-size ping -6 (1438-byte packets, DF)" \
  nn_exec lanA ping -6 -q -c 2 -i 0.2 -W 2 -M do -s 1390 fd00:b::2
nn_check "ping -4 LAN A -> LAN B still works" nn_exec lanA ping -4 -q -c 3 -i 0.2 -W 2 10.98.2.2
nn_check "4 MB TCP over IPv6 LAN A -> LAN B arrives intact" \
  dp_transfer lanA lanB fd00:b::2 5001 4000000
nn_check "4 MB TCP over IPv6 LAN B -> LAN A arrives intact" \
  dp_transfer lanB lanA fd00:a::2 5002 4000000
nn_check "2 MB TCP over IPv4 LAN A -> LAN B arrives intact" \
  dp_transfer lanA lanB 10.98.2.2 5003 2000000
dp_capture_stop

dp_check_wan_esp_only
oracle() { dp_esp_count aes256gcm16 "$1"; }
bad=$(oracle 'esp && !esp.icv_good')
req=$(oracle 'esp.icv_good && icmpv6.type == 128 && ipv6.src == fd00:a::2 && ipv6.dst == fd00:b::2')
rep=$(oracle 'esp.icv_good && icmpv6.type == 129 && ipv6.src == fd00:b::2 && ipv6.dst == fd00:a::2')
tcp6=$(oracle 'esp.icv_good && ipv6.dst == fd00:b::2 && tcp.dstport == 5001')
nn_check "tshark: every ESP frame verifies ($bad do not)" test "$bad" -eq 0
nn_check "decrypted: ICMPv6 echo requests A -> B inside ESP ($req)" test "$req" -ge 7
nn_check "decrypted: ICMPv6 echo replies B -> A inside ESP ($rep)" test "$rep" -ge 7
nn_check "decrypted: the IPv6 TCP transfer inside ESP ($tcp6)" test "$tcp6" -gt 100

# RFC 4301 5.2: an inner IPv6 source outside B's subnets, sent by gwB into the tunnel.
dp_refresh A
policy0=$(dp_counter A rx.drop.policy)
opened0=$(dp_counter A rx.opened)
nn_exec gwB ip -6 addr add fd00:bad::1/128 dev lo nodad
nn_exec gwB ping -6 -q -c 3 -i 0.2 -W 1 -I fd00:bad::1 fd00:a::2 >"$NN_TMP/spoof.out" 2>&1
dp_refresh A
nn_check "spoofed IPv6 source dropped by policy ($(v6_delta A rx.drop.policy "$policy0"))" \
  test "$(v6_delta A rx.drop.policy "$policy0")" -eq 3
nn_check "spoofed IPv6 packets not delivered ($(v6_delta A rx.opened "$opened0") opened)" \
  test "$(v6_delta A rx.opened "$opened0")" -eq 0
nn_check "no echo reply to the spoofed source" grep -q " 0 received" "$NN_TMP/spoof.out"

dp_wan_udp_segmentation on
dp_iperf lanA lanB fd00:b::2 "IPv6 inner, IPv4 uplink, offloads on"

dp_refresh A
dp_refresh B
for s in A B; do
  drops=$(dp_sum $s '^rx\.drop\.(esp_|bad_inner)')
  nn_check "gw$s: no ESP or inner-header drops ($drops)" test "$drops" -eq 0
  nn_log "gw$s: tx.drop.link_local = $(dp_counter $s tx.drop.link_local) (kernel MLD reports on braid0)"
  for k in tx.drop.malformed tx.drop.oversize tx.drop.no_route; do
    nn_check "gw$s: $k = 0 ($(dp_counter $s $k))" test "$(dp_counter $s $k)" -eq 0
  done
  nn_check "gw$s split TSO super-packets ($(dp_counter $s tx.gso_super_packets))" \
    test "$(dp_counter $s tx.gso_super_packets)" -gt 0
  nn_check "gw$s coalesced TCP segments ($(dp_counter $s rx.gro_coalesced))" \
    test "$(dp_counter $s rx.gro_coalesced)" -gt 0
  nn_check "gw$s sent with UDP GSO ($(dp_counter $s tx.gso_sends))" test "$(dp_counter $s tx.gso_sends)" -gt 0
done

nn_check "braidd A exits 0 on SIGTERM" dp_stop A
nn_check "braidd B exits 0 on SIGTERM" dp_stop B
nn_check "route to fd00:b::/64 removed on exit" \
  bash -c "! ip -n $(nn gwA) -6 route | grep -q fd00:b::"
nn_finish
