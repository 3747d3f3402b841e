#!/usr/bin/env bash
# gm.predicates_gm / gm.predicates_dual - predicate attestations follow the
# crypto profile (docs/crypto.md, docs/predicates.md; issues 16 and 17).
#
#   GW_CRYPTO_PROFILE=gm|dual [GW_SM2_ID=ID] predicates.sh GMCHECK
#
# With GW_SM2_ID the stack runs with --set crypto.sm2_id=ID (docs/crypto.md):
# the JWKS and the checkpoint's SM2 verifier key publish it, every SM2
# signature verifies with openssl under it and fails under the default.
#
# A query asking facts and predicates, as the engine:
#  - gm: each true/false predicate carries one attestation, GmSM2, typ
#    gw-predicate+jws; dual: "attestation" (ES256) and "attestation_sm2"
#    (GmSM2) over the same payload bytes;
#  - the GmSM2 one verifies with the openssl command line (dgst -sm3
#    -sigopt distid:ID) against the SM2 key of GET /v1/keys, ID taken from
#    that JWK's "sm2_id", and with Go's gmsm (gmcheck, from the served
#    JWKS); the ES256 one with openssl dgst -sha256;
#  - basis hashes are the sha256 of the answer's fact attestations;
#  - the query record holds both, the evidence bundle verifies with gwctl
#    verify --bundle and fails when one byte of an SM2 attestation changes;
#    gwctl audit explain recomputes every predicate and checks the twin;
#  - a re-check after the person's record changes reports the predicate
#    changed with both attestations, previous and current.
. "$(dirname -- "${BASH_SOURCE[0]}")/../query/lib.sh"
PROFILE=${GW_CRYPTO_PROFILE:?GW_CRYPTO_PROFILE must be gm or dual}
GMCHECK=${1:?usage: predicates.sh GMCHECK}
export GW_SCHEMAS_DIR=$GW_SOURCE_DIR/schemas/facts

WANT_ID=${GW_SM2_ID:-1234567812345678}
if [[ -n "${GW_SM2_ID:-}" ]]; then
  stack_up "$TMP/stack" --set "crypto.sm2_id=$GW_SM2_ID"
else
  stack_up "$TMP/stack"
fi
AUD_CERT=$(jq -r .pki.clients.auditor.cert "$S")
AUD_KEY=$(jq -r .pki.clients.auditor.key "$S")
jwks_load >/dev/null || true
check "JWKS: one SM2 key" "$(jq '[.keys[] | select(.crv == "SM2")] | length' "$TMP/jwks.json")" 1
SM2_KID=$(jq -r '.keys[] | select(.crv == "SM2") | .kid' "$TMP/jwks.json")
SM2_ID=$(jq -r '.keys[] | select(.crv == "SM2") | .sm2_id' "$TMP/jwks.json")
check "JWKS: the SM2 key publishes its distinguishing ID" "$SM2_ID" "$WANT_ID"
# the SM2 public key as SPKI PEM, built from the JWK by hand
{
  echo "-----BEGIN PUBLIC KEY-----"
  printf '%s' "3059301306072a8648ce3d020106082a811ccf5501822d034200" "04" \
    "$(b64url_dec "$(jq -r '.keys[] | select(.crv == "SM2") | .x' "$TMP/jwks.json")" | hex)" \
    "$(b64url_dec "$(jq -r '.keys[] | select(.crv == "SM2") | .y' "$TMP/jwks.json")" | hex)" |
    xxd -r -p | base64 -w 64
  echo "-----END PUBLIC KEY-----"
} >"$TMP/sm2.pub"

