#!/usr/bin/env bash
# braidctl against a running braidd in the WAN lab (issue 13, docs/operations.md): status,
# sas and --json; `path down fiber` while voice-like UDP runs moves the voice to broadband at
# once, `path up fiber` brings it back; `reload` of a valid changed policy keeps the tunnels
# (same SPIs) and of an invalid one is refused with file:line:col while the old one keeps
# running; `check` says what braidd --check says; `metrics --json` is the whole registry
# (the probe RTT histograms, the path down counted as a failover with its flow's move); a
# non-root user is refused by the socket's permissions. Skipped (77) only until edge/braidd and edge/braidctl are built.
SRC=${BRAID_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/tests/support/netns.sh"
. "$SRC/deploy/lab/lab-lib.sh"
. "$SRC/tests/integration/lab_failover_lib.sh"
export LAB_BRAIDD=${LAB_BRAIDD:-${BRAID_BUILD_DIR:-/nonexistent}/edge/braidd}
CTL=${BRAIDCTL:-${BRAID_BUILD_DIR:-/nonexistent}/edge/braidctl}
for b in "$LAB_BRAIDD" "$CTL"; do
  if [ ! -x "$b" ]; then echo "SKIP: $b not built"; exit 77; fi
done
nn_init
lab_up
export LAB_CONTROL=1  # each site's braidd: <state>/braidd-SITE.sock
SOCK=$LAB_STATE_DIR/braidd-a.sock
CONF=$LAB_STATE_DIR/braidd-a.toml
ctl() { "$CTL" --socket "$SOCK" "$@"; }
VOICE=
cleanup_ctl() {
  [ -n "$VOICE" ] && nn_kill_pid "$VOICE"
  VOICE=
  [ -n "${NOBODY_DIR:-}" ] && rm -rf "$NOBODY_DIR"
  return 0
}
nn_on_cleanup cleanup_ctl

nn_check "lab links: fiber 4 ms, broadband 25 ms" mp_links
nn_check "nftables voice-size counters on A's uplinks" mp_count_setup
POLICY=$LAB_STATE_DIR/policy-ctl.toml
mp_policy "$POLICY" 20 <<'EOF'
[[class]]
name = "voice"
priority = "realtime"
mode = "steer"
prefer = ["fiber", "broadband"]
metered = "last_resort"
[class.sla]
max_rtt_ms = 150
max_jitter_ms = 30
max_loss = 0.05
EOF
mp_up "braidd up with a braidctl socket per site" "$POLICY" || { nn_finish; exit 1; }
cp "$CONF" "$NN_TMP/braidd-a.orig.toml"

# --- status, sas, --json ---------------------------------------------------------------
fits80() { awk 'length($0) > 80 {bad = 1; print "too wide: " $0 > "/dev/stderr"} END {exit bad}'; }
ctl status >"$NN_TMP/status.txt" 2>&1
rc=$?
sed 's/^/  | /' "$NN_TMP/status.txt"
nn_check "braidctl status exits 0" [ "$rc" = 0 ]
nn_check "status fits 80 columns" fits80 <"$NN_TMP/status.txt"
has() { local f=$1 p; shift; for p; do grep -q -- "$p" "$f" || return 1; done; }
nn_check "status: uplinks, paths and their SAs" \
  has "$NN_TMP/status.txt" 'uplink fiber' 'site-b/fiber' 'SA out' 'SA in'
nn_check "status: every path up and IKE established" \
  [ "$(grep -cE '^  site-b/(fiber|broadband|lte) +up +established' "$NN_TMP/status.txt")" = 3 ]
ctl sas >"$NN_TMP/sas.txt" 2>&1
sed 's/^/  | /' "$NN_TMP/sas.txt" | head -12
nn_check "sas: swanctl-like blocks" grep -q '^site-b/fiber: ESTABLISHED, IKEv2, path up' "$NN_TMP/sas.txt"
nn_check "sas: IKE SPIs (ours starred)" grep -qE \
  '^  SPIs [0-9a-f]{16}_i(\* [0-9a-f]{16}_r| [0-9a-f]{16}_r\*)$' "$NN_TMP/sas.txt"
nn_check "sas: IKE proposal, times, identities; Child SA proposal, traffic, selectors" \
  has "$NN_TMP/sas.txt" '^  aes256gcm16-prfsha256-x25519$' '^  established [0-9].* ago, rekeying in ' \
  "^  remote '" ': INSTALLED, ESP in UDP, aes256gcm16$' '^    installed .* ago, rekeying in ' \
  '^    in  [0-9a-f]\{8\}, .* packets$' '^    out [0-9a-f]\{8\}, ' '^    local  10\.10\.1\.0/24' \
  '^    remote 10\.10\.2\.0/24'
nn_check "sas fits 80 columns" fits80 <"$NN_TMP/sas.txt"
ctl --json sas >"$NN_TMP/sas.json"
nn_check "sas --json: each path's IKE SA, its Child SA's SPIs match the data plane's" \
  jq -e '[.data.paths[] | (.ike_sas[0].child_sas[0] | [.spi_in, .spi_out] | sort) == ([.sas[].spi] | sort)
         and (.ike_sas[0].child_sas[0].remote_ts | length) >= 1] | all and length == 3' "$NN_TMP/sas.json"
