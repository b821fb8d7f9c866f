#!/usr/bin/env bash
# IKEv2 (PSK) over an IPv6-only uplink (wan0 fd00:99::1 -- fd00:99::2) with IPv6 identities
# (ID_IPV6_ADDR) and one Child SA whose traffic selectors hold both families:
#   TSi = 10.98.1.0/24 + fd00:a::/64, TSr = 10.98.2.0/24 + fd00:b::/64.
#   ipv6_ike.sh [REMOTE]   REMOTE: B's path remote_address, fd00:99::1 (default) or %any
# Site A initiates (force_encap), site B responds (force_encap = false: real NAT-D hashes). Checks: the IKE SA and Child SA come up, IKE_SA_INIT on
# [..]:500 and the rest on 4500, over IPv6; both sides log the IPv6 identities and the
# dual-family selectors; ping -6 and ping -4 both ways and a full-size IPv6 ping (1418, the
# IPv6-uplink default MTU); a hashed TCP transfer over IPv6; an inner IPv6 source outside the
# negotiated selectors is dropped by policy; the WAN carries only UDP 500/4500 over IPv6 (and
# neighbour discovery); SIGTERM sends Delete, which the other side sees.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../support/netns.sh"
. "$HERE/dataplane_lib.sh"
. "$HERE/ike_lib.sh"
. "$HERE/ipv6_lib.sh"
B_REMOTE=${1:-fd00:99::1}  # B's path remote_address: A's address, or "%any" (learnt from IKE)

nn_init
[ -x "$BRAIDD" ] || nn_die "braidd not built: $BRAIDD"
dp_topology_dual 6
export DP_MTU=
common=('proposals = "aes256gcm16-prfsha256-x25519"' 'esp_proposals = "aes256gcm16"'
        "psk = \"$IKE_PSK\"")
IKE_GLOBAL='nat_keepalive = 1' IKE_LOCAL_SUBNETS="[$IPV6_NETS_A]" IKE_PEER_SUBNETS="[$IPV6_NETS_B]" \
  ike_config A "${common[@]}" 'local_id = "fd00:99::1"' 'remote_id = "fd00:99::2"' >"$NN_TMP/a.toml"
IKE_REMOTE_ADDRESS=$B_REMOTE IKE_LOCAL_SUBNETS="[$IPV6_NETS_B]" IKE_PEER_SUBNETS="[$IPV6_NETS_A]" \
  ike_config B "${common[@]}" 'local_id = "fd00:99::2"' 'remote_id = "fd00:99::1"' \
  'initiate = false' 'force_encap = false' >"$NN_TMP/b.toml"
dp_check_configs

dp_capture_start

dp_start B "$NN_TMP/b.toml"
dp_start A "$NN_TMP/a.toml"
ike_check_child_up
grep -E "IKE SA established|Child SA|ESP SAs installed" "$NN_TMP/braiddA.log" "$NN_TMP/braiddB.log" >&2
nn_check "gwA: IKE SA established as initiator with ID fd00:99::2" \
  grep -q "IKE SA established (initiator, .*fd00:99::2" "$NN_TMP/braiddA.log"
nn_check "gwB: IKE SA established as responder with ID fd00:99::1" \
  grep -q "IKE SA established (responder, .*fd00:99::1" "$NN_TMP/braiddB.log"
nn_check "gwA: ESP sent to [fd00:99::2]:4500" \
  grep -q "ESP SAs installed (.*aes256gcm16), sending to \[fd00:99::2\]:4500" "$NN_TMP/braiddA.log"
nn_check "gwB: ESP sent to [fd00:99::1]:4500" \
  grep -q "ESP SAs installed (.*aes256gcm16), sending to \[fd00:99::1\]:4500" "$NN_TMP/braiddB.log"
for s in A B; do
  nn_check "gw$s: Child SA selectors hold both families" \
    bash -c "grep 'Child SA' '$NN_TMP/braidd$s.log' | grep 'fd00:a::/64' | grep 'fd00:b::/64' | grep '10.98.1.0/24' | grep -q '10.98.2.0/24'"
done
nn_check "braid0 has the IPv6-uplink default MTU 1418" \
  test "$(nn_exec gwA cat /sys/class/net/braid0/mtu)" = 1418

