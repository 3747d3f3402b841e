#!/usr/bin/env bash
# tests/bench/uncached.sh - the uncached path and the fan-out under load, each
# next to its reference, both sides back to back in one run (issue 14).
# Prints figures and ratios; never fails on a figure (exit 0 whatever the
# numbers; it says what is missing when a tool or the stack is).
#
#   tests/bench/uncached.sh [--build BUILD] [--seconds S] [--only a,b,c,d] [--threads T]
#                           [--max-concurrency N] [--no-ramp] [--set KEY=VALUE ...]
#
# --no-ramp: (b) starts its 100 connections against the fresh gateway at
# once (the start-up storm of issue 14) instead of ramping up first.
# --set: a gateway config key for scripts/stack (e.g. upstream.max_connecting=1000
# to see the storm without the opening bound).
#
# Every adapter of the bench's stack gets policy.max_concurrency N (default
# 256, 0 = leave the shipped 64): at 100 connections the shipped limit would
# measure the policy, not the gateway.  (c) at 400 connections shows the
# limiter at work (its queue times are printed).
# (a) uncached identity.match (max_age_s 0: every query goes to mps), 32
#     connections, next to the same load sent straight to the mps mock with
#     the gateway's own agency client certificate.
# (b) six-agency fan-out: talent.highlevel, every fact it may read
#     (mps, credit, talent, chsi, qual, si), max_age_s 0, every agency slowed
#     to 50 ms by the mock's control endpoint, 100 connections: p50 and p99
#     minus the 50 ms, throughput against the agency-bound ideal
#     (connections / 50 ms).
# (c) one agency (mps) slowed to 50 ms, identity.match uncached, 100 and 400
#     connections, next to the same load straight to the slowed mock.
# (d) a cached identity.match, 64 connections, next to nginx (Debian) on
#     another loopback port answering the very same bytes with `return 200`,
#     the gateway's server certificate and the same client-certificate check.
#
# The load client is tests/bench/gwload (built by CMake): closed loop,
# keep-alive, client certificate; each run warms up for 3 s (connections
# opened, handshakes, the gateway's agency connections pooled) before its
# S seconds are measured, and the CPU and /metrics deltas are taken over
# the measured part only.  Gateway CPU per answer is read from
# /proc/PID/stat (user + system, all threads) around each gateway run; the
# per-agency queue times (limiter, connection pool) from /metrics.
set -uo pipefail

REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
BUILD=$REPO/build SECS=10 ONLY=a,b,c,d THREADS=2 MAXCONC=256 RAMP=1 SETS=()
while (($#)); do
  case $1 in
    --build) BUILD=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --max-concurrency) MAXCONC=$2; shift 2 ;;
    --no-ramp) RAMP=0; shift ;;
    --set) SETS+=(--set "$2"); shift 2 ;;
    *) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  esac
done
want() { [[ ",$ONLY," == *",$1,"* ]]; }

