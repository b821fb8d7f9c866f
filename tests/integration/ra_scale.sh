#!/usr/bin/env bash
# Remote access at scale (docs/performance.md "Remote access scale"): braid-ra-load brings up
# RA_SCALE_CLIENTS (1000) road-warrior clients against one braidd [[remote_access]] section,
# each from an address of its own with its own IKE SA, EAP-MSCHAPv2 login, CP request and
# Child SA. Everything runs in one namespace: braidd's uplink is wan0 (10.99.0.1), a veth, and
# the clients' addresses 10.100.0.0/16 are local there (a `local` route on lo), so a thousand
# clients need no neighbour entries. Checks: every client connected with a distinct virtual
# IP of the pool, four clients' ICMP echoes sealed in their Child SAs were answered by a host
# behind the gateway (10.98.1.1 on lan0) through braidd's data plane, braidd counts the
# clients and is still alive, and its Prometheus scrape has no series per client. Prints the
# set-up rate and braidd's memory and CPU per client; no timing bound (a noisy 2-core VM).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../support/netns.sh"
. "$HERE/dataplane_lib.sh"
. "$HERE/ike_lib.sh"
LOAD=${DP_BUILD}/tests/support/ra_load/braid-ra-load
N=${RA_SCALE_CLIENTS:-1000}
CONCURRENCY=${RA_SCALE_CONCURRENCY:-16}

nn_init
[ -x "$BRAIDD" ] || nn_die "braidd not built: $BRAIDD"
[ -x "$LOAD" ] || nn_die "braid-ra-load not built: $LOAD"
P=$NN_TMP/pki
ike_pki "$P" || nn_die "cannot make the test PKI"
chmod 600 "$P"/*.key
"$LOAD" --write-credentials "$NN_TMP/users" --clients "$N" || nn_die "cannot write the users"
chmod 600 "$NN_TMP/users"

nn_add gwA
nn_add ext  # the far ends of wan0 and lan0 (the kernel has no dummy links)
nn_veth gwA wan0 10.99.0.1/24 ext wan0 -
nn_veth gwA lan0 10.98.1.1/24 ext lan0 -
nn_exec gwA ip route add local 10.100.0.0/16 dev lo
nn_forwarding gwA

cat >"$NN_TMP/a.toml" <<CFG
[log]
level = "warn"

[overlay]
device = "braid0"
local_subnets = ["10.98.1.0/24"]

[[uplink]]
name = "wan0"
local_address = "10.99.0.1"

[[remote_access]]
name = "staff"
pools = ["10.90.0.0/20"]
allowed_subnets = ["10.98.1.0/24"]
max_clients = $N
credentials = "$NN_TMP/users"

[remote_access.ike]
certificate = "$P/gwA.pem"
private_key = "$P/gwA.key"
ca_certificates = "$P/ca.pem"
local_id = "gwA.lab"
proposals = "aes256gcm16-prfsha256-x25519"
esp_proposals = "aes256gcm16"

[metrics]
listen = "127.0.0.1:9471"
CFG
nn_check "config is valid" "$BRAIDD" --check --config "$NN_TMP/a.toml"
dp_start A "$NN_TMP/a.toml"
PID=${DP_PID[A]}
sleep 1  # past start-up allocations: the "before" figures are the idle daemon's
nn_log "braidd up with $N slots: $(grep VmRSS /proc/"$PID"/status)"
# series: the scrape's sample lines (label cardinality must not grow with the clients).
series() { nn_exec gwA curl -sS --max-time 10 http://127.0.0.1:9471/metrics >"$NN_TMP/$1.prom" && grep -vc '^#' "$NN_TMP/$1.prom"; }
SERIES0=$(series idle)

nn_exec gwA "$LOAD" --gateway 10.99.0.1 --first-client 10.100.0.1 --clients "$N" \
  --ca "$P/ca.pem" --gateway-id gwA.lab --pid "$PID" --concurrency "$CONCURRENCY" \
  --remote-ts 10.98.1.0/24 --ping 10.98.1.1 --ping-clients 4 --timeout-s 200 \
  >"$NN_TMP/load.out" 2>"$NN_TMP/load.err"
RC=$?
cat "$NN_TMP/load.out"
tail -20 "$NN_TMP/load.err" >&2
fig() { awk -v k="ra_load.$1" '$1 == k { print $2 }' "$NN_TMP/load.out"; }
nn_check "braid-ra-load exit status 0 ($RC)" test "$RC" = 0
nn_check "all $N clients connected ($(fig connected))" test "$(fig connected)" = "$N"
nn_check "$N distinct virtual IPs ($(fig distinct_virtual_ips))" test "$(fig distinct_virtual_ips)" = "$N"
nn_check "ICMP through four clients' Child SAs answered ($(fig pings_answered))" \
  test "$(fig pings_answered)" = "4/4"
nn_check "braidd alive" dp_alive A
dp_refresh A
nn_check "braidd counts $N clients ($(dp_counter A ike.remote_access.clients))" \
  test "$(dp_counter A ike.remote_access.clients)" = "$N"
SERIES1=$(series loaded)
nn_check "metrics series bounded with $N clients ($SERIES0 idle, $SERIES1 loaded)" \
  test "${SERIES1:-999999}" -le $((${SERIES0:-0} + 50))
nn_check "no series per client slot" bash -c "! grep -q 'staff#' '$NN_TMP/loaded.prom'"
nn_check "no client refused for want of a slot" test "$(dp_counter A ike.remote_access.no_free_slot)" = 0
nn_log "figures: $(fig clients_per_second) clients/s (set-up p50 $(fig setup_ms_p50) ms, p95 $(fig setup_ms_p95) ms, concurrency $CONCURRENCY); braidd RSS $(fig braidd_rss_kb_before) -> $(fig braidd_rss_kb_after) kB, $(fig braidd_kb_per_client) kB and $(fig braidd_cpu_ms_per_client) ms CPU per client"
if [ "$NN_FAILS" -gt 0 ]; then tail -30 "$NN_TMP/braiddA.log" >&2; fi
nn_check "braidd exits 0 on SIGTERM" dp_stop A
nn_finish
