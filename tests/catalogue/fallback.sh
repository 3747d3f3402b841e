#!/usr/bin/env bash
# catalogue.fallback - the adapter at order 2 answers when the one at order 1
# is unavailable, and only then.
#
# A second adapter, fund.si_employer, serves social_insurance.employer at
# order 2 from the housing fund agency (whose depositing employer is the
# social insurance employer in the mock population).  It is registered
# through the admin API.  With the si agency faulted (connections reset, then
# HTTP 500) the fact is answered ok by the fund agency within the same query:
# the answer's source, fallback_from, the attestation's src and the query
# record all say who answered and who did not.  A fact only si serves stays
# unavailable.  When si answers "no record" the fund agency is not asked.
# A third adapter (tax.si_employer, order 3): with si and fund both down the
# tax agency answers within the same query, also when the order-2 adapter's
# group is already done (the chain is walked, not hopped once); a not_found
# or a refused answer at order 2 stops the walk.
. "$(dirname -- "${BASH_SOURCE[0]}")/../query/lib.sh"

stack_up "$TMP/stack"
P=$(dirname "$CA")
ADMIN=(--cacert "$CA" --cert "$P/clients/admin.pem" --key "$P/clients/admin.key")

jq '.id = "fund.si_employer" | .order = 2 | .description = "social insurance employer from the housing fund (order 2)"
    | .facts = ["social_insurance.employer"]
    | .mapping = {"social_insurance.employer": .mapping["housing_fund.employer"]}' \
  "$SDIR/adapters/fund.json" >"$TMP/fund.si_employer.json"
req "${ADMIN[@]}" -X PUT -H 'Content-Type: application/json' --data-binary "@$TMP/fund.si_employer.json" \
  "$GW/v1/adapters/fund.si_employer"
check "the order-2 adapter is registered through the admin API" "$STATUS" 201
req --cacert "$CA" --cert "$CERT" --key "$KEY" "$GW/v1/facts/catalogue"
check "the catalogue lists both, in order" \
  "$(jq -c '.facts[] | select(.name == "social_insurance.employer") | [.served_by[] | [.agency, .order]]' <<<"$BODY")" \
  '[["si",1],["fund",2]]'

# Each case asks about a person not asked before: an earlier si answer in
# the cache would be served stale-if-error instead (an ok answer of the
# adapter asked first, which is right, but not what is tested here).

# order 1 answers: order 2 is not asked
before=$(mock_requests fund)
ask graduate-master talent.inservice social_insurance.employer '{"max_age_s": 0}'
check "si up: answered by si" "$STATUS $(f social_insurance.employer .status) $(f social_insurance.employer .source)" '200 "ok" "si"'
check "si up: the fund agency is not asked" "$(mock_requests fund)" "$before"

