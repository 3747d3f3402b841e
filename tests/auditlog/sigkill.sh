#!/usr/bin/env bash
# sigkill.sh - a gateway SIGKILLed under load loses nothing it answered for.
#
# Three clients query in a loop and keep (query_id, audit index, leaf hash)
# of every 200 answer; gatewayd is SIGKILLed in the middle; it is started
# again with the same config, the way scripts/stack starts it.  Then: the
# log verifies offline (every record, the tree, every checkpoint signature),
# and every answered query is in the log at the index its answer named,
# with the leaf hash its answer carried, and its record names its query_id.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

D=$TMP/stack
stack_up "$D" --set audit.checkpoint_interval_s=1
req stranger "$GW/v1/audit/checkpoint-key"
VKEY=${BODY%$'\n'}
SCEN=(graduate-bachelor graduate-master inservice-senior-title overseas-master postdoc-in-station
      highlevel-b credit-dishonest shenzhen-hukou)

# One client: queries until the gateway goes away (bounded), one line per answer.
client() {
  local n=$1 out=$TMP/got.$n j sc body code
  : >"$out"
  for ((j = 0; j < 2000; j++)); do
    sc=${SCEN[(j + n) % ${#SCEN[@]}]}
    body=$(jq -nc --arg id "$(subject "$sc")" --arg name "$(subject "$sc" name)" \
             '{subject: {id_type: "cn-resident-id", id: $id, name: $name},
               facts: ["identity.match", "credit.status", "hukou.region"],
               purpose: "talent.graduate", case_ref: "SZ-RC-LOAD", max_age_s: 0}')
    code=$(curl -sS --cacert "$GCA" $(as engine) -H 'Content-Type: application/json' -d "$body" \
             -o "$TMP/ans.$n.json" -w '%{http_code}' "$GW/v1/facts/query" 2>/dev/null) || return 0
    [[ $code == 200 ]] || continue
    jq -r '"\(.query_id) \(.audit.index) \(.audit.leaf_hash)"' "$TMP/ans.$n.json" >>"$out"
  done
}
answered() { cat "$TMP"/got.* 2>/dev/null | wc -l; }
enough() { (( $(answered) >= 40 )); }

PIDS=()
for n in 0 1 2; do client "$n" & PIDS+=($!); done
check_true "clients got 40 answers within 60 s" wait_for 60 enough
GPID=$(<"$D/gateway.pid")
check_true "gatewayd (pid $GPID) is running" grep -q gatewayd "/proc/$GPID/cmdline"
kill -KILL "$GPID"
for p in "${PIDS[@]}"; do wait "$p" || true; done
ANSWERED=$(answered)
echo "       $ANSWERED answers before the kill"
check_true "gatewayd is gone" wait_for 10 test ! -e "/proc/$GPID"

# Start it again exactly as scripts/stack does, and point stack.json at it.
rm -f -- "$D/gateway.ports.json"
"$GATEWAYD" --config "$D/gateway.json" --ports-file "$D/gateway.ports.json" </dev/null >>"$D/gateway.log" 2>&1 &
NEWPID=$!
echo "$NEWPID" >"$D/gateway.pid"
check_true "restarted gatewayd writes its ports" wait_for 30 test -s "$D/gateway.ports.json"
API=$(jq .api "$D/gateway.ports.json"); OPS=$(jq .ops "$D/gateway.ports.json")
jq --arg u "https://127.0.0.1:$API" --arg o "http://127.0.0.1:$OPS" --argjson p "$NEWPID" \
   '.gateway.url = $u | .gateway.ops_url = $o | .gateway.pid = $p' "$S" >"$S.tmp" && mv -f "$S.tmp" "$S"
stack_vars "$D"
check_true "restarted gatewayd is ready" wait_for 30 curl -fsS -o /dev/null "http://127.0.0.1:$OPS/readyz"
grep -q '"audit_torn_tail"' "$D/gateway.log" && echo "       (the restart cut a torn tail)"

query graduate-doctor "$TMP/after.json"
check "the log takes queries after the restart" "$STATUS" 200
req stranger "$GW/v1/audit/checkpoint-key"
check "same checkpoint key after the restart" "${BODY%$'\n'}" "$VKEY"

# Every answer a client received is in the log, byte for byte.
all_entries >"$TMP/entries.jsonl"
missing=0; checked=0
declare -A QID LEAF
while read -r e; do
  i=$(jq .index <<<"$e")
  jq -r .data <<<"$e" | base64 -d >"$TMP/rec.bin"
  QID[$i]=$(jq -r '.query_id // ""' "$TMP/rec.bin")
  LEAF[$i]=$(leaf_of_file "$TMP/rec.bin")
done <"$TMP/entries.jsonl"
while read -r qid idx leaf; do
  checked=$((checked + 1))
  if [[ "${QID[$idx]:-}" != "$qid" || "${LEAF[$idx]:-}" != "$(b64hex "$leaf")" ]]; then
    missing=$((missing + 1)); echo "       missing: $qid at index $idx"
  fi
done < <(cat "$TMP"/got.*)
check "all $ANSWERED answered queries are in the log at their index with their leaf hash" \
  "$checked/$missing" "$ANSWERED/0"
kinds=$(grep -c . "$TMP/entries.jsonl")
check_true "the log holds at least the answered queries" test "$kinds" -ge "$ANSWERED"

out=$("$GWCTL" audit verify "$AUDIT_DIR" --key "$VKEY" 2>&1) && rc=0 || rc=$?
check "gwctl audit verify passes beside the live gateway" "$rc" 0
[[ $rc == 0 ]] || echo "$out" | sed 's/^/       /'
check "... with signatures checked" "$(grep -c 'signatures checked' <<<"$out")" 1

"$STACK_SCRIPT" down --dir "$D" >/dev/null
out=$("$GWCTL" audit verify "$AUDIT_DIR" --key "$VKEY" 2>&1) && rc=0 || rc=$?
check "gwctl audit verify passes after a clean stop" "$rc" 0
[[ $rc == 0 ]] || echo "$out" | sed 's/^/       /'
