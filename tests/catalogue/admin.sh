#!/usr/bin/env bash
# catalogue.admin - facts and predicates through the admin API and gwctl,
# on a running gateway, with the same rules as adapters.
#
#  - only the admin role; GET shows the file in force with version and sha256
#  - a new fact (gwctl fact validate, gwctl fact push) and an adapter serving
#    it: after the purposes file and the ACL name it, the query answers it ok
#  - a version not newer: 409 version-conflict, the file on disk unchanged
#  - a bad schema: 400 naming the file and the field, nothing written
#  - deleting a fact an adapter maps, a purpose names or a predicate reads:
#    409 in-use, the file restored, the fact still served
#  - a predicate (gwctl predicate push): answered; one reading an unknown
#    fact refused; delete
#  - the fund agency refusing the gateway's signed headers (a wrong secret):
#    the fund facts are unavailable/agency_fault, the others ok
. "$(dirname -- "${BASH_SOURCE[0]}")/../query/lib.sh"

stack_up "$TMP/stack"
P=$(dirname "$CA")
ADMIN=(--cacert "$CA" --cert "$P/clients/admin.pem" --key "$P/clients/admin.key")
ENGINE=(--cacert "$CA" --cert "$CERT" --key "$KEY")
FACTS=$(jq -r .schemas_dir "$(jq -r .gateway.config "$S")")
SCH=$(dirname "$FACTS")
admin() { local m=$1 p=$2; shift 2; req "${ADMIN[@]}" -X "$m" -H 'Content-Type: application/json' "$@" "$GW$p"; }
detail() { jq -r .detail <<<"$BODY"; }
NEW=housing_fund.unit_name
W=$TMP/work
mkdir -p "$W"
cp "$SDIR/adapters/fund.json" "$W/fund.orig.json"

# ---- roles and GET
req "${ENGINE[@]}" "$GW/v1/facts/housing_fund.employer"
check "a client may not read a fact file" "$STATUS" 403
req "${ENGINE[@]}" -X PUT --data-binary "@$FACTS/housing_fund.employer.schema.json" "$GW/v1/facts/housing_fund.employer"
check "a client may not put a fact" "$STATUS" 403
req "${ENGINE[@]}" -X DELETE "$GW/v1/predicates/age.under"
check "a client may not delete a predicate" "$STATUS" 403
admin GET /v1/facts/housing_fund.employer
check "GET a fact: version, sha256 of the file in force, the schema" \
  "$STATUS $(jq -c '[.version, .sha256, .document.title]' <<<"$BODY")" \
  "200 [1,\"$(sha256sum <"$FACTS/housing_fund.employer.schema.json" | cut -d' ' -f1)\",\"housing_fund.employer\"]"
admin GET /v1/predicates/age.under
check "GET a predicate: version, sha256, the definition" \
  "$STATUS $(jq -c '[.version, .sha256, .document.id]' <<<"$BODY")" \
  "200 [1,\"$(sha256sum <"$SCH/predicates/age.under.json" | cut -d' ' -f1)\",\"age.under\"]"
admin GET /v1/facts/no_such.fact
check "GET an unknown fact: 404" "$STATUS" 404
req "${ENGINE[@]}" "$GW/v1/facts/catalogue"
check "GET /v1/facts/catalogue is still the catalogue (one fact per schema file)" "$STATUS $(jq '.facts | length' <<<"$BODY")" \
  "200 $(ls "$GW_SOURCE_DIR"/schemas/facts/*.schema.json | wc -l)"
admin PUT /v1/facts/catalogue --data-binary "@$FACTS/housing_fund.employer.schema.json"
check "no fact may be called catalogue" "$STATUS $(jq -r .type <<<"$BODY")" "400 /problems/invalid-request"
req "${ENGINE[@]}" "$GW/v1/facts/query"
check "GET /v1/facts/query is a method not allowed, not a fact called query" \
  "$STATUS $(jq -r .type <<<"$BODY")" "405 /problems/method-not-allowed"

# ---- a new fact, validated and pushed with gwctl
fact() {   # fact VERSION [jq filter]: the new fact's schema file in $W
  jq -n --arg n "$NEW" --argjson v "$1" '{
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://gateway.invalid/schemas/facts/\($n).schema.json",
    title: $n, description: "Registered name of the unit depositing the housing fund.",
    "x-gw": {version: $v, description: "depositing unit name", sensitivity: "personal",
             max_cache_age_s: 86400},
    type: "string", minLength: 1, maxLength: 256, examples: ["深圳市示例科技有限公司"]}' |
    jq "${2:-.}" >"$W/$NEW.schema.json"
}
fact 1
out=$("$GWCTL" fact validate "$W/$NEW.schema.json")
check "gwctl fact validate: ok" "$out" "$W/$NEW.schema.json: ok (fact $NEW version 1)"
out=$("$GWCTL" fact push "$W/$NEW.schema.json" --stack "$S")
check "gwctl fact push: registered" "$out" "$W/$NEW.schema.json: $NEW version 1 registered and active"
check "the schema is in the catalogue folder, byte for byte" "$(cmp "$W/$NEW.schema.json" "$FACTS/$NEW.schema.json" && echo same)" same

