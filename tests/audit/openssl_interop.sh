#!/bin/sh
# Independent checks of the audit log's public formats with the openssl
# command line and coreutils only: nothing of ours parses, hashes or
# verifies on this side.
#
#   openssl_interop.sh PATH/TO/audit_tool SOURCE_DIR
#
# With a fresh test PKI (certs/gen-pki.sh) it checks that
#  1. a checkpoint note signed by the gateway is byte for byte the C2SP
#     format: body "<origin>\n<size>\n<base64 root>\n", a blank line, then
#     "— <name> <base64(key id || signature)>\n" (the em dash as e2 80 94);
#     its Ed25519 signature over the body verifies with `openssl pkeyutl
#     -verify -rawin`; the key id is SHA-256(name "\n" 0x01 pubkey)[:4]
#     computed here with sha256sum; the verifier key string built here
#     equals the one the gateway serves;
#  2. a note assembled here and signed with `openssl pkeyutl -sign -rawin`
#     verifies with the gateway's verifier, and a tampered one does not;
#  3. an identity number sealed by the gateway opens with `openssl cms
#     -decrypt` and the auditors' key, giving back exactly the number;
#  4. a log written by the gateway reads back here: the records file is
#     header + (u32 BE length, bytes, CRC) frames, each leaf hash is
#     sha256(0x00 || record), the root of the three leaves built here equals
#     the root line of the signed checkpoint, which verifies with openssl;
#  5. the offline verifier accepts that log and names the record when one
#     byte of it is flipped.
# Exit 0 pass, 1 fail, 77 skipped (no openssl or basenc).
set -eu

