#!/usr/bin/env bash
# Hostile IKEv2 input at a running braidd responder (also run in the ASan build, label asan).
# braid-ike-hostile (tests/support/ike_hostile) runs in gwA's namespace, with gwA's address
# and PSK: it sets up a real IKE SA with braidd B, then sends thousands of malformed,
# truncated, replayed and out-of-state datagrams, plaintext and SK-protected (mutated
# payload chains inside valid SK envelopes reach the tasks), and half-open SAs whose IKE_AUTH
# is a mutation of the real one. braidd must stay up, keep the attacked SA's message IDs and
# keys (the tool's liveness checks), count each drop under its reason, and a legitimate
# braidd A must then bring up a tunnel that carries a ping.
#   ike_hostile.sh [MODE [SEED]]   (IKE_HOSTILE_{PLAIN,SK,AUTH,REPLAY} set the counts)
# MODE "tasks" (default): braidd B's DoS limits (per-source IKE_SA_INIT rate and half-open
# caps, cookies) are lifted so that the hostile IKE_SA_INITs reach the IKE_SA_INIT task;
# "defences": the default limits stay on, most of them are dropped before any state, and the
# legitimate peer, sharing the attacker's address, still gets in once they let it.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../support/netns.sh"
. "$HERE/dataplane_lib.sh"
. "$HERE/ike_lib.sh"
MODE=${1:-tasks}
SEED=${2:-11}
HOSTILE=${BRAID_IKE_HOSTILE:-$DP_BUILD/tests/support/ike_hostile/braid-ike-hostile}

nn_init
[ -x "$BRAIDD" ] || nn_die "braidd not built: $BRAIDD"
[ -x "$HOSTILE" ] || nn_die "braid-ike-hostile not built: $HOSTILE"
dp_topology

FAST=('retransmit_timeout = 0.3' 'retransmit_base = 1.5' 'retransmit_tries = 3'
      'retry_initial = 1' 'retry_max = 2')
ike_config A "${FAST[@]}" "psk = \"$IKE_PSK\"" 'local_id = "gwA.lab"' 'remote_id = "gwB.lab"' \
  >"$NN_TMP/a.toml"
case $MODE in
  tasks) IKE_GLOBAL='init_rate_per_source = 0
half_open_max = 100000
half_open_max_per_source = 100000
cookie_threshold = 99999' ;;
  defences) IKE_GLOBAL="" ;;
  *) nn_die "unknown mode $MODE" ;;
esac
IKE_GLOBAL=$IKE_GLOBAL ike_config B "${FAST[@]}" "psk = \"$IKE_PSK\"" 'local_id = "gwB.lab"' 'remote_id = "gwA.lab"' \
  'initiate = false' >"$NN_TMP/b.toml"
dp_check_configs
dp_start B "$NN_TMP/b.toml"
B_PID=${DP_PID[B]}

# The attacker: gwA's address and port 500, before braidd A exists there.
nn_log "braid-ike-hostile, mode $MODE, seed $SEED"
nn_bg gwA "$NN_TMP/hostile.log" "$HOSTILE" --local 10.99.0.1 --remote 10.99.0.2 \
  --psk "$IKE_PSK" --local-id gwA.lab --remote-id gwB.lab \
  --local-ts 10.98.1.0/24 --remote-ts 10.98.2.0/24 --seed "$SEED" \
  --plain "${IKE_HOSTILE_PLAIN:-5000}" --sk "${IKE_HOSTILE_SK:-2400}" \
  --auth "${IKE_HOSTILE_AUTH:-100}" --replay "${IKE_HOSTILE_REPLAY:-600}" --timeout-ms 1000
