#!/usr/bin/env bash
# query.recheck - POST /v1/facts/recheck (定期返查, DESIGN section 3, issue 16).
#
# A query with facts and predicates; a re-check finds nothing changed and
# really asks the agencies again (their request counters move).  After
# PUT /people/{id}/override at the mock, a re-check reports exactly the
# changed fact and the changed predicate, with both attestations (they
# verify with openssl; the previous one is the one first served), and the
# log holds a recheck record citing the original.  A hung agency makes its
# fact and predicate unavailable.  Unknown ids are 404, a wrong subject 422,
# a client without a role 403; an auditor may re-check.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

stack_up "$TMP/stack"
AUD_CERT=$(jq -r .pki.clients.auditor.cert "$S")
AUD_KEY=$(jq -r .pki.clients.auditor.key "$S")
who=graduate-master
ID=$(subject $who); NAME=$(subject $who name)
SUBJ=$(jq -nc --arg id "$ID" --arg n "$NAME" '{id_type: "cn-resident-id", id: $id, name: $n}')

gw_post "$(jq -nc --argjson s "$SUBJ" '{subject: $s, purpose: "talent.graduate", case_ref: "SZ-RC-RECHECK-1",
  facts: ["identity.match", "social_insurance.shenzhen_months"],
  predicates: [{id: "credit.not_dishonest"}, {id: "education.at_least", arg: "master"}]}')"
check "original query" "$STATUS $(jq -c '[.predicates[].result]' <<<"$BODY")" '200 [true,true]'
ORIG=$BODY
QID=$(jq -r .query_id <<<"$ORIG")

# recheck [CERT KEY] BODY
recheck() {
  local cert=${3:-$CERT} key=${4:-$KEY}
  req --cacert "$CA" --cert "$cert" --key "$key" -H 'Content-Type: application/json' \
      --data-binary "$1" "$GW/v1/facts/recheck"
}
rbody() { jq -nc --arg q "${1:-$QID}" --argjson s "${2:-$SUBJ}" '{query_id: $q, subject: $s}'; }

credit_before=$(mock_requests credit)
recheck "$(rbody)"
check "re-check, nothing changed: every fact and predicate unchanged" \
  "$STATUS $(jq -c '[.recheck_of, .changed, .complete, ([.facts[].outcome, .predicates[].outcome] | unique)]' <<<"$BODY")" \
  "200 [\"$QID\",false,true,[\"unchanged\"]]"
check "re-check: the agencies were asked again (no cache)" \
  "$(( $(mock_requests credit) > credit_before ))" 1
check "re-check: only the facts the client was served are shown" \
  "$(jq -c '.facts | keys' <<<"$BODY")" '["identity.match","social_insurance.shenzhen_months"]'

# the person's record changes at the agencies
CR=$(jq -c '.people[] | select(.scenario == "credit-dishonest") | .credit' "$POPULATION")
control PUT "/people/$ID/override" -H 'Content-Type: application/json' \
  -d "$(jq -nc --argjson c "$CR" '{credit: $c, si: {shenzhen_months: 2, employer: {name: "深圳市测试科技有限公司", uscc: "914403000000000017"}}}')"
check "mock override accepted" "$STATUS" 200
recheck "$(rbody)"
R=$BODY
check "after the override: exactly the changed fact and the changed predicate" \
  "$STATUS $(jq -c '[.changed, ([.facts, .predicates] | map(to_entries[] | select(.value.outcome == "changed") | .key))]' <<<"$R")" \
  '200 [true,["social_insurance.shenzhen_months","credit.not_dishonest"]]'
check "the others are unchanged" \
  "$(jq -c '[.facts["identity.match"].outcome, .predicates["education.at_least(master)"].outcome]' <<<"$R")" \
  '["unchanged","unchanged"]'
check "the changed predicate: true before, false now" \
  "$(jq -c '.predicates["credit.not_dishonest"] | [.previous.result, .current.result]' <<<"$R")" '[true,false]'
check "the previous fact attestation is the one first served" \
  "$(jq -r '.facts["social_insurance.shenzhen_months"].previous.attestation' <<<"$R")" \
  "$(jq -r '.facts["social_insurance.shenzhen_months"].attestation' <<<"$ORIG")"
check "the previous predicate attestation is the one first served" \
  "$(jq -r '.predicates["credit.not_dishonest"].previous.attestation' <<<"$R")" \
  "$(jq -r '.predicates["credit.not_dishonest"].attestation' <<<"$ORIG")"
jwks_load
n=0
for a in "$(jq -r '.facts["social_insurance.shenzhen_months"].current.attestation' <<<"$R")" \
         "$(jq -r '.predicates["credit.not_dishonest"].current.attestation' <<<"$R")"; do
  ossl_verify_compact "$a" && n=$((n + 1))
  last=$(cat "$TMP/payload.json")
done
check "both current attestations verify with openssl; the new predicate attestation says false" \
  "$n $(jq -c .result <<<"$last")" "2 false"
check "the current fact attestation holds the new value" \
  "$(ossl_verify_compact "$(jq -r '.facts["social_insurance.shenzhen_months"].current.attestation' <<<"$R")"; jq -c .value "$TMP/payload.json")" 2

# the log: a recheck record citing the original
idx=$(jq -r .audit.index <<<"$R")
req --cacert "$CA" --cert "$AUD_CERT" --key "$AUD_KEY" "$GW/v1/audit/entries?start=$idx&count=1"
rec=$(jq -r '.entries[0].data' <<<"$BODY" | base64 -d)
check "audit: a recheck record citing the original, with what changed" \
  "$(jq -c '[.kind, .recheck_of, .changed, .predicates["credit.not_dishonest"].outcome, .facts["social_insurance.shenzhen_months"].outcome]' <<<"$rec")" \
  "[\"recheck\",\"$QID\",true,\"changed\",\"changed\"]"
