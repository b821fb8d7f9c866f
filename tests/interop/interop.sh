#!/usr/bin/env bash
# IKEv2 interop: braidd (DUT, in gwA) against strongSwan 5.9.8 charon (REF, in gwB, with
# kernel-libipsec and ESP-in-UDP), in network namespaces.
#
#   interop.sh [init|resp|all]      init: DUT initiates, REF responds; resp: the reverse
#   DUT=strongswan interop.sh all   harness self-test: a second charon plays the DUT
#
# Per case: both sides configured, the initiator starts, both logs must show the expected
# lines (strongSwan's from the shared lab README, braid's from braidd's log), the responder's
# notify is checked in the WAN capture (tshark; IKE_AUTH decrypted with the keys REF logs),
# and for tunnels: ping and a 2 MB TCP transfer in both directions between the LANs, and the
# negotiated suite as strongSwan lists it. One charon per side for the whole run.
# Env: IO_ONLY=<regex> runs only cases whose name matches; NN_KEEP=1 keeps the scratch dir.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NN_PREFIX=${NN_PREFIX:-io$$-}   # namespaces io<pid>-gwA..., scratch dir /tmp/io<pid>-*
. "$HERE/../support/netns.sh"
. "$HERE/../integration/dataplane_lib.sh"
. "$HERE/interop_lib.sh"
DUT=${DUT:-braid}
[ -r "$HERE/dut_$DUT.sh" ] || nn_die "unknown DUT '$DUT' (braid|strongswan)"
# shellcheck source=dut_braid.sh
. "$HERE/dut_$DUT.sh"
GROUP=${1:-all}
IO_ONLY=${IO_ONLY:-.}

# ---- the case table --------------------------------------------------------------------------
# ROLE is the DUT's role. OUTCOME: up | psk (wrong PSK) | ike (IKE proposal mismatch) |
# id (unknown IDi) | esp (ESP proposal mismatch) | ts (TS mismatch) | silent (REF drops IKE).
# EXTRA "lifecycle": after the tunnel is up, REF rekeys the IKE SA, rekeys the Child SA and
# adds a second Child SA (CREATE_CHILD_SA). EXTRA "ports": REF's child has port-restricted
# selectors (local_ts 10.98.2.0/24[tcp/5201], remote_ts 10.98.1.0/24[tcp]); only that traffic
# may pass (RFC 4301 5.1/5.2), the rest is dropped and counted by braid (braid DUT only).
# Positive matrix: every auth method, ESP cipher and group 19/31 appear in both roles; the
# cloud-gateway groups 21 (ECP 521) and 15 (MODP 3072) once each.
CASES=(
  # role name                        outcome auth  IKE proposal                       ESP          extra
  "init  init-psk-aes256gcm-x25519    up     psk   aes256gcm16-prfsha256-x25519        aes256gcm16  lifecycle"
  "init  init-ecdsa-aes128gcm-ecp256  up     ecdsa aes128gcm16-prfsha256-ecp256        aes128gcm16  -"
  "init  init-rsa-chacha20-x25519     up     rsa   chacha20poly1305-prfsha512-x25519   chacha20poly1305 -"
  "init  init-psk-aes256gcm-ecp521    up     psk   aes256gcm16-prfsha384-ecp521        aes256gcm16  -"
  "init  init-fail-wrong-psk          psk    psk   aes256gcm16-prfsha256-x25519        aes256gcm16  -"
  "init  init-fail-ike-proposal       ike    psk   aes256gcm16-prfsha256-x25519        aes256gcm16  -"
  "init  init-fail-unknown-id         id     psk   aes256gcm16-prfsha256-x25519        aes256gcm16  -"
  "init  init-fail-esp-proposal       esp    psk   aes256gcm16-prfsha256-x25519        aes256gcm16  -"
  "init  init-fail-ts                 ts     psk   aes256gcm16-prfsha256-x25519        aes256gcm16  -"
  "init  init-fail-not-answering      silent psk   aes256gcm16-prfsha256-x25519        aes256gcm16  -"
  "init  init-psk-ports-tcp5201       up     psk   aes256gcm16-prfsha256-x25519        aes256gcm16  ports"
  "resp  resp-psk-chacha20-ecp256     up     psk   chacha20poly1305-prfsha384-ecp256   chacha20poly1305 lifecycle"
  "resp  resp-ecdsa-aes256gcm-x25519  up     ecdsa aes256gcm16-prfsha256-x25519        aes256gcm16  -"
  "resp  resp-rsa-aes128gcm-ecp256    up     rsa   aes128gcm16-prfsha256-ecp256        aes128gcm16  -"
  "resp  resp-psk-aes128gcm-modp3072  up     psk   aes128gcm16-prfsha256-modp3072      aes128gcm16  -"
  "resp  resp-fail-wrong-psk          psk    psk   aes256gcm16-prfsha256-x25519        aes256gcm16  -"
  "resp  resp-fail-ike-proposal       ike    psk   aes256gcm16-prfsha256-x25519        aes256gcm16  -"
  "resp  resp-fail-unknown-id         id     psk   aes256gcm16-prfsha256-x25519        aes256gcm16  -"
  "resp  resp-fail-esp-proposal       esp    psk   aes256gcm16-prfsha256-x25519        aes256gcm16  -"
  "resp  resp-fail-ts                 ts     psk   aes256gcm16-prfsha256-x25519        aes256gcm16  -"
)

