#!/usr/bin/env bash
# MOBIKE (RFC 4555) against strongSwan (issue 14) and the re-establishment without it (issue
# 12). braidd in gwA (uplink "fiber", follow_address = true) to charon (kernel-libipsec,
# mobike = yes) in gwB. While a 50 packets/s UDP stream runs lanA -> lanB through the tunnel,
# gwA's WAN address is renumbered (the new address added, the old one deleted; DHCP-like):
#   1. mobike: braid sends UPDATE_SA_ADDRESSES from the new address; charon logs it and moves
#      the IKE SA; braid logs the move; the same IKE SA (SPIs in swanctl --list-sas) and no
#      second authentication; the stream resumes, its longest gap is measured and bounded;
#   2. braid with mobike = false: the IKE SA is re-established from the new address (a new
#      IKE SA at charon), the stream resumes; gap reported;
#   3. braid to braid: charon stopped, a second braidd in gwB (responder, remote "%any") takes
#      braid A's UPDATE_SA_ADDRESSES; same checks on both braid logs, gap reported.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NN_PREFIX=${NN_PREFIX:-mk$$-}
. "$HERE/../support/netns.sh"
. "$HERE/../integration/dataplane_lib.sh"
. "$HERE/interop_lib.sh"
. "$DP_SRC/deploy/lab/lab-lib.sh"

PSK=mobike-interop-psk-0123456789abcdef0123456789
GAP_BOUND_MS=${MK_GAP_BOUND_MS:-3000}
REAUTH_GAP_BOUND_MS=${MK_REAUTH_GAP_BOUND_MS:-10000}

mk_swanctl_conf() {
  cat <<EOF
connections {
  hq {
    version = 2
    local_addrs = 10.99.0.2
    remote_addrs = %any
    encap = yes
    mobike = yes
    proposals = aes256gcm16-prfsha256-x25519
    dpd_delay = 0
    rekey_time = 0
    local { auth = psk
      id = gwB.lab }
    remote { auth = psk
      id = gwA.lab }
    children {
      net {
        local_ts = 10.98.2.0/24
        remote_ts = 10.98.1.0/24
        esp_proposals = aes256gcm16
        rekey_time = 0
        start_action = none
      }
    }
  }
}
secrets {
  ike-gwA { id = gwA.lab
    secret = "$PSK" }
}
EOF
}

mk_braid_conf() {   # mk_braid_conf LOCAL_ADDRESS MOBIKE(true|false)
  cat <<EOF
[log]
level = "info"

[overlay]
device = "braid0"
mtu = 1400
local_subnets = ["10.98.1.0/24"]

[[uplink]]
name = "fiber"
local_address = "$1"
follow_address = true

[[peer]]
name = "hq"
remote_subnets = ["10.98.2.0/24"]

[peer.ike]
proposals = "aes256gcm16-prfsha256-x25519"
esp_proposals = "aes256gcm16"
auth = "psk"
psk = "$PSK"
local_id = "gwA.lab"
remote_id = "gwB.lab"
initiate = true
mobike = $2
retransmit_timeout = 1
retransmit_base = 1.5
retransmit_tries = 6
retry_initial = 1

[[peer.path]]
uplink = "fiber"
remote_address = "10.99.0.2"
EOF
}

# mk_renumber OLD NEW: DHCP-like, the new address first, then the old one goes (the kernel
# promotes the secondary, so the on-link route stays).
mk_renumber() {
  nn_exec gwA ip addr add "$2/24" dev wan0 || nn_die "ip addr add $2"
  sleep 0.2
  nn_exec gwA ip addr del "$1/24" dev wan0 || nn_die "ip addr del $1"
  date +%s.%N >"$NN_TMP/renumbered-at"
}
kv() { awk -F= -v k="$1" '$1 == k { print $2 }' <<<"$2"; }
ike_sa_line() { ss_swanctl "$REF" --list-sas 2>/dev/null | grep -E '^hq: #'; }
ike_remote() { ss_swanctl "$REF" --list-sas 2>/dev/null | awk '/^  remote / {print $NF; exit}'; }

# mk_stream_renumber OLD NEW PORT: 10 s at 50/s, renumbered after 3 s; the probe's report.
mk_stream_renumber() {
  ( sleep 3; mk_renumber "$1" "$2" ) &
  local r=$!
  LAB_PROBE_IDLE=3000ms lab_probe lanA lanB 10.98.2.2 "$3" --pps 50 --count 500 --size 172
  wait "$r"
}

