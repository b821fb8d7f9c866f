#!/usr/bin/env bash
# bench/e2e/throughput.sh - braid's end-to-end throughput benchmark.
#
# iperf3 TCP from LAN host A to LAN host B through each system's tunnel between two gateway
# namespaces, one stream and N parallel streams, several runs each, all systems in one run
# and interleaved (round-robin, order rotated every round) so that the machine's noise hits
# every system alike. Prints per-run figures, medians, ratios to braid and the tunnel
# daemons' CPU use (utime+stime from /proc/<pid>/stat, all threads).
#
# Systems: braid (braidd, manual keys, AES-256-GCM), strongswan (charon + kernel-libipsec,
# AES-256-GCM ESP-in-UDP), wireguard-go (ChaCha20-Poly1305), veth (routed, no tunnel: the
# ceiling). See bench/e2e/README.md.
#
# Usage: sudo bench/e2e/throughput.sh [--quick] [--only LIST] [--runs N] [--seconds S]
#                                     [--streams N] [--perf[=SYSTEM]] [--keep]
# Env:   E2E_RUNS=3 E2E_SECS=10 E2E_STREAMS=4, BRAIDD=path/to/braidd, E2E_PERF_TOP=25,
#        E2E_PERF_CALLGRAPH=dwarf|fp
set -u
E2E_HERE=$(cd "$(dirname "$0")" && pwd)
E2E_REPO=$(cd "$E2E_HERE/../.." && pwd)
NN_PREFIX=${NN_PREFIX:-e2e$$-}
. "$E2E_REPO/tests/support/netns.sh"
. "$E2E_HERE/systems.sh"

ALL_SYSTEMS="braid braid-policy strongswan wireguard-go veth"
RUNS=${E2E_RUNS:-3}
SECS=${E2E_SECS:-10}
STREAMS=${E2E_STREAMS:-4}
ONLY=$ALL_SYSTEMS
PERF=""

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case $1 in
    --quick) RUNS=3; SECS=3 ;;
    --only) ONLY=${2:?--only needs a list}; ONLY=${ONLY//,/ }; shift ;;
    --only=*) ONLY=${1#--only=}; ONLY=${ONLY//,/ } ;;
    --runs) RUNS=${2:?}; shift ;;
    --seconds) SECS=${2:?}; shift ;;
    --streams) STREAMS=${2:?}; shift ;;
    --perf) PERF=braid ;;
    --perf=*) PERF=${1#--perf=} ;;
    --keep) export NN_KEEP=1 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown option $1" >&2; usage 2 ;;
  esac
  shift
done
for s in $ONLY; do
  case " $ALL_SYSTEMS " in *" $s "*) ;; *) nn_die "unknown system '$s' (known: $ALL_SYSTEMS)" ;; esac
done
if [ -n "$PERF" ]; then
  case " $ALL_SYSTEMS " in *" $PERF "*) ;; *) nn_die "unknown system '$PERF' for --perf" ;; esac
  ONLY=$PERF
fi
for v in "$RUNS" "$SECS" "$STREAMS"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || nn_die "runs, seconds and streams must be positive integers"
done

command -v iperf3 >/dev/null || nn_die "iperf3 missing (apt-get install iperf3)"
command -v python3 >/dev/null || nn_die "python3 missing"
if [ -n "$PERF" ]; then
  command -v perf >/dev/null || nn_die "perf missing (apt-get install linux-perf)"
fi
nn_init
HZ=$(getconf CLK_TCK)
RESULTS=$NN_TMP/results.tsv
: >"$RESULTS"

declare -A PIDS NOTE
tag_of() { printf '%s' "${1//-/_}"; }   # namespace tag of a system

cpu_ticks() {  # utime+stime (clock ticks, all threads) of the given PIDs
  local s=0 p t
  for p in "$@"; do
    t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}')
    s=$((s + ${t:-0}))
  done
  echo "$s"
}
machine_ticks() { awk '/^cpu /{b=$2+$3+$4+$7+$8+$9; print b, b+$5+$6}' /proc/stat; }

