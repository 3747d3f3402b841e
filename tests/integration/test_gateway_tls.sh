#!/usr/bin/env bash
# gatewayd over real TLS: what a client, a tester and an operator see.
#  - /healthz over TLS with a client certificate from the client CA: 200
#  - no client certificate, an expired one, one from an unknown CA: refused
#  - TLS 1.0/1.1 refused, TLS 1.2 and 1.3 accepted
#  - the ops listener answers /healthz and /readyz over plain HTTP
#  - errors are problem+json with X-Request-Id; limits answer 431/413/400
#  - keep-alive: two requests on one connection
#  - SIGTERM: exit status 0 and a "stopped" log line
set -euo pipefail
gatewayd=$1
src=$2
tmp=$(mktemp -d)
gw_pid=
cleanup() {
  if [ -n "$gw_pid" ] && kill -0 "$gw_pid" 2>/dev/null; then kill -KILL "$gw_pid"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- gateway log:" >&2; tail -20 "$tmp/gw.log" >&2 || true; exit 1; }

bash "$src/certs/gen-pki.sh" "$tmp/pki" >/dev/null
pki=$tmp/pki
mkdir -p "$tmp/adapters"
cat >"$tmp/gw.json" <<JSON
{ "gateway_id": "gw-it", "workers": 2, "log_level": "info",
  "listen": {"address": "127.0.0.1", "port": 0},
  "ops_listen": {"address": "127.0.0.1", "port": 0},
  "tls": {"cert": "pki/gateway/server.pem", "key": "pki/gateway/server.key",
          "client_ca": "pki/client-ca.pem", "require_client_cert": true},
  "limits": {"max_header_bytes": 4096, "max_headers": 16, "max_body_bytes": 1024},
  "adapters_dir": "adapters", "schemas_dir": "$src/schemas/facts", "acl": "$src/scripts/stack.acl.json",
  "keys": {"attestation": "pki/gateway/attest.key", "subject_secret": "pki/gateway/subject-ref.secret"},
  "audit": {"dir": "audit", "checkpoint_key": "pki/gateway/checkpoint.key", "seal_cert": "pki/auditor/seal.pem"} }
JSON

"$gatewayd" --config "$tmp/gw.json" --ports-file "$tmp/ports.json" 2>"$tmp/gw.log" &
gw_pid=$!
# Wait (bounded) for the ports file the daemon writes once it is bound.
for _ in $(seq 1 200); do
  [ -s "$tmp/ports.json" ] && break
  kill -0 "$gw_pid" 2>/dev/null || fail "gatewayd exited at start"
  sleep 0.05
done
[ -s "$tmp/ports.json" ] || fail "gatewayd did not write its ports file"
api=$(jq -r .api "$tmp/ports.json")
ops=$(jq -r .ops "$tmp/ports.json")
url=https://127.0.0.1:$api

engine=(--cacert "$pki/gateway-ca.pem" --cert "$pki/clients/engine.pem" --key "$pki/clients/engine.key")

# 1. healthz over TLS with the engine's certificate
out=$(curl -sS -D "$tmp/h1" "${engine[@]}" "$url/healthz") || fail "healthz with client cert"
[ "$out" = '{"status":"ok"}' ] || fail "healthz body: $out"
grep -q '^HTTP/1.1 200' "$tmp/h1" || fail "healthz status: $(head -1 "$tmp/h1")"
grep -qiE '^x-request-id: [0-9a-f]{32}' "$tmp/h1" || fail "no X-Request-Id"
grep -q '"event":"request".*"client":"engine".*"route":"/healthz","status":200' "$tmp/gw.log" \
  || fail "request log line with client identity missing"

# 2. refused without a client certificate, with an expired one, with an unknown CA's
if code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$pki/gateway-ca.pem" "$url/healthz" 2>/dev/null); then
  fail "request without client certificate answered with $code"
fi
if curl -sS -o /dev/null --cacert "$pki/gateway-ca.pem" --cert "$pki/negative/expired-client.pem" \
     --key "$pki/negative/expired-client.key" "$url/healthz" 2>/dev/null; then
  fail "expired client certificate accepted"
fi
if curl -sS -o /dev/null --cacert "$pki/gateway-ca.pem" --cert "$pki/negative/unknown-client.pem" \
     --key "$pki/negative/unknown-client.key" "$url/healthz" 2>/dev/null; then
  fail "client certificate from an unknown CA accepted"
fi
# and the server's certificate verifies only against the gateway CA
if curl -sS -o /dev/null --cacert "$pki/agency-ca.pem" --cert "$pki/clients/engine.pem" \
     --key "$pki/clients/engine.key" "$url/healthz" 2>/dev/null; then
  fail "server certificate verified against the wrong CA"
fi

# 3. protocol versions: 1.0 and 1.1 refused, 1.2 and 1.3 accepted
for v in tls1 tls1_1; do
  if echo | openssl s_client -connect "127.0.0.1:$api" -"$v" -cert "$pki/clients/engine.pem" \
       -key "$pki/clients/engine.key" -CAfile "$pki/gateway-ca.pem" >/dev/null 2>&1; then
    fail "$v handshake accepted"
  fi
done
for v in tls1_2 tls1_3; do
  out=$(printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
        openssl s_client -connect "127.0.0.1:$api" -"$v" -quiet -verify_return_error \
          -cert "$pki/clients/engine.pem" -key "$pki/clients/engine.key" \
          -CAfile "$pki/gateway-ca.pem" 2>/dev/null) || true
  grep -q '{"status":"ok"}' <<<"$out" || fail "$v handshake or request failed"
done

# 4. ops listener, plain HTTP
[ "$(curl -sS "http://127.0.0.1:$ops/healthz")" = '{"status":"ok"}' ] || fail "ops healthz"
[ "$(curl -sS "http://127.0.0.1:$ops/readyz")" = '{"status":"ready"}' ] || fail "ops readyz"

# 5. errors: problem+json, with the status a client can act on
code=$(curl -sS -o "$tmp/b" -D "$tmp/h" -w '%{http_code}' "${engine[@]}" "$url/nope")
[ "$code" = 404 ] || fail "unknown path gave $code"
grep -qi '^content-type: application/problem+json' "$tmp/h" || fail "404 is not problem+json"
[ "$(jq -r '.status, .type' "$tmp/b" | paste -sd' ')" = "404 /problems/not-found" ] || fail "404 body: $(cat "$tmp/b")"
rid=$(jq -r .request_id "$tmp/b")
grep -qi "^x-request-id: $rid" "$tmp/h" || fail "problem request_id differs from X-Request-Id"

code=$(curl -sS -o /dev/null -w '%{http_code}' "${engine[@]}" -X POST "$url/healthz")
[ "$code" = 405 ] || fail "POST /healthz gave $code"

big=$(head -c 5000 /dev/zero | tr '\0' a)
code=$(curl -sS -o /dev/null -w '%{http_code}' "${engine[@]}" -H "X-Big: $big" "$url/healthz")
[ "$code" = 431 ] || fail "oversized head gave $code"

hdrs=(); for i in $(seq 1 20); do hdrs+=(-H "X-H$i: v"); done
code=$(curl -sS -o /dev/null -w '%{http_code}' "${engine[@]}" "${hdrs[@]}" "$url/healthz")
[ "$code" = 431 ] || fail "too many headers gave $code"

code=$(curl -sS -o /dev/null -w '%{http_code}' "${engine[@]}" --data-binary "@$gatewayd" \
       -H 'Expect:' "$url/healthz")
[ "$code" = 413 ] || fail "oversized body gave $code"

out=$(printf 'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc' |
      openssl s_client -connect "127.0.0.1:$api" -quiet -cert "$pki/clients/engine.pem" \
        -key "$pki/clients/engine.key" -CAfile "$pki/gateway-ca.pem" 2>/dev/null | head -1) || true
[[ "$out" == "HTTP/1.1 400 "* ]] || fail "Content-Length with Transfer-Encoding gave: $out"

# a chunked body is read (tests/integration/front_clients.py checks its answers)
code=$(curl -sS -o /dev/null -w '%{http_code}' "${engine[@]}" -H 'Transfer-Encoding: chunked' \
       --data-binary x "$url/healthz")
[ "$code" = 405 ] || fail "chunked POST /healthz gave $code, not 405"

# 6. keep-alive: two requests on one connection
n=$(curl -sS -v "${engine[@]}" "$url/healthz" "$url/healthz" 2>&1 | grep -c 'Re-using existing connection' || true)
[ "$n" -ge 1 ] || fail "second request did not reuse the connection"

# 7. SIGTERM stops cleanly
kill -TERM "$gw_pid"
rc=0; wait "$gw_pid" || rc=$?
gw_pid=
[ "$rc" = 0 ] || fail "gatewayd exited with $rc after SIGTERM"
grep -q '"event":"stopped"' "$tmp/gw.log" || fail "no stopped log line"
echo "ok"