nn_init
REF=$NN_TMP/ref-charon
LAB_STATE_DIR=$NN_TMP
export LAB_STATE_DIR
ss_check_deps
[ -x "$BRAIDD" ] || nn_die "braidd not built: $BRAIDD"
[ -x "$(lab_probe_bin)" ] || nn_die "braid-wanem-probe not built: $(lab_probe_bin)"
t0=$(date +%s)
dp_topology
nn_exec gwA sysctl -qw net.ipv4.conf.wan0.promote_secondaries=1
ss_conf "$REF" 2
ss_start "$(nn gwB)" "$REF"
NN_PIDS+=("$LAB_LAST_PID")
CHARON_PID=$LAB_LAST_PID
mk_swanctl_conf >"$REF/swanctl/swanctl.conf"
io_charon_load "$REF"
LOG=$NN_TMP/braid.log

# ---- 1. MOBIKE -------------------------------------------------------------------------
io_case_begin "mobike-renumber"
mk_braid_conf 10.99.0.1 true >"$NN_TMP/braid.toml"
io_check "braidd --check accepts follow_address and mobike" \
  "$BRAIDD" --check --config "$NN_TMP/braid.toml"
nn_bg gwA "$LOG" "$BRAIDD" --config "$NN_TMP/braid.toml" --stats-file "$NN_TMP/statsA"
DP_PID[A]=$NN_LAST_PID
nn_wait_for 20 grep -q "Child SA '[^']*' up" "$LOG"
io_check "braid: Child SA up" grep -q "Child SA '[^']*' up" "$LOG"
io_check "strongSwan: MOBIKE negotiated (braid sent MOBIKE_SUPPORTED)" \
  grep -Eq 'N\((MOBIKE_SUP|MOBIKE_SUPPORTED)\)' "$REF/charon.log"
before=$(ike_sa_line)
auths0=$(grep -c "authentication of 'gwA.lab' with pre-shared key successful" "$REF/charon.log")
mark=$(io_charon_log_mark "$REF")
r=$(mk_stream_renumber 10.99.0.1 10.99.0.11 5500)
after=$(ike_sa_line)
gap=$(kv max_gap_ms "$r")
io_charon_since "$REF" "$mark" >"$NN_TMP/charon-update.log"
io_check "strongSwan: received UPDATE_SA_ADDRESSES" grep -Eq \
  'INFORMATIONAL request [0-9]+ \[.*N\((UPD_SA_ADDR|UPDATE_SA_ADDRESSES)' "$NN_TMP/charon-update.log"
grep -Ei 'UPD_SA_ADDR|endpoint changed|CHILD_SA|REKEY|CREATE_CHILD_SA' "$NN_TMP/charon-update.log" |
  head -10 | sed 's/^/  strongSwan: /'
io_check "strongSwan: the IKE SA's remote is now 10.99.0.11 ($(ike_remote))" \
  bash -c "[[ '$(ike_remote)' == 10.99.0.11* ]]"
io_check "strongSwan: same IKE SA (no reauthentication): '$before' -> '$after'" \
  bash -c "[ -n '$before' ] && [ '$before' = '$after' ]"
io_check "strongSwan: no second authentication of gwA.lab" test \
  "$(grep -c "authentication of 'gwA.lab' with pre-shared key successful" "$REF/charon.log")" = "$auths0"
io_check "braid: logged the MOBIKE move" grep -Eq 'MOBIKE: IKE SA and [0-9]+ Child SAs? now 10\.99\.0\.11' "$LOG"
grep -E 'address now|MOBIKE|Child SA|ESP SAs' "$LOG" | head -8 | sed 's/^/  braid: /'
io_check "braid: no IKE SA went down" bash -c "! grep -q 'IKE SA down' '$LOG'"
io_check "stream: $(kv received "$r") of 500 received after the renumbering" \
  test "$(kv received "$r")" -ge 400
io_check "stream gap across the MOBIKE update ${gap} ms (bound ${GAP_BOUND_MS} ms)" \
  awk -v g="$gap" -v b="$GAP_BOUND_MS" 'BEGIN { exit !(g > 0 && g <= b) }'
echo "MOBIKE_GAP_MS=$gap LOST=$((500 - $(kv received "$r")))"
kill -TERM "${DP_PID[A]}" 2>/dev/null
wait "${DP_PID[A]}" 2>/dev/null
io_case_end "MOBIKE: braid's uplink renumbered under traffic, IKE SA and Child SA moved"

# ---- 2. mobike = false: re-established from the new address ----------------------------
io_case_begin "no-mobike-renumber"
io_charon_reset "$REF"
LOG=$NN_TMP/braid2.log
mk_braid_conf 10.99.0.11 false >"$NN_TMP/braid2.toml"
nn_bg gwA "$LOG" "$BRAIDD" --config "$NN_TMP/braid2.toml" --stats-file "$NN_TMP/statsA2"
DP_PID[A]=$NN_LAST_PID
nn_wait_for 20 grep -q "Child SA '[^']*' up" "$LOG"
before=$(ike_sa_line)
r=$(mk_stream_renumber 10.99.0.11 10.99.0.21 5501)
nn_wait_for 10 bash -c "[ \$(grep -c \"Child SA '[^']*' up\" '$LOG') -ge 2 ]"
after=$(ike_sa_line)
gap=$(kv max_gap_ms "$r")
io_check "braid: re-established (no MOBIKE)" \
  grep -Eq 'cannot move \(mobike = false\): re-establishing the IKE SA' "$LOG"