# One iperf3 client run; appends "system streams run mbit retrans daemon_ticks wall_ns
# busy_ticks total_ticks" to RESULTS and prints a line.
measure() {
  local sys=$1 streams=$2 run=$3 t; t=$(tag_of "$1")
  local c0 c1 w0 w1 m0 m1 out vals
  # shellcheck disable=SC2086
  c0=$(cpu_ticks ${PIDS[$sys]}); m0=$(machine_ticks); w0=$(date +%s%N)
  out=$(nn_exec "$t-lanA" iperf3 -c "$E2E_HOST_B" -p 5201 -t "$SECS" -P "$streams" -J 2>&1)
  # shellcheck disable=SC2086
  w1=$(date +%s%N); m1=$(machine_ticks); c1=$(cpu_ticks ${PIDS[$sys]})
  vals=$(printf '%s' "$out" | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
    print("%.1f %s" % (d["end"]["sum_received"]["bits_per_second"] / 1e6,
                       d["end"]["sum_sent"].get("retransmits", "nan")))
except Exception:
    print("nan nan")')
  if [ "${vals%% *}" = nan ]; then
    nn_log "$sys: iperf3 run failed: $(printf '%s' "$out" | tail -3 | tr '\n' ' ')"
  fi
  local b0=${m0% *} t0=${m0#* } b1=${m1% *} t1=${m1#* }
  # shellcheck disable=SC2086
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sys" "$streams" "$run" ${vals} \
    "$((c1 - c0))" "$((w1 - w0))" "$((b1 - b0))" "$((t1 - t0))" >>"$RESULTS"
  tail -1 "$RESULTS" | awk -F'\t' -v hz="$HZ" -v have="${PIDS[$sys]}" '{
    cpu = (have == "") ? "-" : sprintf("%.0f%%", 100 * $6 / hz / ($7 / 1e9));
    printf "  %-13s %d stream%s run %d: %8s Mbit/s  retransmits %-6s daemons %-5s machine %.0f%% busy\n",
      $1, $2, ($2 == 1 ? " " : "s"), $3, $4, $5, cpu, 100 * $8 / $9 }'
}

start_iperf_server() {
  local t; t=$(tag_of "$1")
  nn_bg "$t-lanB" "$NN_TMP/$t-iperf3-server.log" iperf3 -s -B "$E2E_HOST_B" -p 5201
  nn_wait_for 5 sh -c "ip netns exec '$(nn "$t-lanB")' ss -Htln | grep -q ':5201 '" ||
    nn_die "$1: iperf3 server did not start"
}

# --- bring every selected system up, each in its own copy of the topology ---
for s in $ONLY; do
  t=$(tag_of "$s")
  nn_log "setting up $s"
  e2e_topology "$t"
  E2E_DAEMON_PIDS=""; E2E_NOTE=""
  "sys_${t}_up" "$t"
  PIDS[$s]=$E2E_DAEMON_PIDS
  NOTE[$s]=$E2E_NOTE
  start_iperf_server "$s"
  echo "$s: ${NOTE[$s]}${PIDS[$s]:+ (daemon PIDs ${PIDS[$s]})}"
done

# --- perf profile mode: one single-stream run of one system under perf record -g ---
# One recording per gateway daemon, so that the sending side (gwA: LAN -> tunnel) and the
# receiving side (gwB: tunnel -> LAN) each add up to 100 %. cpu-clock, not cycles: this VM
# has no hardware PMU.
perf_report() {  # perf_report DATA ARGS...   (strips headers and empty sort columns)
  local f=$1; shift
  perf report -i "$f" --stdio --no-children "$@" 2>/dev/null |
    grep -v '^#' | grep -v '^$' | sed -e 's/[[:space:]]*-[[:space:]]*-[[:space:]]*$//'
}
if [ -n "$PERF" ]; then
  [ -n "${PIDS[$PERF]}" ] || nn_die "--perf=$PERF: that system has no daemon to profile"
  top=${E2E_PERF_TOP:-25}
  # dwarf (default): full user-space chains, also through libcrypto; more overhead, so a
  # lower rate. fp (plain perf record -g): cheap, but chains stop in code built without frame
  # pointers (libcrypto), so its time is not credited to braidd's callers.
  case ${E2E_PERF_CALLGRAPH:-dwarf} in
    fp) perf_cg="-g"; perf_hz=1999 ;;
    dwarf) perf_cg="--call-graph dwarf,16384"; perf_hz=499 ;;
    *) nn_die "E2E_PERF_CALLGRAPH must be fp or dwarf" ;;
  esac
  perf_pids=(); perf_files=()
  for p in ${PIDS[$PERF]}; do
    f=$NN_TMP/perf-$p.data
    # shellcheck disable=SC2086
    perf record -e cpu-clock -F "$perf_hz" $perf_cg -o "$f" -p "$p" -- sleep "$((SECS + 1))" \
      >"$NN_TMP/perf-record-$p.log" 2>&1 &
    perf_pids+=("$!"); perf_files+=("$f"); NN_PIDS+=("$!")
  done
  nn_log "perf record -g on ${PIDS[$PERF]} during a ${SECS}s single-stream run"
  sleep 0.5
  measure "$PERF" 1 1
  for i in "${!perf_pids[@]}"; do
    wait "${perf_pids[$i]}" || nn_die "perf record failed: $(tail -3 "$NN_TMP/perf-record-*.log")"
  done
  echo "(throughput above is under perf sampling at $perf_hz Hz, call graph ${E2E_PERF_CALLGRAPH:-dwarf})"
  set -- ${PIDS[$PERF]}
  for i in "${!perf_files[@]}"; do
    f=${perf_files[$i]}; p=$1; shift
    where=$(ip netns identify "$p" 2>/dev/null)
    case $where in *-gwA) role="gwA, sending side: LAN A -> tunnel" ;;
                   *-gwB) role="gwB, receiving side: tunnel -> LAN B" ;; *) role=$where ;; esac
    echo
    echo "=== $PERF pid $p ($role): samples by thread ==="
    perf_report "$f" --sort pid -g none | head -n 8
    echo "=== $PERF pid $p ($role): by object ==="
    perf_report "$f" --sort dso -g none | head -n 8
    echo "=== $PERF pid $p ($role): top symbols, self time ==="
    perf_report "$f" --sort dso,symbol -g none --percent-limit 0.3 | head -n "$top"
    echo "=== $PERF pid $p ($role): inclusive time (self + callees), user-space functions ==="
    [ "${E2E_PERF_CALLGRAPH:-dwarf}" = fp ] &&
      echo "    (fp call graph: time in libraries without frame pointers is not credited to callers; E2E_PERF_CALLGRAPH=dwarf)"
    perf_report "$f" --children --sort dso,symbol -g none --percent-limit 3 |
      grep -v -e 'kernel.kallsyms' -e 'libc\.so' -e ' 0x0000' | head -n 20
    echo "=== $PERF pid $p ($role): call chains into the top symbols (callers, >= 3 %) ==="
    perf_report "$f" --sort symbol -g caller,3,callee,function,percent --percent-limit 4 |
      head -n 60
  done
  if [ "${NN_KEEP:-0}" = 1 ]; then echo "perf data kept: ${perf_files[*]}"; fi
  exit 0
