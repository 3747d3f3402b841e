#!/usr/bin/env bash
# query.evidence - GET /v1/cases/{case_ref}/evidence and gwctl verify --bundle
# (DESIGN section 3, issue 16).
#
# Two queries of one case (facts and predicates, then predicates only) and
# one of another case.  The client's bundle holds its two queries with
# inclusion proofs to one signed checkpoint, the fact attestations it was
# served and none of the values behind its predicates; the auditor's adds
# the fetch records.  gwctl verify --bundle passes both offline, and fails
# when one byte of an attestation, a record, a proof or the checkpoint is
# changed.  An unknown case is 404; a client without a role is 403.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

stack_up "$TMP/stack"
AUD_CERT=$(jq -r .pki.clients.auditor.cert "$S")
AUD_KEY=$(jq -r .pki.clients.auditor.key "$S")
who=inservice-senior-title
ID=$(subject $who); NAME=$(subject $who name)
CASE=SZ-RC-2026-$RANDOM

body() { jq -nc --arg id "$ID" --arg n "$NAME" --arg c "$1" --argjson x "$2" \
  '{subject: {id_type: "cn-resident-id", id: $id, name: $n}, purpose: "talent.inservice", case_ref: $c} + $x'; }
gw_post "$(body "$CASE" '{"facts": ["identity.match"], "predicates": [{"id": "education.at_least", "arg": "bachelor"}]}')"
check "case query 1" "$STATUS" 200
Q1=$(jq -r .query_id <<<"$BODY")
gw_post "$(body "$CASE" '{"predicates": [{"id": "age.under", "arg": 45}, {"id": "credit.not_dishonest"}]}')"
check "case query 2 (predicates only)" "$STATUS $(jq -c '[.predicates[].result]' <<<"$BODY")" '200 [true,true]'
Q2=$(jq -r .query_id <<<"$BODY")
gw_post "$(body "OTHER-$CASE" '{"facts": ["credit.status"]}')"
check "another case" "$STATUS" 200

# evidence ROLE-CERT ROLE-KEY CASE OUT: GET, waiting (bounded) for the checkpoint
evidence() {
  local i
  for i in $(seq 60); do
    req --cacert "$CA" --cert "$1" --key "$2" "$GW/v1/cases/$3/evidence"
    [[ "$STATUS" == 503 && "$(header Retry-After)" =~ ^[0-9]+$ ]] || break
    sleep 0.5
  done
  cp "$BODY_FILE" "$4"
}
evidence "$CERT" "$KEY" "$CASE" "$TMP/client.json"
check "client: 200 with its two query records of the case, attestations it was served" \
  "$STATUS $(jq -c '[[.records[].kind], (.attestations | length), (.checkpoint | test("^[^\n]+/audit/")), (.checkpoint_key | length > 0), (.jwks.keys | length > 0)]' "$TMP/client.json")" \
  '200 [["query","query"],1,true,true,true]'
check "client: the records are the two queries, in log order" \
  "$(jq -r '.records[].data' "$TMP/client.json" | while read -r d; do base64 -d <<<"$d" | jq -r .query_id; done | paste -sd,)" \
  "$Q1,$Q2"
rec=$(person $who)
leaks=0
decoded=$( { jq -r '.records[].data' "$TMP/client.json" | while read -r d; do base64 -d <<<"$d"; echo; done
             jq -r '.attestations[]' "$TMP/client.json" | cut -d. -f2 | while read -r p; do b64url_dec "$p"; echo; done; } )
for v in "$(jq -r .mps.birth_date <<<"$rec")" "$(jq -r '.degrees[0].institution' <<<"$rec")" \
         "$(jq -r '.degrees[0].certificate_no' <<<"$rec")" "$ID" "$NAME"; do
  grep -qF -- "$v" <<<"$decoded" && { bad "the client's bundle shows $v"; leaks=$((leaks + 1)); }
done
check "client bundle: no birth date, degree, number or name in records or attestations" "$leaks" 0

out=$("$GWCTL" verify --bundle "$TMP/client.json" 2>&1) && rc=0 || rc=$?
echo "$out" >"$TMP/client.verify"
check "gwctl verify --bundle: the client's bundle is valid" "$rc $(tail -n 1 <<<"$out" | cut -d: -f1)" "0 VALID"
check "gwctl verify --bundle: each predicate checked against its record and basis" \
  "$(grep -c 'signed, basis of' <<<"$out")" 3

evidence "$AUD_CERT" "$AUD_KEY" "$CASE" "$TMP/auditor.json"
check "auditor: the query records and the fetch records they cite (mps, chsi, credit)" \
  "$STATUS $(jq -c '[.records[].kind] | group_by(.) | map([.[0], length])' "$TMP/auditor.json")" \
  '200 [["fetch",3],["query",2]]'
