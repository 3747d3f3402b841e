#!/usr/bin/env bash
# gm.stack_gm / gm.stack_dual - the whole stack in a 国密 profile
# (docs/crypto.md), checked by implementations that are not ours.
#
#   GW_CRYPTO_PROFILE=gm|dual stack.sh GMCHECK JWS_TOOL
#
# scripts/stack brings the stack up with --set crypto.profile=PROFILE (the
# harness adds it); then, as the engine over mTLS:
#  - GET /v1/keys holds SM2 JWKs (gm: only those; dual: P-256 and SM2);
#  - a query's ok facts carry GmSM2 attestations (gm: "attestation"; dual:
#    "attestation" ES256 and "attestation_sm2" GmSM2 over the same payload)
#    that gmsm (gmcheck) verifies from the served JWKS and the openssl
#    command line verifies with -sigopt distid:1234567812345678;
#  - the served checkpoint verifies with Go's sumdb/note (Ed25519 line, key
#    from /v1/audit/checkpoint-key) and gmsm (SM2 line, key from
#    /v1/audit/checkpoint-key-sm2); gwctl audit verify still accepts the log;
#  - gm only: an SM2 tls.cert is refused at start with a message naming
#    TLCP and docs/deployment.md.
SUITE=gm-stack
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib/harness.sh"
GMCHECK=${1:?usage: stack.sh GMCHECK JWS_TOOL}
JWS_TOOL=${2:?usage: stack.sh GMCHECK JWS_TOOL}
PROFILE=${GW_CRYPTO_PROFILE:?GW_CRYPTO_PROFILE must be gm or dual}

