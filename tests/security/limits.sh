#!/usr/bin/env bash
# security.limits: every client-side cap of the front, hit from a plain
# client (curl, or rawclient.py for what curl cannot do), with the exact
# status a client sees and the problem+json type.  The caps are set small
# with --set so each breach is cheap; docs/operations.md lists them.
#
#   431 head too large / too many headers, 413 body, 415 content type,
#   400 JSON nested too deep (and a parser-depth bomb), 400 duplicate keys,
#   408 slow-loris head and slow body, a silent TLS client and a silent TCP
#   client cut off, idle keep-alive closed, 429 + Retry-After per connection
#   with the connection kept, keep-alive cap, max_connections at accept,
#   and out-of-range values of the new keys refused by --check-config.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

T_MS=1000          # header and read timeouts under test
IDLE_MS=2000       # idle timeout: longer than the 1 s a 429's Retry-After asks for
MARGIN_MS=1500     # scheduling slack allowed on top of a timeout
stack_up "$TMP/stack" \
  --set limits.max_header_bytes=4096 --set limits.max_headers=16 \
  --set limits.max_body_bytes=4096 \
  --set limits.header_timeout_ms=$T_MS --set limits.read_timeout_ms=$T_MS \
  --set limits.idle_timeout_ms=$IDLE_MS \
  --set limits.max_requests_per_connection_per_s=5 \
  --set limits.max_requests_per_connection=0
ENGINE=$(who engine)

# problem STATUS TYPE: the last answer is that problem, as problem+json with
# the X-Request-Id echoed in the body.
problem() {
  local what=$1 st=$2 type=$3
  check "$what: status" "$STATUS" "$st"
  check "$what: problem+json" "$(header Content-Type)" "application/problem+json"
  check "$what: type, status, request_id" \
    "$(jq -r '[.type, .status, .request_id] | join(" ")' <<<"$BODY" 2>/dev/null)" \
    "$type $st $(header X-Request-Id)"
}

# ---- sizes --------------------------------------------------------------------
# shellcheck disable=SC2086
req $ENGINE -H "X-Big: $(head -c 5000 /dev/zero | tr '\0' a)" "$GW_URL/healthz"
problem "head of 5000 bytes over max_header_bytes 4096" 431 /problems/header-too-large

hdrs=(); for i in $(seq 1 20); do hdrs+=(-H "X-H$i: v"); done
# shellcheck disable=SC2086
req $ENGINE "${hdrs[@]}" "$GW_URL/healthz"
problem "20 headers over max_headers 16" 431 /problems/too-many-headers

big=$(jq -cn --arg p "$(head -c 5000 /dev/zero | tr '\0' a)" '{purpose: $p}')
query engine "$big"
problem "query body of 5 KB over max_body_bytes 4096" 413 /problems/body-too-large

ok_body=$(qbody graduate-master talent.graduate identity.match)
CT=' text/plain' query engine "$ok_body"
problem "query as text/plain" 415 /problems/unsupported-media-type
CT= query engine "$ok_body"
problem "query without Content-Type" 415 /problems/unsupported-media-type
CT=' application/jsonx' query engine "$ok_body"
problem "query as application/jsonx" 415 /problems/unsupported-media-type
query engine "$ok_body" -H 'Content-Type: text/plain'
problem "query with Content-Type twice (json, then text/plain)" 400 /problems/bad-request
check "Content-Type twice: says why" "$(jq -r .detail <<<"$BODY")" "the request repeats Content-Type"
# shellcheck disable=SC2086
req $ENGINE -H 'Host:' "$GW_URL/healthz"
problem "HTTP/1.1 request without Host" 400 /problems/bad-request
out=$(s_raw 'GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n')
check "HTTP/1.1 request with two Host headers: 400 problem+json" \
  "$(head -n 1 <<<"$out" | tr -d '\r') $(tail -n 1 <<<"$out" | jq -r .type)" \
  "HTTP/1.1 400 Bad Request /problems/bad-request"

# ---- request-head grammar end to end (tests/unit/test_http.c has the rest) ------
# status_of BYTES: the status line of the answer to BYTES sent raw.
status_of() { s_raw "$1" | head -n 1 | tr -d '\r'; }
check "HTTP/2.0 request line: 505" "$(status_of 'GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n')" \
  "HTTP/1.1 505 HTTP Version Not Supported"
