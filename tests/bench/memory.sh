#!/usr/bin/env bash
# tests/bench/memory.sh - the gateway's resident memory per idle client TLS
# connection and per cache entry, measured in one run.  Prints figures;
# never fails on one (exit 0).
#
#   tests/bench/memory.sh [--build BUILD] [--connections N] [--entries N]
#
# (1) N (default 10,000) client connections, each with a TLS handshake and
#     one cached query, then held idle by gwload --hold; VmRSS of gatewayd
#     (/proc) before and while all are open (gw_http_open_connections on
#     /metrics), divided by N.  limits.max_connections is raised to N + 100
#     for the run (default 10,000 per listener kind).
# (2) N (default 100,000) cache entries: identity.match queries for N
#     distinct synthetic subjects (mock-agencies --sample), cached as usual;
#     VmRSS before and after, divided by the entries added (gw_cache_entries)
#     next to the cache's own byte count (gw_cache_bytes).  cache.max_bytes
#     is raised to 4 GiB so nothing is evicted.
set -uo pipefail
REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
BUILD=$REPO/build CONNS=10000 ENTRIES=100000
while (($#)); do
  case $1 in
    --build) BUILD=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --entries) ENTRIES=$2; shift 2 ;;
    *) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  esac
done
GWLOAD=$BUILD/tests/bench/gwload
[[ -x "$GWLOAD" ]] || { echo "memory: no $GWLOAD (cmake --build $BUILD --target gwload)"; exit 0; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
DIR=$(mktemp -d "${TMPDIR:-/tmp}/gw-memory.XXXXXX")
trap '"$REPO/scripts/stack" down --dir "$DIR/stack" >/dev/null 2>&1; rm -rf -- "$DIR"' EXIT
echo "memory: $(uname -r), ulimit -n $(ulimit -n), $(date -u +%FT%TZ)"
echo "  \$ tests/bench/memory.sh --build $BUILD --connections $CONNS --entries $ENTRIES"
if ! "$REPO/scripts/stack" up --dir "$DIR/stack" --build "$BUILD" \
     --set limits.max_connections=$((CONNS + 100)) --set cache.max_bytes=4294967296 >"$DIR/up.out" 2>&1; then
  echo "memory: the stack did not come up"; tail -n 5 "$DIR/up.out"; exit 0
fi
S=$DIR/stack/stack.json
GW=$(jq -r .gateway.url "$S") OPS=$(jq -r .gateway.ops_url "$S") PID=$(jq -r .gateway.pid "$S")
CA=$(jq -r .pki.gateway_ca "$S") CERT=$(jq -r .pki.clients.engine.cert "$S") KEY=$(jq -r .pki.clients.engine.key "$S")
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status"; }
metric() { curl -sS "$OPS/metrics" | awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $2 } END { print s + 0 }'; }
subj() { jq -r --arg s "$1" ".subjects[] | select(.scenario == \$s) | .$2" "$S"; }
jq -nc --arg i "$(subj graduate-master id)" --arg n "$(subj graduate-master name)" \
  '{subject: {id_type: "cn-resident-id", id: $i, name: $n}, facts: ["identity.match"], purpose: "talent.graduate"}' >"$DIR/q.json"
# warm: the cache entry, the allocator's arenas, a few connections
"$GWLOAD" --url "$GW/v1/facts/query" --cacert "$CA" --cert "$CERT" --key "$KEY" --body "$DIR/q.json" -c 32 -t 2 -d 2 >/dev/null

echo
echo "(1) $CONNS idle client TLS connections (handshake + one cached query each, then idle)"
r0=$(rss_kb)
echo "  \$ gwload --hold --url $GW/v1/facts/query --cacert \$CA --cert \$ENGINE --key \$ENGINE_KEY --body q.json -c $CONNS -t 2 -d 90 --timeout-ms 60000 --json &"
"$GWLOAD" --hold --url "$GW/v1/facts/query" --cacert "$CA" --cert "$CERT" --key "$KEY" --body "$DIR/q.json" \
  -c "$CONNS" -t 2 -d 90 --timeout-ms 60000 --json >"$DIR/hold.json" &
LOAD=$!
open=0 best=0
for _ in $(seq 800); do          # up to 80 s for every handshake
  open=$(metric gw_http_open_connections)
  ((open > best)) && best=$open
  ((open >= CONNS)) && break
  kill -0 "$LOAD" 2>/dev/null || break
  sleep 0.1
done
r1=$(rss_kb)
echo "  gateway VmRSS $((r0 / 1024)) MiB before, $((r1 / 1024)) MiB with $best connections open"
awk -v a="$r0" -v b="$r1" -v n="$best" 'BEGIN { if (n > 0) printf "  => %.1f KiB per idle client TLS connection\n", (b - a) / n }'
kill "$LOAD" 2>/dev/null; wait "$LOAD" 2>/dev/null
for _ in $(seq 300); do (( $(metric gw_http_open_connections) <= 1 )) && break; sleep 0.1; done

echo
echo "(2) $ENTRIES cache entries (identity.match for $ENTRIES distinct synthetic subjects, each cached)"
"$BUILD/mocks/mock-agencies" --sample "$ENTRIES" --seed 20261207 |
  jq -c '{subject: {id_type: "cn-resident-id", id: .id, name: .name}, facts: ["identity.match"], purpose: "talent.graduate"}' >"$DIR/bodies.jsonl"
e0=$(metric gw_cache_entries) b0=$(metric gw_cache_bytes) r0=$(rss_kb)
# one thread walks the bodies in order; each pass starts where the entries
# added so far end (64 in flight at the end of a pass may be repeated)
echo "  \$ gwload --url $GW/v1/facts/query ... --bodies rest.jsonl -c 64 -t 1 -d 30   (rest.jsonl: the bodies not yet cached; repeated until $ENTRIES entries, at most 10 times)"
for _ in $(seq 10); do
  e1=$(metric gw_cache_entries)
  tail -n +$((e1 - e0 + 1)) "$DIR/bodies.jsonl" >"$DIR/rest.jsonl"
  [[ -s "$DIR/rest.jsonl" ]] || break
  "$GWLOAD" --url "$GW/v1/facts/query" --cacert "$CA" --cert "$CERT" --key "$KEY" --bodies "$DIR/rest.jsonl" \
    -c 64 -t 1 -d 30 --json >"$DIR/fill.json"
  e1=$(metric gw_cache_entries)
  echo "    $(jq -r '"\(.requests) answers (\(.non2xx) not 2xx, \(.errors) errors)"' "$DIR/fill.json"), cache entries now $e1"
  (( e1 - e0 >= ENTRIES )) && break
done
e1=$(metric gw_cache_entries) b1=$(metric gw_cache_bytes) r1=$(rss_kb)
echo "  gateway VmRSS $((r0 / 1024)) MiB before, $((r1 / 1024)) MiB after; entries $e0 -> $e1; gw_cache_bytes $b0 -> $b1"
awk -v a="$r0" -v b="$r1" -v n=$((e1 - e0)) -v cb=$((b1 - b0)) 'BEGIN { if (n > 0)
  printf "  => %.2f KiB RSS per cache entry (the cache counts %.2f KiB of its own per entry)\n", (b - a) / n, cb / 1024 / n }'
exit 0