stack_start "$TMP/stack"
GW=$(jq -r .gateway.url "$S")
CA=$(jq -r .pki.gateway_ca "$S")
CERT=$(jq -r .pki.clients.engine.cert "$S")
KEY=$(jq -r .pki.clients.engine.key "$S")
CFG=$(jq -r .gateway.config "$S")
get() { curl -fsS --cacert "$CA" --cert "$CERT" --key "$KEY" "$@"; }
b64url_dec() {
  local s=${1//-/+}; s=${s//_//}
  case $((${#s} % 4)) in 2) s+="==" ;; 3) s+="=" ;; esac
  printf '%s' "$s" | base64 -d
}
hexs() { od -An -v -tx1 | tr -d ' \n'; }

check "gateway.json: crypto.profile" "$(jq -r .crypto.profile "$CFG")" "$PROFILE"

# --- JWKS ------------------------------------------------------------------------
get "$GW/v1/keys" >"$TMP/jwks.json"
nsm2=$(jq '[.keys[] | select(.kty == "EC" and .crv == "SM2" and .alg == "GmSM2")] | length' "$TMP/jwks.json")
np256=$(jq '[.keys[] | select(.crv == "P-256")] | length' "$TMP/jwks.json")
check "JWKS: one SM2 key (GmSM2)" "$nsm2" 1
check "JWKS: P-256 keys only in dual" "$np256" "$([[ $PROFILE == dual ]] && echo 1 || echo 0)"
# the SM2 JWK is the public half of the test PKI's attest-sm2 key
spki=$(openssl pkey -in "$(dirname "$S")/pki/gateway/attest-sm2.key" -pubout -outform DER | tail -c 64 | hexs)
jwk=$( { b64url_dec "$(jq -r '.keys[] | select(.crv == "SM2") | .x' "$TMP/jwks.json")";
         b64url_dec "$(jq -r '.keys[] | select(.crv == "SM2") | .y' "$TMP/jwks.json")"; } | hexs)
check "JWKS: the SM2 JWK is the configured key's point" "$jwk" "$spki"

# --- a query ---------------------------------------------------------------------
id=$(jq -r '.subjects[] | select(.scenario == "graduate-master") | .id' "$S")
name=$(jq -r '.subjects[] | select(.scenario == "graduate-master") | .name' "$S")
body=$(jq -nc --arg id "$id" --arg n "$name" \
  '{subject: {id_type: "cn-resident-id", id: $id, name: $n},
    facts: ["education.degrees", "identity.match"], purpose: "talent.graduate"}')
get -H 'Content-Type: application/json' --data-binary "$body" "$GW/v1/facts/query" >"$TMP/answer.json"
field=attestation
[[ $PROFILE == dual ]] && field=attestation_sm2
n=0 good=0 cli=0
for fact in $(jq -r '.facts | to_entries[] | select(.value.status == "ok") | .key' "$TMP/answer.json"); do
  n=$((n + 1))
  jq -r --arg f "$fact" --arg k "$field" '.facts[$f][$k]' "$TMP/answer.json" >"$TMP/jws"
  if "$GMCHECK" jws "$TMP/jwks.json" "$TMP/jws" >"$TMP/payload" 2>"$TMP/gmcheck.err" &&
     jq -e --arg f "$fact" --arg sub "$(jq -r .subject_ref "$TMP/answer.json")" \
        --argjson v "$(jq -c --arg f "$fact" '.facts[$f].value' "$TMP/answer.json")" \
        '.fact == $f and .sub == $sub and .value == $v' "$TMP/payload" >/dev/null; then
    good=$((good + 1))
  else
    bad "$fact: gmsm verifies $field and it names the answer" "$(cat "$TMP/gmcheck.err")"
  fi
  # openssl: r||s to DER, SM3 with the distinguishing ID
  IFS=. read -r h p s <"$TMP/jws"
  printf '%s.%s' "$h" "$p" >"$TMP/input"
  b64url_dec "$s" >"$TMP/sig.raw"
  printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' \
    "$(head -c 32 "$TMP/sig.raw" | hexs)" "$(tail -c 32 "$TMP/sig.raw" | hexs)" >"$TMP/sig.cnf"
  openssl asn1parse -genconf "$TMP/sig.cnf" -out "$TMP/sig.der" -noout
  openssl pkey -in "$(dirname "$S")/pki/gateway/attest-sm2.key" -pubout -out "$TMP/sm2.pub"
  if openssl dgst -sm3 -verify "$TMP/sm2.pub" -sigopt distid:1234567812345678 \
       -signature "$TMP/sig.der" "$TMP/input" >/dev/null 2>&1; then
    cli=$((cli + 1))
  else
    bad "$fact: openssl dgst -sm3 verifies $field"
  fi
  if [[ $PROFILE == dual ]]; then
    es=$(jq -r --arg f "$fact" '.facts[$f].attestation' "$TMP/answer.json")
    check "$fact: dual: ES256 and GmSM2 attestations sign the same payload" \
      "$(cut -d. -f2 <<<"$es")" "$p"
    printf '%s' "$es" >"$TMP/es.jws"
    check_true "$fact: dual: the ES256 attestation verifies from the JWKS" \
      quiet "$JWS_TOOL" verify "$TMP/jwks.json" "$TMP/es.jws"
    check "$fact: dual: the ES256 header" "$(b64url_dec "$(cut -d. -f1 <<<"$es")" | jq -r .alg)" ES256
  fi
done
((n >= 2)) && ok "$n ok facts in the answer" || bad "at least 2 ok facts" "$(cat "$TMP/answer.json")"
check "every $field verifies with gmsm and names the answer" "$good" "$n"
check "every $field verifies with openssl dgst -sm3 -sigopt distid" "$cli" "$n"

# --- the checkpoint ----------------------------------------------------------------
get "$GW/v1/audit/checkpoint-key" >"$TMP/ed.vkey"
get "$GW/v1/audit/checkpoint-key-sm2" >"$TMP/sm2.vkey"
# wait (bounded) for a checkpoint that covers the query's records
size=0
for _ in $(seq 1 150); do
  get "$GW/v1/audit/checkpoint" >"$TMP/note"
  size=$(sed -n 2p "$TMP/note")
  ((size >= 2)) && break
  sleep 0.1
done
check_true "the checkpoint verifies: sumdb/note (Ed25519) and gmsm (SM2 line)" \
  quiet "$GMCHECK" note "$TMP/ed.vkey" "$TMP/sm2.vkey" "$TMP/note"
check "the checkpoint has two signature lines" "$(grep -c '^— ' "$TMP/note")" 2
check_true "gwctl audit verify accepts the gm log" \
  quiet "$GW_BUILD_DIR/gateway/gwctl" audit verify "$(jq -r .gateway.audit_dir "$S")" --key-file "$TMP/ed.vkey"

# --- TLS: an SM2 server certificate is refused --------------------------------------
if [[ $PROFILE == gm ]]; then
  jq --arg c "$(dirname "$S")/pki/negative/sm2-server.pem" \
     --arg k "$(dirname "$S")/pki/negative/sm2-server.key" \
     '.tls.cert = $c | .tls.key = $k' "$CFG" >"$(dirname "$CFG")/sm2-tls.json"
  rc=0
  "$GW_BUILD_DIR/gateway/gatewayd" --check-config --config "$(dirname "$CFG")/sm2-tls.json" \
    >/dev/null 2>"$TMP/tls.err" || rc=$?
  check "an SM2 tls.cert: gatewayd --check-config exits 2" "$rc" 2
  check_true "the refusal names SM2, TLCP and docs/deployment.md" \
    grep -q 'an SM2 certificate.*TLCP.*docs/deployment.md' "$TMP/tls.err"
fi