for run in reset:inservice-senior-title http_500:inservice-intermediate-title; do
  mode=${run%%:*} who=${run#*:}
  want=$(person "$who" | jq -c '.si.employer')
  set_fault si "{\"mode\": \"$mode\"}"
  ask "$who" talent.inservice social_insurance.employer,social_insurance.shenzhen_months '{"max_age_s": 0}'
  check "si $mode: the employer is ok from the fund agency" \
    "$STATUS $(f social_insurance.employer .status) $(f social_insurance.employer .source)" '200 "ok" "fund"'
  check "si $mode: the value is the person's employer" "$(f social_insurance.employer .value)" "$want"
  check "si $mode: fallback_from names si" \
    "$(f social_insurance.employer '.fallback_from | [.adapter, .agency]')" '["si.insurance","si"]'
  check "si $mode: a fact only si serves stays unavailable" \
    "$(f social_insurance.shenzhen_months ' | [.status, .error.agency]')" '["unavailable","si"]'
  jws=$(f social_insurance.employer .attestation | jq -r .)
  payload=$(b64url_dec "$(cut -d. -f2 <<<"$jws")")
  check "si $mode: the attestation's src names the fund agency and adapter" \
    "$(jq -c '[.fact, .src.agency, .src.adapter]' <<<"$payload")" '["social_insurance.employer","fund","fund.si_employer"]'
  qid=$(jq -r .query_id <<<"$BODY")
  clear_fault si
done
req --cacert "$CA" --cert "$CERT" --key "$KEY" "$GW/v1/keys"
cp "$BODY_FILE" "$TMP/jwks.json"
ask inservice-vocational talent.inservice social_insurance.employer '{"max_age_s": 0}'
printf '%s' "$BODY" >"$TMP/answer.json"
check_true "gwctl verify accepts the answers" quiet "$GWCTL" verify --jwks "$TMP/jwks.json" "$TMP/answer.json"

# the query record says which adapter answered and which one failed
AUDITOR=(--cacert "$CA" --cert "$P/clients/auditor.pem" --key "$P/clients/auditor.key")
found=""
for _ in $(seq 1 50); do
  req "${AUDITOR[@]}" "$GW/v1/audit/entries?start=0&count=1000"
  found=$(jq -r '.entries[].data' <<<"$BODY" | while read -r d; do base64 -d <<<"$d"; echo; done |
          jq -c --arg q "$qid" 'select(.kind == "query" and .query_id == $q) | .facts["social_insurance.employer"] | [.adapter, .fallback_from, .status]' 2>/dev/null)
  [[ -n "$found" ]] && break
  sleep 0.1
done
check "the query record: answered by fund.si_employer after si.insurance" "$found" '["fund.si_employer","si.insurance","ok"]'

# si answers "no record": that is an answer, the fund agency is not asked
before=$(mock_requests fund)
ask inservice-no-insurance talent.inservice social_insurance.employer '{"max_age_s": 0}'
check "si not_found: not_found from si" "$STATUS $(f social_insurance.employer ' | [.status, .source, .fallback_from]')" '200 ["not_found","si",null]'
check "si not_found: the fund agency is not asked" "$(mock_requests fund)" "$before"

# a refused answer (malformed) is not unavailability either
set_fault si '{"mode": "malformed"}'
before=$(mock_requests fund)
ask inservice-short-insurance talent.inservice social_insurance.employer '{"max_age_s": 0}'
check "si malformed: bad_response from si, no fallback" \
  "$(f social_insurance.employer ' | [.status, .error.code, .error.agency]')" '["unavailable","bad_response","si"]'
check "si malformed: the fund agency is not asked" "$(mock_requests fund)" "$before"
clear_fault si

# ---- three adapters for one fact: order 1 and order 2 both down, order 3
# answers within the same query (the chain is walked, not one hop)
jq '.id = "tax.si_employer" | .order = 3 | .description = "social insurance employer from the tax agency (order 3)"
    | .facts = ["social_insurance.employer"]
    | .mapping = {"social_insurance.employer": .mapping["tax.employer"]}' \
  "$SDIR/adapters/tax.json" >"$TMP/tax.si_employer.json"
req "${ADMIN[@]}" -X PUT -H 'Content-Type: application/json' --data-binary "@$TMP/tax.si_employer.json" \
  "$GW/v1/adapters/tax.si_employer"
check "the order-3 adapter is registered through the admin API" "$STATUS" 201
req --cacert "$CA" --cert "$CERT" --key "$KEY" "$GW/v1/facts/catalogue"
check "the catalogue lists all three, in order" \
  "$(jq -c '.facts[] | select(.name == "social_insurance.employer") | [.served_by[] | [.agency, .order]]' <<<"$BODY")" \
  '[["si",1],["fund",2],["tax",3]]'
set_fault si '{"mode": "reset"}'
set_fault fund '{"mode": "http_500"}'
before_fund=$(mock_requests fund) before_tax=$(mock_requests tax)
want=$(person highlevel-a | jq -c '.si.employer')
ask highlevel-a talent.inservice social_insurance.employer '{"max_age_s": 0}'
check "si and fund down: the employer is ok from the tax agency (order 3)" \
  "$STATUS $(f social_insurance.employer ' | [.status, .source, .fallback_from.adapter]')" \
  '200 ["ok","tax","fund.si_employer"]'
check "si and fund down: the value is the person's employer" "$(f social_insurance.employer .value)" "$want"
check "si and fund down: fund and tax were each asked" \
  "$(( $(mock_requests fund) > before_fund )) $(( $(mock_requests tax) > before_tax ))" "1 1"
jws=$(f social_insurance.employer .attestation | jq -r .)
check "si and fund down: the attestation's src names the tax agency and adapter" \
  "$(b64url_dec "$(cut -d. -f2 <<<"$jws")" | jq -c '[.src.agency, .src.adapter]')" '["tax","tax.si_employer"]'
# fund answering "no record" (it is up): that is the answer, tax is not asked
clear_fault fund
before_tax=$(mock_requests tax)
ask graduate-bachelor talent.inservice social_insurance.employer '{"max_age_s": 0}'
check "si down, fund not_found: not_found from fund, tax not asked" \
  "$(f social_insurance.employer ' | [.status, .source]') $(mock_requests tax)" "[\"not_found\",\"fund\"] $before_tax"
# fund refusing (malformed) after si is down: no fall-through to tax
set_fault fund '{"mode": "malformed"}'
before_tax=$(mock_requests tax)
ask highlevel-b talent.inservice social_insurance.employer '{"max_age_s": 0}'
check "si down, fund malformed: bad_response from fund, tax not asked" \
  "$(f social_insurance.employer ' | [.status, .error.code, .error.agency]') $(mock_requests tax)" \
  "[\"unavailable\",\"bad_response\",\"fund\"] $before_tax"
clear_fault fund

# The order-2 adapter already a group of the query, done and down before
# the order-1 one fails (si answers 200 ms late): the fact walks past it to
# order 3 at once, it is not left with the failed group.  fund.deposits takes
# order 2 for the employer (fund.si_employer goes) and the query asks a
# housing fund fact as well, so fund.deposits is asked from the start.
req "${ADMIN[@]}" -X DELETE "$GW/v1/adapters/fund.si_employer"
check "fund.si_employer removed" "$STATUS" 204
jq '.version = 2 | .order = 2 | .facts += ["social_insurance.employer"]
    | .mapping["social_insurance.employer"] = .mapping["housing_fund.employer"]' \
  "$SDIR/adapters/fund.json" >"$TMP/fund.deposits.json"
req "${ADMIN[@]}" -X PUT -H 'Content-Type: application/json' --data-binary "@$TMP/fund.deposits.json" \
  "$GW/v1/adapters/fund.deposits"
check "fund.deposits serves the employer at order 2" "$STATUS" 200
set_fault si '{"mode": "http_500", "latency_ms": 200}'
set_fault fund '{"mode": "http_500"}'
want=$(person highlevel-c | jq -c '.si.employer')
ask highlevel-c talent.inservice social_insurance.employer,housing_fund.shenzhen_months '{"max_age_s": 0}'
check "si and fund down, fund asked first: the employer is ok from tax (order 3)" \
  "$STATUS $(f social_insurance.employer ' | [.status, .source, .fallback_from.adapter]')" \
  '200 ["ok","tax","fund.deposits"]'
check "si and fund down, fund asked first: the value is the person's employer" \
  "$(f social_insurance.employer .value)" "$want"
check "si and fund down, fund asked first: the housing fund fact is unavailable from fund" \
  "$(f housing_fund.shenzhen_months ' | [.status, .error.agency]')" '["unavailable","fund"]'
clear_fault fund
clear_fault si
finish
