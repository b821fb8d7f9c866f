# DUT driver: braidd with IKEv2 ([peer.ike], docs/configuration.md "IKEv2") in gwA, one
# braidd per case (config written per case). Interface: see dut_strongswan.sh.
# Log lines asserted here are braidd's `ike` component lines (ipsec/ike, edge); the stats
# file (--stats-file, SIGUSR1) gives the IKE counters and per-path state.
DUT_PID=""
# shellcheck disable=SC2034  # used by interop.sh
DUT_SHORT=braid
DUT_CFG=""
DUT_LOG=""
DUT_STATS=""
DUT_KEYS=""
DUT_N=0
DUT_PATH=ref/wan0   # ike.path.<peer>/<uplink>

dut_describe() { echo "braidd ($(git -C "$DP_SRC" log -1 --format=%h 2>/dev/null || echo '?'))"; }

dut_setup() {
  [ -x "$BRAIDD" ] || nn_die "braidd not built: $BRAIDD"
}

# toml_list A B C -> ["A", "B", "C"]
toml_list() { local s="" x; for x in "$@"; do s+="\"$x\", "; done; echo "[${s%, }]"; }

dut_case() {
  local role=$1 auth=$2 ike=$3 esp=$4 psk=$5 id=$6 peerid=$7 lts=$8 rts=$9
  DUT_N=$((DUT_N + 1))
  DUT_CFG=$NN_TMP/braid-$DUT_N.toml
  DUT_LOG=$NN_TMP/braid-$DUT_N.log
  DUT_STATS=$NN_TMP/braid-$DUT_N.stats
  DUT_KEYS=$NN_TMP/braid-$DUT_N.keys
  local overlay_subnets=("10.98.1.0/24")
  [ "$lts" = 10.98.1.0/24 ] || overlay_subnets+=("$lts")
  local authlines
  if [ "$auth" = psk ]; then
    authlines="auth = \"psk\"
psk = \"$psk\""
  else
    authlines="auth = \"pubkey\"
certificate = \"$NN_TMP/pki/$auth/gwA.lab.pem\"
private_key = \"$NN_TMP/pki/$auth/gwA.lab.key\"
ca_certificates = \"$NN_TMP/pki/$auth/ca.pem\""
  fi
  local initiate=true remote=10.99.0.2
  [ "$role" = resp ] && { initiate=false remote=%any; }
  cat >"$DUT_CFG" <<EOF
# interop case: braid $role, REF strongSwan in gwB
[log]
level = "${DUT_LOGLEVEL:-debug}"

[ike]
keylog = "$DUT_KEYS"

[overlay]
device = "braid0"
mtu = 1400
local_subnets = $(toml_list "${overlay_subnets[@]}")

[[uplink]]
name = "wan0"
local_address = "10.99.0.1"

[[peer]]
name = "ref"
remote_subnets = ["10.98.2.0/24"]

[peer.ike]
proposals = "$ike"
esp_proposals = "$esp"
$authlines
local_id = "$id"
remote_id = "$peerid"
initiate = $initiate
local_subnets = $(toml_list "$lts")
remote_subnets = $(toml_list "$rts")
retransmit_timeout = 0.5
retransmit_base = 1.5
retransmit_tries = 3
retry_initial = 2
retry_max = 4

[[peer.path]]
uplink = "wan0"
remote_address = "$remote"
EOF
  if ! "$BRAIDD" --check --config "$DUT_CFG" >"$DUT_LOG.check" 2>&1; then
    io_bad "braidd --check refuses the case config: $(head -3 "$DUT_LOG.check" | tr '\n' ' ')"
  fi
  rm -f "$DUT_STATS"
  nn_bg gwA "$DUT_LOG" "$BRAIDD" --config "$DUT_CFG" --stats-file "$DUT_STATS"
  DUT_PID=$NN_LAST_PID
  if ! nn_wait_for 10 test -s "$DUT_STATS"; then
    io_bad "braidd did not start: $(tail -3 "$DUT_LOG" | tr '\n' ' ')"
  fi
}

dut_initiate() { :; }   # initiate = true: braidd starts the IKE SA itself
dut_log() { cat "$DUT_LOG" 2>/dev/null; }
dut_alive() { kill -0 "$DUT_PID" 2>/dev/null; }

