#!/usr/bin/env bash
# query.happy - POST /v1/facts/query for curated people of every kind: each
# fact's status and value equal what mocks/data/population.json says (compared
# with jq, independently of the adapters' mappings), its source agency is the
# catalogue's, `complete` is true exactly when every fact is ok or not_found,
# a fact outside the purpose is denied without any agency call, the answer
# echoes purpose and case_ref, and the audit index grows with every query.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

stack_up "$TMP/stack"

declare -A AGENCY=(
  [identity.match]=mps [identity.birth_date]=mps [hukou.region]=mps
  [education.degrees]=chsi [overseas.certifications]=cscse
  [social_insurance.shenzhen_months]=si [social_insurance.employer]=si
  [credit.status]=credit [qualification.certificates]=qual
  [housing_fund.shenzhen_months]=fund [housing_fund.employer]=fund
  [tax.shenzhen_months]=tax [tax.employer]=tax
  [social_insurance.name_agrees]=si [housing_fund.name_agrees]=fund [tax.name_agrees]=tax
)
INDICES=()
LOG_IDS=()

# answer_matches SCENARIO PURPOSE: every allowed fact as the data file says.
answer_matches() {
  local sc=$1 purpose=$2 fact got want
  ask "$sc" "$purpose" "$(allowed "$purpose")" "{\"case_ref\": \"SZ-RC-2026-$sc\"}"
  check "$sc: HTTP status" "$STATUS" 200
  [[ "$STATUS" == 200 ]] || return 0
  INDICES+=("$(jq -r .audit.index <<<"$BODY")")
  LOG_IDS+=("$(jq -r .audit.log_id <<<"$BODY")")
  check "$sc: purpose and case_ref echoed" \
    "$(jq -r '[.purpose, .case_ref] | join(" ")' <<<"$BODY")" "$purpose SZ-RC-2026-$sc"
  check "$sc: exactly the facts asked" \
    "$(jq -r '.facts | keys | join(",")' <<<"$BODY")" "$(allowed "$purpose" | tr , '\n' | sort | paste -sd,)"
  for fact in $(allowed "$purpose" | tr , ' '); do
    [[ "$sc" == name-mismatch && "$fact" != identity.match && ${AGENCY[$fact]} == mps ]] && continue
    want=$(expected "$sc" "$fact")
    got=$(f "$fact" '| {status, value} | with_entries(select(.value != null))')
    check "$sc: $fact = population" "$got" "$want"
    if [[ $(jq -r .status <<<"$want") == ok ]]; then
      check "$sc: $fact source, fresh, attested" \
        "$(f "$fact" '| [.source, .cached, (.age_s <= 2), (.attestation | type), has("stale")]')" \
        "[\"${AGENCY[$fact]}\",false,true,\"string\",false]"
    else
      check "$sc: $fact not_found from its agency, no attestation" \
        "$(f "$fact" '| [.source, has("attestation"), has("value")]')" "[\"${AGENCY[$fact]}\",false,false]"
    fi
  done
  check "$sc: complete is true exactly when every fact is ok or not_found" \
    "$(jq '.complete == ([.facts[].status] | all(. == "ok" or . == "not_found"))' <<<"$BODY")" true
}

answer_matches graduate-master talent.graduate
check "graduate-master: complete" "$(jq .complete <<<"$BODY")" true
check "graduate-master: two degrees, the second a master's" \
  "$(f education.degrees '.value | [length, .[1].level]')" '[2,"master"]'
SUBREF=$(jq -r .subject_ref <<<"$BODY")
check "query_id and subject_ref have their shapes" \
  "$(jq -r '[(.query_id | test("^q_[0-9a-f]{24}$")), (.subject_ref | test("^[A-Za-z0-9_-]{43}$"))] | all' <<<"$BODY")" true
check "the subject_ref does not contain the id" "$(grep -c "$(subject graduate-master)" <<<"$SUBREF" || true)" 0

answer_matches graduate-doctor talent.graduate
answer_matches graduate-master-id-x talent.graduate
answer_matches overseas-master talent.overseas
check "overseas-master: certified overseas degree" \
  "$(f overseas.certifications '| [.status, (.value | length > 0)]')" '["ok",true]'
answer_matches overseas-uncertified talent.overseas
check "overseas-uncertified: no certification" "$(f overseas.certifications .status)" '"not_found"'
answer_matches inservice-senior-title talent.inservice
check "inservice-senior-title: qualification certificates served" \
  "$(f qualification.certificates .status)" '"ok"'
