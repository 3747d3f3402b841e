#!/usr/bin/env bash
# SIGTERM under load: the gateway stops accepting, answers every request it
# accepted (here: ten queries held up by a slow agency), makes their audit
# records durable and exits cleanly.
set -euo pipefail
SUITE=drain
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib/harness.sh"
build=$GW_BUILD_DIR
src=$GW_SOURCE_DIR
tmp=$TMP

stack_start "$tmp/stack" --set query.deadline_max_ms=20000
S=$tmp/stack/stack.json
GW=$(jq -r .gateway.url "$S")
PID=$(jq -r .gateway.pid "$S")
CONTROL=$(jq -r .mocks.control_url "$S")
P=$tmp/stack/pki
ID=$(jq -r '.subjects[] | select(.scenario == "graduate-master") | .id' "$S")
NAME=$(jq -r '.subjects[] | select(.scenario == "graduate-master") | .name' "$S")
body="{\"subject\":{\"id_type\":\"cn-resident-id\",\"id\":\"$ID\",\"name\":\"$NAME\"},\"facts\":[\"identity.match\",\"education.degrees\"],\"purpose\":\"talent.graduate\",\"max_age_s\":0,\"deadline_ms\":15000}"

curl -fsS -X POST "$CONTROL/reset" >/dev/null
curl -fsS -X PUT -d '{"mode":"latency","latency_ms":1500}' "$CONTROL/agencies/chsi/fault" >/dev/null
pids=()
for i in $(seq 1 10); do
  curl -sS -o "$tmp/answer.$i" -w '%{http_code}' --cacert "$P/gateway-ca.pem" \
    --cert "$P/clients/engine.pem" --key "$P/clients/engine.key" \
    -H 'Content-Type: application/json' -d "$body" "$GW/v1/facts/query" >"$tmp/code.$i" &
  pids+=($!)
done
# every query is in flight once chsi has seen ten requests (bounded wait)
for _ in $(seq 1 200); do
  n=$(curl -fsS "$CONTROL/stats" | jq .chsi.requests)
  [ "$n" -ge 10 ] && break
  sleep 0.05
done
[ "$n" -ge 10 ] || { bad "ten queries in flight before SIGTERM" "only $n reached chsi"; exit 1; }
ok "ten queries in flight before SIGTERM"
kill -TERM "$PID"
for p in "${pids[@]}"; do wait "$p" || true; done

for i in $(seq 1 10); do
  check "query $i answered: HTTP 200" "$(cat "$tmp/code.$i")" 200
  check "query $i: education.degrees ok" "$(jq -r '.facts["education.degrees"].status' "$tmp/answer.$i")" ok
done
for _ in $(seq 1 400); do kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
if ! kill -0 "$PID" 2>/dev/null; then ok "gatewayd exits after the drain"; else bad "gatewayd exits after the drain"; fi
if grep -q '"event":"drained"' "$tmp/stack/gateway.log"; then ok "drained log line"; else bad "drained log line"; fi
if grep -q '"event":"stopped"' "$tmp/stack/gateway.log"; then ok "stopped log line (a clean stop)"; else bad "stopped log line (a clean stop)"; fi
# every answered query's record is durable in the log, and the log verifies
if "$build/gateway/gwctl" audit verify "$tmp/stack/audit" >/dev/null; then ok "gwctl audit verify: the log verifies"; else bad "gwctl audit verify: the log verifies"; fi
for i in $(seq 1 10); do
  qid=$(jq -r .query_id "$tmp/answer.$i")
  if grep -aq "\"query_id\":\"$qid\",\"request_id\"" "$tmp/stack/audit/records"; then ok "query $i is in the audit log"; else bad "query $i is in the audit log"; fi
done

