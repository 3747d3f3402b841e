#!/usr/bin/python3
"""check_monitoring.py METRICS DASHBOARD ALERTS - the dashboard and the
alert rules against the metrics a running gateway exposes.

  METRICS    a scrape of a running gatewayd's /metrics (Prometheus text)
  DASHBOARD  scripts/monitoring/gatewayd-dashboard.json (Grafana)
  ALERTS     scripts/monitoring/alerts.yml

Checks: the dashboard is JSON with what Grafana needs (uid, title, unique
panel ids, every panel on the 24-column grid without overlapping another,
every query panel with targets that have a refId and an expression, the
datasource variable); every metric name in a panel query or an alert rule
is one the gateway exposes (histogram names with _bucket/_sum/_count), or
one of PENDING (named by branches not merged yet; printed as notes); every
metric an alert uses is on the dashboard; every panel expression parses as
PromQL (promtool check rules on a rule file made of them).

Prints "ok - ..." / "FAIL - ..." lines and "N passed, N failed"; exits 1
if anything failed.
"""
import json
import re
import subprocess
import sys
import tempfile

import yaml

# Metrics other engineers' branches add (the rules and panels are written
# for them; until those branches land, a scrape does not show them).
PENDING = {
    "gw_adapter_queue_seconds": "perf branch (upstream limiter and pool waits)",
    "gw_cluster_redis_connections_up": "cluster branch (Redis-backed cluster state)",
    "gw_cluster_fallbacks_total": "cluster branch (Redis-backed cluster state)",
}

passed = failed = 0


def check(what, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   - " + what)
    else:
        failed += 1
        print("FAIL - " + what + (": " + detail if detail else ""))


metrics_file, dash_file, alerts_file = sys.argv[1:4]

# ---- what the gateway exposes -------------------------------------------------
exposed = {}
for line in open(metrics_file, encoding="utf-8"):
    m = re.match(r"# TYPE (\S+) (\S+)", line)
    if m:
        exposed[m.group(1)] = m.group(2)
names = set()
for n, t in exposed.items():
    names.add(n)
    if t in ("histogram", "summary"):
        names.update({n + "_bucket", n + "_sum", n + "_count"})
check("the scrape has the gateway's metrics (%d families)" % len(exposed),
      "gw_build_info" in exposed and len(exposed) > 20)


def metric_names(expr):
    return set(re.findall(r"\b(gw_[a-z0-9_]+)\b", expr))


def family(name):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in PENDING:
            return name[: -len(suffix)]
    return name


def known(name, where):
    if name in names:
        return True
    fam = family(name)
    if fam in PENDING:
        if fam in exposed:
            print("note - %s is exposed now: drop it from PENDING" % fam)
        else:
            print("note - %s (%s) uses %s, assumed from the %s" % (where, "pending", name, PENDING[fam]))
        return True
    return False


# ---- the dashboard ---------------------------------------------------------------
try:
    dash = json.load(open(dash_file, encoding="utf-8"))
    check("the dashboard is JSON", True)
except ValueError as e:
    check("the dashboard is JSON", False, str(e))
    sys.exit(1)
check("the dashboard has a uid and a title", bool(dash.get("uid")) and bool(dash.get("title")))
check("the dashboard declares schemaVersion", isinstance(dash.get("schemaVersion"), int))
tvars = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
check("the dashboard has the datasource and instance variables",
      tvars.get("datasource", {}).get("type") == "datasource" and "instance" in tvars)
panels = dash.get("panels", [])
ids = [p.get("id") for p in panels]
check("panel ids are unique (%d panels)" % len(panels), len(ids) == len(set(ids)) and None not in ids)

cells = {}
overlap = []
for p in panels:
    g = p.get("gridPos", {})
    x, y, w, h = g.get("x", -1), g.get("y", -1), g.get("w", 0), g.get("h", 0)
    if x < 0 or y < 0 or w <= 0 or h <= 0 or x + w > 24:
        overlap.append("%s: bad gridPos %s" % (p.get("title"), g))
        continue
    for cx in range(x, x + w):
        for cy in range(y, y + h):
            if (cx, cy) in cells:
                overlap.append("%s overlaps %s" % (p.get("title"), cells[(cx, cy)]))
            cells[(cx, cy)] = p.get("title")
check("every panel sits on the 24-column grid, none overlapping", not overlap,
      "; ".join(sorted(set(overlap))[:5]))

exprs = []
dash_metrics = set()
bad_targets = []
unknown = []
for p in panels:
    if p.get("type") == "row":
        continue
    targets = p.get("targets") or []
    if not targets:
        bad_targets.append("%s: no targets" % p.get("title"))
    refs = [t.get("refId") for t in targets]
    if len(refs) != len(set(refs)) or None in refs:
        bad_targets.append("%s: refIds %s" % (p.get("title"), refs))
    if p.get("datasource", {}).get("uid") != "${datasource}":
        bad_targets.append("%s: datasource is not ${datasource}" % p.get("title"))
    for t in targets:
        e = t.get("expr", "")
        if not e:
            bad_targets.append("%s: empty expr" % p.get("title"))
            continue
        exprs.append((p.get("title"), e))
        for n in metric_names(e):
            dash_metrics.add(family(n))
            if not known(n, "panel " + p.get("title", "?")):
                unknown.append("%s: %s" % (p.get("title"), n))
check("every query panel has targets with a refId and an expression", not bad_targets,
      "; ".join(bad_targets[:5]))
check("every metric in a panel query is one the gateway exposes (%d names)" % len(dash_metrics),
      not unknown, "; ".join(unknown))

# every panel expression parses as PromQL
with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
    rules = []
    for i, (title, e) in enumerate(exprs):
        e = e.replace("$__rate_interval", "5m").replace("$instance", ".*")
        rules.append({"record": "dashboard:panel_%d" % i, "expr": e})
    yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f, allow_unicode=True)
    tmp = f.name
