# Helpers for the IKEv2 interop suite (sourced by interop.sh after tests/support/netns.sh and
# tests/integration/dataplane_lib.sh). Topology is dataplane_lib's dp_topology:
#   lanA 10.98.1.2 -- gwA 10.98.1.1 | wan0 10.99.0.1 -- 10.99.0.2 wan0 | gwB 10.98.2.1 -- lanB 10.98.2.2
# The device under test (DUT: braidd, or a second charon for the harness self-test) runs in
# gwA, the reference strongSwan charon (REF) in gwB. Side A is gwA.lab, side B is gwB.lab.

# ---- strongSwan helpers from the shared interop recipe (ss_conf, ss_start, ss_swanctl, pki) --
io_find_shared() {
  local d
  for d in "${BRAID_INTEROP_DIR:-}" "$DP_SRC/../shared/interop" /work/shared/interop; do
    if [ -n "$d" ] && [ -r "$d/lib.sh" ]; then
      IO_SHARED=$(cd "$d" && pwd)
      return 0
    fi
  done
  nn_die "interop recipe lib.sh not found: set BRAID_INTEROP_DIR to the directory holding" \
    "the shared strongSwan lab (lib.sh), tried \$BRAID_INTEROP_DIR, $DP_SRC/../shared/interop," \
    "/work/shared/interop"
}
io_find_shared
# lib.sh's lab_* topology is not used (dp_topology is), but keep its prefix unique anyway.
LAB_PREFIX=$NN_PREFIX
# shellcheck source=/dev/null
. "$IO_SHARED/lib.sh"

IO_PSK=interop-psk-0123456789abcdef0123456789abcdef
IO_BAD_PSK=interop-WRONG-psk-fedcba9876543210fedcba98
IO_REF=""        # REF charon directory (set by io_start_ref)
IO_FAILS_BEFORE=0
IO_RESULTS=()    # "PASS|FAIL name: detail" per case, printed by io_summary

