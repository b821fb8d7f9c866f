#!/usr/bin/env bash
# IKEv2 failures between two braidd sites: each case gives the expected log line on each
# side, counts it, and leaves both daemons running, the initiator retrying with backoff:
#   wrong PSK, IKE proposal mismatch, unknown identity, traffic selector mismatch (IKE SA
#   kept, Child SA retried), peer not answering (responder stopped after a first tunnel).
# Plus one non-failure: the responder narrows the selectors (RFC 7296 2.9) and gwA then
# sends only what the negotiated TS allow (the rest is tx.drop.no_route, never sent).
#   ike_failures.sh [CASE...]    (default: all)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../support/netns.sh"
. "$HERE/dataplane_lib.sh"
. "$HERE/ike_lib.sh"
CASES=${*:-wrong_psk proposal unknown_id ts not_answering narrowed}

nn_init
[ -x "$BRAIDD" ] || nn_die "braidd not built: $BRAIDD"
dp_topology

# Fast timers so that every failure and its retry happen within seconds.
FAST=('retransmit_timeout = 0.3' 'retransmit_base = 1.5' 'retransmit_tries = 2'
      'retry_initial = 1' 'retry_max = 4')
A_OK=("psk = \"$IKE_PSK\"" 'local_id = "gwA.lab"' 'remote_id = "gwB.lab"')
B_OK=("psk = \"$IKE_PSK\"" 'local_id = "gwB.lab"' 'remote_id = "gwA.lab"' 'initiate = false')

# run_pair NAME "A lines" "B lines": configs from arrays named by $2/$3, both daemons started
# (B first), logs in braidd{A,B}.log (previous runs' logs kept as NAME-*.log).
start_pair() {
  local -n a=$2 b=$3
  ike_config A "${FAST[@]}" "${a[@]}" >"$NN_TMP/$1-a.toml"
  ike_config B "${FAST[@]}" "${b[@]}" >"$NN_TMP/$1-b.toml"
  dp_start B "$NN_TMP/$1-b.toml"
  dp_start A "$NN_TMP/$1-a.toml"
}
stop_pair() {
  nn_check "$1: braidd A still running" dp_alive A
  nn_check "$1: braidd B still running" dp_alive B
  dp_stop A; dp_stop B
  cp "$NN_TMP/braiddA.log" "$NN_TMP/$1-A.log"; cp "$NN_TMP/braiddB.log" "$NN_TMP/$1-B.log"
}
logA() { grep -qE "$1" "$NN_TMP/braiddA.log"; }
logB() { grep -qE "$1" "$NN_TMP/braiddB.log"; }
# retrying SITE: the initiator made at least 2 further attempts (backoff 1 s, 2 s).
retrying() { nn_wait_for 8 bash -c "kill -USR1 ${DP_PID[A]}; sleep 0.2; awk '\$1 == \"ike.initiate_retries\" && \$2 >= 2 { f = 1 } END { exit !f }' '$NN_TMP/statsA'"; }
counter_ge() { dp_refresh "$1" >/dev/null; [ "$(dp_counter "$1" "$2")" -ge "$3" ]; }

