# deploy/lab/lab-lib.sh - lets a test bring up its own lab and tear it down on exit.
# Source after tests/support/netns.sh and nn_init:
#
#   . "$BRAID_SOURCE_DIR/tests/support/netns.sh"; . "$BRAID_SOURCE_DIR/deploy/lab/lab-lib.sh"
#   nn_init
#   lab_up                              # namespaces "${NN_PREFIX}wan", "${NN_PREFIX}a-gw", ...
#   lab_exec a-gw ping -c1 172.16.1.2
#   lab_wanem set fiber down
#   lab_probe a-gw b-gw 172.16.1.2 5000 --pps 1000 --count 2000   # prints receiver key=values
#
# The lab shares the test's namespace prefix, so concurrent runs never collide, and
# nn_cleanup's hook (lab_down) removes it on every exit path. Its state, and every file the
# helpers below write, live in the lab's state dir /run/braid-lab/t<pid> (root only), not in
# the world-writable /tmp: a lab_rate run once lost its whole /tmp/bt<pid>-* scratch dir to
# another process mid-test (docs/lab.md, "Robustness"). A gtest binary can do the same by
# running `LAB_NAME=... LAB_PREFIX=... lab.sh up` / `lab.sh down`.

LAB_SH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lab.sh"

lab_up() {
  export LAB_NAME=${LAB_NAME:-t$$}
  export LAB_PREFIX=${LAB_PREFIX:-$NN_PREFIX}
  export LAB_STATE_DIR=${LAB_STATE_DIR:-/run/braid-lab/$LAB_NAME}
  [ -n "${BRAID_BUILD_DIR:-}" ] && [ -z "${LAB_WANEM:-}" ] &&
    export LAB_WANEM="$BRAID_BUILD_DIR/deploy/lab/braid-wanem"
  nn_on_cleanup lab_down
  bash "$LAB_SH" up || nn_die "lab up failed"
}
# lab.sh down works from the lab's state files; should they be gone (a CI run once lost its
# state dir mid-test and leaked the namespaces and a SCHED_FIFO emulator), fall back to the
# per-run prefix: every namespace named $LAB_PREFIX* is this test's, and so is every process
# inside one (killed by PID).
lab_down() {
  bash "$LAB_SH" down
  local ns p
  for ns in $(ip netns list | awk '{print $1}' | grep "^$LAB_PREFIX" || true); do
    nn_log "lab_down: $ns left behind; removing it"
    for p in $(ip netns pids "$ns" 2>/dev/null); do nn_kill_pid "$p"; done
    ip netns del "$ns" 2>/dev/null
  done
  rm -f "$LAB_STATE_DIR.lock"
}
lab() { bash "$LAB_SH" "$@"; }
lab_ns() { printf '%s%s' "$LAB_PREFIX" "$1"; }
lab_exec() { local node=$1; shift; ip netns exec "$(lab_ns "$node")" "$@"; }
lab_wanem() { bash "$LAB_SH" wanem "$@"; }
# lab_get LINK:DIR NAME -> a counter or setting of the emulator
lab_get() { bash "$LAB_SH" wanem get "$1" "$2"; }

lab_probe_bin() {
  local b=${BRAID_BUILD_DIR:-}/deploy/lab/braid-wanem-probe
  [ -x "$b" ] || b=$(dirname "${LAB_WANEM:-}")/braid-wanem-probe
  printf '%s' "$b"
}

# lab_probe FROM TO DST_ADDR PORT SEND_ARGS... : runs a receiver in TO and a sender in FROM,
# then prints the receiver's key=value report (one "key=value" per word). LAB_PROBE_DUMP=FILE:
# the receiver also writes "seq rx_ns owd_ns" per datagram there (braid-wanem-probe --dump).
lab_probe() {
  local from=$1 to=$2 addr=$3 port=$4; shift 4
  local probe out ready
  probe=$(lab_probe_bin)
  out=$(mktemp "$LAB_STATE_DIR/probe.XXXXXX") || nn_die "lab_probe: cannot create a file in $LAB_STATE_DIR"
  ready=$out.ready
  local rt=() dump=()
  [ -n "${LAB_PROBE_DUMP:-}" ] && dump=(--dump "$LAB_PROBE_DUMP")
  [ "${LAB_PROBE_RT:-1}" = 1 ] && command -v chrt >/dev/null && rt=(chrt -f 5)
  lab_exec "$to" "${rt[@]}" "$probe" recv --bind "$addr:$port" --duration "${LAB_PROBE_MAX:-40s}" \
    --idle "${LAB_PROBE_IDLE:-700ms}" --ready "$ready" "${dump[@]}" >"$out" 2>&1 &
  local rpid=$!
  nn_wait_for 10 test -f "$ready" || nn_die "probe receiver did not start"
  # Resolve ARP first (at 8k pps the kernel's unresolved queue would drop the first burst),
  # and run both ends at SCHED_FIFO: the sender's timestamps are not stretched by preemption
  # and the receiver keeps up with 40k packets/s on a loaded machine.
  lab_exec "$from" ping -c 1 -W 1 -q "$addr" >/dev/null 2>&1 || true
  lab_exec "$from" "${rt[@]}" "$probe" send --to "$addr:$port" "$@" >"$out.send" 2>&1 ||
    { cat "$out.send" >&2; nn_die "probe sender failed"; }
  wait "$rpid"
  # An empty or missing report is an error here, not a string of awk errors later.
  [ -s "$out" ] || nn_die "lab_probe: no receiver report in $out (state dir ${LAB_STATE_DIR} $([ -d "$LAB_STATE_DIR" ] && echo present || echo GONE))"
  tr ' ' '\n' <"$out"
  rm -f "$out" "$ready" "$out.send"
}

# kv KEY < report -> value
kv() { awk -F= -v k="$1" '$1 == k {print $2; exit}'; }
# fcmp "EXPR" -> true if the awk expression holds, e.g. fcmp "$x > 1.5"
fcmp() { awk "BEGIN { exit !($1) }"; }
