#!/usr/bin/env bash
# catalogue.sighup - new facts without a restart or a rebuild: through the
# admin API, and again by SIGHUP.
#
# A second gatewayd is started beside a stack's, with a catalogue, purposes,
# ACL and adapters that lack the fund and tax facts.  Asking for them is
# refused as an unknown fact.  A broken SIGHUP change (a purpose naming an
# unknown fact) is refused as a whole and the running generation keeps
# serving.
#
# Through the admin API (no signal): the fund schemas (gwctl fact push), a
# purpose change (gwctl purposes push, PUT /v1/purposes) and the fund
# adapter (gwctl adapter push).  A purposes file naming an unknown fact is
# refused with FILE: FIELD: PROBLEM (400, nothing written), one whose
# version is not newer with 409, one dropping a purpose the ACL grants is
# refused by the reload and put back.  The ACL has no admin call (it grants
# clients rights: the operator's file, docs/facts.md); the operator's edit
# granting the engine the fund facts is activated with the purpose change
# that allows them.  The fund facts are then answered ok from the fund
# agency (signed headers) and gwctl verify accepts the attestations; the
# config audit records of those activations name the admin (the admin
# certificate's CN), in gwctl audit generation and in the raw record.
#
# Again by SIGHUP: the tax schemas, purposes, ACL and adapter as files; the
# catalogue goes to version 3, the tax facts are ok and verified, and the
# config record says "sighup".  Waiting is bounded polling.
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
                 | .listen.port = 0 | .ops_listen.port = 0 | .audit.checkpoint_interval_s = 1' \
  "$(jq -r .gateway.config "$S")" >"$cfg"
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

