#!/usr/bin/env python3
"""Checks of deploy/grafana/braid-dashboard.json and deploy/prometheus/braid-rules.yml
(issue 13). Standard library only.

  metrics_prometheus.py check-dashboard DASH [--self-test]
      Structure: valid JSON, Grafana 10+ schema, unique panel ids, a datasource and at least
      one target with a non-empty expr on every panel, gridPos inside 24 columns and no two
      panels overlapping, every $variable used is defined (or a Grafana built-in).
      --self-test also breaks a copy in each of those ways and expects each to be caught.
  metrics_prometheus.py query-all URL DASH --site S [--site S...]
      Runs every PromQL expression of the dashboard (per site, variables substituted) and of
      the alert rules Prometheus has loaded (GET /api/v1/rules, comparisons against numbers
      removed) through URL's /api/v1/query and fails unless each returns series.
  metrics_prometheus.py rtt URL --site S --expect UPLINK=SECONDS... [--tolerance 0.3 --floor 0.005]
      Each path's braid_path_rtt_seconds (averaged over 5 s) within the tolerance of the
      expected RTT of its uplink (the path label is PEER/UPLINK).
  metrics_prometheus.py wait URL EXPR MIN_SERIES SECONDS
      Until EXPR returns at least MIN_SERIES series.
"""
import argparse
import copy
import json
import re
import sys
import time
import urllib.parse
import urllib.request

# Grafana's global variables (https://grafana.com/docs/grafana/latest/dashboards/variables/
# add-template-variables/#global-variables), with the values the queries here use.
BUILTINS = {
    "__rate_interval": "10s",
    "__interval": "2s",
    "__interval_ms": "2000",
    "__range": "60s",
    "__range_s": "60",
    "__range_ms": "60000",
    "__from": "0",
    "__to": "0",
    "__dashboard": "braid",
    "__org": "1",
    "__user": "admin",
    "timeFilter": "",
}
VAR_RE = re.compile(r"\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\]")
# A threshold comparison against a number, as Prometheus prints an alert's expression.
CMP_RE = re.compile(r"\s*(?:==|!=|>=|<=|>|<)\s*(?:bool\s+)?[-+]?(?:[0-9]*\.)?[0-9]+(?:[eE][-+]?[0-9]+)?")


def all_panels(dash):
    for p in dash.get("panels", []):
        yield p
        for q in p.get("panels", []):  # collapsed rows
            yield q


def strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings(v)


def variables_used(text):
    for m in VAR_RE.finditer(text):
        yield m.group(1) or m.group(2) or m.group(3)


def structure_errors(dash):
    """Every problem found, as text; empty when the dashboard is fine."""
    err = []
    if not isinstance(dash, dict):
        return ["top level is not an object"]
    if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 38:
        err.append("schemaVersion %r < 38 (Grafana 10)" % dash.get("schemaVersion"))
    for k in ("title", "uid"):
        if not dash.get(k):
            err.append("no %s" % k)
    tvars = dash.get("templating", {}).get("list", [])
    defined = {v.get("name"): v for v in tvars}
    if len(defined) != len(tvars):
        err.append("duplicate templating variable names")
    ds_vars = [n for n, v in defined.items() if v.get("type") == "datasource"]
    if not any(defined[n].get("query") == "prometheus" for n in ds_vars):
        err.append("no datasource variable of type prometheus")
    if not any(n in ("site", "instance") for n in defined):
        err.append("no site/instance templating variable")
    panels = list(all_panels(dash))
    if not panels:
        err.append("no panels")
    ids = [p.get("id") for p in panels]
    for i in sorted({i for i in ids if ids.count(i) > 1}, key=str):
        err.append("panel id %r used %d times" % (i, ids.count(i)))
    boxes = []
    for p in panels:
        name = "panel %r (%s)" % (p.get("id"), p.get("title"))
        if p.get("type") == "row":
            continue
        ds = p.get("datasource")
        if not isinstance(ds, dict) or not ds.get("uid"):
            err.append("%s: no datasource" % name)
        elif ds["uid"].strip("${}") not in ds_vars:
            err.append("%s: datasource %r is not a datasource variable" % (name, ds["uid"]))
        targets = [t for t in p.get("targets", []) if isinstance(t, dict)]
        if not targets:
            err.append("%s: no targets" % name)
        for t in targets:
            if not str(t.get("expr", "")).strip():
                err.append("%s: target %s has no expr" % (name, t.get("refId")))
        g = p.get("gridPos", {})
        try:
            x, y, w, h = (int(g[k]) for k in ("x", "y", "w", "h"))
        except (KeyError, TypeError, ValueError):
            err.append("%s: gridPos %r incomplete" % (name, g))
            continue
        if x < 0 or y < 0 or w < 1 or h < 1 or x + w > 24:
            err.append("%s: gridPos %r outside 24 columns" % (name, g))
        for other, (ox, oy, ow, oh) in boxes:
            if x < ox + ow and ox < x + w and y < oy + oh and oy < y + h:
                err.append("%s overlaps %s" % (name, other))
        boxes.append((name, (x, y, w, h)))
    if not any(p.get("type") == "state-timeline" for p in panels):
        err.append("no state-timeline panel")
    for s in strings({"panels": dash.get("panels"), "templating": tvars}):
        for v in variables_used(s):
            if v not in defined and v not in BUILTINS:
                err.append("variable $%s used but not defined (in %r)" % (v, s[:80]))
    return err


