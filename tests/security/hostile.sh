#!/usr/bin/env bash
# security.hostile: every hostile mode of every mock agency that supports it,
# through the gateway.  For each case:
#   - the attacked fact's status, error code and the reason in its detail;
#   - the attack's payload never reaches the answer (forged degrees, file
#     contents), and the answer comes within the query deadline;
#   - right after, a query for a fact of another agency is answered ok (the
#     gateway keeps serving).
# Across the run: huge_body (the mock announces and streams 64 MiB) leaves the
# gateway's RSS bounded, and nothing of /etc/passwd appears in any answer, in
# the gateway log or in the audit log.
#
# Every case asks about a person never asked about before (synthetic
# subjects from `mock-agencies --sample`): max_age_s 0 alone would not do, as
# stale-if-error serves the last good answer when a fetch fails.  The adapters'
# circuit breakers are raised out of the way (failure_threshold 1000) so every
# case shows its own error code rather than circuit_open; the breaker has its
# own tests (tests/unit/test_policy.c).  One worker, so the si OAuth token
# warmed up before the attacks is the one the attacks use and each si attack
# hits the data endpoint, not the token endpoint.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

stack_up "$TMP/stack" --set workers=1
for f in "$SDIR"/adapters/*.json; do
  jq '.policy.breaker = ((.policy.breaker // {}) + {failure_threshold: 1000})' "$f" >"$f.tmp"
  mv -f -- "$f.tmp" "$f"
done
gw_restart .

declare -A FACT=([chsi]=education.degrees [credit]=credit.status [cscse]=overseas.certifications
                 [mps]=identity.match [qual]=qualification.certificates
                 [si]=social_insurance.shenzhen_months)
declare -A PURPOSE=([chsi]=talent.inservice [credit]=talent.inservice [cscse]=talent.overseas
                    [mps]=talent.inservice [qual]=talent.inservice [si]=talent.inservice)
# The fact asked right after an attack, from another agency, whose answer is
# "ok" for anybody who exists (mps: match true or false; credit: good when
# nothing is on file).
declare -A OTHER=([chsi]=mps [credit]=mps [cscse]=mps [mps]=credit [qual]=mps [si]=mps)
# Fresh, valid, never-asked subjects: one per query.
mapfile -t PEOPLE < <("$GW_BUILD_DIR/mocks/mock-agencies" --sample 400 --seed 11 \
                        --data "$GW_SOURCE_DIR/mocks/data/population.json")
NEXT=0
# si answers 404 for a person it does not insure, and a cut-off 404 is an
# agency fault, not a malformed answer: si cases take curated insured people.
mapfile -t INSURED < <(jq -c '.people[] | select(.si != null and .exists != false)
                              | {id, name: (.listed_name // .name)}' \
                        "$GW_SOURCE_DIR/mocks/data/population.json")
NEXT_SI=0

# Expected "status code" and a regex on the detail, per mode; per agency
# where the codec words it differently.
declare -A EXPECT=(
  [xxe]="unavailable bad_response|doctype_forbidden"
  [billion_laughs]="unavailable bad_response|doctype_forbidden"
  [malformed]="unavailable bad_response|malformed"
  [mps.malformed]="unavailable bad_response|not well-formed JSON"
  [si.malformed]="unavailable bad_response|not well-formed JSON"
  [cscse.malformed]="unavailable bad_response|signed payload is not JSON"
  [truncated]="unavailable transport|curl 18"
  [chsi.bad_signature]="unavailable bad_signature|^invalid: digest or signature value does not verify"
  [cscse.bad_signature]="unavailable bad_signature|signature does not verify"
  [chsi.wrong_signer]="unavailable bad_signature|^wrong_signer: "
  [cscse.wrong_signer]="unavailable bad_signature|signature does not verify"
  [chsi.signature_wrapping]="unavailable bad_signature|^wrong_node: "
  [fault]="unavailable agency_fault|fault"
  [http_500]="unavailable agency_fault|HTTP 500"
  [reset]="unavailable transport|reset"
  [huge_body]="unavailable bad_response|^too_large: "
  [slow_body]="unavailable timeout|deadline"
  [hang]="unavailable timeout|deadline"
  [latency]="unavailable timeout|deadline"
)
# Which agency supports which mode (docs/mocks.md, docs/mocks-xml.md).
ALL="malformed truncated fault http_500 reset huge_body slow_body hang latency"
declare -A MODES=(
  [chsi]="xxe billion_laughs bad_signature wrong_signer signature_wrapping $ALL"
  [credit]="xxe billion_laughs $ALL"
  [qual]="xxe billion_laughs $ALL"
  [cscse]="bad_signature wrong_signer $ALL"
  [mps]="$ALL"
  [si]="$ALL"
)
DEADLINE_MS=2000
SLACK_MS=1000
ANSWERS=$TMP/answers.jsonl          # every answer
ATTACKED=$TMP/attacked.jsonl        # the answers to attacked queries
: >"$ANSWERS"; : >"$ATTACKED"
PASSWD_LINE=$(head -n 1 /etc/passwd)    # "root:x:0:0:root:/root:/bin/bash"

# ask AGENCY: query that agency's fact about a fresh person; sets STATUS,
# BODY, ELAPSED_MS, F (the fact).
ask() {
  local a=$1 t0 p
  if [[ $a == si ]]; then p=${INSURED[NEXT_SI]}; NEXT_SI=$((NEXT_SI + 1))
  else p=${PEOPLE[NEXT]}; NEXT=$((NEXT + 1)); fi
  t0=$(ms_now)
  query engine "$(qbody_for "$(jq -r .id <<<"$p")" "$(jq -r .name <<<"$p")" \
                  "${PURPOSE[$a]}" "${FACT[$a]}")"
  ELAPSED_MS=$(($(ms_now) - t0))
  F=$(jq -c --arg f "${FACT[$a]}" '.facts[$f]' <<<"$BODY" 2>/dev/null || echo null)
  printf '%s\n' "$BODY" >>"$ANSWERS"
}

# Before the attacks: every agency answers (this also warms the si token).
for a in chsi credit cscse mps qual si; do
  ask "$a"
  check_match "$a: normal answer before any attack" "$STATUS $(jq -r .status <<<"$F")" "^200 (ok|not_found)$"
done

RSS_START=$(rss_kib "$GW_PID")
RSS_MAX=$RSS_START
for a in chsi credit cscse mps qual si; do
  for m in ${MODES[$a]}; do
    want=${EXPECT[$a.$m]:-${EXPECT[$m]}}
    case $m in
      latency) set_fault "$a" '{"mode":"latency","latency_ms":5000}' ;;
      *) set_fault "$a" "{\"mode\":\"$m\"}" ;;
    esac
    ask "$a"
    printf '%s\n' "$BODY" >>"$ATTACKED"
    got="$(jq -r '[.status, .error.code] | join(" ")' <<<"$F")"
    detail=$(jq -r '.error.detail // ""' <<<"$F")
    if [[ "$STATUS" == 200 && "$got" == "${want%%|*}" && "$detail" =~ ${want#*|} ]]; then
      ok "$a $m: $got ($detail)"
    else
      bad "$a $m: expected [200 ${want%%|*} /${want#*|}/]" "got [$STATUS $got ($detail)] $(head -c 300 <<<"$BODY")"
    fi
    check_le "$a $m: answered within the deadline (${ELAPSED_MS} ms)" "$ELAPSED_MS" $((DEADLINE_MS + SLACK_MS))
    check "$a $m: no value served" "$(jq -c '.value // null' <<<"$F")" null
    if [[ $m == huge_body ]]; then
      rss=$(rss_kib "$GW_PID")
      ((rss > RSS_MAX)) && RSS_MAX=$rss
    fi
    clear_fault "$a"
    # The gateway keeps serving: another agency's fact, right away.
    ask "${OTHER[$a]}"
    check "$a $m: then ${FACT[${OTHER[$a]}]} is ok" "$STATUS $(jq -r .status <<<"$F")" "200 ok"
  done
done

# Forged content never served: signature_wrapping forges a 中国科学院大学
# doctorate, bad_signature a 临床医学 major (chsi) or an Oxford doctorate (cscse).
for forged in 中国科学院大学 核科学与技术 临床医学 "University of Oxford"; do
  check "forged \"$forged\" in no answer to an attacked query" "$(grep -c -F "$forged" "$ATTACKED" || true)" 0
done

grown=$(((RSS_MAX - RSS_START) / 1024))
if [ "${GW_SANITIZED:-0}" = 1 ]; then
  # ASan keeps freed memory in quarantine, so RSS says nothing here; the
  # bound is asserted in the plain build
  echo "info - huge_body x6 (64 MiB each): RSS grew ${grown} MiB under ASan (not asserted)"
else
  check_le "huge_body x6 (64 MiB each): RSS grew ${grown} MiB (< 32)" "$grown" 31
fi
note "gateway RSS ${RSS_START} KiB before huge_body, at most ${RSS_MAX} KiB after"

check "/etc/passwd in no answer" "$(grep -c -F "$PASSWD_LINE" "$ANSWERS" || true)" 0
check "/etc/passwd not in the gateway log" "$(grep -c -F "$PASSWD_LINE" "$GW_LOG" || true)" 0
check "/etc/passwd not in the audit log" \
  "$(grep -r -a -c -F "$PASSWD_LINE" "$SDIR/audit" | awk -F: '{s += $NF} END {print s + 0}')" 0
check "gatewayd still running" "$(kill -0 "$GW_PID" && echo yes)" yes
