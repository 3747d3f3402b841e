#!/usr/bin/env bash
# tests/bench/profile.sh - where the gateway's CPU goes on the uncached path.
#
#   tests/bench/profile.sh [--build BUILD] [--seconds S] [--out DIR] [--dwarf]
#
# Brings a stack up (BUILD should be configured with -DGW_PROFILE=ON so the
# gateway's own frames keep their frame pointers), drives uncached
# identity.match queries (max_age_s 0) over 32 keep-alive connections with
# gwload, records the gateway with `perf record -g` (Debian linux-perf) for
# S seconds in the middle of the load, and leaves perf.data and two reports
# in DIR: by symbol (self time) and by caller chain.  --dwarf unwinds with
# DWARF instead of frame pointers (Debian's libraries have none).  Exits 0
# whatever happens; prints what is missing.
set -uo pipefail
REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
BUILD=$REPO/build-prof SECS=8 OUT=$PWD/profile CG=(-g)
while (($#)); do
  case $1 in
    --build) BUILD=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --dwarf) CG=(--call-graph dwarf,16384); shift ;;
    *) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  esac
done
command -v perf >/dev/null || { echo "profile: no perf (Debian: apt-get install linux-perf)"; exit 0; }
mkdir -p "$OUT"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/gw-profile.XXXXXX")
trap '"$REPO/scripts/stack" down --dir "$DIR/stack" >/dev/null 2>&1; rm -rf -- "$DIR"' EXIT
"$REPO/scripts/stack" up --dir "$DIR/stack" --build "$BUILD" >/dev/null || { echo "profile: no stack"; exit 0; }
S=$DIR/stack/stack.json
subj() { jq -r --arg s "$1" ".subjects[] | select(.scenario == \$s) | .$2" "$S"; }
jq -nc --arg i "$(subj graduate-master id)" --arg n "$(subj graduate-master name)" \
  '{subject: {id_type: "cn-resident-id", id: $i, name: $n}, facts: ["identity.match"],
    purpose: "talent.graduate", max_age_s: 0}' >"$DIR/q.json"
PID=$(jq -r .gateway.pid "$S")
"$BUILD/tests/bench/gwload" --url "$(jq -r .gateway.url "$S")/v1/facts/query" \
  --cacert "$(jq -r .pki.gateway_ca "$S")" --cert "$(jq -r .pki.clients.engine.cert "$S")" \
  --key "$(jq -r .pki.clients.engine.key "$S")" --body "$DIR/q.json" -c 32 -t 2 -d $((SECS + 4)) >"$OUT/load.txt" &
LOAD=$!
sleep 2
echo "\$ perf record ${CG[*]} -p $PID -o $OUT/perf.data -- sleep $SECS"
perf record "${CG[@]}" -F 999 -p "$PID" -o "$OUT/perf.data" -- sleep "$SECS" 2>&1 | tail -n 1
wait "$LOAD"
cat "$OUT/load.txt"
perf report -i "$OUT/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null | grep -v '^$' >"$OUT/self.txt"
perf report -i "$OUT/perf.data" --children --sort symbol --stdio -g none 2>/dev/null | grep -v '^$' >"$OUT/children.txt"
echo "reports: $OUT/self.txt (self time by library and symbol), $OUT/children.txt (inclusive)"
exit 0
