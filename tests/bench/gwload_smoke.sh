#!/usr/bin/env bash
# bench.gwload_smoke: the benchmarks' load client against the mps mock, which
# requires a client certificate.  Checks that answers are counted, that the
# connections are kept alive (the mock's own connection count), that
# non-2xx answers are told apart, and that without a certificate nothing
# counts as an answer.  Two seconds per run; no figure is asserted.
SUITE=gwload SUITE_LOGS="mocks.log"
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib/harness.sh"
GWLOAD=$GW_BUILD_DIR/tests/bench/gwload

stack_start "$TMP/stack"
CA=$(jq -r .pki.agency_ca "$S")
CTL=$(jq -r .mocks.control_url "$S")
CERT=$(jq -r .pki.agency_client.cert "$S")
KEY=$(jq -r .pki.agency_client.key "$S")
URL=$(jq -r .mocks.agencies.mps.url "$S")/v1/identity/verify
sid() { jq -r --arg s "$1" ".subjects[] | select(.scenario == \$s) | .$2" "$S"; }
jq -nc --arg i "$(sid graduate-master id)" --arg n "$(sid graduate-master name)" \
  '{id_number: $i, name: $n}' >"$TMP/match.json"
jq -nc --arg i "$(sid no-record id)" --arg n "$(sid no-record name)" \
  '{id_number: $i, name: $n}' >"$TMP/none.json"
stats() { curl -sS "$CTL/stats" | jq -r ".mps.$1"; }

c0=$(stats connections) r0=$(stats requests)
out=$("$GWLOAD" --json --url "$URL" --cacert "$CA" --cert "$CERT" --key "$KEY" \
        --body "$TMP/match.json" -c 4 -t 2 -d 2)
echo "  $out"
c1=$(stats connections) r1=$(stats requests)
n=$(jq .requests <<<"$out")
check_true "answers counted ($n)" test "$n" -gt 0
check "every answer 2xx, no error, no reconnect" "$(jq -c '[.non2xx, .errors, .reconnects]' <<<"$out")" "[0,0,0]"
check "four keep-alive connections at the mock" $((c1 - c0)) 4
check_true "the mock saw at least the counted answers ($((r1 - r0)) >= $n)" test $((r1 - r0)) -ge "$n"
check_true "percentiles ordered" jq -e '.p50_ms > 0 and .p50_ms <= .p90_ms and .p90_ms <= .p99_ms and .p99_ms <= .max_ms' <<<"$out"

out=$("$GWLOAD" --json --url "$URL" --cacert "$CA" --cert "$CERT" --key "$KEY" \
        --bodies <(cat "$TMP/match.json" "$TMP/none.json") -c 2 -d 1)
echo "  $out"
check_true "404s counted apart, half of them (bodies used in turn)" \
  jq -e '.non2xx > 0 and .ok > 0 and (.non2xx - .ok | fabs) <= 2 and .errors == 0' <<<"$out"

out=$("$GWLOAD" --json --url "$URL" --cacert "$CA" --body "$TMP/match.json" -c 2 -d 1)
echo "  $out"
check_true "without a client certificate: errors, no answers" jq -e '.requests == 0 and .errors > 0' <<<"$out"

out=$("$GWLOAD" --json --hold --url "$URL" --cacert "$CA" --cert "$CERT" --key "$KEY" \
        --body "$TMP/match.json" -c 8 -d 1)
echo "  $out"
check "--hold: eight connections open and idle at the end" "$(jq .open <<<"$out")" 8
