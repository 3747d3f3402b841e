#!/usr/bin/env bash
# spotcheck.sh - the post-approval spot check finds exactly what changed.
#
# Every curated person is queried for every fact of their talent path; then
# one person's degree institution is changed at the mock agency
# (PUT /people/{id}/override).  gwctl audit sample --fraction 1 --seed 1
# re-checks every query fresh from the agencies and must report exactly one
# difference: that person's education.degrees, with their record's index,
# the old institution and the new one.  With the override removed nothing
# differs (and the earlier re-checks are left out of the sample).  The same
# seed picks the same records.  Answers served from the cache, whose query
# records cite an attestation an earlier fetch record holds, are compared
# like the others: nothing is left "not comparable".
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

D=$TMP/stack
stack_up "$D"
declare -A INDEX
for sc in $(jq -r '.subjects[].scenario' "$S"); do
  query "$sc" "$TMP/ans.$sc.json"
  [[ $STATUS == 200 ]] || bad "query $sc answered" "HTTP $STATUS"
  INDEX[$sc]=$(jq .audit.index "$TMP/ans.$sc.json")
done
ok "queried ${#INDEX[@]} curated people"

WHO=graduate-master
ID=$(subject "$WHO")
OLD_INST=$(jq -r --arg s "$WHO" '.people[] | select(.scenario == $s) | .degrees[0].institution' \
             "$GW_SOURCE_DIR/mocks/data/population.json")
NEW_INST=深圳大学
[[ $OLD_INST != "$NEW_INST" ]] || NEW_INST=南方科技大学
DEGREES=$(jq -c --arg s "$WHO" --arg i "$NEW_INST" \
            '.people[] | select(.scenario == $s) | .degrees | .[0].institution = $i' \
            "$GW_SOURCE_DIR/mocks/data/population.json")
out=$(curl -sS -X PUT -d "{\"degrees\": $DEGREES}" "$CTL/people/$ID/override")
check "mock: override accepted" "$(jq -r '.override.degrees[0].institution' <<<"$out")" "$NEW_INST"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT -d '{"credit": {"status": "bad"}}' "$CTL/people/$ID/override")
check "mock: an invalid override is refused (400)" "$code" 400
code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT -d '{"colour": 1}' "$CTL/people/$ID/override")
check "mock: an unknown field is refused (400)" "$code" 400

out=$("$GWCTL" audit sample --stack "$S" --fraction 1 --seed 1 2>&1) && rc=0 || rc=$?
check "gwctl audit sample exits 1 (a difference)" "$rc" 1
check "exactly one difference" "$(grep -c '^differences: ' <<<"$out") $(sed -n 's/^differences: //p' <<<"$out")" "1 1"
line=$(sed -n '/^differences:/,/^summary:/p' <<<"$out" | grep '^  record ' || true)
QID=$(jq -r .query_id "$TMP/ans.$WHO.json")
check "it is record ${INDEX[$WHO]}'s education.degrees" \
  "$(grep -c "^  record ${INDEX[$WHO]} (query $QID) education.degrees: " <<<"$line")" 1
check "old value shows the old institution, new the new" \
  "$(grep -c "$OLD_INST.* -> .*$NEW_INST" <<<"$line")" 1
check "every curated query was re-checked" \
  "$(grep -c "^summary: ${#INDEX[@]} records re-checked" <<<"$out")" 1
check "no problems" "$(grep -c '; 0 problems$' <<<"$out")" 1
[[ $rc == 1 ]] || echo "$out" | tail -n 20 | sed 's/^/       /'

# The override gone, the same check finds nothing; earlier re-checks are
# not sampled themselves.
code=$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE "$CTL/people/$ID/override")
check "mock: override removed" "$code" 200
out=$("$GWCTL" audit sample --stack "$S" --fraction 1 --seed 1 2>&1) && rc=0 || rc=$?
check "without the override: exit 0, no difference" "$rc $(sed -n 's/^differences: //p' <<<"$out")" "0 0"
check "the first run's re-checks are left out" \
  "$(grep -c "${#INDEX[@]} earlier re-checks left out" <<<"$out")" 1

# Several people, set and cleared in any order; reset clears them all.
ID2=$(subject graduate-bachelor)
for i in 1 2 3; do
  curl -sS -X PUT -d '{"name": "某甲"}' "$CTL/people/$ID/override" >/dev/null
  curl -sS -X PUT -d '{"name": "某乙"}' "$CTL/people/$ID2/override" >/dev/null
  curl -sS -X DELETE "$CTL/people/$ID/override" >/dev/null
done
check "mock: overrides of two people set and cleared in turn" \
  "$(curl -sS "$CTL/people/$ID/override" | jq -c .override) $(curl -sS "$CTL/people/$ID2/override" | jq -c .override)" \
  'null {"name":"某乙"}'
curl -sS -X PUT -d '{"name": "某某"}' "$CTL/people/$ID/override" >/dev/null
curl -sS -X POST "$CTL/reset" >/dev/null
check "mock: POST /reset clears overrides" "$(curl -sS "$CTL/people/$ID/override" | jq -c .override)" null

# Deterministic: the same seed picks the same records, another seed others.
picks() { "$GWCTL" audit sample --stack "$S" --fraction 0.25 --seed "$1" 2>&1 | sed -n 's/^record \([0-9]*\):.*/\1/p' | tr '\n' ' '; }
a=$(picks 7); b=$(picks 7); c=$(picks 8)
check "fraction 0.25 picks ceil(0.25 x N) records" "$(wc -w <<<"$a")" "$(( (${#INDEX[@]} + 3) / 4 ))"
check "the same seed picks the same records" "$b" "$a"
check_true "another seed picks others" test "$c" != "$a"

# Everyone again, now from the cache: each query record cites attestations
# made by an earlier fetch (in logs of the older format it carries them).
# Every fact of every sampled record is compared, none is missing.
for sc in "${!INDEX[@]}"; do
  query "$sc" "$TMP/again.$sc.json"
  [[ $STATUS == 200 ]] || bad "query $sc answered again" "HTTP $STATUS"
done
cached=$(cat "$TMP"/again.*.json | jq -s '[.[].facts[] | select(.cached == true)] | length')
check_true "the second answers come from the cache ($cached facts)" test "$cached" -gt 0
out=$("$GWCTL" audit sample --stack "$S" --fraction 1 --seed 1 2>&1) && rc=0 || rc=$?
check "cached answers: exit 0, every fact compared, no problem" \
  "$rc $(grep -c "^summary: $((2 * ${#INDEX[@]})) records re-checked, .* 0 different, 0 not comparable; 0 problems$" <<<"$out")" "0 1"
[[ $rc == 0 ]] || echo "$out" | grep -v ' same' | tail -n 20 | sed 's/^/       /'
