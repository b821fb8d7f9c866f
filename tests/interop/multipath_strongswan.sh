#!/usr/bin/env bash
# Multipath against a standard IKEv2 peer (issue 12, "Interop"): braidd in gwA reaches
# strongSwan's charon (kernel-libipsec) in gwB over two uplinks, fiber (wan0) and broadband
# (wan1), one IKE SA and Child SA each, with the same traffic selectors. No braid extension
# can be used: charon does not offer the shim, so braid has no probes and judges each path
# from the peer's ESP and, when that falls silent while braid sends, an IKE liveness check.
#   1. both paths keyed, shim off on both (braid's stats), no braid notify in charon's log;
#   2. per-flow steering in braid's sending direction: voice (UDP 5500-5600) prefers fiber,
#      bulk (UDP 6000) prefers broadband; nftables counters on gwB's two WAN ports show each
#      flow's ESP on its own uplink only;
#   3. failover: voice at 50 packets/s, then nftables drops everything on fiber (both ways):
#      braid declares fiber dead (liveness_lost), voice continues on broadband; the longest
#      delivery gap is reported (bounded loosely: the figure goes to docs/multipath.md);
#   4. fiber back: a liveness check is answered, fiber is Up again after the hold-down and
#      voice returns to it;
#   5. a cut of braid's direction alone on the uplink charon sends its own traffic on (a
#      ping from lanB), while charon's ESP still arrives there: only the round-trip check
#      (round_trip_check_ms, an IKE response needed) sees it: dead by round_trip_lost, the
#      stream continues on the other uplink, and the path comes back only once a check is
#      answered again.
# What charon does on its side (its own outbound choice between the two Child SAs) is printed
# and documented, not asserted: it is the standard peer's business.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NN_PREFIX=${NN_PREFIX:-ms$$-}
. "$HERE/../support/netns.sh"
. "$HERE/../integration/dataplane_lib.sh"
. "$HERE/interop_lib.sh"
. "$DP_SRC/deploy/lab/lab-lib.sh"

PSK=multipath-interop-psk-0123456789abcdef0123456789
VOICE_PORT=5500
BULK_PORT=6000
GAP_BOUND_MS=${MS_GAP_BOUND_MS:-2500}
OW_GAP_BOUND_MS=${MS_OW_GAP_BOUND_MS:-3500}  # round_trip_check_ms + 2 x liveness_timeout_ms + slack

ms_topology() {
  dp_topology
  nn_veth gwA wan1 10.99.2.1/24 gwB wan1 10.99.2.2/24
  # Counters of the data-sized ESP (IP length >= 200: voice and bulk, not IKE or keepalives)
  # that arrive on each of gwB's WAN ports, and the fiber cut (dropped both ways on gwA).
  nn_exec gwB nft -f - <<'NFT' || nn_die "nft counters on gwB"
table netdev ms_count {
  chain fiber {
    type filter hook ingress device "wan0" priority filter; policy accept;
    udp dport 4500 ip length >= 200 counter
  }
  chain broadband {
    type filter hook ingress device "wan1" priority filter; policy accept;
    udp dport 4500 ip length >= 200 counter
  }
}
NFT
}
ms_pkts() {   # ms_pkts fiber|broadband: ESP data packets gwB received on that uplink
  nn_exec gwB nft list chain netdev ms_count "$1" |
    awk '/counter packets/ {for (i = 1; i <= NF; i++) if ($i == "packets") n += $(i + 1)} END {print n + 0}'
}
ms_cut() {   # ms_cut on|off: drop everything on gwA's fiber port, both ways
  if [ "$1" = on ]; then
    nn_exec gwA nft -f - <<'NFT'
table inet ms_cut {
  chain in {
    type filter hook prerouting priority -300; policy accept;
    iifname "wan0" counter drop
  }
  chain out {
    type filter hook postrouting priority 300; policy accept;
    oifname "wan0" counter drop
  }
}
NFT
  else
    nn_exec gwA nft delete table inet ms_cut
  fi
}

