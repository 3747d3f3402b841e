#!/usr/bin/env bash
# What a new user tripped on, against one stack (scripts/stack):
#  - python requests sends a whole 8 MiB body before reading: it reads the
#    413 (lingering discard, docs/operations.md "Request limits")
#  - a head with bare LF line ends: 400 at once, not at the head timeout
#  - Transfer-Encoding: chunked bodies (Java, Go): read under the same cap
#  (those three: front_clients.py, Python's own ssl sockets)
#  - the chsi WSDL's soap:address is the address it was fetched from
#  - gwctl query lists each degree level of a bachelor + master graduate
set -euo pipefail
SUITE=front
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib/harness.sh"
GWCTL=$GW_BUILD_DIR/gateway/gwctl

stack_start "$TMP/s" --set limits.max_body_bytes=4096 --set limits.header_timeout_ms=30000
api=$(jq -r .gateway.url "$S"); api=${api##*:}
if /usr/bin/python3 "$(dirname -- "${BASH_SOURCE[0]}")/front_clients.py" "$api" \
     "$TMP/s/pki" 4096 >"$TMP/py.out" 2>&1; then
  ok "front_clients.py: $(grep -c '^ok' "$TMP/py.out") checks"
else
  bad "front_clients.py" "$(grep -A1 '^FAIL' "$TMP/py.out"; tail -n 3 "$TMP/py.out")"
fi
cat "$TMP/py.out"

# the WSDL names the listener it came from
chsi=$(jq -r .mocks.agencies.chsi.url "$S")
origin=$(sed -E 's#^(https://[^/]+).*#\1#' <<<"$chsi")
curl -sS --cacert "$TMP/s/pki/agency-ca.pem" --cert "$TMP/s/pki/gateway/agency-client.pem" \
  --key "$TMP/s/pki/gateway/agency-client.key" "$origin/chsi/DegreeService?wsdl" >"$TMP/chsi.wsdl"
loc=$(xmllint --xpath 'string(//*[local-name()="address"]/@location)' "$TMP/chsi.wsdl" 2>/dev/null || true)
check "chsi WSDL soap:address is the address it was fetched from" "$loc" "$origin/chsi/DegreeService"

# gwctl query: a bachelor + master graduate's degrees, each level named
out=$("$GWCTL" query --stack "$S" --id 420111199908021383 --name 王思雨 \
        --facts education.degrees --purpose talent.graduate 2>&1) || true
echo "$out"
if grep -q 'education.degrees *ok *2× bachelor, master: ' <<<"$out"; then
  ok "gwctl query shows education.degrees as \"2× bachelor, master: …\""
else
  bad "gwctl query shows each degree level" "$(grep education.degrees <<<"$out")"
fi
out=$("$GWCTL" query --stack "$S" --id 370102199411202399 --name 张浩然 \
        --facts education.degrees --purpose talent.graduate 2>&1) || true
grep -q '3× bachelor, master, doctor: ' <<<"$out" \
  && ok "... and bachelor, master, doctor for a doctor" \
  || bad "gwctl query lists bachelor, master, doctor" "$(grep education.degrees <<<"$out")"
