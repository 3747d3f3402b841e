#!/usr/bin/env bash
# security.valgrind: gatewayd under valgrind memcheck through a realistic
# session, where ASan cannot go (the packaged libraries are not
# instrumented; valgrind sees their allocations too).
#
# The stack comes up as usual; its gatewayd is stopped and started again with
# the same config under
#   valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99
# Then: a cold query touching all six agencies (mTLS, OAuth2, XML-DSig, JWS,
# GB18030), the same query again from cache, a query against a hostile agency
# (bad signature), one whose agency hangs past the deadline (its flight is
# still out when SIGTERM comes), refused requests (400, 403, 404, 413, 415)
# and a slow-loris cut off with 408.  SIGTERM; the assertions: exit status 0
# (not valgrind's 99), "ERROR SUMMARY: 0 errors", no definitely lost bytes.
# valgrind is slow: the whole test stays well under 3 minutes.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
command -v valgrind >/dev/null || { echo "missing valgrind (Debian: apt-get install valgrind)"; exit 1; }

stack_up "$TMP/stack" --set workers=2 --set limits.header_timeout_ms=2000
VG_LOG=$SDIR/valgrind.log
# Under valgrind every TLS handshake to an agency is many times slower: give
# the agency exchanges room, so that the run checks memory, not timing.
for f in "$SDIR"/adapters/*.json; do
  jq '.policy.connect_timeout_ms = 5000 | .policy.timeout_ms = 8000' "$f" >"$f.tmp"
  mv -f -- "$f.tmp" "$f"
done
gw_stop
GW_READY_POLLS=2400 gw_start valgrind --leak-check=full --errors-for-leak-kinds=definite \
  --error-exitcode=99 --num-callers=30 --log-file="$VG_LOG"
ok "gatewayd ready under valgrind"

# Under valgrind the first answer may take a while: allow the maximum deadline.
all=$(DEADLINE_MS=10000 qbody inservice-senior-title talent.inservice identity.match hukou.region \
        education.degrees credit.status qualification.certificates social_insurance.shenzhen_months)
query engine "$all"
check "cold query, six facts from five agencies: all ok" \
  "$STATUS $(jq -r '[.facts[].status] | unique | join(",")' <<<"$BODY")" "200 ok"
cached=$(jq '.max_age_s = 3600' <<<"$all")
query engine "$cached"
check "the same query again: served from cache" \
  "$STATUS $(jq -r '[.facts[].cached] | unique | join(",")' <<<"$BODY")" "200 true"
over=$(DEADLINE_MS=10000 qbody overseas-master talent.overseas overseas.certifications)
query engine "$over"
check "cscse (JWS): ok" "$STATUS $(jq -r '.facts[].status' <<<"$BODY")" "200 ok"

set_fault chsi '{"mode":"bad_signature"}'
query engine "$(DEADLINE_MS=10000 qbody graduate-doctor talent.graduate education.degrees)"
check "chsi bad_signature: refused" "$STATUS $(jq -r '.facts[].error.code' <<<"$BODY")" "200 bad_signature"
clear_fault chsi
set_fault credit '{"mode":"hang"}'
query engine "$(DEADLINE_MS=1500 qbody graduate-doctor talent.graduate credit.status)"
check "credit hangs: timeout at the deadline" "$STATUS $(jq -r '.facts[].error.code' <<<"$BODY")" "200 timeout"

query engine '{"subject": 1}'
check "invalid query: 400" "$STATUS" 400
query stranger "$over"
check "stranger: 403" "$STATUS" 403
CT=' text/plain' query engine "$over"
check "text/plain: 415" "$STATUS" 415
query engine "$(head -c 70000 /dev/zero | tr '\0' a)"
check "70 KB body: 413" "$STATUS" 413
# shellcheck disable=SC2046
req $(who engine) "$GW_URL/nope"
check "unknown path: 404" "$STATUS" 404
out=$(raw --max-s 20 slowloris --interval 0.2)
check "slow-loris: 408" "$(jq -r .response.status <<<"$out")" 408

# SIGTERM while the hung credit fetch is still out.
GW_STOP_POLLS=1200 gw_stop
check "gatewayd under valgrind: exit status 0 (99 = valgrind found errors or definite leaks)" "$GW_RC" 0
check "valgrind: ERROR SUMMARY: 0 errors" \
  "$(grep -o 'ERROR SUMMARY: [0-9]* errors' "$VG_LOG" | tail -n 1)" "ERROR SUMMARY: 0 errors"
lost=$(grep -o 'definitely lost: [0-9,]* bytes' "$VG_LOG" | tail -n 1)
if [[ -z "$lost" ]] && grep -q 'All heap blocks were freed' "$VG_LOG"; then lost="definitely lost: 0 bytes"; fi
check "valgrind: no definite leaks" "$lost" "definitely lost: 0 bytes"
note "$(grep -E 'in use at exit|definitely lost|indirectly lost|possibly lost|still reachable' "$VG_LOG" | sed 's/^==[0-9]*== *//' | paste -sd';' -)"
if ((FAILED)); then echo "---- $VG_LOG"; grep -v '^==[0-9]*== *$' "$VG_LOG" | head -n 150; fi