ctl --json status >"$NN_TMP/status.json"
nn_check "--json status is one JSON document with 3 paths" \
  jq -e '.ok and .command == "status" and (.data.paths | length) == 3' "$NN_TMP/status.json"
spis() { ctl --json sas | jq -r '[.data.paths[].sas[].spi] | sort | join(",")'; }
SPIS=$(spis)
nn_check "sas --json: 6 SPIs (in and out per path): $SPIS" [ "$(tr ',' '\n' <<<"$SPIS" | grep -c .)" = 6 ]
ctl path down nowhere >"$NN_TMP/nowhere.txt" 2>&1
rc=$?
nn_check "an unknown path is refused by name (exit $rc)" \
  bash -c "[ $rc = 1 ] && grep -q \"no path or uplink 'nowhere'\" '$NN_TMP/nowhere.txt'"

# --- path down / up while voice runs ---------------------------------------------------
fs=$(mp_voice_pkts fiber); bs=$(mp_voice_pkts broadband)
( mp_voice 5500 500 >"$NN_TMP/voice.report" ) &
VOICE=$!
sleep 2
ctl flows >"$NN_TMP/flows.txt" 2>&1
sed 's/^/  | /' "$NN_TMP/flows.txt" | head -5
nn_check "flows: the voice flow on fiber" grep -qE 'voice +site-b/fiber' "$NN_TMP/flows.txt"
ctl path down fiber >"$NN_TMP/down.txt" 2>&1
rc=$?
sed 's/^/  | /' "$NN_TMP/down.txt"
nn_check "path down fiber exits 0" [ "$rc" = 0 ]
f1=$(mp_voice_pkts fiber); b1=$(mp_voice_pkts broadband)
sleep 2
f2=$(mp_voice_pkts fiber); b2=$(mp_voice_pkts broadband)
echo "voice-size packets: before the override fiber $((f1 - fs)) broadband $((b1 - bs));" \
  "2 s after it fiber $((f2 - f1)) broadband $((b2 - b1)); load $(mp_load)"
nn_check "fiber carried the voice before ($((f1 - fs)) packets)" fcmp "$((f1 - fs)) >= 60"
nn_check "after path down, fiber carries no voice ($((f2 - f1)) packets)" fcmp "$((f2 - f1)) <= 2"
nn_check "after path down, broadband carries it ($((b2 - b1)) packets in 2 s)" fcmp "$((b2 - b1)) >= 60"
ctl --json status >"$NN_TMP/down.json"
ctl status | sed 's/^/  | /'
nn_check "status: fiber admin-down, voice listed on broadband" jq -e '
  (.data.paths[] | select(.name == "site-b/fiber") | .admin_down and .state == "down") and
  (.data.paths[] | select(.name == "site-b/broadband") | .classes | index("voice") != null)' "$NN_TMP/down.json"
ctl path up fiber | sed 's/^/  | /'
sleep 2
f3=$(mp_voice_pkts fiber)
nn_check "after path up, voice returns to fiber ($((f3 - f2)) packets in 2 s)" fcmp "$((f3 - f2)) >= 30"
wait "$VOICE"
VOICE=
R=$(cat "$NN_TMP/voice.report")
echo "voice: lost $(kv lost <<<"$R") of 500, longest gap $(kv max_gap_ms <<<"$R") ms"
nn_check "voice lost <= 5 of 500 across down and up ($(kv lost <<<"$R"))" fcmp "$(kv lost <<<"$R") <= 5"

# --- metrics: the whole registry -----------------------------------------------------------
ctl --json metrics >"$NN_TMP/metrics.json"
ctl metrics >"$NN_TMP/metrics.txt"
sed 's/^/  | /' "$NN_TMP/metrics.txt" | grep -E 'failover|probe_rtt_seconds_count' | grep site-b/fiber
m() { jq -r "$1" "$NN_TMP/metrics.json"; }
fam() { echo "[.data.metrics[] | select(.name == \"$1\") | .series[] | select(.labels.path == \"site-b/fiber\")${2:-}]"; }
nn_check "metrics --json: the registry, with $(m '.data.metrics | length') families" \
  jq -e '.ok and .command == "metrics" and (.data.metrics | length) > 100' "$NN_TMP/metrics.json"
