#!/usr/bin/env bash
# catalogue.sighup - new facts without a restart or a rebuild.
#
# A second gatewayd is started beside a stack's, with a catalogue, purposes,
# ACL and adapters that lack the fund facts.  Asking for them is refused as
# an unknown fact.  Then their schemas, the purposes file that lets
# talent.inservice read them, the ACL and the fund adapter are put in place
# and the same process gets SIGHUP: the catalogue's version goes from 1 to
# 2, the fund facts are answered ok from the fund agency (signed headers),
# and gwctl verify accepts the attestations.  A broken change (a purpose
# naming an unknown fact) is refused as a whole and the running generation
# keeps serving.  Waiting is bounded polling.
. "$(dirname -- "${BASH_SOURCE[0]}")/../query/lib.sh"

stack_up "$TMP/stack"
T=$TMP/cat
AD=$SDIR/adapters2             # beside the stack's: their ../pki paths hold
mkdir -p "$T/facts" "$AD" "$T/audit"
FUND="housing_fund.shenzhen_months housing_fund.employer housing_fund.name_agrees"
NEW="$FUND tax.shenzhen_months tax.employer tax.name_agrees"
for f in "$GW_SOURCE_DIR"/schemas/facts/*.schema.json; do
  n=$(basename "$f" .schema.json)
  [[ " $NEW " == *" $n "* ]] || cp "$f" "$T/facts/"
done
drop() { jq --arg d "$NEW" '($d | split(" ")) as $x | walk(if type == "array" then map(select(. as $e | $x | index($e) | not)) else . end)'; }
drop <"$GW_SOURCE_DIR/schemas/purposes.json" | jq '.version = 1' >"$T/purposes.json"
drop <"$GW_SOURCE_DIR/scripts/stack.acl.json" >"$T/acl.json"
for f in "$SDIR"/adapters/*.json; do
  case $(basename "$f") in fund.json|tax.json) ;; *) cp "$f" "$AD/" ;; esac
done
cfg=$SDIR/gateway2.json        # beside the stack's: its relative pki/ paths hold
jq --arg t "$T" --arg ad "$AD" '.schemas_dir = "\($t)/facts" | .purposes = "\($t)/purposes.json" | .acl = "\($t)/acl.json"
                 | .adapters_dir = $ad | .audit.dir = "\($t)/audit"
                 | .listen.port = 0 | .ops_listen.port = 0' "$(jq -r .gateway.config "$S")" >"$cfg"
"$GW_BUILD_DIR/gateway/gatewayd" --config "$cfg" --ports-file "$T/ports.json" </dev/null >>"$T/gw.log" 2>&1 &
GPID=$!
stop_second() { kill -TERM "$GPID" 2>/dev/null; wait "$GPID" 2>/dev/null || true; }
EXTRA_CLEANUP+=(stop_second)
for _ in $(seq 1 300); do
  [[ -s "$T/ports.json" ]] && curl -fsS -o /dev/null "http://127.0.0.1:$(jq -r .ops "$T/ports.json")/readyz" 2>/dev/null && break
  kill -0 "$GPID" 2>/dev/null || break
  sleep 0.1
done
if [[ ! -s "$T/ports.json" ]]; then
  bad "the second gateway starts without the fund facts" "$(tail -n 5 "$T/gw.log")"
  finish
fi
GW=https://127.0.0.1:$(jq -r .api "$T/ports.json")
catalogue() { req --cacert "$CA" --cert "$CERT" --key "$KEY" "$GW/v1/facts/catalogue"; }

catalogue
check "started without the fund facts: catalogue version 1" \
  "$STATUS $(jq -c '[.version, ([.facts[].name] | map(select(startswith("housing_fund"))) | length)]' <<<"$BODY")" "200 [1,0]"
ask inservice-senior-title talent.inservice housing_fund.shenzhen_months
check "a fund fact is not in the catalogue yet" "$STATUS $(jq -r .detail <<<"$BODY" | sed 's/ (.*//')" \
  "400 facts[0]: not a fact in the catalogue"

# a broken change: purposes naming a fact with no schema; refused, still serving
jq '.version = 2 | .purposes["talent.inservice"].facts += ["housing_fund.shenzhen_months"]' \
  "$T/purposes.json" >"$T/p.tmp" && mv "$T/p.tmp" "$T/purposes.json.next"
cp "$T/purposes.json" "$T/purposes.json.good"
mv "$T/purposes.json.next" "$T/purposes.json"
kill -HUP "$GPID"
for _ in $(seq 1 100); do grep -q reload_refused "$T/gw.log" && break; sleep 0.1; done
check "a purpose naming an unknown fact is refused with file and field" \
  "$(grep -c 'purposes.talent.inservice.facts\[[0-9]*\]: \\"housing_fund.shenzhen_months\\" is not a fact' "$T/gw.log")" 1
catalogue
check "the running generation keeps serving (version 1)" "$STATUS $(jq .version <<<"$BODY")" "200 1"

# the whole change: schemas, purposes, ACL, adapter; then SIGHUP
for n in $FUND; do cp "$GW_SOURCE_DIR/schemas/facts/$n.schema.json" "$T/facts/"; done
jq --arg d "tax.shenzhen_months tax.employer tax.name_agrees" '($d | split(" ")) as $x | walk(if type == "array" then map(select(. as $e | $x | index($e) | not)) else . end)' \
  "$GW_SOURCE_DIR/schemas/purposes.json" >"$T/purposes.json"
jq --arg d "tax.shenzhen_months tax.employer tax.name_agrees" '($d | split(" ")) as $x | walk(if type == "array" then map(select(. as $e | $x | index($e) | not)) else . end)' \
  "$GW_SOURCE_DIR/scripts/stack.acl.json" >"$T/acl.json"
cp "$SDIR/adapters/fund.json" "$AD/"
kill -HUP "$GPID"
for _ in $(seq 1 100); do catalogue; [[ "$(jq .version <<<"$BODY")" == 2 ]] && break; sleep 0.1; done
check "after SIGHUP: catalogue version 2, the fund facts served by fund" \
  "$(jq -c '[.version, [.facts[] | select(.name | startswith("housing_fund")) | .served_by[0].agency]]' <<<"$BODY")" \
  '[2,["fund","fund","fund"]]'
check "the same process answers (no restart)" "$(kill -0 "$GPID" && echo alive)" alive
p=$(person inservice-senior-title)
ask inservice-senior-title talent.inservice housing_fund.shenzhen_months,housing_fund.employer '{"sign": true, "max_age_s": 0}'
check "fund facts: ok" "$STATUS $(f housing_fund.shenzhen_months .status) $(f housing_fund.employer .status)" '200 "ok" "ok"'
check "fund facts: the population's values" \
  "$(f housing_fund.shenzhen_months .value) $(f housing_fund.employer .value)" \
  "$(jq -c '.si.shenzhen_months' <<<"$p") $(jq -c '.si.employer' <<<"$p")"
check "fund facts: source fund" "$(f housing_fund.employer .source)" '"fund"'
req --cacert "$CA" --cert "$CERT" --key "$KEY" "$GW/v1/keys"
cp "$BODY_FILE" "$T/jwks.json"
ask inservice-senior-title talent.inservice housing_fund.shenzhen_months,housing_fund.employer '{"sign": true}'
printf '%s' "$BODY" >"$T/answer.json"
check_true "gwctl verify accepts the fund attestations" quiet "$GWCTL" verify --jwks "$T/jwks.json" "$T/answer.json"
finish
