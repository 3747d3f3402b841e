#!/bin/sh
# qual_gb18030.sh - the qual documents really are GB18030, and the Chinese
# text survives the trip: iconv turns the bytes into the UTF-8 names we put
# in, xmllint (which honours the declaration) reads the same values, and a
# reader that wrongly assumes UTF-8 fails.
. "$(dirname "$0")/xt_lib.sh"
need xmllint libxml2-utils
need iconv libc-bin

render qual "$ID_DISHONEST" "$NAME_DISHONEST" >"$T/r.xml"
[ "$(status)" = 200 ] || fail "status $(status)"
[ "$(ctype)" = "application/xml; charset=GB18030" ] || fail "content type: $(ctype)"
[ "$(head -c 40 "$T/r.xml")" = '<?xml version="1.0" encoding="GB18030"?>' ] ||
  fail "declaration: $(head -n1 "$T/r.xml")"
ok "Content-Type and XML declaration both say GB18030"

# 王芳 is CD F5 B7 BC in GB18030 and E7 8E 8B E8 8A B3 in UTF-8.
od -An -v -tx1 "$T/r.xml" | tr -d ' \n' >"$T/hex"
grep -q cdf5b7bc "$T/hex" || fail "GB18030 bytes of 王芳 not found"
if grep -q e78e8be88ab3 "$T/hex"; then fail "UTF-8 bytes of 王芳 found"; fi
ok "the name is on the wire as GB18030 bytes (CD F5 B7 BC), not UTF-8"

iconv -f GB18030 -t UTF-8 "$T/r.xml" >"$T/u.xml" || fail "iconv cannot read it as GB18030"
for want in "<name>王芳</name>" "<name>电工</name>" "<name>经济师 (金融)</name>"; do
  grep -qF "$want" "$T/u.xml" || fail "iconv output lacks $want"
done
ok "iconv -f GB18030 -t UTF-8 gives back 王芳, 电工, 经济师 (金融)"
if iconv -f UTF-8 -t UTF-8 "$T/r.xml" >/dev/null 2>&1; then
  fail "the document is also valid UTF-8 (it should not be)"
fi
ok "read as UTF-8, the same bytes are invalid"

[ "$(xmllint --xpath 'string(/certificateQuery/name)' "$T/r.xml")" = 王芳 ] ||
  fail "xmllint reads the name as $(xmllint --xpath 'string(/certificateQuery/name)' "$T/r.xml")"
[ "$(xmllint --xpath 'string(/certificateQuery/certificates/certificate[2]/name)' "$T/r.xml")" = "经济师 (金融)" ] ||
  fail "xmllint reads the certificate name wrongly"
[ "$(xmllint --xpath 'string(/certificateQuery/certificates/@count)' "$T/r.xml")" = 2 ] ||
  fail "count is not 2"
ok "xmllint decodes the GB18030 document to the same values"

# A legacy client sends the name percent-encoded in GB18030 (张伟 = D5C5 CEB0).
key=$(cat "$PKI/secrets/qual-api-key")
"$MOCK_RENDER" --pki "$PKI" --api-key "$key" --raw qual GET /qual/api/certificates \
  "idNumber=$ID_GRADUATE&name=%D5%C5%CE%B0" </dev/null >"$T/g.xml" 2>"$T/meta"
[ "$(status)" = 200 ] || fail "GB18030 query: status $(status)"
[ "$(xmllint --xpath 'string(/certificateQuery/name)' "$T/g.xml")" = 张伟 ] ||
  fail "GB18030-encoded query name not understood"
ok "a GB18030 percent-encoded name in the query is understood and echoed"

"$MOCK_RENDER" --pki "$PKI" --api-key wrong --raw qual GET /qual/api/certificates \
  "idNumber=$ID_GRADUATE&name=x" </dev/null >"$T/e.xml" 2>"$T/meta"
[ "$(status)" = 401 ] || fail "wrong key: status $(status)"
[ "$(xmllint --xpath 'string(/error/message)' "$T/e.xml")" = "API 密钥缺失或错误" ] ||
  fail "401 error message not readable"
ok "a wrong X-Api-Key gets 401 and a GB18030 error document"