nn_check "metrics: probe RTT histogram per path, fiber's samples all above 4 ms" jq -e '
  [.data.metrics[] | select(.name == "braid_path_probe_rtt_seconds") | .series[]] as $s |
  ($s | length) == 3 and ($s | all(.count > 10)) and
  ($s[] | select(.labels.path == "site-b/fiber") | .buckets[0].count == 0)' "$NN_TMP/metrics.json"
nn_check "metrics: the path down counted as fiber's failover (admin_down)" \
  jq -e "$(fam braid_path_failovers_total ' | select(.labels.cause == "admin_down")') | .[0].value >= 1" \
  "$NN_TMP/metrics.json"
MOVE=$(m "$(fam braid_path_last_failover_move_seconds) | .[0].value")
FLOWS=$(m "$(fam braid_path_last_failover_flows) | .[0].value")
echo "fiber's last failover: $FLOWS flow(s) moved in $MOVE s"
nn_check "metrics: the voice flow moved off fiber within 0.5 s of path down ($FLOWS flow(s), $MOVE s)" \
  fcmp "$FLOWS >= 1 && $MOVE > 0 && $MOVE <= 0.5"
SERIES=$(m '[.data.metrics[] | .type as $t | .series[] | if $t == "histogram" then 2 else 1 end] | add')
nn_check "metrics text: one line per series ($SERIES)" [ "$(wc -l <"$NN_TMP/metrics.txt")" = "$SERIES" ]

# --- reload ------------------------------------------------------------------------------
printf '\n[[class]]\nname = "bulk"\nmode = "steer"\nprefer = ["broadband", "fiber"]\n' >>"$CONF"
ctl reload >"$NN_TMP/reload.txt" 2>&1
rc=$?
sed 's/^/  | /' "$NN_TMP/reload.txt"
nn_check "reload of a valid changed policy exits 0" [ "$rc" = 0 ]
nn_check "reload says what it applied (3 classes)" grep -q 'policy reloaded from .*: 3 class(es)' "$NN_TMP/reload.txt"
nn_check "tunnels stay up across the reload (same SPIs)" [ "$(spis)" = "$SPIS" ]
printf '\n[[class]]\nname = 5\n' >>"$CONF"
ctl reload >"$NN_TMP/bad.txt" 2>&1
rc=$?
sed 's/^/  | /' "$NN_TMP/bad.txt"
nn_check "reload of an invalid file is refused (exit $rc)" [ "$rc" = 1 ]
nn_check "the refusal names file:line:col" grep -qE "braidd-a\.toml:[0-9]+:[0-9]+: " "$NN_TMP/bad.txt"
nn_check "the old configuration keeps running (same SPIs)" [ "$(spis)" = "$SPIS" ]
nn_check "traffic still flows" lab_exec a-lan ping -c 3 -i 0.2 -W 2 -q 10.10.2.10
# check: the same message as braidd --check, no daemon involved.
"$LAB_BRAIDD" --check --config "$CONF" >"$NN_TMP/check.braidd" 2>&1
rb=$?
"$CTL" check "$CONF" >"$NN_TMP/check.ctl" 2>&1
rc=$?
nn_check "check CONFIG: exit 2 like braidd --check ($rc, $rb)" [ "$rc/$rb" = 2/2 ]
nn_check "check CONFIG: the same messages as braidd --check" cmp -s "$NN_TMP/check.braidd" "$NN_TMP/check.ctl"
cp "$NN_TMP/braidd-a.orig.toml" "$CONF"
nn_check "check of the original config: valid" "$CTL" check "$CONF"

# --- watch, permissions --------------------------------------------------------------------
n=$(ctl watch --count 2 | grep -c '^braidd ')
nn_check "watch --count 2 prints status twice ($n)" [ "$n" = 2 ]
nn_check "socket mode 0660, owner root" [ "$(stat -c '%a %U' "$SOCK")" = "660 root" ]
# nobody may search the state dir (not list it; secrets there are 0600) so that only the
# socket's own mode refuses it.
NOBODY_DIR=$(mktemp -d /tmp/braidctl-XXXXXX)
chmod 755 "$NOBODY_DIR" && cp "$CTL" "$NOBODY_DIR/" && chmod 755 "$NOBODY_DIR/braidctl"
mode=$(stat -c '%a' "$LAB_STATE_DIR")
chmod o+x "$LAB_STATE_DIR"
setpriv --reuid=nobody --regid=nogroup --clear-groups "$NOBODY_DIR/braidctl" --socket "$SOCK" status \
  >"$NN_TMP/nobody.txt" 2>&1
rc=$?
chmod "$mode" "$LAB_STATE_DIR"
sed 's/^/  | /' "$NN_TMP/nobody.txt"
nn_check "nobody is refused (exit $rc)" [ "$rc" = 1 ]
nn_check "... by the socket's permissions" grep -q 'Permission denied' "$NN_TMP/nobody.txt"
nn_finish