check "audit: no raw identity number or name in the recheck record" \
  "$(grep -cF -e "$ID" -e "$NAME" <<<"$rec" || true)" 0

# an agency that hangs: its fact and predicate are unavailable, never "changed"
set_fault credit '{"mode": "hang"}'
recheck "$(jq -nc --arg q "$QID" --argjson s "$SUBJ" '{query_id: $q, subject: $s, deadline_ms: 800}')"
check "credit hangs: credit.not_dishonest unavailable with a timeout, the rest answered" \
  "$STATUS $(jq -c '[.complete, .predicates["credit.not_dishonest"].outcome, .predicates["credit.not_dishonest"].error.code, .facts["identity.match"].outcome]' <<<"$BODY")" \
  '200 [false,"unavailable","timeout","unchanged"]'
clear_fault credit

# who may ask, and what is refused
recheck "$(rbody q_000000000000000000000000)"
check "an unknown query id: 404" "$STATUS" 404
recheck "$(rbody "$QID" "$(jq -nc '{id_type: "cn-resident-id", id: "430104200303150370", name: "李明轩"}')")"
check "another subject than the original's: 422, nothing fetched" "$STATUS $(jq -r .type <<<"$BODY")" \
  "422 /problems/subject-mismatch"
recheck '{"query_id": "q_1", "subject": {}}'
check "a malformed body: 400" "$STATUS" 400
SC=$(jq -r .pki.clients.stranger.cert "$S"); SK=$(jq -r .pki.clients.stranger.key "$S")
recheck "$(rbody)" "" "$SC" "$SK"
check "a client without a role: 403" "$STATUS" 403
recheck "$(rbody)" "" "$AUD_CERT" "$AUD_KEY"
check "an auditor may re-check (with the unsealed subject)" \
  "$STATUS $(jq -c '.predicates["credit.not_dishonest"].outcome' <<<"$BODY")" '200 "changed"'

# ---- after a restart: the query index is rebuilt from the log ---------------
# The gateway finds the original through its query-id index (built when the
# log opens, kept on append); stop it, start it again on the same log, and
# the same re-check and the case's evidence still find their records.
# poll CMD... for up to 30 s (bounded, no fixed wait)
poll() { local i; for i in $(seq 300); do "$@" && return 0; sleep 0.1; done; return 1; }
GPID=$(<"$SDIR/gateway.pid")
kill -TERM "$GPID"
check_true "gatewayd (pid $GPID) stops on SIGTERM" poll test ! -e "/proc/$GPID"
rm -f -- "$SDIR/gateway.ports.json"
"$GW_BUILD_DIR/gateway/gatewayd" --config "$SDIR/gateway.json" --ports-file "$SDIR/gateway.ports.json" \
  </dev/null >>"$GLOG" 2>&1 &
NEWPID=$!
echo "$NEWPID" >"$SDIR/gateway.pid"
check_true "restarted gatewayd writes its ports" poll test -s "$SDIR/gateway.ports.json"
GW="https://127.0.0.1:$(jq .api "$SDIR/gateway.ports.json")"
OPS="http://127.0.0.1:$(jq .ops "$SDIR/gateway.ports.json")"
jq --arg u "$GW" --arg o "$OPS" --argjson p "$NEWPID" \
   '.gateway.url = $u | .gateway.ops_url = $o | .gateway.pid = $p' "$S" >"$S.tmp" && mv -f "$S.tmp" "$S"
check_true "restarted gatewayd is ready" poll curl -fsS -o /dev/null "$OPS/readyz"
check "the reopened log indexed its query records (audit_open: query_index_records > 0)" \
  "$(grep '"audit_open"' "$GLOG" | tail -1 | grep -oE '"query_index_records": ?[0-9]+' | grep -oE '[0-9]+$' | awk '{print ($1 > 0)}')" 1
recheck "$(rbody)"
check "after the restart: the re-check finds the original (credit.not_dishonest still changed)" \
  "$STATUS $(jq -c '[.recheck_of, .predicates["credit.not_dishonest"].outcome]' <<<"$BODY")" \
  "200 [\"$QID\",\"changed\"]"
req --cacert "$CA" --cert "$CERT" --key "$KEY" "$GW/v1/cases/SZ-RC-RECHECK-1/evidence"
for _ in $(seq 60); do
  [[ $STATUS == 503 ]] || break
  sleep 0.5
  req --cacert "$CA" --cert "$CERT" --key "$KEY" "$GW/v1/cases/SZ-RC-RECHECK-1/evidence"
done
check "after the restart: the case's evidence bundle holds the original query record" \
  "$STATUS $(jq -r --arg q "$QID" '[.records[] | select(.kind == "query") | .data | @base64d | fromjson | .query_id] | index($q) != null' <<<"$BODY")" \
  "200 true"
# a query made after the restart is found too (the index kept on append)
gw_post "$(jq -nc --argjson s "$SUBJ" '{subject: $s, purpose: "talent.graduate",
  facts: ["identity.match"], predicates: [{id: "education.at_least", arg: "master"}]}')"
Q2=$(jq -r .query_id <<<"$BODY")
recheck "$(rbody "$Q2")"
check "a query made after the restart: its re-check finds it, unchanged" \
  "$STATUS $(jq -c '[.recheck_of, .facts["identity.match"].outcome]' <<<"$BODY")" \
  "200 [\"$Q2\",\"unchanged\"]"