# braidd's log lines per outcome (ipsec/ike: IkeSa::fail / established / addChild).
dut_expect() {
  local role=$1 outcome=$2
  case "$role:$outcome" in
    *:up) printf '%s\n' 'IKE SA established \((initiator|responder), gwB\.lab, NAT-T\)' \
      "Child SA '[^']*' up, SPIs in [0-9a-f]+ out [0-9a-f]+, 10\.98\.1\.0/24(\[[0-9/-]+\])? === 10\.98\.2\.0/24" ;;
    init:psk | init:id) printf '%s\n' 'IKE_AUTH refused by peer: AUTHENTICATION_FAILED' ;;
    resp:psk) printf '%s\n' 'authentication of gwB\.lab failed: .*; sending AUTHENTICATION_FAILED' ;;
    resp:id) printf '%s\n' 'unknown identity stranger\.lab: .*sending AUTHENTICATION_FAILED' ;;
    # RFC 7296 2.7 / braid's doc: both proposal lists in the log line.
    init:ike) printf '%s\n' 'peer refused our IKE proposals with NO_PROPOSAL_CHOSEN \(we offered chacha20poly1305' ;;
    resp:ike) printf '%s\n' 'no acceptable IKE proposal: peer offered chacha20poly1305-prfsha256-x25519, we accept aes256gcm16-aes128gcm16-prfsha256-x25519-ecp256; sending NO_PROPOSAL_CHOSEN' ;;
    init:esp) printf '%s\n' 'IKE SA established' "Child SA '[^']*' refused by peer: NO_PROPOSAL_CHOSEN \(we offered chacha20poly1305" ;;
    resp:esp) printf '%s\n' 'IKE SA established' "no acceptable proposal for Child SA '[^']*': peer offered chacha20poly1305, we accept aes256gcm16-aes128gcm16" ;;
    init:ts) printf '%s\n' 'IKE SA established' "Child SA '[^']*' refused by peer: TS_UNACCEPTABLE \(we proposed 10\.77\.0\.0/24 === 10\.98\.2\.0/24\)" ;;
    resp:ts) printf '%s\n' 'IKE SA established' 'traffic selectors unacceptable: peer proposed 10\.77\.0\.0/24 === 10\.98\.1\.0/24' ;;
    init:silent) printf '%s\n' 'peer not answering: no response to .* after 3' ;;
    # lifecycle steps driven by REF
    *:child-rekeyed) printf '%s\n' "Child SA '[^']*' up, SPIs in" "Child SA '[^']*' down" ;;
    *:child-added) printf '%s\n' "Child SA '[^']*' up, SPIs in [0-9a-f]+ out [0-9a-f]+, 10\.98\.1\.0/25 === 10\.98\.2\.0/25" ;;
    # IKE SA rekey (RFC 7296 1.3.2): REF rekeys, braid answers; the Child SA moves to the new
    # IKE SA and REF deletes the old one.
    *:ike-rekey-ref) printf '%s\n' 'IKE_SA ref\[[0-9]+\] rekeyed between' 'deleting IKE_SA ref\[[0-9]+\]' ;;
    *:ike-rekey) printf '%s\n' 'IKE SA rekeyed \(responder of the new SA\)' 'peer deletes the IKE SA' ;;
    *) nn_die "dut_expect: unknown $role:$outcome" ;;
  esac
}
dut_forbid() {
  case "$2" in
    up) printf '%s\n' 'refused by peer' 'sending [A-Z_]+$' ' error' ;;
    psk | ike | id) printf '%s\n' 'IKE SA established' "Child SA '[^']*' up" ;;
    esp | ts) printf '%s\n' "Child SA '[^']*' up" ;;
    silent) printf '%s\n' 'IKE SA established' ;;
  esac
}

# The counter (stats file) that must have moved, and the path's last_failure word.
dut_counter_expect() {
  case "$1:$2" in
    *:up) echo "ike.child_sa_up established none" ;;
    init:psk | init:id) echo "ike.auth_failed_by_peer failed auth_failed" ;;
    resp:psk) echo "ike.auth_failed idle auth_failed" ;;
    resp:id) echo "ike.unknown_identity idle unknown_identity" ;;
    init:ike) echo "ike.no_proposal_by_peer failed no_proposal" ;;
    resp:ike) echo "ike.no_proposal idle no_proposal" ;;
    init:esp) echo "ike.no_proposal_by_peer established no_proposal" ;;
    resp:esp) echo "ike.no_proposal established no_proposal" ;;
    init:ts) echo "ike.ts_unacceptable_by_peer established ts_unacceptable" ;;
    resp:ts) echo "ike.ts_unacceptable established ts_unacceptable" ;;
    init:silent) echo "ike.peer_not_answering failed peer_not_answering" ;;
  esac
}

