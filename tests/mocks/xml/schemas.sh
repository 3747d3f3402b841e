#!/bin/sh
# schemas.sh - every document the XML agencies emit and accept, checked by
# `xmllint --schema` against schemas/agencies/, and the WSDL/XSD the chsi
# service serves compared byte for byte with the files in the repository.
#
# SOAP payloads are cut out of the envelope with xmllint --xpath (each
# payload declares its own namespace, so the cut-out is a document of its
# own); fault details the same way; qual documents are validated whole, in
# GB18030 as sent.
. "$(dirname "$0")/xt_lib.sh"
need xmllint libxml2-utils

valid() {  # valid XSD FILE WHAT
  xmllint --noout --schema "$SCHEMAS/$1" "$2" >"$T/xmllint.log" 2>&1 ||
    { cat "$T/xmllint.log" >&2; fail "$3 does not validate against $1"; }
  ok "$3 validates against $1"
}
cut_out() {  # cut_out XPATH IN OUT
  xmllint --xpath "$1" "$2" >"$3" 2>/dev/null && [ -s "$3" ] || fail "nothing at $1 in $2"
}
PAYLOAD='/*[local-name()="Envelope"]/*[local-name()="Body"]/*[1]'
DETAIL='//*[local-name()="Fault"]//*[local-name()="error"]'

for s in chsi.xsd credit.xsd qual.xsd; do
  xmllint --noout "$SCHEMAS/$s" || fail "$s is not well-formed"
done
xmllint --noout "$SCHEMAS/chsi.wsdl" || fail "chsi.wsdl is not well-formed"

# chsi: requests, answers, faults.
render --request chsi "$ID_GRADUATE" "$NAME_GRADUATE" >"$T/req.xml"
cut_out "$PAYLOAD" "$T/req.xml" "$T/p.xml"; valid chsi.xsd "$T/p.xml" "chsi VerifyDegrees request"
for who in GRADUATE DISHONEST NOBODY; do
  eval id=\$ID_$who
  render chsi "$id" 某人 >"$T/r.xml"
  [ "$(status)" = 200 ] || fail "chsi $who: status $(status)"
  cut_out "$PAYLOAD" "$T/r.xml" "$T/p.xml"
  valid chsi.xsd "$T/p.xml" "chsi VerifyDegreesResponse ($who)"
done
render chsi 440305199803151235 某人 >"$T/r.xml"
[ "$(status)" = 500 ] || fail "chsi invalid number: status $(status)"
cut_out "$DETAIL" "$T/r.xml" "$T/p.xml"; valid chsi.xsd "$T/p.xml" "chsi fault detail (invalid number)"
render chsi "$ID_GRADUATE" 某人 fault >"$T/r.xml"
cut_out "$DETAIL" "$T/r.xml" "$T/p.xml"; valid chsi.xsd "$T/p.xml" "chsi fault detail (fault mode)"

# The contract served is the contract in the repository.
"$MOCK_RENDER" --pki "$PKI" --raw chsi GET /chsi/DegreeService wsdl </dev/null >"$T/served.wsdl" 2>/dev/null
cmp -s "$T/served.wsdl" "$SCHEMAS/chsi.wsdl" || fail "served WSDL differs from schemas/agencies/chsi.wsdl"
"$MOCK_RENDER" --pki "$PKI" --raw chsi GET /chsi/chsi.xsd </dev/null >"$T/served.xsd" 2>/dev/null
cmp -s "$T/served.xsd" "$SCHEMAS/chsi.xsd" || fail "served chsi.xsd differs from schemas/agencies/chsi.xsd"
ok "GET ?wsdl and /chsi/chsi.xsd serve the repository files byte for byte"

# credit
render --request credit "$ID_DISHONEST" "$NAME_DISHONEST" >"$T/req.xml"
cut_out "$PAYLOAD" "$T/req.xml" "$T/p.xml"; valid credit.xsd "$T/p.xml" "credit QueryCreditStatus request"
for who in GRADUATE OVERSEAS DISHONEST NOBODY; do
  eval id=\$ID_$who
  render credit "$id" 某人 >"$T/r.xml"
  [ "$(status)" = 200 ] || fail "credit $who: status $(status)"
  cut_out "$PAYLOAD" "$T/r.xml" "$T/p.xml"
  valid credit.xsd "$T/p.xml" "credit QueryCreditStatusResponse ($who)"
done
render credit 440305199803151235 某人 >"$T/r.xml"
[ "$(status)" = 400 ] || fail "credit invalid number: status $(status)"
cut_out "$DETAIL" "$T/r.xml" "$T/p.xml"; valid credit.xsd "$T/p.xml" "credit fault detail (invalid number)"

# qual: whole documents, GB18030 as sent.
for who in GRADUATE DISHONEST NOBODY; do
  eval id=\$ID_$who
  render qual "$id" 某人 >"$T/r.xml"
  [ "$(status)" = 200 ] || fail "qual $who: status $(status)"
  valid qual.xsd "$T/r.xml" "qual certificateQuery ($who, GB18030)"
done
render qual 440305199803151235 某人 >"$T/r.xml"
[ "$(status)" = 400 ] || fail "qual invalid number: status $(status)"
valid qual.xsd "$T/r.xml" "qual error (invalid number)"
render qual "$ID_GRADUATE" 某人 fault >"$T/r.xml"
valid qual.xsd "$T/r.xml" "qual error (fault mode, HTTP $(status))"
"$MOCK_RENDER" --pki "$PKI" --raw qual GET /qual/api/certificates "idNumber=$ID_GRADUATE&name=x" \
  </dev/null >"$T/r.xml" 2>"$T/meta"
[ "$(status)" = 401 ] || fail "qual without key: status $(status)"
valid qual.xsd "$T/r.xml" "qual error (no API key, HTTP 401)"
