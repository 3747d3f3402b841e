#!/usr/bin/env bash
# The alert rules and the dashboard of scripts/monitoring, checked by
# Prometheus' own promtool and against a running gateway's /metrics:
#  - promtool check rules alerts.yml
#  - promtool test rules alerts.test.yml (each alert fires on its series and
#    stays silent on the ones beside it)
#  - a rule file with one threshold changed fails its unit test (the tests
#    look at what they claim to)
#  - check_monitoring.py: the dashboard's JSON and queries, the rules'
#    metric names, against a scrape of a stack that answered a query
set -euo pipefail
SUITE=monitoring
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib/harness.sh"
MON=$GW_SOURCE_DIR/scripts/monitoring
HERE=$(dirname -- "${BASH_SOURCE[0]}")
command -v promtool >/dev/null || { bad "promtool is installed (scripts/install-deps: prometheus)"; exit 1; }

out=$(promtool check rules "$MON/alerts.yml" 2>&1) \
  && ok "promtool check rules alerts.yml: $(grep -o 'SUCCESS.*' <<<"$out")" \
  || bad "promtool check rules alerts.yml" "$out"
out=$(cd "$MON" && promtool test rules alerts.test.yml 2>&1) \
  && ok "promtool test rules alerts.test.yml: every alert fires where it should, nowhere else" \
  || bad "promtool test rules alerts.test.yml" "$out"
mkdir -p "$TMP/mut"
sed 's/gw_breaker_state == 1/gw_breaker_state == 2/' "$MON/alerts.yml" >"$TMP/mut/alerts.yml"
cp "$MON/alerts.test.yml" "$TMP/mut/"
if (cd "$TMP/mut" && promtool test rules alerts.test.yml >/dev/null 2>&1); then
  bad "a changed rule (breaker 1 -> 2) fails alerts.test.yml"
else
  ok "a changed rule (breaker 1 -> 2) fails alerts.test.yml"
fi

stack_start "$TMP/s"
ops=$(jq -r .gateway.ops_url "$S")
GWCTL=$GW_BUILD_DIR/gateway/gwctl
id=$(jq -r '.subjects[0].id' "$S"); name=$(jq -r '.subjects[0].name' "$S")
"$GWCTL" query --stack "$S" --id "$id" --name "$name" --facts identity.match,credit.status \
  --purpose talent.graduate >/dev/null 2>&1 || true
curl -fsS "$ops/metrics" >"$TMP/metrics.txt"
check_true "a stack's /metrics scraped" test -s "$TMP/metrics.txt"
if /usr/bin/python3 "$HERE/check_monitoring.py" "$TMP/metrics.txt" "$MON/gatewayd-dashboard.json" \
     "$MON/alerts.yml" >"$TMP/check.out" 2>&1; then
  ok "check_monitoring.py: $(tail -n 1 "$TMP/check.out")"
else
  bad "check_monitoring.py" "$(grep -E '^FAIL|Error|Traceback' -A2 "$TMP/check.out" | head -20)"
fi
cat "$TMP/check.out"
# the checker looks: a dashboard with a misspelt metric is refused
sed 's/gw_cache_hits_total/gw_cache_hit_total/' "$MON/gatewayd-dashboard.json" >"$TMP/typo.json"
if /usr/bin/python3 "$HERE/check_monitoring.py" "$TMP/metrics.txt" "$TMP/typo.json" \
     "$MON/alerts.yml" >"$TMP/typo.out" 2>&1; then
  bad "a dashboard querying gw_cache_hit_total (misspelt) is refused"
else
  grep -q 'FAIL - every metric in a panel query.*gw_cache_hit_total' "$TMP/typo.out" \
    && ok "a dashboard querying gw_cache_hit_total (misspelt) is refused, naming it" \
    || bad "a misspelt metric is named" "$(grep FAIL "$TMP/typo.out")"
fi
