#!/usr/bin/env bash
# tests/bench/cluster.sh - two gateways vs one, and Redis round trips per
# cached query, measured in one run on this machine.  Prints figures; never
# fails a build (exit 0, saying what is missing).
#
#   tests/bench/cluster.sh [--build BUILD] [--seconds S] [--concurrency C]
#
# Brings up scripts/stack --instances 2 (redis-server, HAProxy in TCP mode,
# two gatewayd).  (a) cached-query throughput with ApacheBench (`ab -k -E`,
# keep-alive, the engine's certificate): against instance 1 alone, then
# through HAProxy to both.  Both instances share this machine's cores, so
# this shows what the load balancer and a second process cost or give here,
# not what a second machine gives.  (b) gw_redis_commands_total of both
# instances before and after N queries that hit the local cache, and for
# queries that miss locally and find the value in Redis.
set -uo pipefail
REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
BUILD=$REPO/build SECONDS_RUN=10 CONC=32
while (($#)); do
  case $1 in
    --build) BUILD=$2; shift 2 ;;
    --seconds) SECONDS_RUN=$2; shift 2 ;;
    --concurrency) CONC=$2; shift 2 ;;
    *) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  esac
done
for t in ab curl jq redis-server haproxy; do
  command -v "$t" >/dev/null 2>&1 || [[ -x /usr/sbin/$t ]] || { echo "bench: missing $t (scripts/install-deps)"; exit 0; }
done
DIR=$(mktemp -d /tmp/bench-cluster.XXXXXX)
trap '"$REPO/scripts/stack" down --dir "$DIR/stack" >/dev/null 2>&1; rm -rf "$DIR"' EXIT
"$REPO/scripts/stack" up --dir "$DIR/stack" --build "$BUILD" --instances 2 >/dev/null || { echo "bench: stack failed"; exit 0; }
S=$DIR/stack/stack.json
CA=$(jq -r .pki.gateway_ca "$S"); CERT=$(jq -r .pki.clients.engine.cert "$S"); KEY=$(jq -r .pki.clients.engine.key "$S")
cat "$CERT" "$KEY" >"$DIR/engine.pem"
GW1=$(jq -r '.gateways[0].url' "$S"); GW2=$(jq -r '.gateways[1].url' "$S"); LB=$(jq -r .lb.url "$S")
OPS=($(jq -r '.gateways[].ops_url' "$S"))
jq -c '.subjects[0] | {subject: {id_type: "cn-resident-id", id, name},
        facts: ["identity.match", "education.degrees"], purpose: "talent.graduate"}' "$S" >"$DIR/query.json"
post() { curl -fsS --cacert "$CA" --cert "$CERT" --key "$KEY" -H 'Content-Type: application/json' \
           --data-binary @"$1" "$2/v1/facts/query" -o /dev/null; }
post "$DIR/query.json" "$GW1"; post "$DIR/query.json" "$GW2"      # warm both local caches
echo "bench: $(nproc) cores, $(ab -V | head -n 1), $(haproxy -v | head -n 1), $(redis-server --version | cut -d' ' -f1-3)"
ab_run() {
  echo "  \$ ab -k -q -s 10 -c $CONC -t $SECONDS_RUN -n 100000000 -E engine.pem -p query.json -T application/json $2/v1/facts/query"
  ab -k -q -s 10 -c "$CONC" -t "$SECONDS_RUN" -n 100000000 -E "$DIR/engine.pem" -p "$DIR/query.json" \
     -T application/json "$2/v1/facts/query" 2>&1 \
    | grep -A1 -E 'Requests per second|Failed requests|Non-2xx' | grep -v '^--' | sed "s/^/  $1: /"
  # (ab counts an answer whose length differs from the first as "failed":
  # query ids and audit indexes make lengths vary; see "Length:" and Non-2xx)
}
echo "(a) cached-query throughput, $CONC keep-alive connections, ${SECONDS_RUN}s each"
ab_run "1 instance (direct)" "$GW1"
ab_run "2 instances (HAProxy)" "$LB"
cmds() { local s=0 o; for o in "${OPS[@]}"; do s=$((s + $(curl -fsS "$o/metrics" | awk '$1 == "gw_redis_commands_total" {print $2}'))); done; echo "$s"; }
echo "(b) Redis round trips"
N=200 before=$(cmds)
for ((i = 0; i < N; i++)); do post "$DIR/query.json" "$GW2"; done
after=$(cmds)
echo "  $N queries hitting the local cache: $((after - before)) Redis commands ($(awk -v a=$((after - before)) -v n=$N 'BEGIN {printf "%.2f", a / n}') per query)"
n=0 before=$(cmds)
while read -r subj; do
  jq -c '{subject: {id_type: "cn-resident-id", id, name}, facts: ["identity.match"], purpose: "talent.graduate"}' <<<"$subj" >"$DIR/q.json"
  post "$DIR/q.json" "$GW1"; n=$((n + 1))
done < <(jq -c '.subjects[1:21][]' "$S")
mid=$(cmds)
while read -r subj; do
  jq -c '{subject: {id_type: "cn-resident-id", id, name}, facts: ["identity.match"], purpose: "talent.graduate"}' <<<"$subj" >"$DIR/q.json"
  post "$DIR/q.json" "$GW2"
done < <(jq -c '.subjects[1:21][]' "$S")
after=$(cmds)
echo "  $n local misses fetched by instance 1 (claim + publish): $((mid - before)) Redis commands"
echo "  the same $n on instance 2, served from Redis: $((after - mid)) Redis commands"
exit 0
