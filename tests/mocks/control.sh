#!/usr/bin/env bash
# mocks.control: the control endpoint's contract, which mode applies where,
# bad requests, reset, and the launcher's up/down.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
stack_up "$TMP/stack"

# ---- stack.json
check "stack.json: nine agencies with https URLs and ports" \
  "$(jq -c '[.mocks.agencies | to_entries[] | .key as $k
             | "\($k):\(.value.url | test("^https://127\\.0\\.0\\.1:[0-9]+/" + $k + "$")):\(.value.port > 0)"]' "$S")" \
  '["chsi:true:true","mps:true:true","si:true:true","credit:true:true","cscse:true:true","qual:true:true","talent:true:true","fund:true:true","tax:true:true"]'
check "stack.json: pki files exist" \
  "$(jq -r '[.pki.gateway_ca, .pki.agency_ca, .pki.auditor_unseal_key, (.pki.clients[] | .cert, .key)] | .[]' "$S" | xargs ls >/dev/null 2>&1 && echo yes)" yes
check "stack.json: gateway section per the contract" \
  "$(jq -r '.gateway | [(.url | test("^https://127\\.0\\.0\\.1:[0-9]+$")), (.ops_url | test("^http://127\\.0\\.0\\.1:[0-9]+$")), (.pid > 0), (.config | length > 0), (.audit_dir | length > 0)] | all' "$S")" true

# ---- stats
control GET /stats
check "stats: every agency, every counter" \
  "$(jq -c 'to_entries | map("\(.key)=\(.value | keys | join(","))") ' <<<"$BODY")" \
  "$(jq -nc '["chsi","mps","si","credit","cscse","qual","talent","fund","tax"] | map("\(.)=connections,fault,faults,handshaking,max_handshaking,open_connections,requests,responses,tls_failures")')"
control GET /healthz
check "healthz" "$STATUS $BODY" '200 {"status":"ok"}'

# ---- which mode applies where (DESIGN s. 7: a mode that makes no sense is a 400)
declare -A APPLIES=(
  [latency]="chsi mps si credit cscse qual talent fund tax" [hang]="chsi mps si credit cscse qual talent fund tax"
  [reset]="chsi mps si credit cscse qual talent fund tax" [http_500]="chsi mps si credit cscse qual talent fund tax"
  [truncated]="chsi mps si credit cscse qual talent fund tax" [huge_body]="chsi mps si credit cscse qual talent fund tax"
  [slow_body]="chsi mps si credit cscse qual talent fund tax" [fault]="chsi mps si credit cscse qual talent fund tax"
  [malformed]="chsi mps si credit cscse qual talent fund tax" [bad_signature]="chsi cscse"
  [wrong_signer]="chsi cscse" [signature_wrapping]="chsi" [xxe]="chsi credit qual tax"
  [billion_laughs]="chsi credit qual tax" [expired_token]="si")
matrix_ok=1
for mode in "${!APPLIES[@]}"; do
  for a in chsi mps si credit cscse qual talent fund tax; do
    control PUT "/agencies/$a/fault" -d "{\"mode\":\"$mode\",\"latency_ms\":5,\"rate\":0.25}"
    want=400; [[ " ${APPLIES[$mode]} " == *" $a "* ]] && want=200
    if [[ "$STATUS" != "$want" ]]; then matrix_ok=0; echo "   $mode on $a: $STATUS (want $want) $BODY"; fi
    if [[ "$want" == 200 ]] && [[ "$(jq -c .fault <<<"$BODY")" != "{\"mode\":\"$mode\",\"latency_ms\":5,\"jitter_ms\":0,\"rate\":0.25}" ]]; then
      matrix_ok=0; echo "   $mode on $a: echo $BODY"
    fi
  done
done
check "all 15 modes x 9 agencies: accepted exactly where they apply" "$matrix_ok" 1
control PUT /agencies/mps/fault -d '{"mode":"bad_signature"}'
check "bad_signature on mps: 400 saying why" "$STATUS $BODY" \
  '400 {"error":"mode \"bad_signature\" makes no sense for mps (only for chsi, cscse)"}'

set_fault chsi '{"mode":"signature_wrapping","jitter_ms":7,"rate":0.125}'
control GET /agencies/chsi/fault
check "GET fault: the last one set" "$BODY" \
  '{"agency":"chsi","fault":{"mode":"signature_wrapping","latency_ms":0,"jitter_ms":7,"rate":0.125}}'
