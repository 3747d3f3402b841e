#!/usr/bin/env bash
# endpoints.sh - GET /v1/audit/*: what an auditor can check with generic
# tools.  The checkpoint note verifies with the served key (gwctl, and
# openssl pkeyutl on the note body with the PEM public key of the test PKI);
# every query's inclusion proof verifies (gwctl, and RFC 9162 in bash);
# consistency between two checkpoints verifies (RFC 9162 in bash); every
# entry's bytes hash to its leaf and all leaves give the signed root; roles,
# strict parameters and ranges.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

D=$TMP/stack
stack_up "$D" --set audit.checkpoint_interval_s=1

# ---- public: checkpoint and key, checked with openssl only ---------------------
req stranger "$GW/v1/audit/checkpoint"
check "checkpoint is public (stranger: 200)" "$STATUS" 200
NOTE1=$TMP/note1.txt; printf '%s' "$BODY" >"$NOTE1"
req stranger "$GW/v1/audit/checkpoint-key"
check "checkpoint key is public (200)" "$STATUS" 200
check "checkpoint key is one line" "$(printf '%s' "$BODY" | wc -l)" 1
VKEY=${BODY%$'\n'}; printf '%s\n' "$VKEY" >"$TMP/vkey"
KEYHASH=${VKEY#*+}; KEYB64=${KEYHASH#*+}; KEYHASH=${KEYHASH%%+*}
ORIGIN=$(sed -n 1p "$NOTE1")
check "key name is the checkpoint origin" "${VKEY%%+*}" "$ORIGIN"
openssl pkey -in "$PKI/gateway/checkpoint.key" -pubout -out "$TMP/ckpt.pub.pem" 2>/dev/null
PUBHEX=$(openssl pkey -pubin -in "$TMP/ckpt.pub.pem" -outform DER | tail -c 32 | od -An -v -tx1 | tr -d ' \n')
check "verifier key holds the PKI's Ed25519 public key" "$(b64hex "$KEYB64")" "01$PUBHEX"
KEYID=$({ printf '%s\n\x01' "$ORIGIN"; hex2bin "$PUBHEX"; } | sha256hex | cut -c1-8)
check "verifier key ID = SHA-256(name \\n 0x01 pub)[:4]" "$KEYHASH" "$KEYID"


# ---- some queries, then a checkpoint that covers them ---------------------------
SCEN=(graduate-bachelor graduate-master inservice-senior-title overseas-master postdoc-in-station
      highlevel-b credit-dishonest name-mismatch)
for i in "${!SCEN[@]}"; do
  sc=${SCEN[i]}
  query "$sc" "$TMP/ans.$sc.json"
  [[ $STATUS == 200 ]] || bad "query $sc answered" "HTTP $STATUS: $(cat "$TMP/ans.$sc.json")"
  if ((i == 2)); then    # a signed checkpoint in the middle, for consistency
    check_true "a checkpoint covers the third query within 10 s" \
      wait_for 10 covers "$(jq .audit.index "$TMP/ans.$sc.json")"
    req stranger "$GW/v1/audit/checkpoint"
    NOTE_MID=$TMP/note_mid.txt; printf '%s' "$BODY" >"$NOTE_MID"
  fi
done
LAST=$(jq .audit.index "$TMP/ans.${SCEN[-1]}.json")
check_true "a checkpoint covers the last query within 10 s" wait_for 10 covers "$LAST"

req stranger "$GW/v1/audit/checkpoint"
NOTE2=$TMP/note2.txt; printf '%s' "$BODY" >"$NOTE2"
awk 'BEGIN{b=1} b && $0=="" {b=0; next} b {print}' "$NOTE2" >"$TMP/body.txt"
# sig_blob NOTE: the decoded signature of the line whose key ID is the
# verifier key's, as a C2SP verifier picks it (a gm checkpoint also carries
# an SM2 line under the same name, docs/crypto.md)
sig_blob() {
  local b
  grep '^— ' "$1" | cut -d' ' -f3 | while read -r b; do
    if [[ $(printf '%s' "$b" | base64 -d | head -c 4 | od -An -v -tx1 | tr -d ' \n') == "$KEYID" ]]; then
      printf '%s' "$b" | base64 -d
    fi
  done
}
sig_blob "$NOTE2" >"$TMP/sigblob.bin"
check "signature line carries the key ID" "$(head -c 4 "$TMP/sigblob.bin" | od -An -v -tx1 | tr -d ' \n')" "$KEYID"
tail -c 64 "$TMP/sigblob.bin" >"$TMP/sig.bin"
check_true "openssl pkeyutl verifies the note body (Ed25519, -rawin)" \
  quiet openssl pkeyutl -verify -pubin -inkey "$TMP/ckpt.pub.pem" -rawin -in "$TMP/body.txt" -sigfile "$TMP/sig.bin"
printf 'x' >>"$TMP/body.txt"
if openssl pkeyutl -verify -pubin -inkey "$TMP/ckpt.pub.pem" -rawin -in "$TMP/body.txt" \
     -sigfile "$TMP/sig.bin" >/dev/null 2>&1; then bad "openssl refuses a changed body"; else ok "openssl refuses a changed body"; fi
SIZE=$(sed -n 2p "$NOTE2"); ROOT=$(b64hex "$(sed -n 3p "$NOTE2")")

# ---- inclusion proofs: gwctl and bash -------------------------------------------
for sc in "${SCEN[@]}"; do
  out=$("$GWCTL" audit proof --stack "$S" --query-response "$TMP/ans.$sc.json" --vkey "$VKEY" 2>&1) && rc=0 || rc=$?
  check "gwctl audit proof: $sc's answer is in the log (exit 0)" "$rc" 0
  [[ $rc == 0 ]] || echo "$out" | sed 's/^/       /'
done
ok_all=1
for sc in "${SCEN[@]}"; do
  idx=$(jq .audit.index "$TMP/ans.$sc.json")
  leaf=$(b64hex "$(jq -r .audit.leaf_hash "$TMP/ans.$sc.json")")
  req engine "$GW/v1/audit/proof?index=$idx&tree_size=$SIZE"
  [[ $STATUS == 200 ]] || { ok_all=0; bad "proof of $idx" "HTTP $STATUS $BODY"; continue; }
  [[ $(jq -r .leaf_hash <<<"$BODY") == "$(jq -r .audit.leaf_hash "$TMP/ans.$sc.json")" ]] || ok_all=0
  mapfile -t path < <(jq -r '.path[]' <<<"$BODY" | while read -r h; do b64hex "$h"; echo; done)
  verify_inclusion "$idx" "$SIZE" "$leaf" "$ROOT" "${path[@]}" || { ok_all=0; echo "       index $idx failed"; }
done
check "every answer's leaf hash proves into the signed root (RFC 9162 in bash)" "$ok_all" 1
req auditor "$GW/v1/audit/proof?index=0"
check "auditor may read proofs; tree_size defaults to the committed size" \
  "$STATUS $(jq '.tree_size >= '"$SIZE" <<<"$BODY")" "200 true"

# ---- consistency between the two checkpoints ----------------------------------------
# A fresh log's first record is its first generation's config record (who
# "start"), appended before anything is served: the first checkpoint served
# is the empty tree, or (when the interval passed before it was asked) the
# tree of that one record.
if [[ $(sed -n 2p "$NOTE1") == 0 ]]; then
  check "the first checkpoint of a fresh log is the empty tree" \
    "$(b64hex "$(sed -n 3p "$NOTE1")")" "$(printf '' | sha256hex)"
else
  req auditor "$GW/v1/audit/entries?start=0&count=1"
  jq -r '.entries[0].data' <<<"$BODY" | base64 -d >"$TMP/rec0"
  check "the first checkpoint of a fresh log holds only the start config record" \
    "$(sed -n 2p "$NOTE1") $(jq -r '.kind + " " + .who' "$TMP/rec0") $(b64hex "$(sed -n 3p "$NOTE1")")" \
    "1 config start $({ printf '\x00'; cat "$TMP/rec0"; } | sha256hex)"
fi
note_verifies() {   # NOTE: Ed25519 over the body with the PKI's public key
  awk 'BEGIN{b=1} b && $0=="" {b=0; next} b {print}' "$1" >"$TMP/b.txt"
  sig_blob "$1" | tail -c 64 >"$TMP/s.bin"
  openssl pkeyutl -verify -pubin -inkey "$TMP/ckpt.pub.pem" -rawin -in "$TMP/b.txt" \
    -sigfile "$TMP/s.bin" >/dev/null 2>&1
}
check_true "the middle checkpoint verifies with openssl" note_verifies "$NOTE_MID"
check_true "the first checkpoint verifies with openssl" note_verifies "$NOTE1"
S1=$(sed -n 2p "$NOTE_MID"); R1=$(b64hex "$(sed -n 3p "$NOTE_MID")")
req stranger "$GW/v1/audit/consistency?from=$S1&to=$SIZE"
check "consistency is public (200)" "$STATUS" 200
check "consistency echoes from and to" "$(jq -c '[.from,.to]' <<<"$BODY")" "[$S1,$SIZE]"
mapfile -t cpath < <(jq -r '.path[]' <<<"$BODY" | while read -r h; do b64hex "$h"; echo; done)
check_true "consistency $S1 -> $SIZE verifies (RFC 9162 in bash)" verify_consistency "$S1" "$SIZE" "$R1" "$ROOT" "${cpath[@]}"
req stranger "$GW/v1/audit/consistency?from=0&to=$SIZE"
check "consistency from the empty tree: empty path" "$STATUS $(jq -c .path <<<"$BODY")" "200 []"
if verify_consistency "$S1" "$SIZE" "$R1" "$(node "$ROOT" "$ROOT")" "${cpath[@]}"; then
  bad "consistency against a wrong root fails"; else ok "consistency against a wrong root fails"; fi

# ---- entries: bytes -> leaf -> signed root ----------------------------------------------
all_entries >"$TMP/entries.jsonl"
check "entries cover the log (>= checkpoint size)" "$(( $(wc -l <"$TMP/entries.jsonl") >= SIZE ))" 1
leaves=(); kinds_ok=1; idx_ok=1; i=0
while read -r e; do
  [[ $(jq .index <<<"$e") == "$i" ]] || idx_ok=0
  jq -r .data <<<"$e" | base64 -d >"$TMP/rec.bin"
  k=$(jq -r .kind "$TMP/rec.bin" 2>/dev/null || echo bad)
  [[ $k == fetch || $k == query || ($k == config && $i == 0) ]] || kinds_ok=0
  leaves+=("$(leaf_of_file "$TMP/rec.bin")")
  i=$((i + 1))
done <"$TMP/entries.jsonl"
check "entries are dense and in order" "$idx_ok" 1
check "every entry is a JSON record: the start config record, then fetch or query" "$kinds_ok" 1
check "SHA-256(0x00 || data) of entries 0..size-1 gives the signed root" \
  "$(merkle_root "${leaves[@]:0:SIZE}")" "$ROOT"
rec_ok=1
for sc in "${SCEN[@]}"; do
  idx=$(jq .audit.index "$TMP/ans.$sc.json")
  [[ ${leaves[idx]} == "$(b64hex "$(jq -r .audit.leaf_hash "$TMP/ans.$sc.json")")" ]] || rec_ok=0
  rec=$(sed -n "$((idx + 1))p" "$TMP/entries.jsonl" | jq -r .data | base64 -d)
  [[ $(jq -r .query_id <<<"$rec") == "$(jq -r .query_id "$TMP/ans.$sc.json")" ]] || rec_ok=0
  [[ $(jq -r .case_ref <<<"$rec") == SZ-RC-TEST ]] || rec_ok=0
  # the raw number appears nowhere in the record
  grep -q -- "$(subject "$sc")" <<<"$rec" && rec_ok=0
done
check "each answer's index holds its query record (query_id, case_ref, no raw id)" "$rec_ok" 1

# ---- roles ----------------------------------------------------------------------------------
req stranger "$GW/v1/audit/proof?index=0";            check "stranger: proof 403" "$STATUS" 403
req stranger "$GW/v1/audit/entries?start=0&count=1";  check "stranger: entries 403" "$STATUS" 403
req engine "$GW/v1/audit/entries?start=0&count=1";    check "engine: entries 403" "$STATUS" 403
check "403 is problem+json" "$(jq -r .type <<<"$BODY")" "/problems/forbidden"
req admin "$GW/v1/audit/entries?start=0&count=1";     check "admin: entries 403" "$STATUS" 403

# ---- strict parameters and ranges --------------------------------------------------------------
bad_param() {  # WHO URL PARAM-NAMED-IN-DETAIL
  req "$1" "$GW$2"
  if [[ $STATUS == 400 && $(jq -r .detail <<<"$BODY") == *"$3"* ]]; then ok "400 naming $3: $2"
  else bad "400 naming $3: $2" "HTTP $STATUS $BODY"; fi
}
bad_param engine "/v1/audit/proof?index=-1" index
bad_param engine "/v1/audit/proof?index=+1" index
bad_param engine "/v1/audit/proof?index=01" index
bad_param engine "/v1/audit/proof?index=0x1" index
bad_param engine "/v1/audit/proof?index=1&index=1" index
bad_param engine "/v1/audit/proof?index=1&bogus=2" bogus
bad_param engine "/v1/audit/proof?tree_size=3" index
bad_param engine "/v1/audit/proof?index=9223372036854775809" index
bad_param engine "/v1/audit/proof?index=1&tree_size=" tree_size
bad_param engine "/v1/audit/proof?index=5&tree_size=5" tree_size
bad_param stranger "/v1/audit/consistency?from=2" to
bad_param stranger "/v1/audit/consistency?from=3&to=2" from
bad_param auditor "/v1/audit/entries?start=0&count=0" count
bad_param auditor "/v1/audit/entries?start=0&count=1&start=0" start
req engine "$GW/v1/audit/proof?index=999999"
check "proof past the log: 404 with the committed size" "$STATUS $(jq -r .detail <<<"$BODY" | grep -c 'committed size')" "404 1"
req stranger "$GW/v1/audit/consistency?from=1&to=999999";    check "consistency past the log: 404" "$STATUS" 404
req auditor "$GW/v1/audit/entries?start=999999&count=1";     check "entries past the log: 404" "$STATUS" 404
req auditor "$GW/v1/audit/entries?start=0&count=5000"
check "entries capped by the library (at most 1000 a page)" "$STATUS $(( $(jq '.entries|length' <<<"$BODY") <= 1000 ))" "200 1"