# ms_cut_ours IFACE on|off: drop only what gwA sends on that uplink.
ms_cut_ours() {
  if [ "$2" = on ]; then
    nn_exec gwA nft -f - <<NFT
table inet ms_cut_ours {
  chain out {
    type filter hook postrouting priority 300; policy accept;
    oifname "$1" counter drop
  }
}
NFT
  else
    nn_exec gwA nft delete table inet ms_cut_ours
  fi
}
# ms_rx IFACE: the peer's data-sized ESP (IP length >= 200) gwA received there.
ms_rx_setup() {
  nn_exec gwA nft -f - <<'NFT'
table netdev ms_rx {
  chain wan0 {
    type filter hook ingress device "wan0" priority filter; policy accept;
    ip length >= 200 counter
  }
  chain wan1 {
    type filter hook ingress device "wan1" priority filter; policy accept;
    ip length >= 200 counter
  }
}
NFT
}
ms_rx() {
  nn_exec gwA nft list chain netdev ms_rx "$1" 2>/dev/null |
    awk '/counter packets/ {for (i = 1; i <= NF; i++) if ($i == "packets") n += $(i + 1)} END {print n + 0}'
}

ms_swanctl_conf() {
  local up a b
  printf 'connections {\n'
  for up in fiber broadband; do
    if [ $up = fiber ]; then a=10.99.0.2 b=10.99.0.1; else a=10.99.2.2 b=10.99.2.1; fi
    cat <<EOF
  $up {
    version = 2
    local_addrs = $a
    remote_addrs = $b
    encap = yes
    mobike = no
    # Two IKE SAs from the same identity, one per uplink: keep both (INITIAL_CONTACT on
    # one must not delete the other; docs/interop.md).
    unique = never
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
EOF
  done
  cat <<EOF
}
secrets {
  ike-gwA { id = gwA.lab
    secret = "$PSK" }
}
EOF
}

ms_braid_conf() {
  cat <<EOF
[log]
level = "info"

[overlay]
device = "braid0"
mtu = 1400
local_subnets = ["10.98.1.0/24"]

[[uplink]]
name = "fiber"
local_address = "10.99.0.1"

[[uplink]]
name = "broadband"
local_address = "10.99.2.1"

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
retransmit_timeout = 1
retransmit_base = 1.5
retransmit_tries = 8

[[peer.path]]
uplink = "fiber"
remote_address = "10.99.0.2"

[[peer.path]]
uplink = "broadband"
remote_address = "10.99.2.2"

[pathmon]
hold_down_ms = 1000
esp_silence_ms = 300
liveness_timeout_ms = 500

[[class]]
name = "voice"
priority = "realtime"
mode = "steer"
prefer = ["fiber", "broadband"]

[[class]]
name = "bulk"
mode = "steer"
prefer = ["broadband", "fiber"]

[[class]]
name = "default"
mode = "steer"

[[rule]]
class = "voice"
protocol = "udp"
dst_ports = ["5500-5600"]

[[rule]]
class = "bulk"
protocol = "udp"
dst_ports = [$BULK_PORT]
EOF
}

# ms_send PORT COUNT: COUNT datagrams at 50/s lanA -> lanB:PORT; the receiver's report.
ms_send() {
  local port=$1 count=$2
  LAB_PROBE_IDLE=3000ms lab_probe lanA lanB 10.98.2.2 "$port" --pps 50 --count "$count" --size 172
}
kv() { awk -F= -v k="$1" '$1 == k { print $2 }' <<<"$2"; }
stat_of() { dp_refresh A >/dev/null 2>&1; dp_counter A "$1"; }

nn_init
REF=$NN_TMP/ref-charon
LAB_STATE_DIR=$NN_TMP
export LAB_STATE_DIR
ss_check_deps
[ -x "$BRAIDD" ] || nn_die "braidd not built: $BRAIDD"
[ -x "$(lab_probe_bin)" ] || nn_die "braid-wanem-probe not built: $(lab_probe_bin)"
t0=$(date +%s)
ms_topology

io_case_begin "multipath-two-uplinks"
ss_conf "$REF" 2
ss_start "$(nn gwB)" "$REF"
NN_PIDS+=("$LAB_LAST_PID")
ms_swanctl_conf >"$REF/swanctl/swanctl.conf"
io_charon_load "$REF"
ms_braid_conf >"$NN_TMP/braid.toml"
io_check "braidd --check accepts the two-uplink config" "$BRAIDD" --check --config "$NN_TMP/braid.toml"
LOG=$NN_TMP/braid.log
STATS=$NN_TMP/statsA
nn_bg gwA "$LOG" "$BRAIDD" --config "$NN_TMP/braid.toml" --stats-file "$STATS"
DP_PID[A]=$NN_LAST_PID