# sm2_verify JWS TYP: GmSM2 header with the SM2 kid and TYP; r||s as DER
# verifies with openssl dgst -sm3 and the published ID.
sm2_verify() {
  local h p s
  IFS=. read -r h p s <<<"$1"
  [[ -n "$s" ]] || return 1
  [[ "$(b64url_dec "$h" | jq -r '[.alg, .kid, .typ] | join(" ")')" == "GmSM2 $SM2_KID $2" ]] || return 1
  printf '%s.%s' "$h" "$p" >"$TMP/sm2.input"
  b64url_dec "$s" >"$TMP/sm2.raw" || return 1
  [[ $(stat -c %s "$TMP/sm2.raw") == 64 ]] || return 1
  printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' \
    "$(head -c 32 "$TMP/sm2.raw" | hex)" "$(tail -c 32 "$TMP/sm2.raw" | hex)" >"$TMP/sm2.cnf"
  openssl asn1parse -genconf "$TMP/sm2.cnf" -out "$TMP/sm2.der" -noout >/dev/null || return 1
  openssl dgst -sm3 -verify "$TMP/sm2.pub" -sigopt "distid:$SM2_ID" -signature "$TMP/sm2.der" \
    "$TMP/sm2.input" 2>/dev/null | grep -qx 'Verified OK'
}
# es_verify JWS TYP: ES256 with typ TYP, by openssl (lib.sh)
es_verify() {
  ossl_verify_compact "$1" && [[ "$(jq -r .typ "$TMP/header.json")" == "$2" ]]
}
seg() { cut -d. -f2 <<<"$1"; }

who=graduate-master
ID=$(subject $who); NAME=$(subject $who name)
SUBJ=$(jq -nc --arg id "$ID" --arg n "$NAME" '{id_type: "cn-resident-id", id: $id, name: $n}')
CASE=SZ-RC-GM-$PROFILE-1
gw_post "$(jq -nc --argjson s "$SUBJ" --arg c "$CASE" '{subject: $s, purpose: "talent.graduate", case_ref: $c,
  facts: ["education.degrees", "identity.match", "credit.status", "social_insurance.name_agrees",
          "housing_fund.name_agrees", "tax.name_agrees"],
  predicates: [{id: "education.at_least", arg: "bachelor"}, {id: "identity.names_agree"},
               {id: "credit.not_dishonest"}]}')"
ANSWER=$BODY
QID=$(jq -r .query_id <<<"$ANSWER")
check "the query: three predicates, all true" \
  "$STATUS $(jq -c '[.predicates[].result]' <<<"$ANSWER")" '200 [true,true,true]'

NF=$(jq '[.facts[] | select(.status == "ok")] | length' <<<"$ANSWER")
check "the query: every fact asked answered ok" "$NF" "$(jq '.facts | length' <<<"$ANSWER")"
fact_shas=$(jq -r '.facts[] | select(.attestation) | .attestation' <<<"$ANSWER" |
            while read -r a; do printf '%s' "$a" | sha256sum | cut -d' ' -f1; done | sort)
n=0 good=0
for k in $(jq -r '.predicates | keys[]' <<<"$ANSWER"); do
  n=$((n + 1))
  att=$(jq -r --arg k "$k" '.predicates[$k].attestation' <<<"$ANSWER")
  sm2=$(jq -r --arg k "$k" '.predicates[$k].attestation_sm2 // empty' <<<"$ANSWER")
  if [[ $PROFILE == gm ]]; then
    sm2_verify "$att" gw-predicate+jws && [[ -z "$sm2" ]] && good=$((good + 1)) ||
      bad "$k: gm: one attestation, GmSM2, verifies with openssl -sm3" "$att / $sm2"
  else
    if es_verify "$att" gw-predicate+jws && sm2_verify "$sm2" gw-predicate+jws &&
       [[ "$(seg "$att")" == "$(seg "$sm2")" ]]; then
      good=$((good + 1))
    else
      bad "$k: dual: ES256 (openssl -sha256) and GmSM2 (openssl -sm3) verify, same payload" "$att / $sm2"
    fi
  fi
  basis=$(b64url_dec "$(seg "$att")" | jq -r '.basis[]' | sort)
  extra=$(comm -23 <(echo "$basis") <(echo "$fact_shas"))
  [[ -n "$basis" && -z "$extra" ]] && ok "$k: basis hashes are the sha256 of the answer's fact attestations" ||
    bad "$k: basis hashes are the sha256 of the answer's fact attestations" "basis [$basis] facts [$fact_shas]"