HOSTILE_PID=$NN_LAST_PID
rc=0
wait "$HOSTILE_PID" || rc=$?
grep -v '^sent\.\|^expect\.\|^[a-z_.]* [0-9]*$' "$NN_TMP/hostile.log" >&2
hv() { awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' "$NN_TMP/hostile.log"; }
nn_log "sent: $(grep '^sent\.' "$NN_TMP/hostile.log" | tr '\n' ' ')"
nn_log "tool: $(grep -v '^sent\.' "$NN_TMP/hostile.log" | grep '^[a-z_.]* [0-9]*$' | tr '\n' ' ')"

nn_check "hostile tool ran every phase (exit $rc)" test "$rc" -eq 0
nn_check "liveness checks answered throughout: message IDs and keys kept" test "$(hv state_intact)" = 1
nn_check "thousands of hostile datagrams sent ($(hv sent.hostile_total))" \
  test "$(hv sent.hostile_total)" -ge 7000
nn_check "of them SK-protected: $(hv sent.sk_total)" test "$(hv sent.sk_total)" -ge 2000
AUTH_SENT=$(( $(hv sent.auth.mutated) + $(hv sent.auth.missing_payload) ))
nn_check "braidd B still running (PID $B_PID)" dp_alive B

dp_refresh B
nn_exec gwB nstat -az UdpRcvbufErrors UdpInErrors 2>/dev/null | awk 'NR > 1 { printf "%s=%s ", $1, $2 } END { print "" }' >"$NN_TMP/udp"
nn_log "gwB kernel UDP errors: $(cat "$NN_TMP/udp")"
drops=""
for r in malformed unknown_spi state unprotected integrity message_id no_config; do
  drops="$drops $r=$(dp_counter B ike.drop.$r)"
done
nn_log "braidd B IKE drops:$drops"
nn_log "braidd B: datagrams_received=$(dp_counter B ike.datagrams_received) invalid_syntax_sent=$(dp_counter B ike.invalid_syntax_sent) unsupported_critical=$(dp_counter B ike.unsupported_critical) requests_processed=$(dp_counter B ike.requests_processed) responses_replayed=$(dp_counter B ike.responses_replayed) auth_failed=$(dp_counter B ike.auth_failed) ike_sa_up=$(dp_counter B ike.ike_sa_up)"
# Half of it went to port 4500 behind the non-ESP marker: the data plane hands it to IKE,
# except datagrams too short for an IKE header (rx.drop.invalid).
got=$(( $(dp_counter B ike.datagrams_received) + $(dp_counter B rx.drop.invalid) ))
nn_check "braidd B received every hostile datagram ($got >= $(hv sent.hostile_total))" \
  test "$got" -ge "$(hv sent.hostile_total)"
nn_check "short datagrams on port 4500 counted as rx.drop.invalid ($(dp_counter B rx.drop.invalid) >= $(hv expect.rx_invalid))" \
  test "$(hv expect.rx_invalid)" -gt 0 -a "$(dp_counter B rx.drop.invalid)" -ge "$(hv expect.rx_invalid)"
# Each reason at least as often as the tool sent datagrams whose drop reason is certain.
for r in malformed unknown_spi state unprotected integrity message_id; do
  want=$(hv expect.drop.$r) got=$(dp_counter B ike.drop.$r)
  nn_check "ike.drop.$r counted ($got >= $want expected)" test "$want" -gt 0 -a "$got" -ge "$want"
done
nn_check "broken IKE_SA_INIT requests answered statelessly ($(dp_counter B ike.invalid_syntax_sent) INVALID_SYNTAX)" \
  test "$(dp_counter B ike.invalid_syntax_sent)" -gt 0
nn_check "unknown critical payloads answered ($(dp_counter B ike.unsupported_critical))" \
  test "$(dp_counter B ike.unsupported_critical)" -gt 0
nn_check "mutated SK requests reached the tasks ($(dp_counter B ike.requests_processed) processed)" \
  test "$(dp_counter B ike.requests_processed)" -ge 100
dos=""
for k in drop.init_rate drop.half_open_per_source drop.half_open_cap cookies_sent cookies_valid \
         cookies_invalid half_open half_open_expired ike_sas log_suppressed; do
  dos="$dos $k=$(dp_counter B ike.$k)"
done
nn_log "braidd B DoS counters:$dos"
nn_log "braidd B log: $(wc -l <"$NN_TMP/braiddB.log") lines"
if [ "$MODE" = tasks ]; then
  nn_check "mutated IKE_AUTH chains sent on half-open SAs ($AUTH_SENT)" test "$AUTH_SENT" -ge 50
  nn_check "hostile IKE_SA_INITs were not rate-limited ($(dp_counter B ike.drop.init_rate))" \
    test "$(dp_counter B ike.drop.init_rate)" -eq 0
else
  # With the default limits the earlier phases' half-open SAs (10 per source, 30 s) may
  # still fill gwA's share when this phase starts: then the defences, not the IKE_AUTH task,
  # answer it (the task itself is covered in "tasks" mode).
  refused=$(( $(dp_counter B ike.drop.half_open_per_source) + $(dp_counter B ike.drop.init_rate) ))
  nn_check "mutated IKE_AUTH chains sent on half-open SAs ($AUTH_SENT), or their set-ups refused by the defences ($(hv auth.setup_failed) failed, $refused dropped)" \
    bash -c "[ $AUTH_SENT -ge 50 ] || { [ $(hv auth.setup_failed) -gt 0 ] && [ $refused -gt 0 ]; }"
  nn_check "the per-source IKE_SA_INIT rate limit dropped most of them ($(dp_counter B ike.drop.init_rate))" \
    test "$(dp_counter B ike.drop.init_rate)" -ge 1000
fi

# The legitimate peer connects after the attack (braidd's initiator retries with backoff if
# the attack left cookies or rate limits behind).
dp_start A "$NN_TMP/a.toml"
# (defences: the attacker's half-open SAs count against gwA's address until they expire.)
nn_check "gwA: Child SA installed after the attack" ike_wait_up A 45
nn_check "ping LAN A -> LAN B through the tunnel" \
  nn_exec lanA ping -q -c 3 -i 0.2 -W 2 10.98.2.2
nn_check "braidd B still running after the legitimate peer" dp_alive B
nn_check "braidd A exits 0" dp_stop A
nn_check "braidd B exits 0" dp_stop B
nn_check "no sanitizer report (braidd A, B, the tool)" \
  bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' '$NN_TMP/braiddA.log' '$NN_TMP/braiddB.log' '$NN_TMP/hostile.log'"
if [ "$NN_FAILS" -gt 0 ]; then
  nn_log "braidd B log (last 40 lines):"
  tail -40 "$NN_TMP/braiddB.log" >&2
fi
nn_finish