# 1. Both paths keyed, without the shim.
nn_wait_for 20 bash -c "[ \$(grep -c \"Child SA '[^']*' up\" '$LOG') -ge 2 ]"
io_check "braid: a Child SA up on each uplink" bash -c "[ \$(grep -c \"Child SA '[^']*' up\" '$LOG') -ge 2 ]"
io_check "strongSwan: two IKE SAs established (fiber and broadband)" bash -c \
  "grep -q 'fiber\[[0-9]*\] established between' '$REF/charon.log' && grep -q 'broadband\[[0-9]*\] established between' '$REF/charon.log'"
sleep 1
dp_refresh A
io_check "braid: no shim on fiber (standard peer)" test "$(dp_counter A path.hq/fiber.shim)" = 0
io_check "braid: no shim on broadband" test "$(dp_counter A path.hq/broadband.shim)" = 0
io_check "braid: both paths up" bash -c "[ \"\$(awk '\$1 ~ /^path\.hq\/.*\.state\$/ {print \$2}' '$STATS' | sort -u)\" = up ]"

# 2. Per-flow steering in braid's sending direction.
f0=$(ms_pkts fiber) b0=$(ms_pkts broadband)
r=$(ms_send $VOICE_PORT 100)
f1=$(ms_pkts fiber) b1=$(ms_pkts broadband)
io_check "voice: 100 sent, $(kv received "$r") received" test "$(kv received "$r")" -ge 99
io_check "voice on fiber only: fiber +$((f1 - f0)), broadband +$((b1 - b0))" \
  bash -c "[ $((f1 - f0)) -ge 99 ] && [ $((b1 - b0)) -le 1 ]"
r=$(ms_send $BULK_PORT 100)
f2=$(ms_pkts fiber) b2=$(ms_pkts broadband)
io_check "bulk: 100 sent, $(kv received "$r") received" test "$(kv received "$r")" -ge 99
io_check "bulk on broadband only: broadband +$((b2 - b1)), fiber +$((f2 - f1))" \
  bash -c "[ $((b2 - b1)) -ge 99 ] && [ $((f2 - f1)) -le 1 ]"
checks0=$(stat_of path.hq/fiber.liveness_checks)
io_ok "IKE liveness checks so far on fiber: $checks0 (one-way traffic, no ESP back)"

# 3. Failover: voice for 8 s, fiber cut after 3 s.
f3=$(ms_pkts fiber) b3=$(ms_pkts broadband)
( sleep 3; ms_cut on; date +%s.%N >"$NN_TMP/cut-at" ) &
cutter=$!
r=$(ms_send $((VOICE_PORT + 1)) 400)
wait "$cutter"
f4=$(ms_pkts fiber) b4=$(ms_pkts broadband)
gap=$(kv max_gap_ms "$r")
lost=$((400 - $(kv received "$r")))
io_check "failover: voice continued on broadband (+$((b4 - b3)) there)" test $((b4 - b3)) -ge 200
io_check "failover: braid logged fiber dead by its liveness check" \
  grep -Eq 'path hq/fiber: up -> dead \((liveness_lost|round_trip_lost)' "$LOG"
io_check "failover gap ${gap} ms, ${lost} lost (bound ${GAP_BOUND_MS} ms; figures in docs/multipath.md)" \
  awk -v g="$gap" -v b="$GAP_BOUND_MS" 'BEGIN { exit !(g > 0 && g <= b) }'
grep -E 'path hq/fiber: up -> dead' "$LOG" | head -1 | sed 's/^/  braid: /'
grep -E 'failover from hq/fiber' "$LOG" | head -1 | sed 's/^/  braid: /'

# 4. Fiber back: Up after a check is answered and the hold-down, voice returns.
ms_cut off
nn_wait_for 10 grep -Eq 'path hq/fiber: dead -> up \(liveness_answered' "$LOG"
io_check "fiber back up by an answered liveness check" \
  grep -Eq 'path hq/fiber: dead -> up \(liveness_answered' "$LOG"
f5=$(ms_pkts fiber)
r=$(ms_send $((VOICE_PORT + 2)) 100)
f6=$(ms_pkts fiber)
io_check "voice back on fiber: +$((f6 - f5)) of $(kv received "$r") received" test $((f6 - f5)) -ge 95
dp_refresh A
io_ok "liveness checks: fiber $(dp_counter A path.hq/fiber.liveness_checks), broadband $(dp_counter A path.hq/broadband.liveness_checks)"

