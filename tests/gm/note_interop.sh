#!/bin/sh
# The gm profile's checkpoints (docs/crypto.md, gw/checkpoint_sm2.h) checked
# by implementations nobody here wrote.
#
#   note_interop.sh PATH/TO/note_tool PATH/TO/gmcheck
#
#  1. note_tool signs a checkpoint with an Ed25519 and an SM2 key (both made
#     by the openssl command line): the note has exactly two signature lines
#     under the same key name;
#  2. gmcheck: Go's golang.org/x/mod/sumdb/note verifies the Ed25519 line
#     with the Ed25519 verifier key and skips the SM2 line as unknown, and
#     gmsm verifies the SM2 line from the SM2 verifier key;
#  3. openssl dgst -sm3 -sigopt distid:1234567812345678 verifies the SM2
#     line over the note text with the SPKI openssl wrote, whose point is
#     the one in the SM2 verifier key;
#  4. a note whose text was changed is refused by gmcheck, by openssl and by
#     our own verifiers; a note without the SM2 line is refused by the SM2
#     checks and still accepted by Go's note package.
# Exit 0 pass, 1 fail.
set -eu
tool=${1:?usage: note_interop.sh note_tool gmcheck}
gmcheck=${2:?usage: note_interop.sh note_tool gmcheck}
case $tool in /*) ;; *) tool=$PWD/$tool ;; esac
case $gmcheck in /*) ;; *) gmcheck=$PWD/$gmcheck ;; esac
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM
cd "$dir"
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
hex() { basenc --base16 -w0; }

openssl genpkey -algorithm ED25519 -out ed.key
openssl genpkey -algorithm SM2 -out sm2.key
openssl pkey -in sm2.key -pubout -outform DER -out sm2.der
origin=gw.test/audit/0123456789abcdef
"$tool" sign ed.key sm2.key "$origin" 42 .

# --- 1. shape -----------------------------------------------------------------
[ "$(grep -c "^— $origin " note)" -eq 2 ] || fail "want two signature lines by $origin: $(cat note)"
ok "checkpoint carries an Ed25519 and an SM2 line under one key name"

# --- 2. Go ------------------------------------------------------------------------
"$gmcheck" note ed.vkey sm2.vkey note > text || fail "gmcheck refused the gm checkpoint"
[ "$(head -1 text)" = "$origin" ] && [ "$(sed -n 2p text)" = 42 ] || fail "wrong note text: $(cat text)"
ok "sumdb/note verifies the Ed25519 line (skipping the SM2 one); gmsm verifies the SM2 line"

# --- 3. openssl -----------------------------------------------------------------------
sed '/^$/,$d' note > body                     # the text: lines before the blank one
[ "$(wc -l < body)" -eq 3 ] || fail "note text is not three lines"
# the SM2 line is the one whose 4-byte key ID is the SM2 verifier key's
smid=$(cut -d+ -f2 sm2.vkey)
smline=$(grep "^— $origin " note | while read -r _ _ b; do
  [ "$(printf '%s' "$b" | base64 -d | head -c 4 | hex | tr 'A-F' 'a-f')" = "$smid" ] && printf '%s' "$b"; done)
[ -n "$smline" ] || fail "no signature line with the SM2 key ID $smid"
[ "$(printf '%s' "$smline" | base64 -d | wc -c)" -eq 68 ] || fail "SM2 line is not key ID + 64 bytes"
printf '%s' "$smline" | base64 -d | tail -c 64 > sig.raw
printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' \
  "$(head -c 32 sig.raw | hex)" "$(tail -c 32 sig.raw | hex)" > sig.cnf
openssl asn1parse -genconf sig.cnf -out sig.der -noout
openssl pkey -pubin -inform DER -in sm2.der -out sm2.pub
openssl dgst -sm3 -verify sm2.pub -sigopt distid:1234567812345678 -signature sig.der body >/dev/null ||
  fail "openssl does not verify the SM2 line"
# the verifier key holds the same point as the SPKI
tail -c 64 sm2.der > spki.point
cut -d+ -f3- sm2.vkey | tr -d '\n' | base64 -d | tail -c 64 > vkey.point
cmp -s spki.point vkey.point || fail "SM2 verifier key point differs from the key's"
ok "openssl dgst -sm3 -sigopt distid verifies the SM2 line over the note text"

# --- 4. refusals --------------------------------------------------------------------------
"$tool" verify ed.vkey sm2.vkey note || fail "our verifiers refused our note"
sed 's/^42$/43/' note > bad
if "$gmcheck" note ed.vkey sm2.vkey bad >/dev/null 2>&1; then fail "gmcheck accepted a changed note"; fi
if "$tool" verify ed.vkey sm2.vkey bad 2>/dev/null; then fail "note_tool accepted a changed note"; fi
sed '/^$/,$d' bad > badbody
if openssl dgst -sm3 -verify sm2.pub -sigopt distid:1234567812345678 -signature sig.der badbody >/dev/null 2>&1; then
  fail "openssl verified the SM2 line over changed text"
fi
grep -v "$smline" note > nosm2
if "$gmcheck" note ed.vkey sm2.vkey nosm2 >/dev/null 2>&1; then fail "gmcheck accepted a note without the SM2 line"; fi
if "$tool" verify ed.vkey sm2.vkey nosm2 2>/dev/null; then fail "note_tool accepted a note without the SM2 line"; fi
ok "changed text refused by gmsm, openssl and us; a missing SM2 line refused by the SM2 checks"

echo PASS