control GET /stats
check "stats show the fault set" "$(jq -c .chsi.fault <<<"$BODY")" \
  '{"mode":"signature_wrapping","latency_ms":0,"jitter_ms":7,"rate":0.125}'
clear_fault chsi
check "DELETE fault: cleared" "$STATUS $BODY" '200 {"agency":"chsi","fault":null}'

# ---- bad control requests: 400 naming the problem
bad_put() {
  control PUT /agencies/talent/fault -d "$1"
  check "400: $1" "$STATUS $(jq -r .error <<<"$BODY")" "400 $2"
}
bad_put 'not json' "body is not JSON: '[' or '{' expected near 'not'"
bad_put '["hang"]' "body must be a JSON object"
bad_put '{}' '"mode" is required and must be a string'
bad_put '{"mode":5}' '"mode" is required and must be a string'
bad_put '{"mode":"explode"}' 'unknown mode "explode"'
bad_put '{"mode":"hang","bogus":1}' 'unknown field "bogus" (expected mode, latency_ms, jitter_ms, rate)'
bad_put '{"mode":"hang","rate":1.5}' '"rate" must be a number from 0.0 to 1.0'
bad_put '{"mode":"hang","rate":"half"}' '"rate" must be a number from 0.0 to 1.0'
bad_put '{"mode":"hang","latency_ms":-1}' '"latency_ms" and "jitter_ms" must be integers 0-600000'
bad_put '{"mode":"hang","jitter_ms":600001}' '"latency_ms" and "jitter_ms" must be integers 0-600000'
bad_put '{"mode":"hang","latency_ms":1.5}' '"latency_ms" and "jitter_ms" must be integers 0-600000'
bad_put '{"mode":"latency"}' 'mode "latency" needs latency_ms or jitter_ms above 0'
bad_put '{"mode":"hang","mode":"reset"}' "body is not JSON: duplicate object key near '\"mode\"'"
bad_put '{"mode":"expired_token"}' 'mode "expired_token" makes no sense for talent (only for si)'
control PUT /agencies/nsa/fault -d '{"mode":"hang"}'
check "unknown agency: 404" "$STATUS $(jq -r .error <<<"$BODY")" '404 unknown agency "nsa" (chsi, mps, si, credit, cscse, qual, talent, fund, tax)'
control GET /nothing
check "unknown path: 404" "$STATUS" 404
control POST /stats
check "POST /stats: 405" "$STATUS $(header Allow)" "405 GET"
control GET /reset
check "GET /reset: 405" "$STATUS $(header Allow)" "405 POST"
control PATCH /agencies/mps/fault -d '{}'
check "PATCH fault: 405" "$STATUS" 405
req -H 'Transfer-Encoding: chunked' -X PUT -d '{"mode":"http_500"}' "$CTL/agencies/qual/fault"
check "chunked request body accepted" "$STATUS $(jq -r .fault.mode <<<"$BODY")" "200 http_500"

# ---- reset clears every fault and counter
KEY=$(cat "$(jq -r .pki.secrets.talent_api_key "$S")")
agency -H "X-Api-Key: $KEY" "$(url talent)/v1/persons?id_number=$(subject highlevel-a)"
control POST /reset
check "reset: answer" "$STATUS $BODY" '200 {"reset":true}'
control GET /stats
check "reset: no fault anywhere" "$(jq -c '[.[] | .fault] | unique' <<<"$BODY")" '[null]'
check "reset: every counter zero" "$(jq -c '[.[] | .requests, .faults, .responses, .connections, .tls_failures] | unique' <<<"$BODY")" '[0]'
agency -H "X-Api-Key: $KEY" "$(url talent)/v1/persons?id_number=$(subject highlevel-a)"
check "after reset: agencies answer normally" "$STATUS" 200

# ---- down stops what up started
"$STACK_SCRIPT" down --dir "$TMP/stack" >/dev/null
# gone, or a zombie waiting for an init that may not reap it
check "down: the mock process is gone" \
  "$([[ ! -e /proc/$MOCK_PID ]] || grep -q '^State:.*Z' "/proc/$MOCK_PID/status" && echo gone || echo alive)" gone
req --max-time 2 "$CTL/healthz"
check "down: the control port is closed" "$STATUS" 000
check "down: stack.json removed" "$(test -e "$S" && echo present || echo removed)" removed
