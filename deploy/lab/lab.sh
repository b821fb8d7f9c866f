#!/usr/bin/env bash
# deploy/lab/lab.sh - braid's WAN lab: two (later N) sites joined by three emulated uplinks.
#
#   lab.sh up | down | status        build / remove / inspect the topology
#   lab.sh wanem ARGS...             braid-wanem CLI on this lab's emulator (set, show, run...)
#   lab.sh rebind-lte [SITE]         flush the LTE NAT mapping: the next packet gets a new port
#   lab.sh exec NODE CMD...          run CMD in a lab namespace (NODE: wan, a-gw, a-lan, ...)
#   lab.sh ns NODE                   print a node's namespace name
#   lab.sh tunnel up [--keying ike|manual] [UPLINK...]
#                                    braidd on every gateway: IKEv2 (PSK per run) over fiber,
#                                    broadband and lte (default), or manual keys over one link
#   lab.sh tunnel status|down        per-path IKE/Child SA state, SPIs, NAT; stop braidd
#
# Environment: LAB_NAME (default "lab"), LAB_PREFIX (namespace prefix, default "bl-NAME-"),
# LAB_STATE_DIR (default /run/braid-lab/NAME), LAB_SPOKES (default "a"), LAB_HUB ("b"),
# LAB_SEED, LAB_PROFILE (default profiles/default.conf), LAB_SCENARIO (run at start),
# LAB_RT (1: emulator workers at SCHED_FIFO, default), LAB_WANEM_ARGS (extra daemon options),
# LAB_WANEM / LAB_BRAIDD (binaries; else looked up in BRAID_BUILD_DIR and build/*).
# Topology, address plan and profiles: docs/lab.md.
set -u
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(cd "$LAB_DIR/../.." && pwd)
LAB_NAME=${LAB_NAME:-lab}
LAB_PREFIX=${LAB_PREFIX:-bl-$LAB_NAME-}
LAB_STATE=${LAB_STATE_DIR:-/run/braid-lab/$LAB_NAME}
LAB_SPOKES=${LAB_SPOKES:-a}
LAB_HUB=${LAB_HUB:-b}
NN_PREFIX=$LAB_PREFIX
# shellcheck source=../../tests/support/netns.sh
. "$SRC_DIR/tests/support/netns.sh"

UPLINKS=(fiber broadband lte)
declare -A SHORT=([fiber]=fib [broadband]=bb [lte]=lte)
declare -A NET=([fiber]=1 [broadband]=2 [lte]=3)
LTE_PUBLIC=172.16.3.254  # the carrier NAT's public address on the LTE segment

lab_log() { printf 'lab[%s]: %s\n' "$LAB_NAME" "$*" >&2; }
lab_die() { lab_log "ERROR: $*"; exit 1; }

site_index() { printf '%d' $(($(printf '%d' "'$1") - 96)); }
gw_if() { printf '%s0' "$1"; }  # fiber0, broadband0, lte0
sites() { printf '%s\n' $LAB_SPOKES "$LAB_HUB"; }
first_spoke() { set -- $LAB_SPOKES; printf '%s' "$1"; }
# Emulator link name: the first spoke's uplinks are plain "fiber"; others "c-fiber".
link_name() { if [ "$1" = "$(first_spoke)" ]; then printf '%s' "$2"; else printf '%s-%s' "$1" "$2"; fi; }
site_addr() {  # site_addr SITE UPLINK|lan -> address without prefix length
  local i; i=$(site_index "$1")
  case $2 in
    lan) printf '10.10.%d.1' "$i" ;;
    lte) if [ "$1" = "$LAB_HUB" ]; then printf '172.16.3.%d' "$i"; else printf '100.64.%d.2' "$i"; fi ;;
    *) printf '172.16.%d.%d' "${NET[$2]}" "$i" ;;
  esac
}