GWLOAD=$BUILD/tests/bench/gwload
missing=()
for t in jq curl python3; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
[[ -x "$GWLOAD" ]] || missing+=("$GWLOAD (cmake --build $BUILD --target gwload)")
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if want d && [[ ! -x "$NGINX" ]]; then missing+=("nginx"); fi
if ((${#missing[@]})); then
  echo "bench: missing: ${missing[*]} (Debian: scripts/install-deps installs the packages); no figures"
  exit 0
fi

DIR=$(mktemp -d "${TMPDIR:-/tmp}/gw-uncached.XXXXXX")
NGINX_PID=""
stop_nginx() {
  if [[ -n "$NGINX_PID" ]] && kill -0 "$NGINX_PID" 2>/dev/null; then
    kill -QUIT "$NGINX_PID" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null
  fi
  NGINX_PID=""
}
cleanup() {
  stop_nginx
  "$REPO/scripts/stack" down --dir "$DIR/stack" >/dev/null 2>&1
  rm -rf -- "$DIR"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || ulimit -n 16384 2>/dev/null || true

echo "bench: $(nproc) cores, $(uname -r), load: $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
echo "  \$ tests/bench/uncached.sh --build $BUILD --seconds $SECS --only $ONLY --threads $THREADS --max-concurrency $MAXCONC$( ((RAMP)) || echo ' --no-ramp') ${SETS[*]}"
if ! "$REPO/scripts/stack" up --dir "$DIR/stack" --build "$BUILD" "${SETS[@]}" >"$DIR/stack.out" 2>&1; then
  echo "bench: the stack did not come up; no figures"; tail -n 5 "$DIR/stack.out"
  exit 0
fi
S=$DIR/stack/stack.json
GW=$(jq -r .gateway.url "$S")
OPS=$(jq -r .gateway.ops_url "$S")
GW_PID=$(jq -r .gateway.pid "$S")
MOCK_PID=$(jq -r .mocks.pid "$S")
CTL=$(jq -r .mocks.control_url "$S")
GW_CA=$(jq -r .pki.gateway_ca "$S")
AG_CA=$(jq -r .pki.agency_ca "$S")
ENG_CERT=$(jq -r .pki.clients.engine.cert "$S")
ENG_KEY=$(jq -r .pki.clients.engine.key "$S")
AGC_CERT=$(jq -r .pki.agency_client.cert "$S")
AGC_KEY=$(jq -r .pki.agency_client.key "$S")
MPS=$(jq -r .mocks.agencies.mps.url "$S")/v1/identity/verify
subj() { jq -r --arg s "$1" ".subjects[] | select(.scenario == \$s) | .$2" "$S"; }
ID=$(subj graduate-master id) NAME=$(subj graduate-master name)
HID=$(subj highlevel-b id) HNAME=$(subj highlevel-b name)

if ((MAXCONC > 0)); then
  for f in "$DIR"/stack/adapters/*.json; do
    jq --argjson n "$MAXCONC" '.policy.max_concurrency = $n' "$f" >"$f.tmp" && mv -f -- "$f.tmp" "$f"
  done
  LOG=$(jq -r .gateway.log "$S")
  n0=$(grep -c '"event":"reloaded"' "$LOG")
  kill -HUP "$GW_PID"
  for _ in $(seq 200); do (( $(grep -c '"event":"reloaded"\|"event":"reload_refused"' "$LOG") > n0 )) && break; sleep 0.05; done
  echo "  every adapter: policy.max_concurrency = $MAXCONC (jq on \$STACK/adapters/*.json, SIGHUP):" \
       "$(grep -c '"event":"reloaded"' "$LOG" | awk -v n="$n0" '{ print ($1 > n) ? "reloaded" : "NOT reloaded" }')"
fi

jq -nc --arg i "$ID" --arg n "$NAME" '{subject: {id_type: "cn-resident-id", id: $i, name: $n},
  facts: ["identity.match"], purpose: "talent.graduate", case_ref: "SZ-BENCH-U", max_age_s: 0}' >"$DIR/uncached.json"
jq -nc --arg i "$ID" --arg n "$NAME" '{subject: {id_type: "cn-resident-id", id: $i, name: $n},
  facts: ["identity.match"], purpose: "talent.graduate", case_ref: "SZ-BENCH-C"}' >"$DIR/cached.json"
jq -nc --arg i "$HID" --arg n "$HNAME" '{subject: {id_type: "cn-resident-id", id: $i, name: $n},
  facts: ["identity.match", "identity.birth_date", "hukou.region", "credit.status", "talent.level",
          "education.degrees", "qualification.certificates", "social_insurance.shenzhen_months",
          "social_insurance.employer"],
  purpose: "talent.highlevel", case_ref: "SZ-BENCH-F", max_age_s: 0, deadline_ms: 5000}' >"$DIR/fanout.json"
jq -nc --arg i "$ID" --arg n "$NAME" '{id_number: $i, name: $n}' >"$DIR/mps.json"

cpu_ticks() {
  local t=0 p
  for p in "$@"; do
    [[ -r /proc/$p/stat ]] && t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
  done
  echo "$t"
}
HZ=$(getconf CLK_TCK)

# load LABEL CPU_PIDS URL CA CERT KEY BODY CONNS: runs gwload, prints the
# command and a row; sets J (its JSON line) and CPU_US (server CPU per answer).
load() {
  local label=$1 pids=$2 url=$3 ca=$4 cert=$5 key=$6 body=$7 conns=$8 c0 c1 n
  printf '  $ %s\n' "gwload --url $url --cacert $ca --cert $cert --key $key --body $body -c $conns -t $THREADS --warmup 3 -d $SECS --timeout-ms 20000 --json" \
    | sed -e "s#$DIR/stack/pki#\$PKI#g" -e "s#$DIR#\$BENCH#g"
  "$GWLOAD" --url "$url" --cacert "$ca" --cert "$cert" --key "$key" --body "$body" \
    -c "$conns" -t "$THREADS" --warmup 3 -d "$SECS" --timeout-ms 20000 --json >"$DIR/load.json" &
  local lp=$!
  sleep 3                      # the warm-up: not counted by gwload, nor here
  c0=$(cpu_ticks $pids)
  [[ -n "${AFTER_WARMUP:-}" ]] && eval "$AFTER_WARMUP"
  wait "$lp"
  c1=$(cpu_ticks $pids)
  J=$(cat "$DIR/load.json")
  n=$(jq .requests <<<"$J")
  CPU_US=$(awk -v t=$((c1 - c0)) -v hz="$HZ" -v n="$n" 'BEGIN { if (n > 0) printf "%.0f", t * 1e6 / hz / n; else print "-" }')
  printf '  | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$conns" \
    "$(jq -r '.rps | floor' <<<"$J")" "$(jq -r .p50_ms <<<"$J")" "$(jq -r .p90_ms <<<"$J")" \
    "$(jq -r .p99_ms <<<"$J")" "$(jq -r '"\(.non2xx) / \(.errors)"' <<<"$J")" "$CPU_US"
}
header() {
  echo "  | side | conns | req/s | p50 ms | p90 ms | p99 ms | non-2xx / errors | server CPU µs/answer |"
  echo "  |---|---|---|---|---|---|---|---|"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
fault() {
  curl -sS -o /dev/null -X PUT -H 'Content-Type: application/json' \
    -d "{\"mode\": \"latency\", \"latency_ms\": $2, \"rate\": 1.0}" "$CTL/agencies/$1/fault"
}
unfault() { curl -sS -o /dev/null -X DELETE "$CTL/agencies/$1/fault"; }

# audit_figures: fdatasync count, seconds, records so far (from /metrics)
audit_figures() {
  curl -sS "$OPS/metrics" | awk '/^gw_audit_fsyncs_total / { n = $2 } /^gw_audit_fsync_seconds_total / { s = $2 }
    /^gw_audit_entries_total/ { e += $2 } END { printf "%d %f %d\n", n, s, e }'
}
# audit_report F0 S0 E0: group commits since, records per commit, mean fdatasync
audit_report() {
  local f1 s1 e1
  read -r f1 s1 e1 < <(audit_figures)
  awk -v f=$((f1 - $1)) -v s0="$2" -v s1="$s1" -v e=$((e1 - $3)) 'BEGIN { if (f > 0)
    printf "  audit: %d records in %d group commits (%.1f each), fdatasync mean %.2f ms\n", e, f, e / f, (s1 - s0) * 1000 / f }'
}

# facts_snapshot NAME: gw_query_facts_total by status; facts_delta A B prints
# the statuses of the facts answered between the two
facts_snapshot() { curl -sS "$OPS/metrics" 2>/dev/null | grep -E '^gw_query_facts_total' >"$DIR/f.$1" || true; }
facts_delta() {
  awk 'FILENAME == ARGV[1] { v0[$1] = $2; next }
       { match($1, /status="[^"]*"/); s = substr($1, RSTART + 8, RLENGTH - 9); d[s] += $2 - v0[$1] }
       END { for (s in d) if (d[s] > 0) printf "%s%s %d", (n++ ? ", " : ""), s, d[s]; print "" }' "$DIR/f.$1" "$DIR/f.$2"
}
# ramp BODY CONNS: opens the gateway's agency connections a few at a time
# (10, then 30, then CONNS client connections, 2 s each, agencies at full
# speed), so the measured run finds them pooled.  Opening hundreds of agency
# TLS connections at once on this loaded machine times some out and trips
# breakers (see docs/performance.md).
ramp() {
  local c
  for c in 10 30 "$2"; do
    "$GWLOAD" --url "$GW/v1/facts/query" --cacert "$GW_CA" --cert "$ENG_CERT" --key "$ENG_KEY" \
      --body "$1" -c "$c" -t "$THREADS" -d 2 --timeout-ms 20000 >/dev/null
  done
  echo "  ramp-up (10, 30, $2 connections, 2 s each, agencies at full speed); breakers now:" \
       "$(curl -sS "$OPS/metrics" | awk '/^gw_breaker_state\{/ { n[$2]++ } END { printf "%d closed, %d open, %d half-open", n[0], n[1], n[2] }')"
}

queue_snapshot() { curl -sS "$OPS/metrics" 2>/dev/null | grep -E '^gw_adapter_queue_seconds_(count|sum)|^gw_adapter_queue_seconds_bucket.*le="0.001"' >"$DIR/q.$1" || true; }
# queue_delta A B: per agency and stage (limiter, connection_pool), calls
# counted, the share that waited over 1 ms and the mean wait, between two
# snapshots of /metrics.
queue_delta() {
  awk '
    FILENAME == ARGV[1] { v0[$1] = $2; next }
    { d[$1] = $2 - v0[$1] }
    END {
      for (k in d) if (k ~ /_count\{/) {
        s = k; sub(/_count\{/, "_sum{", s)
        b = k; sub(/_count\{/, "_bucket{", b); sub(/\}$/, ",le=\"0.001\"}", b)
        match(k, /adapter="[^"]*"/); a = substr(k, RSTART + 9, RLENGTH - 10)
        match(k, /stage="[^"]*"/); st = substr(k, RSTART + 7, RLENGTH - 8)
        if (d[k] > 0) printf "    %-16s %-8s %8d calls, %5.1f%% waited over 1 ms, mean wait %.3f ms\n", st, a, d[k], 100 * (d[k] - d[b]) / d[k], 1000 * d[s] / d[k]
      }
    }' "$DIR/q.$1" "$DIR/q.$2" | sort
}

if want a; then
  echo
  echo "(a) uncached identity.match (max_age_s 0), 32 connections, ${SECS}s each, both sides back to back"
  header
  AFTER_WARMUP='read -r af as ae < <(audit_figures); facts_snapshot a0' \
  load "gateway → mps" "$GW_PID" "$GW/v1/facts/query" "$GW_CA" "$ENG_CERT" "$ENG_KEY" "$DIR/uncached.json" 32
  A_GW=$(jq .rps <<<"$J") A_GW_CPU=$CPU_US
  facts_snapshot a1
  echo "  facts answered during the measured run, by status: $(facts_delta a0 a1)"
  audit_report "$af" "$as" "$ae"
  load "straight to the mps mock" "$MOCK_PID" "$MPS" "$AG_CA" "$AGC_CERT" "$AGC_KEY" "$DIR/mps.json" 32
  A_MOCK=$(jq .rps <<<"$J")
  echo "  ratio gateway / direct: $(ratio "$A_GW" "$A_MOCK")×   (target ≥ 0.3×); gateway CPU ${A_GW_CPU} µs per uncached query"
fi

if want b; then
  echo
  echo "(b) six-agency fan-out (talent.highlevel, 9 facts from mps credit talent chsi qual si), max_age_s 0,"
  echo "    every agency slowed to 50 ms, 100 connections, ${SECS}s"
  if ((RAMP)); then ramp "$DIR/fanout.json" 100
  else echo "  no ramp-up: 100 connections against the fresh gateway at once"; fi
  for a in mps credit talent chsi qual si; do fault "$a" 50; done
  echo "  \$ curl -X PUT -d '{\"mode\": \"latency\", \"latency_ms\": 50, \"rate\": 1.0}' \$CTL/agencies/{mps,credit,talent,chsi,qual,si}/fault"
  header
  AFTER_WARMUP='queue_snapshot b0; facts_snapshot b0' load "gateway, 6 agencies" "$GW_PID" "$GW/v1/facts/query" "$GW_CA" "$ENG_CERT" "$ENG_KEY" "$DIR/fanout.json" 100
  queue_snapshot b1; facts_snapshot b1
  echo "  facts answered during the measured run, by status: $(facts_delta b0 b1)"
  for a in mps credit talent chsi qual si; do unfault "$a"; done
  awk -v r="$(jq .rps <<<"$J")" -v p50="$(jq .p50_ms <<<"$J")" -v p99="$(jq .p99_ms <<<"$J")" 'BEGIN {
    printf "  p50 - 50 ms = %.1f ms, p99 - 50 ms = %.1f ms (target p99 ≤ 60 ms)\n", p50 - 50, p99 - 50
    printf "  throughput / agency-bound ideal (100 / 0.050 s = 2000 req/s): %.2f (target ≥ 0.90)\n", r / 2000 }'
  echo "  answers with every fact found: $(curl -sS --cacert "$GW_CA" --cert "$ENG_CERT" --key "$ENG_KEY" \
       -H 'Content-Type: application/json' --data-binary @"$DIR/fanout.json" "$GW/v1/facts/query" \
       | jq -c '[.facts[].status] | group_by(.) | map({(.[0]): length}) | add')"
  echo "  time queued per agency during the run (/metrics):"
  queue_delta b0 b1 | sed 's/^/  /'; [[ -s "$DIR/q.b1" ]] || echo "      (no queue histograms in /metrics)"
  echo "  breakers after the run: $(curl -sS "$OPS/metrics" | awk '/^gw_breaker_state\{/ { n[$2]++ } END { printf "%d closed, %d open, %d half-open", n[0], n[1], n[2] }')"
  echo "  connections opened per agency (mock): $(curl -sS "$CTL/stats" 2>/dev/null | jq -c '[to_entries[] | select(.value | type == "object" and has("connections")) | select(.value.connections > 0) | {(.key): .value.connections}] | add' 2>/dev/null)"
fi

if want c; then
  echo
  echo "(c) one agency (mps) slowed to 50 ms, uncached identity.match, ${SECS}s each, both sides back to back"
  fault mps 50
  echo "  \$ curl -X PUT -d '{\"mode\": \"latency\", \"latency_ms\": 50, \"rate\": 1.0}' \$CTL/agencies/mps/fault"
  header
  for conns in 100 400; do
    unfault mps; ramp "$DIR/uncached.json" "$conns"; fault mps 50
    AFTER_WARMUP='queue_snapshot c0; facts_snapshot c0' load "gateway → mps" "$GW_PID" "$GW/v1/facts/query" "$GW_CA" "$ENG_CERT" "$ENG_KEY" "$DIR/uncached.json" "$conns"
    queue_snapshot c1; facts_snapshot c1
    C_GW=$(jq .rps <<<"$J") C_GW99=$(jq .p99_ms <<<"$J")
    load "straight to the mps mock" "$MOCK_PID" "$MPS" "$AG_CA" "$AGC_CERT" "$AGC_KEY" "$DIR/mps.json" "$conns"
    echo "  | $conns connections: ratio gateway / direct $(ratio "$C_GW" "$(jq .rps <<<"$J")")×, ideal $((conns * 20)) req/s, gateway p99 ${C_GW99} ms | | | | | | | |"
    queue_delta c0 c1 | sed 's/^/  /'
    echo "    facts answered by the gateway during its measured run, by status: $(facts_delta c0 c1)"
  done
  unfault mps
  echo "  (policy.max_concurrency, here $MAXCONC, bounds what is in flight to one agency;"
  echo "   beyond it queries wait in the limiter, shown above)"
fi

if want d; then
  echo
  echo "(d) cached identity.match, 64 connections, ${SECS}s each, next to nginx answering the same bytes"
  curl -sS --cacert "$GW_CA" --cert "$ENG_CERT" --key "$ENG_KEY" -H 'Content-Type: application/json' \
    --data-binary @"$DIR/cached.json" -o "$DIR/answer.json" "$GW/v1/facts/query"
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$DIR/nginx/tmp"
  chmod -R a+rX "$DIR/nginx" && chmod a+x "$DIR"
  PKI=$DIR/stack/pki
  # the answer as an nginx single-quoted string
  BODY=$(sed -e "s/\\\\/\\\\\\\\/g" -e "s/'/\\\\'/g" "$DIR/answer.json")
  cat >"$DIR/nginx/nginx.conf" <<EOF
worker_processes $(nproc);
pid $DIR/nginx/nginx.pid;
error_log $DIR/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $DIR/nginx/tmp/body;
  proxy_temp_path $DIR/nginx/tmp/proxy;
  fastcgi_temp_path $DIR/nginx/tmp/fastcgi;
  uwsgi_temp_path $DIR/nginx/tmp/uwsgi;
  scgi_temp_path $DIR/nginx/tmp/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  server {
    listen 127.0.0.1:$PORT ssl;
    ssl_certificate $PKI/gateway/server.pem;
    ssl_certificate_key $PKI/gateway/server.key;
    ssl_client_certificate $PKI/client-ca.pem;
    ssl_verify_client on;
    location = /v1/facts/query { default_type application/json; return 200 '$BODY'; }
  }
}
EOF
  "$NGINX" -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" -g 'daemon off;' </dev/null >"$DIR/nginx/stdout" 2>&1 &
  NGINX_PID=$!
  for _ in $(seq 200); do
    curl -s -o "$DIR/nginx.answer" --cacert "$GW_CA" --cert "$ENG_CERT" --key "$ENG_KEY" \
      -d @"$DIR/cached.json" "https://127.0.0.1:$PORT/v1/facts/query" && break
    kill -0 "$NGINX_PID" 2>/dev/null || break
    sleep 0.05
  done
  if ! kill -0 "$NGINX_PID" 2>/dev/null; then
    echo "  nginx did not start:"; tail -n 5 "$DIR/nginx/error.log" 2>/dev/null | sed 's/^/  | /'
  else
    echo "  nginx ($("$NGINX" -v 2>&1 | sed 's/.*: //')) on 127.0.0.1:$PORT: return 200 of the gateway's $(stat -c %s "$DIR/answer.json")-byte answer" \
         "(same bytes: $(cmp -s "$DIR/answer.json" "$DIR/nginx.answer" && echo yes || echo NO)), same server certificate, ssl_verify_client on"
    NG_PIDS="$NGINX_PID $(awk -v p="$NGINX_PID" '$4 == p { printf "%s ", $1 }' /proc/[0-9]*/stat 2>/dev/null)"
    header
    AFTER_WARMUP='read -r af as ae < <(audit_figures)' \
    load "gateway, cached" "$GW_PID" "$GW/v1/facts/query" "$GW_CA" "$ENG_CERT" "$ENG_KEY" "$DIR/cached.json" 64
    D_GW=$(jq .rps <<<"$J")
    audit_report "$af" "$as" "$ae"
    load "nginx return 200" "$NG_PIDS" "https://127.0.0.1:$PORT/v1/facts/query" "$GW_CA" "$ENG_CERT" "$ENG_KEY" "$DIR/cached.json" 64
    echo "  ratio gateway / nginx: $(ratio "$D_GW" "$(jq .rps <<<"$J")")×   (target ≥ 0.5×)"
  fi
  stop_nginx
fi
exit 0
