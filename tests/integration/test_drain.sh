#!/usr/bin/env bash
# SIGTERM under load: the gateway stops accepting, answers every request it
# accepted (here: ten queries held up by a slow agency), makes their audit
# records durable and exits cleanly.
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d)
cleanup() { "$src/scripts/stack" down --dir "$tmp/stack" >/dev/null 2>&1 || true; [ -n "${KEEP:-}" ] || rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; tail -5 "$tmp/stack/gateway.log" >&2 || true; exit 1; }

"$src/scripts/stack" up --dir "$tmp/stack" --build "$build" --set query.deadline_max_ms=20000 >/dev/null
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
[ "$n" -ge 10 ] || fail "only $n queries reached chsi"
kill -TERM "$PID"
for p in "${pids[@]}"; do wait "$p" || true; done

for i in $(seq 1 10); do
  [ "$(cat "$tmp/code.$i")" = 200 ] || fail "query $i: HTTP $(cat "$tmp/code.$i")"
  [ "$(jq -r '.facts["education.degrees"].status' "$tmp/answer.$i")" = ok ] || fail "query $i: $(cat "$tmp/answer.$i")"
done
for _ in $(seq 1 400); do kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
! kill -0 "$PID" 2>/dev/null || fail "gatewayd still running after the drain"
grep -q '"event":"drained"' "$tmp/stack/gateway.log" || fail "no drained log line"
grep -q '"event":"stopped"' "$tmp/stack/gateway.log" || fail "gatewayd did not stop cleanly"
# every answered query's record is durable in the log, and the log verifies
"$build/gateway/gwctl" audit verify "$tmp/stack/audit" >/dev/null || fail "audit verify failed"
for i in $(seq 1 10); do
  qid=$(jq -r .query_id "$tmp/answer.$i")
  grep -aq "\"query_id\":\"$qid\",\"request_id\"" "$tmp/stack/audit/records" || fail "query $qid not in the log"
done
echo "ok: 10 accepted queries answered during the drain"
