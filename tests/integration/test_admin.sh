#!/usr/bin/env bash
# The admin API for adapters while the gateway serves:
#  - only the admin role; a broken definition is refused with the field named
#    while the previous version keeps answering queries
#  - a newer version is validated, persisted in adapters_dir and activated
#  - an older or equal version, and a fact claimed twice, are refused and
#    leave the directory as it was
#  - DELETE removes an adapter (its facts become unavailable); the dry run
#    shows the normalized facts and the verification result
set -euo pipefail
SUITE=admin
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib/harness.sh"
build=$GW_BUILD_DIR
src=$GW_SOURCE_DIR
export GW_SCHEMAS_DIR=$src/schemas/facts   # the catalogue adapters are judged against
tmp=$TMP

stack_start "$tmp/stack"
S=$tmp/stack/stack.json
GW=$(jq -r .gateway.url "$S")
P=$tmp/stack/pki
A=$tmp/stack/adapters
as() {   # as ROLE METHOD PATH [BODY]: prints the body, status on the last line
  local role=$1 method=$2 path=$3
  shift 3
  curl -sS -w '\n%{http_code}' --cacert "$P/gateway-ca.pem" --cert "$P/clients/$role.pem" \
    --key "$P/clients/$role.key" -X "$method" -H 'Content-Type: application/json' "$@" "$GW$path"
}
status() { tail -1 <<<"$1"; }
body() { sed '$d' <<<"$1"; }
ID=$(jq -r '.subjects[] | select(.scenario == "graduate-master") | .id' "$S")
NAME=$(jq -r '.subjects[] | select(.scenario == "graduate-master") | .name' "$S")
query() {
  as engine POST /v1/facts/query -d "{\"subject\":{\"id_type\":\"cn-resident-id\",\"id\":\"$ID\",\"name\":\"$NAME\"},\"facts\":[\"education.degrees\"],\"purpose\":\"talent.graduate\",\"max_age_s\":0}"
}

# roles
if r=$(as engine GET /v1/adapters); [ "$(status "$r")" = 403 ]; then ok "engine may not list adapters (403)"; else bad "engine may not list adapters (403)"; fi
if r=$(as admin GET /v1/adapters); [ "$(status "$r")" = 200 ]; then ok "admin lists adapters (200)"; else bad "admin lists adapters (200)" "got: $r"; fi
check "list: every adapter of the directory" "$(body "$r" | jq '.adapters | length')" "$(ls "$A"/*.json | wc -l)"
check "chsi at version 1" "$(body "$r" | jq -r '.adapters[] | select(.id == "chsi.degrees") | .version')" 1

# a broken definition: 400 naming the field; version 1 keeps serving
jq '.version = 2 | .mapping["education.degrees"].item.object.level.type = "datetime"' "$A/chsi.json" >"$tmp/bad.json"
r=$(as admin PUT /v1/adapters/chsi.degrees --data-binary "@$tmp/bad.json")
check "broken adapter refused (400)" "$(status "$r")" 400
check "problem type" "$(body "$r" | jq -r .type)" /problems/invalid-adapter
if body "$r" | jq -r .detail | grep -q 'mapping.education.degrees.item.object.level.type: must be one of'; then ok "the refusal names the field"; else bad "the refusal names the field" "got: $(body "$r" | jq -r .detail)"; fi
check "broken definition kept out of the directory" "$(jq .version "$A/chsi.json")" 1
if r=$(query); [ "$(body "$r" | jq -r '.facts["education.degrees"].status')" = ok ]; then ok "v1 keeps serving"; else bad "v1 keeps serving" "got: $r"; fi

# a newer version: activated and persisted
jq '.version = 2 | .description = "CHSI v2"' "$A/chsi.json" >"$tmp/v2.json"
r=$(as admin PUT /v1/adapters/chsi.degrees --data-binary "@$tmp/v2.json")
check "v2 accepted (200)" "$(status "$r")" 200
check "v2 persisted" "$(jq .version "$A/chsi.json")" 2
r=$(as admin GET /v1/adapters)
check "v2 active" "$(body "$r" | jq -r '.adapters[] | select(.id == "chsi.degrees") | .version')" 2
if r=$(query); [ "$(body "$r" | jq -r '.facts["education.degrees"].status')" = ok ]; then ok "v2 serves"; else bad "v2 serves" "got: $r"; fi

