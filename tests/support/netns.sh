# tests/support/netns.sh - the one place braid's shell tests, the lab and the benchmarks
# create network namespaces, veth pairs and background processes. Sourced, not run.
#
# Every namespace and process made through these helpers is recorded and removed by
# nn_cleanup (installed as an EXIT/INT/TERM trap by nn_init): processes are killed by PID,
# namespaces deleted. Namespace names carry a per-run prefix (NN_PREFIX, default
# "bt<pid>-") so that concurrent runs never collide and nothing outside them is touched.
#
# Usage:
#   . tests/support/netns.sh
#   nn_init                      # root check, scratch dir $NN_TMP, trap
#   nn_add gwA                   # creates netns "${NN_PREFIX}gwA"; echo $(nn gwA)
#   nn_veth gwA wan0 10.99.0.1/24 gwB wan0 10.99.0.2/24
#   nn_bg gwA "$NN_TMP/braidd.log" ./braidd --config ...   # PID in $NN_LAST_PID
#   nn_exec gwA ping -c1 10.99.0.2

set -u
NN_PREFIX=${NN_PREFIX:-bt$$-}
NN_NS=()
NN_PIDS=()
NN_TMP=""
NN_LAST_PID=""
NN_CLEANUP_HOOKS=()

nn_log() { printf '[%s] %s\n' "$(date +%H:%M:%S.%3N)" "$*" >&2; }
nn_die() { nn_log "ERROR: $*"; exit 1; }
nn() { printf '%s%s' "$NN_PREFIX" "$1"; }

# A run killed with SIGKILL (ctest's timeout) cannot run its trap: remove the namespaces
# and scratch dirs of per-run prefixes (<letters><pid>-) whose owning process is gone.
nn_sweep_stale() {
  local ns pid
  for ns in $(ip netns list | awk '{print $1}'); do
    [[ $ns =~ ^[a-z]+([0-9]+)- ]] || continue
    pid=${BASH_REMATCH[1]}
    kill -0 "$pid" 2>/dev/null && continue
    nn_log "removing stale netns $ns (its run, PID $pid, is gone)"
    ip netns del "$ns" 2>/dev/null || true
  done
}

nn_init() {
  [ "$(id -u)" = 0 ] || nn_die "must run as root (network namespaces)"
  nn_sweep_stale
  NN_TMP=$(mktemp -d "/tmp/${NN_PREFIX}XXXXXX")
  trap nn_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

nn_add() {
  local ns; ns=$(nn "$1")
  if ip netns list | awk '{print $1}' | grep -qx "$ns"; then
    nn_die "netns $ns already exists"
  fi
  ip netns add "$ns" || nn_die "cannot create netns $ns"
  NN_NS+=("$ns")
  ip -n "$ns" link set lo up
}

# nn_veth NS1 IF1 ADDR1|- NS2 IF2 ADDR2|-   (short names: NS1 without prefix)
nn_veth() {
  local a b; a=$(nn "$1"); b=$(nn "$4")
  ip link add "$2" netns "$a" type veth peer name "$5" netns "$b" || nn_die "veth $1/$2 <-> $4/$5"
  [ "$3" != - ] && ip -n "$a" addr add "$3" dev "$2"
  [ "$6" != - ] && ip -n "$b" addr add "$6" dev "$5"
  ip -n "$a" link set "$2" up
  ip -n "$b" link set "$5" up
}

nn_exec() { local ns; ns=$(nn "$1"); shift; ip netns exec "$ns" "$@"; }

nn_forwarding() {
  nn_exec "$1" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
    net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
}

# nn_bg NS LOGFILE cmd args...  -> runs cmd in NS in the background; PID in NN_LAST_PID
nn_bg() {
  local ns; ns=$(nn "$1"); local log=$2; shift 2
  ip netns exec "$ns" "$@" >"$log" 2>&1 &
  NN_LAST_PID=$!
  NN_PIDS+=("$NN_LAST_PID")
}

nn_kill_pid() {
  local p=$1 i
  kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null
  for i in $(seq 1 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null || true
}

# Waits until CMD succeeds, up to SECS (fractions allowed). nn_wait_for SECS cmd args...
nn_wait_for() {
  local secs=$1; shift
  local deadline=$(( $(date +%s%N) + ${secs%.*} * 1000000000 ))
  while ! "$@" >/dev/null 2>&1; do
    [ "$(date +%s%N)" -gt "$deadline" ] && return 1
    sleep 0.05
  done
}

nn_on_cleanup() { NN_CLEANUP_HOOKS+=("$*"); }

nn_cleanup() {
  local rc=$? p ns h
  trap - EXIT INT TERM
  for h in "${NN_CLEANUP_HOOKS[@]}"; do eval "$h" || true; done
  for p in "${NN_PIDS[@]}"; do nn_kill_pid "$p"; done
  for ns in "${NN_NS[@]}"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do nn_kill_pid "$p"; done
  done
  for ns in "${NN_NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  if [ -n "$NN_TMP" ] && [ "${NN_KEEP:-0}" != 1 ]; then rm -rf "$NN_TMP"; fi
  exit "$rc"
}

# Simple assertion helpers for shell tests: failures are counted, nn_finish exits non-zero.
NN_FAILS=0
nn_pass() { printf 'PASS %s\n' "$*"; }
nn_fail() { printf 'FAIL %s\n' "$*"; NN_FAILS=$((NN_FAILS + 1)); }
nn_check() { local what=$1; shift; if "$@"; then nn_pass "$what"; else nn_fail "$what"; fi; }
nn_finish() {
  if [ "$NN_FAILS" -gt 0 ]; then nn_log "$NN_FAILS check(s) failed"; exit 1; fi
  nn_log "all checks passed"
}
