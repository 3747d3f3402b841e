#!/usr/bin/env bash
# query.validation - what the gateway refuses, and how.
#
# 400 for every malformed query (bad identity number, unknown id_type, fact
# or field, a repeated key, no facts, bad case_ref, deadline over the
# maximum, not JSON ...), 415 for another content type, 403 for a valid
# certificate no ACL lists, for a role that may not query, and for a purpose
# the client may not state.  Every refusal is application/problem+json with
# type, title, status, detail and request_id equal to the X-Request-Id
# header, and nothing was asked of any agency.  Finally no identity number
# sent during the suite appears in the gateway's log or its audit files.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

# The engine may not state talent.postdoc in this stack.
jq 'del(.clients.engine.purposes["talent.postdoc"])' "$GW_SOURCE_DIR/scripts/stack.acl.json" >"$TMP/acl.json"
stack_up "$TMP/stack" --set "acl=$TMP/acl.json"
MAX=$(jq -r '.query.deadline_max_ms // 10000' "$(jq -r .gateway.config "$S")")

ID=$(subject graduate-master)
NAME=$(subject graduate-master name)
SENT_IDS=("$ID")
good() { query_body "$ID" "$NAME" talent.graduate identity.match,education.degrees "${1:-}"; }

# A good query first, so the log has something to hide.
gw_post "$(good)"
check "a good query: 200" "$STATUS" 200

# problem WHAT STATUS SLUG: the last answer is that problem, well formed.
problem() {
  local what=$1 status=$2 slug=$3 rid
  rid=$(header X-Request-Id)
  check "$what: HTTP $status" "$STATUS" "$status"
  check "$what: application/problem+json" "$(header Content-Type | cut -d';' -f1)" application/problem+json
  check "$what: type, title, status, detail, request_id = X-Request-Id" \
    "$(jq -c --arg rid "$rid" '[.type, (.title | type == "string" and length > 0), .status,
                                 (.detail | type == "string" and length > 0), .request_id == $rid,
                                 ($rid | length > 0)]' <<<"$BODY" 2>/dev/null)" \
    "[\"/problems/$slug\",true,$status,true,true,true]"
}

# Checksum: change the check character of a valid number.
last=${ID:17:1}
badsum=${ID:0:17}$([[ $last == 0 ]] && echo 1 || echo 0)
SENT_IDS+=("$badsum")
before=$(curl -sS "$CTL/stats" | jq -c 'map_values(.requests)')

gw_post "$(query_body "$badsum" "$NAME" talent.graduate identity.match)"
problem "bad id checksum" 400 invalid-request
check "bad id checksum: detail names subject.id" "$(jq -r '.detail | startswith("subject.id")' <<<"$BODY")" true
gw_post "$(query_body "${ID:0:6}19990231${ID:14:4}" "$NAME" talent.graduate identity.match)"
SENT_IDS+=("${ID:0:6}19990231${ID:14:4}")
problem "impossible birth date" 400 invalid-request
gw_post "$(good | jq -c '.subject.id_type = "passport"')"
problem "bad id_type" 400 invalid-request
check "bad id_type: detail" "$(jq -r .detail <<<"$BODY")" 'subject.id_type: must be "cn-resident-id"'
gw_post "$(good | jq -c '.facts += ["education.phd_rank"]')"
problem "unknown fact" 400 invalid-request
gw_post "$(good | jq -c '.facts += ["identity.match"]')"
problem "fact listed twice" 400 invalid-request
gw_post "$(good | jq -c '.urgent = true')"
problem "unknown field" 400 invalid-request
check "unknown field: detail" "$(jq -r .detail <<<"$BODY")" "urgent: unknown field"
# A key holding an identity number is named by shape, its digits masked.
gw_post "$(good | jq -c --arg k "case_ $ID" '.[$k] = 3000')"
SENT_IDS+=("$ID")
problem "unknown field holding an id" 400 invalid-request
check "unknown field holding an id: detail" "$(jq -r .detail <<<"$BODY")" \
  "case_ $(tr '0-9' '#' <<<"$ID"): unknown field"
