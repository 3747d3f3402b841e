#!/usr/bin/env bash
# gwctl adapter validate|test against the real mock agencies: what an agency
# IT team sees before pushing an adapter.
#  - every shipped adapter validates; a broken one is named by file and field
#  - in the repository, validate --stack checks the shipped adapters in place
#  - "test" runs one real exchange per adapter: the curated graduate's facts
#    come back verified (xmldsig for chsi, jws for cscse) and exact
#  - a hostile agency answer (bad signature) is reported, exit status 1
set -euo pipefail
SUITE=gwctl_adapter
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib/harness.sh"
build=$GW_BUILD_DIR
src=$GW_SOURCE_DIR
export GW_SCHEMAS_DIR=$src/schemas/facts   # the catalogue adapters are judged against
gwctl=$build/gateway/gwctl
tmp=$TMP

stack_start "$tmp/stack"
S=$tmp/stack/stack.json
A=$tmp/stack/adapters
control=$(jq -r .mocks.control_url "$S")
person() { jq -r --arg s "$1" '.subjects[] | select(.scenario == $s) | .'"$2" "$S"; }
ID=$(person graduate-master id)
NAME=$(person graduate-master name)
pop() { jq -r --arg id "$ID" ".people[] | select(.id == \$id) | $1" "$src/mocks/data/population.json"; }

# validate
if out=$("$gwctl" adapter validate "$A"/*.json); then ok "validate: every shipped adapter (exit 0)"; else bad "validate: every shipped adapter (exit 0)" "got: $out"; fi
check "validate: one ok line per adapter" "$(grep -c ': ok (' <<<"$out")" "$(ls "$A"/*.json | wc -l)"
mkdir -p "$tmp/stack/bad"   # a sibling of pki/, so the relative paths resolve
jq '.policy.timeout_ms = "fast"' "$A/chsi.json" >"$tmp/stack/bad/chsi.json"
rc=0; out=$("$gwctl" adapter validate "$tmp/stack/bad/chsi.json") || rc=$?
check "broken adapter: exit 1" "$rc" 1
check "broken adapter: named by file and field" "$out" "$tmp/stack/bad/chsi.json: policy.timeout_ms: must be an integer"

# the shipped adapters, in the repository: their ../pki/ files exist only in
# a stack; plain validate says how to check them, --stack checks them there
rc=0; out=$("$gwctl" adapter validate "$src/adapters/chsi.json" 2>&1) || rc=$?
check "repository chsi.json without --stack: exit 1" "$rc" 1
if grep -q 'tls.ca_file: cannot read .*No such file' <<<"$out"; then ok "without --stack: the missing file is named"; else bad "without --stack: the missing file is named" "got: $out"; fi
if grep -q 'check them with --stack STACK.json or --base DIR' <<<"$out"; then ok "without --stack: a hint to use --stack or --base"; else bad "without --stack: a hint to use --stack or --base" "got: $out"; fi
if out=$(cd "$src" && "$gwctl" adapter validate --stack "$S" adapters/*.json); then ok "validate --stack (exit 0)"; else bad "validate --stack (exit 0)" "got: $out"; fi
check "validate --stack says where paths resolve" "$(head -n 1 <<<"$out")" "relative paths (CA files, keys, file: secrets) resolved against $tmp/stack/adapters"
check "validate --stack adapters/*.json: one ok line per adapter" "$(grep -c '^adapters/.*: ok (' <<<"$out")" "$(ls "$src"/adapters/*.json | wc -l)"
if out=$("$gwctl" adapter validate --base "$tmp/stack/adapters" "$src/adapters/qual.json"); then ok "validate --base (exit 0)"; else bad "validate --base (exit 0)" "got: $out"; fi
if grep -q 'qual.json: ok (qual.certificates' <<<"$out"; then ok "validate --base: qual.json ok"; else bad "validate --base: qual.json ok" "got: $out"; fi
rc=0; "$gwctl" adapter validate --stack "$S" --base /tmp "$src/adapters/qual.json" >/dev/null 2>&1 || rc=$?
check "--stack with --base: usage error (2)" "$rc" 2

# test: chsi degrees exactly as the population lists them, signature verified
if out=$("$gwctl" adapter test "$A/chsi.json" --subject "$ID" --name "$NAME" --schemas "$src/schemas/facts" --json); then ok "adapter test chsi (exit 0)"; else bad "adapter test chsi (exit 0)" "got: $out"; fi
check "chsi signature" "$(jq -r .agency_signature <<<"$out")" xmldsig
check "chsi status" "$(jq -r '.facts["education.degrees"].status' <<<"$out")" ok
if jq -e '.response_sha256 | test("^[0-9a-f]{64}$")' <<<"$out" >/dev/null; then ok "chsi response_sha256"; else bad "chsi response_sha256" "got: $out"; fi
got=$(jq -c '[.facts["education.degrees"].value[] | [.level, .institution, .graduated_on, .certificate_no]]' <<<"$out")
want=$(pop '[.degrees[] | [.level, .institution, .graduated_on, .certificate_no]]' | jq -c .)
check "chsi degrees as the population lists them" "$got" "$want"

# mps over mutual TLS: identity and hukou
if out=$("$gwctl" adapter test "$A/mps.json" --subject "$ID" --name "$NAME" --schemas "$src/schemas/facts" --json); then ok "adapter test mps (exit 0)"; else bad "adapter test mps (exit 0)" "got: $out"; fi
check "mps channel" "$(jq -r .channel <<<"$out")" mtls
check "mps match" "$(jq -r '.facts["identity.match"].value' <<<"$out")" true
check "mps birth date" "$(jq -r '.facts["identity.birth_date"].value' <<<"$out")" "$(pop .mps.birth_date)"

# every other adapter answers something definitive for this person
for a in si credit cscse qual; do
  if out=$("$gwctl" adapter test "$A/$a.json" --subject "$ID" --name "$NAME" --schemas "$src/schemas/facts" --json); then ok "adapter test $a (exit 0)"; else bad "adapter test $a (exit 0)" "got: $out"; fi
  if jq -e '[.facts[].status] | all(. == "ok" or . == "not_found")' <<<"$out" >/dev/null; then ok "$a: every fact ok or not_found"; else bad "$a: every fact ok or not_found" "got: $out"; fi
done

# a tampered signature is caught and reported
curl -fsS -X PUT -d '{"mode":"bad_signature"}' "$control/agencies/chsi/fault" >/dev/null
rc=0; out=$("$gwctl" adapter test "$A/chsi.json" --subject "$ID" --name "$NAME" --json) || rc=$?
check "bad signature: exit 1" "$rc" 1
check "bad signature: reported as the fact's error" "$(jq -r '.facts["education.degrees"].error' <<<"$out")" bad_signature
curl -fsS -X DELETE "$control/agencies/chsi/fault" >/dev/null

# the identity number is validated before anything is sent
rc=0; "$gwctl" adapter test "$A/chsi.json" --subject 11010519491231002Y --name x >/dev/null 2>&1 || rc=$?
check "invalid subject: usage error (2) before any exchange" "$rc" 2

