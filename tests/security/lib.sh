# lib.sh - shared by the security suites (sourced, not run).
#
# Each suite brings its own stack up in a fresh mktemp dir with
# scripts/stack and takes it down in an EXIT trap.  A suite may restart the
# stack's gatewayd with an edited config or adapters (gw_restart), or under
# a wrapper such as valgrind.  Checks print one line each; the suite ends with
# "N passed, N failed" and fails if any check did.  Every wait is a bounded
# poll, never a fixed sleep.
#
# Needs GW_SOURCE_DIR and GW_BUILD_DIR (set by ctest), curl, jq, openssl and
# Debian's /usr/bin/python3 (for rawclient.py).
SUITE=security
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib/harness.sh"
SEC_DIR=$GW_SOURCE_DIR/tests/security
PY=/usr/bin/python3

note() { echo "note - $*"; }

# check_match WHAT ACTUAL REGEX (bash ERE).
check_match() {
  if [[ "$2" =~ $3 ]]; then ok "$1"; else bad "$1" "expected to match /$3/, got [$2]"; fi
}
# check_le WHAT A B: integer A <= B.
check_le() {
  if (($2 <= $3)); then ok "$1"; else bad "$1" "expected $2 <= $3"; fi
}

for t in curl jq openssl; do
  command -v "$t" >/dev/null || { echo "missing tool: $t (Debian: apt-get install $t)"; exit 1; }
done
[[ -x $PY ]] || { echo "missing /usr/bin/python3 (Debian: apt-get install python3)"; exit 1; }

