#!/usr/bin/env bash
# /metrics on the live gateway: valid Prometheus exposition (promtool, which
# we did not write), counters that count what happened, and no identity
# number, name or token in any label.
set -euo pipefail
SUITE=metrics
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib/harness.sh"
build=$GW_BUILD_DIR
src=$GW_SOURCE_DIR
tmp=$TMP
command -v promtool >/dev/null || { bad "promtool is installed (Debian package prometheus)"; exit 1; }

stack_start "$tmp/stack"
S=$tmp/stack/stack.json
GW=$(jq -r .gateway.url "$S")
OPS=$(jq -r .gateway.ops_url "$S")
P=$tmp/stack/pki
q() {
  curl -fsS --cacert "$P/gateway-ca.pem" --cert "$P/clients/engine.pem" --key "$P/clients/engine.key" \
    -H 'Content-Type: application/json' -d "$1" "$GW/v1/facts/query"
}
ID=$(jq -r '.subjects[] | select(.scenario == "graduate-master") | .id' "$S")
NAME=$(jq -r '.subjects[] | select(.scenario == "graduate-master") | .name' "$S")
body="{\"subject\":{\"id_type\":\"cn-resident-id\",\"id\":\"$ID\",\"name\":\"$NAME\"},\"facts\":[\"identity.match\",\"education.degrees\",\"credit.status\"],\"purpose\":\"talent.graduate\"}"
q "$body" >/dev/null
q "$body" >/dev/null          # the second is served from the cache

curl -fsS "$OPS/metrics" >"$tmp/metrics.txt"
if promtool check metrics <"$tmp/metrics.txt"; then ok "promtool check metrics"; else bad "promtool check metrics"; fi
metric() { awk -v k="$1" '$1 == k { print $2 }' "$tmp/metrics.txt"; }
check "education.degrees ok count" "$(metric 'gw_query_facts_total{fact="education.degrees",status="ok"}')" 2
check "audit query count" "$(metric 'gw_audit_entries_total{kind="query"}')" 2
check "http request count" "$(metric 'gw_http_requests_total{route="/v1/facts/query",method="POST",status="200"}')" 2
check "audit fetch count (3 agencies, once)" "$(metric 'gw_audit_entries_total{kind="fetch"}')" 3
check "cache hits" "$(metric gw_cache_hits_total)" 3
check "cache misses" "$(metric gw_cache_misses_total)" 3
check "breaker state" "$(metric 'gw_breaker_state{adapter="chsi.degrees"}')" 0
check "upstream count" "$(metric 'gw_upstream_requests_total{adapter="chsi.degrees",outcome="ok"}')" 1
check "fetch count" "$(metric 'gw_adapter_fetches_total{adapter="chsi.degrees",result="ok"}')" 1
check "upstream histogram" "$(metric 'gw_upstream_request_duration_seconds_count{adapter="credit.status"}')" 1
check "query duration count" "$(metric 'gw_query_duration_seconds_count{purpose="talent.graduate",result="complete"}')" 2
# GET /v1/agencies: recent latency percentiles, error rate, last error
ag() {
  curl -fsS --cacert "$P/gateway-ca.pem" --cert "$P/clients/engine.pem" --key "$P/clients/engine.key" \
    "$GW/v1/agencies" | jq -c --arg a "$1" '.agencies[] | select(.adapter == $a) | .recent'
}
r=$(ag chsi.degrees)
check "chsi recent fetches" "$(jq .fetches <<<"$r")" 1
if jq -e '.latency_ms.p50 > 0 and .latency_ms.p99 >= .latency_ms.p50 and .error_rate == 0 and .last_error == null' \
  <<<"$r" >/dev/null; then ok "chsi recent figures"; else bad "chsi recent figures" "got: $r"; fi
CONTROL=$(jq -r .mocks.control_url "$S")
curl -fsS -X PUT -d '{"mode":"http_500"}' "$CONTROL/agencies/credit/fault" >/dev/null
q "{\"subject\":{\"id_type\":\"cn-resident-id\",\"id\":\"$ID\",\"name\":\"$NAME\"},\"facts\":[\"credit.status\"],\"purpose\":\"talent.graduate\",\"max_age_s\":0}" >/dev/null
curl -fsS -X DELETE "$CONTROL/agencies/credit/fault" >/dev/null
r=$(ag credit.status)
if jq -e '.fetches == 2 and .error_rate == 0.5 and .last_error.code == "agency_fault" and .last_error.at > 0' \
  <<<"$r" >/dev/null; then ok "credit recent figures after a fault"; else bad "credit recent figures after a fault" "got: $r"; fi

# nothing personal in any label or value
if ! grep -q -- "$ID" "$tmp/metrics.txt"; then ok "no identity number in /metrics"; else bad "no identity number in /metrics"; fi
if ! grep -q -- "$NAME" "$tmp/metrics.txt"; then ok "no name in /metrics"; else bad "no name in /metrics"; fi

