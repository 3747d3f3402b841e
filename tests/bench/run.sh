#!/usr/bin/env bash
# tests/bench/run.sh - what the verified-data interface costs, measured in one
# run on this machine.  Prints figures; never fails (exit 0 even when a tool
# or the stack is missing: it says what is missing instead).
#
#   tests/bench/run.sh [--build BUILD] [--seconds S] [--concurrency C] [--burst N]
#
# (a) cached-query throughput: POST /v1/facts/query for the same subject
#     and facts, over HTTPS keep-alive with the engine's client certificate,
#     driven by curl --parallel (32 reused connections) and by ApacheBench
#     (`ab -k -E`; wrk cannot present a client certificate).  ab speaks
#     HTTP/1.0 and keeps a connection only when the answer says
#     "Connection: keep-alive"; where the gateway does not, ab has no figure
#     and says so.  Next to it, nginx on another loopback port with the
#     gateway's own server certificate, the same client-certificate check,
#     serving a file of the same size as the gateway's answer, driven by the
#     same tool at the same concurrency.  Prints both and the ratio.
# (b) single-flight: N concurrent identical queries for a subject nobody
#     asked about (agency slowed to 200 ms so they overlap): how many
#     requests reached the agency (mock /stats before and after).
#
# Every command run is printed.  Needs: ab (apache2-utils), nginx, curl, jq,
# python3 (for a free port).  nginx is started here and always stopped.
set -uo pipefail

REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
BUILD=$REPO/build SECONDS_RUN=10 CONC=32 BURST=1000
while (($#)); do
  case $1 in
    --build) BUILD=$2; shift 2 ;;
    --seconds) SECONDS_RUN=$2; shift 2 ;;
    --concurrency) CONC=$2; shift 2 ;;
    --burst) BURST=$2; shift 2 ;;
    *) sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  esac
done

missing=()
for t in ab nginx curl jq python3; do
  command -v "$t" >/dev/null 2>&1 || [[ -x /usr/sbin/$t ]] || missing+=("$t")
