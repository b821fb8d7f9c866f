#!/usr/bin/env bash
# IKEv2 through the lab's carrier NAT, and a NAT rebinding (RFC 7296 2.23, RFC 3948):
#  1. braidd on both gateways, IKEv2 over the lte uplink only (spoke A behind the NAT
#     initiates, hub B responds with remote_address "%any"); the lte profile's 45 +-15 ms
#     delay, with its 1 % bursty loss lowered to 0.1 % random so the counts below are exact.
#  2. Traffic both ways (UDP probes, 100 pps each) while `lab.sh rebind-lte` deletes the NAT
#     mapping: the spoke's next packet leaves from a new public port. The hub must move its
#     ESP to that port after the first authenticated, new ESP packet from it, so B -> A loses
#     only what was in flight (bounded gap), and it logs and counts the endpoint change.
#  3. What must NOT move the endpoint: a replayed ESP packet and a forged one (bad ICV) sent
#     from another port of the NAT address; both are dropped and counted.
# Skipped (77) until edge/braidd is in the build tree.
SRC=${BRAID_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/tests/support/netns.sh"
. "$SRC/deploy/lab/lab-lib.sh"
export LAB_BRAIDD=${LAB_BRAIDD:-${BRAID_BUILD_DIR:-/nonexistent}/edge/braidd}
if [ ! -x "$LAB_BRAIDD" ]; then echo "SKIP: $LAB_BRAIDD not built"; exit 77; fi
nn_init
lab_up
lab_wanem set lte burst=off loss=0.1% >/dev/null
ST=$LAB_STATE_DIR
# stat SITE NAME: from a stats file braidd has just rewritten (SIGUSR1)
st() { lab tunnel status >/dev/null 2>&1; awk -v k="$2" '$1 == k {print $2; exit}' "$ST/braidd-$1.stats"; }
lanping() { lab_exec a-lan ping -c "${1:-3}" -i 0.1 -W 2 -q 10.10.2.10 >/dev/null 2>&1; }

# 1. The tunnel.
nn_check "IKEv2 tunnel over lte comes up" lab tunnel up lte
lab tunnel status
nn_check "spoke: IKE SA established" [ "$(st a ike.path.site-b/lte.state)" = established ]
nn_check "hub: IKE SA established" [ "$(st b ike.path.site-a/lte.state)" = established ]
nn_check "spoke: NAT detected on our side (nat local)" [ "$(st a ike.path.site-b/lte.nat)" = local ]
nn_check "hub: NAT detected on the peer's side (nat remote)" [ "$(st b ike.path.site-a/lte.nat)" = remote ]
before=$(st b ike.path.site-a/lte.remote)
nn_check "hub: ESP goes to the carrier NAT's address ($before)" [ "${before%%:*}" = 172.16.3.254 ]
nn_check "spoke: IKE floated to 4500 (NAT-T)" grep -q 'IKE SA established (initiator, site-b.lab, NAT-T)' "$ST/braidd-a.log"
nn_check "LAN A reaches LAN B over lte" nn_wait_for 5 lanping 1
changes0=$(st b ike.peer_endpoint_changes)

# 2. Rebinding under traffic: A -> B and B -> A at 100 pps for 5 s, NAT flushed at ~1.5 s.
probe=$(lab_probe_bin)
lab_exec b-lan "$probe" recv --bind 10.10.2.10:7001 --duration 20s --idle 2s --ready "$NN_TMP/r1" >"$NN_TMP/ab" 2>&1 &
r1=$!
lab_exec a-lan "$probe" recv --bind 10.10.1.10:7002 --duration 20s --idle 2s --ready "$NN_TMP/r2" >"$NN_TMP/ba" 2>&1 &
r2=$!
nn_wait_for 5 test -f "$NN_TMP/r1" -a -f "$NN_TMP/r2" || nn_die "probe receivers did not start"
lab_exec a-lan "$probe" send --to 10.10.2.10:7001 --pps 100 --count 500 --size 200 >/dev/null 2>&1 &
s1=$!
lab_exec b-lan "$probe" send --to 10.10.1.10:7002 --pps 100 --count 500 --size 200 >/dev/null 2>&1 &
s2=$!
sleep 1.5
lab rebind-lte
wait "$s1" "$s2" "$r1" "$r2"
ab=$(tr ' ' '\n' <"$NN_TMP/ab")
ba=$(tr ' ' '\n' <"$NN_TMP/ba")
echo "A->B: received $(kv received <<<"$ab") lost $(kv lost <<<"$ab") in $(kv bursts <<<"$ab") gap(s), owd p50 $(kv owd_p50_ms <<<"$ab") ms"
echo "B->A: received $(kv received <<<"$ba") lost $(kv lost <<<"$ba") in $(kv bursts <<<"$ba") gap(s), owd p50 $(kv owd_p50_ms <<<"$ba") ms"
after=$(st b ike.path.site-a/lte.remote)
echo "hub's ESP endpoint for the spoke: $before -> $after"
nn_check "the NAT gave the spoke a new public port" [ "${after%%:*}" = 172.16.3.254 -a "$after" != "$before" ]
nn_check "hub: authenticated ESP moved the path ($(st b ike.esp_endpoint_updates) update)" \
  [ "$(st b ike.esp_endpoint_updates)" -ge 1 ]
nn_check "hub: counted as ike.peer_endpoint_changes" [ "$(st b ike.peer_endpoint_changes)" -gt "$changes0" ]
nn_check "hub: logged the new endpoint" grep -q "ESP now sent to $after" "$ST/braidd-b.log"
nn_check "hub: logged why (authenticated ESP from the new port)" \
  grep -q "authenticated ESP (SPI 0x[0-9a-f]*) from $after, was $before" "$ST/braidd-b.log"
nn_check "spoke did not move (it is the NATed side)" [ "$(st a ike.esp_endpoint_updates)" = 0 ]
# B -> A loses what the NAT dropped before the hub learnt the new port: the packets sent
# after the flush until the first A -> B packet (in flight already) reached the hub.
nn_check "A -> B: at most 5 of 500 lost ($(kv lost <<<"$ab"))" fcmp "$(kv lost <<<"$ab") <= 5"
nn_check "B -> A resumed within 0.3 s ($(kv lost <<<"$ba") of 500 lost at 100 pps)" fcmp "$(kv lost <<<"$ba") <= 30"
nn_check "B -> A: all but that gap arrived ($(kv received <<<"$ba"))" fcmp "$(kv received <<<"$ba") >= 470"
nn_check "ping LAN A -> LAN B after the rebinding: 10 of 10" lanping 10

# 3. Neither a replayed nor a forged ESP packet from another port may move the endpoint.
lab_exec wan timeout 3 tcpdump -ni br-lte -c 1 -w "$NN_TMP/esp.pcap" \
  "udp and src host 172.16.3.254 and dst port 4500 and udp[8:4] != 0 and greater 100" >/dev/null 2>&1 &
tp=$!
sleep 0.5
lanping 2
wait "$tp"
esp=$(tshark -r "$NN_TMP/esp.pcap" -T fields -e udp.payload 2>/dev/null | head -n1)
nn_check "captured one ESP packet of the spoke (${#esp} hex digits)" [ "${#esp}" -gt 100 ]
replay0=$(st b rx.drop.esp_replay); icv0=$(st b rx.drop.esp_icv); upd0=$(st b ike.esp_endpoint_updates)
forged=${esp:0:8}7ffffff0$(head -c $(( ${#esp} / 2 - 8 )) /dev/urandom | od -An -tx1 | tr -d ' \n')
for pkt in "$esp" "$forged"; do
  lab_exec wan python3 -c 'import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
s.bind(("172.16.3.254",40999)); s.sendto(bytes.fromhex(sys.argv[1]),("172.16.3.2",4500))' "$pkt"
done
sleep 0.3
nn_check "replayed packet dropped as a replay" [ "$(st b rx.drop.esp_replay)" -gt "$replay0" ]
nn_check "forged packet dropped on its ICV" [ "$(st b rx.drop.esp_icv)" -gt "$icv0" ]
nn_check "neither moved the endpoint ($(st b ike.path.site-a/lte.remote))" \
  [ "$(st b ike.path.site-a/lte.remote)" = "$after" -a "$(st b ike.esp_endpoint_updates)" = "$upd0" ]
nn_check "the tunnel still works" lanping 5

nn_check "tunnel down" lab tunnel down
nn_finish
