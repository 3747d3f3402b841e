#!/usr/bin/env bash
# mocks.tax: SOAP 1.1 with a WS-Security UsernameToken (PasswordDigest
# computed here with openssl, independently of the C code), the WSS faults
# for a missing header, a wrong password, an expired Created and a replayed
# nonce, and the individual income tax answer.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
stack_up "$TMP/stack"
TAX=$(url tax)/IitService
USER_=$(cat "$(jq -r .pki.secrets.tax_username "$S")")
PASS=$(cat "$(jq -r .pki.secrets.tax_password "$S")")
WSSE=http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd
WSU=http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd
DIGEST=http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest

# envelope ID NAME [CREATED] [NONCE_HEX] [PASSWORD] [USER]: a request with a UsernameToken.
envelope() {
  local id=$1 name=$2 created=${3:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
  local nonce=${4:-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')} pass=${5:-$PASS} user=${6:-$USER_}
  local n64 digest
  n64=$(xxd -r -p <<<"$nonce" | base64 -w0)
  digest=$({ xxd -r -p <<<"$nonce"; printf '%s%s' "$created" "$pass"; } | openssl dgst -sha1 -binary | base64 -w0)
  cat <<XML
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tax="urn:mock:tax:1"><soapenv:Header><wsse:Security xmlns:wsse="$WSSE" xmlns:wsu="$WSU"><wsse:UsernameToken><wsse:Username>$user</wsse:Username><wsse:Password Type="$DIGEST">$digest</wsse:Password><wsse:Nonce>$n64</wsse:Nonce><wsu:Created>$created</wsu:Created></wsse:UsernameToken></wsse:Security></soapenv:Header><soapenv:Body><tax:QueryIitRecord><tax:requestId>r-1</tax:requestId><tax:idNumber>$id</tax:idNumber><tax:name>$name</tax:name></tax:QueryIitRecord></soapenv:Body></soapenv:Envelope>
XML
}
REQ=$TMP/request.xml
post() { agency -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: "urn:mock:tax:1#QueryIitRecord"' --data-binary @"$REQ" "$TAX"; }
# x XPATH: a value from the last answer (local names, namespaces ignored).
x() { xmllint --xpath "$1" - <<<"$BODY" 2>/dev/null; }

p=$(person inservice-senior-title)
envelope "$(jq -r .id <<<"$p")" "$(jq -r .name <<<"$p")" >"$REQ"; post
check "found: 200" "$STATUS $(x 'string(//*[local-name()="result"])')" "200 found"
check "months: si capped at 24" "$(x 'string(//*[local-name()="paidMonthsShenzhen"])')" \
  "$(jq -r '[.si.shenzhen_months, 24] | min' <<<"$p")"
check "withholding agent: the si employer" \
  "$(x 'string(//*[local-name()="agentName"])') $(x 'string(//*[local-name()="agentCreditCode"])')" \
  "$(jq -r '"\(.si.employer.name) \(.si.employer.uscc)"' <<<"$p")"
check "requestId echoed" "$(x 'string(//*[local-name()="requestId"])')" "r-1"
p=$(person inservice-no-insurance)
envelope "$(jq -r .id <<<"$p")" "$(jq -r .name <<<"$p")" >"$REQ"; post
check "curated tax section without si" "$(x 'string(//*[local-name()="paidMonthsShenzhen"])')" "$(jq -r .tax.shenzhen_months <<<"$p")"
envelope "$(subject graduate-bachelor)" x >"$REQ"; post
check "no tax record: result no_record" "$STATUS $(x 'string(//*[local-name()="result"])')" "200 no_record"

# ---- WS-Security
id=$(subject graduate-master)
envelope "$id" x "" "" "wrong-password" >"$REQ"; post
check "wrong password: 500 wsse:FailedAuthentication" "$STATUS $(x 'string(//faultcode)')" "500 wsse:FailedAuthentication"
envelope "$id" x "" "" "" "intruder" >"$REQ"; post
check "unknown user: FailedAuthentication" "$(x 'string(//faultcode)')" "wsse:FailedAuthentication"
envelope "$id" x "$(date -u -d '-301 seconds' +%Y-%m-%dT%H:%M:%SZ)" >"$REQ"; post
check "Created 301 s ago: wsse:MessageExpired" "$(x 'string(//faultcode)')" "wsse:MessageExpired"
envelope "$id" x | sed 's#<soapenv:Header>.*</soapenv:Header>##' >"$REQ"; post
check "no Security header: wsse:InvalidSecurity" "$STATUS $(x 'string(//faultcode)')" "500 wsse:InvalidSecurity"
envelope "$id" x | sed 's#PasswordDigest#PasswordText#' >"$REQ"; post
check "PasswordText refused: InvalidSecurity" "$(x 'string(//faultcode)')" "wsse:InvalidSecurity"
n=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
envelope "$id" x "" "$n" >"$REQ"; post
check "fresh nonce: answered" "$STATUS" 200
envelope "$id" x "" "$n" >"$REQ"; post
check "replayed nonce: FailedAuthentication" "$(x 'string(//faultcode)') $(x 'string(//faultstring)')" \
  "wsse:FailedAuthentication The security token could not be authenticated or authorized (nonce already used)"
envelope "$id" x >"$REQ"; agency -H 'Content-Type: text/xml' -H 'SOAPAction: "urn:other"' --data-binary @"$REQ" "$TAX"
check "other SOAPAction: soap:Client" "$(x 'string(//faultcode)')" "soap:Client"

# ---- content faults
set_fault tax '{"mode": "fault"}'
envelope "$id" x >"$REQ"; post
check "fault: soap:Server ServiceUnavailable" "$STATUS $(x 'string(//faultcode)') $(x 'string(//*[local-name()="code"])')" "500 soap:Server ServiceUnavailable"
set_fault tax '{"mode": "xxe"}'
envelope "$id" x >"$REQ"; post
check "xxe: a DOCTYPE with an external entity" "$(grep -c '<!ENTITY' <<<"$BODY")" 1
set_fault tax '{"mode": "malformed"}'
envelope "$id" x >"$REQ"; post
check "malformed: not well-formed" "$(xmllint --noout - <<<"$BODY" >/dev/null 2>&1 && echo ok || echo broken)" broken
clear_fault tax
check "counters" "$(curl -sS "$CTL/stats" | jq -r '.tax.requests >= 14 and .tax.faults == 3')" true
finish
