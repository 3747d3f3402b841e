#!/usr/bin/env bash
# cluster.failover - kill -9 of one gateway under steady load.
#
# Four clients query through HAProxy (load.py: a new mutual-TLS connection
# per query, a failed connection retried once).  Instance 1 is SIGKILLed in
# the middle; HAProxy's checks take it out and the other instance carries
# the load.  Then: at least 99 % of the queries succeeded; instance 1 is
# started again exactly as scripts/stack started it; both audit logs verify
# offline (gwctl audit verify, each with its own checkpoint key); and every
# query answered with HTTP 200 has its query record in one of the two logs.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

cluster_up "$TMP/stack" --set audit.checkpoint_interval_s=1
jq -c '[.subjects[:12][] | {subject: {id_type: "cn-resident-id", id, name},
         facts: ["identity.match", "education.degrees", "credit.status"],
         purpose: "talent.graduate", deadline_ms: 8000}]' "$S" >"$TMP/bodies.json"
STOP=$TMP/stop
python3 "$HERE/load.py" --url "$LB" --ca "$CA" --cert "$CERT" --key "$KEY" \
  --bodies "$TMP/bodies.json" --threads 4 --stop-file "$STOP" --max-seconds 90 \
  --out "$TMP/load.jsonl" &
LOAD=$!
answered() { (( $(wc -l <"$TMP/load.jsonl" 2>/dev/null || echo 0) >= $1 )); }
check_true "the load runs (60 answers)" wait_for 60 answered 60

GPID=$(jq '.gateways[0].pid' "$S")
check_true "instance 1 (pid $GPID) is gatewayd" grep -q gatewayd "/proc/$GPID/cmdline"
kill -KILL "$GPID"
check_true "instance 1 is gone" wait_for 10 test ! -e "/proc/$GPID"
n=$(wc -l <"$TMP/load.jsonl")
check_true "the load goes on on instance 2 (100 more answers)" wait_for 90 answered $((n + 100))
touch "$STOP"
wait "$LOAD" || true

total=$(wc -l <"$TMP/load.jsonl")
ok200=$(jq -s '[.[] | select(.status == 200)] | length' "$TMP/load.jsonl")
retried=$(jq -s '[.[] | select(.retried)] | length' "$TMP/load.jsonl")
echo "#   $total queries, $ok200 answered 200, $retried retried a failed connection once"
jq -c 'select(.status != 200)' "$TMP/load.jsonl" | head -3
check "at least 99 % of the queries succeeded" "$(( ok200 * 100 >= total * 99 ))" 1

# Instance 1 again, as scripts/stack starts it (its log recovers on open).
rm -f -- "$D/gateway-1.ports.json"
"$GATEWAYD" --config "$D/gateway-1.json" --ports-file "$D/gateway-1.ports.json" </dev/null \
  >>"$D/gateway-1.log" 2>&1 &
echo $! >"$D/gateway-1.pid"
check_true "instance 1 restarts" wait_for 30 test -s "$D/gateway-1.ports.json"
GW1="https://127.0.0.1:$(jq .api "$D/gateway-1.ports.json")"
OPS1="http://127.0.0.1:$(jq .ops "$D/gateway-1.ports.json")"
check_true "instance 1 is ready again" wait_for 30 curl -fsS -o /dev/null "$OPS1/readyz"

# Both logs verify offline, each under its own checkpoint key.
AUD=(--cacert "$CA" --cert "$(jq -r .pki.clients.auditor.cert "$S")" --key "$(jq -r .pki.clients.auditor.key "$S")")
for i in 1 2; do
  url=$([[ $i == 1 ]] && echo "$GW1" || echo "$GW2")
  curl -fsS "${AUD[@]}" "$url/v1/audit/checkpoint-key" >"$TMP/vkey.$i"
  check_true "the audit log of instance $i verifies (gwctl audit verify)" \
    quiet "$GWCTL" audit verify "$(jq -r ".gateways[$((i - 1))].audit_dir" "$S")" --key-file "$TMP/vkey.$i"
  start=0
  while :; do
    curl -fsS "${AUD[@]}" "$url/v1/audit/entries?start=$start&count=1000" >"$TMP/page.json" || break
    n=$(jq '.entries | length' "$TMP/page.json")
    ((n > 0)) || break
    jq -r '.entries[].data | @base64d | fromjson | select(.kind == "query") | .query_id' \
      "$TMP/page.json" >>"$TMP/logged"
    start=$((start + n))
  done
done
sort -u "$TMP/logged" >"$TMP/logged.sorted"
jq -r 'select(.status == 200) | .query_id' "$TMP/load.jsonl" | sort -u >"$TMP/answered"
missing=$(comm -23 "$TMP/answered" "$TMP/logged.sorted" | wc -l)
echo "#   $(wc -l <"$TMP/answered") answered query ids, $(wc -l <"$TMP/logged.sorted") query records in the two logs"
check "every query answered 200 has its record in one of the two logs" "$missing" 0
