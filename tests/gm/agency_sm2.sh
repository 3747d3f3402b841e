#!/usr/bin/env bash
# gm.agency_sm2 - an agency that signs with SM2 (docs/crypto.md): the stack
# with --set mocks.sign=sm2, where the cscse mock signs its answers as GmSM2
# JWS (its own EVP code, SM3 and ID 1234567812345678) and the adapter's
# verify block names "alg": "GmSM2" with the agency's SM2 public key.
#  - an honest answer verifies: the fact is ok and its attestation records
#    the agency signature "jws";
#  - the hostile modes bad_signature and wrong_signer (a key from outside
#    the agency, here an SM2 one) are refused per fact as bad_signature;
#  - after the fault is cleared, answers verify again.
# And chsi, whose SOAP answers carry an enveloped XML-DSig with
# SignatureMethod xmldsig#sm2-sm3 and DigestMethod xmldsig#sm3 (the URIs of
# China's e-port systems), made with its SM2 certificate; the stack's chsi
# adapter names "alg": "sm2-sm3" and chsi-sm2.pem:
#  - a graduate's degrees are ok, the attestation records "xmldsig";
#  - bad_signature (content changed after signing), wrong_signer (a
#    stranger's SM2 certificate) and signature_wrapping (the signed Body
#    moved into a header, a forged Body in its place) are each refused per
#    fact as bad_signature with the verifier's reason, and the forged
#    degrees are never served.
SUITE=gm-agency
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib/harness.sh"

stack_start "$TMP/stack" --set mocks.sign=sm2
GW=$(jq -r .gateway.url "$S")
CA=$(jq -r .pki.gateway_ca "$S")
CERT=$(jq -r .pki.clients.engine.cert "$S")
KEY=$(jq -r .pki.clients.engine.key "$S")
CTL=$(jq -r .mocks.control_url "$S")
check "the cscse adapter names GmSM2 and the SM2 key" \
  "$(jq -r '.verify.alg + " " + (.verify.key | sub(".*/"; ""))' "$TMP/stack/adapters/cscse.json")" \
  "GmSM2 cscse-sm2.pub.pem"

# The curated overseas doctor first, then people never asked about before
# (a failed fetch of a known person would be served stale-if-error).
mapfile -t PEOPLE < <(jq -c '.people[] | select(.scenario == "overseas-doctor") | {id, name: (.listed_name // .name)}' \
                       "$GW_SOURCE_DIR/mocks/data/population.json"
                      "$GW_BUILD_DIR/mocks/mock-agencies" --sample 6 --seed 17 \
                        --data "$GW_SOURCE_DIR/mocks/data/population.json")
