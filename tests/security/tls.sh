#!/usr/bin/env bash
# security.tls: the TLS policy of the API listener (gateway/src/tls.c) and who
# may ask for facts, seen from independent clients (openssl s_client, curl).
#   - TLS 1.0 and 1.1 refused with a protocol_version alert (the client is
#     made to offer them with @SECLEVEL=0, so the refusal is the server's);
#     TLS 1.2 and 1.3 accepted and serving.
#   - TLS 1.2 suites outside the policy refused with a handshake_failure
#     alert: CBC suites with ECDHE-ECDSA (which the server's P-256 key could
#     otherwise use), NULL encryption, non-ECDHE key exchange, CCM/ARIA/
#     CAMELLIA; RC4, 3DES and EXPORT are tried if the local OpenSSL can still
#     offer them (Debian 12's cannot: the script says so).  TLS 1.3 suites
#     outside the list (CCM) refused.  The allowed suites all negotiate.
#   - client certificates: none, expired, from an unknown CA: no handshake;
#   - the stranger (valid certificate, in no ACL) and the auditor get 403
#     problem+json on POST /v1/facts/query; the engine gets 200.
#   - client-initiated renegotiation refused (TLS 1.2, no_renegotiation
#     alert); no session ticket issued.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
stack_up "$TMP/stack"

# handshake ARGS...: one handshake as the engine; prints the s_client output.
handshake() {
  echo | timeout 20 openssl s_client -connect "127.0.0.1:$GW_PORT" -CAfile "$GW_CA" \
    -cert "$PKI/clients/engine.pem" -key "$PKI/clients/engine.key" "$@" 2>&1 || true
}
# negotiated OUTPUT: "TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256" or "(NONE)".
negotiated() {
  sed -n 's/^New, \([^,]*\), Cipher is \(.*\)$/\1 \2/p' <<<"$1" | head -n 1 | sed 's/^(NONE) (NONE)$/(NONE)/'
}
# alert OUTPUT: the alert the server sent, e.g. "protocol version", or "none".
alert() {
  local a
  a=$(grep -o 'alert [a-z ]*' <<<"$1" | head -n 1 | sed 's/^alert //')
  echo "${a:-none}"
}

# ---- protocol versions --------------------------------------------------------
for v in tls1 tls1_1; do
  out=$(handshake -"$v" -cipher 'DEFAULT@SECLEVEL=0')
  check "$v offered: refused by the server with a protocol_version alert" \
    "$(negotiated "$out") / $(alert "$out")" "(NONE) / protocol version"
done
for v in tls1_2 tls1_3; do
  out=$(printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
        timeout 20 openssl s_client -connect "127.0.0.1:$GW_PORT" -"$v" -quiet \
          -verify_return_error -CAfile "$GW_CA" -cert "$PKI/clients/engine.pem" \
          -key "$PKI/clients/engine.key" 2>/dev/null) || true
  check "$v: handshake and GET /healthz" "$(head -n 1 <<<"$out" | tr -d '\r')" "HTTP/1.1 200 OK"
done

# ---- TLS 1.2 cipher suites ------------------------------------------------------
for c in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305; do
  out=$(handshake -tls1_2 -cipher "$c")
  check "TLS 1.2 $c (policy): negotiated" "$(negotiated "$out")" "TLSv1.2 $c"
