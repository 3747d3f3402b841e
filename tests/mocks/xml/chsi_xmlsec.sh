#!/bin/sh
# chsi_xmlsec.sh - the chsi XML-DSig, checked by the xmlsec1 command line.
#
# What an agency IT team or an auditor would do with a saved response:
# verify it with `xmlsec1 --verify`, trusting only the agency CA.  Genuine
# answers (found and no record) verify; bad_signature and wrong_signer do
# not.  signature_wrapping DOES verify with this naive check - that is the
# attack - and xmllint shows why it must still be refused: the element the
# Reference points at is not the soap:Body a client maps, and the two say
# different things.
. "$(dirname "$0")/xt_lib.sh"
need xmlsec1 xmlsec1
need xmllint libxml2-utils
need openssl openssl
need base64 coreutils

SOAP=http://schemas.xmlsoap.org/soap/envelope/
verify() {
  xmlsec1 --verify --trusted-pem "$PKI/agency-ca.pem" --id-attr:Id "$SOAP:Body" "$1" \
    >"$T/xmlsec.log" 2>&1
}
xp() { xmllint --xpath "$1" "$2" 2>/dev/null || true; }
BODY='/*[local-name()="Envelope"]/*[local-name()="Body"]'

render chsi "$ID_GRADUATE" "$NAME_GRADUATE" >"$T/found.xml"
[ "$(status)" = 200 ] || fail "found: status $(status)"
verify "$T/found.xml" || { cat "$T/xmlsec.log"; fail "found: xmlsec1 rejects a genuine answer"; }
ok "found: xmlsec1 --verify accepts the signature (agency CA trusted)"
sid=$(xp 'substring-after(string(//*[local-name()="Reference"]/@URI), "#")' "$T/found.xml")
bid=$(xp "string($BODY/@*[local-name()='Id'])" "$T/found.xml")
[ -n "$sid" ] && [ "$sid" = "$bid" ] || fail "found: Reference #$sid is not the soap:Body ($bid)"
ok "found: the one Reference points at the soap:Body ($sid)"
DS='/*[local-name()="Envelope"]/*[local-name()="Body"]/*[local-name()="Signature"]'
alg=$(xp "string($DS/*[local-name()='SignedInfo']/*[local-name()='SignatureMethod']/@Algorithm)" "$T/found.xml")
[ "$alg" = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" ] ||
  fail "found: SignatureMethod is $alg, want ecdsa-sha256 (chsi's key is P-256)"
ok "found: SignatureMethod ecdsa-sha256"
# keyinfo_cert FILE: the X509Certificate in KeyInfo, whitespace removed.
keyinfo_cert() {
  xp "string(//*[local-name()='KeyInfo']/*[local-name()='X509Data']/*[local-name()='X509Certificate'])" "$1" |
    tr -d ' \n\r\t'
}
der_b64() { openssl x509 -in "$1" -outform DER | base64 | tr -d '\n'; }
[ "$(keyinfo_cert "$T/found.xml")" = "$(der_b64 "$PKI/signing/chsi.pem")" ] ||
  fail "found: KeyInfo/X509Data does not carry signing/chsi.pem"
ok "found: KeyInfo/X509Data carries signing/chsi.pem"
# By the chsi key alone, ignoring the chain: it verifies, and only with that key.
xmlsec1 --verify --pubkey-cert-pem "$PKI/signing/chsi.pem" --id-attr:Id "$SOAP:Body" \
  "$T/found.xml" >/dev/null 2>&1 || fail "found: does not verify with the chsi key alone"
if xmlsec1 --verify --pubkey-cert-pem "$PKI/signing/rogue.pem" --id-attr:Id "$SOAP:Body" \
     "$T/found.xml" >/dev/null 2>&1; then
  fail "found: verifies with the rogue key"
fi
ok "found: verifies with the chsi key alone, not with the rogue key"

render chsi "$ID_NOBODY" 某人 >"$T/none.xml"
verify "$T/none.xml" || fail "no record: xmlsec1 rejects a genuine no-record answer"
[ "$(xp "string($BODY/*/*[local-name()='result'])" "$T/none.xml")" = no_record ] ||
  fail "no record: result is not no_record"
ok "no record: signed answer with result no_record verifies"

# Without the agency CA, the same bytes must not verify.
if xmlsec1 --verify --trusted-pem "$PKI/signing/rogue.pem" --id-attr:Id "$SOAP:Body" \
     "$T/found.xml" >/dev/null 2>&1; then
  fail "found: verifies against a CA that did not issue the signer"
fi
ok "found: does not verify when only an unrelated certificate is trusted"

render chsi "$ID_GRADUATE" "$NAME_GRADUATE" bad_signature >"$T/bad.xml"
xmllint --noout "$T/bad.xml" || fail "bad_signature: not well-formed"
if verify "$T/bad.xml"; then fail "bad_signature: xmlsec1 accepts a changed value"; fi
ok "bad_signature: xmlsec1 --verify rejects it"

render chsi "$ID_GRADUATE" "$NAME_GRADUATE" wrong_signer >"$T/wrong.xml"
if verify "$T/wrong.xml"; then fail "wrong_signer: xmlsec1 accepts a rogue signer"; fi
# ...although the signature itself is sound under the rogue CA.
xmlsec1 --verify --trusted-pem "$PKI/negative/unknown-ca.pem" --id-attr:Id "$SOAP:Body" \
  "$T/wrong.xml" >/dev/null 2>&1 || fail "wrong_signer: not even valid under the rogue CA"
[ "$(keyinfo_cert "$T/wrong.xml")" = "$(der_b64 "$PKI/signing/rogue.pem")" ] ||
  fail "wrong_signer: KeyInfo/X509Data does not carry signing/rogue.pem"
if xmlsec1 --verify --pubkey-cert-pem "$PKI/signing/chsi.pem" --id-attr:Id "$SOAP:Body" \
     "$T/wrong.xml" >/dev/null 2>&1; then
  fail "wrong_signer: verifies with the chsi key"
fi
ok "wrong_signer: rejected with the agency CA, valid only under the unknown CA"

render chsi "$ID_GRADUATE" "$NAME_GRADUATE" signature_wrapping >"$T/wrap.xml"
verify "$T/wrap.xml" || { cat "$T/xmlsec.log"; fail "wrapping: the naive check should pass"; }
ok "signature_wrapping: a naive xmlsec1 --verify accepts it (the attack)"
sid=$(xp 'substring-after(string(//*[local-name()="Reference"]/@URI), "#")' "$T/wrap.xml")
[ -n "$sid" ] || fail "wrapping: no Reference"
[ "$(xp "count($BODY[@*[local-name()='Id']='$sid'])" "$T/wrap.xml")" = 0 ] ||
  fail "wrapping: the mapped soap:Body is the signed one"
[ "$(xp "count(//*[@*[local-name()='Id']='$sid']/ancestor::*[local-name()='Header'])" "$T/wrap.xml")" = 1 ] ||
  fail "wrapping: the signed element is not hidden in the Header"
signed=$(xp "string(//*[@*[local-name()='Id']='$sid']//*[local-name()='degree'][last()]/*[local-name()='institution'])" "$T/wrap.xml")
mapped=$(xp "string($BODY//*[local-name()='degree'][1]/*[local-name()='institution'])" "$T/wrap.xml")
mapped_level=$(xp "string($BODY//*[local-name()='degree'][1]/*[local-name()='level'])" "$T/wrap.xml")
[ "$mapped_level" = doctor ] || fail "wrapping: forged Body does not claim a doctorate"
[ "$(xp "count($BODY//*[local-name()='degree'])" "$T/wrap.xml")" = 1 ] &&
  [ "$(xp "count(//*[@*[local-name()='Id']='$sid']//*[local-name()='degree'])" "$T/wrap.xml")" = 2 ] ||
  fail "wrapping: signed and mapped degree lists are not the genuine and the forged ones"
ok "signature_wrapping: signed node #$sid sits in the Header ($signed, 2 degrees);" \
   "the mapped soap:Body has no Id and claims a doctorate ($mapped)"