dut_stat() { awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print "" }' "$DUT_STATS"; }
dut_refresh_stats() {
  rm -f "$DUT_STATS"
  kill -USR1 "$DUT_PID" 2>/dev/null || return 1
  nn_wait_for 5 test -s "$DUT_STATS"
}

# Extra DUT checks after the log lines: counters and path state, and for tunnels the keys
# braid logged must equal REF's (same SK_e for the IKE SA: both derived the same SKEYSEED).
dut_checks() {
  local role=$1 outcome=$2 spec counter state last v
  spec=$(dut_counter_expect "$role" "$outcome")
  [ -n "$spec" ] || return 0
  read -r counter state last <<<"$spec"
  if ! dut_refresh_stats; then
    io_bad "braidd wrote no stats after SIGUSR1"
    return
  fi
  v=$(dut_stat "$counter")
  io_check "braid counter $counter = ${v:-missing} (>= 1)" test "${v:-0}" -ge 1
  v=$(dut_stat "ike.path.$DUT_PATH.state")
  # A failed responder path goes back to idle, an initiator may already be retrying.
  case $state in
    failed) io_check "braid path state '$v' (failed/connecting)" bash -c "[[ '$v' =~ ^(failed|connecting)$ ]]" ;;
    idle) io_check "braid path state '$v' (idle/failed)" bash -c "[[ '$v' =~ ^(idle|failed)$ ]]" ;;
    *) io_check "braid path state '$v' ($state)" test "$v" = "$state" ;;
  esac
  v=$(dut_stat "ike.path.$DUT_PATH.last_failure")
  io_check "braid path last_failure '$v' ($last)" test "$v" = "$last"
  if [ "$outcome" = up ]; then
    v=$(dut_stat "ike.path.$DUT_PATH.child_sas")
    io_check "braid path has $v Child SA(s) installed (1)" test "$v" = 1
  fi
  if [ "$role" = init ] && [ "$outcome" != silent ] && [ "$outcome" != up ]; then
    # braidd keeps running and, as initiator, tries again (retry_initial = 2 s).
    io_expect_log DUT dut_log 6 < <(echo "retrying in|retrying|retry")
  fi
}

# uat line braid wrote for the IKE SA with these SPIs (empty if none).
# Suites tshark cannot decrypt (ChaCha20) are '# ikev2 SPIi,SPIr ...: SK_ei,SK_er=EI,ER' lines.
dut_ike_keys() {
  local l
  l=$(grep -h "^ikev2_decryption_table:$1,$2," "$DUT_KEYS" 2>/dev/null | head -1)
  [ -n "$l" ] || l=$(sed -n "s/^# ikev2 $1,$2 .*SK_ei,SK_er=\([0-9a-f]*\),\([0-9a-f]*\).*/ikev2_decryption_table:$1,$2,\1,\2/p" \
    "$DUT_KEYS" 2>/dev/null | head -1)
  echo "$l"
}

dut_end_case() {
  local rc=0
  [ -n "$DUT_PID" ] || return 0
  if kill -0 "$DUT_PID" 2>/dev/null; then
    kill -TERM "$DUT_PID"
    wait "$DUT_PID" || rc=$?
    io_check "braidd exits cleanly on SIGTERM (rc $rc)" test "$rc" = 0
  fi
  DUT_PID=""
}

# After interop.sh's lifecycle: REF's IKE SA rekey made a second IKE SA (the Child SA moved to
# it); Child SAs: the first, the rekeyed one and the added one.
dut_lifecycle_checks() {
  dut_refresh_stats || { io_bad "braidd wrote no stats after SIGUSR1"; return; }
  local up child rekeys
  up=$(dut_stat ike.ike_sa_up) child=$(dut_stat ike.child_sa_up)
  rekeys=$(dut_stat ike.ike_rekeys_responded)
  io_check "braid counted 2 IKE SAs up (original + REF's rekey): $up" test "$up" = 2
  io_check "braid answered 1 IKE SA rekey: $rekeys" test "$rekeys" = 1
  io_check "braid counted 3 Child SAs up (first, rekey, added): $child" test "$child" = 3
  io_check "braid path state established" test "$(dut_stat "ike.path.$DUT_PATH.state")" = established
}
