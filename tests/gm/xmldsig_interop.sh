#!/bin/sh
# SM2 XML-DSig (SignatureMethod xmldsig#sm2-sm3, DigestMethod xmldsig#sm3,
# docs/crypto.md) checked by implementations nobody here wrote.  Neither
# libxmlsec1 nor the xmlsec1 command line knows SM2 or SM3, so the check is
# Go: github.com/beevik/etree for the tree, goxmldsig's own exclusive C14N
# (not libxml2's) and gmsm's SM3, SM2 and certificate parser (tests/gm/gmcheck).
#
#   xmldsig_interop.sh MOCK_RENDER XMLSIG_TOOL GMCHECK
#
# With a fresh test PKI (certs/gen-pki.sh):
#  1. chsi's answer signed with its SM2 certificate (mock-render --sm2, the
#     code mock-agencies --sign sm2 runs) says sm2-sm3 / sm3, verifies in
#     gmcheck with signing/chsi-sm2.pem, and in the gateway's verifier
#     (xmlsig_tool); a changed degree fails in both;
#  2. the hostile modes: bad_signature and wrong_signer fail in gmcheck (with
#     the chsi certificate) and in the gateway; signature_wrapping passes
#     gmcheck's naive check (that is the attack) and the gateway refuses it
#     as wrong_node;
#  3. the other direction: gmcheck signs a SOAP answer with chsi-sm2.key
#     (gmsm + goxmldsig), the gateway verifies it, a changed value fails,
#     and a verifier that expects ecdsa-sha256 refuses it before any crypto.
# Exit 0 pass, 1 fail.
set -eu

render=${1:?usage: xmldsig_interop.sh mock-render xmlsig_tool gmcheck}
tool=${2:?usage: xmldsig_interop.sh mock-render xmlsig_tool gmcheck}
gmcheck=${3:?usage: xmldsig_interop.sh mock-render xmlsig_tool gmcheck}
: "${GW_SOURCE_DIR:?GW_SOURCE_DIR must point at the source tree}"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
passed=0
pass() { ok "$*"; passed=$((passed + 1)); }

bash "$GW_SOURCE_DIR/certs/gen-pki.sh" "$dir/pki" >/dev/null || fail "certs/gen-pki.sh"
P=$dir/pki/signing
ID=440305199803151234 NAME=张伟           # the hand-made graduate of mock-render

answer() {  # FAULT OUT
  "$render" --pki "$dir/pki" --sm2 chsi "$ID" "$NAME" "$1" >"$2" 2>"$dir/meta" ||
    fail "mock-render chsi $1: $(cat "$dir/meta")"
}
gw() { "$tool" "$@" 2>&1 || true; }

# 1. the honest answer
answer none "$dir/ok.xml"
grep -q 'SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sm2-sm3"' "$dir/ok.xml" ||
  fail "chsi --sm2 does not sign sm2-sm3"
grep -q 'DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sm3"' "$dir/ok.xml" ||
  fail "chsi --sm2 does not digest with sm3"
pass "chsi's SM2 answer: SignatureMethod xmldsig#sm2-sm3, DigestMethod xmldsig#sm3"
out=$("$gmcheck" xmldsig "$P/chsi-sm2.pem" "$dir/ok.xml" 2>&1) ||
  fail "gmcheck (goxmldsig c14n + gmsm) refuses chsi's SM2 signature: $out"
[ "$out" = Body ] || fail "gmcheck: the reference is $out, not the soap:Body"
pass "gmcheck (goxmldsig C14N, gmsm SM3/SM2, ID 1234567812345678) verifies it; it signs the Body"
[ "$(gw "$P/chsi-sm2.pem" "$dir/ok.xml")" = ok ] || fail "the gateway refuses: $(gw "$P/chsi-sm2.pem" "$dir/ok.xml")"
pass "the gateway's verifier accepts the same document"
sed 's/清华大学/北京大学/' "$dir/ok.xml" >"$dir/changed.xml"
cmp -s "$dir/ok.xml" "$dir/changed.xml" && fail "the degree to change is not in the answer"
if "$gmcheck" xmldsig "$P/chsi-sm2.pem" "$dir/changed.xml" 2>/dev/null; then
  fail "gmcheck verified a changed answer"