done
# name:why; each offered alone, at security level 0 so the client offers it.
weak=(
  "ECDHE-ECDSA-AES128-SHA:CBC with SHA-1 MAC"
  "ECDHE-ECDSA-AES256-SHA:CBC with SHA-1 MAC"
  "ECDHE-ECDSA-AES128-SHA256:CBC"
  "ECDHE-ECDSA-AES256-SHA384:CBC"
  "ECDHE-ECDSA-NULL-SHA:NULL encryption"
  "ECDHE-ECDSA-AES128-CCM8:short-tag CCM, not in the policy"
  "ECDHE-ECDSA-ARIA128-GCM-SHA256:not in the policy"
  "ECDHE-ECDSA-CAMELLIA128-SHA256:CBC, not in the policy"
  "AES128-SHA:RSA key exchange (no forward secrecy), CBC"
  "AES128-GCM-SHA256:RSA key exchange (no forward secrecy)"
  "NULL-SHA256:NULL encryption, RSA key exchange"
  "DHE-RSA-AES128-GCM-SHA256:finite-field DHE"
  "ECDHE-ECDSA-RC4-SHA:RC4"
  "RC4-SHA:RC4"
  "DES-CBC3-SHA:3DES"
  "ECDHE-ECDSA-DES-CBC3-SHA:3DES"
  "EXP-RC4-MD5:EXPORT"
  "EXP-DES-CBC-SHA:EXPORT"
)
for w in "${weak[@]}"; do
  c=${w%%:*} why=${w#*:}
  if ! openssl ciphers -tls1_2 "$c@SECLEVEL=0" >/dev/null 2>&1; then
    note "$c ($why): the local OpenSSL ($(openssl version | cut -d' ' -f2)) cannot offer it; not tried"
    continue
  fi
  out=$(handshake -tls1_2 -cipher "$c@SECLEVEL=0")
  check "TLS 1.2 $c ($why): refused with a handshake_failure alert" \
    "$(negotiated "$out") / $(alert "$out")" "(NONE) / handshake failure"
done
note "the server key is EC P-256: RSA key exchange could not work with it anyway; the ECDHE-ECDSA CBC/NULL/CCM rows show the cipher policy itself"

# ---- TLS 1.3 suites --------------------------------------------------------------
for c in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
  out=$(handshake -tls1_3 -ciphersuites "$c")
  check "TLS 1.3 $c: negotiated" "$(negotiated "$out")" "TLSv1.3 $c"
done
for c in TLS_AES_128_CCM_SHA256 TLS_AES_128_CCM_8_SHA256; do
  out=$(handshake -tls1_3 -ciphersuites "$c")
  check "TLS 1.3 $c (not in the policy): refused" "$(negotiated "$out") / $(alert "$out")" \
    "(NONE) / handshake failure"
done

# ---- renegotiation and tickets ----------------------------------------------------
# "R" on its own line asks s_client to renegotiate; the server refuses
# (SSL_OP_NO_RENEGOTIATION) with a no_renegotiation alert, and then no
# request on that connection is answered.
out=$( { echo R; sleep 1; printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'; sleep 1; } |
       timeout 20 openssl s_client -connect "127.0.0.1:$GW_PORT" -tls1_2 -CAfile "$GW_CA" \
         -cert "$PKI/clients/engine.pem" -key "$PKI/clients/engine.key" 2>&1 || true)
check "TLS 1.2 client-initiated renegotiation refused (no_renegotiation)" \
  "$(grep -c 'RENEGOTIATING' <<<"$out") $(grep -c ':no renegotiation:' <<<"$out")" "1 1"
check "after a refused renegotiation nothing is served" "$(grep -c '^HTTP/1.1 200' <<<"$out" || true)" 0
out=$(handshake -tls1_2)
check "TLS 1.2: no session ticket issued" "$(grep -c 'TLS session ticket:' <<<"$out" || true)" 0

# ---- client certificates -----------------------------------------------------------
req "$GW_URL/healthz"
check "no client certificate: no TLS session (curl fails)" "$([[ $RC != 0 ]] && echo refused)" refused
req --cert "$PKI/negative/expired-client.pem" --key "$PKI/negative/expired-client.key" "$GW_URL/healthz"
check "expired client certificate: refused" "$([[ $RC != 0 ]] && echo refused)" refused
req --cert "$PKI/negative/unknown-client.pem" --key "$PKI/negative/unknown-client.key" "$GW_URL/healthz"
check "client certificate from an unknown CA: refused" "$([[ $RC != 0 ]] && echo refused)" refused
out=$(handshake -tls1_2 -cert "$PKI/negative/expired-client.pem" -key "$PKI/negative/expired-client.key")
check "TLS 1.2, expired client certificate: certificate_expired alert" "$(alert "$out")" "certificate expired"
out=$(handshake -tls1_2 -cert "$PKI/negative/unknown-client.pem" -key "$PKI/negative/unknown-client.key")
check "TLS 1.2, unknown CA: unknown_ca alert" "$(alert "$out")" "unknown ca"

# ---- who may query --------------------------------------------------------------------
body=$(qbody graduate-master talent.graduate identity.match)
query engine "$body"
check "engine: 200 and the fact" "$STATUS $(jq -r '.facts["identity.match"].status' <<<"$BODY")" "200 ok"
for who in stranger auditor admin; do
  query "$who" "$body"
  check "$who on POST /v1/facts/query: 403 problem+json" \
    "$STATUS $(header Content-Type) $(jq -r .type <<<"$BODY")" \
    "403 application/problem+json /problems/forbidden"
done
# shellcheck disable=SC2046
req $(who stranger) "$GW_URL/v1/facts/catalogue"
check "stranger on GET /v1/facts/catalogue: 403" "$STATUS" 403
check "the stranger's query reached no agency" \
  "$(curl -sS "$CTL/stats" | jq '.mps.requests')" 1
