#!/usr/bin/env bash
# mocks.si: OAuth2 client credentials and bearer tokens that expire.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
stack_up "$TMP/stack"
SI=$(url si)
CID=$(cat "$(jq -r .pki.secrets.si_client_id "$S")")
SECRET=$(cat "$(jq -r .pki.secrets.si_client_secret "$S")")

token_basic() { agency -u "$CID:$SECRET" -d grant_type=client_credentials "$SI/oauth/token"; }

# ---- token endpoint
token_basic
check "token (Basic): status" "$STATUS" 200
check "token: shape" "$(jq -c '[.token_type, .expires_in, .scope, (.access_token | test("^[A-Za-z0-9_-]{64}$"))]' <<<"$BODY")" \
  '["Bearer",300,"insured.read",true]'
check "token: Cache-Control" "$(header Cache-Control)" "no-store"
TOKEN=$(jq -r .access_token <<<"$BODY")

agency -d grant_type=client_credentials -d "client_id=$CID" -d "client_secret=$SECRET" -d scope=insured.read "$SI/oauth/token"
check "token (form credentials): status" "$STATUS $(jq -r .token_type <<<"$BODY")" "200 Bearer"

agency -u "$CID:wrong-secret" -d grant_type=client_credentials "$SI/oauth/token"
check "wrong secret: 401 invalid_client" "$STATUS $(jq -r .error <<<"$BODY")" "401 invalid_client"
check "wrong secret: Basic challenge" "$(header WWW-Authenticate)" 'Basic realm="si"'
agency -d grant_type=client_credentials -d "client_id=$CID" -d client_secret=nope "$SI/oauth/token"
check "wrong secret in form: 401 invalid_client" "$STATUS $(jq -r .error <<<"$BODY")" "401 invalid_client"
agency -u "stranger:$SECRET" -d grant_type=client_credentials "$SI/oauth/token"
check "unknown client: 401 invalid_client" "$STATUS $(jq -r .error <<<"$BODY")" "401 invalid_client"
agency -d grant_type=client_credentials "$SI/oauth/token"
check "no client authentication: 401" "$STATUS $(jq -r .error <<<"$BODY")" "401 invalid_client"
agency -u "$CID:$SECRET" -d grant_type=password "$SI/oauth/token"
check "other grant: unsupported_grant_type" "$STATUS $(jq -r .error <<<"$BODY")" "400 unsupported_grant_type"
agency -u "$CID:$SECRET" -d scope=all "$SI/oauth/token"
check "no grant_type: invalid_request" "$STATUS $(jq -r .error <<<"$BODY")" "400 invalid_request"
agency -u "$CID:$SECRET" -d grant_type=client_credentials -d "client_id=$CID" "$SI/oauth/token"
check "two client authentications: invalid_request" "$STATUS $(jq -r .error <<<"$BODY")" "400 invalid_request"
agency -u "$CID:$SECRET" -H 'Content-Type: application/json' -d '{"grant_type":"client_credentials"}' "$SI/oauth/token"
check "JSON token request: invalid_request" "$STATUS $(jq -r .error <<<"$BODY")" "400 invalid_request"

# ---- the resource
p=$(person graduate-master)
id=$(jq -r .id <<<"$p")
agency -H "Authorization: Bearer $TOKEN" "$SI/v1/insured/$id"
check "insured: status" "$STATUS" 200
check "insured: body" "$(jq -c 'del(.data.as_of)' <<<"$BODY")" \
  "$(jq -c '{errcode: 0, errmsg: "ok", data: {id_number: .id, name, insured_status: "active",
            shenzhen_months: .si.shenzhen_months, employer: .si.employer}}' <<<"$p")"
agency -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "{\"id_number\":\"$id\"}" "$SI/v1/insured/query"
check "insured (POST query): same data" "$(jq -c .data.shenzhen_months <<<"$BODY")" "$(jq -c .si.shenzhen_months <<<"$p")"

agency -H "Authorization: Bearer $TOKEN" "$SI/v1/insured/$(subject inservice-no-insurance)"
check "no insurance record: 404 own error" "$STATUS $(jq -r .errcode <<<"$BODY")" "404 40400"
agency -H "Authorization: Bearer $TOKEN" "$SI/v1/insured/$(subject no-record)"
check "no record: 404" "$STATUS $(jq -r .errcode <<<"$BODY")" "404 40400"
agency -H "Authorization: Bearer $TOKEN" "$SI/v1/insured/${id:0:17}Y"
check "invalid number: 400 own error" "$STATUS $(jq -r .errcode <<<"$BODY")" "400 40001"

agency "$SI/v1/insured/$id"
check "no token: 401" "$STATUS $(jq -r .errcode <<<"$BODY")" "401 40100"
check "no token: challenge without error code (RFC 6750 3.1)" "$(header WWW-Authenticate)" \
  'Bearer realm="si", scope="insured.read"'
agency -H "Authorization: Bearer not-a-token" "$SI/v1/insured/$id"
check "unknown token: 401 invalid_token" "$STATUS $(header WWW-Authenticate)" \
  '401 Bearer realm="si", error="invalid_token", error_description="The access token is invalid"'
flipped=${TOKEN:0:40}$([[ ${TOKEN:40:1} == A ]] && echo B || echo A)${TOKEN:41}
agency -H "Authorization: Bearer $flipped" "$SI/v1/insured/$id"
check "tampered token: 401" "$STATUS $(jq -r .errcode <<<"$BODY")" "401 40101"

# ---- expiry, by fault mode: every token is treated as expired
set_fault si '{"mode":"expired_token"}'
agency -H "Authorization: Bearer $TOKEN" "$SI/v1/insured/$id"
check "expired_token fault: 401" "$STATUS $(jq -r .errcode <<<"$BODY")" "401 40102"
check "expired_token fault: challenge" "$(header WWW-Authenticate)" \
  'Bearer realm="si", error="invalid_token", error_description="The access token expired"'
clear_fault si
agency -H "Authorization: Bearer $TOKEN" "$SI/v1/insured/$id"
check "fault cleared: token accepted again" "$STATUS" 200

# ---- expiry, for real: a stack whose tokens live one second
stack_up "$TMP/short" --set mocks.si_token_ttl=1
SI=$(url si)
CID=$(cat "$(jq -r .pki.secrets.si_client_id "$S")")
SECRET=$(cat "$(jq -r .pki.secrets.si_client_secret "$S")")
accepted=0
for attempt in 1 2 3 4 5; do                 # bounded: a slow machine may need a retry
  t0=$(now)
  token_basic
  [[ "$attempt" == 1 ]] && check "short TTL: expires_in" "$(jq -r .expires_in <<<"$BODY")" 1
  TOKEN=$(jq -r .access_token <<<"$BODY")
  agency -H "Authorization: Bearer $TOKEN" "$SI/v1/insured/$id"
  if [[ "$STATUS" == 200 ]]; then accepted=1; break; fi
done
check "short TTL: a fresh token is accepted" "$accepted" 1
refused_at=""
deadline=$(( $(date +%s) + 10 ))
while (( $(date +%s) < deadline )); do
  agency -H "Authorization: Bearer $TOKEN" "$SI/v1/insured/$id"
  if [[ "$STATUS" == 401 ]]; then refused_at=$(now); break; fi
  sleep 0.1
done
check "short TTL: the same token is refused within 10 s" "$STATUS $(jq -r .errcode <<<"$BODY")" "401 40102"
check_true "short TTL: not refused before its second was up" ge "$(awk -v a="${refused_at:-0}" -v b="$t0" 'BEGIN{print a-b}')" 1.0
