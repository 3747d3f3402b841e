#!/usr/bin/env bash
# SIGHUP reload under a steady load of queries: ten reloads, every other one
# with a broken adapter, cause zero failed requests; a broken set is refused
# and logged while the running one keeps serving; a valid new version is
# picked up (GET /v1/agencies shows it).
set -euo pipefail
SUITE=reload
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib/harness.sh"
build=$GW_BUILD_DIR
src=$GW_SOURCE_DIR
tmp=$TMP
loader=
stop_loader() { [ -n "$loader" ] && kill "$loader" 2>/dev/null || true; }
EXTRA_CLEANUP=(stop_loader)

stack_start "$tmp/stack"
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
  if [ "$(reloads)" -gt "$before" ]; then ok "reload $i logged"; else bad "reload $i logged"; fi
done
touch "$tmp/stop"
wait "$loader"
loader=

n=$(wc -l <"$tmp/codes")
failed=$(grep -vc '^200$' "$tmp/codes" || true)
if [ "$n" -ge 10 ]; then ok "at least 10 requests during the reloads"; else bad "at least 10 requests during the reloads" "only $n"; fi
check "none of the $n requests during the reloads failed" "$failed" 0
check "every broken reload refused" "$(grep -c '"event":"reload_refused"' "$LOG")" 5
if grep '"event":"reload_refused"' "$LOG" | head -1 | grep -q 'chsi.json'; then ok "the refusal names the file"; else bad "the refusal names the file"; fi
check "every valid reload applied" "$(grep -c '"event":"reloaded"' "$LOG")" 5
v=$(curl -fsS --cacert "$P/gateway-ca.pem" --cert "$P/clients/engine.pem" --key "$P/clients/engine.key" \
      "$GW/v1/agencies" | jq -r '.agencies[] | select(.adapter == "chsi.degrees") | .adapter_version')
check "chsi adapter version after reloads" "$v" 11

# rotation: a new server certificate and a new attestation key, then SIGHUP;
# new connections see the new certificate, /v1/keys the new kid
serial() {
  echo | openssl s_client -connect "${GW#https://}" -cert "$P/clients/engine.pem" -key "$P/clients/engine.key" \
    -CAfile "$P/gateway-ca.pem" 2>/dev/null | openssl x509 -noout -serial
}
kid() {
  curl -fsS --cacert "$P/gateway-ca.pem" --cert "$P/clients/engine.pem" --key "$P/clients/engine.key" \
    "$GW/v1/keys" | jq -r '.keys[0].kid'
}
old_serial=$(serial)
old_kid=$(kid)
openssl req -new -key "$P/gateway/server.key" -subj /CN=gateway -out "$tmp/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n' >"$tmp/ext"
openssl x509 -req -in "$tmp/server.csr" -CA "$P/gateway-ca.pem" -CAkey "$P/private/gateway-ca.key" \
  -set_serial 0x1234567 -days 30 -extfile "$tmp/ext" -out "$P/gateway/server.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/gateway/attest.key" 2>/dev/null
before=$(reloads)
kill -HUP "$PID"
for _ in $(seq 1 200); do [ "$(reloads)" -gt "$before" ] && break; sleep 0.05; done
new_serial=$(serial)
check "server certificate rotated" "$new_serial" "serial=01234567"
if [ "$(kid)" != "$old_kid" ]; then ok "attestation key rotated"; else bad "attestation key rotated"; fi

