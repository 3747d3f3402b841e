#!/bin/sh
# The gm profile's sealed subject (crypto/seal_sm2.h) opened with the openssl
# command line alone, as an auditor without our tools would:
#
#   seal_interop.sh PATH/TO/seal_tool
#
# An SM2 auditors' certificate is made with the openssl command line (SM2 CA,
# distinguishing ID set); seal_tool seals an identity number to it the way
# gatewayd does; then, by hand: the wrapped key is opened with `openssl
# pkeyutl -decrypt`, the tag checked with `openssl mac -digest SM3 HMAC`,
# the subject decrypted with `openssl enc -d -sm4-cbc`.  A changed byte
# fails the MAC (by hand and in seal_tool open); the wrong SM2 key cannot
# open it; two seals of one number differ.
# Exit 0 pass, 1 fail.
set -eu
tool=${1:?usage: seal_interop.sh seal_tool}
case $tool in /*) ;; *) tool=$PWD/$tool ;; esac
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM
cd "$dir"
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
hex() { od -An -v -tx1 | tr -d ' \n'; }
id=11010519491231002X

openssl genpkey -algorithm SM2 -out ca.key
openssl req -new -x509 -key ca.key -sm3 -sigopt distid:1234567812345678 -subj /CN=sm2-ca \
  -days 10 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign -out ca.pem
openssl genpkey -algorithm SM2 -out seal.key
openssl req -new -key seal.key -sm3 -sigopt distid:1234567812345678 -subj /CN=auditor-seal -out seal.csr
printf 'keyUsage=critical,keyEncipherment\n' > ext.cnf
openssl x509 -req -in seal.csr -CA ca.pem -CAkey ca.key -sm3 -sigopt distid:1234567812345678 \
  -vfyopt distid:1234567812345678 -set_serial 7 -days 10 -extfile ext.cnf -out seal.pem 2>/dev/null

"$tool" seal seal.pem "$id" > sealed.b64
base64 -d sealed.b64 > blob
[ "$(head -c 4 blob)" = GMS1 ] || fail "no GMS1 magic"
kl=$(head -c 6 blob | tail -c 2 | od -An -tu1 | awk '{print $1 * 256 + $2}')
total=$(wc -c < blob)
tail -c +7 blob | head -c "$kl" > kc
tail -c +$((7 + kl)) blob | head -c 16 > iv
ctl=$((total - 6 - kl - 16 - 32))
tail -c +$((7 + kl + 16)) blob | head -c "$ctl" > ct
tail -c 32 blob > tag
head -c $((total - 32)) blob > authed
openssl pkeyutl -decrypt -inkey seal.key -in kc -out keys || fail "openssl cannot open the wrapped key"
[ "$(wc -c < keys)" -eq 48 ] || fail "wrapped keys are not 16 + 32 bytes"
kenc=$(head -c 16 keys | hex)
kmac=$(tail -c 32 keys | hex)
mac=$(openssl mac -digest SM3 -macopt "hexkey:$kmac" -in authed HMAC | tr 'A-F' 'a-f')
[ "$mac" = "$(hex < tag)" ] || fail "HMAC-SM3 tag does not match: $mac"
got=$(openssl enc -d -sm4-cbc -K "$kenc" -iv "$(hex < iv)" -in ct) || fail "openssl enc -d -sm4-cbc failed"
[ "$got" = "$id" ] || fail "decrypted [$got], want $id"
ok "openssl pkeyutl -decrypt, mac HMAC-SM3 and enc -sm4-cbc open the sealed subject"

[ "$("$tool" open seal.key "$(cat sealed.b64)")" = "$id" ] || fail "seal_tool open"
{ head -c $((total - 40)) blob; printf 'X'; tail -c 39 blob; } > bad
mac=$(head -c $((total - 32)) bad | openssl mac -digest SM3 -macopt "hexkey:$kmac" HMAC | tr 'A-F' 'a-f')
[ "$mac" != "$(hex < tag)" ] || fail "a changed ciphertext byte kept the tag"
if "$tool" open seal.key "$(base64 -w0 < bad)" >/dev/null 2>&1; then fail "seal_tool opened a changed blob"; fi
openssl genpkey -algorithm SM2 -out other.key
if "$tool" open other.key "$(cat sealed.b64)" >/dev/null 2>&1; then fail "another SM2 key opened it"; fi
[ "$("$tool" seal seal.pem "$id")" != "$(cat sealed.b64)" ] || fail "two seals of one number are equal"
ok "a changed byte fails the MAC; another key cannot open; seals differ"
echo PASS