jq --arg n "$NEW" '.id = "fund.unit" | .description = "the depositing unit name"
    | .facts = [$n] | .mapping = {($n): {path: "/data/unit/unit_name", type: "string"}}' \
  "$W/fund.orig.json" >"$W/fund.unit.json"
admin PUT /v1/adapters/fund.unit --data-binary "@$W/fund.unit.json"
check "an adapter serving the new fact is accepted" "$STATUS" 201

# deleting a fact an adapter maps: refused as a whole, restored
admin DELETE "/v1/facts/$NEW"
check "delete a fact an adapter maps: 409 in-use naming the adapter file" \
  "$STATUS $(jq -r .type <<<"$BODY") $(detail | grep -c 'fund.unit.json')" "409 /problems/in-use 1"
check "the refused delete left the file in place" "$(cmp "$W/$NEW.schema.json" "$FACTS/$NEW.schema.json" && echo same)" same

# purposes and ACL name it (files); the next change activates them together
jq --arg n "$NEW" '.version += 1 | .purposes["talent.inservice"].facts += [$n]' "$SCH/purposes.json" >"$W/p" && mv "$W/p" "$SCH/purposes.json"
ACL=$(jq -r .acl "$(jq -r .gateway.config "$S")"); [[ $ACL == /* ]] || ACL=$SDIR/$ACL
jq --arg n "$NEW" '.clients.engine.purposes["talent.inservice"] += [$n]
    | .clients.engine.predicates["talent.inservice"] += ["housing_fund.unit_known"]' "$ACL" >"$W/a" && mv "$W/a" "$ACL"
fact 2 '.description = "Registered name of the depositing unit (住房公积金缴存单位)."'
admin PUT "/v1/facts/$NEW" --data-binary "@$W/$NEW.schema.json"
check "a newer version: 200 active" "$STATUS $(jq -c '[.kind, .id, .version, .status]' <<<"$BODY")" "200 [\"fact\",\"$NEW\",2,\"active\"]"
p=$(person inservice-senior-title)
ask inservice-senior-title talent.inservice "$NEW" '{"max_age_s": 0}'
check "the query answers the new fact from the fund agency" \
  "$STATUS $(f "$NEW" ' | [.status, .source, .value]')" "200 [\"ok\",\"fund\",$(jq -c .si.employer.name <<<"$p")]"

# not newer: 409, nothing written
cp "$FACTS/$NEW.schema.json" "$W/before.json"
admin PUT "/v1/facts/$NEW" --data-binary "@$W/$NEW.schema.json"
check "the same version again: 409 version-conflict" \
  "$STATUS $(jq -r .type <<<"$BODY") $(detail)" \
  "409 /problems/version-conflict $NEW.schema.json: #/x-gw/version: must be newer than the active version 2"
fact 1
rc=0; out=$("$GWCTL" fact push "$W/$NEW.schema.json" --stack "$S") || rc=$?
check "gwctl fact push of an older version: exit 1, HTTP 409" "$rc $(grep -c 'HTTP 409' <<<"$out")" "1 1"
check "the file on disk is unchanged" "$(cmp "$W/before.json" "$FACTS/$NEW.schema.json" && echo same)" same

# bad schemas: 400 naming file and field; gwctl says the same before sending
fact 3 '."x-gw".sensitivity = "secret"'
admin PUT "/v1/facts/$NEW" --data-binary "@$W/$NEW.schema.json"
check "a bad x-gw: 400 naming file and field" "$STATUS $(jq -r .type <<<"$BODY") $(detail)" \
  "400 /problems/invalid-fact $NEW.schema.json: #/x-gw/sensitivity: must be one of public, personal, sensitive"
fact 3 '.format = "email"'
admin PUT "/v1/facts/$NEW" --data-binary "@$W/$NEW.schema.json"
check "an unsupported JSON Schema keyword: 400 naming file and keyword" \
  "$STATUS $(detail | grep -c "^$NEW.schema.json: #/format: ")" "400 1"
rc=0; out=$("$GWCTL" fact validate "$W/$NEW.schema.json") || rc=$?
check "gwctl fact validate names the same" "$rc $(grep -c "^$W/$NEW.schema.json: #/format: " <<<"$out")" "1 1"
check "nothing was written" "$(cmp "$W/before.json" "$FACTS/$NEW.schema.json" && echo same)" same
admin PUT /v1/facts/Bad.Name --data-binary "@$W/$NEW.schema.json"
check "a name outside the pattern: 400" "$STATUS" 400

# ---- a predicate over the new fact
pred() {   # pred VERSION [jq filter]
  jq -n --arg n "$NEW" --argjson v "$1" '{id: "housing_fund.unit_known", version: $v,
    description: "a unit deposits the housing fund for the person",
    facts: [$n], rule: {operator: "exists", fact: $n}, not_found: false,
    purposes: ["talent.inservice"]}' | jq "${2:-.}" >"$W/housing_fund.unit_known.json"
}
pred 1
out=$(GW_SCHEMAS_DIR=$FACTS "$GWCTL" predicate push "$W/housing_fund.unit_known.json" --stack "$S")
check "gwctl predicate push: registered" "$out" "$W/housing_fund.unit_known.json: housing_fund.unit_known version 1 registered and active"
ask inservice-senior-title talent.inservice identity.match '{"max_age_s": 0, "predicates": [{"id": "housing_fund.unit_known"}]}'
check "the predicate answers true" "$STATUS $(jq -c '.predicates["housing_fund.unit_known"].result' <<<"$BODY")" "200 true"
admin PUT /v1/predicates/housing_fund.unit_known --data-binary "@$W/housing_fund.unit_known.json"
check "the same predicate version again: 409" "$STATUS $(detail)" \
  "409 housing_fund.unit_known.json: version: must be newer than the active version 1"
pred 2 '.rule.operator = "guess"'
admin PUT /v1/predicates/housing_fund.unit_known --data-binary "@$W/housing_fund.unit_known.json"
check "an unknown operator: 400 naming rule.operator" "$STATUS $(detail | grep -c '^housing_fund.unit_known.json: rule.operator: ')" "400 1"
pred 2 '.facts = ["no_such.fact"] | .rule.fact = "no_such.fact"'
admin PUT /v1/predicates/housing_fund.unit_known --data-binary "@$W/housing_fund.unit_known.json"
check "a predicate reading an unknown fact: 400 naming facts[0]" "$STATUS $(detail)" \
  "400 housing_fund.unit_known.json: facts[0]: \"no_such.fact\" is not a fact of the catalogue (no no_such.fact.schema.json)"
admin PUT /v1/predicates/other.id --data-binary "@$W/housing_fund.unit_known.json"
check "the id in the body must be the URL's" "$STATUS" 400

# deleting the fact now: purposes, the adapter and the predicate need it
admin DELETE "/v1/facts/$NEW"
check "delete a fact in use: 409 in-use" "$STATUS $(jq -r .type <<<"$BODY")" "409 /problems/in-use"
ask inservice-senior-title talent.inservice "$NEW" '{"max_age_s": 0}'
check "the running generation still serves it" "$(f "$NEW" .status)" '"ok"'

# a predicate's file read by nothing else can go
admin DELETE /v1/predicates/housing_fund.unit_known
check "delete a predicate: 204, the file gone" "$STATUS $([[ -e $SCH/predicates/housing_fund.unit_known.json ]] && echo there || echo gone)" "204 gone"
admin GET /v1/predicates/housing_fund.unit_known
check "a deleted predicate is not found" "$STATUS" 404

# ---- the fund agency refusing our signature: agency_fault for its facts only
head -c 24 /dev/urandom | base64 >"$P/secrets/fund-wrong-secret"
jq '.version = 2 | .auth.secret = "file:../pki/secrets/fund-wrong-secret"' "$W/fund.orig.json" >"$W/fund.json"
admin PUT /v1/adapters/fund.deposits --data-binary "@$W/fund.json"
check "a fund adapter with a wrong secret is accepted (the file is valid)" "$STATUS" 200
before=$(mock_requests fund)
ask graduate-master talent.inservice housing_fund.shenzhen_months,housing_fund.employer,social_insurance.shenzhen_months,identity.match '{"max_age_s": 0}'
check "bad signature at fund: fund facts unavailable/agency_fault" \
  "$STATUS $(f housing_fund.shenzhen_months ' | [.status, .error.code, .error.agency]') $(f housing_fund.employer .status)" \
  '200 ["unavailable","agency_fault","fund"] "unavailable"'
check "bad signature at fund: the other facts ok" \
  "$(f social_insurance.shenzhen_months .status) $(f identity.match .status) $(jq .complete <<<"$BODY")" '"ok" "ok" false'
check "the fund agency was asked (and refused)" "$(( $(mock_requests fund) > before ))" 1
jq '.version = 3' "$W/fund.orig.json" >"$W/fund.json"
admin PUT /v1/adapters/fund.deposits --data-binary "@$W/fund.json"
ask graduate-master talent.inservice housing_fund.shenzhen_months '{"max_age_s": 0}'
check "the right secret again: ok" "$STATUS $(f housing_fund.shenzhen_months .status)" '200 "ok"'
finish