# stack_up DIR [--set k=v ...]: brings a stack up and loads its variables.
stack_up() {
  local dir=$1; shift
  stack_start "$dir" "$@"
  SDIR=$dir
  PKI=$(jq -r .pki.dir "$S")
  GW_CA=$(jq -r .pki.gateway_ca "$S")
  CTL=$(jq -r .mocks.control_url "$S")
  GW_CFG=$(jq -r .gateway.config "$S")
  GW_LOG=$(jq -r .gateway.log "$S")
  GW_PID=$(jq -r .gateway.pid "$S")
  GW_URL=$(jq -r .gateway.url "$S")
  GW_OPS=$(jq -r .gateway.ops_url "$S")
  GW_PORT=${GW_URL##*:}
}

# gw_stop: SIGTERM the stack's gatewayd and wait for it (bounded); sets GW_RC.
gw_stop() {
  local i
  GW_RC=0
  kill -TERM "$GW_PID" 2>/dev/null || return 0
  for ((i = 0; i < ${GW_STOP_POLLS:-400}; i++)); do
    kill -0 "$GW_PID" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$GW_PID" 2>/dev/null; then
    bad "gatewayd (pid $GW_PID) stops on SIGTERM" "still running, killing it"
    kill -KILL "$GW_PID" 2>/dev/null || true
  fi
  # Our own child when started by gw_start: collect its exit status.
  if [[ -n "${GW_CHILD:-}" ]]; then wait "$GW_PID" 2>/dev/null || GW_RC=$?; GW_CHILD=; fi
}

# gw_start [WRAPPER ARGS...]: starts gatewayd with the stack's config (under
# the wrapper, if any), waits until /readyz answers (bounded by
# GW_READY_POLLS x 0.05 s) and updates GW_PID, GW_URL, GW_OPS, GW_PORT.
gw_start() {
  local ports=$SDIR/restart.ports.json i
  rm -f -- "$ports"
  "$@" "$GW_BUILD_DIR/gateway/gatewayd" --config "$GW_CFG" --ports-file "$ports" \
    </dev/null >>"$GW_LOG" 2>&1 &
  GW_PID=$! GW_CHILD=1
  echo "$GW_PID" >"$SDIR/gateway.pid"     # so that `stack down` stops this one
  for ((i = 0; i < ${GW_READY_POLLS:-400}; i++)); do
    kill -0 "$GW_PID" 2>/dev/null || { tail -n 5 "$GW_LOG"; echo "gatewayd exited at start"; return 1; }
    if [[ -s "$ports" ]]; then
      GW_PORT=$(jq .api "$ports")
      GW_URL=https://127.0.0.1:$GW_PORT
      GW_OPS=http://127.0.0.1:$(jq .ops "$ports")
      curl -fsS --max-time 2 -o /dev/null "$GW_OPS/readyz" 2>/dev/null && return 0
    fi
    sleep 0.05
  done
  echo "gatewayd not ready"; return 1
}

# gw_restart JQ-FILTER: applies the filter to the gateway config and restarts.
gw_restart() {
  jq "$1" "$GW_CFG" >"$GW_CFG.tmp" && mv -f -- "$GW_CFG.tmp" "$GW_CFG"
  gw_stop
  gw_start
}

# A client certificate's curl arguments.
who() { echo "--cert $PKI/clients/$1.pem --key $PKI/clients/$1.key"; }

# req CURL-ARGS...: runs curl against the gateway CA; sets RC, STATUS, BODY,
# and HEADERS (file).
HEADERS=$TMP/headers
req() {
  local out
  RC=0
  out=$(curl -sS --cacert "$GW_CA" -D "$HEADERS" -w '\n%{http_code}' "$@" 2>"$TMP/curl.err") || RC=$?
  STATUS=${out##*$'\n'}
  BODY=${out%$'\n'*}
  [[ "$out" == *$'\n'* ]] || BODY=""
}
# header NAME: the value of a response header of the last req (CR stripped).
header() { grep -i "^$1:" "$HEADERS" | tail -n 1 | sed 's/^[^:]*: *//' | tr -d '\r'; }

# query AS BODY [CURL-ARGS...]: POST /v1/facts/query as client AS, with
# Content-Type $CT (default application/json; CT= sends none).
query() {
  local as=$1 body=$2; shift 2
  # shellcheck disable=SC2046
  req $(who "$as") -H "Content-Type:${CT- application/json}" --data-binary "$body" "$@" \
      "$GW_URL/v1/facts/query"
}

# raw CMD ARGS...: rawclient.py against the gateway as the engine.
raw() {
  "$PY" "$SEC_DIR/rawclient.py" --port "$GW_PORT" --ca "$GW_CA" \
    --cert "$PKI/clients/engine.pem" --key "$PKI/clients/engine.key" "$@"
}

# s_raw BYTES: sends BYTES (printf format) as the engine over openssl
# s_client and prints the answer (curl normalizes what we need raw).
s_raw() {
  # shellcheck disable=SC2059
  printf "$1" | timeout 20 openssl s_client -connect "127.0.0.1:$GW_PORT" -quiet \
    -verify_return_error -CAfile "$GW_CA" -cert "$PKI/clients/engine.pem" \
    -key "$PKI/clients/engine.key" 2>/dev/null || true
}

# subject SCENARIO [FIELD]: a curated subject's id (or name) from stack.json.
subject() { jq -r --arg s "$1" ".subjects[] | select(.scenario == \$s) | .${2:-id}" "$S"; }

# qbody SCENARIO PURPOSE FACT... : a query body, max_age_s 0 (no cache).
qbody() {
  local sc=$1; shift
  qbody_for "$(subject "$sc")" "$(subject "$sc" name)" "$@"
}
# qbody_for ID NAME PURPOSE FACT... : the same for any subject.
qbody_for() {
  local id=$1 name=$2 purpose=$3; shift 3
  jq -cn --arg id "$id" --arg name "$name" --arg p "$purpose" \
     --argjson dl "${DEADLINE_MS:-3000}" '$ARGS.positional as $f |
     {subject: {id_type: "cn-resident-id", id: $id, name: $name}, facts: $f,
      purpose: $p, max_age_s: 0, deadline_ms: $dl}' --args "$@"
}

control() { local m=$1 p=$2; shift 2; curl -sS -o /dev/null -w '%{http_code}' -X "$m" "$@" "$CTL$p"; }
set_fault() {
  local st
  st=$(control PUT "/agencies/$1/fault" -d "$2")
  [[ "$st" == 200 ]] || bad "set $1 fault $2" "control endpoint answered $st"
}
clear_fault() { control DELETE "/agencies/$1/fault" >/dev/null; }

ms_now() { echo $(($(date +%s%N) / 1000000)); }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
