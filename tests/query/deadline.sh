#!/usr/bin/env bash
# query.deadline - a hung agency costs a query its deadline, not more.
#
# credit never answers (fault mode hang); a query for identity.match,
# education.degrees and credit.status with deadline_ms 1000 must be answered
# within the deadline plus a margin (measured around the request: a bound,
# not a sleep), with every other fact ok and credit.status unavailable with
# code timeout, complete false.  Then the same with the gateway's default
# deadline, set for this stack with --set query.deadline_default_ms.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

MARGIN_MS=1500
stack_up "$TMP/stack" --set query.deadline_default_ms=1500

set_fault credit '{"mode": "hang"}'

# timed_ask SCENARIO EXTRA_JSON: sets ELAPSED_MS around the request.
timed_ask() {
  local t0 t1
  t0=$(now_ms)
  ask "$1" talent.graduate identity.match,education.degrees,credit.status "$2"
  t1=$(now_ms)
  ELAPSED_MS=$((t1 - t0))
}

hung_case() {
  local sc=$1 extra=$2 deadline=$3 label=$4
  timed_ask "$sc" "$extra"
  check "$label: HTTP 200" "$STATUS" 200
  echo "#   $label: answered after ${ELAPSED_MS} ms (deadline $deadline ms)"
  check "$label: answered within deadline + ${MARGIN_MS} ms" \
    "$((ELAPSED_MS < deadline + MARGIN_MS))" 1
  check "$label: and not before the deadline (credit really hung)" \
    "$((ELAPSED_MS >= deadline))" 1
  check "$label: the other facts ok" \
    "$(jq -c '[.facts["identity.match", "education.degrees"].status]' <<<"$BODY")" '["ok","ok"]'
  check "$label: credit.status unavailable, timeout, from credit" \
    "$(f credit.status '| [.status, .error.code, .error.agency, has("value"), has("attestation")]')" \
    '["unavailable","timeout","credit",false,false]'
  check "$label: complete false" "$(jq .complete <<<"$BODY")" false
  check "$label: identity.match value still right" "$(f identity.match .value)" true
}

hung_case graduate-master '{"deadline_ms": 1000}' 1000 "deadline_ms 1000"
hung_case graduate-doctor '' 1500 "default deadline 1500"
