#!/usr/bin/env bash
# SIGHUP reload under a steady load of queries: ten reloads, every other one
# with a broken adapter, cause zero failed requests; a broken set is refused
# and logged while the running one keeps serving; a valid new version is
# picked up (GET /v1/agencies shows it).
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d)
loader=
cleanup() {
  [ -n "$loader" ] && kill "$loader" 2>/dev/null || true
  "$src/scripts/stack" down --dir "$tmp/stack" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; tail -5 "$tmp/stack/gateway.log" >&2 || true; exit 1; }

"$src/scripts/stack" up --dir "$tmp/stack" --build "$build" >/dev/null
S=$tmp/stack/stack.json
GW=$(jq -r .gateway.url "$S")
PID=$(jq -r .gateway.pid "$S")
LOG=$tmp/stack/gateway.log
P=$tmp/stack/pki
A=$tmp/stack/adapters
CURL=(curl -sS -o /dev/null -w '%{http_code}\n' --cacert "$P/gateway-ca.pem"
      --cert "$P/clients/engine.pem" --key "$P/clients/engine.key")
ID=$(jq -r '.subjects[] | select(.scenario == "graduate-master") | .id' "$S")
NAME=$(jq -r '.subjects[] | select(.scenario == "graduate-master") | .name' "$S")
body="{\"subject\":{\"id_type\":\"cn-resident-id\",\"id\":\"$ID\",\"name\":\"$NAME\"},\"facts\":[\"identity.match\",\"education.degrees\",\"credit.status\"],\"purpose\":\"talent.graduate\",\"max_age_s\":0}"

# steady load: one query after another until told to stop
(
  while [ ! -e "$tmp/stop" ]; do
    "${CURL[@]}" -H 'Content-Type: application/json' -d "$body" "$GW/v1/facts/query" >>"$tmp/codes" || echo curl-failed >>"$tmp/codes"
  done
) &
loader=$!

reloads() { grep -c '"event":"reloaded"\|"event":"reload_refused"' "$LOG" || true; }
cp "$A/chsi.json" "$tmp/chsi.good.json"
for i in $(seq 1 10); do
  if [ $((i % 2)) = 1 ]; then
    echo '{"id": "chsi.degrees", "version": ' >"$A/chsi.json"          # broken JSON
  else
    jq --argjson v $((i + 1)) '.version = $v' "$tmp/chsi.good.json" >"$A/chsi.json"
  fi
  before=$(reloads)
  kill -HUP "$PID"
  for _ in $(seq 1 200); do [ "$(reloads)" -gt "$before" ] && break; sleep 0.05; done
  [ "$(reloads)" -gt "$before" ] || fail "reload $i not logged"
done
touch "$tmp/stop"
wait "$loader"
loader=

n=$(wc -l <"$tmp/codes")
bad=$(grep -vc '^200$' "$tmp/codes" || true)
[ "$n" -ge 10 ] || fail "only $n requests during the reloads"
[ "$bad" = 0 ] || fail "$bad of $n requests failed during reloads: $(sort "$tmp/codes" | uniq -c)"
[ "$(grep -c '"event":"reload_refused"' "$LOG")" = 5 ] || fail "broken reloads not all refused"
grep '"event":"reload_refused"' "$LOG" | head -1 | grep -q 'chsi.json' || fail "refusal does not name the file"
[ "$(grep -c '"event":"reloaded"' "$LOG")" = 5 ] || fail "valid reloads not all applied"
v=$(curl -fsS --cacert "$P/gateway-ca.pem" --cert "$P/clients/engine.pem" --key "$P/clients/engine.key" \
      "$GW/v1/agencies" | jq -r '.agencies[] | select(.adapter == "chsi.degrees") | .adapter_version')
[ "$v" = 11 ] || fail "chsi adapter version after reloads: $v (want 11)"
echo "ok: $n requests, 0 failed, across 10 reloads"