r = subprocess.run(["promtool", "check", "rules", tmp], capture_output=True, text=True)
check("every panel expression parses as PromQL (promtool, %d expressions)" % len(exprs),
      r.returncode == 0, (r.stdout + r.stderr).strip()[-800:])

# ---- the alert rules -------------------------------------------------------------
alerts = yaml.safe_load(open(alerts_file, encoding="utf-8"))
alert_metrics = set()
unknown = []
wanted = {"GatewayAgencyUnavailable", "GatewayBreakerOpen", "GatewayAuditLogFailed",
          "GatewayAuditCheckpointStale", "GatewayCertificateExpiringSoon",
          "GatewayAgencyQueueing", "GatewayRedisDegraded"}
have = set()
for g in alerts.get("groups", []):
    for rule in g.get("rules", []):
        have.add(rule.get("alert"))
        for n in metric_names(rule.get("expr", "")):
            alert_metrics.add(family(n))
            if not known(n, "alert " + str(rule.get("alert"))):
                unknown.append("%s: %s" % (rule.get("alert"), n))
        lab = rule.get("labels", {})
        ann = rule.get("annotations", {})
        if lab.get("severity") not in ("page", "ticket") or not ann.get("summary") \
                or not ann.get("runbook"):
            unknown.append("%s: severity page|ticket, summary and runbook wanted" % rule.get("alert"))
check("alerts.yml has the seven alerts", wanted <= have, "missing %s" % sorted(wanted - have))
check("every metric in an alert rule is one the gateway exposes (%d names)" % len(alert_metrics),
      not unknown, "; ".join(unknown))
missing = sorted(n for n in alert_metrics
                 if n not in dash_metrics and family(n.replace("_bucket", "")) not in dash_metrics)
check("every metric an alert uses is on the dashboard", not missing, ", ".join(missing))

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
