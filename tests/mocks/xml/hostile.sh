#!/bin/sh
# hostile.sh - the hostile content faults are what they claim to be, shown
# with xmllint as the "naive client":
#   malformed       is not well-formed (chsi, credit, qual)
#   xxe             is well-formed, declares an external entity, and a parser
#                   that substitutes entities (xmllint --noent) really pulls
#                   /etc/passwd into the value
#   billion_laughs  nests ten levels of ten-fold expansion, and libxml2's
#                   own amplification guard refuses to expand it
. "$(dirname "$0")/xt_lib.sh"
need xmllint libxml2-utils

for agency in chsi credit qual; do
  render $agency "$ID_DISHONEST" "$NAME_DISHONEST" malformed >"$T/m.xml"
  if xmllint --noout "$T/m.xml" 2>/dev/null; then fail "$agency malformed is well-formed"; fi
  ok "$agency malformed: xmllint refuses it"

  render $agency "$ID_DISHONEST" "$NAME_DISHONEST" xxe >"$T/x.xml"
  xmllint --noout "$T/x.xml" || fail "$agency xxe: not well-formed"
  grep -q 'SYSTEM "file:///etc/passwd"' "$T/x.xml" || fail "$agency xxe: no external entity"
  if [ -r /etc/passwd ] && head -n1 /etc/passwd | grep -q '^root:'; then
    xmllint --noent --nonet "$T/x.xml" 2>/dev/null | grep -q 'root:x*:*0:0:' ||
      fail "$agency xxe: entity substitution does not pull in /etc/passwd"
    ok "$agency xxe: a parser that substitutes entities leaks /etc/passwd"
  fi

  render $agency "$ID_NOBODY" 某人 billion_laughs >"$T/b.xml"
  grep -q '<!ENTITY lol9 "&lol8;&lol8;' "$T/b.xml" || fail "$agency billion_laughs: no nested entities"
  if timeout 60 xmllint --noent --noout "$T/b.xml" 2>/dev/null; then
    fail "$agency billion_laughs: expanded without complaint"
  fi
  ok "$agency billion_laughs: 10^9 expansion declared; libxml2 refuses to expand it"
done

# Hostile requests get the agency's own error, never file contents.
cat >"$T/req.xml" <<XML
<?xml version="1.0"?>
<!DOCTYPE s:Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
<c:VerifyDegrees xmlns:c="urn:mock:chsi:degree:1"><c:idNumber>$ID_GRADUATE</c:idNumber>
<c:name>&x;</c:name></c:VerifyDegrees></s:Body></s:Envelope>
XML
"$MOCK_RENDER" --pki "$PKI" --ctype text/xml --raw chsi POST /chsi/DegreeService \
  <"$T/req.xml" >"$T/r.xml" 2>"$T/meta"
[ "$(status)" = 500 ] || fail "XXE request: status $(status)"
if grep -q 'root:' "$T/r.xml"; then fail "XXE request: file contents in the answer"; fi
grep -q 'DOCTYPE declarations are not accepted' "$T/r.xml" || fail "XXE request: $(cat "$T/r.xml")"
ok "chsi: an XXE request gets a soap:Client fault, no file contents"