fi

# --- the measurement: rounds x (1 stream, N streams) x systems, order rotated per round ---
read -r -a order <<<"$ONLY"
n=${#order[@]}
echo
echo "=== iperf3 TCP LAN A 10.98.1.2 -> LAN B $E2E_HOST_B, $RUNS rounds x ${SECS}s, 1 and $STREAMS streams ==="
for r in $(seq 1 "$RUNS"); do
  for streams in 1 "$STREAMS"; do
    for i in $(seq 0 $((n - 1))); do
      measure "${order[$(((i + r - 1) % n))]}" "$streams" "$r"
    done
  done
done

# --- per-system reports (counters) ---
for s in $ONLY; do
  t=$(tag_of "$s")
  if declare -F "sys_${t}_report" >/dev/null; then
    echo; echo "$s counters after the runs:"; "sys_${t}_report" "$t"
  fi
done

# --- summary table ---
echo
echo "=== $(date '+%Y-%m-%d %H:%M'), $(nproc) CPUs, $RUNS x ${SECS}s per cell, medians ==="
for s in $ONLY; do echo "  $s: ${NOTE[$s]}"; done
python3 - "$RESULTS" "$HZ" "$STREAMS" $ONLY <<'PY'
import statistics, sys
path, hz, streams, systems = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
rows = [l.rstrip("\n").split("\t") for l in open(path) if l.strip()]
def cells(sysname, n):
    return [r for r in rows if r[0] == sysname and int(r[1]) == n]
def med(values):
    values = [v for v in values if v == v]  # drop nan
    return statistics.median(values) if values else float("nan")
def mbit(sysname, n):
    return med([float(r[3]) for r in cells(sysname, n)])
def cpu(sysname, n):
    c = cells(sysname, n)
    if not c or all(int(r[5]) == 0 for r in c):
        return float("nan")
    return med([100.0 * int(r[5]) / hz / (int(r[6]) / 1e9) for r in c])
def fmt(v, f="%.0f"):
    return "-" if v != v else f % v
names = {"veth": "veth (ceiling)"}
base1, baseN = (mbit("braid", 1), mbit("braid", streams)) if "braid" in systems else (None, None)
def per_core(sysname, n):
    # Mbit/s per daemon core, per run, then the median: throughput normalised by the CPU the
    # tunnel daemons got, which a busy machine disturbs less than the raw figure.
    c = [r for r in cells(sysname, n) if int(r[5]) > 0 and r[3] != "nan"]
    return med([float(r[3]) / (int(r[5]) / hz / (int(r[6]) / 1e9)) for r in c])
head = ("system", "1 stream Mbit/s", "%d streams Mbit/s" % streams,
        "ratio to braid (1 stream)", "ratio (%d streams)" % streams,
        "daemons' CPU (1 / %d streams)" % streams, "Mbit/s per daemon core (1 stream)")
print("%-15s %16s %18s %26s %19s   %-30s %s" % head)
for s in systems:
    m1, mn = mbit(s, 1), mbit(s, streams)
    r1 = m1 / base1 if base1 else float("nan")
    rn = mn / baseN if baseN else float("nan")
    c1, cn = cpu(s, 1), cpu(s, streams)
    c = "-" if c1 != c1 else "%s%% / %s%% of a core" % (fmt(c1), fmt(cn))
    print("%-15s %16s %18s %26s %19s   %-30s %s" % (names.get(s, s), fmt(m1), fmt(mn),
          fmt(r1, "%.2f"), fmt(rn, "%.2f"), c, fmt(per_core(s, 1))))
print()
print("runs (Mbit/s):")
for s in systems:
    for n in (1, streams):
        print("  %-13s %d stream%s: %s" % (s, n, " " if n == 1 else "s",
              "  ".join(r[3] for r in cells(s, n))))
PY
