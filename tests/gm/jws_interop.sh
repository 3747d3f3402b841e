#!/bin/sh
# GmSM2 JWS (docs/crypto.md) checked by implementations nobody here wrote:
# the openssl command line (SM2 over SM3 with -sigopt distid) and Go's
# github.com/tjfoc/gmsm (tests/gm/gmcheck).
#
#   jws_interop.sh PATH/TO/jws_tool PATH/TO/gmcheck
#
# With a throwaway SM2 key made by `openssl genpkey -algorithm SM2`:
#  1. a compact JWS made by jws_tool has header {"alg":"GmSM2","kid":..},
#     kid the RFC 7638 thumbprint over {"crv":"SM2","kty":"EC","x","y"}
#     computed here from the openssl SPKI, and the JWKS is byte for byte the
#     one built here;
#  2. its r||s signature, rewritten as DER, verifies with `openssl dgst -sm3
#     -sigopt distid:1234567812345678`, and NOT without the distid (the
#     distinguishing-ID trap seen from the command line);
#  3. gmcheck (gmsm) verifies it from the JWKS and gives the payload back;
#  4. the other direction: gmcheck signs with a gmsm key, jws_tool verifies
#     from gmcheck's JWKS; and openssl signs, jws_tool verifies;
#  5. tampered payloads fail everywhere.
# Exit 0 pass, 1 fail.
set -eu

