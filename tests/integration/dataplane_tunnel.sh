#!/usr/bin/env bash
# Two braidd sites over one ESP-in-UDP tunnel (manual keys):
#   dataplane_tunnel.sh CIPHER MODE      CIPHER: aes256gcm16|aes128gcm16|chacha20poly1305
#                                        MODE:   offload (defaults) | plain (all offloads off)
# Checks: no LAN-to-LAN path without braid; ping and a hashed TCP transfer LAN A -> LAN B;
# the WAN capture holds nothing but UDP 4500; tshark decrypts it with the configured keys
# (AES-GCM only: tshark 4.0 has no ChaCha20) and verifies every ICV, both directions, and
# sees the LAN packets inside; offload counters show the offloads were used; clean exit
# removes the TUN device and its routes. Prints an iperf3 figure (not asserted).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../support/netns.sh"
. "$HERE/dataplane_lib.sh"
CIPHER=${1:-aes256gcm16}
MODE=${2:-offload}

nn_init
[ -x "$BRAIDD" ] || nn_die "braidd not built: $BRAIDD"
dp_topology
nn_check "no route LAN A -> LAN B without braid" \
  bash -c "! ip netns exec $(nn lanA) ping -c1 -W1 10.98.2.2 >/dev/null 2>&1"

knobs=()
[ "$MODE" = plain ] && knobs=("tun_offload = false" "udp_gso = false" "udp_gro = false")
dp_config A "$CIPHER" "${knobs[@]}" >"$NN_TMP/a.toml"
dp_config B "$CIPHER" "${knobs[@]}" >"$NN_TMP/b.toml"

# One datagram per ESP packet on the capture tap while capturing (see dataplane_lib.sh).
dp_wan_udp_segmentation off
dp_capture_start

dp_start A "$NN_TMP/a.toml"
dp_start B "$NN_TMP/b.toml"
nn_check "braid0 has MTU 1438" test "$(nn_exec gwA cat /sys/class/net/braid0/mtu)" = 1438
nn_check "gwA routes LAN B via braid0" \
  bash -c "ip -n $(nn gwA) route get 10.98.2.2 | grep -q 'dev braid0'"

nn_check "ping LAN A -> LAN B" nn_exec lanA ping -q -c 5 -i 0.2 -W 2 10.98.2.2
nn_check "full-size ping (1438-byte packets, DF)" nn_exec lanA ping -q -c 2 -i 0.2 -W 2 -M do -s 1410 10.98.2.2

nn_check "4 MB TCP transfer arrives intact" dp_transfer lanA lanB 10.98.2.2 5001 4000000
dp_capture_stop

# Only ESP-in-UDP on the WAN: no other IP protocol or port, nothing but ARP besides IP.
dp_check_wan_esp_only

if [ "$CIPHER" != chacha20poly1305 ]; then
  oracle() { dp_esp_count "$CIPHER" "$1"; }
  ab=$(oracle 'esp.icv_good && ip.src == 10.99.0.1')
  ba=$(oracle 'esp.icv_good && ip.src == 10.99.0.2')
  all=$(oracle 'esp')
  bad=$(oracle 'esp && !esp.icv_good')
  nn_check "tshark verifies ICVs A->B ($ab frames)" test "$ab" -gt 0
  nn_check "tshark verifies ICVs B->A ($ba frames)" test "$ba" -gt 0
  nn_check "every ESP frame verifies ($((ab + ba)) of $all, $bad not)" \
    test "$bad" -eq 0 -a $((ab + ba)) -eq "$all" -a "$all" -ge "$DP_ESP_FRAMES"
  req=$(oracle 'esp.icv_good && icmp.type == 8 && ip.src == 10.98.1.2 && ip.dst == 10.98.2.2')
  rep=$(oracle 'esp.icv_good && icmp.type == 0 && ip.src == 10.98.2.2 && ip.dst == 10.98.1.2')
  tcp=$(oracle 'esp.icv_good && tcp.dstport == 5001 && ip.src == 10.98.1.2 && ip.dst == 10.98.2.2')
  nn_check "decrypted: ICMP echo requests LAN A -> LAN B ($req)" test "$req" -ge 7
  nn_check "decrypted: ICMP echo replies LAN B -> LAN A ($rep)" test "$rep" -ge 7
  nn_check "decrypted: the TCP transfer LAN A -> LAN B ($tcp)" test "$tcp" -gt 100
fi

dp_wan_udp_segmentation on
dp_iperf lanA lanB 10.98.2.2 "$CIPHER, $MODE" || nn_die "iperf3 server did not start"

dp_refresh A
dp_refresh B
for s in A B; do
  drops=$(dp_sum $s '^rx\.drop\.esp_')
  nn_check "gw$s: no ESP drops in a clean run ($drops)" test "$drops" -eq 0
done
nn_check "gwA sealed what it read ($(dp_counter A tx.sealed))" \
  test "$(dp_counter A tx.sealed)" -eq "$(dp_counter A tx.tun_packets)"
nn_check "gwB opened what arrived ($(dp_counter B rx.opened))" \
  test "$(dp_counter B rx.opened)" -eq "$(dp_counter B rx.esp_packets)"
dp_check_offloads "$MODE"

nn_check "braidd A exits 0 on SIGTERM" dp_stop A
nn_check "braidd B exits 0 on SIGTERM" dp_stop B
nn_check "braid0 removed on exit" bash -c "! ip -n $(nn gwA) link show braid0 >/dev/null 2>&1"
nn_check "route to LAN B removed on exit" bash -c "! ip -n $(nn gwA) route | grep -q 10.98.2.0"
nn_check "exit summary logged" grep -q "\[stats\] tx:" "$NN_TMP/braiddA.log"
nn_finish