cp "$T/purposes.json.good" "$T/purposes.json"
P=$(dirname "$CA")
ADMIN=(--cacert "$CA" --cert "$P/clients/admin.pem" --key "$P/clients/admin.key")
ADMIN_CN=$(openssl x509 -in "$P/clients/admin.pem" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p')
admin() { local m=$1 p=$2; shift 2; req "${ADMIN[@]}" -X "$m" -H 'Content-Type: application/json' "$@" "$GW$p"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
# the stack file, pointed at the second gateway, for gwctl audit
jq --arg u "$GW" --arg o "http://127.0.0.1:$(jq -r .ops "$T/ports.json")" \
  '.gateway.url = $u | .gateway.ops_url = $o' "$S" >"$T/stack2.json"
gen_wait() {   # gen_wait ARGS...: gwctl audit generation --json, once a checkpoint covers it
  for _ in $(seq 1 300); do "$GWCTL" audit generation --stack "$T/stack2.json" --json "$@" 2>/dev/null && return 0; sleep 0.1; done
  "$GWCTL" audit generation --stack "$T/stack2.json" --json "$@"
}
raw_record() {   # raw_record INDEX: the audit record's JSON, as the auditor reads it
  curl -fsS --cacert "$CA" --cert "$P/clients/auditor.pem" --key "$P/clients/auditor.key" \
    "$GW/v1/audit/entries?start=$1&count=1" | jq -r '.entries[0].data' | base64 -d
}
without() {   # without "FACTS": stdin with those names taken out of every array
  jq --arg d "$1" '($d | split(" ")) as $x | walk(if type == "array" then map(select(. as $e | $x | index($e) | not)) else . end)'
}

# ==== through the admin API ======================================================
# the fund schemas
for n in $FUND; do
  out=$("$GWCTL" fact push "$GW_SOURCE_DIR/schemas/facts/$n.schema.json" --url "$GW" "${ADMIN[@]}")
  check "gwctl fact push $n: registered" "$out" "$GW_SOURCE_DIR/schemas/facts/$n.schema.json: $n version 1 registered and active"
done

# the purposes in force
admin GET /v1/purposes
check "GET /v1/purposes: version 1 and the sha256 of the file in force" \
  "$STATUS $(jq -c '[.kind, .version, .sha256, (.document.purposes | length)]' <<<"$BODY")" \
  "200 [\"purposes\",1,\"$(sha "$T/purposes.json")\",$(jq '.purposes | length' "$T/purposes.json")]"
req --cacert "$CA" --cert "$CERT" --key "$KEY" "$GW/v1/purposes"
check "a client may not read the purposes through the admin API" "$STATUS" 403
req --cacert "$CA" --cert "$CERT" --key "$KEY" -X PUT --data-binary "@$T/purposes.json" "$GW/v1/purposes"
check "a client may not put purposes" "$STATUS" 403
admin DELETE /v1/purposes
check "purposes cannot be deleted: 405, Allow GET, PUT" "$STATUS $(header Allow)" "405 GET, PUT"

# refused: a purpose naming a fact that does not exist; nothing written
jq '.version = 2 | .purposes["talent.inservice"].facts += ["housing_fund.unit_name"]' "$T/purposes.json" >"$T/bad.json"
admin PUT /v1/purposes --data-binary "@$T/bad.json"
n=$(jq '.purposes["talent.inservice"].facts | length - 1' "$T/bad.json")
check "a purpose naming an unknown fact: 400 naming file and field" \
  "$STATUS $(jq -r .type <<<"$BODY") $(jq -r .detail <<<"$BODY")" \
  "400 /problems/invalid-purposes purposes.json: purposes.talent.inservice.facts[$n]: \"housing_fund.unit_name\" is not a fact of the catalogue (no housing_fund.unit_name.schema.json)"
check "nothing was written" "$(cmp "$T/purposes.json.good" "$T/purposes.json" && echo same)" same
rc=0; out=$("$GWCTL" purposes validate --schemas "$T/facts" "$T/bad.json") || rc=$?
check "gwctl purposes validate names the same" "$rc $out" \
  "1 $T/bad.json: purposes.talent.inservice.facts[$n]: \"housing_fund.unit_name\" is not a fact of the catalogue (no housing_fund.unit_name.schema.json)"
# refused: not newer
jq '.purposes["talent.inservice"].description = "changed, same version"' "$T/purposes.json" >"$T/same.json"
admin PUT /v1/purposes --data-binary "@$T/same.json"
check "the same version again: 409 version-conflict" "$STATUS $(jq -r .type <<<"$BODY") $(jq -r .detail <<<"$BODY")" \
  "409 /problems/version-conflict purposes.json: version: must be newer than the active version 1"
rc=0; out=$("$GWCTL" purposes push "$T/same.json" --url "$GW" "${ADMIN[@]}") || rc=$?
check "gwctl purposes push of a version not newer: exit 1, HTTP 409" "$rc $(grep -c 'HTTP 409' <<<"$out")" "1 1"
# refused by the reload: a purpose the ACL still grants is dropped; put back
jq '.version = 2 | del(.purposes["talent.postdoc"])' "$T/purposes.json" >"$T/drop.json"
admin PUT /v1/purposes --data-binary "@$T/drop.json"
check "dropping a purpose the ACL grants: 400 naming the ACL's field" \
  "$STATUS $(jq -r .type <<<"$BODY") $(jq -r .detail <<<"$BODY" | grep -c 'acl: .*talent.postdoc: unknown purpose')" \
  "400 /problems/invalid-purposes 1"
check "the file is put back" "$(cmp "$T/purposes.json.good" "$T/purposes.json" && echo same)" same
catalogue
check "the running generation keeps serving (version 1)" "$STATUS $(jq .version <<<"$BODY")" "200 1"

# the operator grants the engine the fund facts (the ACL is a file, no admin
# call); it activates with the purpose change that allows them
without "tax.shenzhen_months tax.employer tax.name_agrees" <"$GW_SOURCE_DIR/scripts/stack.acl.json" >"$T/acl.json"
without "tax.shenzhen_months tax.employer tax.name_agrees" <"$GW_SOURCE_DIR/schemas/purposes.json" | jq '.version = 2' >"$T/purposes.v2.json"
out=$("$GWCTL" purposes validate --schemas "$T/facts" "$T/purposes.v2.json")
check "gwctl purposes validate: ok" "$out" "$T/purposes.v2.json: ok (purposes version 2, facts checked against $T/facts)"
out=$("$GWCTL" purposes push "$T/purposes.v2.json" --url "$GW" "${ADMIN[@]}")
check "gwctl purposes push: active" "$out" "$T/purposes.v2.json: purposes version 2 active (replaced the previous version)"
check "the purposes file is replaced byte for byte" "$(cmp "$T/purposes.v2.json" "$T/purposes.json" && echo same)" same
admin GET /v1/purposes
check "GET /v1/purposes: version 2, the pushed file's sha256" \
  "$STATUS $(jq -c '[.version, .sha256, .document.purposes["talent.inservice"].facts[-1]]' <<<"$BODY")" \
  "200 [2,\"$(sha "$T/purposes.v2.json")\",$(jq -c '.purposes["talent.inservice"].facts[-1]' "$T/purposes.v2.json")]"

# the fund adapter
out=$("$GWCTL" adapter push "$SDIR/adapters/fund.json" --url "$GW" "${ADMIN[@]}")
check "gwctl adapter push fund.json: registered" "$out" "$SDIR/adapters/fund.json: fund.deposits version 1 registered and active"
catalogue
check "through the admin API: catalogue version 2, the fund facts served by fund" \
  "$(jq -c '[.version, [.facts[] | select(.name | startswith("housing_fund")) | .served_by[0].agency]]' <<<"$BODY")" \
  '[2,["fund","fund","fund"]]'
check "the same process answers (no restart, no signal)" "$(kill -0 "$GPID" && echo alive) $(grep -c '"event":"reloaded"' "$T/gw.log")" "alive 0"
p=$(person inservice-senior-title)
ask inservice-senior-title talent.inservice housing_fund.shenzhen_months,housing_fund.employer '{"sign": true, "max_age_s": 0}'
check "fund facts: ok" "$STATUS $(f housing_fund.shenzhen_months .status) $(f housing_fund.employer .status)" '200 "ok" "ok"'
check "fund facts: the population's values" \
  "$(f housing_fund.shenzhen_months .value) $(f housing_fund.employer .value)" \
  "$(jq -c '.si.shenzhen_months' <<<"$p") $(jq -c '.si.employer' <<<"$p")"
check "fund facts: source fund" "$(f housing_fund.employer .source)" '"fund"'
Q=$(jq -r .query_id <<<"$BODY")
req --cacert "$CA" --cert "$CERT" --key "$KEY" "$GW/v1/keys"
cp "$BODY_FILE" "$T/jwks.json"
ask inservice-senior-title talent.inservice housing_fund.shenzhen_months,housing_fund.employer '{"sign": true}'
printf '%s' "$BODY" >"$T/answer.json"
check_true "gwctl verify accepts the fund attestations" quiet "$GWCTL" verify --jwks "$T/jwks.json" "$T/answer.json"

# the config records of the admin activations name the admin
G=$(gen_wait --query-id "$Q")
check "gwctl audit generation: the query's generation was activated by the admin's CN" \
  "$(jq -c '[.config.kind, .config.who]' <<<"$G")" "[\"config\",\"$ADMIN_CN\"]"
check "it holds the pushed purposes file (sha256, version) and the fund adapter" \
  "$(jq -c '[.config.catalogue.purposes.sha256, .config.catalogue.purposes.version, ([.config.adapters[].id] | index("fund.deposits") != null)]' <<<"$G")" \
  "[\"$(sha "$T/purposes.v2.json")\",2,true]"
check "and the operator's ACL" "$(jq -r .config.acl.sha256 <<<"$G")" "$(sha "$T/acl.json")"
"$GWCTL" audit generation --stack "$T/stack2.json" --query-id "$Q" >"$T/gen.txt"
check_true "the text answer says who: the admin" grep -q "^generation: $(jq .config.generation <<<"$G"), activated .* by $ADMIN_CN (config record at index $(jq .generation_index <<<"$G"))" "$T/gen.txt"
RAW=$(raw_record "$(jq -r .generation_index <<<"$G")")
check "the raw config record: kind config, who the admin, the same generation" \
  "$(jq -c '[.kind, .who, .generation]' <<<"$RAW")" "[\"config\",\"$ADMIN_CN\",$(jq .config.generation <<<"$G")]"
PG=$(gen_wait --id "$(( $(jq .config.generation <<<"$G") - 1 ))")
check "the purpose change's own record (the generation before) names the admin too" \
  "$(jq -c '[.config.who, .config.catalogue.purposes.version]' <<<"$PG")" "[\"$ADMIN_CN\",2]"

# ==== again by SIGHUP: the tax facts as files ======================================
TAX="tax.shenzhen_months tax.employer tax.name_agrees"
for n in $TAX; do cp "$GW_SOURCE_DIR/schemas/facts/$n.schema.json" "$T/facts/"; done
jq '.version = 3' "$GW_SOURCE_DIR/schemas/purposes.json" >"$T/purposes.json"
cp "$GW_SOURCE_DIR/scripts/stack.acl.json" "$T/acl.json"
cp "$SDIR/adapters/tax.json" "$AD/"
kill -HUP "$GPID"
for _ in $(seq 1 100); do catalogue; [[ "$(jq .version <<<"$BODY")" == 3 ]] && break; sleep 0.1; done
check "after SIGHUP: catalogue version 3, the tax facts served by tax" \
  "$(jq -c '[.version, [.facts[] | select(.name | startswith("tax.")) | .served_by[0].agency]]' <<<"$BODY")" \
  '[3,["tax","tax","tax"]]'
check "the same process answers (no restart)" "$(kill -0 "$GPID" && echo alive)" alive
ask inservice-senior-title talent.inservice tax.shenzhen_months,tax.employer,housing_fund.employer '{"sign": true, "max_age_s": 0}'
check "tax facts: ok from tax; the fund fact still ok" \
  "$STATUS $(f tax.shenzhen_months ' | [.status, .source]') $(f tax.employer .status) $(f housing_fund.employer .status)" \
  '200 ["ok","tax"] "ok" "ok"'
check "tax employer: the population's value" "$(f tax.employer .value)" "$(jq -c '.si.employer' <<<"$p")"
Q=$(jq -r .query_id <<<"$BODY")
printf '%s' "$BODY" >"$T/answer.json"
check_true "gwctl verify accepts the tax attestations" quiet "$GWCTL" verify --jwks "$T/jwks.json" "$T/answer.json"
G=$(gen_wait --query-id "$Q")
check "the SIGHUP generation's config record: who sighup, purposes version 3" \
  "$(jq -c '[.config.who, .config.catalogue.purposes.version]' <<<"$G")" '["sighup",3]'
check_true "gwctl audit verify accepts the second gateway's log" quiet "$GWCTL" audit verify "$T/audit"
finish
