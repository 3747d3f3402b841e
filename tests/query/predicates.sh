#!/usr/bin/env bash
# query.predicates - yes/no answers (DESIGN section 3, issue 16).
#
# For every shipped predicate: a curated person for whom it is true, one
# for whom it is false, and "unknown" (never false) when the agency behind
# it hangs.  A predicates-only answer holds no value of the facts behind it
# (grepped for the degree's institution and certificate, the birth date, the
# employer).  Predicate attestations verify with python3-cryptography and
# the openssl CLI against GET /v1/keys; their basis hashes are attestations
# of the fetch records in the log, their predicate.sha256 is the hash of the
# definition file.  The probing defence, the ACL and request validation.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

# the shipped definitions, copied so the suite can change them and reload
PRED_DIR=$TMP/predicates
# gwctl judges definitions against the shipped fact catalogue
export GW_SCHEMAS_DIR=$GW_SOURCE_DIR/schemas/facts
mkdir -p "$PRED_DIR"
cp "$GW_SOURCE_DIR"/schemas/predicates/*.json "$PRED_DIR/"
stack_up "$TMP/stack" --set "predicates_dir=$PRED_DIR"
AUD_CERT=$(jq -r .pki.clients.auditor.cert "$S")
AUD_KEY=$(jq -r .pki.clients.auditor.key "$S")

# pask SCENARIO PURPOSE PREDICATES_JSON [EXTRA_JSON]: a predicates-only query
# about a curated subject under its listed name.
pask() {
  local extra=${4:-'{}'}
  gw_post "$(jq -nc --arg id "$(subject "$1")" --arg n "$(subject "$1" name)" --arg p "$2" \
               --argjson preds "$3" --argjson x "$extra" \
               '{subject: {id_type: "cn-resident-id", id: $id, name: $n},
                 purpose: $p, predicates: $preds} + $x')"
}
# p KEY: the result of one predicate in the last answer (jq -c).
p() { jq -c --arg k "$1" '.predicates[$k].result' <<<"$BODY"; }

# ---- true and false, per predicate, on curated people -----------------------
# scenario | purpose | id | arg (JSON, or "null") | expected
CASES=$(cat <<'EOF'
graduate-bachelor|talent.graduate|education.at_least|"bachelor"|true
no-degree|talent.graduate|education.at_least|"bachelor"|false
overseas-master|talent.overseas|overseas.degree_at_least|"master"|true
overseas-bachelor|talent.overseas|overseas.degree_at_least|"master"|false
graduate-bachelor|talent.graduate|age.under|35|true
highlevel-a|talent.highlevel|age.under|35|false
overseas-master|talent.overseas|social_insurance.shenzhen_months_at_least|12|true
inservice-short-insurance|talent.inservice|social_insurance.shenzhen_months_at_least|6|false
inservice-no-insurance|talent.inservice|social_insurance.shenzhen_months_at_least|1|false
graduate-master|talent.graduate|credit.not_dishonest|null|true
credit-warning|talent.graduate|credit.not_dishonest|null|true
credit-dishonest|talent.graduate|credit.not_dishonest|null|false
shenzhen-hukou|talent.graduate|hukou.in_shenzhen|null|true
graduate-master|talent.graduate|hukou.in_shenzhen|null|false
inservice-senior-title|talent.inservice|qualification.holds_level_at_least|"senior"|true
inservice-intermediate-title|talent.inservice|qualification.holds_level_at_least|"senior"|false
highlevel-a|talent.highlevel|talent.level_at_least|"B"|true
highlevel-c|talent.highlevel|talent.level_at_least|"B"|false
postdoc-in-station|talent.postdoc|postdoc.in_station|null|true
postdoc-left-station|talent.postdoc|postdoc.in_station|null|false
graduate-doctor|talent.graduate|identity.names_agree|null|true
name-mismatch|talent.graduate|identity.names_agree|null|false
name-variant-si|talent.graduate|identity.names_agree|null|false
inservice-no-insurance|talent.inservice|identity.names_agree|null|true
EOF
)
while IFS='|' read -r sc purpose id arg want; do
  preds=$(jq -nc --arg id "$id" --argjson a "$arg" 'if $a == null then [{id: $id}] else [{id: $id, arg: $a}] end')
  key=$(jq -r --arg id "$id" --argjson a "$arg" 'if $a == null then $id else "\($id)(\($a))" end' <<<null)
  pask "$sc" "$purpose" "$preds"
  check "$key for $sc is $want" "$STATUS $(p "$key")" "200 $want"
done <<<"$CASES"

# tax.shenzhen_months comes from the tax agency (SOAP, UsernameToken): the
# answer is what the population's months say
pask graduate-doctor talent.graduate '[{"id": "tax.shenzhen_months_at_least", "arg": 6}]'
want=$(expected graduate-doctor tax.shenzhen_months | jq '.status == "ok" and .value >= 6')
check "tax.shenzhen_months_at_least(6) for graduate-doctor is the population's ($want)" \
  "$(p 'tax.shenzhen_months_at_least(6)')" "$want"

# ---- unknown when the agency hangs (fresh fetches, short deadline) ----------
# agency | scenario | purpose | predicates
HUNG=$(cat <<'EOF'
chsi|graduate-bachelor|talent.graduate|[{"id":"education.at_least","arg":"bachelor"}]
cscse|overseas-master|talent.overseas|[{"id":"overseas.degree_at_least","arg":"master"}]
mps|graduate-bachelor|talent.graduate|[{"id":"age.under","arg":35},{"id":"hukou.in_shenzhen"},{"id":"identity.names_agree"}]
si|overseas-master|talent.overseas|[{"id":"social_insurance.shenzhen_months_at_least","arg":12}]
credit|graduate-master|talent.graduate|[{"id":"credit.not_dishonest"}]
qual|inservice-senior-title|talent.inservice|[{"id":"qualification.holds_level_at_least","arg":"senior"}]
talent|highlevel-a|talent.highlevel|[{"id":"talent.level_at_least","arg":"B"},{"id":"postdoc.in_station"}]
fund|graduate-master|talent.graduate|[{"id":"identity.names_agree"}]
tax|graduate-master|talent.graduate|[{"id":"identity.names_agree"}]
EOF
)
while IFS='|' read -r agency sc purpose preds; do
  set_fault "$agency" '{"mode": "hang"}'
  pask "$sc" "$purpose" "$preds" '{"max_age_s": 0, "deadline_ms": 800}'
  check "$agency hangs: every predicate it feeds is unknown with a timeout, none false" \
    "$STATUS $(jq -c '[.predicates[] | [.result, .error.code]] | unique' <<<"$BODY") $(jq -c .complete <<<"$BODY")" \
    '200 [["unknown","timeout"]] false'
  clear_fault "$agency"
done <<<"$HUNG"

# ---- identity.names_agree: the cross-check (交叉检查) over every agency ----------
# name-variant-si: the registry, the fund and the tax bureau spell her name
# as she gives it; social insurance keyed it in with a homophone.
NV_ID=$(subject name-variant-si); NV_NAME=$(subject name-variant-si name)
NV_SI_NAME=$(person name-variant-si | jq -r .si.name)
check "the curated record differs at si only" \
  "$([[ -n $NV_SI_NAME && $NV_SI_NAME != "$NV_NAME" ]] && echo yes)" yes
: >"$TMP/names_answers.json"
pask name-variant-si talent.graduate '[{"id":"identity.names_agree"}]' '{"max_age_s": 0}'
cat "$BODY_FILE" >>"$TMP/names_answers.json"
check "names_agree for name-variant-si: false, attested, sourced from mps, si, fund and tax, no fact returned" \
  "$(jq -c '[.predicates["identity.names_agree"] | .result, (.attestation | length > 0),
             (.sources | keys)] + [(.facts | length)]' <<<"$BODY")" \
  '[false,true,["housing_fund.name_agrees","identity.match","social_insurance.name_agrees","tax.name_agrees"],0]'
NV_QID=$(jq -r .query_id <<<"$BODY")
# one agency's disagreement decides, whatever another hanging agency would say
set_fault fund '{"mode": "hang"}'
pask name-variant-si talent.graduate '[{"id":"identity.names_agree"}]' '{"max_age_s": 0, "deadline_ms": 800}'
cat "$BODY_FILE" >>"$TMP/names_answers.json"
check "names_agree while fund hangs: still false for name-variant-si (si disagrees), attested" \
  "$(jq -c '.predicates["identity.names_agree"] | [.result, (.attestation | length > 0)]' <<<"$BODY")" \
  '[false,true]'
clear_fault fund
# asked under the name si holds, the registry and the others disagree
gw_post "$(jq -nc --arg id "$NV_ID" --arg n "$NV_SI_NAME" \
  '{subject: {id_type: "cn-resident-id", id: $id, name: $n}, purpose: "talent.graduate",
    predicates: [{id: "identity.names_agree"}], max_age_s: 0}')"
cat "$BODY_FILE" >>"$TMP/names_answers.json"
check "names_agree under si's spelling: false (the registry, fund and tax disagree)" \
  "$(p identity.names_agree)" false
# the fact itself, asked directly: a boolean, never the name
ask name-variant-si talent.graduate social_insurance.name_agrees,housing_fund.name_agrees,tax.name_agrees
cat "$BODY_FILE" >>"$TMP/names_answers.json"
check "name_agrees facts for name-variant-si: si false, fund and tax true" \
  "$(jq -c '[.facts["social_insurance.name_agrees", "housing_fund.name_agrees", "tax.name_agrees"] | .value]' <<<"$BODY")" \
  '[false,true,true]'
# no name anywhere: the answers (and every attestation payload in them), the
# audit log as the auditor reads it (records and the attestation payloads
# inside them), the log files on disk, the gateway's own log
size=$(jq -r .audit.index <<<"$BODY")
req --cacert "$CA" --cert "$AUD_CERT" --key "$AUD_KEY" "$GW/v1/audit/entries?start=0&count=$((size + 1))"
jq -r '.entries[].data' <<<"$BODY" | while read -r d; do base64 -d <<<"$d"; echo; done >"$TMP/names_records.jsonl"
check "the audit log holds the cross-check's query records" \
  "$(jq -r --arg q "$NV_QID" 'select(.kind == "query" and .query_id == $q) | .predicates["identity.names_agree"].result' "$TMP/names_records.jsonl")" false
payloads() { grep -oE 'ey[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+' "$1" | cut -d. -f1,2 | tr . '\n' |
             while read -r pl; do b64url_dec "$pl"; echo; done; }
leaks=0
for n in "$NV_NAME" "$NV_SI_NAME"; do
  for where in "$TMP/names_answers.json" "$TMP/names_records.jsonl" "$GLOG"; do
    if grep -qF -- "$n" "$where" || payloads "$where" | grep -qF -- "$n"; then
      bad "a name is in $(basename "$where")"; leaks=$((leaks + 1))
    fi
  done
  if grep -rqF -- "$n" "$AUDIT_DIR"; then bad "a name is in the audit directory"; leaks=$((leaks + 1)); fi
done
check "no name in the answers, their attestations, the audit log (records, attestations, files) or the gateway log" "$leaks" 0

# ---- a predicates-only answer holds no fact value ---------------------------
who=inservice-senior-title
pask "$who" talent.inservice '[{"id":"education.at_least","arg":"bachelor"},{"id":"age.under","arg":45},
  {"id":"social_insurance.shenzhen_months_at_least","arg":12},{"id":"credit.not_dishonest"},
  {"id":"qualification.holds_level_at_least","arg":"senior"}]'
ANSWER=$BODY
cp "$BODY_FILE" "$TMP/answer.json"
check "predicates-only: all five true, no facts returned" \
  "$(jq -c '[(.facts | length), ([.predicates[].result] | unique), .complete]' <<<"$ANSWER")" \
  '[0,[true],true]'
rec=$(person "$who")
leaks=0
for v in "$(jq -r .mps.birth_date <<<"$rec")" "$(jq -r '.mps.birth_date | gsub("-"; "")' <<<"$rec")" \
         "$(jq -r '.degrees[0].institution' <<<"$rec")" "$(jq -r '.degrees[0].certificate_no' <<<"$rec")" \
         "$(jq -r '.degrees[0].major' <<<"$rec")" "$(jq -r .si.employer.name <<<"$rec")" \
         "$(jq -r .si.employer.uscc <<<"$rec")" "$(jq -r '.qualifications[1].cert_no' <<<"$rec")" \
         "$(jq -r '.qualifications[1].name' <<<"$rec")" '"shenzhen_months"' '"value"'; do
  # the answer and every payload inside it
  if grep -qF -- "$v" "$TMP/answer.json" ||
     jq -r '.predicates[].attestation' "$TMP/answer.json" | cut -d. -f2 |
       while read -r pl; do b64url_dec "$pl"; echo; done | grep -qF -- "$v"; then
    bad "the answer leaks $v"
    leaks=$((leaks + 1))
  fi
done
check "predicates-only: no degree, birth date, employer or certificate in the answer or its attestations" "$leaks" 0

# ---- predicate attestations: independent verifiers, payload, basis -----------
jwks_load
n=0; good=0; bound=0
: >"$TMP/pjws.lines"
qid=$(jq -r .query_id <<<"$ANSWER")
for key in $(jq -r '.predicates | keys[]' <<<"$ANSWER"); do
  jws=$(jq -r --arg k "$key" '.predicates[$k].attestation' <<<"$ANSWER")
  echo "$jws" >>"$TMP/pjws.lines"
  n=$((n + 1))
  ossl_verify_compact "$jws" && good=$((good + 1))
  id=${key%%(*}
  if jq -e --arg iss "$GW_ID" --arg sub "$(jq -r .subject_ref <<<"$ANSWER")" --arg id "$id" \
        --arg sha "$(sha256sum "$PRED_DIR/$id.json" | cut -d' ' -f1)" \
        --argjson res "$(jq -c --arg k "$key" '.predicates[$k].result' <<<"$ANSWER")" \
        '.iss == $iss and .sub == $sub and .predicate.id == $id and .predicate.version >= 1
         and .predicate.sha256 == $sha and .result == $res and (.as_of | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))
         and .exp > .iat and (.basis | length) >= 1' "$TMP/payload.json" >/dev/null &&
     jq -e '.typ == "gw-predicate+jws" and .alg == "ES256"' "$TMP/header.json" >/dev/null; then
    bound=$((bound + 1))
  else
    bad "$key payload" "$(cat "$TMP/header.json" "$TMP/payload.json")"
  fi
  jq -r '.basis[]' "$TMP/payload.json" >>"$TMP/basis.lines"
done
check "predicate attestations verify with openssl and name iss, sub, the definition's sha256, result, as_of, basis" \
  "$good/$bound" "$n/$n"
check "predicate attestations verify with python3-cryptography" \
  "$(py_verify "$TMP/jwks.json" <"$TMP/pjws.lines" | sort | uniq -c | awk '{print $2 "=" $1}' | paste -sd' ')" \
  "ok=$n"

# the log: fetch records hold attestations whose sha256 are the basis (of
# this query's fetches, or of an earlier one whose answer the cache served)
size=$(jq -r .audit.index <<<"$ANSWER")
req --cacert "$CA" --cert "$AUD_CERT" --key "$AUD_KEY" "$GW/v1/audit/entries?start=0&count=$((size + 1))"
check "auditor reads the log" "$STATUS" 200
jq -r '.entries[].data' <<<"$BODY" | while read -r d; do base64 -d <<<"$d"; echo; done >"$TMP/records.jsonl"
jq -c 'select(.kind == "fetch") | .facts[] | select(.attestation)' \
  "$TMP/records.jsonl" >"$TMP/fetch_atts.jsonl"
computed=$(jq -r .attestation "$TMP/fetch_atts.jsonl" | while read -r a; do printf '%s' "$a" | sha256sum | cut -d' ' -f1; done | sort -u)
recorded=$(jq -r .attestation_sha256 "$TMP/fetch_atts.jsonl" | sort -u)
check "fetch records: each attestation's sha256 is the one recorded beside it" "$computed" "$recorded"
missing=$(sort -u "$TMP/basis.lines" | comm -23 - <(echo "$computed"))
check "every basis hash is an attestation in a fetch record of the log" "$(sort -u "$TMP/basis.lines" | wc -l) missing=[$missing]" "5 missing=[]"
qrec=$(jq -c --arg q "$qid" 'select(.kind == "query" and .query_id == $q)' "$TMP/records.jsonl")
check "query record: each predicate with its result, attestation hash, basis, definition hash" \
  "$(jq -c '[.predicates[] | (.attestation_sha256 | length == 64) and (.sha256 | length == 64) and (.basis | length >= 1) and .result == true] | unique' <<<"$qrec")" '[true]'
check "query record: the hidden input facts are logged as predicate inputs, ok, with their attestation hash" \
  "$(jq -c '[.facts[] | [.predicate_input, .status, (.attestation_sha256 | length)]] | unique' <<<"$qrec")" '[[true,"ok",64]]'
check "query record: every basis hash is cited by one of its facts" \
  "$(jq -r '[.predicates[].basis[]] - [.facts[].attestation_sha256] | length' <<<"$qrec")" 0
check "query record: predicate attestation hashes match the served attestations" \
  "$(jq -r '.predicates[].attestation' <<<"$qrec" | while read -r a; do printf '%s' "$a" | sha256sum | cut -d' ' -f1; done | sort | paste -sd,)" \
  "$(jq -r '.predicates[].attestation_sha256' <<<"$qrec" | sort | paste -sd,)"
check "query record: the answer's predicate attestations are the recorded ones" \
  "$(jq -r '[.predicates[].attestation] | sort | join(",")' <<<"$ANSWER")" \
  "$(jq -r '[.predicates[].attestation] | sort | join(",")' <<<"$qrec")"

# ---- gwctl audit explain: an auditor recomputes each predicate from the log ----
for _ in $(seq 60); do
  out=$("$GWCTL" audit explain "$qid" --stack "$SDIR" --predicates "$PRED_DIR" 2>&1) && rc=0 || rc=$?
  grep -q 'up to the checkpoint' <<<"$out" || break
  sleep 0.5
done
check "gwctl audit explain: all five recomputed from the log's fact attestations, each holds" \
  "$rc $(grep -c ' holds (as of' <<<"$out")" "0 5"
mkdir -p "$TMP/nodefs"
out=$("$GWCTL" audit explain "$qid" --stack "$SDIR" --predicates "$TMP/nodefs" 2>&1) && rc=0 || rc=$?
check "gwctl audit explain: without the definitions whose sha256 the record names, nothing is claimed" \
  "$rc $(grep -c 'CANNOT RECOMPUTE: no definition' <<<"$out")" "1 5"

# ---- probing defence -------------------------------------------------------------
pask graduate-master talent.graduate '[{"id":"age.under","arg":35}]'
check "probing: first arg answered" "$(p 'age.under(35)')" true
pask graduate-master talent.graduate '[{"id":"age.under","arg":35}]'
check "probing: the same arg again is answered" "$(p 'age.under(35)')" true
pask graduate-master talent.graduate '[{"id":"age.under","arg":40}]'
check "probing: another arg for the same subject inside the window is denied with a reason" \
  "$(jq -c '.predicates["age.under(40)"] | [.result, .status, .error.code, (.error.detail | test("probing"))]' <<<"$BODY")" \
  '["unknown","denied","denied",true]'
pask graduate-doctor talent.graduate '[{"id":"age.under","arg":40}]'
check "probing: another subject is not affected" "$(p 'age.under(40)')" true
pask graduate-master talent.graduate '[{"id":"age.under","arg":45},{"id":"credit.not_dishonest"}]'
check "probing: a denied predicate does not spoil the others" \
  "$(jq -c '[.predicates["age.under(45)"].status, .predicates["credit.not_dishonest"].result, .complete]' <<<"$BODY")" \
  '["denied",true,false]'

# ---- ACL and validation ------------------------------------------------------------
pask graduate-master talent.graduate '[{"id":"postdoc.in_station"}]'
check "a predicate outside the purpose is denied" \
  "$(jq -c '.predicates["postdoc.in_station"] | [.result, .status]' <<<"$BODY")" '["unknown","denied"]'
pask graduate-master talent.graduate '[{"id":"age.under","arg":36}]'
check "an arg outside the fixed list: 400 naming the allowed args" \
  "$STATUS $(jq -r .detail <<<"$BODY")" '400 predicates[0].arg: age.under takes one of [35,40,45,50]'
pask graduate-master talent.graduate '[{"id":"no.such"}]'
check "an unknown predicate: 400" "$STATUS $(jq -r '.detail | startswith("predicates[0].id")' <<<"$BODY")" '400 true'
pask graduate-master talent.graduate '[{"id":"credit.not_dishonest","arg":1}]'
check "an arg to a predicate that takes none: 400" "$STATUS" 400
pask graduate-master talent.graduate '[{"id":"credit.not_dishonest"},{"id":"credit.not_dishonest"}]'
check "a predicate listed twice: 400" "$STATUS" 400
pask graduate-master talent.graduate '[]'
check "neither facts nor predicates: 400" "$STATUS" 400
ask graduate-master talent.graduate identity.match,education.degrees \
  '{"predicates":[{"id":"education.at_least","arg":"master"}]}'
check "facts and predicates together: both answered" \
  "$(jq -c '[(.facts | keys), .predicates["education.at_least(master)"].result]' <<<"$BODY")" \
  '[["education.degrees","identity.match"],true]'


# ---- gwctl predicate validate: what the loader says, before a reload ---------
out=$("$GWCTL" predicate validate "$PRED_DIR"/*.json 2>&1) && rc=0 || rc=$?
check "gwctl predicate validate: every shipped definition is ok" \
  "$rc $(grep -c '^ok' <<<"$out")" "0 $(ls "$PRED_DIR"/*.json | wc -l)"
jq '.rule.order = ["x"]' "$PRED_DIR/education.at_least.json" >"$TMP/education.at_least.json"
out=$("$GWCTL" predicate validate "$TMP/education.at_least.json" 2>&1) && rc=0 || rc=$?
check "gwctl predicate validate: a bad definition is FILE: FIELD: PROBLEM" \
  "$rc $out" "1 $TMP/education.at_least.json: args[0]: is not in rule.order"

# ---- SIGHUP: definitions reload with the rest; a bad file changes nothing ------
GPID=$(jq -r .gateway.pid "$S")
months='[{"id":"social_insurance.shenzhen_months_at_least","arg":24}]'
pask graduate-doctor talent.graduate "$months"
check "before the reload: arg 24 is not in the list" "$STATUS" 400
jq '.version = 2 | .args = [1,3,6,12,24]' "$GW_SOURCE_DIR/schemas/predicates/social_insurance.shenzhen_months_at_least.json" \
  >"$PRED_DIR/social_insurance.shenzhen_months_at_least.json"
kill -HUP "$GPID"
for _ in $(seq 50); do
  pask graduate-doctor talent.graduate "$months"
  [[ "$STATUS" == 200 ]] && break
  sleep 0.1
done
check "after SIGHUP: the new arg is answered (30 months >= 24)" "$STATUS $(p 'social_insurance.shenzhen_months_at_least(24)')" "200 true"
before=$(grep -c '"reload_refused"' "$GLOG" || true)
echo '{"id": "broken.one"}' >"$PRED_DIR/broken.one.json"
kill -HUP "$GPID"
for _ in $(seq 50); do
  [[ $(grep -c '"reload_refused"' "$GLOG" || true) -gt $before ]] && break
  sleep 0.1
done
check "a broken definition refuses the reload, naming file and field" \
  "$(grep '"reload_refused"' "$GLOG" | tail -n 1 | jq -r .msg)" \
  "predicates_dir: $PRED_DIR/broken.one.json: version: must be an integer from 1"
pask graduate-doctor talent.graduate "$months"
check "the running set keeps serving" "$STATUS $(p 'social_insurance.shenzhen_months_at_least(24)')" "200 true"
