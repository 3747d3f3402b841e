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
build=$1
src=$2
export GW_SCHEMAS_DIR=$src/schemas/facts   # the catalogue adapters are judged against
tmp=$(mktemp -d)
cleanup() { "$src/scripts/stack" down --dir "$tmp/stack" >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; tail -5 "$tmp/stack/gateway.log" >&2 || true; exit 1; }

"$src/scripts/stack" up --dir "$tmp/stack" --build "$build" >/dev/null
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
r=$(as engine GET /v1/adapters); [ "$(status "$r")" = 403 ] || fail "engine listed adapters"
r=$(as admin GET /v1/adapters); [ "$(status "$r")" = 200 ] || fail "admin list: $r"
[ "$(body "$r" | jq '.adapters | length')" = "$(ls "$A"/*.json | wc -l)" ] || fail "list: $r"
[ "$(body "$r" | jq -r '.adapters[] | select(.id == "chsi.degrees") | .version')" = 1 ] || fail "chsi v1"

# a broken definition: 400 naming the field; version 1 keeps serving
jq '.version = 2 | .mapping["education.degrees"].item.object.level.type = "datetime"' "$A/chsi.json" >"$tmp/bad.json"
r=$(as admin PUT /v1/adapters/chsi.degrees --data-binary "@$tmp/bad.json")
[ "$(status "$r")" = 400 ] || fail "broken adapter accepted: $r"
[ "$(body "$r" | jq -r .type)" = /problems/invalid-adapter ] || fail "problem type: $r"
body "$r" | jq -r .detail | grep -q 'mapping.education.degrees.item.object.level.type: must be one of' \
  || fail "field not named: $(body "$r" | jq -r .detail)"
[ "$(jq .version "$A/chsi.json")" = 1 ] || fail "broken definition reached the directory"
r=$(query); [ "$(body "$r" | jq -r '.facts["education.degrees"].status')" = ok ] || fail "v1 stopped serving: $r"

# a newer version: activated and persisted
jq '.version = 2 | .description = "CHSI v2"' "$A/chsi.json" >"$tmp/v2.json"
r=$(as admin PUT /v1/adapters/chsi.degrees --data-binary "@$tmp/v2.json")
[ "$(status "$r")" = 200 ] || fail "v2 refused: $r"
[ "$(jq .version "$A/chsi.json")" = 2 ] || fail "v2 not persisted"
r=$(as admin GET /v1/adapters)
[ "$(body "$r" | jq -r '.adapters[] | select(.id == "chsi.degrees") | .version')" = 2 ] || fail "v2 not active"
r=$(query); [ "$(body "$r" | jq -r '.facts["education.degrees"].status')" = ok ] || fail "v2 does not serve: $r"

# not newer: 409; the directory unchanged
r=$(as admin PUT /v1/adapters/chsi.degrees --data-binary "@$tmp/v2.json")
[ "$(status "$r")" = 409 ] || fail "same version accepted: $r"
# the id in the body must be the one in the URL
r=$(as admin PUT /v1/adapters/other.id --data-binary "@$tmp/v2.json")
[ "$(status "$r")" = 400 ] || fail "mismatched id accepted: $r"
# a second adapter claiming chsi's fact: refused as a set, file removed again
jq '.id = "chsi.copy" | .version = 1' "$A/chsi.json" >"$tmp/copy.json"
r=$(as admin PUT /v1/adapters/chsi.copy --data-binary "@$tmp/copy.json")
[ "$(status "$r")" = 400 ] || fail "fact claimed twice accepted: $r"
[ ! -e "$A/chsi.copy.json" ] || fail "refused adapter left in the directory"

# dry run: normalized facts, verification, timing
r=$(as admin POST /v1/adapters/chsi.degrees/test -d "{\"subject\":{\"id\":\"$ID\",\"name\":\"$NAME\"}}")
[ "$(status "$r")" = 200 ] || fail "dry run: $r"
[ "$(body "$r" | jq -r .agency_signature)" = xmldsig ] || fail "dry run signature: $r"
[ "$(body "$r" | jq -r '.facts["education.degrees"].status')" = ok ] || fail "dry run facts: $r"
r=$(as admin POST /v1/adapters/chsi.degrees/test -d '{"subject":{"id":"11010519491231002Y","name":"x"}}')
[ "$(status "$r")" = 400 ] || fail "dry run with an invalid number: $r"

# delete: the fact is no longer served; put back
r=$(as admin DELETE /v1/adapters/chsi.degrees); [ "$(status "$r")" = 204 ] || fail "delete: $r"
[ ! -e "$A/chsi.json" ] || fail "deleted adapter still on disk"
r=$(query); [ "$(body "$r" | jq -r '.facts["education.degrees"].status')" = unavailable ] || fail "deleted adapter still serves: $r"
r=$(as admin PUT /v1/adapters/chsi.degrees --data-binary "@$tmp/v2.json")
[ "$(status "$r")" = 201 ] || fail "re-create: $r"
r=$(query); [ "$(body "$r" | jq -r '.facts["education.degrees"].status')" = ok ] || fail "re-created adapter: $r"
r=$(as admin DELETE /v1/adapters/nope.nope); [ "$(status "$r")" = 404 ] || fail "delete unknown: $r"

# the same through gwctl: push (validated locally first) and status
gwctl=$build/gateway/gwctl
jq '.version = 3' "$tmp/v2.json" >"$A/../v3.json"
mkdir -p "$tmp/stack/push" && mv "$A/../v3.json" "$tmp/stack/push/chsi.json"
out=$("$gwctl" adapter push "$tmp/stack/push/chsi.json" --stack "$S") || fail "gwctl push: $out"
[[ "$out" == *"chsi.degrees version 3 active"* ]] || fail "gwctl push: $out"
jq '.version = 4 | .policy.retries = "many"' "$tmp/v2.json" >"$tmp/stack/push/chsi.json"
rc=0; out=$("$gwctl" adapter push "$tmp/stack/push/chsi.json" --stack "$S") || rc=$?
[ "$rc" = 1 ] || fail "gwctl push of a broken adapter: exit $rc"
[ "$out" = "$tmp/stack/push/chsi.json: policy.retries: must be an integer" ] || fail "gwctl push: $out"
out=$("$gwctl" status --stack "$S") || fail "gwctl status: $out"
grep -q '^gateway .* ready$' <<<"$out" || fail "status readiness: $out"
grep -qE '^chsi\.degrees +chsi +closed ' <<<"$out" || fail "status adapters: $out"
echo ok
