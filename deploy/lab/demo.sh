#!/usr/bin/env bash
# deploy/lab/demo.sh - braid end to end on the WAN lab, printing what happened (docs/lab.md).
# `demo.sh all` runs every step and tears the lab down on every exit path; single steps
# assume the earlier ones ran (LAB_NAME=demo unless set).
#
#   demo.sh up        two sites, three emulated uplinks (fiber, broadband, lte behind a NAT)
#   demo.sh tunnel    braidd on both gateways, IKEv2 over all three uplinks
#   demo.sh traffic   LAN A -> LAN B: ping and a 3 s iperf3 through braid; emulator counters
#   demo.sh fail      cut fiber, show what happens, restore it
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

demo_tunnel() {
  say "braidd on both gateways: IKEv2 (PSK generated for this run), one IKE SA per uplink"
  local t0 t1
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
  note "Today's path selector sends a peer's traffic on its first established path: fiber." \
       "Per-path steering by SLA, duplication and failover come with the multipath milestone."
  lab exec a-lan ping -c 10 -i 0.2 10.10.2.10 | sed -n '2,4p;$p' | sed 's/^/   /'
  local p; p=$(pingq a-lan 20 0.05)
  result rtt_ms "${p##* }"
  lab exec b-lan iperf3 -s -1 -D -B 10.10.2.10 && sleep 0.3
  local j mbit
  j=$(lab exec a-lan iperf3 -c 10.10.2.10 -t 3 -J)
  mbit=$(python3 -c 'import json,sys; print("%.1f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))' <<<"$j" 2>/dev/null)
  note "iperf3 TCP, 3 s: ${mbit:-?} Mbit/s received (fiber is emulated at 500 Mbit/s, 4 ms)"
  result iperf_mbit "${mbit:-?}"
  say "emulator counters: fiber carried it, broadband and lte only IKE"
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

demo_fail() {
  say "cutting fiber (braid-wanem: fiber down, both directions)"
  lab wanem set fiber down >/dev/null
  local p; p=$(pingq a-lan 15 0.2)
  note "ping during the cut: ${p%% *} sent, $(cut -d' ' -f2 <<<"$p") answered"
  lab tunnel status | grep -E 'site |/fiber' | sed 's/^/   /'
  note "What happened: the fiber path still looks established (braidd has no liveness check" \
       "or path monitor yet), so the selector keeps choosing it and traffic is lost, although" \
       "the broadband and lte IKE SAs are up. Moving traffic to them is the multipath milestone."
  result fail_ping "$p"
  say "restoring fiber"
  lab wanem set fiber up >/dev/null
  p=$(pingq a-lan 10 0.1)
  note "ping after the restore: ${p%% *} sent, $(cut -d' ' -f2 <<<"$p") answered (same SAs, nothing renegotiated)"
  result restore_ping "$p"
  lab tunnel status >/dev/null
  save_drops fail
  note "emulator: the cut dropped the pings on fiber:ab (drop_down):"
  wanem_table | grep fiber
}

demo_rebind() {
  say "LTE NAT rebinding"
  note "To put traffic on lte with today's first-path selector, braidd restarts with lte as" \
       "its only path (lab.sh tunnel up lte), as in the lab_ike_nat test."
  lab tunnel up lte >/dev/null 2>&1 || { note "tunnel over lte did not come up"; return 1; }
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
  local f r
  f=$(got fail_ping); r=$(got restore_ping)
  cat <<EOF
   came up        $(got paths_up) IKE SAs, each with its Child SA (fiber, broadband, lte) in $(got tunnel_ms) ms;
                  NAT detected on lte (hub sees the spoke as '$(got nat_lte)')
   LAN A -> B     ping RTT avg $(got rtt_ms) ms over fiber (2 x 4 ms emulated + braid);
                  iperf3 TCP $(got iperf_mbit) Mbit/s
   fiber cut      ${f:+$(cut -d' ' -f2 <<<"$f") of $(cut -d' ' -f1 <<<"$f") pings answered} -- no failover yet (multipath milestone);
                  after restore ${r:+$(cut -d' ' -f2 <<<"$r") of $(cut -d' ' -f1 <<<"$r") answered}
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
