#!/usr/bin/env bash
# query.attest - attestations checked by implementations that are not ours.
#
# The public key comes from GET /v1/keys as a JWK; the PEM is built by hand
# (fixed DER prefix for a P-256 SubjectPublicKeyInfo, 04, x, y), the JWS
# signature r||s is turned into DER with `openssl asn1parse -genconf` and
# checked with `openssl dgst -sha256 -verify`.  Each payload must name the
# gateway (iss), the subject (sub = the answer's subject_ref), the fact and
# exactly the value of the answer.  A tampered payload or signature fails.
# With "sign": true the detached Gateway-Signature covers the exact body
# bytes.  When Debian's python3-cryptography is installed it verifies
# everything a second time.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

stack_up "$TMP/stack"
jwks_load
check "JWKS: at least one P-256 key, each with kid, alg ES256, no private part" \
  "$(jq -c '[(.keys | length > 0), (.keys | all(.kty == "EC" and .crv == "P-256" and .alg == "ES256" and (.kid | length > 0) and (has("d") | not)))]' "$TMP/jwks.json")" \
  '[true,true]'
# RFC 7638 thumbprint, computed with jq and openssl: the kid.
thumb=$(jq -cj '.keys[0] | {crv, kty, x, y}' "$TMP/jwks.json" | openssl dgst -sha256 -binary | b64url_enc)
check "JWKS: kid is the RFC 7638 thumbprint" "$(jq -r '.keys[0].kid' "$TMP/jwks.json")" "$thumb"

# verify_answer LABEL: every attestation of the last answer.
verify_answer() {
  local label=$1 fact jws n=0 good=0 bound=0 now
  now=$(date +%s)
  : >"$TMP/jws.lines"
  for fact in $(jq -r '.facts | to_entries[] | select(.value.attestation) | .key' <<<"$BODY"); do
    jws=$(f "$fact" .attestation | jq -r .)
    echo "$jws" >>"$TMP/jws.lines"
    n=$((n + 1))
    if ossl_verify_compact "$jws"; then
      good=$((good + 1))
    else
      bad "$label: $fact verifies with openssl"
      continue
    fi
    # what is signed is what was answered
    if jq -e --arg iss "$GW_ID" --arg fact "$fact" \
          --arg sub "$(jq -r .subject_ref <<<"$BODY")" \
          --argjson value "$(f "$fact" .value)" --arg agency "$(f "$fact" .source | jq -r .)" \
          --argjson now "$now" \
          '.iss == $iss and .sub == $sub and .fact == $fact and .value == $value
           and .src.agency == $agency and (.src.evidence | test("^[0-9a-f]{64}$"))
           and (.iat | type) == "number" and .iat <= $now + 1 and .exp > .iat' \
          "$TMP/payload.json" >/dev/null &&
       jq -e '.typ == "gw-fact+jws" and .alg == "ES256"' "$TMP/header.json" >/dev/null; then
      bound=$((bound + 1))
    else
      bad "$label: $fact payload is bound to the answer" "$(cat "$TMP/header.json" "$TMP/payload.json")"
    fi
  done
  check "$label: $n attestations verify with openssl and match the answer" "$good/$bound" "$n/$n"
  if have_pycrypto; then
    check "$label: python3-cryptography agrees" \
      "$(py_verify "$TMP/jwks.json" <"$TMP/jws.lines" | sort | uniq -c | awk '{print $2 "=" $1}' | paste -sd' ')" \
      "ok=$n"
  fi
}

for sc in graduate-master overseas-doctor inservice-senior-title credit-dishonest; do
  case $sc in
    overseas-*) purpose=talent.overseas ;;
    inservice-*) purpose=talent.inservice ;;
    *) purpose=talent.graduate ;;
  esac
  ask "$sc" "$purpose" "$(allowed "$purpose")"
  check "$sc: HTTP 200" "$STATUS" 200
  verify_answer "$sc"
done
check "overseas-doctor: the cscse fact is attested with the agency's JWS noted" \
  "$(ask overseas-doctor talent.overseas overseas.certifications; f overseas.certifications .attestation |
     jq -r . | cut -d. -f2 | { read -r p; b64url_dec "$p"; } | jq -r .src.signature)" jws
check "graduate-master: the chsi fact notes the agency's XML signature" \
  "$(ask graduate-master talent.graduate education.degrees; f education.degrees .attestation |
     jq -r . | cut -d. -f2 | { read -r p; b64url_dec "$p"; } | jq -r .src.signature)" xmldsig

# Tampering: another value under the same signature, a flipped signature
# byte, a header claiming "none".
ask graduate-master talent.graduate education.degrees
jws=$(f education.degrees .attestation | jq -r .)
IFS=. read -r h p s <<<"$jws"
p2=$(b64url_dec "$p" | jq -c '.value[0].level = "doctor"' | tr -d '\n' | b64url_enc)
check_false "tampered payload fails openssl" ossl_verify_compact "$h.$p2.$s"
sigbytes=$(b64url_dec "$s" | hex)
flipped=$(printf '%s' "${sigbytes:0:10}$(printf '%02x' $(((0x${sigbytes:10:2} ^ 1))))${sigbytes:12}" | xxd -r -p | b64url_enc)
check_false "flipped signature bit fails openssl" ossl_verify_compact "$h.$p.$flipped"
check_true "the untampered one still verifies" ossl_verify_compact "$jws"
if have_pycrypto; then
  check "python3-cryptography refuses both tampered ones" \
    "$(printf '%s\n%s\n' "$h.$p2.$s" "$h.$p.$flipped" | py_verify "$TMP/jwks.json" | paste -sd' ')" "bad bad"
fi
# Our own offline verifier agrees (JWKS from a file: /v1/keys needs the
# client certificate at the TLS layer of this stack).
printf '%s' "$BODY" >"$TMP/resp.json"
check_true "gwctl verify accepts the answer" quiet "$GWCTL" verify --jwks "$TMP/jwks.json" "$TMP/resp.json"
jq --arg j "$h.$p2.$s" '.facts["education.degrees"].attestation = $j' "$TMP/resp.json" >"$TMP/tampered.json"
check_false "gwctl verify refuses the tampered answer" quiet "$GWCTL" verify --jwks "$TMP/jwks.json" "$TMP/tampered.json"

# The detached signature of the whole body.
ask graduate-doctor talent.graduate "$(allowed talent.graduate)" '{"sign": true, "case_ref": "SZ-SIGN-1"}'
check "sign: HTTP 200" "$STATUS" 200
sig=$(header Gateway-Signature)
check "sign: Gateway-Signature is detached (header..signature)" \
  "$([[ "$sig" =~ ^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$ ]] && echo yes)" yes
cp "$BODY_FILE" "$TMP/signed.body"
check_true "sign: openssl verifies it over the exact body bytes" ossl_verify_detached "$sig" "$TMP/signed.body"
if have_pycrypto; then
  check "sign: python3-cryptography agrees" "$(echo "$sig" | py_verify "$TMP/jwks.json" "$TMP/signed.body")" ok
fi
printf ' ' >>"$TMP/signed.body"
check_false "sign: one byte more and it fails" ossl_verify_detached "$sig" "$TMP/signed.body"
sed 's/SZ-SIGN-1/SZ-SIGN-2/' "$BODY_FILE" >"$TMP/signed.body"
check_false "sign: another case_ref and it fails" ossl_verify_detached "$sig" "$TMP/signed.body"
verify_answer "signed answer"
ask graduate-doctor talent.graduate identity.match
check "no sign: no Gateway-Signature header" "$(header Gateway-Signature)" ""
