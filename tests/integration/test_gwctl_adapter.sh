#!/usr/bin/env bash
# gwctl adapter validate|test against the real mock agencies: what an agency
# IT team sees before pushing an adapter.
#  - every shipped adapter validates; a broken one is named by file and field
#  - in the repository, validate --stack checks the shipped adapters in place
#  - "test" runs one real exchange per adapter: the curated graduate's facts
#    come back verified (xmldsig for chsi, jws for cscse) and exact
#  - a hostile agency answer (bad signature) is reported, exit status 1
set -euo pipefail
build=$1
src=$2
export GW_SCHEMAS_DIR=$src/schemas/facts   # the catalogue adapters are judged against
gwctl=$build/gateway/gwctl
tmp=$(mktemp -d)
cleanup() { "$src/scripts/stack" down --dir "$tmp/stack" >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$src/scripts/stack" up --dir "$tmp/stack" --build "$build" >/dev/null
S=$tmp/stack/stack.json
A=$tmp/stack/adapters
control=$(jq -r .mocks.control_url "$S")
person() { jq -r --arg s "$1" '.subjects[] | select(.scenario == $s) | .'"$2" "$S"; }
ID=$(person graduate-master id)
NAME=$(person graduate-master name)
pop() { jq -r --arg id "$ID" ".people[] | select(.id == \$id) | $1" "$src/mocks/data/population.json"; }

# validate
out=$("$gwctl" adapter validate "$A"/*.json) || fail "validate: $out"
[ "$(grep -c ': ok (' <<<"$out")" = "$(ls "$A"/*.json | wc -l)" ] || fail "validate: $out"
mkdir -p "$tmp/stack/bad"   # a sibling of pki/, so the relative paths resolve
jq '.policy.timeout_ms = "fast"' "$A/chsi.json" >"$tmp/stack/bad/chsi.json"
rc=0; out=$("$gwctl" adapter validate "$tmp/stack/bad/chsi.json") || rc=$?
[ "$rc" = 1 ] || fail "broken adapter: exit $rc"
[ "$out" = "$tmp/stack/bad/chsi.json: policy.timeout_ms: must be an integer" ] || fail "broken adapter: $out"

# the shipped adapters, in the repository: their ../pki/ files exist only in
# a stack; plain validate says how to check them, --stack checks them there
rc=0; out=$("$gwctl" adapter validate "$src/adapters/chsi.json" 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "repository chsi.json without --stack: exit $rc"
grep -q 'tls.ca_file: cannot read .*No such file' <<<"$out" || fail "no missing-file message: $out"
grep -q 'check them with --stack STACK.json or --base DIR' <<<"$out" || fail "no hint: $out"
out=$(cd "$src" && "$gwctl" adapter validate --stack "$S" adapters/*.json) || fail "validate --stack: $out"
[ "$(head -n 1 <<<"$out")" = "relative paths (CA files, keys, file: secrets) resolved against $tmp/stack/adapters" ] \
  || fail "validate --stack does not say where paths resolve: $out"
[ "$(grep -c '^adapters/.*: ok (' <<<"$out")" = "$(ls "$src"/adapters/*.json | wc -l)" ] \
  || fail "validate --stack adapters/*.json: $out"
out=$("$gwctl" adapter validate --base "$tmp/stack/adapters" "$src/adapters/qual.json") \
  || fail "validate --base: $out"
grep -q 'qual.json: ok (qual.certificates' <<<"$out" || fail "validate --base: $out"
rc=0; "$gwctl" adapter validate --stack "$S" --base /tmp "$src/adapters/qual.json" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "--stack with --base: exit $rc, not 2"

# test: chsi degrees exactly as the population lists them, signature verified
out=$("$gwctl" adapter test "$A/chsi.json" --subject "$ID" --name "$NAME" --schemas "$src/schemas/facts" --json) \
  || fail "chsi test failed: $out"
[ "$(jq -r .agency_signature <<<"$out")" = xmldsig ] || fail "chsi signature: $out"
[ "$(jq -r '.facts["education.degrees"].status' <<<"$out")" = ok ] || fail "chsi status: $out"
got=$(jq -c '[.facts["education.degrees"].value[] | [.level, .institution, .graduated_on, .certificate_no]]' <<<"$out")
want=$(pop '[.degrees[] | [.level, .institution, .graduated_on, .certificate_no]]' | jq -c .)
[ "$got" = "$want" ] || fail "chsi degrees: got $got, want $want"

# mps over mutual TLS: identity and hukou
out=$("$gwctl" adapter test "$A/mps.json" --subject "$ID" --name "$NAME" --schemas "$src/schemas/facts" --json) \
  || fail "mps test failed: $out"
[ "$(jq -r .channel <<<"$out")" = mtls ] || fail "mps channel: $out"
[ "$(jq -r '.facts["identity.match"].value' <<<"$out")" = true ] || fail "mps match: $out"
[ "$(jq -r '.facts["identity.birth_date"].value' <<<"$out")" = "$(pop .mps.birth_date)" ] || fail "mps birth date: $out"

# every other adapter answers something definitive for this person
for a in si credit cscse qual; do
  out=$("$gwctl" adapter test "$A/$a.json" --subject "$ID" --name "$NAME" --schemas "$src/schemas/facts" --json) \
    || fail "$a test failed: $out"
  jq -e '[.facts[].status] | all(. == "ok" or . == "not_found")' <<<"$out" >/dev/null || fail "$a: $out"
done

# a tampered signature is caught and reported
curl -fsS -X PUT -d '{"mode":"bad_signature"}' "$control/agencies/chsi/fault" >/dev/null
rc=0; out=$("$gwctl" adapter test "$A/chsi.json" --subject "$ID" --name "$NAME" --json) || rc=$?
[ "$rc" = 1 ] || fail "bad signature: exit $rc"
[ "$(jq -r '.facts["education.degrees"].error' <<<"$out")" = bad_signature ] || fail "bad signature: $out"
curl -fsS -X DELETE "$control/agencies/chsi/fault" >/dev/null

# the identity number is validated before anything is sent
rc=0; "$gwctl" adapter test "$A/chsi.json" --subject 11010519491231002Y --name x >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "invalid subject: exit $rc"
echo ok
