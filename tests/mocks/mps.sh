#!/usr/bin/env bash
# mocks.mps: the population registry over mutual TLS, checked with curl.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
stack_up "$TMP/stack"
MPS=$(url mps)/v1/identity/verify

verify() { mps -H 'Content-Type: application/json' -d "$1" "$MPS"; }

# Happy path: every field as curated, server verified against the agency CA.
p=$(person graduate-master)
id=$(jq -r .id <<<"$p")
verify "{\"id_number\":\"$id\",\"name\":\"$(jq -r .name <<<"$p")\"}"
check "happy path: status" "$STATUS" 200
check "happy path: content type" "$(header Content-Type)" "application/json; charset=utf-8"
check "happy path: server header" "$(header Server)" "nginx"
expected=$(jq -c '{id_number: .id, match: true, result: "consistent", name, gender: "female",
                   birth_date: .mps.birth_date, hukou: .mps.hukou}' <<<"$p")
check "happy path: body" "$(jq -c 'del(.trace_id)' <<<"$BODY")" "$expected"
check "happy path: trace id" "$(jq -r '.trace_id | test("^mps-[0-9a-f]{16}$")' <<<"$BODY")" true

verify "{\"id_number\":\"$(subject shenzhen-hukou)\",\"name\":\"$(subject shenzhen-hukou name)\"}"
check "shenzhen hukou" "$(jq -c '[.match, .hukou.city, .hukou.is_shenzhen]' <<<"$BODY")" '[true,"深圳市",true]'

# A lowercase x is the same number.
xid=$(subject graduate-master-id-x)
verify "{\"id_number\":\"${xid,,}\",\"name\":\"$(subject graduate-master-id-x name)\"}"
check "lowercase x: normalized" "$(jq -c '[.match, .id_number]' <<<"$BODY")" "[true,\"$xid\"]"

# The name the stack lists for name-mismatch is not the registered one.
verify "{\"id_number\":\"$(subject name-mismatch)\",\"name\":\"$(subject name-mismatch name)\"}"
check "name mismatch: status" "$STATUS" 200
check "name mismatch: no personal data" "$(jq -c 'del(.trace_id)' <<<"$BODY")" \
  "{\"id_number\":\"$(subject name-mismatch)\",\"match\":false,\"result\":\"inconsistent\"}"

verify "{\"id_number\":\"$(subject no-record)\",\"name\":\"$(subject no-record name)\"}"
check "no record: status" "$STATUS" 404
check "no record: error" "$(jq -c .error <<<"$BODY")" \
  '{"code":"PERSON_NOT_FOUND","message":"no population record for this identity number"}'

bad_check=${id:0:17}$([[ ${id:17:1} == 0 ]] && echo 1 || echo 0)
verify "{\"id_number\":\"$bad_check\",\"name\":\"x\"}"
check "invalid check character: status" "$STATUS" 400
check "invalid check character: error" "$(jq -c .error <<<"$BODY")" \
  '{"code":"INVALID_ID_NUMBER","message":"id_number is not a valid resident identity number: check character does not match"}'
verify '{"id_number":"12345","name":"x"}'
check "too short: error code" "$STATUS $(jq -r .error.code <<<"$BODY")" "400 INVALID_ID_NUMBER"
verify "{\"id_number\":\"$id\"}"
check "missing name" "$STATUS $(jq -r .error.code <<<"$BODY")" "400 INVALID_REQUEST"
verify 'not json'
check "not JSON" "$STATUS $(jq -r .error.code <<<"$BODY")" "400 INVALID_REQUEST"
mps -H 'Content-Type: text/plain' -d "{\"id_number\":\"$id\",\"name\":\"x\"}" "$MPS"
check "wrong content type" "$STATUS $(jq -r .error.code <<<"$BODY")" "415 UNSUPPORTED_MEDIA_TYPE"
mps "$MPS"
check "GET: 405" "$STATUS $(jq -r .error.code <<<"$BODY") $(header Allow)" "405 METHOD_NOT_ALLOWED POST"
mps -H 'Content-Type: application/json' -d '{}' "$(url mps)/v1/nothing"
check "unknown path" "$STATUS $(jq -r .error.code <<<"$BODY")" "404 NOT_FOUND"

# A synthetic person is stable and answers to its own name.
read -r sid sname < <("$GW_BUILD_DIR/mocks/mock-agencies" --sample 1 --seed 42 | jq -r '"\(.id) \(.name)"')
verify "{\"id_number\":\"$sid\",\"name\":\"$sname\"}"
first=$(jq -c 'del(.trace_id)' <<<"$BODY")
verify "{\"id_number\":\"$sid\",\"name\":\"$sname\"}"
check "synthetic: match" "$(jq -r .match <<<"$BODY")" true
check "synthetic: same answer twice" "$(jq -c 'del(.trace_id)' <<<"$BODY")" "$first"

# Mutual TLS: no certificate, or one from another CA, gets no answer at all.
control POST /reset
req --cacert "$CA" -H 'Content-Type: application/json' -d "{\"id_number\":\"$id\",\"name\":\"x\"}" "$MPS"
check "no client certificate: no HTTP answer" "$STATUS" 000
check_true "no client certificate: curl failed (rc $RC)" test "$RC" -ne 0
req --cacert "$CA" --cert "$PKI/negative/unknown-client.pem" --key "$PKI/negative/unknown-client.key" \
    -H 'Content-Type: application/json' -d "{\"id_number\":\"$id\",\"name\":\"x\"}" "$MPS"
check "client certificate from an unknown CA: no HTTP answer" "$STATUS" 000
req --cacert "$CA" --cert "$(jq -r .pki.clients.engine.cert "$S")" --key "$(jq -r .pki.clients.engine.key "$S")" \
    -H 'Content-Type: application/json' -d "{\"id_number\":\"$id\",\"name\":\"x\"}" "$MPS"
check "gateway-client CA certificate: no HTTP answer" "$STATUS" 000
check "refusals counted as TLS failures, not requests" "$(stat mps tls_failures) $(stat mps requests)" "3 0"

# The other JSON agencies do not ask for a client certificate.
agency -o /dev/null "$(url talent)/v1/persons"
check "talent needs no client certificate" "$STATUS" 401
