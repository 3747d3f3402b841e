#!/usr/bin/env bash
# mocks/bench.sh - how fast each mock agency answers, keep-alive over TLS.
#
#   mocks/bench.sh [--build BUILD] [--duration S] [--connections N] [--threads N]
#
# Brings a stack up in a temp dir, loads every agency in turn for a few
# seconds and prints responses per second.  wrk drives the agencies; mps
# wants a client certificate, which wrk cannot present, so ApacheBench
# (`ab -k -E`, Debian apache2-utils) drives it instead.  The figures are
# for reading, not asserting: this script always exits 0.
set -uo pipefail

REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
BUILD=$REPO/build DURATION=5 CONNS=32 THREADS=2
while (($#)); do
  case $1 in
    --build) BUILD=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    *) sed -n '2,4p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  esac
done

DIR=$(mktemp -d "${TMPDIR:-/tmp}/mocks-bench.XXXXXX")
trap '"$REPO/scripts/stack" down --dir "$DIR" >/dev/null 2>&1; rm -rf -- "$DIR"' EXIT
if ! "$REPO/scripts/stack" up --dir "$DIR" --build "$BUILD" >/dev/null; then
  echo "bench: the stack did not come up; no figures"
  exit 0
fi
S=$DIR/stack.json
url() { jq -r ".mocks.agencies.$1.url" "$S"; }
secret() { cat "$(jq -r ".pki.secrets.$1" "$S")"; }
CA=$(jq -r .pki.agency_ca "$S")
ID=$(jq -r '.subjects[] | select(.scenario == "highlevel-b") | .id' "$S")
NAME=$(jq -r '.subjects[] | select(.scenario == "highlevel-b") | .name' "$S")

# wrk_run AGENCY URL [wrk args...]
wrk_run() {
  local agency=$1 u=$2 out rps non2xx; shift 2
  if ! command -v wrk >/dev/null; then printf '%-8s %-5s %12s\n' "$agency" wrk "(no wrk)"; return; fi
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" "$@" "$u" 2>&1)
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $5 }' <<<"$out")
  printf '%-8s %-5s %12s %10s   %s\n' "$agency" wrk "${rps:-?}" "${non2xx:-0}" "$u"
}

ab_mps() {
  local u body pem out rps non2xx
  u=$(url mps)/v1/identity/verify
  if ! command -v ab >/dev/null; then printf '%-8s %-5s %12s\n' mps ab "(no ab: apt-get install apache2-utils)"; return; fi
  body=$DIR/mps.json pem=$DIR/client.pem
  printf '{"id_number":"%s","name":"%s"}' "$ID" "$NAME" >"$body"
  cat "$(jq -r .pki.agency_client.cert "$S")" "$(jq -r .pki.agency_client.key "$S")" >"$pem"
  out=$(ab -k -q -c "$CONNS" -t "$DURATION" -n 100000000 -E "$pem" -p "$body" \
           -T application/json "$u" 2>&1)
  rps=$(awk '/^Requests per second:/ { print $4 }' <<<"$out")
  non2xx=$(awk '/^Non-2xx responses:/ { print $3 }' <<<"$out")
  printf '%-8s %-5s %12s %10s   %s\n' mps ab "${rps:-?}" "${non2xx:-0}" "$u"
}

TOKEN=$(curl -sS --cacert "$CA" -u "$(secret si_client_id):$(secret si_client_secret)" \
             -d grant_type=client_credentials "$(url si)/oauth/token" | jq -r .access_token)

echo "mock agencies, keep-alive over TLS, $CONNS connections, ${DURATION}s each, $(nproc) cores"
printf '%-8s %-5s %12s %10s   %s\n' agency tool "responses/s" "non-2xx" url
ab_mps
wrk_run si "$(url si)/v1/insured/$ID" -H "Authorization: Bearer $TOKEN"
wrk_run talent "$(url talent)/v1/persons?id_number=$ID&page_size=2" -H "X-Api-Key: $(secret talent_api_key)"
# POST requests for wrk go through a Lua script: wrk_post AGENCY URL CONTENT-TYPE BODY
wrk_post() {
  local lua=$DIR/$1.lua
  jq -rn --arg ct "$3" --arg body "$4" \
    '"wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \($ct | tojson)\nwrk.body = \($body | tojson)"' >"$lua"
  wrk_run "$1" "$2" -s "$lua"
}
# The XML agencies' requests as docs/mocks-xml.md defines them.
wrk_post chsi "$(url chsi)/DegreeService" "text/xml; charset=utf-8" \
  "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><chsi:VerifyDegrees xmlns:chsi=\"urn:mock:chsi:degree:1\"><chsi:idNumber>$ID</chsi:idNumber><chsi:name>$NAME</chsi:name></chsi:VerifyDegrees></soap:Body></soap:Envelope>"
wrk_post credit "$(url credit)/CreditService" "application/soap+xml; charset=utf-8" \
  "<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\"><env:Body><credit:QueryCreditStatus xmlns:credit=\"urn:mock:credit:1\"><credit:idNumber>$ID</credit:idNumber><credit:name>$NAME</credit:name></credit:QueryCreditStatus></env:Body></env:Envelope>"
wrk_post cscse "$(url cscse)/api/v1/certifications/query" "application/json" \
  "{\"idNumber\":\"$ID\",\"name\":\"$NAME\"}"
wrk_run qual "$(url qual)/api/certificates?idNumber=$ID&name=$(jq -rn --arg n "$NAME" '$n | @uri')" \
  -H "X-Api-Key: $(secret qual_api_key)"
exit 0