tool=${1:?usage: openssl_interop.sh PATH/TO/audit_tool SOURCE_DIR}
src=${2:?usage: openssl_interop.sh PATH/TO/audit_tool SOURCE_DIR}
case $tool in /*) ;; *) tool=$PWD/$tool ;; esac
command -v openssl >/dev/null 2>&1 || { echo "skip: no openssl"; exit 77; }
command -v basenc >/dev/null 2>&1 || { echo "skip: no basenc"; exit 77; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM
cd "$dir"

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
hex() { basenc --base16 -w0 | tr 'A-F' 'a-f'; }
unhex() { tr 'a-f' 'A-F' | basenc --base16 -d; }
sha() { sha256sum | cut -c1-64; }

bash "$src/certs/gen-pki.sh" "$dir/pki" >/dev/null
key=pki/gateway/checkpoint.key
pub=pki/gateway/checkpoint.pub.pem
openssl pkey -pubin -in "$pub" -outform DER | tail -c 32 > pub.raw
[ "$(wc -c < pub.raw)" -eq 32 ] || fail "raw Ed25519 public key is not 32 bytes"

# Splits note file $1 into body.txt (text up to the blank line) and, from its
# single signature line, name.txt, id.bin (4 bytes) and sig.bin (64 bytes).
split_note() {
  awk 'BEGIN{b=1} b && $0=="" {b=0; next} b {print}' "$1" > body.txt
  tail -n 1 "$1" > sigline.txt
  [ "$(head -c 3 sigline.txt | hex)" = "e28094" ] || fail "signature line does not start with U+2014"
  [ "$(head -c 4 sigline.txt | tail -c 1 | hex)" = "20" ] || fail "no space after the em dash"
  tail -c +5 sigline.txt | cut -d' ' -f1 | tr -d '\n' > name.txt
  tail -c +5 sigline.txt | cut -d' ' -f2 | tr -d '\n' | basenc --base64 -d > blob.bin
  [ "$(wc -c < blob.bin)" -eq 68 ] || fail "signature blob is not 4 + 64 bytes"
  head -c 4 blob.bin > id.bin
  tail -c 64 blob.bin > sig.bin
  # body + "\n" + signature line must be the whole note
  { cat body.txt; printf '\n'; cat sigline.txt; } | cmp -s - "$1" || fail "note is not body, blank line, signature line"
}

# ---- 1. a gateway-signed note, checked here -------------------------------
origin="gw.interop.example/audit/00112233445566778899aabbccddeeff"
root=$(printf 'any root' | openssl dgst -sha256 -binary | basenc --base64 -w0)
"$tool" sign "$key" "$origin" "$origin" 1234567 "$root" > note1.txt
split_note note1.txt
printf '%s\n1234567\n%s\n' "$origin" "$root" | cmp -s - body.txt || fail "checkpoint body differs"
[ "$(cat name.txt)" = "$origin" ] || fail "key name is not the origin"
openssl pkeyutl -verify -pubin -inkey "$pub" -rawin -in body.txt -sigfile sig.bin >/dev/null ||
  fail "openssl does not verify the gateway's Ed25519 signature"
ok "gateway note: exact C2SP body and signature line; signature verified by openssl pkeyutl"

id_here=$({ printf '%s\n' "$origin"; printf '\001'; cat pub.raw; } | sha | cut -c1-8)
[ "$(hex < id.bin)" = "$id_here" ] || fail "key id $(hex < id.bin) != sha256sum's $id_here"
vkey_here="$origin+$id_here+$({ printf '\001'; cat pub.raw; } | basenc --base64 -w0)"
vkey=$("$tool" vkey "$key" "$origin")
[ "$vkey" = "$vkey_here" ] || fail "verifier key: gateway '$vkey', built here '$vkey_here'"
ok "key id and verifier key string match the ones computed with sha256sum"

sed 's/1234567/1234568/' body.txt > tampered.txt
if openssl pkeyutl -verify -pubin -inkey "$pub" -rawin -in tampered.txt -sigfile sig.bin >/dev/null 2>&1; then
  fail "openssl verified a tampered body"
fi
ok "tampered body refused by openssl"

# ---- 2. a note made here, verified by the gateway --------------------------
root2=$(printf 'other' | openssl dgst -sha256 -binary | basenc --base64 -w0)
printf '%s\n42\n%s\n' "$origin" "$root2" > body2.txt
openssl pkeyutl -sign -inkey "$key" -rawin -in body2.txt -out sig2.bin
{ cat body2.txt; printf '\n\342\200\224 %s %s\n' "$origin" \
    "$({ unhex <<EOF
$id_here
EOF
    cat sig2.bin; } | basenc --base64 -w0)"; } > note2.txt
out=$("$tool" verify "$vkey" note2.txt "$origin") || fail "gateway refused a note signed by openssl"
[ "$out" = "$origin 42 $root2" ] || fail "gateway parsed '$out'"
sed 's/^42$/43/' note2.txt > note2-bad.txt
if "$tool" verify "$vkey" note2-bad.txt 2>/dev/null; then fail "gateway accepted a tampered note"; fi
if "$tool" verify "$vkey" note2.txt "other.example/log" 2>/dev/null; then fail "gateway accepted a wrong origin"; fi
ok "note signed with openssl pkeyutl verified by the gateway; tampered and wrong-origin notes refused"

# ---- 3. sealing -------------------------------------------------------------
printf '11010519491231002X' | "$tool" seal pki/auditor/seal.pem > sealed.b64
basenc --base64 -d < sealed.b64 > sealed.der
openssl cms -decrypt -inform DER -in sealed.der -inkey pki/auditor/seal.key \
  -recip pki/auditor/seal.pem -out opened.txt || fail "openssl cms cannot open the sealed number"
[ "$(cat opened.txt)" = "11010519491231002X" ] || fail "opened '$(cat opened.txt)'"
printf '11010519491231002X' | "$tool" seal pki/auditor/seal.pem > sealed2.b64
cmp -s sealed.b64 sealed2.b64 && fail "two seals of the same number are equal"
ok "sealed identity number opened by openssl cms -decrypt; seals differ each time"

# ---- 4. a whole log, read back here ----------------------------------------
cat > records.jsonl <<'EOF'
{"kind":"fetch","adapter":"chsi","status":"ok"}
{"kind":"query","query_id":"q_1","purpose":"talent.graduate"}
{"kind":"fetch","adapter":"mps","status":"timeout"}
EOF
"$tool" append log "$key" gw.interop.example < records.jsonl > appended.txt
[ "$(wc -l < appended.txt)" -eq 3 ] || fail "not 3 appends"
rec=log/records
[ "$(head -c 16 "$rec" | hex)" = "47574155445245430000000100000000" ] ||
  fail "records header is $(head -c 16 "$rec" | hex)"
off=16
i=0
while [ $i -lt 3 ]; do
  len=$((0x$(od -An -v -j $off -N 4 -tx1 "$rec" | tr -d ' \n')))
  tail -c +$((off + 5)) "$rec" | head -c "$len" > rec$i.bin
  sed -n "$((i + 1))p" records.jsonl | tr -d '\n' | cmp -s - rec$i.bin || fail "record $i bytes differ"
  leaf=$({ printf '\000'; cat rec$i.bin; } | sha)
  [ "$(sed -n "$((i + 1))p" appended.txt)" = "$i $leaf" ] || fail "leaf hash $i differs"
  printf '%s' "$leaf" | unhex > leaf$i.bin
  off=$((off + 8 + len))
  i=$((i + 1))
done
[ "$off" -eq "$(wc -c < "$rec")" ] || fail "records file has $(wc -c < "$rec") bytes, frames end at $off"
n01=$({ printf '\001'; cat leaf0.bin leaf1.bin; } | sha)
printf '%s' "$n01" | unhex > n01.bin
root3=$({ printf '\001'; cat n01.bin leaf2.bin; } | sha)
"$tool" checkpoint log "$key" gw.interop.example > note3.txt
split_note note3.txt
logid=$(cat log/log-id)
[ "$(sed -n 1p body.txt)" = "gw.interop.example/audit/$logid" ] || fail "origin line $(sed -n 1p body.txt)"
[ "$(sed -n 2p body.txt)" = "3" ] || fail "tree size line $(sed -n 2p body.txt)"
[ "$(sed -n 3p body.txt | basenc --base64 -d | hex)" = "$root3" ] || fail "root line is not the root computed here"
openssl pkeyutl -verify -pubin -inkey "$pub" -rawin -in body.txt -sigfile sig.bin >/dev/null ||
  fail "openssl does not verify the log's checkpoint"
ok "log read back with od/sha256sum: frames, leaf hashes and the RFC 9162 root match the signed checkpoint"

# ---- 5. the offline verifier ---------------------------------------------------
lvkey=$("$tool" vkey "$key" "gw.interop.example/audit/$logid")
"$tool" verify-dir log "$lvkey" > verify.txt || { cat verify.txt; fail "verify-dir failed"; }
grep -q "records 3 checkpoints 2 signatures checked: verified" verify.txt || { cat verify.txt; fail "verify-dir report"; }
# flip one byte inside record 1's JSON
pos=$((16 + 8 + $(wc -c < rec0.bin) + 4 + 3))
byte=$(od -An -j $pos -N 1 -tx1 "$rec" | tr -d ' ')
printf "\\$(printf '%03o' $((0x$byte ^ 0x20)))" | dd of="$rec" bs=1 seek=$pos conv=notrunc 2>/dev/null
if "$tool" verify-dir log "$lvkey" > verify2.txt; then cat verify2.txt; fail "verify-dir passed a flipped byte"; fi
grep -q "PROBLEM: record 1 at byte offset" verify2.txt || { cat verify2.txt; fail "problem does not name record 1"; }
ok "offline verifier: intact log verified; a flipped byte is named: $(grep PROBLEM verify2.txt)"