def self_test(dash):
    """Breaks copies of a good dashboard; each must be caught."""
    def broken(change):
        d = copy.deepcopy(dash)
        change(d)
        return structure_errors(d)

    p0 = lambda d: next(p for p in all_panels(d) if p.get("type") != "row")
    cases = {
        "duplicate id": lambda d: d["panels"].append(dict(copy.deepcopy(p0(d)), gridPos={"x": 0, "y": 999, "w": 1, "h": 1})),
        "no datasource": lambda d: p0(d).pop("datasource"),
        "empty expr": lambda d: p0(d)["targets"][0].update(expr=" "),
        "no targets": lambda d: p0(d).update(targets=[]),
        "gridPos beyond 24": lambda d: p0(d)["gridPos"].update(x=20, w=8),
        "overlap": lambda d: p0(d)["gridPos"].update(p0(d)["gridPos"] | {"y": list(all_panels(d))[-1]["gridPos"]["y"]}),
        "undefined variable": lambda d: p0(d)["targets"][0].update(expr=p0(d)["targets"][0]["expr"] + ' + on() $nosuchvar'),
        "old schema": lambda d: d.update(schemaVersion=27),
        "no site variable": lambda d: d["templating"].update(list=[v for v in d["templating"]["list"] if v["name"] not in ("site", "instance")]),
    }
    bad = 0
    for what, change in cases.items():
        errs = broken(change)
        print("self-test %-20s -> %s" % (what, errs[0] if errs else "NOT CAUGHT"))
        bad += not errs
    return bad


def substitute(expr, site):
    values = dict(BUILTINS, site=site, path=".+", instance=".+")
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name not in values:
            raise KeyError("no value for $%s in %r" % (name, expr))
        return values[name]
    return VAR_RE.sub(repl, expr)


def dashboard_exprs(dash):
    for p in all_panels(dash):
        for t in p.get("targets", []):
            if t.get("expr"):
                yield "%s/%s" % (p.get("title"), t.get("refId")), t["expr"]
    # Template variables: label_values(SELECTOR, LABEL) -> SELECTOR must have LABEL.
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        m = re.fullmatch(r"\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*", q)
        if m:
            yield "variable $%s" % v["name"], "count by (%s) (%s)" % (m.group(2), m.group(1))


def api(url, path, **params):
    q = urllib.parse.urlencode(params)
    with urllib.request.urlopen("%s%s?%s" % (url, path, q), timeout=10) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError("%s: %s" % (path, body))
    return body["data"]


def query(url, expr):
    return api(url, "/api/v1/query", query=expr)["result"]