# strongSwan's names in `swanctl --list-sas` for the proposal tokens used above.
ss_name() {
  case $1 in
    aes256gcm16) echo AES_GCM_16-256 ;; aes128gcm16) echo AES_GCM_16-128 ;;
    chacha20poly1305) echo CHACHA20_POLY1305 ;;
    prfsha256) echo PRF_HMAC_SHA2_256 ;; prfsha384) echo PRF_HMAC_SHA2_384 ;;
    prfsha512) echo PRF_HMAC_SHA2_512 ;;
    x25519) echo CURVE_25519 ;; ecp256) echo ECP_256 ;; ecp521) echo ECP_521 ;;
    modp3072) echo MODP_3072 ;;
  esac
}
suite_ss() { local t out=""; for t in ${1//-/ }; do out+="$(ss_name "$t")/"; done; echo "${out%/}"; }

# Notify the responder must send per outcome (RFC 7296 3.10.1), and in which exchange.
notify_of() {
  case $1 in
    psk | id) echo "24 AUTHENTICATION_FAILED 35" ;;
    ike) echo "14 NO_PROPOSAL_CHOSEN 34" ;;
    esp) echo "14 NO_PROPOSAL_CHOSEN 35" ;;
    ts) echo "38 TS_UNACCEPTABLE 35" ;;
    *) echo "" ;;
  esac
}

ref_log() { io_charon_since "$REF" "$REF_MARK"; }

# tshark: the responder's notify in its response, IKE_AUTH decrypted with REF's logged keys.
check_notify() {   # check_notify PCAP OUTCOME RESPONDER_ADDR
  local pcap=$1 outcome=$2 raddr=$3 spec num name exch keys uat=() n
  keys=$(ref_keys "$pcap")
  [ -n "$keys" ] && uat=(-o "$keys")
  # Decryption worked if the IKE_AUTH frames show inner payloads (AUTH 39 or Notify 41).
  local inner bad how="IKE_AUTH not decrypted (no keys)"
  if [ -n "$keys" ]; then
    inner=$(tshark -r "$pcap" "${uat[@]}" -Y 'isakmp.exchangetype == 35 && (isakmp.typepayload == 39 || isakmp.typepayload == 41)' 2>/dev/null | wc -l)
    if [ "$inner" -gt 0 ]; then how="IKE_AUTH decrypted with REF's keys"; else how="IKE_AUTH not decryptable by this tshark"; fi
  fi
  bad=$(tshark -r "$pcap" "${uat[@]}" -Y '_ws.malformed || _ws.expert.severity >= error' 2>/dev/null | wc -l)
  io_check "capture: no malformed IKE frames ($bad; $how)" test "$bad" = 0
  spec=$(notify_of "$outcome")
  [ -n "$spec" ] || return 0
  read -r num name exch <<<"$spec"
  n=$(tshark -r "$pcap" "${uat[@]}" \
    -Y "isakmp.exchangetype == $exch && ip.src == $raddr && isakmp.notify.msgtype == $num" 2>/dev/null | wc -l)
  if [ "$n" -gt 0 ]; then
    io_ok "capture: $raddr sent $name ($num) in exchange $exch (tshark; $how)"
  else
    io_bad "capture: no $name ($num) from $raddr in exchange $exch"
    tshark -r "$pcap" "${uat[@]}" -Y isakmp 2>/dev/null | sed 's/^/      /' | head -12
  fi
}
# uat:ikev2_decryption_table entry for the (single) IKE SA of this case from REF's ike=4 log.
ref_keys() {
  local pcap=$1 spis spii spir
  spis=$(tshark -r "$pcap" -Y 'isakmp.exchangetype == 34 && isakmp.rspi != 00:00:00:00:00:00:00:00' \
    -T fields -e isakmp.ispi -e isakmp.rspi 2>/dev/null | head -1)
  [ -n "$spis" ] || return 0
  read -r spii spir <<<"$spis"
  ref_log | python3 "$HERE/ike_keys.py" "${spii//:/}" "${spir//:/}"
}

