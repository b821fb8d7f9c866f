#!/bin/bash
# check_sample.sh CHECK METRICS_SAMPLE: checks one output format of the sample registry with an
# independent parser. Exit 77 (skipped) when that parser is not installed.
set -euo pipefail
check=$1
bin=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# Debian's interpreter, where python3-prometheus-client is installed (not a pyenv shim).
py=/usr/bin/python3
[ -x "$py" ] || py=python3

case $check in
  promtool)
    command -v promtool >/dev/null || { echo "promtool not installed"; exit 77; }
    "$bin" prometheus >"$out"
    # promtool lints names, units, _total and help; any finding fails the check.
    promtool check metrics <"$out"
    grep -q '^braid_ike_drops_total{reason="integrity"} 5$' "$out"
    ;;
  openmetrics)
    "$py" -c 'import prometheus_client' 2>/dev/null || {
      echo "python3-prometheus-client not installed"; exit 77; }
    "$bin" openmetrics >"$out"
    "$py" - "$out" <<'PY'
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
assert fams["braid_ike_drops"].type == "counter", fams["braid_ike_drops"]
assert fams["braid_build"].type == "info"
assert fams["braid_path_rtt_seconds"].unit == "seconds"
drops = {s.labels["reason"]: s.value for s in fams["braid_ike_drops"].samples
         if s.name == "braid_ike_drops_total"}
assert drops["integrity"] == 5, drops
paths = {s.labels["path"] for s in fams["braid_path_tx_packets"].samples}
assert paths == {"hq/fiber", 'hq/lte "backup"\n'}, paths
print("openmetrics: %d families parsed" % len(fams))
PY
    ;;
  json)
    "$bin" json >"$out"
    "$py" - "$out" <<'PY'
import json, sys
doc = json.loads(open(sys.argv[1]).read())
names = [m["name"] for m in doc["metrics"]]
assert len(names) == len(set(names)), names
by = {m["name"]: m for m in doc["metrics"]}
drops = {s["labels"]["reason"]: s["value"] for s in by["braid_ike_drops_total"]["series"]}
assert drops["integrity"] == 5 and drops["malformed"] == 0, drops
h = by["braid_path_rtt_seconds"]["series"][0]
assert h["count"] == 5 and h["buckets"][-1] == {"le": "+Inf", "count": 5}, h
assert by["process_resident_memory_bytes"]["series"][0]["value"] > 0
print("json: %d families" % len(names))
PY
    ;;
  stats)
    "$bin" stats >"$out"
    # `name value` lines, one blank-free name each, and braidd's existing IKE keys.
    awk 'NF != 2 { print "bad line " NR ": " $0; bad = 1 } END { exit bad }' "$out"
    grep -qx 'ike.drop.integrity 5' "$out"
    grep -qx 'ike.auth_failed_by_peer 1' "$out"
    grep -qx 'path.hq/lte_"backup"_.tx_packets 0' "$out"
    ;;
  *)
    echo "unknown check $check"; exit 2 ;;
esac
