#!/bin/sh
# Independent verification of the gateway's JWS with the openssl command line
# and coreutils only: nothing of ours parses, decodes or verifies here.
#
#   openssl_verify.sh PATH/TO/jws_tool
#
# With a throwaway P-256 key in a temporary directory it checks that
#  1. a compact JWS made by jws_tool verifies with `openssl dgst -verify`
#     once its r||s signature is rewritten as DER by `openssl asn1parse
#     -genconf`, and its header and payload decode to the exact bytes;
#  2. its kid is the RFC 7638 thumbprint computed here from the SPKI, and
#     jws_tool's JWKS is byte for byte the one built here;
#  3. a detached JWS verifies over "header." + base64url(body);
#  4. a JWS signed by the openssl command line verifies with jws_tool from a
#     JWKS written here (the other direction);
#  5. tampered payload, body or signature fail in both directions.
# Exit 0 pass, 1 fail, 77 skipped (no openssl or basenc).
set -eu

tool=${1:?usage: openssl_verify.sh PATH/TO/jws_tool}
case $tool in /*) ;; *) tool=$PWD/$tool ;; esac
command -v openssl >/dev/null 2>&1 || { echo "skip: no openssl"; exit 77; }
command -v basenc >/dev/null 2>&1 || { echo "skip: no basenc"; exit 77; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM
cd "$dir"

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# base64url without padding, of stdin
b64url() { basenc --base64url -w0 | tr -d '='; }
# base64url (unpadded) on stdin to bytes on stdout
unb64url() {
  s=$(cat)
  case $(( ${#s} % 4 )) in
    2) s="$s==" ;;
    3) s="$s=" ;;
  esac
  printf '%s' "$s" | basenc --base64url -d
}
hex() { basenc --base16 -w0; }
unhex() { tr 'a-f' 'A-F' | basenc --base16 -d; }

# r||s (64 bytes, file $1) to DER ECDSA-Sig-Value (file $2) with asn1parse.
raw_to_der() {
  [ "$(wc -c < "$1")" -eq 64 ] || fail "signature is $(wc -c < "$1") bytes, not 64"
  r=$(head -c 32 "$1" | hex)
  s=$(tail -c 32 "$1" | hex)
  printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' "$r" "$s" > sig.cnf
  openssl asn1parse -genconf sig.cnf -out "$2" -noout
}

# DER ECDSA-Sig-Value (file $1) to r||s (file $2), each left-padded to 32.
der_to_raw() {
  openssl asn1parse -inform DER -in "$1" | sed -n 's/.*INTEGER *://p' > ints
  [ "$(wc -l < ints)" -eq 2 ] || fail "not two INTEGERs in DER signature"
  : > "$2"
  while read -r v; do
    while [ ${#v} -lt 64 ]; do v="0$v"; done
    printf '%s' "$v" | unhex >> "$2"
  done < ints
}

# verify SIGNING-INPUT-FILE RAW-SIG-FILE: openssl's verdict, 0 or 1
verify() {
  raw_to_der "$2" sig.der
  openssl dgst -sha256 -verify pub.pem -signature sig.der "$1" >/dev/null 2>&1
}

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem 2>/dev/null
openssl pkey -in key.pem -pubout -out pub.pem

# RFC 7638 from the SPKI: its last 64 bytes are x||y of the uncompressed point.
openssl pkey -pubin -in pub.pem -outform DER > pub.der
[ "$(wc -c < pub.der)" -eq 91 ] || fail "unexpected P-256 SPKI length"
x=$(tail -c 64 pub.der | head -c 32 | b64url)
y=$(tail -c 32 pub.der | b64url)
kid=$(printf '{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}' "$x" "$y" |
      openssl dgst -sha256 -binary | b64url)

# --- 1. compact JWS made by us, verified by openssl -------------------------
printf '{"iss":"gw-test","fact":"credit.status","value":"good","n":"\344\270\211"}' > payload
"$tool" sign key.pem payload gw-attestation+jwt > jws
IFS=. read -r h p s < jws || true
[ -n "$h" ] && [ -n "$p" ] && [ -n "$s" ] || fail "not three parts: $(cat jws)"
case $s in *.*) fail "more than three parts" ;; esac
printf '%s' "$h" | unb64url > header.json
printf '{"alg":"ES256","kid":"%s","typ":"gw-attestation+jwt"}' "$kid" > header.want
cmp -s header.json header.want || fail "header is $(cat header.json), want $(cat header.want)"
printf '%s' "$p" | unb64url > payload.got
cmp -s payload payload.got || fail "payload does not round-trip"
printf '%s' "$s" | unb64url > sig.raw
printf '%s.%s' "$h" "$p" > input
verify input sig.raw || fail "openssl does not verify our compact JWS"
ok "compact JWS verified by openssl dgst; kid is the RFC 7638 thumbprint"

# tampered payload: one more byte in the signed text
printf '%s.%sA' "$h" "$p" > input.bad
if verify input.bad sig.raw; then fail "openssl verified a tampered payload"; fi
# tampered signature: flip the lowest bit of s
last=$(tail -c 1 sig.raw | od -An -tu1 | tr -d ' ')
{ head -c 63 sig.raw; printf "\\$(printf '%03o' $(( last ^ 1 )))"; } > sig.bad
cmp -s sig.raw sig.bad && fail "bit flip did nothing"
if verify input sig.bad; then fail "openssl verified a tampered signature"; fi
ok "tampered compact JWS refused by openssl"

# --- 2. JWKS ------------------------------------------------------------------
"$tool" jwks key.pem > jwks.got
printf '{"keys":[{"kty":"EC","crv":"P-256","x":"%s","y":"%s","kid":"%s","alg":"ES256","use":"sig"}]}' \
  "$x" "$y" "$kid" > jwks.want
cmp -s jwks.got jwks.want || fail "JWKS is $(cat jwks.got), want $(cat jwks.want)"
ok "JWKS matches the one built from the openssl SPKI"

# --- 3. detached JWS -------------------------------------------------------------
head -c 10000 /dev/urandom > body
"$tool" detached key.pem body > djws
IFS=. read -r dh dp ds < djws || true
[ -z "$dp" ] && [ "$(cat djws)" = "$dh..$ds" ] || fail "not header..signature: $(cat djws)"
printf '%s' "$ds" | unb64url > dsig.raw
{ printf '%s.' "$dh"; b64url < body; } > dinput
verify dinput dsig.raw || fail "openssl does not verify our detached JWS"
{ head -c 9999 body; printf 'x'; } > body.bad
{ printf '%s.' "$dh"; b64url < body.bad; } > dinput.bad
if verify dinput.bad dsig.raw; then fail "openssl verified a detached JWS over a changed body"; fi
ok "detached JWS verified by openssl over header.base64url(body); changed body refused"

# --- 4. the other direction: openssl signs, we verify ------------------------------
printf '{"kty":"EC","crv":"P-256","x":"%s","y":"%s"}' "$x" "$y" > jwk.json
printf '{"keys":[%s]}' "$(cat jwk.json)" > ext.jwks
oh=$(printf '{"alg":"ES256","kid":"%s"}' "$kid" | b64url)
op=$(printf 'signed by the openssl command line' | b64url)
printf '%s.%s' "$oh" "$op" > oinput
openssl dgst -sha256 -sign key.pem -out osig.der oinput
der_to_raw osig.der osig.raw
printf '%s.%s.%s' "$oh" "$op" "$(b64url < osig.raw)" > ojws
"$tool" verify ext.jwks ojws > opayload 2>/dev/null || fail "jws_tool refused an openssl-made JWS"
[ "$(cat opayload)" = "signed by the openssl command line" ] || fail "wrong payload back"
# the same signature left as DER must be refused
printf '%s.%s.%s' "$oh" "$op" "$(b64url < osig.der)" > ojws.der
if "$tool" verify ext.jwks ojws.der >/dev/null 2>&1; then fail "jws_tool accepted a DER signature"; fi
# tampered payload
printf '%s.%s.%s' "$oh" "$(printf 'signed by the openssl command lime' | b64url)" \
  "$(b64url < osig.raw)" > ojws.bad
if "$tool" verify ext.jwks ojws.bad >/dev/null 2>&1; then fail "jws_tool accepted a tampered JWS"; fi
ok "openssl-made JWS verified by jws_tool; DER form and tampered payload refused"

echo "PASS"