for c in $CASES; do
  case $c in
  wrong_psk)
    A=("${A_OK[@]}"); B=("psk = \"wrong-$IKE_PSK\"" 'local_id = "gwB.lab"' 'remote_id = "gwA.lab"' 'initiate = false')
    start_pair $c A B
    nn_check "$c: gwB logs the bad AUTH" nn_wait_for 5 logB "warn .*authentication of gwA.lab failed: pre-shared key mismatch"
    nn_check "$c: gwA logs AUTHENTICATION_FAILED from the peer" nn_wait_for 5 logA "warn .*AUTHENTICATION_FAILED"
    nn_check "$c: gwA retries with backoff" retrying
    nn_check "$c: gwB counts ike.auth_failed" counter_ge B ike.auth_failed 2
    nn_check "$c: gwA counts ike.auth_failed_by_peer" counter_ge A ike.auth_failed_by_peer 2
    nn_check "$c: gwA path state failed/auth_failed" grep -q "last_failure auth_failed" "$NN_TMP/statsA"
    stop_pair $c ;;
  proposal)
    A=("${A_OK[@]}" 'proposals = "aes256gcm16-prfsha256-x25519"')
    B=("${B_OK[@]}" 'proposals = "aes128gcm16-prfsha384-ecp256"')
    start_pair $c A B
    nn_check "$c: gwB logs no acceptable proposal" nn_wait_for 5 logB "warn .*NO_PROPOSAL_CHOSEN|warn .*no acceptable proposal"
    nn_check "$c: gwA logs NO_PROPOSAL_CHOSEN from the peer" nn_wait_for 5 logA "warn .*NO_PROPOSAL_CHOSEN"
    nn_check "$c: gwA retries with backoff" retrying
    nn_check "$c: gwB counts ike.no_proposal" counter_ge B ike.no_proposal 2
    nn_check "$c: gwA counts ike.no_proposal_by_peer" counter_ge A ike.no_proposal_by_peer 2
    stop_pair $c ;;
  unknown_id)
    A=("psk = \"$IKE_PSK\"" 'local_id = "stranger.lab"' 'remote_id = "gwB.lab"')
    B=("${B_OK[@]}")
    start_pair $c A B
    nn_check "$c: gwB logs the unexpected identity" nn_wait_for 5 logB "warn .*stranger.lab"
    nn_check "$c: gwA logs AUTHENTICATION_FAILED from the peer" nn_wait_for 5 logA "warn .*AUTHENTICATION_FAILED"
    nn_check "$c: gwA retries with backoff" retrying
    nn_check "$c: gwB counts ike.unknown_identity" counter_ge B ike.unknown_identity 2
    stop_pair $c ;;
  ts)
    # gwB routes only 10.77.0.0/24 to gwA, so gwA's TSi 10.98.1.0/24 has no intersection.
    A=("${A_OK[@]}"); B=("${B_OK[@]}")
    IKE_PEER_SUBNETS='["10.77.0.0/24"]' ike_config B "${FAST[@]}" "${B[@]}" >"$NN_TMP/$c-b.toml"
    ike_config A "${FAST[@]}" "${A[@]}" >"$NN_TMP/$c-a.toml"
    dp_start B "$NN_TMP/$c-b.toml"
    dp_start A "$NN_TMP/$c-a.toml"
    nn_check "$c: gwB logs TS_UNACCEPTABLE" nn_wait_for 5 logB "warn .*TS_UNACCEPTABLE|warn .*traffic selectors"
    nn_check "$c: gwA logs TS_UNACCEPTABLE from the peer" nn_wait_for 5 logA "warn .*TS_UNACCEPTABLE"
    nn_check "$c: the IKE SA stays up on gwA" test "$(ike_state A)" = established
    nn_check "$c: gwA retries the Child SA" nn_wait_for 8 counter_ge A ike.child_retries 2
    nn_check "$c: gwA logs the Child SA retry" logA "retrying the Child SA"
    nn_check "$c: gwB counts ike.ts_unacceptable" counter_ge B ike.ts_unacceptable 2
    nn_check "$c: no Child SA installed on gwA" test "$(awk '$1 ~ /child_sas$/ { print $2 }' "$NN_TMP/statsA")" = 0
    stop_pair $c ;;
  not_answering)
    A=("${A_OK[@]}"); B=("${B_OK[@]}")
    start_pair $c A B
    nn_check "$c: tunnel up first" ike_wait_up A 10
    dp_stop B
    nn_check "$c: gwA sees the IKE SA end (gwB's Delete)" nn_wait_for 5 logA "IKE SA down"
    nn_check "$c: gwA re-initiates" nn_wait_for 5 logA "re-initiating after the IKE SA ended"
    nn_check "$c: gwA logs the peer not answering" nn_wait_for 10 logA "warn .*(not answering|no response|retransmits)"
    nn_check "$c: gwA counts ike.peer_not_answering" nn_wait_for 10 counter_ge A ike.peer_not_answering 1
    nn_check "$c: gwA retries with backoff" retrying
    nn_check "$c: gwA path state failed/peer_not_answering" grep -q "last_failure peer_not_answering" "$NN_TMP/statsA"
    # gwB comes back: gwA's next retry brings the tunnel up again.
    dp_start B "$NN_TMP/$c-b.toml"
    nn_check "$c: tunnel back after gwB restarts" ike_wait_up A 15
    nn_check "$c: ping LAN A -> LAN B again" nn_exec lanA ping -q -c 2 -i 0.2 -W 2 10.98.2.2
    stop_pair $c ;;
  narrowed)
    A=("${A_OK[@]}"); B=("${B_OK[@]}" 'local_subnets = ["10.98.2.0/25"]')
    start_pair $c A B
    nn_check "$c: tunnel up" ike_wait_up A 10
    nn_check "$c: gwA got the narrowed TSr" logA "Child SA .* up, .* 10.98.1.0/24 === 10.98.2.0/25"
    nn_check "$c: ping into the narrowed TS works" nn_exec lanA ping -q -c 2 -i 0.2 -W 2 10.98.2.2
    dp_refresh A
    before=$(dp_counter A tx.drop.no_route)
    nn_exec lanA ping -q -c 3 -i 0.2 -W 1 10.98.2.200 >/dev/null 2>&1
    dp_refresh A
    nn_check "$c: outside the narrowed TS is dropped at gwA ($before -> $(dp_counter A tx.drop.no_route))" \
      test "$(dp_counter A tx.drop.no_route)" -ge $((before + 3))
    stop_pair $c ;;
  *) nn_die "unknown case $c" ;;
  esac
  for s in A B; do
    nn_log "$c: gw$s warnings:"; grep ' warn ' "$NN_TMP/$c-$s.log" | head -4 >&2
  done
done
nn_finish
