#!/usr/bin/env bash
# mocks.fund: the housing fund's signed headers (HMAC-SHA256 over the
# platform's canonical string, computed here with openssl, independently of
# the C code), its replay window and nonce memory, its answers.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
stack_up "$TMP/stack"
FUND=$(url fund)
Q=$FUND/api/v1/deposit/query
APP=$(cat "$(jq -r .pki.secrets.fund_app_id "$S")")
SECRET=$(cat "$(jq -r .pki.secrets.fund_app_secret "$S")")

# signed BODY [TIMESTAMP] [NONCE] [APP] [SECRET] [PATH]: a signed POST.
signed() {
  local body=$1 ts=${2:-$(date +%s)} nonce=${3:-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')}
  local app=${4:-$APP} secret=${5:-$SECRET} path=${6:-/fund/api/v1/deposit/query}
  local bh sig
  bh=$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)
  sig=$(printf 'POST\n%s\n\n%s\n%s\n%s\n%s' "$path" "$app" "$ts" "$nonce" "$bh" |
        openssl dgst -sha256 -hmac "$secret" -binary | base64 -w0)
  LAST_NONCE=$nonce
  agency -H 'Content-Type: application/json' -H "X-Sz-AppId: $app" -H "X-Sz-Timestamp: $ts" \
         -H "X-Sz-Nonce: $nonce" -H "X-Sz-Signature: $sig" -d "$body" "${FUND%/fund}$path"
}

# ---- answers, consistent with si where the person has no fund section
p=$(person graduate-master)
signed "{\"id_number\":\"$(jq -r .id <<<"$p")\"}"
check "deposit: status and code" "$STATUS $(jq -r .code <<<"$BODY")" "200 0000"
check "deposit: follows si" "$(jq -c 'del(.data.as_of)' <<<"$BODY")" \
  "$(jq -c '{code: "0000", msg: "成功", data: {id_number: .id, name, account_status: "normal",
            deposit_months_sz: .si.shenzhen_months,
            unit: {unit_name: .si.employer.name, unit_uscc: .si.employer.uscc}}}' <<<"$p")"
p=$(person graduate-doctor)
signed "{\"id_number\":\"$(jq -r .id <<<"$p")\"}"
check "deposit: curated fund section" "$(jq -r .data.deposit_months_sz <<<"$BODY")" "$(jq -r .fund.shenzhen_months <<<"$p")"
signed "{\"id_number\":\"$(subject inservice-no-insurance)\"}"
check "no deposit record: 200 code 2001, the number echoed" "$STATUS $(jq -r .code <<<"$BODY") $(jq -c .data <<<"$BODY")" "200 2001 {\"id_number\":\"$(subject inservice-no-insurance)\"}"
signed "{\"id_number\":\"$(subject no-record)\"}"
check "nobody: 2001" "$(jq -r .code <<<"$BODY")" "2001"
signed '{"id_number":"11010119900307001Y"}'
check "invalid number: 400 1001" "$STATUS $(jq -r .code <<<"$BODY")" "400 1001"
signed '{"id":"x"}'
check "bad body: 400 1002" "$STATUS $(jq -r .code <<<"$BODY")" "400 1002"
sample=$("$GW_BUILD_DIR/mocks/mock-agencies" --sample 1 --seed 7 | jq -r .id)
signed "{\"id_number\":\"$sample\"}"
check "synthetic person answers" "$STATUS $(jq -r '.code | test("^(0000|2001)$")' <<<"$BODY")" "200 true"

# ---- authentication, in the platform's order
body="{\"id_number\":\"$(subject graduate-master)\"}"
agency -H 'Content-Type: application/json' -d "$body" "$Q"
check "no signature headers: 401 4000" "$STATUS $(jq -r .code <<<"$BODY")" "401 4000"
check "challenge" "$(header WWW-Authenticate)" 'SzSign realm="fund"'
signed "$body" "" "" "someone-else"
check "unknown app: 401 4004" "$STATUS $(jq -r .code <<<"$BODY")" "401 4004"
signed "$body" $(( $(date +%s) - 301 ))
check "timestamp 301 s old: 401 4002" "$STATUS $(jq -r .code <<<"$BODY")" "401 4002"
signed "$body" $(( $(date +%s) + 400 ))
check "timestamp from the future: 401 4002" "$STATUS $(jq -r .code <<<"$BODY")" "401 4002"
signed "$body" "" "short"
check "short nonce: 401 4000" "$STATUS $(jq -r .code <<<"$BODY")" "401 4000"
signed "$body" "" "" "" "wrong-secret-wrong-secret"
check "wrong secret: 401 4001" "$STATUS $(jq -r .code <<<"$BODY")" "401 4001"
forged=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
signed "$body" "" "$forged" "" "wrong-secret-wrong-secret"
check "forged request: 401 4001" "$(jq -r .code <<<"$BODY")" "4001"
signed "$body" "" "$forged"
check "a forged request does not burn the nonce" "$STATUS $(jq -r .code <<<"$BODY")" "200 0000"
signed "$body" "" "$forged"
check "replayed nonce: 401 4003" "$STATUS $(jq -r .code <<<"$BODY")" "401 4003"
# the body is covered: same headers, other body
ts=$(date +%s) n=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
bh=$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)
sig=$(printf 'POST\n/fund/api/v1/deposit/query\n\n%s\n%s\n%s\n%s' "$APP" "$ts" "$n" "$bh" |
      openssl dgst -sha256 -hmac "$SECRET" -binary | base64 -w0)
agency -H 'Content-Type: application/json' -H "X-Sz-AppId: $APP" -H "X-Sz-Timestamp: $ts" \
       -H "X-Sz-Nonce: $n" -H "X-Sz-Signature: $sig" -d "{\"id_number\":\"$(subject graduate-doctor)\"}" "$Q"
check "body changed under the signature: 4001" "$STATUS $(jq -r .code <<<"$BODY")" "401 4001"
agency -X GET "$Q"
check "GET: 405" "$STATUS $(header Allow)" "405 POST"

# ---- content faults in the platform's own format
set_fault fund '{"mode": "fault"}'
signed "$body"
check "fault: HTTP 200 with code 5000" "$STATUS $(jq -r .code <<<"$BODY")" "200 5000"
set_fault fund '{"mode": "malformed"}'
signed "$body"
check "malformed: not JSON" "$STATUS $(jq -e . <<<"$BODY" >/dev/null 2>&1 && echo json || echo broken)" "200 broken"
clear_fault fund
control PUT /agencies/fund/fault -d '{"mode": "xxe"}'
check "xxe makes no sense for a JSON agency" "$STATUS" 400
check "counters" "$(curl -sS "$CTL/stats" | jq -r '.fund.requests > 15')" true
finish