# Both sides derived the same IKE keys (SK_ei, SK_er): REF's charon log vs the DUT's key log.
check_keys() {
  local pcap=$1 spis spii spir r d
  spis=$(tshark -r "$pcap" -Y 'isakmp.exchangetype == 34 && isakmp.rspi != 00:00:00:00:00:00:00:00' \
    -T fields -e isakmp.ispi -e isakmp.rspi 2>/dev/null | head -1)
  [ -n "$spis" ] || return 0
  read -r spii spir <<<"$spis"
  spii=${spii//:/} spir=${spir//:/}
  r=$(ref_log | python3 "$HERE/ike_keys.py" "$spii" "$spir" | cut -d, -f1-4)
  r=${r#uat:}
  d=$(dut_ike_keys "$spii" "$spir" | cut -d, -f1-4)
  if [ -z "$r" ] || [ -z "$d" ]; then
    io_bad "IKE keys for $spii/$spir missing (REF log: ${r:+found}${r:-none}, DUT: ${d:+found}${d:-none})"
  else
    io_check "DUT and REF derived the same SK_ei/SK_er for IKE SA $spii/$spir" test "$r" = "$d"
  fi
}

run_case() {
  local role=$1 name=$2 outcome=$3 auth=$4 ike=$5 esp=$6 extra=$7
  io_case_begin "$name"
  # Side A (DUT) and side B (REF) start identical; the outcome's fault goes to the initiator,
  # except the PSK which differs on side A (whoever verifies, it is a mismatch).
  local a_ike=$ike a_esp=$esp a_psk=$IO_PSK a_id=gwA.lab a_lts=10.98.1.0/24
  local b_ike=$ike b_esp=$esp b_id=gwB.lab b_lts=10.98.2.0/24 b_rts=10.98.1.0/24
  [ "$extra" = ports ] && b_lts="10.98.2.0/24[tcp/5201]" b_rts="10.98.1.0/24[tcp]"
  local i=a; [ "$role" = resp ] && i=b
  local bad_ike=chacha20poly1305-prfsha256-x25519 ok_ike=aes256gcm16-aes128gcm16-prfsha256-x25519-ecp256
  case $outcome in
    psk) a_psk=$IO_BAD_PSK ;;
    ike) if [ $i = a ]; then a_ike=$bad_ike b_ike=$ok_ike; else b_ike=$bad_ike a_ike=$ok_ike; fi ;;
    id) eval "${i}_id=stranger.lab" ;;
    esp) if [ $i = a ]; then a_esp=chacha20poly1305 b_esp=aes256gcm16-aes128gcm16
         else b_esp=chacha20poly1305 a_esp=aes256gcm16-aes128gcm16; fi ;;
    ts) eval "${i}_lts=10.77.0.0/24" ;;
  esac
  local ref_role=resp; [ "$role" = resp ] && ref_role=init
  local raddr=10.99.0.2
  [ "$role" = resp ] && raddr=10.99.0.1

  io_charon_reset "$REF"
  IO_CHILD2=""; [ "$extra" = lifecycle ] && IO_CHILD2="10.98.2.0/25 10.98.1.0/25"
  io_swanctl_conf ref B "$ref_role" "$auth" "$b_ike" "$b_esp" "$IO_PSK" "$b_id" \
    gwA.lab "$b_lts" "$b_rts" yes \
    >"$REF/swanctl/swanctl.conf"
  IO_CHILD2=""
  io_charon_load "$REF"
  REF_MARK=$(io_charon_log_mark "$REF")

  local pcap=$NN_TMP/$name.pcap cap
  nn_bg gwB "$NN_TMP/tcpdump-$name.log" tcpdump -i wan0 -n -s 0 -U --immediate-mode -w "$pcap" 'udp port 500 or (udp port 4500 and udp[8:4] = 0)'
  cap=$NN_LAST_PID
  nn_wait_for 5 grep -q listening "$NN_TMP/tcpdump-$name.log" || io_bad "tcpdump did not start"
  if [ "$outcome" = silent ]; then
    nn_exec gwB nft -f - <<'NFT'