done
check "every predicate attestation verifies as the $PROFILE profile says" "$good" "$n"
good=0
for a in $(jq -r '.predicates[] | .attestation_sm2 // .attestation' <<<"$ANSWER"); do
  printf '%s' "$a" >"$TMP/p.jws"
  "$GMCHECK" jws "$TMP/jwks.json" "$TMP/p.jws" >/dev/null 2>"$TMP/gmcheck.err" && good=$((good + 1))
done
check "gmsm (Go) verifies every GmSM2 predicate attestation from the served JWKS" "$good" "$n"
if [[ -n "${GW_SM2_ID:-}" ]]; then
  # the same signatures under GM/T 0009's default ID: refused
  SM2_ID=1234567812345678
  att=$(jq -r '.predicates[] | .attestation_sm2 // .attestation' <<<"$ANSWER" | head -n 1)
  check_false "with the default ID instead of the configured one, openssl refuses" \
    sm2_verify "$att" gw-predicate+jws
  SM2_ID=$WANT_ID
fi
if [[ $PROFILE == dual ]]; then
  good=0
  for fa in $(jq -r '.facts | to_entries[] | select(.value.status == "ok") | .key' <<<"$ANSWER"); do
    sm2=$(jq -r --arg f "$fa" '.facts[$f].attestation_sm2' <<<"$ANSWER")
    sm2_verify "$sm2" gw-fact+jws && good=$((good + 1))
  done
  check "dual: the facts' attestation_sm2 verify the same way" "$good" "$NF"
fi

# ---- the query record ---------------------------------------------------------
audit_entries() {
  req --cacert "$CA" --cert "$AUD_CERT" --key "$AUD_KEY" "$GW/v1/audit/entries?start=0&count=1000"
}
audit_entries
qrec=$(jq -r '.entries[].data' <<<"$BODY" | while read -r d; do base64 -d <<<"$d"; echo; done |
       jq -c --arg q "$QID" 'select(.kind == "query" and .query_id == $q)')
check "query record: the served attestations, $PROFILE" \
  "$(jq -c '[.predicates[] | [.attestation, .attestation_sm2]] | sort' <<<"$qrec")" \
  "$(jq -c '[.predicates[] | [.attestation, .attestation_sm2]] | sort' <<<"$ANSWER")"

# ---- gwctl audit explain ----------------------------------------------------------
for _ in $(seq 60); do
  out=$("$GWCTL" audit explain "$QID" --stack "$SDIR" --predicates "$GW_SOURCE_DIR/schemas/predicates" 2>&1) && rc=0 || rc=$?
  grep -q 'up to the checkpoint' <<<"$out" || break
  sleep 0.5
done
want=0; [[ $PROFILE == dual ]] && want=3
check "gwctl audit explain: every predicate holds (dual: the GmSM2 twin checked)" \
  "$rc $(grep -c ' holds (as of' <<<"$out") $(grep -c 'GmSM2 twin verified' <<<"$out")" "0 3 $want"

# ---- the checkpoint's SM2 line -------------------------------------------------------
# its verifier key carries a configured ID after the point; the line's r||s
# verifies with openssl over the note text under that ID
req --cacert "$CA" --cert "$CERT" --key "$KEY" "$GW/v1/audit/checkpoint-key-sm2"
vkey=$BODY
req --cacert "$CA" --cert "$CERT" --key "$KEY" "$GW/v1/audit/checkpoint"
cp "$BODY_FILE" "$TMP/note"
enc=$(cut -d+ -f3- <<<"$vkey" | base64 -d | hex)
idhex=$(printf '%s' "$WANT_ID" | hex)
if [[ -n "${GW_SM2_ID:-}" ]]; then
  check "checkpoint-key-sm2: the key encoding ends with the configured ID" "${enc: -${#idhex}}" "$idhex"
