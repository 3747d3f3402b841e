#!/usr/bin/env bash
# cluster.redis_loss - kill -9 of redis-server under load fails no query.
#
# Four clients query through the load balancer (load.py: a new mutual-TLS
# connection per query).  redis-server is SIGKILLed in the middle: both
# instances say "degraded": "redis" in /readyz (still HTTP 200), count the
# fallbacks in /metrics, and not one query fails or loses a fact.  Redis is
# started again (empty: no persistence): both instances reconnect by
# themselves, /readyz is plain ready again, and a miss on A is a hit on B.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

cluster_up "$TMP/stack"
# Curated people, several facts each, half of the queries wanting fresh
# data (max_age_s 0): every one of those claims a lease in Redis first.
jq -c '[.subjects[:10][] | {subject: {id_type: "cn-resident-id", id, name},
         facts: ["identity.match", "education.degrees", "credit.status"],
         purpose: "talent.graduate", deadline_ms: 8000}]
       | . + map(. + {max_age_s: 0})' "$S" >"$TMP/bodies.json"
STOP=$TMP/stop
python3 "$HERE/load.py" --url "$LB" --ca "$CA" --cert "$CERT" --key "$KEY" \
  --bodies "$TMP/bodies.json" --threads 4 --stop-file "$STOP" --max-seconds 90 \
  --out "$TMP/load.jsonl" &
LOAD=$!
answered() { (( $(wc -l <"$TMP/load.jsonl" 2>/dev/null || echo 0) >= $1 )); }
check_true "the load runs (40 answers)" wait_for 60 answered 40

RPID=$(jq .redis.pid "$S")
kill -KILL "$RPID"
check_true "redis-server (pid $RPID) is gone" wait_for 10 test ! -e "/proc/$RPID"
check_true "instance 1 reports \"degraded\": \"redis\" and stays ready" \
  wait_for 10 eval '[[ $(ready_detail "$OPS1") == redis ]]'
check_true "instance 2 reports \"degraded\": \"redis\" and stays ready" \
  wait_for 10 eval '[[ $(ready_detail "$OPS2") == redis ]]'
n=$(wc -l <"$TMP/load.jsonl")
check_true "queries go on without Redis (40 more answers)" wait_for 60 answered $((n + 40))
fb=$(( $(curl -fsS "$OPS1/metrics" "$OPS2/metrics" | awk '$1 ~ /^gw_cluster_fallbacks_total/ { s += $2 } END { print s + 0 }') ))
echo "#   fallbacks to local state counted: $fb"
check "the fallbacks are counted in /metrics" "$(( fb > 0 ))" 1

restart_redis
check_true "redis-server is back (empty)" rcli ping
check_true "instance 1 reconnects by itself" wait_for 20 eval '[[ $(ready_detail "$OPS1") == none ]]'
check_true "instance 2 reconnects by itself" wait_for 20 eval '[[ $(ready_detail "$OPS2") == none ]]'
n=$(wc -l <"$TMP/load.jsonl")
check_true "queries go on with Redis back (40 more answers)" wait_for 60 answered $((n + 40))
touch "$STOP"
wait "$LOAD" || true

total=$(wc -l <"$TMP/load.jsonl")
failed=$(jq -s '[.[] | select(.status != 200 or (.facts_ok | not))] | length' "$TMP/load.jsonl")
echo "#   $total queries through the load balancer, $(jq -s '[.[] | select(.retried)] | length' "$TMP/load.jsonl") retried a connection"
jq -c 'select(.status != 200 or (.facts_ok | not))' "$TMP/load.jsonl" | head -3
check "no query failed or lost a fact while Redis was killed and restarted" "$failed" 0

# Sharing resumed: a miss on A is a hit on B.
mapfile -t P < <(fresh 1 20260514)
B=$(body "$(jq -r .id <<<"${P[0]}")" "$(jq -r .name <<<"${P[0]}")" education.degrees)
before=$(mock_requests chsi)
post "$GW1" "$B"
check "a new subject is a miss on A" "$STATUS $(jq -c '[.facts[].cached]' <<<"$BODY")" '200 [false]'
post "$GW2" "$B"
check "and a hit on B, through the restarted Redis" "$STATUS $(jq -c '[.facts[].cached]' <<<"$BODY")" '200 [true]'
check "one chsi request for both" "$(( $(mock_requests chsi) - before ))" 1