# not newer: 409; the directory unchanged
r=$(as admin PUT /v1/adapters/chsi.degrees --data-binary "@$tmp/v2.json")
check "same version refused (409)" "$(status "$r")" 409
# the id in the body must be the one in the URL
r=$(as admin PUT /v1/adapters/other.id --data-binary "@$tmp/v2.json")
check "id differing from the URL refused (400)" "$(status "$r")" 400
# a second adapter claiming chsi's fact: refused as a set, file removed again
jq '.id = "chsi.copy" | .version = 1' "$A/chsi.json" >"$tmp/copy.json"
r=$(as admin PUT /v1/adapters/chsi.copy --data-binary "@$tmp/copy.json")
check "fact claimed twice refused (400)" "$(status "$r")" 400
if [ ! -e "$A/chsi.copy.json" ]; then ok "refused adapter removed from the directory"; else bad "refused adapter removed from the directory"; fi

# dry run: normalized facts, verification, timing
r=$(as admin POST /v1/adapters/chsi.degrees/test -d "{\"subject\":{\"id\":\"$ID\",\"name\":\"$NAME\"}}")
check "dry run: 200" "$(status "$r")" 200
check "dry run signature" "$(body "$r" | jq -r .agency_signature)" xmldsig
check "dry run facts" "$(body "$r" | jq -r '.facts["education.degrees"].status')" ok
if body "$r" | jq -e '.response_sha256 | test("^[0-9a-f]{64}$")' >/dev/null; then ok "dry run response_sha256"; else bad "dry run response_sha256" "got: $r"; fi
r=$(as admin POST /v1/adapters/chsi.degrees/test -d '{"subject":{"id":"11010519491231002Y","name":"x"}}')
check "dry run with an invalid number: 400" "$(status "$r")" 400

# delete: the fact is no longer served; put back
if r=$(as admin DELETE /v1/adapters/chsi.degrees); [ "$(status "$r")" = 204 ]; then ok "delete: 204"; else bad "delete: 204" "got: $r"; fi
if [ ! -e "$A/chsi.json" ]; then ok "deleted adapter gone from disk"; else bad "deleted adapter gone from disk"; fi
if r=$(query); [ "$(body "$r" | jq -r '.facts["education.degrees"].status')" = unavailable ]; then ok "deleted adapter's fact unavailable"; else bad "deleted adapter's fact unavailable" "got: $r"; fi
r=$(as admin PUT /v1/adapters/chsi.degrees --data-binary "@$tmp/v2.json")
check "re-create: 201" "$(status "$r")" 201
if r=$(query); [ "$(body "$r" | jq -r '.facts["education.degrees"].status')" = ok ]; then ok "re-created adapter serves"; else bad "re-created adapter serves" "got: $r"; fi
if r=$(as admin DELETE /v1/adapters/nope.nope); [ "$(status "$r")" = 404 ]; then ok "delete unknown: 404"; else bad "delete unknown: 404" "got: $r"; fi

# the same through gwctl: push (validated locally first) and status
gwctl=$build/gateway/gwctl
jq '.version = 3' "$tmp/v2.json" >"$A/../v3.json"
mkdir -p "$tmp/stack/push" && mv "$A/../v3.json" "$tmp/stack/push/chsi.json"
if out=$("$gwctl" adapter push "$tmp/stack/push/chsi.json" --stack "$S"); then ok "gwctl push (exit 0)"; else bad "gwctl push (exit 0)" "got: $out"; fi
if [[ "$out" == *"chsi.degrees version 3 active"* ]]; then ok "gwctl push: version 3 active"; else bad "gwctl push: version 3 active" "got: $out"; fi
jq '.version = 4 | .policy.retries = "many"' "$tmp/v2.json" >"$tmp/stack/push/chsi.json"
rc=0; out=$("$gwctl" adapter push "$tmp/stack/push/chsi.json" --stack "$S") || rc=$?
check "gwctl push of a broken adapter: exit 1" "$rc" 1
check "gwctl push of a broken adapter: names the field" "$out" "$tmp/stack/push/chsi.json: policy.retries: must be an integer"
if out=$("$gwctl" status --stack "$S"); then ok "gwctl status (exit 0)"; else bad "gwctl status (exit 0)" "got: $out"; fi
if grep -q '^gateway .* ready$' <<<"$out"; then ok "status readiness"; else bad "status readiness" "got: $out"; fi
if grep -qE '^chsi\.degrees +chsi +closed ' <<<"$out"; then ok "status adapters"; else bad "status adapters" "got: $out"; fi

