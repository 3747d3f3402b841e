# lib.sh - shared by the cluster suites (sourced, not run).
#
# Each suite brings up two gateways sharing a redis-server behind HAProxy
# (scripts/stack up --instances 2) in a fresh temp dir and takes them down
# at exit.  Clients are independent of the gateway's code: curl, jq,
# redis-cli and Python's ssl (load.py).  Waits are bounded polls.
#
# Needs GW_SOURCE_DIR and GW_BUILD_DIR (set by ctest).
SUITE=cluster
SUITE_LOGS="gateway-1.log gateway-2.log haproxy.log redis.log"
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib/harness.sh"
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
GWCTL=$GW_BUILD_DIR/gateway/gwctl
GATEWAYD=$GW_BUILD_DIR/gateway/gatewayd

# cluster_up DIR [--set k=v ...]: two instances; loads the variables.
cluster_up() {
  local dir=$1; shift
  stack_start "$dir" --instances 2 "$@"
  D=$dir
  LB=$(jq -r .lb.url "$S")
  GW1=$(jq -r '.gateways[0].url' "$S"); OPS1=$(jq -r '.gateways[0].ops_url' "$S")
  GW2=$(jq -r '.gateways[1].url' "$S"); OPS2=$(jq -r '.gateways[1].ops_url' "$S")
  CA=$(jq -r .pki.gateway_ca "$S")
  CERT=$(jq -r .pki.clients.engine.cert "$S")
  KEY=$(jq -r .pki.clients.engine.key "$S")
  CTL=$(jq -r .mocks.control_url "$S")
  RPORT=$(jq -r .redis.port "$S")
  RPASS=$(<"$(jq -r .redis.password_file "$S")")
}

# rcli ARGS...: redis-cli as the gateways' ACL user.
rcli() { redis-cli -h 127.0.0.1 -p "$RPORT" --user gw --pass "$RPASS" --no-auth-warning "$@"; }

# body ID NAME FACTS_CSV [EXTRA_JSON]: a query body.
body() {
  jq -nc --arg id "$1" --arg n "$2" --arg f "$3" --argjson x "${4:-{\}}" \
    '{subject: {id_type: "cn-resident-id", id: $id, name: $n},
      facts: ($f | split(",")), purpose: "talent.graduate"} + $x'
}

# post URL BODY: POST /v1/facts/query as the engine; sets STATUS and BODY.
post() {
  STATUS=$(curl -sS --cacert "$CA" --cert "$CERT" --key "$KEY" -H 'Content-Type: application/json' \
             --data-binary "$2" -o "$TMP/ans.json" -w '%{http_code}' "$1/v1/facts/query" 2>"$TMP/curl.err") \
    || STATUS=0
  BODY=$(cat "$TMP/ans.json" 2>/dev/null || true)
}

mock_requests() { curl -fsS "$CTL/stats" | jq ".$1.requests"; }
set_fault() { curl -fsS -X PUT -H 'Content-Type: application/json' -d "$2" "$CTL/agencies/$1/fault" >/dev/null; }
clear_fault() { curl -fsS -X DELETE "$CTL/agencies/$1/fault" >/dev/null; }

# metric OPS_URL SERIES: one value of an instance's /metrics (0 if absent).
# A scrape that fails says so and gives -1, so the check that uses it fails
# visibly instead of set -e ending the suite without a word.
metric() {
  local text
  if ! text=$(curl -fsS --max-time 20 "$1/metrics" 2>&1); then
    echo "#   cannot scrape $1/metrics: $text" >&2
    echo -1
    return 0
  fi
  awk -v s="$2" '$1 == s { v = $2 } END { print v + 0 }' <<<"$text"
}

# fresh N SEED: N synthetic people of the mock population, never curated (JSON lines).
fresh() { "$GW_BUILD_DIR/mocks/mock-agencies" --sample "$1" --seed "$2"; }

# restart_redis: redis-server again on the same port and config (empty: no persistence).
restart_redis() {
  redis-server "$D/redis.conf" </dev/null >>"$D/redis.log" 2>&1 &
  echo $! >"$D/redis.pid"
  wait_for 20 eval 'rcli ping 2>/dev/null | grep -q PONG'
}

ready_detail() { curl -fsS "$1/readyz" | jq -r '.degraded // "none"'; }

wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}