fi
case $(gw "$P/chsi-sm2.pem" "$dir/changed.xml") in
  "invalid: the SM3 digest"*) ;;
  *) fail "the gateway on a changed answer: $(gw "$P/chsi-sm2.pem" "$dir/changed.xml")" ;;
esac
pass "a changed institution fails in gmcheck and in the gateway (SM3 digest)"

# 2. the hostile modes
answer bad_signature "$dir/bad.xml"
answer wrong_signer "$dir/wrong.xml"
answer signature_wrapping "$dir/wrap.xml"
for f in bad wrong; do
  if "$gmcheck" xmldsig "$P/chsi-sm2.pem" "$dir/$f.xml" 2>/dev/null; then
    fail "gmcheck verified chsi's $f answer with the chsi certificate"
  fi
done
case $(gw "$P/chsi-sm2.pem" "$dir/bad.xml") in invalid:*) ;; *) fail "bad_signature: $(gw "$P/chsi-sm2.pem" "$dir/bad.xml")" ;; esac
case $(gw "$P/chsi-sm2.pem" "$dir/wrong.xml") in wrong_signer:*) ;; *) fail "wrong_signer: $(gw "$P/chsi-sm2.pem" "$dir/wrong.xml")" ;; esac
"$gmcheck" xmldsig "$P/rogue-sm2.pem" "$dir/wrong.xml" >/dev/null 2>&1 ||
  fail "wrong_signer is not a genuine signature by the rogue SM2 key"
pass "bad_signature and wrong_signer fail in gmcheck and the gateway (invalid, wrong_signer)"
out=$("$gmcheck" xmldsig "$P/chsi-sm2.pem" "$dir/wrap.xml" 2>&1) ||
  fail "signature_wrapping: the moved signature should still verify naively: $out"
case $(gw "$P/chsi-sm2.pem" "$dir/wrap.xml") in wrong_node:*) ;; *) fail "signature_wrapping: $(gw "$P/chsi-sm2.pem" "$dir/wrap.xml")" ;; esac
pass "signature_wrapping: the SM2 signature still verifies naively (gmcheck), the gateway refuses it (wrong_node)"

# 3. signed by gmsm + goxmldsig, verified by the gateway
cat >"$dir/unsigned.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><soap:Header/><soap:Body wsu:Id="Body-go1"><chsi:VerifyDegreesResponse xmlns:chsi="urn:mock:chsi:degree:1"><chsi:result>found</chsi:result><chsi:degrees><chsi:degree><chsi:level>doctor</chsi:level><chsi:institution>中国科学院大学</chsi:institution></chsi:degree></chsi:degrees></chsi:VerifyDegreesResponse></soap:Body></soap:Envelope>
EOF
"$gmcheck" sign-xmldsig "$P/chsi-sm2.key" "$P/chsi-sm2.pem" "$dir/unsigned.xml" "$dir/go.xml" ||
  fail "gmcheck cannot sign"
"$gmcheck" xmldsig "$P/chsi-sm2.pem" "$dir/go.xml" >/dev/null || fail "gmcheck does not verify its own signature"
[ "$(gw "$P/chsi-sm2.pem" "$dir/go.xml")" = ok ] ||
  fail "the gateway refuses gmsm's signature: $(gw "$P/chsi-sm2.pem" "$dir/go.xml")"
[ "$(gw "$P/chsi-sm2.pem" "$dir/go.xml" sm2-sm3)" = ok ] || fail "verify.alg sm2-sm3 refuses it"
pass "a document signed by gmsm over goxmldsig's C14N verifies in the gateway"
sed 's/doctor/master/' "$dir/go.xml" >"$dir/go-changed.xml"
case $(gw "$P/chsi-sm2.pem" "$dir/go-changed.xml") in invalid:*) ;; *) fail "changed gmsm document: $(gw "$P/chsi-sm2.pem" "$dir/go-changed.xml")" ;; esac
case $(gw "$P/chsi.pem" "$dir/go.xml") in disallowed_algorithm:*) ;; *) fail "ECDSA verifier on sm2-sm3: $(gw "$P/chsi.pem" "$dir/go.xml")" ;; esac
case $(gw "$P/chsi.pem" "$dir/go.xml" ecdsa-sha256) in disallowed_algorithm:*) ;; *) fail "ecdsa-sha256 verifier on sm2-sm3" ;; esac
pass "changed, it fails; an ECDSA verifier refuses sm2-sm3 before any cryptography"
echo "$passed passed, 0 failed"
