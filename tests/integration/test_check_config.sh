#!/usr/bin/env bash
# gatewayd --check-config: 0 and "ok" for a good file; for a broken one,
# exit 2 and one line naming the file, the field and the problem.
set -euo pipefail
gatewayd=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

bash "$src/certs/gen-pki.sh" "$tmp/pki" >/dev/null
tls='"tls": {"cert": "pki/gateway/server.pem", "key": "pki/gateway/server.key", "client_ca": "pki/client-ca.pem"}'

check() {   # check NAME JSON WANT_RC WANT_TEXT
  printf '%s\n' "$2" >"$tmp/$1.json"
  local out rc=0
  out=$("$gatewayd" --config "$tmp/$1.json" --check-config 2>&1) || rc=$?
  [ "$rc" = "$3" ] || fail "$1: exit $rc, want $3 ($out)"
  [ "$out" = "$tmp/$1.json: $4" ] || fail "$1: got '$out', want '$tmp/$1.json: $4'"
}

check good "{\"gateway_id\": \"g\", $tls}" 0 "ok"
check port "{\"gateway_id\": \"g\", \"listen\": {\"port\": -1}, $tls}" 2 \
  "listen.port: must be between 0 and 65535 (got -1)"
check typo "{\"gateway_id\": \"g\", \"ops_listen\": {\"adress\": \"127.0.0.1\"}, $tls}" 2 \
  "ops_listen.adress: unknown field"
check workers "{\"gateway_id\": \"g\", \"workers\": \"two\", $tls}" 2 \
  "workers: must be an integer"
check nocert "{\"gateway_id\": \"g\", \"tls\": {\"cert\": \"pki/missing.pem\", \"key\": \"pki/gateway/server.key\", \"client_ca\": \"pki/client-ca.pem\"}}" 2 \
  "tls.cert: cannot read $tmp/pki/missing.pem: No such file or directory"
# a key that does not belong to the certificate is caught before start
printf '{"gateway_id": "g", "tls": {"cert": "pki/gateway/server.pem", "key": "pki/clients/engine.key", "client_ca": "pki/client-ca.pem"}}\n' >"$tmp/mismatch.json"
rc=0; out=$("$gatewayd" --config "$tmp/mismatch.json" --check-config 2>&1) || rc=$?
[ "$rc" = 2 ] || fail "mismatched key: exit $rc"
[[ "$out" == "$tmp/mismatch.json: tls.key"* ]] || fail "mismatched key: $out"
echo "ok"
