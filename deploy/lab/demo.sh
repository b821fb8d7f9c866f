#!/usr/bin/env bash
# deploy/lab/demo.sh - hooks for the README demo (finished by the lead once braidd's demo
# story is settled). Each step can run alone; `demo.sh all` runs them in order.
#
#   demo.sh up        lab.sh up (LAB_NAME=demo unless set)
#   demo.sh tunnel    braidd on both gateways over fiber (lab.sh tunnel up fiber)
#   demo.sh traffic   LAN A -> LAN B: ping and a short iperf3, with the emulator's counters
#   demo.sh fail      cut fiber, show traffic stop, restore it, show traffic resume
#   demo.sh down      lab.sh down
set -u
LAB_SH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lab.sh"
export LAB_NAME=${LAB_NAME:-demo}
lab() { bash "$LAB_SH" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

demo_up() { say "WAN lab: two sites, three emulated uplinks"; lab up && lab status; }
demo_tunnel() { say "braidd tunnel over fiber"; lab tunnel up fiber && lab tunnel status; }
demo_traffic() {
  say "LAN A (10.10.1.10) -> LAN B (10.10.2.10) through braid"
  lab exec a-lan ping -c 5 -i 0.2 10.10.2.10
  lab exec b-lan iperf3 -s -1 -D -B 10.10.2.10 && sleep 0.3
  lab exec a-lan iperf3 -c 10.10.2.10 -t 3
  say "emulator counters (fiber)"
  lab wanem show fiber
}
demo_fail() {
  say "cutting fiber"
  lab wanem set fiber down >/dev/null
  lab exec a-lan ping -c 3 -i 0.2 -W 1 10.10.2.10 || true
  say "restoring fiber"
  lab wanem set fiber up >/dev/null
  lab exec a-lan ping -c 3 -i 0.2 10.10.2.10
}
demo_down() { say "tearing down"; lab down; }

case ${1:-all} in
  up) demo_up ;;
  tunnel) demo_tunnel ;;
  traffic) demo_traffic ;;
  fail) demo_fail ;;
  down) demo_down ;;
  all) trap demo_down EXIT; demo_up && demo_tunnel && demo_traffic && demo_fail ;;
  *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