# 5. Our direction cut alone on the uplink charon sends its own traffic on (its choice
#    between two Child SAs with the same selectors; seen from a reverse ping), carrying
#    the class that prefers that uplink: charon's ESP keeps arriving there.
ms_rx_setup
nn_exec lanB ping -c 25 -i 0.02 -s 200 -q 10.98.1.2 >/dev/null 2>&1
if [ "$(ms_rx wan0)" -ge "$(ms_rx wan1)" ]; then
  U=fiber IF=wan0 OTHER=broadband PORT=$((VOICE_PORT + 3))
else
  U=broadband IF=wan1 OTHER=fiber PORT=$BULK_PORT
fi
io_ok "charon sends its own traffic on $U: cutting braid's direction alone there"
deaths0=$(grep -c "path hq/$U: up -> dead" "$LOG")
ups0=$(grep -c "path hq/$U: dead -> up" "$LOG")
rx0=$(ms_rx $IF) o5=$(ms_pkts $OTHER)
nn_bg lanB "$NN_TMP/ping-reverse.log" ping -i 0.02 -s 200 -w 14 -q 10.98.1.2
pinger=$NN_LAST_PID
( sleep 3; ms_cut_ours $IF on ) &
cutter=$!
r=$(ms_send "$PORT" 400)
wait "$cutter"
rx=$(($(ms_rx $IF) - rx0))
o6=$(ms_pkts $OTHER)
gap=$(kv max_gap_ms "$r")
lost=$((400 - $(kv received "$r")))
io_check "one-way cut: charon's ESP kept arriving on $U ($rx packets)" test "$rx" -ge 100
io_check "one-way cut: braid logged $U dead by its round-trip check" \
  bash -c "grep -E 'path hq/$U: up -> dead' '$LOG' | tail -n +$((deaths0 + 1)) | grep -q 'round_trip_lost'"
io_check "one-way cut: the stream continued on $OTHER (+$((o6 - o5)) there)" test $((o6 - o5)) -ge 200
io_check "one-way cut: gap ${gap} ms, ${lost} lost (bound ${OW_GAP_BOUND_MS} ms)" \
  awk -v g="$gap" -v b="$OW_GAP_BOUND_MS" 'BEGIN { exit !(g > 0 && g <= b) }'
grep -E "path hq/$U: up -> dead" "$LOG" | tail -1 | sed 's/^/  braid: /'
sleep 3
io_check "one-way cut: the peer's ESP alone does not bring $U back" \
  test "$(grep -c "path hq/$U: dead -> up" "$LOG")" = "$ups0"
ms_cut_ours $IF off
nn_wait_for 10 bash -c "[ \$(grep -c 'path hq/$U: dead -> up (liveness_answered' '$LOG') -gt $ups0 ]"
io_check "one-way cut healed: $U up again by an answered check" \
  bash -c "[ \$(grep -c 'path hq/$U: dead -> up (liveness_answered' '$LOG') -gt $ups0 ]"
nn_kill_pid "$pinger"
dp_refresh A
io_ok "round-trip checks: fiber $(dp_counter A path.hq/fiber.round_trip_checks), broadband $(dp_counter A path.hq/broadband.round_trip_checks)"

# What the standard peer did on its side: which Child SA charon used outbound, and whether
# its IKE SA over fiber survived the cut (dpd_delay = 0: charon does not check itself).
ss_swanctl "$REF" --list-sas 2>/dev/null | grep -E '^[a-z]+: #|^ +(in|out) +[0-9a-f]{8}' |
  sed 's/^/  strongSwan: /' | head -12
io_check "strongSwan: its log never names braid (no extension offered back)" \
  bash -c "! grep -qi 'braid' '$REF/charon.log'"
if kill -0 "${DP_PID[A]}" 2>/dev/null; then
  kill -TERM "${DP_PID[A]}"
  rc=0
  wait "${DP_PID[A]}" || rc=$?
  io_check "braidd exits cleanly on SIGTERM (rc $rc)" test "$rc" = 0
else
  io_bad "braidd died: $(tail -3 "$LOG" | tr '\n' ' ')"
fi
io_case_end "braid over fiber + broadband to strongSwan: steering and failover without the shim"
io_summary "multipath against strongSwan, $(($(date +%s) - t0)) s"
nn_finish