table inet io_silent {
  chain in { type filter hook input priority 0; udp dport { 500, 4500 } drop; }
}
NFT
  fi
  # braidd initiates at start-up: start it only once the capture and the drop rule are in place.
  dut_case "$role" "$auth" "$a_ike" "$a_esp" "$a_psk" "$a_id" gwB.lab "$a_lts" 10.98.2.0/24

  if [ "$role" = init ]; then
    dut_initiate
  else
    (ss_swanctl "$REF" --initiate --child net --timeout 15 >"$NN_TMP/ref-initiate.out" 2>&1 &)
  fi

  local wait=15; [ "$outcome" = silent ] && wait=${DUT_SILENT_WAIT:-30}
  io_expect_log REF ref_log "$wait" < <(io_ss_expect "$ref_role" "$outcome")
  io_expect_log DUT dut_log "$wait" < <(dut_expect "$role" "$outcome")
  sleep 0.3
  io_forbid_log REF ref_log < <(io_ss_forbid "$ref_role" "$outcome")
  io_forbid_log DUT dut_log < <(dut_forbid "$role" "$outcome")

  local sas; sas=$(ss_swanctl "$REF" --list-sas 2>/dev/null)
  case $outcome in
    up)
      local want_ike want_esp
      want_ike=$(suite_ss "$ike") want_esp=$(suite_ss "$esp")
      io_check "REF lists IKE SA ESTABLISHED with $want_ike" \
        bash -c "grep -q 'ESTABLISHED' <<<'$sas' && grep -qF '$want_ike' <<<'$sas'"
      io_check "REF lists Child SA INSTALLED, TUNNEL-in-UDP, $want_esp" \
        bash -c "grep -q 'INSTALLED, TUNNEL-in-UDP' <<<'$sas' && grep -qF ' $want_esp' <<<'$sas'"
      if [ "$extra" = ports ]; then ports_traffic; else io_traffic; fi
      dut_checks "$role" "$outcome"
      [ "$extra" = lifecycle ] && lifecycle "$role"
      ;;
    esp | ts)
      io_check "REF keeps the IKE SA (ESTABLISHED, no Child SA installed)" \
        bash -c "grep -q ESTABLISHED <<<'$sas' && ! grep -q INSTALLED <<<'$sas'"
      io_no_traffic
      ;;
    *)
      io_check "REF has no IKE SA left" bash -c "! grep -q ESTABLISHED <<<'$sas'"
      io_no_traffic
      ;;
  esac
  nn_kill_pid "$cap"
  check_notify "$pcap" "$outcome" "$raddr"
  check_keys "$pcap"
  [ "$outcome" = up ] || dut_checks "$role" "$outcome"
  [ "$outcome" = silent ] && nn_exec gwB nft delete table inet io_silent
  io_check "DUT still running" dut_alive
  local m_end; m_end=$(io_charon_log_mark "$REF")
  dut_end_case
  if [ "$outcome" = up ] || [ "$outcome" = esp ] || [ "$outcome" = ts ]; then
    # The DUT deletes its IKE SA when stopped (RFC 7296 1.4.1), so REF tears down at once.
    io_expect_log REF "io_charon_since '$REF' $m_end" 5 < <(echo 'received DELETE for IKE_SA ref\[[0-9]+\]')
  fi
  io_charon_reset "$REF"
  io_case_end "$(case_note "$role" "$outcome" "$auth" "$ike" "$esp")"
}

