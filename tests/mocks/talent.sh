#!/usr/bin/env bash
# mocks.talent: paged talent/postdoc records behind an API key.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
stack_up "$TMP/stack"
T=$(url talent)/v1/persons
KEY=$(cat "$(jq -r .pki.secrets.talent_api_key "$S")")

persons() { agency -H "X-Api-Key: $KEY" "$T?$1"; }

# ---- API key
id=$(subject highlevel-b)
agency "$T?id_number=$id"
check "no key: 401" "$STATUS $(jq -c '[.code, .data]' <<<"$BODY")" '401 ["E0401",null]'
agency -H "X-Api-Key: ${KEY}x" "$T?id_number=$id"
check "wrong key: 403" "$STATUS $(jq -r .code <<<"$BODY")" "403 E0403"

# ---- paging: level B has three recognitions, one per page at page_size=1
levels="" statuses=""
for page in 1 2 3; do
  persons "id_number=$id&page=$page&page_size=1"
  check "highlevel-b page $page: envelope" "$STATUS $(jq -c '[.code, .message, .data.page, .data.page_size, .data.total, .data.total_pages, (.data.records | length)]' <<<"$BODY")" \
    "200 [\"0\",\"success\",$page,1,3,3,1]"
  levels+="$(jq -r '.data.records[0].level' <<<"$BODY") "
  statuses+="$(jq -r '.data.records[0].status' <<<"$BODY") "
done
check "highlevel-b: levels newest first" "$levels" "B C reserve "
check "highlevel-b: statuses" "$statuses" "current superseded expired "
persons "id_number=$id&page=4&page_size=1"
check "highlevel-b: past the last page is empty" "$STATUS $(jq -c '[.data.total, .data.records]' <<<"$BODY")" "200 [3,[]]"
persons "id_number=$id"
check "highlevel-b: default page size holds all" "$(jq -c '[.data.page_size, .data.total_pages, (.data.records | length)]' <<<"$BODY")" "[10,1,3]"
first=$BODY
persons "id_number=$id"
check "same records on every call" "$BODY" "$first"

persons "id_number=$(subject highlevel-a)&page_size=2"
check "highlevel-a: page 1 of 2" "$(jq -c '[.data.total, .data.total_pages, [.data.records[].level]]' <<<"$BODY")" '[3,2,["A","B"]]'
persons "id_number=$(subject highlevel-a)&page_size=2&page=2"
check "highlevel-a: page 2 of 2" "$(jq -c '[.data.records[] | [.level, .status]]' <<<"$BODY")" '[["C","superseded"]]'

# ---- postdocs: recognition plus the station record, over two pages
p=$(person postdoc-in-station)
persons "id_number=$(jq -r .id <<<"$p")&page_size=1&page=2"
check "postdoc in station: total" "$(jq -r .data.total <<<"$BODY")" 2
check "postdoc in station: record" "$(jq -c '.data.records[0]' <<<"$BODY")" \
  "$(jq -c '{record_type: "postdoc", status: "in_station", station: .talent.postdoc.station, in_station: true,
            entered_on: .talent.postdoc.entered_on, left_on: null}' <<<"$p")"
p=$(person postdoc-left-station)
persons "id_number=$(jq -r .id <<<"$p")&page_size=2&page=2"
check "postdoc left: record" "$(jq -c '.data.records[0] | [.status, .in_station, .left_on]' <<<"$BODY")" \
  "$(jq -c '["left", false, .talent.postdoc.left_on]' <<<"$p")"

# ---- nobody, and nothing
persons "id_number=$(subject no-record)"
check "no record: empty result" "$STATUS $(jq -c '[.data.total, .data.records]' <<<"$BODY")" "200 [0,[]]"
persons "id_number=$(subject graduate-bachelor)"
check "no talent records: empty result" "$STATUS $(jq -r .data.total <<<"$BODY")" "200 0"

# ---- the registry's own errors
persons "id_number=${id:0:16}"
check "invalid number: 400 E1001" "$STATUS $(jq -c '[.code, .data]' <<<"$BODY")" '400 ["E1001",null]'
persons "page=1"
check "missing id_number: 400 E1000" "$STATUS $(jq -r .code <<<"$BODY")" "400 E1000"
persons "id_number=$id&page=0"
check "page 0: 400 E1002" "$STATUS $(jq -r .code <<<"$BODY")" "400 E1002"
persons "id_number=$id&page_size=51"
check "page_size 51: 400 E1002" "$STATUS $(jq -r .code <<<"$BODY")" "400 E1002"
persons "id_number=$id&page_size=abc"
check "page_size abc: 400 E1002" "$STATUS $(jq -r .code <<<"$BODY")" "400 E1002"
agency -H "X-Api-Key: $KEY" -d x "$T?id_number=$id"
check "POST: 405" "$STATUS $(jq -r .code <<<"$BODY") $(header Allow)" "405 E0405 GET"
agency -H "X-Api-Key: $KEY" "$(url talent)/v2/persons"
check "unknown path: 404" "$STATUS $(jq -r .code <<<"$BODY")" "404 E0404"