else
  check "checkpoint-key-sm2: the default ID is not spelled out (0xff, OID, point)" "$(( ${#enc} / 2 ))" 85
fi
pt=${enc:40:130}
{
  echo "-----BEGIN PUBLIC KEY-----"
  printf '%s' "3059301306072a8648ce3d020106082a811ccf5501822d034200" "$pt" | xxd -r -p | base64 -w 64
  echo "-----END PUBLIC KEY-----"
} >"$TMP/sm2ck.pub"
# the note text: up to the blank line; the SM2 line is the one whose key ID is not Ed25519's
awk 'BEGIN{p=1} /^$/{p=0} p' "$TMP/note" >"$TMP/note.text"
sm2line=$(grep "^— " "$TMP/note" | while read -r _ _ b; do
            [[ "$(base64 -d <<<"$b" | head -c 4 | hex)" == "$(cut -d+ -f2 <<<"$vkey")" ]] && echo "$b"; done)
base64 -d <<<"$sm2line" | tail -c 64 >"$TMP/ck.raw"
printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' \
  "$(head -c 32 "$TMP/ck.raw" | hex)" "$(tail -c 32 "$TMP/ck.raw" | hex)" >"$TMP/ck.cnf"
openssl asn1parse -genconf "$TMP/ck.cnf" -out "$TMP/ck.der" -noout >/dev/null
req --cacert "$CA" --cert "$CERT" --key "$KEY" "$GW/v1/audit/checkpoint-key"
cp "$BODY_FILE" "$TMP/ed.vkey"
printf '%s' "$vkey" >"$TMP/sm2.vkey"
check_true "the checkpoint verifies: sumdb/note (Ed25519) and gmsm (SM2 line, ID from the key)" \
  quiet "$GMCHECK" note "$TMP/ed.vkey" "$TMP/sm2.vkey" "$TMP/note"
check "the checkpoint's SM2 line verifies with openssl under the published ID" \
  "$(openssl dgst -sm3 -verify "$TMP/sm2ck.pub" -sigopt "distid:$WANT_ID" -signature "$TMP/ck.der" \
       "$TMP/note.text" 2>/dev/null)" "Verified OK"

# ---- the evidence bundle ----------------------------------------------------------
for _ in $(seq 60); do
  req --cacert "$CA" --cert "$CERT" --key "$KEY" "$GW/v1/cases/$CASE/evidence"
  [[ "$STATUS" == 503 ]] || break
  sleep 0.5
done
cp "$BODY_FILE" "$TMP/bundle.json"
check "evidence: 200, one query record, the served fact attestations (dual: and their twins)" \
  "$STATUS $(jq -c '[[.records[].kind], (.attestations | length), (.attestations_sm2 // [] | length)]' "$TMP/bundle.json")" \
  "200 [[\"query\"],$NF,$([[ $PROFILE == dual ]] && echo "$NF" || echo 0)]"
out=$("$GWCTL" verify --bundle "$TMP/bundle.json" 2>&1) && rc=0 || rc=$?
check "gwctl verify --bundle: valid" "$rc $(tail -n 1 <<<"$out" | cut -d: -f1)" "0 VALID"
if [[ $PROFILE == dual ]]; then
  check "gwctl verify --bundle: each predicate's two attestations and each fact twin checked" \
    "$(grep -c 'signed (ES256 and GmSM2)' <<<"$out") $(grep -c 'GmSM2 twin of a cited' <<<"$out")" "3 $NF"
fi

