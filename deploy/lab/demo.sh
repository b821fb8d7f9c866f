#!/usr/bin/env bash
# deploy/lab/demo.sh - braid end to end on the WAN lab, printing what happened (docs/lab.md).
# `demo.sh all` runs every step and tears the lab down on every exit path; single steps
# assume the earlier ones ran (LAB_NAME=demo unless set).
#
#   demo.sh up        two sites, three emulated uplinks (fiber, broadband, lte behind a NAT)
#   demo.sh tunnel    braidd on both gateways, IKEv2 over all three uplinks
#   demo.sh traffic   LAN A -> LAN B: ping and a 3 s iperf3 through braid; emulator counters
#   demo.sh fail      voice-like UDP while fiber is cut: braid moves it to broadband; the gap
#   demo.sh rebind    the LTE carrier NAT rebinds under traffic; the lte path survives
#   demo.sh down      remove everything
set -u
LAB_SH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lab.sh"
export LAB_NAME=${LAB_NAME:-demo}
STATE=${LAB_STATE_DIR:-/run/braid-lab/$LAB_NAME}
lab() { bash "$LAB_SH" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$@"; }
# Figures for the summary, "key value" lines (only kept while the lab is up).
result() { [ -d "$STATE" ] && printf '%s %s\n' "$1" "$2" >>"$STATE/demo.results"; }
got() { awk -v k="$1" '$1 == k {sub(/^[^ ]+ /, ""); v = $0} END {print v}' "$STATE/demo.results" 2>/dev/null; }
stat_of() { awk -v k="$2" '$1 == k {print $2; exit}' "$STATE/braidd-$1.stats" 2>/dev/null; }
# pingq NODE COUNT INTERVAL -> "sent received loss% avg_rtt"
pingq() {
  lab exec "$1" ping -q -c "$2" -i "$3" -W 1 10.10.2.10 2>/dev/null |
    awk '/transmitted/ {s = $1; r = $4; l = $6} /^rtt/ {split($4, a, "/"); avg = a[2]}
         END {printf "%s %s %s %s\n", s + 0, r + 0, l, (avg == "" ? "-" : avg)}'
}
# drops SITE -> nonzero drop counters "name=value ..." from the site's last stats file
drops() { awk '$1 ~ /(^|\.)drop\./ && $1 !~ /^sa\./ && $2 > 0 {printf "%s%s=%s", sep, $1, $2; sep = " "}' "$STATE/braidd-$1.stats" 2>/dev/null; }
save_drops() {  # save_drops PHASE: after a fresh `tunnel status`
  local s; for s in a b; do result "drops.$1.$s" "$(drops "$s")"; done
}

demo_up() {
  say "WAN lab: site A (spoke) and site B (hub), three emulated uplinks each"
  lab up || return 1
  : >"$STATE/demo.results"
  lab status | sed -n '1p;/site /p;/set/p'
  note "The LANs have no route to each other: only braid connects them." \
       "LTE is behind a carrier NAT (masquerade to 172.16.3.254, random ports)."
}

# The policy of both sites (docs/multipath.md section 1): probes every 20 ms while a path
# carries traffic; class voice (UDP to 5500-5600) on fiber, else broadband, lte (metered)
# only as the last resort.
demo_policy() {
  cat <<'EOF'
[pathmon]
probe_interval_ms = 20
detect_multiplier = 3
hold_down_ms = 1000

[[class]]
name = "voice"
priority = "realtime"
mode = "steer"
prefer = ["fiber", "broadband"]
metered = "last_resort"
[class.sla]
max_rtt_ms = 150
max_loss = 0.05

[[class]]
name = "default"
mode = "steer"

[[rule]]
class = "voice"
protocol = "udp"
dst_ports = ["5500-5600"]
EOF
}

demo_tunnel() {
  say "braidd on both gateways: IKEv2 (PSK generated for this run), one IKE SA per uplink"
  local t0 t1
  demo_policy >"$STATE/demo-policy.toml"
  export LAB_POLICY=$STATE/demo-policy.toml LAB_UPLINK_LTE="metered = true"
  t0=$(date +%s%N)
  lab tunnel up || return 1
  t1=$(date +%s%N)
  result tunnel_ms $(( (t1 - t0) / 1000000 ))
  note "site A initiates on every uplink, site B (hub) responds; from site A's log:"
  grep -E 'NAT detected|IKE SA established|ESP SAs installed' "$STATE/braidd-a.log" | cut -c1-200 | sed 's/^/   /'
  lab tunnel status | sed 's/^/   /'
  result paths_up "$(awk '$1 ~ /^ike\.path\..*\.state$/ && $2 == "established"' "$STATE/braidd-a.stats" | wc -l)"
  result nat_lte "$(stat_of b ike.path.site-a/lte.nat)"
  note "Three IKE SAs and Child SAs up in $(got tunnel_ms) ms; NAT detected on lte only" \
       "(spoke: nat local, hub: nat remote; IKE floated to port 4500 there)."
}

demo_traffic() {
  say "LAN A (10.10.1.10) -> LAN B (10.10.2.10) through braid"
  note "braidd probes every path inside ESP; the default class (ping, iperf3) rides the first" \
       "path that is up (fiber), class voice (UDP 5500-5600) is steered fiber > broadband."
  lab exec a-lan ping -c 10 -i 0.2 10.10.2.10 | sed -n '2,4p;$p' | sed 's/^/   /'
  local p; p=$(pingq a-lan 20 0.05)
  result rtt_ms "${p##* }"
  lab exec b-lan iperf3 -s -1 -D -B 10.10.2.10 && sleep 0.3
  local j mbit
  j=$(lab exec a-lan iperf3 -c 10.10.2.10 -t 3 -J)
  mbit=$(python3 -c 'import json,sys; print("%.1f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))' <<<"$j" 2>/dev/null)
  note "iperf3 TCP, 3 s: ${mbit:-?} Mbit/s received (fiber is emulated at 500 Mbit/s, 4 ms)"
  result iperf_mbit "${mbit:-?}"
  say "emulator counters: fiber carried it, broadband and lte only IKE and probes"
  wanem_table
  lab tunnel status >/dev/null
  save_drops traffic
}

# One line per emulated link and direction: packets in, forwarded, dropped (by reason).
wanem_table() {
  lab wanem show | awk '
    /^[a-z-]+:(ab|ba) / { link = $1 }
    /^ *count / && link != "" {
      d = ""
      for (i = 2; i <= NF; i++) {
        split($i, kv, "="); v[kv[1]] = kv[2]
        if (kv[1] ~ /^drop_/ && kv[2] > 0) d = d " " substr(kv[1], 6) "=" kv[2]
      }
      printf "   %-14s rx %9d  fwd %9d  dropped%s\n", link, v["rx"], v["fwd"], (d == "" ? " 0" : d)
      link = ""
    }'
}

# The probe tool next to the emulator binary this lab runs.
probe_bin() { printf '%s/braid-wanem-probe' "$(dirname "$(. "$STATE/env"; printf '%s' "$WANEM")")"; }

demo_fail() {
  say "voice-like UDP (50 packets/s) LAN A -> LAN B; fiber cut for 1.5 s after 1 s"
  local probe rpid r
  probe=$(probe_bin)
  [ -x "$probe" ] || { note "braid-wanem-probe not built"; return 1; }
  rm -f "$STATE/demo.ready"
  lab exec b-lan "$probe" recv --bind 10.10.2.10:5500 --duration 15s --idle 1500ms \
    --ready "$STATE/demo.ready" >"$STATE/demo.voice" 2>&1 &
  rpid=$!
  for _ in $(seq 50); do [ -f "$STATE/demo.ready" ] && break; sleep 0.1; done
  printf 't=1s fiber blackout 1500ms\n' >"$STATE/demo-cut.scn"
  lab wanem run "$STATE/demo-cut.scn" >/dev/null
  lab exec a-lan "$probe" send --to 10.10.2.10:5500 --pps 50 --count 200 --size 172 >/dev/null
  wait "$rpid"
  r=$(tr ' ' '\n' <"$STATE/demo.voice")
  kv() { awk -F= -v k="$1" '$1 == k {print $2; exit}' <<<"$r"; }
  note "received $(kv unique) of $(kv expected), lost $(kv lost); longest gap in delivery" \
       "$(kv max_gap_ms) ms (packets leave every 20 ms; broadband is 11 ms slower than fiber)"
  note "site A's path monitor:"
  grep -E '\[path\] path site-b/fiber: (up|dead|probing)' "$STATE/braidd-a.log" | tail -n 3 |
    cut -c1-170 | sed 's/^/   /'
  note "braidd declared fiber dead ~60 ms into the silence (3 x 20 ms probes) and moved the" \
       "voice to broadband; back on fiber once it answered 5 probes in a row (and the 1 s" \
       "hold-down since its death had passed)."
  result fail_voice "$(kv unique) $(kv expected) $(kv lost) $(kv max_gap_ms)"
  lab tunnel status >/dev/null
  save_drops fail
  note "emulator: the cut dropped fiber:ab traffic (drop_down), broadband carried the rest:"
  wanem_table | grep -E 'fiber|broadband'
}

demo_rebind() {
  say "LTE NAT rebinding"
  note "lte is metered, so with fiber and broadband up it carries nothing; to put traffic on" \
       "it, braidd restarts with lte as its only path (lab.sh tunnel up lte), as in lab_ike_nat."
  # Without the policy: it prefers uplinks this tunnel does not have.
  LAB_POLICY= LAB_UPLINK_LTE= lab tunnel up lte >/dev/null 2>&1 ||
    { note "tunnel over lte did not come up"; return 1; }
  lab tunnel status >/dev/null
  local before after
  before=$(stat_of b ike.path.site-a/lte.remote)
  note "hub sends the spoke's ESP to the NAT's mapping $before"
  lab exec a-lan ping -q -c 60 -i 0.05 -W 1 10.10.2.10 >"$STATE/demo.rebind" 2>&1 &
  local pp=$!
  sleep 1
  lab rebind-lte 2>&1 | sed 's/^/   /'
  wait "$pp"
  lab tunnel status >/dev/null
  after=$(stat_of b ike.path.site-a/lte.remote)
  local p; p=$(awk '/transmitted/ {print $1, $4}' "$STATE/demo.rebind")
  note "ping at 20/s across the rebinding: ${p% *} sent, ${p#* } answered"
  grep -E 'authenticated ESP|NAT rebinding|ESP now sent' "$STATE/braidd-b.log" | cut -c1-200 | sed 's/^/   /'
  note "The hub moved its ESP (and IKE) to $after at the first authenticated, new ESP" \
       "packet from there (RFC 7296 2.23); a replayed or forged packet cannot do that."
  result rebind "$before -> $after, ping ${p#* }/${p% *}"
  save_drops rebind
}

demo_summary() {
  say "summary"
  local f
  f=$(got fail_voice)
  cat <<EOF
   came up        $(got paths_up) IKE SAs, each with its Child SA (fiber, broadband, lte) in $(got tunnel_ms) ms;
                  NAT detected on lte (hub sees the spoke as '$(got nat_lte)')
   LAN A -> B     ping RTT avg $(got rtt_ms) ms over fiber (2 x 4 ms emulated + braid);
                  iperf3 TCP $(got iperf_mbit) Mbit/s
   fiber cut      voice moved to broadband: ${f:+$(cut -d' ' -f1 <<<"$f") of $(cut -d' ' -f2 <<<"$f") delivered, $(cut -d' ' -f3 <<<"$f") lost,
                  longest gap $(cut -d' ' -f4 <<<"$f") ms}
   lte rebinding  hub endpoint $(got rebind)
EOF
  local ph s d
  for ph in traffic fail rebind; do
    for s in a b; do
      d=$(got "drops.$ph.$s")
      printf '   drops %-7s site %s: %s\n' "$ph" "$s" "${d:-none}"
    done
  done
  note "(tx.drop.no_sa/send_error, rx.drop.* by reason, from braidd's stats file; drops during" \
       "the fiber cut happen on the wire, see the emulator's drop_down)"
}

demo_down() { say "tearing down"; lab down; }

case ${1:-all} in
  up) demo_up ;;
  tunnel) demo_tunnel ;;
  traffic) demo_traffic ;;
  fail) demo_fail ;;
  rebind) demo_rebind ;;
  down) demo_down ;;
  all)
    trap 'demo_down' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    start=$(date +%s)
    demo_up && demo_tunnel && demo_traffic && demo_fail && demo_rebind && demo_summary
    rc=$?
    note "demo took $(( $(date +%s) - start )) s"
    exit $rc
    ;;
  *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
