# lib.sh - shared by the mock-agencies suites (sourced, not run).
#
# Each suite brings its own stack up in a fresh temp dir with scripts/stack
# and takes it down in an EXIT trap.  Checks print one line each; the suite
# ends with "N passed, N failed" and fails if any check did.
#
# Needs GW_SOURCE_DIR and GW_BUILD_DIR (set by ctest), curl and jq.
SUITE=mocks SUITE_LOGS=mocks.log
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib/harness.sh"
POPULATION=$GW_SOURCE_DIR/mocks/data/population.json

stack_up() {
  local dir=$1; shift
  stack_start "$dir" "$@"
  CA=$(jq -r .pki.agency_ca "$S")
  CTL=$(jq -r .mocks.control_url "$S")
  MOCK_PID=$(jq -r .mocks.pid "$S")
  CLIENT_CERT=$(jq -r .pki.agency_client.cert "$S")
  CLIENT_KEY=$(jq -r .pki.agency_client.key "$S")
  PKI=$(jq -r .pki.dir "$S")
}

url() { jq -r ".mocks.agencies.$1.url" "$S"; }

# subject SCENARIO [FIELD]: a curated subject's id (or name) from stack.json.
subject() { jq -r --arg s "$1" ".subjects[] | select(.scenario == \$s) | .${2:-id}" "$S"; }
# person SCENARIO: the curated person's full record from the data file.
person() { jq -c --arg s "$1" '.people[] | select(.scenario == $s)' "$POPULATION"; }

# req CURL-ARGS...: runs curl; sets RC, STATUS, BODY, and HEADERS (file).
HEADERS=$TMP/headers
req() {
  local out
  RC=0
  out=$(curl -sS -D "$HEADERS" -w '\n%{http_code}' "$@" 2>"$TMP/curl.err") || RC=$?
  STATUS=${out##*$'\n'}
  BODY=${out%$'\n'*}
  [[ "$out" == *$'\n'* ]] || BODY=""
}

# header NAME: the value of a response header of the last req (CR stripped).
header() {
  grep -i "^$1:" "$HEADERS" | tail -n 1 | sed 's/^[^:]*: *//' | tr -d '\r'
}

agency()  { req --cacert "$CA" "$@"; }
mps()     { req --cacert "$CA" --cert "$CLIENT_CERT" --key "$CLIENT_KEY" "$@"; }
control() { local m=$1 p=$2; shift 2; req -X "$m" "$@" "$CTL$p"; }
set_fault() { control PUT "/agencies/$1/fault" -d "$2"; [[ "$STATUS" == 200 ]] || bad "set $1 fault $2" "$STATUS $BODY"; }
clear_fault() { control DELETE "/agencies/$1/fault"; }
stat() { curl -sS "$CTL/stats" | jq -r ".$1.$2"; }

# valid_id ID: GB 11643 check character, computed here independently of the C code.
valid_id() {
  local id=$1 w=(7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2) map=10X98765432 sum=0 i
  [[ "$id" =~ ^[0-9]{17}[0-9X]$ ]] || return 1
  for ((i = 0; i < 17; i++)); do sum=$((sum + ${id:i:1} * w[i])); done
  [[ "${map:sum % 11:1}" == "${id:17:1}" ]]
}

# now: seconds since the epoch with a fraction.
now() { date +%s.%N; }
# ge A B: A >= B for decimals.
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
