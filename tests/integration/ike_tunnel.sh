#!/usr/bin/env bash
# Two braidd sites whose tunnel is negotiated by IKEv2 (no manual keys):
#   ike_tunnel.sh AUTH ESP GROUP     AUTH: psk | cert (ECDSA P-256, CA made with openssl)
#                                    ESP:  aes256gcm16 | aes128gcm16 | chacha20poly1305
#                                    GROUP: x25519 (31) | ecp256 (19) | ...
# Site A initiates, site B only responds. Checks: no LAN path without braid; the IKE SA and
# Child SA come up on both sides with the asked suite (log lines, stats); ping and a hashed
# TCP transfer in both directions; NAT-keepalives; the WAN carries only UDP 500/4500; SIGTERM sends Delete
# and the other side sees the SA go down; both exit 0.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../support/netns.sh"
. "$HERE/dataplane_lib.sh"
. "$HERE/ike_lib.sh"
AUTH=${1:-psk}
ESP=${2:-aes256gcm16}
GROUP=${3:-x25519}

nn_init
[ -x "$BRAIDD" ] || nn_die "braidd not built: $BRAIDD"
dp_topology
nn_check "no route LAN A -> LAN B without braid" \
  bash -c "! ip netns exec $(nn lanA) ping -c1 -W1 10.98.2.2 >/dev/null 2>&1"

common=("proposals = \"aes256gcm16-prfsha256-$GROUP\"" "esp_proposals = \"$ESP\"")
if [ "$AUTH" = cert ]; then
  ike_pki "$NN_TMP/pki" || nn_die "cannot make the test PKI"
  authA=("certificate = \"$NN_TMP/pki/gwA.pem\"" "private_key = \"$NN_TMP/pki/gwA.key\""
         "ca_certificates = [\"$NN_TMP/pki/ca.pem\"]" 'remote_id = "gwB.lab"')
  authB=("certificate = \"$NN_TMP/pki/gwB.pem\"" "private_key = \"$NN_TMP/pki/gwB.key\""
         "ca_certificates = \"$NN_TMP/pki/ca.pem\"" 'local_id = "gwB.lab"'
         'remote_id = "C=CH, O=braid lab, CN=gwA.lab"')
else
  authA=("psk = \"$IKE_PSK\"" 'local_id = "gwA.lab"' 'remote_id = "gwB.lab"')
  authB=("psk = \"$IKE_PSK\"" 'local_id = "gwB.lab"' 'remote_id = "gwA.lab"')
fi
IKE_GLOBAL='nat_keepalive = 1' ike_config A "${common[@]}" "${authA[@]}" >"$NN_TMP/a.toml"
ike_config B "${common[@]}" "${authB[@]}" 'initiate = false' >"$NN_TMP/b.toml"
dp_check_configs

dp_capture_start

dp_start B "$NN_TMP/b.toml"
dp_start A "$NN_TMP/a.toml"
ike_check_child_up
nn_check "gwA: IKE SA established as initiator" grep -q "IKE SA established (initiator" "$NN_TMP/braiddA.log"
nn_check "gwB: IKE SA established as responder" grep -q "IKE SA established (responder" "$NN_TMP/braiddB.log"
nn_check "gwA: ESP SAs installed with $ESP" grep -q "ESP SAs installed (.*$ESP), sending to 10.99.0.2:4500" "$NN_TMP/braiddA.log"
nn_check "gwB: ESP SAs installed with $ESP" grep -q "ESP SAs installed (.*$ESP), sending to 10.99.0.1:4500" "$NN_TMP/braiddB.log"
nn_check "gwA: stats say established" test "$(ike_state A)" = established
nn_check "gwB: stats say established" test "$(ike_state B)" = established
if [ "$AUTH" = cert ]; then
  # The core logs a DN identity as dn:<DER hex>; remote_id named it as text.
  nn_check "gwB authenticated gwA by its certificate DN" grep -q "IKE SA established (responder, dn:30" "$NN_TMP/braiddB.log"
fi

nn_check "ping LAN A -> LAN B" nn_exec lanA ping -q -c 5 -i 0.2 -W 2 10.98.2.2
nn_check "ping LAN B -> LAN A" nn_exec lanB ping -q -c 5 -i 0.2 -W 2 10.98.1.2
nn_check "full-size ping (1438-byte packets, DF)" nn_exec lanA ping -q -c 2 -i 0.2 -W 2 -M do -s 1410 10.98.2.2

nn_check "2 MB TCP transfer LAN A -> LAN B arrives intact" dp_transfer lanA lanB 10.98.2.2 5001 2000000
nn_check "2 MB TCP transfer LAN B -> LAN A arrives intact" dp_transfer lanB lanA 10.98.1.2 5002 2000000

dp_refresh A
dp_refresh B
for s in A B; do
  drops=$(dp_sum $s '^rx\.drop\.(esp_|policy)')
  nn_check "gw$s: no ESP or policy drops ($drops)" test "$drops" -eq 0
  ike_check_path_healthy $s
done
# force_encap (default): gwA counts as NATed and keeps the mapping alive (RFC 3948 2.3).
nn_check "gwA sent NAT-keepalives ($(dp_counter A ike.keepalives_sent))" test "$(dp_counter A ike.keepalives_sent)" -ge 1
nn_check "gwB received them ($(dp_counter B rx.keepalives))" test "$(dp_counter B rx.keepalives)" -ge 1
nn_check "gwB opened packets ($(dp_counter B rx.opened))" test "$(dp_counter B rx.opened)" -gt 100
dp_capture_stop
other=$(tshark -r "$NN_TMP/wan.pcap" -Y 'ip && !(udp.port == 500 || udp.port == 4500)' 2>/dev/null | wc -l)
ike500=$(tshark -r "$NN_TMP/wan.pcap" -Y 'udp.port == 500 && isakmp' 2>/dev/null | wc -l)
nn_check "WAN: nothing but UDP 500/4500 ($other other frames)" test "$other" -eq 0
nn_check "WAN: IKE_SA_INIT on port 500 ($ike500 frames)" test "$ike500" -eq 2

ike_check_stop_a_deletes
nn_check "gwB: still running" dp_alive B
nn_check "braidd B exits 0 on SIGTERM" dp_stop B
nn_check "no key material in the logs" bash -c "! grep -qi 'key.*[0-9a-f]\{32\}' '$NN_TMP/braiddA.log' '$NN_TMP/braiddB.log'"
nn_finish