io_check "strongSwan: a new IKE SA from 10.99.0.21: '$before' -> '$after'" \
  bash -c "[ -n '$after' ] && [ '$before' != '$after' ] && [[ '$(ike_remote)' == 10.99.0.21* ]]"
io_check "stream: $(kv received "$r") of 500 received" test "$(kv received "$r")" -ge 300
io_check "stream gap across the re-establishment ${gap} ms (bound ${REAUTH_GAP_BOUND_MS} ms)" \
  awk -v g="$gap" -v b="$REAUTH_GAP_BOUND_MS" 'BEGIN { exit !(g > 0 && g <= b) }'
echo "REESTABLISH_GAP_MS=$gap LOST=$((500 - $(kv received "$r")))"
kill -TERM "${DP_PID[A]}" 2>/dev/null
wait "${DP_PID[A]}" 2>/dev/null
io_case_end "without MOBIKE: the path's IKE SA re-established from the new address"
# ---- 3. braid to braid -------------------------------------------------------------------
io_case_begin "braid-to-braid-mobike"
nn_kill_pid "$CHARON_PID"
mk_braid_conf 10.99.0.21 true >"$NN_TMP/braidA3.toml"
sed -e 's/^local_address = .*/local_address = "10.99.0.2"/' -e '/^follow_address/d' \
  -e 's/^local_subnets = .*/local_subnets = ["10.98.2.0\/24"]/' \
  -e 's/^remote_subnets = .*/remote_subnets = ["10.98.1.0\/24"]/' \
  -e 's/^local_id = .*/local_id = "gwB.lab"/' -e 's/^remote_id = .*/remote_id = "gwA.lab"/' \
  -e 's/^initiate = .*/initiate = false/' -e 's/^remote_address = .*/remote_address = "%any"/' \
  "$NN_TMP/braidA3.toml" >"$NN_TMP/braidB3.toml"
LOGB=$NN_TMP/braidB3.log
nn_bg gwB "$LOGB" "$BRAIDD" --config "$NN_TMP/braidB3.toml" --stats-file "$NN_TMP/statsB3"
DP_PID[B]=$NN_LAST_PID
LOG=$NN_TMP/braidA3.log
sleep 0.5
nn_bg gwA "$LOG" "$BRAIDD" --config "$NN_TMP/braidA3.toml" --stats-file "$NN_TMP/statsA3"
DP_PID[A]=$NN_LAST_PID
nn_wait_for 20 grep -q "Child SA '[^']*' up" "$LOG"
io_check "braid A: Child SA up to braid B" grep -q "Child SA '[^']*' up" "$LOG"
r=$(mk_stream_renumber 10.99.0.21 10.99.0.31 5502)
gap=$(kv max_gap_ms "$r")
io_check "braid A: moved with MOBIKE" grep -Eq 'MOBIKE: IKE SA and [0-9]+ Child SAs? now 10\.99\.0\.31' "$LOG"
io_check "braid B: took the update (peer now 10.99.0.31)" \
  grep -Eq 'MOBIKE: IKE SA and [0-9]+ Child SAs? now 10\.99\.0\.2\[[0-9]+\] - 10\.99\.0\.31' "$LOGB"
grep -E 'MOBIKE|ESP now sent' "$LOGB" | head -3 | sed 's/^/  braid B: /'
io_check "no IKE SA went down on either side" bash -c "! grep -q 'IKE SA down' '$LOG' '$LOGB'"
io_check "stream: $(kv received "$r") of 500 received" test "$(kv received "$r")" -ge 400
io_check "stream gap ${gap} ms (bound ${GAP_BOUND_MS} ms)" \
  awk -v g="$gap" -v b="$GAP_BOUND_MS" 'BEGIN { exit !(g > 0 && g <= b) }'
echo "BRAID_MOBIKE_GAP_MS=$gap LOST=$((500 - $(kv received "$r")))"
kill -TERM "${DP_PID[A]}" "${DP_PID[B]}" 2>/dev/null
wait "${DP_PID[A]}" "${DP_PID[B]}" 2>/dev/null
io_case_end "braid to braid: braid A renumbered, braid B follows with MOBIKE"
io_summary "MOBIKE against strongSwan, $(($(date +%s) - t0)) s"
nn_finish
