#!/usr/bin/env bash
# mocks.transport_faults: every transport fault mode as a plain client sees it,
# and the counters behind them.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
stack_up "$TMP/stack"
KEY=$(cat "$(jq -r .pki.secrets.talent_api_key "$S")")
U="$(url talent)/v1/persons?id_number=$(subject highlevel-b)"
talent() { agency -H "X-Api-Key: $KEY" "$@" "$U"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$MOCK_PID/status"; }

talent
NORMAL=$BODY
LEN=$(printf '%s' "$NORMAL" | wc -c)
check "normal answer" "$STATUS" 200

# latency: the answer is the normal one, later
set_fault talent '{"mode":"latency","latency_ms":400}'
t0=$(now); talent; t1=$(now)
check "latency: normal answer" "$STATUS $BODY" "200 $NORMAL"
check_true "latency: took >= 0.4 s" ge "$(awk -v a="$t1" -v b="$t0" 'BEGIN{print a-b}')" 0.4
set_fault talent '{"mode":"latency","latency_ms":300,"jitter_ms":200}'
ok_jitter=1
for i in 1 2 3 4 5; do
  t0=$(now); talent; t1=$(now)
  d=$(awk -v a="$t1" -v b="$t0" 'BEGIN{print a-b}')
  ge "$d" 0.1 && ge 2.0 "$d" || ok_jitter=0
done
check "latency with jitter: each within 0.1-2 s" "$ok_jitter" 1

# hang: never answers; the connection goes when the client gives up
set_fault talent '{"mode":"hang"}'
talent --max-time 1
check "hang: curl times out with nothing" "$RC $STATUS" "28 000"
open=1
for i in $(seq 50); do
  open=$(stat talent open_connections); [[ "$open" == 0 ]] && break; sleep 0.1
done
check "hang: connection freed after the client left" "$open" 0

set_fault talent '{"mode":"reset"}'
talent
check "reset: connection reset by peer" "$RC $STATUS" "56 000"
grep -q "reset by peer" "$TMP/curl.err" && ok "reset: curl says reset by peer" || bad "reset: curl says reset by peer" "$(cat "$TMP/curl.err")"

set_fault talent '{"mode":"http_500"}'
talent
check "http_500: status and generic page" "$STATUS $(header Content-Type) $(grep -c '500 Internal Server Error' <<<"$BODY")" "500 text/html 2"

set_fault talent '{"mode":"truncated"}'
talent -o "$TMP/trunc"
check "truncated: curl reports a short transfer" "$RC" 18
check "truncated: full Content-Length announced" "$(header Content-Length)" "$LEN"
check "truncated: half the body arrived" "$(wc -c <"$TMP/trunc")" "$((LEN / 2))"
check "truncated: it is the start of the real body" "$(cat "$TMP/trunc")" "$(head -c $((LEN / 2)) <<<"$NORMAL")"

set_fault talent '{"mode":"slow_body"}'
talent --max-time 3 -o "$TMP/slow"
got=$(wc -c <"$TMP/slow")
check "slow_body: times out with status 200" "$RC $STATUS" "28 200"
check_true "slow_body: 2-4 bytes in 3 s (got $got)" test "$got" -ge 2 -a "$got" -le 4
check "slow_body: they are the body's first bytes" "$(cat "$TMP/slow")" "${NORMAL:0:$got}"

set_fault talent '{"mode":"huge_body"}'
rss0=$(rss_kb)
talent -o "$TMP/huge"
rss1=$(rss_kb)
check "huge_body: 64 MiB announced and sent" "$STATUS $(header Content-Length) $(wc -c <"$TMP/huge")" "200 67108864 67108864"
check "huge_body: starts with the real body" "$(head -c "$LEN" "$TMP/huge")" "$NORMAL"
check "huge_body: the rest is padding" "$(tail -c +$((LEN + 1)) "$TMP/huge" | tr -d ' ' | wc -c)" 0
rm -f "$TMP/huge"
check_true "huge_body: streamed, the server grew < 16 MiB ($rss0 -> $rss1 kB)" test $((rss1 - rss0)) -lt 16384
talent --max-filesize 1000000 -o /dev/null
check "huge_body: a client with a size cap stops at once" "$RC" 63

# the transport modes are the core's: they work behind mutual TLS too
set_fault mps '{"mode":"reset"}'
mps -H 'Content-Type: application/json' -d '{}' "$(url mps)/v1/identity/verify"
check "reset on mps (mutual TLS)" "$RC $STATUS" "56 000"
clear_fault mps

# ---- counters count exactly
control POST /reset
clear_fault talent
check "reset: counters zero" "$(stat talent requests) $(stat talent faults) $(stat talent fault)" "0 0 null"
talent; talent; talent
set_fault talent '{"mode":"http_500"}'
talent; talent
check "counters: 5 requests, 2 faults, 5 responses" \
  "$(stat talent requests) $(stat talent faults) $(stat talent responses)" "5 2 5"
check "counters: other agencies untouched" "$(stat si requests) $(stat mps requests)" "0 0"

# ---- rate: exactly that share, deterministically
control POST /reset
set_fault talent '{"mode":"http_500","rate":0.5}'
args=()
for i in $(seq 200); do args+=(-o /dev/null -w '%{http_code}\n' "$U"); done
codes=$(curl -sS --cacert "$CA" -H "X-Api-Key: $KEY" "${args[@]}" | sort | uniq -c | awk '{print $2 ":" $1}' | tr '\n' ' ')
check "rate 0.5: 100 of 200 answered 500" "$codes" "200:100 500:100 "
check "rate 0.5: counters" "$(stat talent requests) $(stat talent faults)" "200 100"
check "rate 0.5: one keep-alive connection for 200 requests" "$(stat talent connections)" 1
clear_fault talent
talent
check "fault cleared: normal answer" "$STATUS $BODY" "200 $NORMAL"
