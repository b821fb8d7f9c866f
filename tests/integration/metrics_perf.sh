#!/usr/bin/env bash
# Cost of a scrape on a busy braidd, and the data plane's throughput with and without a
# scraper (not a ctest: figures, not assertions).
#   metrics_perf.sh [RUNS] [SECS] [INTERVAL]
# Alternates RUNS x (iperf3 for SECS without scrapes, iperf3 for SECS while gwA is scraped
# every INTERVAL seconds, default 1 as Prometheus at its fastest usual setting). A scrape's
# server time is curl's time_starttransfer - time_pretransfer: request sent to first byte,
# i.e. data-plane snapshot, registry update and formatting.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../support/netns.sh"
. "$HERE/dataplane_lib.sh"
RUNS=${1:-3}
SECS=${2:-10}
INTERVAL=${3:-1}

nn_init
[ -x "$BRAIDD" ] || nn_die "braidd not built: $BRAIDD"
dp_topology
dp_config A aes256gcm16 >"$NN_TMP/a.toml"
dp_config B aes256gcm16 >"$NN_TMP/b.toml"
printf '\n[metrics]\nlisten = "127.0.0.1:9469"\n' >>"$NN_TMP/a.toml"
dp_start A "$NN_TMP/a.toml"
dp_start B "$NN_TMP/b.toml"
nn_exec lanA ping -q -c 1 -W 2 10.98.2.2 >/dev/null || nn_die "tunnel down"

iperf() {
  nn_bg lanB /dev/null iperf3 -s -1
  dp_wait_listen lanB 5201 || nn_die "iperf3 server did not start"
  nn_exec lanA iperf3 -c 10.98.2.2 -t "$SECS" -J | python3 -c \
    'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]) // 1000000)'
}

# scraper OUT: one line per scrape until killed: "server_seconds bytes snapshot_wait_seconds
# render_seconds" (the last two as braidd reports them: this scrape's wait for the data
# threads, the previous scrape's update and formatting).
scraper() {
  local body=$NN_TMP/body
  while :; do
    t=$(ip netns exec "$(nn gwA)" curl -s -o "$body" --max-time 5 \
      -w '%{time_pretransfer} %{time_starttransfer} %{size_download}' \
      http://127.0.0.1:9469/metrics)
    w=$(awk '$1 == "braid_metrics_snapshot_wait_seconds" { print $2 }' "$body")
    r=$(awk '$1 == "braid_metrics_render_seconds" { print $2 }' "$body")
    awk -v w="$w" -v r="$r" '{ printf "%.6f %d %s %s\n", $2 - $1, $3, w, r }' <<<"$t" >>"$1"
    sleep "$INTERVAL"
  done
}

quiet=() loaded=()
: >"$NN_TMP/scrapes"
for i in $(seq 1 "$RUNS"); do
  q=$(iperf)
  scraper "$NN_TMP/scrapes" &
  spid=$!
  NN_PIDS+=("$spid")
  l=$(iperf)
  kill "$spid" 2>/dev/null
  wait "$spid" 2>/dev/null
  quiet+=("$q") loaded+=("$l")
  nn_log "run $i: $q Mbit/s without scrapes, $l Mbit/s scraped every ${INTERVAL}s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "RESULT throughput: median $(median "${quiet[@]}") Mbit/s without scrapes (${quiet[*]}), $(median "${loaded[@]}") Mbit/s scraped every ${INTERVAL}s (${loaded[*]})"
# stat WHAT COLUMN: median, p90 and max of a column, in ms.
stat() {
  awk -v c="$2" '{ print $c * 1000 }' "$NN_TMP/scrapes" | sort -n | awk -v what="$1" '{ t[NR] = $1 }
    END {
      if (NR == 0) { print "RESULT no scrapes"; exit }
      p90 = int(NR * 0.9 + 0.5); if (p90 < 1) p90 = 1
      printf "RESULT %s under load (%d scrapes): median %.3f ms, p90 %.3f ms, max %.3f ms\n",
             what, NR, t[int((NR + 1) / 2)], t[p90], t[NR]
    }'
}
echo "RESULT scrape size: $(awk 'END { print $2 }' "$NN_TMP/scrapes") bytes"
stat "scrape time (request to first byte)" 1
stat "snapshot wait (data threads publish)" 3
stat "registry update + format" 4
dp_stop A
dp_stop B