tool=${1:?usage: jws_interop.sh jws_tool gmcheck}
gmcheck=${2:?usage: jws_interop.sh jws_tool gmcheck}
case $tool in /*) ;; *) tool=$PWD/$tool ;; esac
case $gmcheck in /*) ;; *) gmcheck=$PWD/$gmcheck ;; esac

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM
cd "$dir"

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
b64url() { basenc --base64url -w0 | tr -d '='; }
unb64url() {
  s=$(cat)
  case $(( ${#s} % 4 )) in 2) s="$s==" ;; 3) s="$s=" ;; esac
  printf '%s' "$s" | basenc --base64url -d
}
hex() { basenc --base16 -w0; }
raw_to_der() {
  [ "$(wc -c < "$1")" -eq 64 ] || fail "signature is $(wc -c < "$1") bytes, not 64"
  printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' \
    "$(head -c 32 "$1" | hex)" "$(tail -c 32 "$1" | hex)" > sig.cnf
  openssl asn1parse -genconf sig.cnf -out "$2" -noout
}
der_to_raw() {
  openssl asn1parse -inform DER -in "$1" | sed -n 's/.*INTEGER *://p' > ints
  [ "$(wc -l < ints)" -eq 2 ] || fail "not two INTEGERs in DER signature"
  : > "$2"
  while read -r v; do
    while [ ${#v} -lt 64 ]; do v="0$v"; done
    printf '%s' "$v" | tr 'a-f' 'A-F' | basenc --base16 -d >> "$2"
  done < ints
}
# verify INPUT RAW [distid]: openssl's verdict
verify() {
  raw_to_der "$2" sig.der
  if [ $# -ge 3 ]; then
    openssl dgst -sm3 -verify pub.pem -sigopt "distid:$3" -signature sig.der "$1" >/dev/null 2>&1
  else
    openssl dgst -sm3 -verify pub.pem -signature sig.der "$1" >/dev/null 2>&1
  fi
}

openssl genpkey -algorithm SM2 -out key.pem 2>/dev/null
openssl pkey -in key.pem -pubout -out pub.pem
openssl pkey -pubin -in pub.pem -outform DER > pub.der
x=$(tail -c 64 pub.der | head -c 32 | b64url)
y=$(tail -c 32 pub.der | b64url)
kid=$(printf '{"crv":"SM2","kty":"EC","x":"%s","y":"%s"}' "$x" "$y" |
      openssl dgst -sha256 -binary | b64url)

# --- 1. our JWS and JWKS ---------------------------------------------------------
printf '{"iss":"gw-test","fact":"education.degrees","value":"本科"}' > payload
"$tool" sign key.pem payload gw-fact+jws > jws
IFS=. read -r h p s < jws || true
printf '%s' "$h" | unb64url > header.json
printf '{"alg":"GmSM2","kid":"%s","typ":"gw-fact+jws"}' "$kid" > header.want
cmp -s header.json header.want || fail "header is $(cat header.json), want $(cat header.want)"
"$tool" jwks key.pem > jwks
printf '{"keys":[{"kty":"EC","crv":"SM2","x":"%s","y":"%s","kid":"%s","alg":"GmSM2","use":"sig","sm2_id":"1234567812345678"}]}' \
  "$x" "$y" "$kid" > jwks.want
cmp -s jwks jwks.want || fail "JWKS is $(cat jwks), want $(cat jwks.want)"
ok "GmSM2 header and JWKS (publishing sm2_id); kid is the RFC 7638 thumbprint of the SM2 JWK"

# --- 2. openssl dgst -sm3 with the distinguishing ID -------------------------------
printf '%s' "$s" | unb64url > sig.raw
printf '%s.%s' "$h" "$p" > input
verify input sig.raw 1234567812345678 || fail "openssl does not verify our GmSM2 JWS"
if verify input sig.raw; then fail "openssl verified without the distid: the ID is not the standard one"; fi
printf '%s.%sA' "$h" "$p" > input.bad
if verify input.bad sig.raw 1234567812345678; then fail "openssl verified a tampered payload"; fi
ok "openssl dgst -sm3 -sigopt distid:1234567812345678 verifies; without the ID it does not"

# --- 3. gmsm --------------------------------------------------------------------------
"$gmcheck" jws jwks jws > payload.go || fail "gmsm does not verify our GmSM2 JWS"
cmp -s payload payload.go || fail "gmsm gives another payload back"
printf '%s.%s.%s' "$h" "$(printf '{"iss":"gw-test","fact":"education.degrees","value":"硕士"}' | b64url)" "$s" > jws.bad
if "$gmcheck" jws jwks jws.bad >/dev/null 2>&1; then fail "gmsm verified a tampered payload"; fi
ok "gmsm (tjfoc) verifies our GmSM2 JWS and refuses a tampered one"

# --- 4. the other direction --------------------------------------------------------------
"$gmcheck" sign-jws go.jwks go.jws 'signed by gmsm'
"$tool" verify go.jwks go.jws > go.payload || fail "jws_tool refused a gmsm-made GmSM2 JWS"
[ "$(cat go.payload)" = "signed by gmsm" ] || fail "wrong payload from the gmsm JWS"
oh=$(printf '{"alg":"GmSM2","kid":"%s"}' "$kid" | b64url)
op=$(printf 'signed by the openssl command line' | b64url)
printf '%s.%s' "$oh" "$op" > oinput
openssl dgst -sm3 -sign key.pem -sigopt distid:1234567812345678 -out osig.der oinput
der_to_raw osig.der osig.raw
printf '%s.%s.%s' "$oh" "$op" "$(b64url < osig.raw)" > ojws
"$tool" verify jwks ojws > opayload || fail "jws_tool refused an openssl-made GmSM2 JWS"
[ "$(cat opayload)" = "signed by the openssl command line" ] || fail "wrong payload back"
# the same JWS signed under the empty ID (OpenSSL's default) must be refused
openssl dgst -sm3 -sign key.pem -out esig.der oinput
der_to_raw esig.der esig.raw
printf '%s.%s.%s' "$oh" "$op" "$(b64url < esig.raw)" > ejws
if "$tool" verify jwks ejws >/dev/null 2>&1; then fail "jws_tool accepted a signature made under the empty ID"; fi
# an ES256 header on the SM2 key is refused (the algorithm belongs to the key)
printf '%s.%s.%s' "$(printf '{"alg":"ES256","kid":"%s"}' "$kid" | b64url)" "$op" "$(b64url < osig.raw)" > ajws
if "$tool" verify jwks ajws >/dev/null 2>&1; then fail "jws_tool accepted alg ES256 on an SM2 key"; fi
ok "gmsm- and openssl-made GmSM2 JWS verified by jws_tool; empty-ID signature and alg swap refused"

# --- 6. a key whose y coordinate starts with a zero byte -------------------------------
# Z_A hashes both coordinates 32 bytes wide.  Debian's gmsm pads x but not y
# (sm2.ZA), so for one key in 256 its own verify refuses a correct signature;
# gmcheck computes Z_A itself for that reason (tests/gm/gmcheck/main.go zA).
# Such a key must still sign a JWS that gmcheck and openssl verify: without
# the padding this step fails every time, not one run in 256.
i=0
while :; do
  i=$((i + 1))
  [ $i -le 4000 ] || fail "no SM2 key with a leading zero byte in y after 4000 tries"
  openssl genpkey -algorithm SM2 -out zkey.pem 2>/dev/null
  openssl pkey -in zkey.pem -pubout -outform DER 2>/dev/null > zpub.der
  [ "$(tail -c 32 zpub.der | head -c 1 | hex)" = "00" ] && break
done
"$tool" sign zkey.pem payload gw-fact+jws > zjws
"$tool" jwks zkey.pem > zjwks
"$gmcheck" jws zjwks zjws > zpayload.go || fail "gmcheck refused a JWS by a key whose y starts with 00"
cmp -s payload zpayload.go || fail "gmcheck gives another payload back (y starts with 00)"
openssl pkey -in zkey.pem -pubout -out pub.pem
IFS=. read -r zh zp zs < zjws || true
printf '%s' "$zs" | unb64url > zsig.raw
printf '%s.%s' "$zh" "$zp" > zinput
verify zinput zsig.raw 1234567812345678 || fail "openssl refused the y-starts-with-00 JWS"
ok "a key whose y starts with a zero byte ($i keys made): openssl and gmcheck verify its JWS"

echo "PASS"