gw_post "$(good | jq -c '.subject.nickname = "x"')"
problem "unknown subject field" 400 invalid-request
gw_post "$(good | sed 's/"purpose":"talent.graduate"/"purpose":"talent.graduate","purpose":"talent.highlevel"/')"
problem "duplicate key" 400 invalid-request
gw_post "$(good | jq -c '.facts = []')"
problem "facts empty" 400 invalid-request
gw_post "$(good | jq -c '.facts = "identity.match"')"
problem "facts not an array" 400 invalid-request
gw_post "$(good '{"case_ref": "SZ RC/2026"}')"
problem "bad case_ref" 400 invalid-request
gw_post "$(good "{\"case_ref\": \"$(printf 'A%.0s' {1..65})\"}")"
problem "case_ref of 65 characters" 400 invalid-request
gw_post "$(good "{\"deadline_ms\": $((MAX + 1))}")"
problem "deadline over max ($((MAX + 1)))" 400 invalid-request
gw_post "$(good '{"deadline_ms": 0}')"
problem "deadline 0" 400 invalid-request
gw_post "$(good '{"max_age_s": -1}')"
problem "max_age_s negative" 400 invalid-request
gw_post "$(good '{"sign": "yes"}')"
problem "sign not a boolean" 400 invalid-request
gw_post "$(good | jq -c '.purpose = "talent.tourism"')"
problem "unknown purpose" 400 invalid-request
gw_post "$(good | jq -c '.subject.name = ""')"
problem "empty name" 400 invalid-request
gw_post 'subject=11010519491231002X&facts=identity.match'
problem "non-JSON" 400 invalid-request
gw_post '[1,2,3]'
problem "JSON but not an object" 400 invalid-request
gw_post "$(good | head -c 40)"
problem "truncated JSON" 400 invalid-request

req --cacert "$CA" --cert "$CERT" --key "$KEY" -H 'Content-Type: text/plain' --data-binary "$(good)" \
    "$GW/v1/facts/query"
problem "text/plain" 415 unsupported-media-type
req --cacert "$CA" --cert "$CERT" --key "$KEY" -H 'Content-Type: application/jsonx' --data-binary "$(good)" \
    "$GW/v1/facts/query"
problem "application/jsonx" 415 unsupported-media-type
req --cacert "$CA" --cert "$CERT" --key "$KEY" -H 'Content-Type: application/json; charset=utf-8' \
    --data-binary "$(good)" "$GW/v1/facts/query"
check "application/json; charset=utf-8 is accepted" "$STATUS" 200

for who in stranger auditor admin; do
  req --cacert "$CA" --cert "$(jq -r ".pki.clients.$who.cert" "$S")" --key "$(jq -r ".pki.clients.$who.key" "$S")" \
      -H 'Content-Type: application/json' --data-binary "$(good)" "$GW/v1/facts/query"
  problem "$who certificate" 403 forbidden
done
gw_post "$(query_body "$ID" "$NAME" talent.postdoc identity.match)"
problem "a purpose the engine may not state" 403 purpose-not-allowed
req --cacert "$CA" -H 'Content-Type: application/json' --data-binary "$(good)" "$GW/v1/facts/query"
check "no client certificate: no HTTP answer at all" "$([[ $RC != 0 && $STATUS == 000 ]] && echo refused)" refused

check "no agency was asked for any refused query" \
  "$(curl -sS "$CTL/stats" | jq -c 'map_values(.requests)')" "$before"

# The log and the audit files never hold a raw identity number.
for sc in graduate-doctor credit-dishonest; do
  ask "$sc" talent.graduate identity.match,credit.status
  SENT_IDS+=("$(subject "$sc")")
done
"$STACK_SCRIPT" down --dir "$SDIR" >/dev/null   # flushes and closes every file
check "the gateway log is not empty" "$([[ -s $GLOG ]] && echo yes)" yes
for id in "${SENT_IDS[@]}"; do
  check "id ${id:0:6}… not in gateway.log" "$(grep -c -F -- "$id" "$GLOG" || true)" 0
  check "id ${id:0:6}… not in the audit files" "$(grep -r -a -l -F -- "$id" "$AUDIT_DIR" | wc -l)" 0
done