# tamper WHAT PYTHON: changes the bundle dict b, then gwctl must say INVALID
tamper() {
  python3 - "$TMP/bundle.json" "$TMP/t.json" "$2" <<'EOF'
import base64, json, sys
b = json.load(open(sys.argv[1]))
def flip(s, i):
    return s[:i] + ("A" if s[i] != "A" else "B") + s[i + 1:]
def rec_bytes(i):
    return base64.b64decode(b["records"][i]["data"]).decode()
def put(i, s):
    b["records"][i]["data"] = base64.b64encode(s.encode()).decode()
exec(sys.argv[3])
json.dump(b, open(sys.argv[2], "w"))
EOF
  local rc=0
  "$GWCTL" verify --bundle "$TMP/t.json" >"$TMP/t.out" 2>&1 || rc=$?
  check "tampered ($1): gwctl verify --bundle fails" "$rc $(tail -n 1 "$TMP/t.out" | cut -d: -f1)" "1 INVALID"
}
if [[ $PROFILE == dual ]]; then
  tamper "one byte of a fact attestation_sm2's signature" \
    'a = b["attestations_sm2"][0]; b["attestations_sm2"][0] = flip(a, len(a) - 10)'
  tamper "one byte of a fact attestation_sm2's payload" \
    'a = b["attestations_sm2"][1]; i = a.index(".") + 20; b["attestations_sm2"][1] = flip(a, i)'
  tamper "one byte of a predicate attestation_sm2 in the query record" '
s = rec_bytes(0); k = s.index("\"attestation_sm2\":\"") + 19; j = s.index("\"", k) - 5
put(0, flip(s, j))'
else
  tamper "one byte of a predicate attestation (GmSM2) in the query record" '
s = rec_bytes(0); k = s.index("\"attestation\":\"") + 15; j = s.index("\"", k) - 5
put(0, flip(s, j))'
fi
tamper "one byte of a fact attestation" 'a = b["attestations"][0]; b["attestations"][0] = flip(a, len(a) - 10)'

# ---- a re-check after the record changes --------------------------------------------
CR=$(jq -c '.people[] | select(.scenario == "credit-dishonest") | .credit' "$POPULATION")
control PUT "/people/$ID/override" -H 'Content-Type: application/json' \
  -d "$(jq -nc --argjson c "$CR" '{credit: $c}')"
check "mock override accepted" "$STATUS" 200
req --cacert "$CA" --cert "$CERT" --key "$KEY" -H 'Content-Type: application/json' \
    --data-binary "$(jq -nc --arg q "$QID" --argjson s "$SUBJ" '{query_id: $q, subject: $s}')" \
    "$GW/v1/facts/recheck"
R=$BODY
check "re-check: credit.not_dishonest changed, true before, false now" \
  "$STATUS $(jq -c '.predicates["credit.not_dishonest"] | [.outcome, .previous.result, .current.result]' <<<"$R")" \
  '200 ["changed",true,false]'
good=0
for w in previous current; do
  att=$(jq -r --arg w "$w" '.predicates["credit.not_dishonest"][$w].attestation' <<<"$R")
  sm2=$(jq -r --arg w "$w" '.predicates["credit.not_dishonest"][$w].attestation_sm2 // empty' <<<"$R")
  if [[ $PROFILE == gm ]]; then
    sm2_verify "$att" gw-predicate+jws && [[ -z "$sm2" ]] && good=$((good + 1))
  else
    es_verify "$att" gw-predicate+jws && sm2_verify "$sm2" gw-predicate+jws &&
      [[ "$(seg "$att")" == "$(seg "$sm2")" ]] && good=$((good + 1))
  fi
done
check "re-check: the predicate's previous and current attestations verify per profile" "$good" 2
good=0
for w in previous current; do
  att=$(jq -r --arg w "$w" '.facts["credit.status"][$w].attestation' <<<"$R")
  sm2=$(jq -r --arg w "$w" '.facts["credit.status"][$w].attestation_sm2 // empty' <<<"$R")
  if [[ $PROFILE == gm ]]; then
    sm2_verify "$att" gw-fact+jws && [[ -z "$sm2" ]] && good=$((good + 1))
  else
    es_verify "$att" gw-fact+jws && sm2_verify "$sm2" gw-fact+jws &&
      [[ "$(seg "$att")" == "$(seg "$sm2")" ]] && good=$((good + 1))
  fi
done
check "re-check: the changed fact's previous and current attestations verify per profile" "$good" 2