ask() {  # N: person N's overseas certifications, fresh
  local p=${PEOPLE[$1]}
  curl -sS --cacert "$CA" --cert "$CERT" --key "$KEY" -H 'Content-Type: application/json' \
    --data-binary "$(jq -nc --argjson p "$p" '{subject: {id_type: "cn-resident-id", id: $p.id, name: $p.name},
      facts: ["overseas.certifications"], purpose: "talent.overseas", max_age_s: 0}')" \
    "$GW/v1/facts/query"
}
fact() { jq -r '.facts["overseas.certifications"] | .status + " " + (.error.code // "")' <<<"$1"; }
src_sig() {
  local p
  p=$(jq -r '.facts["overseas.certifications"].attestation' <<<"$1" | cut -d. -f2 | tr '_-' '/+')
  case $((${#p} % 4)) in 2) p+="==" ;; 3) p+="=" ;; esac
  printf '%s' "$p" | base64 -d | jq -r .src.signature
}

a=$(ask 0)
check "an SM2-signed answer verifies: the fact is ok" "$(fact "$a")" "ok "
check "its attestation records the agency signature" "$(src_sig "$a")" jws
n=1
for mode in bad_signature wrong_signer; do
  st=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT -d "{\"mode\":\"$mode\"}" "$CTL/agencies/cscse/fault")
  check "mock: cscse fault $mode set" "$st" 200
  check "$mode (SM2): refused as bad_signature" "$(fact "$(ask $n)")" "unavailable bad_signature"
  n=$((n + 1))
  curl -sS -o /dev/null -X DELETE "$CTL/agencies/cscse/fault"
done
check "fault cleared: SM2-signed answers verify again" "$(fact "$(ask $n)" | grep -c '^unavailable')" 0

# ---- chsi: XML-DSig with sm2-sm3 -------------------------------------------
check "the chsi adapter names sm2-sm3 and the SM2 certificate" \
  "$(jq -r '.verify.alg + " " + (.verify.cert | sub(".*/"; ""))' "$TMP/stack/adapters/chsi.json")" \
  "sm2-sm3 chsi-sm2.pem"
GRAD=$(jq -c '[.people[] | select(.scenario == "graduate-master")][0] | {id, name: (.listed_name // .name)}' \
         "$GW_SOURCE_DIR/mocks/data/population.json")
degrees() {  # PERSON-JSON: the person's degrees, fresh
  curl -sS --cacert "$CA" --cert "$CERT" --key "$KEY" -H 'Content-Type: application/json' \
    --data-binary "$(jq -nc --argjson p "$1" '{subject: {id_type: "cn-resident-id", id: $p.id, name: $p.name},
      facts: ["education.degrees"], purpose: "talent.graduate", max_age_s: 0}')" \
    "$GW/v1/facts/query"
}
check_match() {  # WHAT ACTUAL REGEX (bash ERE)
  if [[ "$2" =~ $3 ]]; then ok "$1"; else bad "$1" "expected /$3/, got [$2]"; fi
}
dfact() { jq -r '.facts["education.degrees"] | .status + " " + (.error.code // "")' <<<"$1"; }
d=$(degrees "$GRAD")
check "an sm2-sm3 signed chsi answer verifies: education.degrees is ok" "$(dfact "$d")" "ok "
check "the graduate's master degree is served" \
  "$(jq -r '[.facts["education.degrees"].value[]?.level] | index("master") != null' <<<"$d")" true
p=$(jq -r '.facts["education.degrees"].attestation' <<<"$d" | cut -d. -f2 | tr '_-' '/+')
case $((${#p} % 4)) in 2) p+="==" ;; 3) p+="=" ;; esac
check "its attestation records the agency signature xmldsig" \
  "$(printf '%s' "$p" | base64 -d | jq -r .src.signature)" xmldsig
# a fresh person per hostile mode: a failed fetch of a known one is served
# stale-if-error
mapfile -t FRESH < <("$GW_BUILD_DIR/mocks/mock-agencies" --sample 3 --seed 29 \
                       --data "$GW_SOURCE_DIR/mocks/data/population.json")
declare -A WHY=([bad_signature]="^invalid: the SM3 digest" [wrong_signer]="^wrong_signer: "
                [signature_wrapping]="^wrong_node: ")
n=0
for mode in bad_signature wrong_signer signature_wrapping; do
  st=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT -d "{\"mode\":\"$mode\"}" "$CTL/agencies/chsi/fault")
  check "mock: chsi fault $mode set" "$st" 200
  d=$(degrees "${FRESH[$n]}")
  check "chsi $mode (sm2-sm3): refused as bad_signature" "$(dfact "$d")" "unavailable bad_signature"
  check_match "chsi $mode: the reason is the verifier's" \
    "$(jq -r '.facts["education.degrees"].error.detail // ""' <<<"$d")" "${WHY[$mode]}"
  check "chsi $mode: no value served" "$(jq -c '.facts["education.degrees"].value // null' <<<"$d")" null
  curl -sS -o /dev/null -X DELETE "$CTL/agencies/chsi/fault"
  n=$((n + 1))
done
check "fault cleared: sm2-sm3 answers verify again" "$(dfact "$(degrees "$GRAD")")" "ok "