case_note() {
  local role=$1 outcome=$2 auth=$3 ike=$4 esp=$5
  local who="$DUT_SHORT initiator -> strongSwan responder"
  [ "$role" = resp ] && who="strongSwan initiator -> $DUT_SHORT responder"
  case $outcome in
    up) echo "$who; $auth; IKE $ike; ESP $esp; tunnel up, ping+TCP both ways" ;;
    silent) echo "$who; responder drops IKE; initiator gives up" ;;
    *) echo "$who; $outcome mismatch; $(notify_of "$outcome" | awk '{print $2}') seen" ;;
  esac
}

# REF-driven lifecycle on an established tunnel (REF plays REF_ROLE of the IKE SA).
lifecycle() {
  local role=$1 m
  echo "  -- lifecycle: REF rekeys the IKE SA"
  m=$(io_charon_log_mark "$REF")
  ss_swanctl "$REF" --rekey --ike ref >/dev/null 2>&1
  io_expect_log REF "io_charon_since '$REF' $m" 10 < <(dut_expect "$role" ike-rekey-ref)
  io_expect_log DUT dut_log 5 < <(dut_expect "$role" ike-rekey)
  io_traffic_quick "after the IKE SA rekey attempt"
  echo "  -- lifecycle: REF rekeys the Child SA (CREATE_CHILD_SA with REKEY_SA)"
  m=$(io_charon_log_mark "$REF")
  ss_swanctl "$REF" --rekey --child net >/dev/null 2>&1
  io_expect_log REF "io_charon_since '$REF' $m" 10 < <(printf '%s\n' 'outbound CHILD_SA net\{[0-9]+\} established' 'closing CHILD_SA net\{[0-9]+\}')
  io_expect_log DUT dut_log 5 < <(dut_expect "$role" child-rekeyed)
  io_traffic_quick "after Child SA rekey"

  echo "  -- lifecycle: REF adds a second Child SA (CREATE_CHILD_SA, 10.98.2.0/25 === 10.98.1.0/25)"
  m=$(io_charon_log_mark "$REF")
  ss_swanctl "$REF" --initiate --child net2 --timeout 10 >/dev/null 2>&1
  io_expect_log REF "io_charon_since '$REF' $m" 10 < <(printf '%s\n' 'CHILD_SA net2\{[0-9]+\} established with SPIs .* 10\.98\.2\.0/25 === 10\.98\.1\.0/25')
  io_expect_log DUT dut_log 5 < <(dut_expect "$role" child-added)
  io_traffic_quick "with two Child SAs"
  dut_lifecycle_checks
}
# Traffic against REF's port-restricted child (EXTRA "ports"): braid narrowed to
# 10.98.1.0/24[tcp] === 10.98.2.0/24[tcp/5201]; TCP to lanB's port 5201 passes, TCP from
# lanB's port 5201 too (braid's inbound check passes it); ICMP, UDP and TCP to another port
# do not, and braid counts each packet it kept out of the Child SA (tx.drop.selector).
ports_traffic() {
  local d0 d1 d2 rx
  io_expect_log DUT dut_log 1 < <(echo "Child SA '[^']*' up, SPIs in [0-9a-f]+ out [0-9a-f]+, 10\.98\.1\.0/24\[6\] === 10\.98\.2\.0/24\[6/5201\]")
  io_tcp lanA lanB 10.98.2.2 5201
  ports_tcp_from_5201
  dut_refresh_stats; d0=$(dut_stat tx.drop.selector)
  io_check "no ping lanA -> lanB (ICMP is outside the selectors)" \
    bash -c "! ip netns exec $(nn lanA) ping -q -c 2 -i 0.2 -W 1 10.98.2.2"
  dut_refresh_stats; d1=$(dut_stat tx.drop.selector)
  # 3 UDP datagrams to port 5201, then a TCP connection to port 5202 (SYN dropped).
  io_check "no TCP lanA -> lanB:5202 (port outside the selectors)" \
    ip netns exec "$(nn lanA)" timeout 10 python3 -c 'import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3): u.sendto(b"x" * 100, ("10.98.2.2", 5201))
try:
    socket.create_connection(("10.98.2.2", 5202), timeout=1)
except OSError:
    sys.exit(0)
sys.exit(1)'
  dut_refresh_stats; d2=$(dut_stat tx.drop.selector)
  rx=$(dut_stat rx.drop.selector)
  io_check "braid tx.drop.selector: ping +$((d1 - d0)) (>= 2), UDP + TCP:5202 +$((d2 - d1)) (>= 4)" \
    test $((d1 - d0)) -ge 2 -a $((d2 - d1)) -ge 4
  io_check "braid rx.drop.selector ${rx:-0}: REF sent nothing outside the selectors" test "${rx:-0}" = 0
}
# A TCP connection from lanB's port 5201 to lanA:5001 carrying 200 kB intact (SO_REUSEADDR:
# lanB's side of the first transfer may still hold port 5201).
ports_tcp_from_5201() {
  local out=$NN_TMP/tcp-ports.out pid sent got
  rm -f "$out"
  nn_bg lanA "$out" python3 "$DP_SRC/tests/integration/dataplane_tool.py" tcp-server 5001
  pid=$NN_LAST_PID
  if ! nn_wait_for 15 bash -c "ss -N $(nn lanA) -ltnH 'sport = :5001' | grep -q ."; then
    nn_kill_pid "$pid"
    io_bad "TCP server in lanA did not start"
    return
  fi
  sent=$(timeout 20 ip netns exec "$(nn lanB)" python3 -c 'import hashlib, socket
data = bytes(range(256)) * 800
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.settimeout(10)
s.bind(("10.98.2.2", 5201))
s.connect(("10.98.1.2", 5001))
s.sendall(data)
s.close()
print(hashlib.sha256(data).hexdigest(), len(data))' 2>&1)
  [ -n "$sent" ] && nn_wait_for 5 test -s "$out"
  got=$(cat "$out" 2>/dev/null)
  nn_kill_pid "$pid"
  if [ -n "$sent" ] && [ "$sent" = "$got" ]; then
    io_ok "TCP lanB:5201 -> lanA:5001 (source port in the selectors): 200 kB intact"
  else
    io_bad "TCP lanB:5201 -> lanA:5001: sent '$(echo "$sent" | tail -1)' got '$got'"
  fi
}
io_traffic_quick() {
  io_check "ping lanA -> lanB $1" nn_exec lanA ping -q -c 2 -i 0.2 -W 2 10.98.2.2
  io_check "ping lanB -> lanA $1" nn_exec lanB ping -q -c 2 -i 0.2 -W 2 10.98.1.2
}

# ---- run -------------------------------------------------------------------------------------
nn_init
REF=$NN_TMP/ref-charon
ss_check_deps
command -v tshark >/dev/null || nn_die "tshark missing"
t0=$(date +%s)
dp_topology
io_no_traffic
io_make_pki
io_start_charon B "$REF"
dut_setup
nn_log "REF: $(/usr/lib/ipsec/charon --version 2>&1) in $(nn gwB); DUT: $(dut_describe) in $(nn gwA)"

for c in "${CASES[@]}"; do
  # shellcheck disable=SC2086
  set -- $c
  [ "$GROUP" = all ] || [ "$GROUP" = "$1" ] || continue
  [[ $2 =~ $IO_ONLY ]] || continue
  [ "$7" = ports ] && [ "$DUT" != braid ] && continue   # braid's selector counters
  run_case "$@"
done
io_summary "DUT $(dut_describe), group $GROUP, $(($(date +%s) - t0)) s"
nn_finish
