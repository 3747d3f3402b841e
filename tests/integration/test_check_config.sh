#!/usr/bin/env bash
# gatewayd --check-config: 0 and "ok" for a good file; for a broken one,
# exit 2 and one line naming the file, the field and the problem.
set -euo pipefail
SUITE=check_config
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib/harness.sh"
gatewayd=$GW_BUILD_DIR/gateway/gatewayd
src=$GW_SOURCE_DIR
tmp=$TMP

bash "$src/certs/gen-pki.sh" "$tmp/pki" >/dev/null
mkdir -p "$tmp/adapters"
rest="\"adapters_dir\": \"adapters\", \"schemas_dir\": \"$src/schemas/facts\", \"acl\": \"$src/scripts/stack.acl.json\",
  \"keys\": {\"attestation\": \"pki/gateway/attest.key\", \"subject_secret\": \"pki/gateway/subject-ref.secret\"},
  \"audit\": {\"dir\": \"audit\", \"checkpoint_key\": \"pki/gateway/checkpoint.key\", \"seal_cert\": \"pki/auditor/seal.pem\"}"
tls="\"tls\": {\"cert\": \"pki/gateway/server.pem\", \"key\": \"pki/gateway/server.key\", \"client_ca\": \"pki/client-ca.pem\"}, $rest"

check_config() {   # check_config NAME JSON WANT_RC WANT_TEXT
  printf '%s\n' "$2" >"$tmp/$1.json"
  local out rc=0
  out=$("$gatewayd" --config "$tmp/$1.json" --check-config 2>&1) || rc=$?
  check "$1: exit status" "$rc" "$3"
  check "$1: the one line" "$out" "$tmp/$1.json: $4"
}

check_config good "{\"gateway_id\": \"g\", $tls}" 0 "ok"
check_config port "{\"gateway_id\": \"g\", \"listen\": {\"port\": -1}, $tls}" 2 \
  "listen.port: must be between 0 and 65535 (got -1)"
check_config typo "{\"gateway_id\": \"g\", \"ops_listen\": {\"adress\": \"127.0.0.1\"}, $tls}" 2 \
  "ops_listen.adress: unknown field (known here: address, port)"
check_config workers "{\"gateway_id\": \"g\", \"workers\": \"two\", $tls}" 2 \
  "workers: must be an integer"
check_config nocert "{\"gateway_id\": \"g\", \"tls\": {\"cert\": \"pki/missing.pem\", \"key\": \"pki/gateway/server.key\", \"client_ca\": \"pki/client-ca.pem\"}, $rest}" 2 \
  "tls.cert: cannot read $tmp/pki/missing.pem: No such file or directory"
# a key that does not belong to the certificate is caught before start
printf '{"gateway_id": "g", "tls": {"cert": "pki/gateway/server.pem", "key": "pki/clients/engine.key", "client_ca": "pki/client-ca.pem"}, %s}\n' "$rest" >"$tmp/mismatch.json"
rc=0; out=$("$gatewayd" --config "$tmp/mismatch.json" --check-config 2>&1) || rc=$?
check "mismatched key: exit status" "$rc" 2
if [[ "$out" == "$tmp/mismatch.json: tls.key"* ]]; then ok "mismatched key: names tls.key"; else bad "mismatched key: names tls.key" "got: $out"; fi
# a broken adapter is named by file and field, and the audit log is not touched
cp -r "$src/adapters" "$tmp/adapters-bad"
jq '.mapping["education.degrees"].item.object.level.type = "datetime"' "$src/adapters/chsi.json" \
  >"$tmp/adapters-bad/chsi.json"
printf '{"gateway_id": "g", %s}\n' "${tls/\"adapters\"/\"adapters-bad\"}" >"$tmp/badadapter.json"
rc=0; out=$("$gatewayd" --config "$tmp/badadapter.json" --check-config 2>&1) || rc=$?
check "broken adapter: exit status" "$rc" 2
if [[ "$out" == *"chsi.json: mapping.education.degrees.item.object.level.type: must be one of"* ]]; then ok "broken adapter: named by file and field"; else bad "broken adapter: named by file and field" "got: $out"; fi
if [ ! -e "$tmp/audit" ]; then ok "--check-config leaves no audit log"; else bad "--check-config leaves no audit log"; fi