done
if ((${#missing[@]})); then
  echo "bench: missing tools: ${missing[*]} (Debian: apt-get install apache2-utils nginx curl jq python3;"
  echo "       scripts/install-deps installs them as root); no figures"
  exit 0
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

DIR=$(mktemp -d "${TMPDIR:-/tmp}/gw-bench.XXXXXX")
NGINX_PID=""
cleanup() {
  if [[ -n "$NGINX_PID" ]] && kill -0 "$NGINX_PID" 2>/dev/null; then
    kill -QUIT "$NGINX_PID" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$NGINX_PID" 2>/dev/null || true
  fi
  "$REPO/scripts/stack" down --dir "$DIR/stack" >/dev/null 2>&1
  rm -rf -- "$DIR"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || ulimit -n 4096 2>/dev/null || true

# cmd ARGS...: prints the command (paths shortened), then runs it.
cmd() { printf '  $ %s\n' "$*" | sed "s#$DIR#\$BENCH#g"; "$@"; }

echo "bench: $(nproc) cores, $(uname -r), $(ab -V | head -n 1), $("$NGINX" -v 2>&1)"
if ! "$REPO/scripts/stack" up --dir "$DIR/stack" --build "$BUILD" >/dev/null; then
  echo "bench: the stack did not come up; no figures"
  exit 0
fi
S=$DIR/stack/stack.json
GW=$(jq -r .gateway.url "$S")
CTL=$(jq -r .mocks.control_url "$S")
CA=$(jq -r .pki.gateway_ca "$S")
CERT=$(jq -r .pki.clients.engine.cert "$S")
KEY=$(jq -r .pki.clients.engine.key "$S")
cat "$CERT" "$KEY" >"$DIR/engine.pem"          # ab -E wants certificate and key in one file
id=$(jq -r '.subjects[] | select(.scenario == "graduate-master") | .id' "$S")
name=$(jq -r '.subjects[] | select(.scenario == "graduate-master") | .name' "$S")
jq -nc --arg id "$id" --arg n "$name" '{subject: {id_type: "cn-resident-id", id: $id, name: $n},
  facts: ["identity.match", "education.degrees", "credit.status"], purpose: "talent.graduate",
  case_ref: "SZ-BENCH-1"}' >"$DIR/query.json"

# cpu_ticks PID...: user + system clock ticks used so far by these processes
# (all their threads).
cpu_ticks() {
  local t=0 p
  for p in "$@"; do
    [[ -r /proc/$p/stat ]] && t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
  done
  echo "$t"
}

# ab_run LABEL URL: ab -k at $CONC for $SECONDS_RUN s; sets RPS (empty when ab
# failed).  With SERVER_PIDS set, also prints the server's CPU time per answer.
ab_run() {
  local label=$1 url=$2 out c0 c1 n
  echo "$label:"
  printf '  $ %s\n' "ab -k -q -s 10 -c $CONC -t $SECONDS_RUN -n 100000000 -E \$BENCH/engine.pem -p \$BENCH/query.json -T application/json $url"
  c0=$(cpu_ticks ${SERVER_PIDS:-})
  out=$(ab -k -q -s 10 -c "$CONC" -t "$SECONDS_RUN" -n 100000000 -E "$DIR/engine.pem" \
          -p "$DIR/query.json" -T application/json "$url" 2>&1)
  c1=$(cpu_ticks ${SERVER_PIDS:-})
  RPS=$(awk '/^Requests per second:/ { print $4 }' <<<"$out")
  n=$(awk '/^Complete requests:/ { print $3 }' <<<"$out")
  if [[ -n "${SERVER_PIDS:-}" && -n "$n" && "$n" -gt 0 ]]; then
    printf '    server CPU: %s us per answer (user + system, all threads, %s answers)\n' \
      "$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v n="$n" 'BEGIN { printf "%.0f", t * 1e6 / hz / n }')" "$n"
  fi
  if [[ -z "$RPS" ]]; then
    echo "    ab got no figure:"
    grep -v -e '^This is' -e '^Copyright' -e '^Licensed' -e '^$' <<<"$out" | tail -n 2 | sed 's/^/    | /'
    return
  fi
  printf '    %s requests/s, %s complete, %s failed, %s non-2xx, mean %s ms, 99%% under %s ms, %s bytes each\n' \
    "$RPS" "$(awk '/^Complete requests:/ { print $3 }' <<<"$out")" \
    "$(awk '/^Failed requests:/ { print $3 }' <<<"$out")" \
    "$(awk '/^Non-2xx responses:/ { n = $3 } END { print n + 0 }' <<<"$out")" \
    "$(awk '/^Time per request:/ && !/across/ { print $4; exit }' <<<"$out")" \
    "$(awk '$1 == "99%" { print $2 }' <<<"$out")" \
    "$(awk '/^Document Length:/ { print $3 }' <<<"$out")"
}

# curl_load LABEL URL: curl --parallel over $CONC keep-alive connections, in
# batches of 5000 POSTs until $SECONDS_RUN s have passed; sets RPS.
curl_load() {
  local label=$1 url=$2 total=0 t0 t1 i
  echo "$label:"
  for ((i = 1; i <= 5000; i++)); do
    printf 'url = "%s"\noutput = "/dev/null"\n' "$url"
  done >"$DIR/load.cfg"
  printf '  $ %s\n' "curl -sS -Z --parallel-max $CONC --cacert \$CA --cert \$ENGINE_CERT --key \$ENGINE_KEY -H 'Content-Type: application/json' --data-binary @\$BENCH/query.json -K \$BENCH/load.cfg -w '%{http_code}\\n'   # load.cfg: 5000 x url = \"$url\", repeated for ${SECONDS_RUN}s"
  : >"$DIR/load.codes"
  t0=$(date +%s%3N)
  while (( $(date +%s%3N) - t0 < SECONDS_RUN * 1000 )); do
    curl -sS --no-progress-meter -Z --parallel-max "$CONC" --cacert "$CA" --cert "$CERT" --key "$KEY" \
         -H 'Content-Type: application/json' --data-binary @"$DIR/query.json" -K "$DIR/load.cfg" \
         -w '%{http_code}\n' >>"$DIR/load.codes" 2>/dev/null
  done
  t1=$(date +%s%3N)
  total=$(wc -l <"$DIR/load.codes")
  RPS=$(awk -v n="$total" -v ms="$((t1 - t0))" 'BEGIN { printf "%.0f", n * 1000 / ms }')
  printf '    %s requests/s (%d requests in %d ms, %d not 200)\n' "$RPS" "$total" $((t1 - t0)) \
    "$(grep -vc '^200$' "$DIR/load.codes")"
}

echo
echo "(a) cached query over HTTPS keep-alive, $CONC connections, ${SECONDS_RUN}s, client certificate"
echo "  warming the cache (one query fetches from mps, chsi and credit):"
cmd curl -sS --cacert "$CA" --cert "$CERT" --key "$KEY" -H 'Content-Type: application/json' \
    --data-binary @"$DIR/query.json" -o "$DIR/answer.json" "$GW/v1/facts/query"
echo "    answer: $(stat -c %s "$DIR/answer.json") bytes, cached facts from now on:" \
     "$(jq -c '[.facts[].status] | unique' "$DIR/answer.json")"
curl_load "  gateway, curl --parallel (POST /v1/facts/query, every answer audited durably)" "$GW/v1/facts/query"
GW_CURL=${RPS:-}
GW_PID=$(jq -r .gateway.pid "$S")
OPS=$(jq -r .gateway.ops_url "$S")
audit_figures() {   # fdatasync count and seconds so far, from /metrics
  curl -sS "$OPS/metrics" | awk '/^gw_audit_fsyncs_total / { n = $2 } /^gw_audit_fsync_seconds_total / { s = $2 }
    /^gw_audit_entries_total/ { e += $2 } END { printf "%d %f %d\n", n, s, e }'
}
read -r f0 s0 e0 < <(audit_figures)
SERVER_PIDS=$GW_PID ab_run "  gateway, ab -k" "$GW/v1/facts/query"
GW_AB=${RPS:-}
read -r f1 s1 e1 < <(audit_figures)
if ((f1 > f0)); then
  awk -v f=$((f1 - f0)) -v s="$(awk -v a="$s0" -v b="$s1" 'BEGIN { print b - a }')" -v e=$((e1 - e0)) \
    'BEGIN { printf "    audit: %d records in %d group commits (%.1f each), fdatasync mean %.3f ms\n", e, f, e / f, s * 1000 / f }'
fi

# nginx: same certificate, same client-certificate check, same body size.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$DIR/nginx/www/v1/facts" "$DIR/nginx/tmp"
cp "$DIR/answer.json" "$DIR/nginx/www/v1/facts/query"
chmod -R a+rX "$DIR/nginx" && chmod a+x "$DIR"
PKI=$DIR/stack/pki
cat >"$DIR/nginx/nginx.conf" <<EOF
worker_processes $(nproc);
pid $DIR/nginx/nginx.pid;
error_log $DIR/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log $DIR/nginx/access.log;
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
    root $DIR/nginx/www;
    default_type application/json;
    # static files refuse POST (405); answer it with the file instead
    location = /v1/facts/query { error_page 405 =200 \$uri; }
  }
}
EOF
echo
echo "  nginx on 127.0.0.1:$PORT, the gateway's server certificate, client certificates required,"
echo "  a static file of the same $(stat -c %s "$DIR/answer.json") bytes:"
printf '  $ %s\n' "$NGINX -p \$BENCH/nginx -c \$BENCH/nginx/nginx.conf -g 'daemon off;' &"
# started directly (not through a function) so that $! is nginx's own pid
"$NGINX" -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" -g 'daemon off;' </dev/null \
  >"$DIR/nginx/stdout" 2>&1 &
NGINX_PID=$!
for _ in $(seq 200); do
  curl -s -o /dev/null --cacert "$CA" --cert "$CERT" --key "$KEY" "https://127.0.0.1:$PORT/v1/facts/query" && break
  kill -0 "$NGINX_PID" 2>/dev/null || break
  sleep 0.05
done
if ! kill -0 "$NGINX_PID" 2>/dev/null; then
  echo "    nginx did not start:"; sed 's/^/    | /' "$DIR/nginx/error.log" 2>/dev/null | tail -n 5
  NG_CURL="" NG_AB=""
else
  curl_load "  nginx, curl --parallel (POST, static file)" "https://127.0.0.1:$PORT/v1/facts/query"
  NG_CURL=${RPS:-}
  # nginx and its workers (children by parent pid, read from /proc)
  SERVER_PIDS="$NGINX_PID $(awk -v p="$NGINX_PID" '$4 == p { printf "%s ", $1 }' /proc/[0-9]*/stat 2>/dev/null)" \
    ab_run "  nginx, ab -k" "https://127.0.0.1:$PORT/v1/facts/query"
  NG_AB=${RPS:-}
fi
kill -QUIT "$NGINX_PID" 2>/dev/null
for _ in $(seq 100); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.05; done
kill -KILL "$NGINX_PID" 2>/dev/null
wait "$NGINX_PID" 2>/dev/null
NGINX_PID=""
ratio() {
  if [[ -n "$2" && -n "$3" ]]; then
    awk -v t="$1" -v g="$2" -v n="$3" 'BEGIN { printf "  ratio (%s): the gateway serves %.1f%% of what nginx serves (%.0f vs %.0f requests/s)\n", t, 100 * g / n, g, n }'
  else
    echo "  ratio ($1): no figure for one side"
  fi
}
ratio "curl --parallel" "${GW_CURL:-}" "${NG_CURL:-}"
ratio "ab -k" "${GW_AB:-}" "${NG_AB:-}"

echo
echo "(b) $BURST concurrent identical queries for a subject not cached (agency slowed to 200 ms)"
subj=$("$BUILD/mocks/mock-agencies" --sample 1 --seed "$(date +%s)")
jq -nc --argjson s "$subj" '{subject: {id_type: "cn-resident-id", id: $s.id, name: $s.name},
  facts: ["education.degrees"], purpose: "talent.graduate", deadline_ms: 10000}' >"$DIR/burst.json"
