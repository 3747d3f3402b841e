#!/usr/bin/env bash
# /metrics on the live gateway: valid Prometheus exposition (promtool, which
# we did not write), counters that count what happened, and no identity
# number, name or token in any label.
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d)
cleanup() { "$src/scripts/stack" down --dir "$tmp/stack" >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v promtool >/dev/null || fail "promtool missing (Debian package prometheus)"

"$src/scripts/stack" up --dir "$tmp/stack" --build "$build" >/dev/null
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
promtool check metrics <"$tmp/metrics.txt" || fail "promtool check metrics failed"
metric() { awk -v k="$1" '$1 == k { print $2 }' "$tmp/metrics.txt"; }
[ "$(metric 'gw_query_facts_total{fact="education.degrees",status="ok"}')" = 2 ] \
  || fail "education.degrees ok count: $(grep gw_query_facts_total "$tmp/metrics.txt")"
[ "$(metric 'gw_audit_entries_total{kind="query"}')" = 2 ] || fail "audit query count"
[ "$(metric 'gw_http_requests_total{route="/v1/facts/query",method="POST",status="200"}')" = 2 ] \
  || fail "http request count: $(grep gw_http_requests_total "$tmp/metrics.txt")"
[ "$(metric 'gw_audit_entries_total{kind="fetch"}')" = 3 ] || fail "audit fetch count (3 agencies once)"
[ "$(metric gw_cache_hits_total)" = 3 ] || fail "cache hits: $(metric gw_cache_hits_total)"
[ "$(metric gw_cache_misses_total)" = 3 ] || fail "cache misses: $(metric gw_cache_misses_total)"
[ "$(metric 'gw_breaker_state{adapter="chsi.degrees"}')" = 0 ] || fail "breaker state"
[ "$(metric 'gw_upstream_requests_total{adapter="chsi.degrees",outcome="ok"}')" = 1 ] || fail "upstream count"
[ "$(metric 'gw_adapter_fetches_total{adapter="chsi.degrees",result="ok"}')" = 1 ] || fail "fetch count"
[ "$(metric 'gw_upstream_request_duration_seconds_count{adapter="credit.status"}')" = 1 ] || fail "upstream histogram"
[ "$(metric 'gw_query_duration_seconds_count{purpose="talent.graduate",result="complete"}')" = 2 ] \
  || fail "query duration count"
# GET /v1/agencies: recent latency percentiles, error rate, last error
ag() {
  curl -fsS --cacert "$P/gateway-ca.pem" --cert "$P/clients/engine.pem" --key "$P/clients/engine.key" \
    "$GW/v1/agencies" | jq -c --arg a "$1" '.agencies[] | select(.adapter == $a) | .recent'
}
r=$(ag chsi.degrees)
[ "$(jq .fetches <<<"$r")" = 1 ] || fail "chsi recent fetches: $r"
jq -e '.latency_ms.p50 > 0 and .latency_ms.p99 >= .latency_ms.p50 and .error_rate == 0 and .last_error == null' \
  <<<"$r" >/dev/null || fail "chsi recent figures: $r"
CONTROL=$(jq -r .mocks.control_url "$S")
curl -fsS -X PUT -d '{"mode":"http_500"}' "$CONTROL/agencies/credit/fault" >/dev/null
q "{\"subject\":{\"id_type\":\"cn-resident-id\",\"id\":\"$ID\",\"name\":\"$NAME\"},\"facts\":[\"credit.status\"],\"purpose\":\"talent.graduate\",\"max_age_s\":0}" >/dev/null
curl -fsS -X DELETE "$CONTROL/agencies/credit/fault" >/dev/null
r=$(ag credit.status)
jq -e '.fetches == 2 and .error_rate == 0.5 and .last_error.code == "agency_fault" and .last_error.at > 0' \
  <<<"$r" >/dev/null || fail "credit recent figures after a fault: $r"

# nothing personal in any label or value
! grep -q -- "$ID" "$tmp/metrics.txt" || fail "identity number in /metrics"
! grep -q -- "$NAME" "$tmp/metrics.txt" || fail "name in /metrics"
echo ok
