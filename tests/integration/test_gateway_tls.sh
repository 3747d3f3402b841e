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
SUITE=gateway_tls
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib/harness.sh"
gatewayd=$GW_BUILD_DIR/gateway/gatewayd
src=$GW_SOURCE_DIR
tmp=$TMP
gw_pid=
stop_gatewayd() {
  if [ -n "$gw_pid" ] && kill -0 "$gw_pid" 2>/dev/null; then kill -KILL "$gw_pid"; fi
}
EXTRA_CLEANUP=(stop_gatewayd)

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
  kill -0 "$gw_pid" 2>/dev/null || { bad "gatewayd exited at start" "$(tail -n 5 "$tmp/gw.log")"; exit 1; }
  sleep 0.05
done
[ -s "$tmp/ports.json" ] || { bad "gatewayd writes its ports file once bound"; exit 1; }
api=$(jq -r .api "$tmp/ports.json")
ops=$(jq -r .ops "$tmp/ports.json")
url=https://127.0.0.1:$api

engine=(--cacert "$pki/gateway-ca.pem" --cert "$pki/clients/engine.pem" --key "$pki/clients/engine.key")

# 1. healthz over TLS with the engine's certificate
if out=$(curl -sS -D "$tmp/h1" "${engine[@]}" "$url/healthz"); then ok "healthz with client cert"; else bad "healthz with client cert"; fi
check "healthz body" "$out" '{"status":"ok"}'
if grep -q '^HTTP/1.1 200' "$tmp/h1"; then ok "healthz status"; else bad "healthz status" "healthz status: $(head -1 "$tmp/h1")"; fi
if grep -qiE '^x-request-id: [0-9a-f]{32}' "$tmp/h1"; then ok "healthz carries an X-Request-Id"; else bad "healthz carries an X-Request-Id"; fi
if grep -q '"event":"request".*"client":"engine".*"route":"/healthz","status":200' "$tmp/gw.log"; then ok "request log line names the client"; else bad "request log line names the client"; fi

# 2. refused without a client certificate, with an expired one, with an unknown CA's
if code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$pki/gateway-ca.pem" "$url/healthz" 2>/dev/null); then
  bad "refused without a client certificate" "answered with $code"
else
  ok "refused without a client certificate"
fi
if curl -sS -o /dev/null --cacert "$pki/gateway-ca.pem" --cert "$pki/negative/expired-client.pem" \
     --key "$pki/negative/expired-client.key" "$url/healthz" 2>/dev/null; then
  bad "expired client certificate refused"
else
  ok "expired client certificate refused"
fi
if curl -sS -o /dev/null --cacert "$pki/gateway-ca.pem" --cert "$pki/negative/unknown-client.pem" \
     --key "$pki/negative/unknown-client.key" "$url/healthz" 2>/dev/null; then
  bad "client certificate from an unknown CA refused"
else
  ok "client certificate from an unknown CA refused"
fi
# and the server's certificate verifies only against the gateway CA
if curl -sS -o /dev/null --cacert "$pki/agency-ca.pem" --cert "$pki/clients/engine.pem" \
     --key "$pki/clients/engine.key" "$url/healthz" 2>/dev/null; then
  bad "server certificate does not verify against another CA"
else
  ok "server certificate does not verify against another CA"
fi

# 3. protocol versions: 1.0 and 1.1 refused, 1.2 and 1.3 accepted
for v in tls1 tls1_1; do
  if echo | openssl s_client -connect "127.0.0.1:$api" -"$v" -cert "$pki/clients/engine.pem" \
       -key "$pki/clients/engine.key" -CAfile "$pki/gateway-ca.pem" >/dev/null 2>&1; then
    bad "$v handshake refused"
  else
    ok "$v handshake refused"
  fi
done
for v in tls1_2 tls1_3; do
  out=$(printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
        openssl s_client -connect "127.0.0.1:$api" -"$v" -quiet -verify_return_error \
          -cert "$pki/clients/engine.pem" -key "$pki/clients/engine.key" \
          -CAfile "$pki/gateway-ca.pem" 2>/dev/null) || true
  if grep -q '{"status":"ok"}' <<<"$out"; then ok "$v handshake and request"; else bad "$v handshake and request"; fi
done

# 4. ops listener, plain HTTP
check "ops healthz" "$(curl -sS "http://127.0.0.1:$ops/healthz")" '{"status":"ok"}'
check "ops readyz" "$(curl -sS "http://127.0.0.1:$ops/readyz")" '{"status":"ready"}'

# 5. errors: problem+json, with the status a client can act on
code=$(curl -sS -o "$tmp/b" -D "$tmp/h" -w '%{http_code}' "${engine[@]}" "$url/nope")
check "unknown path: 404" "$code" 404
if grep -qi '^content-type: application/problem+json' "$tmp/h"; then ok "404 is problem+json"; else bad "404 is problem+json"; fi
check "404 body" "$(jq -r '.status, .type' "$tmp/b" | paste -sd' ')" "404 /problems/not-found"
rid=$(jq -r .request_id "$tmp/b")
if grep -qi "^x-request-id: $rid" "$tmp/h"; then ok "problem request_id is the X-Request-Id"; else bad "problem request_id is the X-Request-Id"; fi

code=$(curl -sS -o /dev/null -w '%{http_code}' "${engine[@]}" -X POST "$url/healthz")
check "POST /healthz: 405" "$code" 405

big=$(head -c 5000 /dev/zero | tr '\0' a)
code=$(curl -sS -o /dev/null -w '%{http_code}' "${engine[@]}" -H "X-Big: $big" "$url/healthz")
check "oversized head: 431" "$code" 431

hdrs=(); for i in $(seq 1 20); do hdrs+=(-H "X-H$i: v"); done
code=$(curl -sS -o /dev/null -w '%{http_code}' "${engine[@]}" "${hdrs[@]}" "$url/healthz")
check "too many headers: 431" "$code" 431

code=$(curl -sS -o /dev/null -w '%{http_code}' "${engine[@]}" --data-binary "@$gatewayd" \
       -H 'Expect:' "$url/healthz")
check "oversized body: 413" "$code" 413

out=$(printf 'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc' |
      openssl s_client -connect "127.0.0.1:$api" -quiet -cert "$pki/clients/engine.pem" \
        -key "$pki/clients/engine.key" -CAfile "$pki/gateway-ca.pem" 2>/dev/null | head -1) || true
if [[ "$out" == "HTTP/1.1 400 "* ]]; then ok "Content-Length with Transfer-Encoding: 400"; else bad "Content-Length with Transfer-Encoding: 400" "got: $out"; fi

# a chunked body is read (tests/integration/front_clients.py checks its answers)
code=$(curl -sS -o /dev/null -w '%{http_code}' "${engine[@]}" -H 'Transfer-Encoding: chunked' \
       --data-binary x "$url/healthz")
check "chunked POST /healthz is read (405, not 400/411)" "$code" 405

# 6. keep-alive: two requests on one connection
n=$(curl -sS -v "${engine[@]}" "$url/healthz" "$url/healthz" 2>&1 | grep -c 'Re-using existing connection' || true)
if [ "$n" -ge 1 ]; then ok "keep-alive: the second request reuses the connection"; else bad "keep-alive: the second request reuses the connection"; fi

# 7. SIGTERM stops cleanly
kill -TERM "$gw_pid"
rc=0; wait "$gw_pid" || rc=$?
gw_pid=
check "gatewayd exits 0 after SIGTERM" "$rc" 0
if grep -q '"event":"stopped"' "$tmp/gw.log"; then ok "stopped log line"; else bad "stopped log line"; fi