def cmd_query_all(a):
    dash = json.load(open(a.dashboard))
    checks = []
    for site in a.site:
        for where, expr in dashboard_exprs(dash):
            checks.append(("dashboard %s [site=%s]" % (where, site), substitute(expr, site)))
    rules = [r for g in api(a.url, "/api/v1/rules")["groups"] for r in g["rules"]]
    if len(rules) < a.min_rules:
        print("FAIL only %d rules loaded (< %d)" % (len(rules), a.min_rules))
        return 1
    fails = 0
    for r in rules:
        # A rule whose evaluation errs (bad function use, many-to-many matching) says so.
        if r.get("health") != "ok":
            print("FAIL rule %s health %s: %s" % (r["name"], r.get("health"), r.get("lastError")))
            fails += 1
        stripped = CMP_RE.sub("", r["query"])
        if r.get("type") == "alerting" and stripped == r["query"]:
            print("FAIL rule %s: no threshold comparison to remove in %r" % (r["name"], r["query"]))
            fails += 1
        query(a.url, r["query"])  # the full expression evaluates (may be empty: not alerting)
        checks.append(("rule %s (comparisons removed)" % r["name"], stripped))
    for where, expr in checks:
        try:
            res = query(a.url, expr)
        except Exception as e:  # noqa: BLE001 - any failure is a failed check
            print("FAIL %s: %s\n     %s" % (where, e, expr))
            fails += 1
            continue
        if not res:
            print("FAIL %s: no data\n     %s" % (where, expr))
            fails += 1
        elif a.verbose:
            print("ok   %s: %d series" % (where, len(res)))
    print("%d expressions (%d dashboard targets/variables x %d sites, %d rules): %d failed checks" % (
        len(checks), len(list(dashboard_exprs(dash))), len(a.site), len(rules), fails))
    return 1 if fails else 0


def cmd_rtt(a):
    expect = dict(kv.split("=", 1) for kv in a.expect)
    fails = 0
    for site in a.site:
        res = query(a.url, 'avg_over_time(braid_path_rtt_seconds{site="%s"}[5s])' % site)
        mins = {r["metric"]["path"]: float(r["value"][1]) for r in
                query(a.url, 'min_over_time(braid_path_min_rtt_seconds{site="%s"}[5s])' % site)}
        seen = set()
        for r in res:
            path = r["metric"]["path"]
            uplink = path.rsplit("/", 1)[-1]
            if uplink not in expect:
                continue
            seen.add(uplink)
            want, got = float(expect[uplink]), float(r["value"][1])
            tol = max(a.tolerance * want, a.floor)
            ok = abs(got - want) <= tol
            fails += not ok
            print("%s site %s path %s: SRTT %.1f ms (min %.1f ms), emulated %.1f ms +- %.1f ms" % (
                "PASS" if ok else "FAIL", site, path, got * 1e3, mins.get(path, float("nan")) * 1e3,
                want * 1e3, tol * 1e3))
        for u in sorted(set(expect) - seen):
            print("FAIL site %s: no RTT for a path over %s" % (site, u))
            fails += 1
    return 1 if fails else 0


def cmd_wait(a):
    deadline = time.monotonic() + a.seconds
    n = -1
    while time.monotonic() < deadline:
        try:
            n = len(query(a.url, a.expr))
        except Exception:  # noqa: BLE001 - not up yet
            n = -1
        if n >= a.min_series:
            return 0
        time.sleep(0.5)
    print("timeout: %r returned %d series (< %d)" % (a.expr, n, a.min_series))
    return 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check-dashboard")
    c.add_argument("dashboard")
    c.add_argument("--self-test", action="store_true")
    q = sub.add_parser("query-all")
    q.add_argument("url")
    q.add_argument("dashboard")
    q.add_argument("--site", action="append", required=True)
    q.add_argument("--min-rules", type=int, default=1)
    q.add_argument("-v", "--verbose", action="store_true")
    r = sub.add_parser("rtt")
    r.add_argument("url")
    r.add_argument("--site", action="append", required=True)
    r.add_argument("--expect", action="append", required=True)
    r.add_argument("--tolerance", type=float, default=0.3)
    r.add_argument("--floor", type=float, default=0.005)
    w = sub.add_parser("wait")
    w.add_argument("url")
    w.add_argument("expr")
    w.add_argument("min_series", type=int)
    w.add_argument("seconds", type=float)
    a = ap.parse_args()
    if a.cmd == "check-dashboard":
        try:
            dash = json.load(open(a.dashboard))
        except ValueError as e:
            print("FAIL %s: not valid JSON: %s" % (a.dashboard, e))
            return 1
        errs = structure_errors(dash)
        for e in errs:
            print("FAIL " + e)
        panels = [p for p in all_panels(dash) if p.get("type") != "row"]
        print("%s: %d panels, %d targets, %d variables, %d problems" % (
            a.dashboard, len(panels), sum(len(p.get("targets", [])) for p in panels),
            len(dash.get("templating", {}).get("list", [])), len(errs)))
        bad = self_test(dash) if a.self_test and not errs else 0
        return 1 if errs or bad else 0
    return {"query-all": cmd_query_all, "rtt": cmd_rtt, "wait": cmd_wait}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
