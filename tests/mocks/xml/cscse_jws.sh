#!/bin/sh
# cscse_jws.sh - the cscse JWS, verified by the openssl command line.
#
# An independent client: split the compact JWS, base64url-decode with
# basenc, turn the raw 64-byte r||s into a DER ECDSA-Sig-Value with
# `openssl asn1parse -genconf`, and `openssl dgst -sha256 -verify` against
# the agency's published key (signing/cscse.pub.pem).  Genuine answers
# verify; bad_signature and wrong_signer do not (wrong_signer keeps our kid
# and verifies only under the rogue key); malformed verifies but its payload
# is not JSON.  jq reads the payload the way the gateway's mapping would.
. "$(dirname "$0")/xt_lib.sh"
need openssl openssl
need jq jq
need basenc coreutils

b64url_decode() {  # stdin: base64url without padding -> stdout: bytes
  s=$(cat)
  case $(( ${#s} % 4 )) in 2) s="$s==" ;; 3) s="$s=" ;; 1) return 1 ;; esac
  printf '%s' "$s" | basenc --base64url -d
}

# check FILE PUBKEY: exit status of the openssl verification.
check() {
  jws=$(cat "$1")
  h=${jws%%.*}; rest=${jws#*.}; p=${rest%%.*}; s=${rest#*.}
  [ "$h.$p.$s" = "$jws" ] || fail "$1 is not three dot-separated parts"
  printf '%s' "$h.$p" >"$T/input"
  printf '%s' "$p" | b64url_decode >"$T/payload" || fail "payload is not base64url"
  printf '%s' "$h" | b64url_decode >"$T/header" || fail "header is not base64url"
  printf '%s' "$s" | b64url_decode >"$T/sig.raw" || fail "signature is not base64url"
  [ "$(wc -c <"$T/sig.raw")" -eq 64 ] || fail "signature is $(wc -c <"$T/sig.raw") bytes, not 64 (r||s)"
  hex=$(od -An -v -tx1 "$T/sig.raw" | tr -d ' \n')
  printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' \
    "$(echo "$hex" | cut -c1-64)" "$(echo "$hex" | cut -c65-128)" >"$T/sig.cnf"
  openssl asn1parse -genconf "$T/sig.cnf" -out "$T/sig.der" -noout >/dev/null ||
    fail "cannot DER-encode r||s"
  openssl dgst -sha256 -verify "$2" -signature "$T/sig.der" "$T/input" >/dev/null 2>&1
}

render cscse "$ID_OVERSEAS" "$NAME_OVERSEAS" >"$T/ok.jws"
[ "$(status)" = 200 ] && [ "$(ctype)" = application/jose ] || fail "status/type: $(cat "$T/meta")"
check "$T/ok.jws" "$PKI/signing/cscse.pub.pem" || fail "genuine JWS does not verify with openssl"
[ "$(jq -r .alg "$T/header")" = ES256 ] && [ "$(jq -r '.kid | length > 0' "$T/header")" = true ] ||
  fail "header is not ES256 with a kid: $(cat "$T/header")"
[ "$(jq -r '.certifications[0].institution' "$T/payload")" = "University of Cambridge" ] ||
  fail "payload: $(cat "$T/payload")"
[ "$(jq -r '.subject.idNumberSha256' "$T/payload")" = "$(printf %s "$ID_OVERSEAS" | sha256sum | cut -c1-64)" ] ||
  fail "subject hash is not SHA-256 of the number"
[ "$(jq -r '(.iat | type) + " " + .result + " " + .subject.name' "$T/payload")" = "number found $NAME_OVERSEAS" ] ||
  fail "payload fields: $(cat "$T/payload")"
ok "found: openssl verifies r||s as DER against cscse.pub.pem; payload read by jq"
if check "$T/ok.jws" "$PKI/signing/rogue-jws.pub.pem"; then fail "verifies under the rogue key"; fi
ok "found: does not verify under another key"

render cscse "$ID_GRADUATE" "$NAME_GRADUATE" >"$T/none.jws"
check "$T/none.jws" "$PKI/signing/cscse.pub.pem" || fail "no record: does not verify"
[ "$(jq -r '.result + " " + (.certifications | length | tostring)' "$T/payload")" = "no_record 0" ] ||
  fail "no record payload: $(cat "$T/payload")"
ok "no record: signed, result no_record, empty list"

render cscse "$ID_OVERSEAS" "$NAME_OVERSEAS" bad_signature >"$T/bad.jws"
if check "$T/bad.jws" "$PKI/signing/cscse.pub.pem"; then fail "bad_signature verifies"; fi
[ "$(jq -r '.certifications[0].institution' "$T/payload")" = "University of Oxford" ] ||
  fail "bad_signature: payload was not swapped"
ok "bad_signature: openssl rejects it (payload swapped after signing)"

render cscse "$ID_OVERSEAS" "$NAME_OVERSEAS" wrong_signer >"$T/wrong.jws"
if check "$T/wrong.jws" "$PKI/signing/cscse.pub.pem"; then fail "wrong_signer verifies"; fi
kid_ok=$(jq -r .kid "$T/header")
check "$T/ok.jws" "$PKI/signing/cscse.pub.pem"
[ "$(jq -r .kid "$T/header")" = "$kid_ok" ] || fail "wrong_signer changed the kid"
check "$T/wrong.jws" "$PKI/signing/rogue-jws.pub.pem" || fail "wrong_signer: not signed by the rogue key"
ok "wrong_signer: same kid, rejected with cscse.pub.pem, valid under rogue-jws.pub.pem"

render cscse "$ID_OVERSEAS" "$NAME_OVERSEAS" malformed >"$T/mal.jws"
check "$T/mal.jws" "$PKI/signing/cscse.pub.pem" || fail "malformed: signature should verify"
if jq . "$T/payload" >/dev/null 2>&1; then fail "malformed: payload is valid JSON"; fi
ok "malformed: signature verifies, payload is not JSON"

render cscse "$ID_OVERSEAS" "$NAME_OVERSEAS" fault >"$T/fault.json"
[ "$(status)" = 500 ] && [ "$(jq -r .code "$T/fault.json")" = E500 ] || fail "fault: $(cat "$T/meta" "$T/fault.json")"
render cscse 11010819950720456X "$NAME_OVERSEAS" >"$T/inv.json"
[ "$(status)" = 422 ] && [ "$(jq -r .code "$T/inv.json")" = E422 ] || fail "invalid number: $(cat "$T/meta")"
ok "fault is E500/500, an invalid number E422/422, both plain JSON"

# A second, independent implementation when Debian's python3-cryptography is there.
if /usr/bin/python3 -c 'import cryptography' 2>/dev/null; then
  /usr/bin/python3 - "$T/ok.jws" "$T/bad.jws" "$PKI/signing/cscse.pub.pem" <<'PY' || fail "python3-cryptography disagrees"
import base64, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.exceptions import InvalidSignature
key = serialization.load_pem_public_key(open(sys.argv[3], 'rb').read())
def ok(path):
    h, p, s = open(path).read().split('.')
    raw = base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))
    assert len(raw) == 64
    der = utils.encode_dss_signature(int.from_bytes(raw[:32], 'big'), int.from_bytes(raw[32:], 'big'))
    try:
        key.verify(der, (h + '.' + p).encode(), ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False
assert ok(sys.argv[1]) and not ok(sys.argv[2])
PY
  ok "python3-cryptography agrees (genuine verifies, bad_signature does not)"
else
  echo "note: python3-cryptography not installed, second verifier skipped"
fi