out=$("$GWCTL" verify --bundle "$TMP/auditor.json" 2>&1) && rc=0 || rc=$?
check "gwctl verify --bundle: the auditor's bundle is valid" "$rc $(tail -n 1 <<<"$out" | cut -d: -f1)" "0 VALID"
check "gwctl verify --bundle: pinned keys (GET /v1/keys, /v1/audit/checkpoint-key) agree" \
  "$(jwks_load >/dev/null; "$GWCTL" verify --bundle "$TMP/auditor.json" --jwks "$TMP/jwks.json" \
       --checkpoint-key "$(curl -sS --cacert "$CA" --cert "$CERT" --key "$KEY" "$GW/v1/audit/checkpoint-key")" \
       >/dev/null 2>&1 && echo 0 || echo 1)" 0

# ---- one byte changed anywhere: invalid ---------------------------------------
# tamper WHAT PYTHON-EXPR: applies a change to the bundle dict b, verifies
tamper() {
  python3 - "$TMP/auditor.json" "$TMP/t.json" "$2" <<'EOF'
import base64, json, sys
b = json.load(open(sys.argv[1]))
def flip_b64url(s, i):   # change one character of base64url text
    c = s[i]
    return s[:i] + ("A" if c != "A" else "B") + s[i + 1:]
def rec(i):
    return json.loads(base64.b64decode(b["records"][i]["data"]))
def put(i, d, raw=None):
    b["records"][i]["data"] = base64.b64encode(raw if raw is not None else json.dumps(d).encode()).decode()
def rec_bytes(i):
    return bytearray(base64.b64decode(b["records"][i]["data"]))
exec(sys.argv[3])
json.dump(b, open(sys.argv[2], "w"))
EOF
  local rc=0
  "$GWCTL" verify --bundle "$TMP/t.json" >"$TMP/t.out" 2>&1 || rc=$?
  check "tampered ($1): gwctl verify --bundle fails" "$rc $(tail -n 1 "$TMP/t.out" | cut -d: -f1)" "1 INVALID"
}
tamper "a served fact attestation" 'a = b["attestations"][0]; b["attestations"][0] = flip_b64url(a, len(a) - 10)'
tamper "a predicate attestation's signature inside a query record, re-encoded" '
qi = [i for i, r in enumerate(b["records"]) if r["kind"] == "query"][0]
raw = rec_bytes(qi); s = raw.decode()
k = s.index("gw-") if False else s.index("\"attestation\":\"") + 15
j = s.index("\"", k) - 5
raw[j] = ord("A") if raw[j] != ord("A") else ord("B")
put(qi, None, bytes(raw))'
tamper "one byte of a fetch record" 'raw = rec_bytes(0); raw[len(raw) // 2] ^= 1; put(0, None, bytes(raw))'
tamper "one byte of an inclusion proof" '
p = bytearray(base64.b64decode(b["records"][-1]["proof"][0])); p[0] ^= 1
b["records"][-1]["proof"][0] = base64.b64encode(bytes(p)).decode()'
tamper "the checkpoint's root line" '
lines = b["checkpoint"].split("\n"); r = bytearray(base64.b64decode(lines[2])); r[5] ^= 1
lines[2] = base64.b64encode(bytes(r)).decode(); b["checkpoint"] = "\n".join(lines)'
tamper "the checkpoint's signature" '
lines = b["checkpoint"].split("\n"); i = [n for n, l in enumerate(lines) if l.startswith("\u2014 ")][0]
lines[i] = lines[i][:-6] + ("A" if lines[i][-6] != "A" else "B") + lines[i][-5:]
b["checkpoint"] = "\n".join(lines)'
tamper "an attestation not cited by any record" 'b["attestations"].append(b["attestations"][0][:-4] + "AAAA")'

# ---- who may ask ----------------------------------------------------------------
req --cacert "$CA" --cert "$CERT" --key "$KEY" "$GW/v1/cases/NO-SUCH-CASE/evidence"
check "an unknown case: 404" "$STATUS" 404
req --cacert "$CA" --cert "$CERT" --key "$KEY" "$GW/v1/cases/bad%20ref/evidence"
check "a malformed case_ref: 404" "$STATUS" 404
SC=$(jq -r .pki.clients.stranger.cert "$S"); SK=$(jq -r .pki.clients.stranger.key "$S")
req --cacert "$CA" --cert "$SC" --key "$SK" "$GW/v1/cases/$CASE/evidence"
check "a client without a role: 403" "$STATUS" 403
