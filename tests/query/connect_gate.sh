#!/usr/bin/env bash
# query.connect_gate - upstream.max_connecting bounds how many connections
# to one agency are being opened at once (issue 14: a fan-out against a
# fresh gateway used to start hundreds of TLS handshakes together).
#
# The gateway runs with upstream.max_connecting 2.  mps is slowed to 300 ms
# so each exchange keeps its connection busy, and N queries for N fresh
# subjects (no coalescing, no cache) are fired at once: the gateway needs
# many new connections to mps at the same moment.  The mock counts TLS
# handshakes in progress (from accept until it writes its Finished, which is
# before the gateway can count the handshake done) and keeps the high-water
# mark: it must never exceed 2, while many connections were opened in all
# and every query was answered.  Counts only; no duration is asserted.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

N=16
stack_up "$TMP/stack" --set upstream.max_connecting=2

mapfile -t SAMPLE < <("$GW_BUILD_DIR/mocks/mock-agencies" --sample "$N" --seed 20261208)
check "$N synthetic subjects" "${#SAMPLE[@]}" "$N"

control POST /reset
check "mock counters reset" "$STATUS" 200
set_fault mps '{"mode": "latency", "latency_ms": 300, "rate": 1.0}'
check "mps slowed to 300 ms" "$STATUS" 200
c0=$(curl -sS "$CTL/stats" | jq -r .mps.connections)

out=$TMP/burst && mkdir -p "$out"
for ((i = 0; i < N; i++)); do
  query_body "$(jq -r .id <<<"${SAMPLE[$i]}")" "$(jq -r .name <<<"${SAMPLE[$i]}")" talent.graduate \
    identity.match '{"max_age_s": 0, "deadline_ms": 8000}' >"$out/b$i.json"
done
# N clients at once, one query each (curl's --parallel would send one body)
echo "# $N x curl --data-binary @b\$i.json $GW/v1/facts/query, started together"
for ((i = 0; i < N; i++)); do
  curl -sS --no-progress-meter --cacert "$CA" --cert "$CERT" --key "$KEY" \
       -H 'Content-Type: application/json' --data-binary @"$out/b$i.json" \
       -o "$out/r$i.json" -w '%{http_code}\n' "$GW/v1/facts/query" >"$out/code$i" 2>>"$out/curl.err" &
done
wait
cat "$out"/code* >"$out/codes"
clear_fault mps

stats=$(curl -sS "$CTL/stats" | jq -c '.mps | {connections, handshaking, max_handshaking, requests}')
echo "#   mps: $stats"
echo "#   one answer: $(head -c 300 "$out/r0.json")"
check "$N answers, all HTTP 200" "$(sort "$out/codes" | uniq -c | awk '{print $2 "x" $1}')" "200x$N"
check "every identity.match answered (not unavailable)" \
  "$(jq -r '.facts["identity.match"].status' "$out"/r*.json | grep -vc '^\(ok\|not_found\)$' || true)" 0
opened=$(( $(jq -r .connections <<<"$stats") - c0 ))
check_true "the gateway opened many connections to mps ($opened, more than the limit)" test "$opened" -gt 4
mx=$(jq -r .max_handshaking <<<"$stats")
check_true "mps saw a handshake" test "$mx" -ge 1
check_true "mps never saw more than 2 handshakes in progress at once ($mx)" test "$mx" -le 2

# /metrics: the wait for an opening slot is its own stage (printed, not held
# to a figure: whether an exchange had to wait depends on arrival order).
curl -sS "$OPS/metrics" | grep '^gw_adapter_queue_seconds_\(count\|sum\){adapter="mps.identity",stage="connection_open"' \
  | sed 's/^/#   /'
check_true "/metrics has the connection_open stage for mps.identity" \
  grep -q 'stage="connection_open"' <(curl -sS "$OPS/metrics")