nn_check "ping -6 LAN A -> LAN B" nn_exec lanA ping -6 -q -c 3 -i 0.2 -W 2 fd00:b::2
nn_check "ping -6 LAN B -> LAN A" nn_exec lanB ping -6 -q -c 3 -i 0.2 -W 2 fd00:a::2
nn_check "ping -4 LAN A -> LAN B" nn_exec lanA ping -4 -q -c 3 -i 0.2 -W 2 10.98.2.2
nn_check "ping -4 LAN B -> LAN A" nn_exec lanB ping -4 -q -c 3 -i 0.2 -W 2 10.98.1.2
nn_check "full-size ping -6 (1418 bytes)" nn_exec lanA ping -6 -q -c 2 -i 0.2 -W 2 -M do -s 1370 fd00:b::2
nn_check "2 MB TCP over IPv6 LAN A -> LAN B arrives intact" \
  dp_transfer lanA lanB fd00:b::2 5001 2000000

# RFC 4301 5.2 against the negotiated selectors: gwB's WAN address is not in TSi of B.
dp_refresh A
policy0=$(dp_counter A rx.drop.policy)
nn_exec gwB ping -6 -q -c 3 -i 0.2 -W 1 -I fd00:99::2 fd00:a::2 >/dev/null 2>&1
dp_refresh A
nn_check "inner IPv6 source outside the selectors dropped by policy (+$(v6_delta A rx.drop.policy "$policy0"))" \
  test "$(v6_delta A rx.drop.policy "$policy0")" -eq 3

dp_refresh A
dp_refresh B
for s in A B; do
  drops=$(dp_sum $s '^rx\.drop\.(esp_|bad_inner)')
  nn_check "gw$s: no ESP drops ($drops)" test "$drops" -eq 0
  ike_check_path_healthy $s
  nn_check "gw$s: no IKE send errors" test "$(dp_counter $s ike.send_errors)" -eq 0
  nn_check "gw$s: no routing misses ($(dp_counter $s tx.drop.no_route))" test "$(dp_counter $s tx.drop.no_route)" -eq 0
done
nn_check "gwA: path remote is [fd00:99::2]:4500" \
  test "$(awk '$1 ~ /^ike\.path\..*\.remote$/ { print $2 }' "$NN_TMP/statsA")" = "[fd00:99::2]:4500"
# NAT detection over IPv6 (RFC 7296 2.23, hashes over the 16-byte addresses): B sends real
# hashes, A fakes its source one (force_encap). A finds B's hashes right (no NAT, but
# encapsulation forced); B believes A is behind a NAT, which makes both sides use 4500.
natof() { awk '$1 ~ /^ike\.path\..*\.nat$/ { print $2 }' "$NN_TMP/stats$1"; }
nn_check "gwA: B's IPv6 NAT-D hashes match, encapsulation forced ($(natof A))" test "$(natof A)" = forced
nn_check "gwB: sees A's faked NAT-D as a NAT in front of A ($(natof B))" test "$(natof B)" = remote
nn_check "gwA sent NAT-keepalives over IPv6 ($(dp_counter A ike.keepalives_sent))" \
  test "$(dp_counter A ike.keepalives_sent)" -ge 1
dp_capture_stop
PCAP=$NN_TMP/wan.pcap
other=$(tshark -r "$PCAP" -Y "!(ipv6 && (udp.port == 500 || udp.port == 4500)) && !($IPV6_ND)" 2>/dev/null | wc -l)
init=$(tshark -r "$PCAP" -Y 'ipv6 && udp.port == 500 && isakmp.exchangetype == 34' 2>/dev/null | wc -l)
auth=$(tshark -r "$PCAP" -Y 'ipv6 && udp.port == 4500 && isakmp.exchangetype == 35' 2>/dev/null | wc -l)
nn_check "WAN: nothing but UDP 500/4500 over IPv6 and ND ($other other frames)" test "$other" -eq 0
nn_check "WAN: IKE_SA_INIT on [..]:500 ($init frames)" test "$init" -eq 2
nn_check "WAN: IKE_AUTH floated to [..]:4500 ($auth frames)" test "$auth" -eq 2

ike_check_stop_a_deletes
nn_check "braidd B exits 0 on SIGTERM" dp_stop B
nn_finish