cmd curl -sS -X PUT -H 'Content-Type: application/json' \
    -d '{"mode": "latency", "latency_ms": 200, "rate": 1.0}' "$CTL/agencies/chsi/fault" >/dev/null
before=$(curl -sS "$CTL/stats" | jq .chsi.requests)
mkdir -p "$DIR/burst"
for ((i = 1; i <= BURST; i++)); do
  printf 'url = "%s/v1/facts/query"\noutput = "%s/burst/r%d.json"\n' "$GW" "$DIR" "$i"
done >"$DIR/burst.cfg"
t0=$(date +%s%3N)
cmd curl -sS --no-progress-meter -Z --parallel-immediate --parallel-max "$BURST" \
    --cacert "$CA" --cert "$CERT" --key "$KEY" -H 'Content-Type: application/json' \
    --data-binary @"$DIR/burst.json" -K "$DIR/burst.cfg" -w '%{http_code}\n' >"$DIR/burst.codes" 2>"$DIR/burst.err"
t1=$(date +%s%3N)
after=$(curl -sS "$CTL/stats" | jq .chsi.requests)
curl -sS -X DELETE "$CTL/agencies/chsi/fault" >/dev/null
echo "    (the -K file lists $BURST times: url = \"$GW/v1/facts/query\" with its own output file)"
ok=$(grep -c '^200$' "$DIR/burst.codes")
shared=$(cat "$DIR"/burst/r*.json 2>/dev/null | jq -s '[.[] | select(.facts["education.degrees"].cached == false)] | length')
sigs=$(cat "$DIR"/burst/r*.json 2>/dev/null | jq -r '.facts["education.degrees"].attestation' | sort -u | wc -l)
printf '    %d of %d answered 200 in %d ms; chsi received %d request(s) (stats %d -> %d)\n' \
  "$ok" "$BURST" $((t1 - t0)) $((after - before)) "$before" "$after"
printf '    %d answers shared the one fetch in flight, %d were cache hits after it; %d distinct attestation(s)\n' \
  "$shared" $((ok - shared)) "$sigs"
exit 0