find_bin() {  # find_bin NAME RELPATH ENVVALUE
  local name=$1 rel=$2 given=$3 c
  if [ -n "$given" ]; then printf '%s' "$given"; return; fi
  for c in "${BRAID_BUILD_DIR:-}/$rel" "$SRC_DIR/build/default/$rel" "$SRC_DIR"/build/*/"$rel"; do
    [ -x "$c" ] && { printf '%s' "$c"; return; }
  done
  return 1
}

state_add_ns() { printf '%s\n' "$(nn "$1")" >>"$LAB_STATE/namespaces"; }
# PIDs are recorded with their start time so a recycled PID is never killed.
pid_start() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null; }
state_add_pid() { printf '%s %s %s\n' "$1" "$(pid_start "$1")" "$2" >>"$LAB_STATE/pids"; }
pid_is_ours() { [ -n "$2" ] && [ "$(pid_start "$1")" = "$2" ]; }
ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

lab_lock() {
  mkdir -p "$(dirname "$LAB_STATE")"
  exec 9>"$LAB_STATE.lock"
  flock -w 60 9 || lab_die "another lab.sh holds $LAB_STATE.lock"
}

wanem_cli() { "$WANEM" --control "$LAB_STATE/wanem.sock" "$@"; }

load_env() {
  [ -f "$LAB_STATE/env" ] || lab_die "lab '$LAB_NAME' is not up (no $LAB_STATE/env)"
  # shellcheck disable=SC1091
  . "$LAB_STATE/env"
}

is_up() {
  [ -f "$LAB_STATE/up" ] || return 1
  local ns pid start name
  while read -r ns; do ns_exists "$ns" || return 1; done <"$LAB_STATE/namespaces"
  while read -r pid start name; do
    [ "$name" = wanem ] || continue
    pid_is_ours "$pid" "$start" || return 1
  done <"$LAB_STATE/pids"
  (load_env && wanem_cli ping >/dev/null 2>&1)
}

disable_offloads() {  # checksums must be complete and frames MTU-sized on the wire
  local node=$1 dev f
  for dev in $(nn_exec "$node" ip -o link show type veth | awk -F': ' '{print $2}' | cut -d@ -f1); do
    for f in tx tso gso gro tx-udp-segmentation; do
      nn_exec "$node" ethtool -K "$dev" "$f" off >/dev/null 2>&1 || true
    done
  done
}

mac_of() { nn_exec "$1" cat "/sys/class/net/$2/address"; }
neigh() { nn_exec "$1" ip neigh replace "$2" lladdr "$3" dev "$4" nud permanent; }
# Permanent ARP entries on every uplink segment: a blackout must not also expire a neighbour
# entry (whose re-resolution would stretch the outage), so the emulator is the only cause.
static_neighbours() {
  local s t up i
  for up in fiber broadband; do
    for s in $(sites); do
      for t in $(sites); do
        [ "$s" = "$t" ] && continue
        neigh "$s-gw" "$(site_addr "$t" "$up")" "$(mac_of "$t-gw" "$(gw_if "$up")")" "$(gw_if "$up")"
      done
    done
  done
  neigh "$LAB_HUB-gw" "$LTE_PUBLIC" "$(mac_of wan br-lte)" lte0
  neigh wan "$(site_addr "$LAB_HUB" lte)" "$(mac_of "$LAB_HUB-gw" lte0)" br-lte
  for s in $LAB_SPOKES; do
    i=$(site_index "$s")
    neigh "$s-gw" "100.64.$i.1" "$(mac_of wan "$s-lte-c")" lte0
    neigh wan "100.64.$i.2" "$(mac_of "$s-gw" lte0)" "$s-lte-c"
  done
}

write_profile() {  # expands profiles/default.conf lines "UPLINK ..." for every spoke
  local src=${LAB_PROFILE:-$LAB_DIR/profiles/default.conf} out=$LAB_STATE/profile.conf s up rest
  [ -f "$src" ] || lab_die "profile $src not found"
  : >"$out"
  while read -r up rest; do
    case $up in ''|'#'*) continue ;; esac
    [ -n "${SHORT[$up]:-}" ] || lab_die "$src: unknown uplink '$up' (fiber, broadband, lte)"
    for s in $LAB_SPOKES; do printf '%s %s\n' "$(link_name "$s" "$up")" "${rest%%#*}" >>"$out"; done
  done <"$src"
}

cmd_up() {
  [ "$(id -u)" = 0 ] || lab_die "must run as root"
  lab_lock
  if is_up; then lab_log "already up (state $LAB_STATE)"; return 0; fi
  if [ -e "$LAB_STATE" ]; then lab_log "removing remains of an earlier run"; cmd_down_locked; fi
  local s
  for s in $(sites); do [[ $s =~ ^[a-z]$ ]] || lab_die "site names are single letters a-z, got '$s'"; done
  WANEM=$(find_bin braid-wanem deploy/lab/braid-wanem "${LAB_WANEM:-}") ||
    lab_die "braid-wanem not built (cmake --build BUILD --target braid-wanem)"
  mkdir -p "$LAB_STATE"
  : >"$LAB_STATE/namespaces"
  : >"$LAB_STATE/pids"
  {
    printf 'LAB_NAME=%q\nLAB_PREFIX=%q\nLAB_SPOKES=%q\nLAB_HUB=%q\n' \
      "$LAB_NAME" "$LAB_PREFIX" "$LAB_SPOKES" "$LAB_HUB"
    printf 'WANEM=%q\n' "$WANEM"
  } >"$LAB_STATE/env"
  # Any failure from here on removes what was built.
  trap 'rc=$?; trap - EXIT; if [ ! -f "$LAB_STATE/up" ]; then lab_log "up failed, cleaning up"; cmd_down_locked; fi; exit $rc' EXIT
  local sysv6="net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1"

  nn_add wan; state_add_ns wan
  nn_exec wan sysctl -qw $sysv6 net.ipv4.ip_forward=1
  for s in $(sites); do
    nn_add "$s-gw"; state_add_ns "$s-gw"
    nn_add "$s-lan"; state_add_ns "$s-lan"
    nn_exec "$s-gw" sysctl -qw $sysv6
    nn_exec "$s-lan" sysctl -qw $sysv6
    nn_forwarding "$s-gw"
    local i; i=$(site_index "$s")
    nn_veth "$s-lan" eth0 "10.10.$i.10/24" "$s-gw" lan0 "10.10.$i.1/24"
    nn_exec "$s-lan" ip route add default via "10.10.$i.1"
  done

  # One bridge per uplink type is that provider's network; the hub plugs in directly.
  local up sh
  for up in "${UPLINKS[@]}"; do
    sh=${SHORT[$up]}
    nn_exec wan ip link add "br-$sh" type bridge
    nn_exec wan ip link set "br-$sh" up
    nn_veth "$LAB_HUB-gw" "$(gw_if "$up")" "$(site_addr "$LAB_HUB" "$up")/24" wan "$LAB_HUB-$sh" -
    nn_exec wan ip link set "$LAB_HUB-$sh" master "br-$sh"
  done
  nn_exec wan ip addr add "$LTE_PUBLIC/24" dev br-lte

  # Spokes: gateway uplink <-> wan:S-UP == braid-wanem == wan:S-UP-e <-> wan:S-UP-c (network).
  local links=()
  for s in $LAB_SPOKES; do
    local i; i=$(site_index "$s")
    for up in "${UPLINKS[@]}"; do
      sh=${SHORT[$up]}
      if [ "$up" = lte ]; then
        nn_veth "$s-gw" lte0 "100.64.$i.2/24" wan "$s-$sh" -
        nn_veth wan "$s-$sh-e" - wan "$s-$sh-c" "100.64.$i.1/24"
        nn_exec "$s-gw" ip route add 172.16.3.0/24 via "100.64.$i.1" dev lte0
      else
        nn_veth "$s-gw" "$(gw_if "$up")" "$(site_addr "$s" "$up")/24" wan "$s-$sh" -
        nn_veth wan "$s-$sh-e" - wan "$s-$sh-c" -
        nn_exec wan ip link set "$s-$sh-c" master "br-$sh"
      fi
      links+=(--link "$(link_name "$s" "$up")=$s-$sh,$s-$sh-e")
    done
  done
  static_neighbours
  for s in $(sites); do disable_offloads "$s-gw"; done
  disable_offloads wan

  # Carrier-grade NAT for LTE: masquerade with random ports (so a new mapping gets a new
  # port), and no unsolicited inbound connections.
  nn_exec wan nft -f - <<EOF || lab_die "nftables NAT"
table ip braid_lab_nat {
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr 100.64.0.0/10 oifname "br-lte" masquerade random
  }
  chain inbound {
    type filter hook forward priority filter; policy accept;
    iifname "br-lte" ct state new drop
  }
}
EOF

  write_profile
  local args=(daemon "${links[@]}" --control "$LAB_STATE/wanem.sock" --profile "$LAB_STATE/profile.conf")
  [ -n "${LAB_SEED:-}" ] && args+=(--seed "$LAB_SEED")
  [ -n "${LAB_SCENARIO:-}" ] && args+=(--scenario "$LAB_SCENARIO")
  # SCHED_FIFO workers keep release times tight on a loaded machine (docs/lab.md).
  [ "${LAB_RT:-1}" = 1 ] && args+=(--rt)
  [ -n "${LAB_WANEM_ARGS:-}" ] && args+=($LAB_WANEM_ARGS)
  nn_bg wan "$LAB_STATE/wanem.log" "$WANEM" "${args[@]}" </dev/null 9>&-
  state_add_pid "$NN_LAST_PID" wanem
  if ! nn_wait_for 5 wanem_cli ping; then
    cat "$LAB_STATE/wanem.log" >&2
    lab_die "braid-wanem did not start"
  fi
  touch "$LAB_STATE/up"
  trap - EXIT
  lab_log "up: $(head -n1 "$LAB_STATE/wanem.log"); namespaces ${LAB_PREFIX}{wan,$(sites | paste -sd, -| sed 's/\([a-z]\)/\1-gw,\1-lan/g')}"
}

cmd_down_locked() {
  [ -d "$LAB_STATE" ] || return 0
  local pid start name ns p
  if [ -f "$LAB_STATE/pids" ]; then
    while read -r pid start name; do
      pid_is_ours "$pid" "$start" && nn_kill_pid "$pid"
    done <"$LAB_STATE/pids"
  fi
  if [ -f "$LAB_STATE/namespaces" ]; then
    while read -r ns; do
      ns_exists "$ns" || continue
      # Processes inside a namespace this lab created are this lab's.
      for p in $(ip netns pids "$ns" 2>/dev/null); do nn_kill_pid "$p"; done
      ip netns del "$ns" 2>/dev/null || lab_log "cannot delete netns $ns"
    done <"$LAB_STATE/namespaces"
  fi
  rm -rf "$LAB_STATE"
}

cmd_down() {
  [ "$(id -u)" = 0 ] || lab_die "must run as root"
  lab_lock
  if [ ! -d "$LAB_STATE" ]; then lab_log "not up"; return 0; fi
  cmd_down_locked
  lab_log "down"
}

cmd_status() {
  if [ ! -d "$LAB_STATE" ]; then echo "lab $LAB_NAME: down"; return 1; fi
  load_env
  local rc=0 ns pid start name
  if is_up; then echo "lab $LAB_NAME: up (state $LAB_STATE)"; else echo "lab $LAB_NAME: PARTIAL (run down, then up)"; rc=2; fi
  while read -r ns; do
    printf '  netns %-24s %s\n' "$ns" "$(ns_exists "$ns" && echo present || echo MISSING)"
  done <"$LAB_STATE/namespaces"
  while read -r pid start name; do
    printf '  %-8s pid %-8s %s\n' "$name" "$pid" "$(pid_is_ours "$pid" "$start" && echo running || echo GONE)"
  done <"$LAB_STATE/pids"
  local s up
  for s in $(sites); do
    printf '  site %s: lan 10.10.%d.0/24' "$s" "$(site_index "$s")"
    for up in "${UPLINKS[@]}"; do printf ', %s %s' "$up" "$(site_addr "$s" "$up")"; done
    printf '%s\n' "$([ "$s" = "$LAB_HUB" ] && echo ' (hub)')"
  done
  [ $rc = 0 ] && wanem_cli show | grep -E '^[a-z].*:(ab|ba)|^  set' | sed 's/^/  /'
  return $rc
}

cmd_rebind_lte() {
  load_env
  local s=${1:-$(first_spoke)} i
  i=$(site_index "$s")
  local p
  for p in udp tcp; do
    nn_exec wan conntrack -D -p "$p" --orig-src "100.64.$i.2" 2>&1 >/dev/null | sed -n 's/.*: \([0-9]*\) flow entries.*/\1/p' | sed "s/^/  $p mappings deleted: /" >&2
  done
  lab_log "lte NAT mapping of site $s flushed; the next packet gets a new public port"
}

# shellcheck source=tunnel.sh
. "$LAB_DIR/tunnel.sh"

main() {
  local cmd=${1:-}
  shift || true
  case $cmd in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    wanem) load_env; wanem_cli "$@" ;;
    rebind-lte) cmd_rebind_lte "$@" ;;
    exec) load_env; [ $# -ge 2 ] || lab_die "usage: lab.sh exec NODE CMD..."; local node=$1; shift; nn_exec "$node" "$@" ;;
    ns) nn "${1:?node}"; echo ;;
    tunnel) load_env; cmd_tunnel "$@" ;;
    -h|--help|help|'') sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; [ -n "$cmd" ] ;;
    *) lab_die "unknown command '$cmd' (try: lab.sh help)" ;;
  esac
}

main "$@"
