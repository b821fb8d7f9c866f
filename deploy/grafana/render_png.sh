#!/usr/bin/env bash
# Renders the braid dashboard's main panels from a Prometheus server into one PNG with
# gnuplot (Debian's gnuplot-nox), for readers without Grafana: one column per site, rows
# "Path RTT", "Path loss", "Path state" and "Traffic per path". The queries are the
# dashboard's own (deploy/grafana/braid-dashboard.json, first target of each panel, with
# $site, $path and $__rate_interval substituted) run through /api/v1/query_range.
#
#   render_png.sh PROMETHEUS_URL OUT.png [START END [SITE...]]
#     START, END: Unix seconds (default: the last 10 minutes); sites default: a b.
#   e.g. deploy/grafana/render_png.sh http://127.0.0.1:9090 dashboard.png
# tests/integration/metrics_prometheus.sh runs it with RENDER_PNG=FILE on a lab scrape.
set -eu
[ $# -ge 2 ] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
url=$1 out=$2
end=${4:-$(date +%s)}
start=${3:-$((end - 600))}
shift $(($# >= 4 ? 4 : 2))
sites=("$@")
[ ${#sites[@]} -gt 0 ] || sites=(a b)
here=$(cd "$(dirname "$0")" && pwd)
command -v gnuplot >/dev/null || { echo "render_png: gnuplot not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 - "$url" "$here/braid-dashboard.json" "$tmp" "$start" "$end" "$out" "${sites[@]}" <<'PY'
import json, re, sys, urllib.parse, urllib.request
url, dash_file, tmp, start, end, out = sys.argv[1:7]
sites = sys.argv[7:]
start, end = int(start), int(end)
step = max(1, (end - start) // 400)
dash = json.load(open(dash_file))
by_title = {p["title"]: p for p in dash["panels"]}
# (panel title, y label, scale, kind)
rows = [("Path RTT", "RTT (ms)", 1e3, "line"), ("Path loss", "probe loss (%)", 100, "line"),
        ("Path state", "", 1, "state"), ("Traffic per path", "Mbit/s", 1e-6, "line")]
def subst(expr, site):
    v = {"site": site, "path": ".+", "__rate_interval": "%ds" % max(4, 4 * step)}
    return re.sub(r"\$\{?([A-Za-z0-9_]+)\}?", lambda m: v[m.group(1)], expr)
def legend(fmt, metric):
    return re.sub(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}", lambda m: metric.get(m.group(1), ""), fmt).strip()
def query_range(expr):
    q = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen("%s/api/v1/query_range?%s" % (url, q), timeout=30) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return body["data"]["result"]

cols = len(sites)
g = ['set terminal pngcairo size %d,%d font "DejaVu Sans,10"' % (700 * cols, 1100),
     'set output "%s"' % out, 'set datafile separator "\\t"',
     'set xdata time', 'set timefmt "%s"', 'set format x "%H:%M:%S"', 'set grid',
     'set key top left horizontal maxcols 2 samplen 2 font ",8"',
     # headroom above the lines for the key
     'set offsets 0, 0, graph 0.3, 0',
     'set xtics %d' % next(t for t in (5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 86400)
                           if t >= (end - start) / 7 or t == 86400),
     'stc(s) = s >= 3.5 ? 0x2ca02c : s >= 2.5 ? 0xff7f0e : s >= 1.5 ? 0x1f77b4 : s >= 0.5 ? 0x8b0000 : 0xd62728',
     'set multiplot layout %d,%d title "braid edge dashboard: %s to %s UTC (Prometheus, %ds step)"' % (
         len(rows), cols, __import__("time").strftime("%Y-%m-%d %H:%M:%S", __import__("time").gmtime(start)),
         __import__("time").strftime("%H:%M:%S", __import__("time").gmtime(end)), step)]
total = 0
for title, ylabel, scale, kind in rows:
    target = by_title[title]["targets"][0]
    for site in sites:
        res = sorted(query_range(subst(target["expr"], site)), key=lambda r: legend(target["legendFormat"], r["metric"]))
        files = []
        for i, r in enumerate(res):
            f = "%s/%s-%s-%d.dat" % (tmp, re.sub(r"\W", "", title), site, i)
            with open(f, "w") as fh:
                for t, v in r["values"]:
                    fh.write("%s\t%.9g\n" % (t, float(v) * scale))
            total += len(r["values"])
            files.append((f, legend(target["legendFormat"], r["metric"])))
        g.append('set title "%s, site %s"' % (title, site))
        g.append('unset ytics; set ytics; set ylabel "%s"; set yrange [*:*]' % ylabel)
        if not files:
            g.append('set label 1 "no data" at graph 0.5,0.5 center; plot [%d:%d] NaN notitle; unset label 1' % (start, end))
            continue
        if kind == "state":
            half = step / 2.0
            g.append('set yrange [0.3:%f]' % (len(files) + 1.0))
            g.append('set ytics (%s)' % ", ".join('"%s" %d' % (n, i + 1) for i, (_, n) in enumerate(files)))
            plots = ['"%s" using 1:(%d):($1-%g):($1+%g):(%f):(%f):(stc($2)) with boxxyerror fs solid 1.0 noborder lc rgb variable notitle'
                     % (f, i + 1, half, half, i + 0.65, i + 1.35) for i, (f, _) in enumerate(files)]
            plots += ['keyentry with boxes fs solid lc rgb "%s" title "%s"' % (c, n) for n, c in
                      (("up", "#2ca02c"), ("degraded", "#ff7f0e"), ("probing", "#1f77b4"), ("dead", "#8b0000"), ("down", "#d62728"))]
            g.append('plot [%d:%d] ' % (start, end) + ", ".join(plots))
        else:
            g.append('plot [%d:%d] ' % (start, end) + ", ".join(
                '"%s" using 1:2 with lines lw 1.5 title "%s"' % (f, n) for f, n in files))
g.append("unset multiplot")
open(tmp + "/plot.gp", "w").write("\n".join(g) + "\n")
print("render_png: %d samples from %s, %d s, step %d s" % (total, url, end - start, step), file=sys.stderr)
PY
gnuplot "$tmp/plot.gp"
echo "render_png: wrote $out" >&2
