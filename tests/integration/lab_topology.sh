#!/usr/bin/env bash
# The lab topology: namespaces, per-uplink reachability, no route between the LANs, the LTE
# NAT and its rebinding, idempotent up, recovery after a crash, and a clean down.
SRC=${BRAID_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/tests/support/netns.sh"
. "$SRC/deploy/lab/lab-lib.sh"
nn_init

# A scenario given at start is run by the daemon itself.
printf 't=0s broadband:ab delay=33ms\n' >"$NN_TMP/start.scn"
LAB_SCENARIO=$NN_TMP/start.scn lab_up

nodes=(wan a-gw a-lan b-gw b-lan)
present=0
for n in "${nodes[@]}"; do ip netns list | awk '{print $1}' | grep -qx "$(lab_ns "$n")" && present=$((present + 1)); done
nn_check "5 namespaces with the test's prefix" [ "$present" = 5 ]
nn_check "up again is a no-op" lab up
nn_check "status reports up" lab status

for pair in fiber:172.16.1.2 broadband:172.16.2.2 lte:172.16.3.2; do
  nn_check "a-gw reaches b-gw over ${pair%%:*}" lab_exec a-gw ping -c 3 -i 0.05 -W 2 -q "${pair#*:}"
done
nn_check "lan host reaches its gateway" lab_exec a-lan ping -c 1 -W 1 -q 10.10.1.1
nn_check "no route LAN A -> LAN B (only braid provides one)" \
  bash -c "! ip netns exec $(lab_ns a-lan) ping -c 1 -W 1 -q 10.10.2.10"
nn_check "gateway A has no route to LAN B" bash -c "! ip netns exec $(lab_ns a-gw) ip route get 10.10.2.10"
nn_check "hub cannot open connections into the LTE NAT" \
  bash -c "! ip netns exec $(lab_ns b-gw) ping -c 1 -W 1 -q 100.64.1.2"
sleep 0.2
nn_check "start-up scenario ran (broadband:ab delay 33ms)" [ "$(lab_get broadband:ab delay)" = 33ms ]
nn_check "start-up scenario left the other direction alone" [ "$(lab_get broadband:ba delay)" = 15ms ]

# LTE NAT: the hub sees the carrier's public address, and a new port after rebind-lte.
probe=$(lab_probe_bin)
lab_exec b-gw "$probe" recv --bind 172.16.3.2:6000 --duration 6s --idle 1500ms --ready "$NN_TMP/r" >"$NN_TMP/nat" 2>&1 &
rpid=$!
nn_wait_for 5 test -f "$NN_TMP/r"
lab_exec a-gw "$probe" send --to 172.16.3.2:6000 --bind 100.64.1.2:7000 --pps 50 --duration 3s >/dev/null &
spid=$!
sleep 1.5
lab rebind-lte
wait "$spid" "$rpid"
sources=$(tr ' ' '\n' <"$NN_TMP/nat" | kv sources)
echo "lte sources seen by the hub: $sources"
nn_check "LTE traffic arrives from the NAT address 172.16.3.254" [ "${sources%%:*}" = 172.16.3.254 ]
nn_check "rebind-lte gave the flow a new public port" [ "$(tr ',' '\n' <<<"$sources" | sort -u | wc -l)" = 2 ]

# Crash: the emulator dies; status notices, up repairs, down removes everything.
wpid=$(awk '$3 == "wanem" {print $1}' "$LAB_STATE_DIR/pids")
kill -9 "$wpid"
sleep 0.2
lab status >/dev/null; rc=$?
nn_check "status reports a partial lab after a crash (rc $rc)" [ "$rc" = 2 ]
nn_check "up repairs the crashed lab" lab up
nn_check "fiber works after the repair" lab_exec a-gw ping -c 2 -i 0.05 -W 2 -q 172.16.1.2
wpid=$(awk '$3 == "wanem" {print $1}' "$LAB_STATE_DIR/pids")
nn_check "down succeeds" lab down
left=$(ip netns list | awk '{print $1}' | grep -c "^$LAB_PREFIX" || true)
nn_check "down removed every namespace (left: $left)" [ "$left" = 0 ]
nn_check "down stopped the emulator" bash -c "! kill -0 $wpid 2>/dev/null"
nn_check "down removed the state dir" [ ! -e "$LAB_STATE_DIR" ]
nn_finish
