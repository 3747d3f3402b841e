#!/usr/bin/env bash
# tamper.sh - one flipped byte in a stopped gateway's records is found and
# named: gwctl audit verify fails naming that record's index; flipped back,
# the log verifies again.  The record is located with od from the framing
# of docs/audit.md (16-byte header; per record u32 BE length, bytes, CRC).
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

D=$TMP/stack
stack_up "$D"
req stranger "$GW/v1/audit/checkpoint-key"
VKEY=${BODY%$'\n'}
for sc in graduate-bachelor graduate-master inservice-senior-title overseas-master credit-warning; do
  query "$sc" "$TMP/ans.$sc.json"
done
TARGET=$(jq .audit.index "$TMP/ans.inservice-senior-title.json")
"$STACK_SCRIPT" down --dir "$D" >/dev/null
REC=$AUDIT_DIR/records

out=$("$GWCTL" audit verify "$AUDIT_DIR" --key "$VKEY" 2>&1) && rc=0 || rc=$?
check "the untouched log verifies" "$rc" 0

u32() { od -An -tu4 --endian=big -j "$2" -N 4 -- "$1" | tr -d ' '; }
off=16
for ((i = 0; i < TARGET; i++)); do off=$((off + 8 + $(u32 "$REC" "$off"))); done
len=$(u32 "$REC" "$off")
pos=$((off + 4 + len / 2))
orig=$(od -An -tu1 -j "$pos" -N 1 -- "$REC" | tr -d ' ')
flip() { printf "\\x$(printf %02x "$1")" | dd of="$REC" bs=1 seek="$pos" conv=notrunc status=none; }
flip $((orig ^ 1))
echo "       flipped byte $pos (record $TARGET, $len bytes at offset $off)"

out=$("$GWCTL" audit verify "$AUDIT_DIR" --key "$VKEY" 2>&1) && rc=0 || rc=$?
check "gwctl audit verify fails (exit 1)" "$rc" 1
check "it names record $TARGET" "$(grep -c "^result: *FAILED at record $TARGET: " <<<"$out")" 1
[[ $rc == 1 ]] && grep '^result' <<<"$out" | sed 's/^/       /'

flip "$orig"
out=$("$GWCTL" audit verify "$AUDIT_DIR" --key "$VKEY" 2>&1) && rc=0 || rc=$?
check "flipped back, the log verifies again" "$rc" 0

# A wrong key fails on the first checkpoint, not on a record.
other=$(sed -E 's/\+[0-9a-f]{8}\+/+00000000+/' <<<"$VKEY")
out=$("$GWCTL" audit verify "$AUDIT_DIR" --key "$other" 2>&1) && rc=0 || rc=$?
check "a malformed or foreign verifier key fails" "$rc" 1
