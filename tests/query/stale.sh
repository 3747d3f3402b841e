#!/usr/bin/env bash
# query.stale - stale-if-error: when the agency fails, a fact fetched before
# is still served, marked stale, with its original attestation; a subject
# with nothing cached gets unavailable.
#
# max_age_s 0 forces a fetch; one mock agency is made to fail with http_500,
# another with connection resets (two agencies, so that neither reaches its
# circuit breaker's threshold and the error codes stay the agency's own).
# Once the agencies are back, max_age_s 0 brings fresh answers with new
# attestations and no stale mark.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

stack_up "$TMP/stack"

# stale_case AGENCY FACT MODE ERROR_CODE
stale_case() {
  local agency=$1 fact=$2 mode=$3 code=$4 retries before asked att1 val1
  retries=$(jq -r .policy.retries "$GW_SOURCE_DIR/adapters/$agency.json")
  ask graduate-master talent.graduate "$fact"
  check "$mode: first answer ok, fresh" "$(f "$fact" '| [.status, .cached, has("stale")]')" '["ok",false,false]'
  att1=$(f "$fact" .attestation)
  val1=$(f "$fact" .value)

  set_fault "$agency" "{\"mode\": \"$mode\", \"rate\": 1.0}"
  before=$(mock_requests "$agency")
  ask graduate-master talent.graduate "$fact" '{"max_age_s": 0}'
  check "$mode: HTTP 200" "$STATUS" 200
  asked=$(($(mock_requests "$agency") - before))
  if [[ $mode == reset ]]; then
    # libcurl itself retries once on a fresh connection when a reused
    # keep-alive connection dies before any answer: up to twice per attempt.
    check "$mode: $agency was asked (1 + $retries retries, each maybe twice)" \
      "$((asked >= 1 + retries && asked <= 2 * (1 + retries)))" 1
  else
    check "$mode: $agency was asked (1 + $retries retries)" "$asked" "$((1 + retries))"
  fi
  check "$mode: $fact served anyway, marked stale" \
    "$(f "$fact" '| [.status, .stale, (.age_s >= 0), .source]')" "[\"ok\",true,true,\"$agency\"]"
  check "$mode: the first answer's value and attestation, unchanged" \
    "$(f "$fact" '| [.value, .attestation]')" "[$val1,$att1]"
  check "$mode: a stale fact still counts as answered" "$(jq .complete <<<"$BODY")" true

  ask graduate-doctor talent.graduate "$fact" '{"max_age_s": 0}'
  check "$mode: a subject with nothing cached: unavailable, $code" \
    "$(f "$fact" '| [.status, .error.code, .error.agency, has("attestation"), has("value")]')" \
    "[\"unavailable\",\"$code\",\"$agency\",false,false]"
  check "$mode: complete false" "$(jq .complete <<<"$BODY")" false

  clear_fault "$agency"
  ask graduate-master talent.graduate "$fact" '{"max_age_s": 0}'
  check "$mode: $agency back, max_age_s 0: fresh, not stale, same value" \
    "$(f "$fact" '| [.status, .cached, has("stale"), .value == '"$val1"']')" '["ok",false,false,true]'
  check "$mode: $agency back: a new attestation" \
    "$([[ $(f "$fact" .attestation) != "$att1" ]] && echo new)" new
  ask graduate-doctor talent.graduate "$fact"
  check "$mode: the subject that failed is served once $agency is back" "$(f "$fact" .status)" '"ok"'
}

stale_case chsi education.degrees http_500 agency_fault
stale_case credit credit.status reset transport