check "Transfer-Encoding: gzip: 501" \
  "$(status_of 'POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n')" \
  "HTTP/1.1 501 Not Implemented"
check "Content-Length with Transfer-Encoding (smuggling): 400" \
  "$(status_of 'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc')" \
  "HTTP/1.1 400 Bad Request"
check "two different Content-Lengths: 400" \
  "$(status_of 'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd')" \
  "HTTP/1.1 400 Bad Request"
check "obsolete line folding: 400" \
  "$(status_of 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n')" "HTTP/1.1 400 Bad Request"
check "bare LF line ending: 400" "$(status_of 'GET /healthz HTTP/1.1\r\nHost: x\nX-A: a\r\n\r\n')" \
  "HTTP/1.1 400 Bad Request"
check "absolute-form target: 400" "$(status_of 'GET http://x/healthz HTTP/1.1\r\nHost: x\r\n\r\n')" \
  "HTTP/1.1 400 Bad Request"
check "NUL in the path: 400" "$(status_of 'GET /health%%00z\0 HTTP/1.1\r\nHost: x\r\n\r\n')" \
  "HTTP/1.1 400 Bad Request"

# ---- JSON shape -------------------------------------------------------------------
nest() { printf '{"x":'; printf '[%.0s' $(seq 1 "$1"); printf 1; printf ']%.0s' $(seq 1 "$1"); printf '}'; }
query engine "$(nest 6)"
check "JSON depth 8 (the cap) passes the depth check" "$STATUS $(jq -r .detail <<<"$BODY")" \
  "400 x: unknown field"
query engine "$(nest 7)"
problem "JSON depth 9" 400 /problems/invalid-request
check "JSON depth 9: says why" "$(jq -r .detail <<<"$BODY")" "body nests deeper than 8 levels"
bomb=$(printf '[%.0s' $(seq 1 4000))
query engine "$bomb"
problem "4000 open brackets (parser depth bomb)" 400 /problems/invalid-request
check_match "depth bomb: refused by the parser's own depth cap" "$(jq -r .detail <<<"$BODY")" \
  "^body is not valid JSON: .*depth"
dup=$(jq -c '.purpose = "talent.graduate"' <<<"$ok_body" | sed 's/^{/{"purpose":"talent.graduate",/')
query engine "$dup"
problem "duplicate key \"purpose\"" 400 /problems/invalid-request
check_match "duplicate key: says why" "$(jq -r .detail <<<"$BODY")" "duplicate"
query engine "$ok_body"
check "a valid query still answers 200 afterwards" "$STATUS $(jq -r '.facts["identity.match"].status' <<<"$BODY")" "200 ok"

# ---- slow and silent clients ---------------------------------------------------------
out=$(raw --max-s 10 slowloris --interval 0.1)
check "slow-loris head (a byte every 100 ms): 408 problem+json" \
  "$(jq -r '[.response.status, .response.content_type, .response.body.type] | join(" ")' <<<"$out")" \
  "408 application/problem+json /problems/request-timeout"
ms=$(jq .answered_ms <<<"$out")
check_le "slow-loris: cut off within header_timeout_ms + margin (${ms} ms)" "$ms" $((T_MS + MARGIN_MS))
check_le "slow-loris: not before header_timeout_ms (${ms} ms)" $((T_MS - 100)) "$ms"
check "slow-loris: connection closed after the 408" "$(jq .closed <<<"$out")" true
check_le "slow-loris: sent only part of its head ($(jq .bytes_sent <<<"$out") bytes)" \
  "$(jq .bytes_sent <<<"$out")" 400

out=$(raw --max-s 10 slowbody --interval 0.1)
check "slow body (a byte every 100 ms): 408 problem+json" \
  "$(jq -r '[.response.status, .response.body.type] | join(" ")' <<<"$out")" "408 /problems/request-timeout"
ms=$(jq .answered_ms <<<"$out")
check_le "slow body: cut off within read_timeout_ms + margin (${ms} ms)" "$ms" $((T_MS + MARGIN_MS))
check "slow body: connection closed" "$(jq .closed <<<"$out")" true

