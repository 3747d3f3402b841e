#!/usr/bin/env bash
# query.gwctl - `gwctl query` as a person uses it: the table has a row for
# every fact asked, with its status, source and a signature checked against
# /v1/keys ("verified"), the query id, complete and audit index; a second
# run shows the facts cached; --json prints the answer as received; a
# refused query exits 1 with the problem's type; a usage error exits 2.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

stack_up "$TMP/stack"
FACTS=$(allowed talent.graduate)
NFACTS=$(tr , '\n' <<<"$FACTS" | wc -l)
ID=$(subject graduate-master)
NAME=$(subject graduate-master name)

run() { RC=0; "$GWCTL" query "$@" >"$TMP/out" 2>"$TMP/err" || RC=$?; OUT=$(cat "$TMP/out"); }

run --stack "$S" --id "$ID" --name "$NAME" --facts "$FACTS" --purpose talent.graduate \
    --case-ref SZ-RC-2026-000123 --save "$TMP/resp.json"
check "table: exit 0" "$RC" 0
check "table: header row" "$(grep -c '^FACT *STATUS *VALUE *SOURCE *CACHED/AGE *SIGNATURE$' <<<"$OUT")" 1
for fact in $(tr , ' ' <<<"$FACTS"); do
  agency=$(jq -r --arg f "$fact" '.facts[$f].source' "$TMP/resp.json")
  check "table: $fact row: ok, $agency, fresh, verified" \
    "$(grep -E -c "^$fact +ok +.* $agency +fresh [0-9]+s +verified \(kid " <<<"$OUT")" 1
done
check "table: one verified signature per fact" "$(grep -c 'verified (kid' <<<"$OUT")" "$NFACTS"
check "table: no INVALID" "$(grep -c INVALID <<<"$OUT" || true)" 0
check "table: query id shown" "$(grep -c "^query *$(jq -r .query_id "$TMP/resp.json") " <<<"$OUT")" 1
check "table: complete shown" "$(grep -c '^complete *yes' <<<"$OUT")" 1
check "table: audit index shown" "$(grep -c "^audit *index $(jq -r .audit.index "$TMP/resp.json") " <<<"$OUT")" 1
check "table: the degree institution is in the VALUE column" "$(grep -c '华中科技大学\|武汉大学' <<<"$OUT")" 1
check "--save wrote the exact answer: gwctl verify accepts it" \
  "$(jwks_load && "$GWCTL" verify --jwks "$TMP/jwks.json" "$TMP/resp.json" >/dev/null && echo ok)" ok

run --stack "$SDIR" --id "$ID" --name "$NAME" --facts "$FACTS" --purpose talent.graduate --sign
check "again (stack dir): every fact cached and verified" \
  "$(grep -E -c ' cached [0-9]+s +verified \(kid ' <<<"$OUT")" "$NFACTS"
check "--sign: the response signature verified" "$(grep -c '^response signature  verified' <<<"$OUT")" 1

run --url "$GW" --cacert "$CA" --cert "$CERT" --key "$KEY" --id "$ID" --name "$NAME" \
    --facts identity.match,talent.level --purpose talent.graduate --json
check "--json (explicit url/certs): exit 0, the raw answer" \
  "$RC $(jq -c '[.facts["identity.match"].status, .facts["talent.level"].status, .complete]' <<<"$OUT")" \
  '0 ["ok","denied",false]'

run --stack "$S" --id "$(subject no-record)" --name "$(subject no-record name)" \
    --facts identity.match,education.degrees --purpose talent.graduate
check "no-record: exit 0, rows not_found with no signature" \
  "$RC $(grep -E -c '^(identity.match|education.degrees) +not_found .* -$' <<<"$OUT")" "0 2"

run --stack "$S" --id "${ID:0:17}0" --name "$NAME" --facts identity.match --purpose talent.graduate
[[ ${ID:17:1} == 0 ]] && run --stack "$S" --id "${ID:0:17}1" --name "$NAME" --facts identity.match --purpose talent.graduate
check "bad id: exit 1, problem type on stderr" \
  "$RC $(grep -c '/problems/invalid-request' "$TMP/err")" "1 1"
run --stack "$S" --client stranger --id "$ID" --name "$NAME" --facts identity.match --purpose talent.graduate
check "stranger: exit 1, forbidden" "$RC $(grep -c '/problems/forbidden' "$TMP/err")" "1 1"
run --stack "$S" --id "$ID" --facts identity.match --purpose talent.graduate
check "no --name: usage error, exit 2" "$RC" 2
run --stack "$S" --id "$ID" --name "$NAME" --facts identity.match --purpose talent.graduate --deadline soon
check "bad --deadline: exit 2" "$RC" 2
run --url "http://127.0.0.1:1" --cacert "$CA" --cert "$CERT" --key "$KEY" --id "$ID" --name "$NAME" \
    --facts identity.match --purpose talent.graduate
check "http:// refused: exit 2" "$RC" 2
