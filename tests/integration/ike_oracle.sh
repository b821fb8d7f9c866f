#!/usr/bin/env bash
# tshark as an oracle for braidd's IKEv2 and ESP: two braidd sites with [ike] keylog; a WAN
# capture of the exchange (IKE_SA_INIT on 500, then IKE over 4500 with the non-ESP marker
# because of forced encapsulation, then ESP-in-UDP on 4500); tshark, given only the key log,
# must decrypt IKE_AUTH (identities, AUTH, SA, TS inside the SK payload) and verify every
# ESP ICV in both directions, and find no malformed frame and no expert warning.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../support/netns.sh"
. "$HERE/dataplane_lib.sh"
. "$HERE/ike_lib.sh"
ESP=${1:-aes256gcm16}

nn_init
[ -x "$BRAIDD" ] || nn_die "braidd not built: $BRAIDD"
command -v tshark >/dev/null || nn_die "tshark missing"
dp_topology
KEYS=$NN_TMP/keys.log
IKE_GLOBAL="keylog = \"$KEYS\"" ike_config A "psk = \"$IKE_PSK\"" 'local_id = "gwA.lab"' \
  'remote_id = "gwB.lab"' 'proposals = "aes256gcm16-prfsha256-x25519"' \
  "esp_proposals = \"$ESP\"" 'force_encap = true' >"$NN_TMP/a.toml"
ike_config B "psk = \"$IKE_PSK\"" 'local_id = "gwB.lab"' 'remote_id = "gwA.lab"' \
  'initiate = false' >"$NN_TMP/b.toml"

# One datagram per ESP packet on the capture tap (see dataplane_lib.sh).
dp_wan_udp_segmentation off
dp_capture_start
dp_start B "$NN_TMP/b.toml"
dp_start A "$NN_TMP/a.toml"
nn_check "tunnel up" ike_wait_up A 10
nn_check "ping LAN A -> LAN B" nn_exec lanA ping -q -c 5 -i 0.2 -W 2 10.98.2.2
nn_check "ping LAN B -> LAN A" nn_exec lanB ping -q -c 5 -i 0.2 -W 2 10.98.1.2
nn_check "braidd A exits 0 (sends Delete over 4500)" dp_stop A
# On a loaded machine tcpdump may write the last frames well after braidd exits: wait for
# the INFORMATIONAL exchange (its header is plaintext) before stopping the capture.
nn_wait_for 10 bash -c "tshark -r '$NN_TMP/wan.pcap' -Y 'isakmp.exchangetype == 37' 2>/dev/null | grep -q ." ||
  nn_log "no INFORMATIONAL exchange in the capture after 10 s"
dp_capture_stop

nn_check "key log is mode 0600" test "$(stat -c %a "$KEYS")" = 600
nn_check "key log has one ikev2_decryption_table line" test "$(grep -c '^ikev2_decryption_table:' "$KEYS")" -eq 1
nn_check "key log has two esp_sa lines" test "$(grep -c '^esp_sa:' "$KEYS")" -eq 2
nn_check "no key material in braidd's own log" bash -c "! grep -qF \"\$(grep -m1 '^esp_sa' '$KEYS' | cut -d, -f6 | tr -d '\"0x')\" '$NN_TMP/braiddA.log'"
args=()
while IFS= read -r l; do
  case $l in '#'* | '') ;; *) args+=(-o "uat:$l") ;; esac
done <"$KEYS"
ts() {
  tshark -r "$NN_TMP/wan.pcap" -o esp.enable_encryption_decode:TRUE \
    -o esp.enable_authentication_check:TRUE "${args[@]}" "$@" 2>/dev/null
}
count() { ts -Y "$1" | wc -l; }
PCAP=$NN_TMP/wan.pcap
nn_check "IKE_SA_INIT on UDP 500 ($(count 'udp.port == 500 && isakmp.exchangetype == 34'))" \
  test "$(count 'udp.port == 500 && isakmp.exchangetype == 34')" -eq 2
nn_check "IKE_AUTH on UDP 4500 behind the non-ESP marker ($(count 'udp.port == 4500 && isakmp.exchangetype == 35'))" \
  test "$(count 'udp.port == 4500 && isakmp.exchangetype == 35')" -eq 2
nn_check "no IKE_AUTH on UDP 500" test "$(count 'udp.port == 500 && isakmp.exchangetype == 35')" -eq 0
# Decrypted inner payloads of IKE_AUTH: IDi/IDr (35/36), AUTH (39), TSi/TSr (44/45).
ids=$(ts -Y 'isakmp.exchangetype == 35' -T fields -e isakmp.id.data.fqdn 2>/dev/null | tr '\t' ' ')
nn_log "decrypted IKE_AUTH identities: $(echo $ids)"
nn_check "tshark decrypts IDi/IDr in IKE_AUTH" bash -c "echo '$ids' | grep -q gwA.lab && echo '$ids' | grep -q gwB.lab"
nn_check "tshark decrypts AUTH payloads ($(count 'isakmp.exchangetype == 35 && isakmp.auth.method == 2'))" \
  test "$(count 'isakmp.exchangetype == 35 && isakmp.auth.method == 2')" -eq 2
nn_check "tshark decrypts the traffic selectors" \
  test "$(count 'isakmp.exchangetype == 35 && isakmp.ts.start_ipv4 == 10.98.1.0')" -eq 2
nn_check "tshark decrypts the INFORMATIONAL Delete" test "$(count 'isakmp.exchangetype == 37 && isakmp.delete.protoid == 1')" -ge 1
esp_all=$(count 'esp')
ab=$(count 'esp.icv_good && ip.src == 10.99.0.1')
ba=$(count 'esp.icv_good && ip.src == 10.99.0.2')
nn_check "ESP ICVs verify A -> B ($ab)" test "$ab" -ge 5
nn_check "ESP ICVs verify B -> A ($ba)" test "$ba" -ge 5
nn_check "every ESP frame verifies ($((ab + ba)) of $esp_all)" test $((ab + ba)) -eq "$esp_all"
nn_check "decrypted ESP carries the LAN pings" test "$(count 'esp.icv_good && icmp && ip.src == 10.98.1.2')" -ge 5
bad=$(count '_ws.malformed || _ws.expert.severity >= warning')
[ "$bad" -eq 0 ] || ts -Y '_ws.malformed || _ws.expert.severity >= warning' | head -5 >&2
nn_check "no malformed frame and no expert warning ($bad)" test "$bad" -eq 0
nn_finish