answer_matches inservice-no-insurance talent.inservice
check "inservice-no-insurance: no Shenzhen social insurance" \
  "$(f social_insurance.shenzhen_months .status)" '"not_found"'
answer_matches credit-dishonest talent.graduate
check "credit-dishonest: credit.status dishonest with its record" \
  "$(f credit.status '.value | [.status, (.records | length), .records[0].kind]')" \
  '["dishonest",1,"dishonest_judgment_debtor"]'
answer_matches shenzhen-hukou talent.graduate
check "shenzhen-hukou: is_shenzhen" "$(f hukou.region .value.is_shenzhen)" true

answer_matches no-record talent.graduate
check "no-record: every fact not_found" \
  "$(jq -c '[.facts[].status] | unique' <<<"$BODY")" '["not_found"]'
check "no-record: complete (not_found is an answer)" "$(jq .complete <<<"$BODY")" true

# name-mismatch: stack.json lists the wrong name; mps says they do not belong
# together and, by design, discloses no personal data.
answer_matches name-mismatch talent.graduate
check "name-mismatch: identity.match false, attested" \
  "$(f identity.match '| [.status, .value, (.attestation | type)]')" '["ok",false,"string"]'
check "name-mismatch: no birth date or hukou disclosed (not_found, no value)" \
  "$(jq -c '[.facts["identity.birth_date", "hukou.region"] | [.status, has("value")]]' <<<"$BODY")" \
  '[["not_found",false],["not_found",false]]'
check "name-mismatch: complete (a mismatch is an answer)" "$(jq .complete <<<"$BODY")" true
check "name-mismatch: credit and degrees still served" \
  "$(jq -c '[.facts["credit.status", "education.degrees"].status]' <<<"$BODY")" '["ok","ok"]'
ask name-mismatch talent.graduate identity.match,identity.birth_date \
  "{\"case_ref\": \"x\"}"
NM_REF=$(jq -r .subject_ref <<<"$BODY")
gw_post "$(query_body "$(subject name-mismatch)" "$(person name-mismatch | jq -r .name)" \
           talent.graduate identity.match,identity.birth_date)"
check "name-mismatch under the registered name: identity.match true, birth date served" \
  "$(jq -c '[.facts["identity.match"].value, .facts["identity.birth_date"].value]' <<<"$BODY")" \
  "[true,$(person name-mismatch | jq -c .mps.birth_date)]"
check "subject_ref depends on the number only" "$(jq -r .subject_ref <<<"$BODY")" "$NM_REF"

# Denied: facts outside the purpose, and no agency is asked for them.
before_cscse=$(mock_requests cscse)
before_qual=$(mock_requests qual)
ask graduate-doctor talent.graduate identity.match,overseas.certifications,qualification.certificates
check "denied: HTTP 200" "$STATUS" 200
INDICES+=("$(jq -r .audit.index <<<"$BODY")")
check "denied: statuses" \
  "$(jq -c '[.facts["identity.match", "overseas.certifications", "qualification.certificates"].status]' <<<"$BODY")" \
  '["ok","denied","denied"]'
check "denied: error code denied, no value, no attestation" \
  "$(f overseas.certifications '| [.error.code, has("value"), has("attestation")]')" '["denied",false,false]'
check "denied: complete false" "$(jq .complete <<<"$BODY")" false
check "denied: cscse and qual not asked" \
  "$(mock_requests cscse) $(mock_requests qual)" "$before_cscse $before_qual"

# Cache: the same query again is served from the cache, same attestation.
ask graduate-master talent.graduate identity.match,education.degrees
first_att=$(f education.degrees .attestation)
before=$(mock_requests chsi)
ask graduate-master talent.graduate identity.match,education.degrees
INDICES+=("$(jq -r .audit.index <<<"$BODY")")
check "again: cached, same attestation, chsi not asked" \
  "$(f education.degrees '| [.cached, .attestation]') $(mock_requests chsi)" \
  "[true,$first_att] $before"

# The audit log: one log, and every query appends (fetch records in between).
check "audit: one log id for every answer" "$(printf '%s\n' "${LOG_IDS[@]}" | sort -u | wc -l)" 1
inc=1
for ((i = 1; i < ${#INDICES[@]}; i++)); do
  ((INDICES[i] > INDICES[i - 1])) || inc=0
done
check "audit: the index increases with every query (${INDICES[*]})" "$inc" 1
check "audit: leaf_hash is base64 of 32 bytes" \
  "$(jq -r .audit.leaf_hash <<<"$BODY" | base64 -d | wc -c)" 32
