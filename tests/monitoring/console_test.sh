#!/usr/bin/env bash
# GET /console on the ops listener, as an operator's browser sees it:
#  - 200 text/html, no-store, a CSP that allows no external asset
#  - rendered by headless Chromium (Debian's chromium): a screenshot is
#    taken (PNG) and the page text (--dump-dom) checked: every adapter row,
#    bilingual labels, the breaker of an agency made to fail shown open with
#    its last error, the audit log and its checkpoint, the build
#  - no personal data: the queried person's number and name are not on it
#  - no script, no external asset; the HTML validates (html5lib strict,
#    tidy without errors or warnings)
set -euo pipefail
SUITE=console
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib/harness.sh"
PY=/usr/bin/python3
GWCTL=$GW_BUILD_DIR/gateway/gwctl
command -v chromium >/dev/null || { bad "chromium is installed (scripts/install-deps)"; exit 1; }
command -v tidy >/dev/null || { bad "tidy is installed (scripts/install-deps)"; exit 1; }
$PY -c 'import html5lib' 2>/dev/null || { bad "python3-html5lib is installed (scripts/install-deps)"; exit 1; }

stack_start "$TMP/s" --set audit.checkpoint_interval_s=1
OPS=$(jq -r .gateway.ops_url "$S")
CTL=$(jq -r .mocks.control_url "$S")
ID=420111199908021383 NAME=王思雨
"$GWCTL" query --stack "$S" --id "$ID" --name "$NAME" --facts identity.match,education.degrees \
  --purpose talent.graduate >/dev/null 2>&1 || true
# qual fails: its breaker opens after 5 failures (policy defaults)
curl -sS -X PUT -d '{"mode": "http_500"}' "$CTL/agencies/qual/fault" >/dev/null
for i in 1 2 3 4 5 6; do
  "$GWCTL" query --stack "$S" --id "$ID" --name "$NAME" --max-age 0 \
    --facts qualification.certificates --purpose talent.inservice >/dev/null 2>&1 || true
done

curl -sS -D "$TMP/h" -o "$TMP/console.html" "$OPS/console"
check "GET /console: 200" "$(head -n 1 "$TMP/h" | tr -d '\r')" "HTTP/1.1 200 OK"
check_true "text/html; charset=utf-8" grep -qi '^content-type: text/html; charset=utf-8' "$TMP/h"
check_true "Cache-Control: no-store" grep -qi '^cache-control: no-store' "$TMP/h"
check_true "a CSP that loads nothing from elsewhere" grep -qi "^content-security-policy: default-src 'none'" "$TMP/h"
check_false "no script" grep -qi '<script' "$TMP/console.html"
check_false "no external asset (src/href to http)" grep -qiE '(src|href)="?https?:' "$TMP/console.html"
check_false "no <link>, <img> or <iframe>" grep -qiE '<(link|img|iframe)' "$TMP/console.html"
check_true "refreshes itself (meta refresh)" grep -q '<meta http-equiv="refresh" content="10">' "$TMP/console.html"

# validates
if $PY - "$TMP/console.html" >"$TMP/h5.out" 2>&1 <<'PYEOF'
import sys, html5lib
p = html5lib.HTMLParser(strict=True)
p.parse(open(sys.argv[1], "rb").read())
PYEOF
then ok "html5lib (strict) parses the page without an error"
else bad "html5lib strict parse" "$(tail -n 3 "$TMP/h5.out")"; fi
if tidy -q -e "$TMP/console.html" >"$TMP/tidy.out" 2>&1; then ok "tidy: no error, no warning"
else bad "tidy: no error, no warning" "$(head -n 5 "$TMP/tidy.out")"; fi

# headless Chromium: the page as a browser renders it, and a screenshot
cp "$TMP/console.html" "$TMP/page.html"
chrome=(chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions
        --user-data-dir="$TMP/chrome" --window-size=1280,1600)
timeout 120 "${chrome[@]}" --screenshot="$TMP/console.png" "file://$TMP/page.html" >"$TMP/chrome.log" 2>&1 || true
if [[ -s "$TMP/console.png" && "$(head -c 8 "$TMP/console.png" | xxd -p)" == 89504e470d0a1a0a ]] \
   && (( $(stat -c %s "$TMP/console.png") > 20000 )); then
  ok "chromium took a screenshot ($(stat -c %s "$TMP/console.png") bytes PNG)"
else
  bad "chromium took a screenshot" "$(tail -n 3 "$TMP/chrome.log")"
fi
[[ -n "${CONSOLE_SCREENSHOT:-}" ]] && cp "$TMP/console.png" "$CONSOLE_SCREENSHOT"
timeout 120 "${chrome[@]}" --dump-dom "file://$TMP/page.html" >"$TMP/dom.html" 2>"$TMP/chrome2.log" || true
$PY - "$TMP/dom.html" >"$TMP/text.txt" <<'PYEOF'
import sys, html5lib
doc = html5lib.parse(open(sys.argv[1], "rb").read(), namespaceHTMLElements=False)
body = doc.find("body")
print(" ".join(" ".join(t.strip() for t in body.itertext()).split()))
PYEOF
text=$(cat "$TMP/text.txt")
has() { if grep -qF -- "$2" <<<"$text"; then ok "page text: $1"; else bad "page text: $1" "not found: $2"; fi; }
has "title in both languages" "数据共享交换网关 运维控制台 Data-exchange gateway operations console"
for a in chsi.degrees credit.status cscse.certifications mps.identity qual.certificates si.insurance talent.registry; do
  has "a row for $a" "$a v1"
done
has "bilingual column labels" "熔断器 Breaker"
has "p50/p99 column" "近期 p50 / p99 Recent p50 / p99"
has "queue time column" "排队时间 p50 / p99 Queue time p50 / p99"
has "qual's breaker shown open" "qual.certificates v1 qual 断开 open"
has "qual's error rate and last error" "100.0% circuit_open"
has "chsi's recent latency" "ms"
has "cache hit rate" "命中率 Hit rate"
has "audit log state" "状态 State 正常 accepting records"
has "audit checkpoint age" "最近检查点 Last checkpoint"
has "running adapter versions" "适配器版本 Adapter versions chsi.degrees v1"
has "build" "版本 Build gatewayd "
has "uptime" "uptime"
has "certificate expiry" "服务器证书到期 Server certificate expires"
check_false "no personal data: the queried number is not on the page" grep -qF "$ID" "$TMP/console.html"
check_false "no personal data: the queried name is not on the page" grep -qF "$NAME" "$TMP/console.html"
check "read-only: POST /console is refused" \
  "$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$OPS/console")" 405
