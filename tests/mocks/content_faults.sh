#!/usr/bin/env bash
# mocks.content_faults: "fault" and "malformed" in each JSON agency's own format.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
stack_up "$TMP/stack"
id=$(subject graduate-master)
KEY=$(cat "$(jq -r .pki.secrets.talent_api_key "$S")")
CID=$(cat "$(jq -r .pki.secrets.si_client_id "$S")")
SECRET=$(cat "$(jq -r .pki.secrets.si_client_secret "$S")")

call_mps()    { mps -H 'Content-Type: application/json' -d "{\"id_number\":\"$id\",\"name\":\"$(subject graduate-master name)\"}" "$(url mps)/v1/identity/verify"; }
call_talent() { agency -H "X-Api-Key: $KEY" "$(url talent)/v1/persons?id_number=$id"; }
call_token()  { agency -u "$CID:$SECRET" -d grant_type=client_credentials "$(url si)/oauth/token"; }
call_token
TOKEN=$(jq -r .access_token <<<"$BODY")
call_si()     { agency -H "Authorization: Bearer $TOKEN" "$(url si)/v1/insured/$id"; }

# is_json: the last body parses as JSON
is_json() { jq -e . >/dev/null 2>&1 <<<"$BODY"; }

for a in mps si talent; do
  "call_$a"
  check "$a: normal answer is JSON" "$STATUS $(is_json && echo json)" "200 json"
  normal=$(sed 's/"trace_id":"[^"]*"//' <<<"$BODY")   # the one field that differs per call

  set_fault "$a" '{"mode":"malformed"}'
  "call_$a"
  check "$a malformed: status 200, JSON content type" "$STATUS $(header Content-Type)" "200 application/json; charset=utf-8"
  check "$a malformed: not well-formed" "$(is_json && echo json || echo broken)" broken
  check "$a malformed: Content-Length matches the bytes" "$(header Content-Length)" "$(printf '%s' "$BODY" | wc -c)"
  cut=$(sed 's/"trace_id":"[^"]*"//' <<<"$BODY")
  check "$a malformed: the real document, cut off" "$cut" "${normal:0:${#normal}-1},\""
  clear_fault "$a"
done

set_fault mps '{"mode":"fault"}'
call_mps
check "mps fault: 503 with its own error" "$STATUS $(jq -r .error.code <<<"$BODY")" "503 SERVICE_UNAVAILABLE"
clear_fault mps

set_fault si '{"mode":"fault"}'
call_si
check "si fault: HTTP 200 carrying errcode -1" "$STATUS $(jq -c '[.errcode, .errmsg]' <<<"$BODY")" '200 [-1,"系统繁忙，请稍后再试"]'
call_token
check "si fault on the token endpoint: temporarily_unavailable" "$STATUS $(jq -r .error <<<"$BODY")" "503 temporarily_unavailable"
clear_fault si

set_fault talent '{"mode":"fault"}'
call_talent
check "talent fault: 500 with its own envelope" "$STATUS $(jq -c '[.code, .data]' <<<"$BODY")" '500 ["E5000",null]'
clear_fault talent

call_talent
check "after clearing: normal again" "$STATUS $(jq -r .code <<<"$BODY")" "200 0"
check "every content fault was counted" "$(stat mps faults) $(stat si faults) $(stat talent faults)" "2 3 2"