out=$(raw --max-s 10 silent)
check "silent after the TLS handshake: 408, then closed" \
  "$(jq -r '.closed' <<<"$out") $(jq -r '.bytes_received > 0' <<<"$out")" "true true"
ms=$(jq .closed_ms <<<"$out")
check_le "silent after the handshake: closed within header_timeout_ms + margin (${ms} ms)" \
  "$ms" $((T_MS + MARGIN_MS))

out=$(raw --max-s 10 silent --tcp-only)
ms=$(jq .closed_ms <<<"$out")
check "silent TCP client (no handshake): closed without a byte" \
  "$(jq -r '[.closed, .bytes_received] | join(" ")' <<<"$out")" "true 0"
check_le "silent TCP client: closed within header_timeout_ms + margin (${ms} ms)" \
  "$ms" $((T_MS + MARGIN_MS))

out=$(raw --max-s 10 idle)
check "idle keep-alive: first answer 200, then closed" \
  "$(jq -r '[.first.status, .closed] | join(" ")' <<<"$out")" "200 true"
ms=$(jq .closed_ms <<<"$out")
check_le "idle keep-alive: closed within idle_timeout_ms + margin (${ms} ms)" "$ms" $((IDLE_MS + MARGIN_MS))
check_le "idle keep-alive: not before idle_timeout_ms (${ms} ms)" $((IDLE_MS - 100)) "$ms"

# ---- request rate per connection ------------------------------------------------------
out=$(raw --max-s 10 pipeline --n 8)
check "8 pipelined requests at 5/s: 5 answered, then 429" \
  "$(jq -c '[.answers[].status]' <<<"$out")" "[200,200,200,200,200,429,429,429]"
check "429 is problem+json too-many-requests" \
  "$(jq -r '.answers[5] | [.content_type, .body.type, .body.status] | join(" ")' <<<"$out")" \
  "application/problem+json /problems/too-many-requests 429"
check "429 carries Retry-After: 1" "$(jq -r '[.answers[5:][].retry_after] | join(",")' <<<"$out")" "1,1,1"
check "429 keeps the connection" "$(jq -r '[.answers[5:][].connection] | map(. // "keep") | join(",")' <<<"$out")" \
  "keep,keep,keep"
check "after Retry-After, the same connection is served again" "$(jq -r .after.status <<<"$out")" 200
grep -q '"status":429' "$GW_LOG" && ok "429 appears in the request log" || bad "429 in the request log"

# ---- keep-alive cap and connection cap (restart with other limits) -------------------
gw_restart '.limits.max_requests_per_connection = 3 | .limits.max_connections = 3
            | .limits.max_requests_per_connection_per_s = 0'
out=$(raw --max-s 10 sequential --n 10)
check "max_requests_per_connection 3: three answers, then closed" \
  "$(jq -c '[[.answers[].status], .closed]' <<<"$out")" "[[200,200,200],true]"
check "the third answer says Connection: close" \
  "$(jq -r '[.answers[].connection] | map(. // "-") | join(",")' <<<"$out")" "-,-,close"

out=$(raw --max-s 10 hold --n 3)
check "max_connections 3: three held connections are served" "$(jq -c .held <<<"$out")" "[200,200,200]"
check_match "max_connections 3: a fourth is closed at accept" "$(jq -r .extra <<<"$out")" "^(refused|closed)"
check "max_connections 3: after one is released, a new one is served" "$(jq -r .after_release <<<"$out")" 200
grep -q '"event":"connection_refused"' "$GW_LOG" && ok "the refusal is logged" || bad "connection_refused log line"

# ---- the new keys are validated ------------------------------------------------------
for kv in "max_requests_per_connection_per_s -1 0 1000000" "max_requests_per_connection -1 0 1000000000"; do
  read -r k v lo hi <<<"$kv"
  jq ".limits.$k = $v" "$GW_CFG" >"$SDIR/bad.json"
  rc=0; msg=$("$GW_BUILD_DIR/gateway/gatewayd" --check-config --config "$SDIR/bad.json" 2>&1) || rc=$?
  check "--check-config refuses limits.$k = $v" "$rc $msg" \
    "2 $SDIR/bad.json: limits.$k: must be between $lo and $hi (got $v)"
done