# ---- PKI: one ECDSA P-256 and one RSA-3072 CA, end-entity certs for gwA.lab and gwB.lab -------
# Files: $NN_TMP/pki/{ecdsa,rsa}/{ca,gwA.lab,gwB.lab}.{pem,key} (PEM; keys in SEC1/PKCS#1).
io_make_pki() {
  LAB_TMP=$NN_TMP   # ss_pki writes its pki.conf there
  local t n
  for t in ecdsa rsa; do
    ss_pki_ca "$NN_TMP/pki/$t" $t || nn_die "pki: $t CA"
    for n in gwA.lab gwB.lab; do ss_pki_issue "$NN_TMP/pki/$t" $t $n || nn_die "pki: $t $n"; done
  done
  # braidd refuses private keys that group or others may read (as ssh does).
  chmod 600 "$NN_TMP"/pki/*/*.key
}

# ---- charon instances ----------------------------------------------------------------------
# io_start_charon SIDE(A|B) DIR: charon with its own strongswan.conf in gwSIDE. Short IKE
# retransmissions (1 s, 2 tries) keep the "not answering" cases quick; ike=4 logs the IKE
# keys (SK_e) so that tshark can decrypt IKE_AUTH. Certificates/keys of both types loaded.
io_start_charon() {
  local side=$1 d=$2 t
  ss_conf "$d" 4
  # ss_conf writes the whole file; add the retransmission settings inside charon { }.
  sed -i 's/^charon {$/charon {\n  retransmit_timeout = 1.0\n  retransmit_base = 1.4\n  retransmit_tries = 2\n  retransmit_jitter = 0/' \
    "$d/strongswan.conf"
  for t in ecdsa rsa; do
    cp "$NN_TMP/pki/$t/ca.pem" "$d/swanctl/x509ca/$t-ca.pem"
    cp "$NN_TMP/pki/$t/gw$side.lab.pem" "$d/swanctl/x509/$t-gw$side.pem"
    cp "$NN_TMP/pki/$t/gw$side.lab.key" "$d/swanctl/private/$t-gw$side.key"
  done
  ss_start "$(nn gw$side)" "$d"
  # lab_bg recorded the PID in LAB_PIDS; nn_cleanup also kills every process in our netns.
  NN_PIDS+=("$LAB_LAST_PID")
}

io_charon_log_mark() { wc -l <"$1/charon.log"; }
# Lines of a charon log written after MARK.
io_charon_since() { tail -n +"$(($2 + 1))" "$1/charon.log"; }

# ss_conn_conf NAME SIDE(A|B) ROLE(init|resp) AUTH IKE ESP PSK ID PEERID LTS RTS ENCAP
# -> a swanctl.conf with one connection NAME and child "net".
io_swanctl_conf() {
  local name=$1 side=$2 role=$3 auth=$4 ike=$5 esp=$6 psk=$7 id=$8 peerid=$9 lts=${10} rts=${11}
  local encap=${12} me peer other remote_addrs la ra
  if [ "$side" = A ]; then me=10.99.0.1 peer=10.99.0.2 other=B; else me=10.99.0.2 peer=10.99.0.1 other=A; fi
  remote_addrs=$peer
  [ "$role" = resp ] && remote_addrs=%any
  if [ "$auth" = psk ]; then
    la="auth = psk"
    ra="auth = psk"
  else
    la="auth = pubkey
      certs = $auth-gw$side.pem"
    ra="auth = pubkey
      cacerts = $auth-ca.pem"
  fi
  cat <<EOF
connections {
  $name {
    version = 2
    local_addrs = $me
    remote_addrs = $remote_addrs
    encap = $encap
    mobike = no
    proposals = $ike
    dpd_delay = 0
    rekey_time = 0
    local {
      $la
      id = $id
    }
    remote {
      $ra
      id = $peerid
    }
    children {
      net {
        local_ts = $lts
        remote_ts = $rts
        esp_proposals = $esp
        mode = tunnel
        rekey_time = 0
        start_action = none
      }$(io_child2 "$esp")
    }
  }
}
secrets {
  ike-1 {
    id-a = $id
    id-b = $peerid
    secret = "$psk"
  }
  ike-other {
    id-a = $id
    id-b = gw$other.lab
    secret = "$psk"
  }
}
EOF
}

# Optional second child "net2" (CREATE_CHILD_SA tests): IO_CHILD2="LOCAL_TS REMOTE_TS".
IO_CHILD2=""
io_child2() {
  [ -n "$IO_CHILD2" ] || return 0
  set -- "$1" $IO_CHILD2
  printf '\n      net2 {\n        local_ts = %s\n        remote_ts = %s\n        esp_proposals = %s\n        mode = tunnel\n        rekey_time = 0\n        start_action = none\n      }' "$2" "$3" "$1"
}

# io_charon_load DIR: (re)load the connection and credentials; drops every IKE SA first.
io_charon_reset() {
  local d=$1 ike
  for ike in $(ss_swanctl "$d" --list-sas 2>/dev/null | awk '/^[a-z0-9-]+: #[0-9]+,/ {sub(":", "", $1); print $1}' | sort -u); do
    ss_swanctl "$d" --terminate --ike "$ike" --force --timeout 2 >/dev/null 2>&1
  done
}
io_charon_load() {
  local d=$1 out
  out=$(ss_swanctl "$d" --load-all --clear --noprompt 2>&1) || {
    echo "$out" >&2
    nn_die "swanctl --load-all failed in $d"
  }
}

# charon's log lines per outcome, by the role that charon played. One extended regex per
# line that must appear (all of them). From strongSwan 5.9.8's messages (see README of the
# shared interop lab).
io_ss_expect() {   # io_ss_expect ROLE(init|resp) OUTCOME
  case "$1:$2" in
    *:up) printf '%s\n' 'IKE_SA [a-z]+\[[0-9]+\] established between' \
      'CHILD_SA net\{[0-9]+\} established with SPIs' ;;
    resp:psk) printf '%s\n' 'tried [0-9]+ shared keys? for .* but MAC mismatched' ;;
    init:psk) printf '%s\n' 'received AUTHENTICATION_FAILED notify error' ;;
    resp:ike) printf '%s\n' 'received proposals unacceptable' 'configured proposals:' ;;
    init:ike) printf '%s\n' 'received NO_PROPOSAL_CHOSEN notify error' ;;
    resp:id) printf '%s\n' 'looking for peer configs matching .*\[stranger\.lab\]' \
      'no matching peer config found' ;;
    init:id) printf '%s\n' 'received AUTHENTICATION_FAILED notify error' ;;
    resp:esp) printf '%s\n' 'IKE_SA [a-z]+\[[0-9]+\] established between' \
      'no acceptable proposal found' 'failed to establish CHILD_SA, keeping IKE_SA' ;;
    init:esp) printf '%s\n' 'IKE_SA [a-z]+\[[0-9]+\] established between' \
      'received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built' \
      'failed to establish CHILD_SA, keeping IKE_SA' ;;
    resp:ts) printf '%s\n' 'IKE_SA [a-z]+\[[0-9]+\] established between' \
      'traffic selectors .* unacceptable' 'failed to establish CHILD_SA, keeping IKE_SA' ;;
    init:ts) printf '%s\n' 'IKE_SA [a-z]+\[[0-9]+\] established between' \
      'received TS_UNACCEPTABLE notify, no CHILD_SA built' \
      'failed to establish CHILD_SA, keeping IKE_SA' ;;
    init:silent) printf '%s\n' 'giving up after [0-9]+ retransmits' ;;
    resp:silent) ;;  # nothing reached it
    *) nn_die "io_ss_expect: unknown $1:$2" ;;
  esac
}
# Lines that must NOT appear in that charon's log for the outcome.
io_ss_forbid() {
  case "$1:$2" in
    resp:silent) printf '%s\n' 'is initiating an IKE_SA' ;;
    *:up) printf '%s\n' 'received [A-Z_]+ notify error' 'failed to establish' ;;
    *:psk|*:ike|*:id) printf '%s\n' 'IKE_SA [a-z]+\[[0-9]+\] established between' ;;
    *:esp|*:ts) printf '%s\n' 'CHILD_SA net\{[0-9]+\} established' ;;
    *) ;;
  esac
}

# io_wait_lines LOGCMD SECS REGEX...: until every REGEX matches the output of LOGCMD (a
# command string printing the log since the case began). 0 if all found.
io_wait_lines() {
  local cmd=$1 secs=$2; shift 2
  local deadline=$(($(date +%s%N) + secs * 1000000000)) re missing
  while :; do
    missing=0
    for re in "$@"; do
      eval "$cmd" | grep -Eq -- "$re" || { missing=1; break; }
    done
    [ $missing = 0 ] && return 0
    [ "$(date +%s%N)" -gt "$deadline" ] && return 1
    sleep 0.1
  done
}

# ---- assertions and per-case bookkeeping ---------------------------------------------------
IO_CASE=""
IO_CASE_FAILS=0
io_case_begin() {
  IO_CASE=$1
  IO_CASE_FAILS=0
  printf '\n=== case %s\n' "$IO_CASE"
}
io_ok() { printf '  ok   %s\n' "$*"; }
io_bad() {
  printf '  FAIL %s\n' "$*"
  IO_CASE_FAILS=$((IO_CASE_FAILS + 1))
  NN_FAILS=$((NN_FAILS + 1))
}
io_check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then io_ok "$what"; else io_bad "$what"; fi; }
io_case_end() {   # io_case_end NOTE
  if [ "$IO_CASE_FAILS" = 0 ]; then
    IO_RESULTS+=("PASS | $IO_CASE | $*")
  else
    IO_RESULTS+=("FAIL | $IO_CASE | $IO_CASE_FAILS check(s) failed; $*")
  fi
}
io_summary() {
  printf '\n=== results (%s)\n' "$*"
  printf '%s\n' "${IO_RESULTS[@]}"
  printf '%d passed, %d failed\n' "$(printf '%s\n' "${IO_RESULTS[@]}" | grep -c '^PASS')" \
    "$(printf '%s\n' "${IO_RESULTS[@]}" | grep -c '^FAIL')"
}

# Expect every regex (one per line on stdin) in the output of LOGCMD within SECS.
io_expect_log() {   # io_expect_log WHO LOGCMD SECS  (regexes on stdin)
  local who=$1 cmd=$2 secs=$3 re
  local -a res=()
  while IFS= read -r re; do [ -n "$re" ] && res+=("$re"); done
  [ ${#res[@]} = 0 ] && return 0
  io_wait_lines "$cmd" "$secs" "${res[@]}" || true
  for re in "${res[@]}"; do
    local line
    line=$(eval "$cmd" | grep -E -m1 -- "$re")
    if [ -n "$line" ]; then
      io_ok "$who log: $(echo "$line" | cut -c1-220)"
    else
      io_bad "$who log lacks /$re/"
    fi
  done
}
io_forbid_log() {   # io_forbid_log WHO LOGCMD (regexes on stdin)
  local who=$1 cmd=$2 re line
  while IFS= read -r re; do
    [ -n "$re" ] || continue
    line=$(eval "$cmd" | grep -E -m1 -- "$re")
    if [ -n "$line" ]; then io_bad "$who log has unexpected: $(echo "$line" | cut -c1-200)"; else io_ok "$who log has no /$re/"; fi
  done
}

# ---- traffic through the tunnel: ping both ways, TCP both ways (hashed) -----------------------
io_traffic() {
  io_check "ping lanA 10.98.1.2 -> lanB 10.98.2.2" nn_exec lanA ping -q -c 3 -i 0.2 -W 2 10.98.2.2
  io_check "ping lanB 10.98.2.2 -> lanA 10.98.1.2" nn_exec lanB ping -q -c 3 -i 0.2 -W 2 10.98.1.2
  io_tcp lanA lanB 10.98.2.2
  io_tcp lanB lanA 10.98.1.2
}
io_tcp() {   # io_tcp FROM TO TOADDR [PORT]: 2 MB hashed TCP transfer (to port 5001)
  local from=$1 to=$2 addr=$3 port=${4:-5001} out=$NN_TMP/tcp-$1-$2.out sent got pid
  rm -f "$out"
  nn_bg "$to" "$out" python3 "$DP_SRC/tests/integration/dataplane_tool.py" tcp-server "$port"
  pid=$NN_LAST_PID
  if ! dp_wait_listen "$to" "$port"; then
    io_bad "TCP server in $to did not start"
    nn_kill_pid "$pid"
    return
  fi
  sent=$(timeout 20 ip netns exec "$(nn "$from")" python3 "$DP_SRC/tests/integration/dataplane_tool.py" \
    tcp-client "$addr" "$port" 2000000 2>&1)
  nn_wait_for 5 test -s "$out"
  got=$(cat "$out" 2>/dev/null)
  nn_kill_pid "$pid"
  if [ -n "$sent" ] && [ "$sent" = "$got" ]; then
    io_ok "TCP $from -> $to:$port: 2 MB intact (sha256 ${got:0:12}..)"
  else
    io_bad "TCP $from -> $to: sent '$sent' got '$got'"
  fi
}
io_no_traffic() {
  io_check "no LAN-to-LAN path (ping lanA -> lanB fails)" \
    bash -c "! ip netns exec $(nn lanA) ping -c1 -W1 10.98.2.2 >/dev/null 2>&1"
}
