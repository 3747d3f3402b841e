#!/usr/bin/env bash
# api_test.sh MODE - the HTTP API's description and the operator's documents,
# checked with tools we did not write.
#
#   lint    schemas/api/openapi.yaml with Redocly CLI (npm @redocly/cli,
#           exact version and tree pinned by tests/api/package-lock.json,
#           installed with `npm ci` under the build folder); a copy with a
#           broken example must fail, so the linter is known to look
#   live    a stack (scripts/stack) answering real requests: every answer
#           checked against the document's component schemas with Debian's
#           python3-jsonschema (live_check.py)
#   guide   every `sh` block of docs/adapter-guide.md run in order against a
#           fresh stack, and the outputs the guide promises found
#   guide_zh the same for the Chinese guide, docs/zh/adapter-guide.md
#   deploy  scripts/gatewayd.service through `systemd-analyze verify` and
#           `systemd-analyze security --offline`; scripts/gatewayd.example.json
#           through `gatewayd --check-config` and a real start against a
#           generated PKI laid out as docs/deployment.md says; the backup
#           procedure of docs/deployment.md run on a stack under load, the
#           copy verified and restored
#
# Prints one line per check and "N passed, N failed" at the end; exits 0,
# 1 (a check failed) or 77 (skipped: a tool is missing, named on stdout).
# Needs GW_SOURCE_DIR and GW_BUILD_DIR (ctest sets both), bash, curl, jq,
# openssl; lint needs node ^18.19 or >= 20.6 and npm (scripts/install-deps; Debian 12: apt-get
# install nodejs npm) and reaches the npm registry once; live needs /usr/bin/python3 with
# python3-jsonschema and python3-yaml; deploy needs python3 and, for the
# unit, systemd (systemd-analyze).
set -euo pipefail

MODE=${1:-}
SUITE=api
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib/harness.sh"
SRC=$GW_SOURCE_DIR
BUILD=$GW_BUILD_DIR
HERE=$SRC/tests/api
OPENAPI=$SRC/schemas/api/openapi.yaml
STACK=$STACK_SCRIPT
GATEWAYD=$BUILD/gateway/gatewayd
GWCTL=$BUILD/gateway/gwctl
PY=/usr/bin/python3
PIDS=()
kill_pids() { local p; for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; }
EXTRA_CLEANUP+=(kill_pids)

skip() { echo "SKIP - $*"; exit 77; }
need() {
  local t missing=()
  for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
  ((${#missing[@]} == 0)) || skip "missing tools: ${missing[*]} (Debian: apt-get install ${missing[*]})"
}
# contains WHAT FILE TEXT: FILE holds TEXT (fixed string).
contains() {
  if grep -qF -- "$3" "$2"; then ok "$1"; else bad "$1" "not found: $3"; fi
}

stack_up() { stack_start "$@"; }    # stack_up DIR [--set k=v ...]

# ---- lint: the document, by Redocly CLI ------------------------------------------

# Node version check: @redocly/cli 1.34 and its dependencies want node
# ^18.19 or >= 20.6 (Debian 12's own nodejs is 18.19).
node_ok() {
  local v major minor
  v=$(node --version 2>/dev/null) || return 1
  v=${v#v}; major=${v%%.*}; minor=${v#*.}; minor=${minor%%.*}
  { ((major == 18 && minor >= 19)) || ((major == 20 && minor >= 6)) || ((major > 20)); }
}

npm_install() {   # installs the pinned validator once per lockfile, prints its folder
  local dir=${GW_API_NPM_DIR:-$BUILD/tests/api/npm} stamp want
  want=$(cat "$HERE/package.json" "$HERE/package-lock.json" | sha256sum | cut -d' ' -f1)
  stamp=$dir/.installed-from
  if [[ -x "$dir/node_modules/.bin/redocly" && "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then
    echo "$dir"; return 0
  fi
  rm -rf -- "$dir" && mkdir -p -- "$dir"
  cp -- "$HERE/package.json" "$HERE/package-lock.json" "$dir/"
  if ! (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >npm.log 2>&1); then
    cat "$dir/npm.log" >&2
    return 1
  fi
  echo "$want" >"$stamp"
  echo "$dir"
}

redocly_totals() {  # redocly_totals FILE: "errors warnings" of a lint run
  local out=$TMP/lint.json
  # --format=json; telemetry and the update check off (no network but the registry)
  REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_COLOR=1 \
    "$NPMDIR/node_modules/.bin/redocly" lint --config "$HERE/redocly.yaml" --format=json "$1" \
    >"$out" 2>"$TMP/lint.err" || true
  jq -r '"\(.totals.errors) \(.totals.warnings)"' "$out" 2>/dev/null || echo "? ?"
}

mode_lint() {
  need jq
  # Never skipped: scripts/install-deps installs nodejs and npm, so a
  # missing node is a broken machine, named as such.
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    bad "node and npm are installed" "missing: the OpenAPI linter (@redocly/cli) runs on node; run scripts/install-deps (Debian: apt-get install nodejs npm)"
    return
  fi
  node_ok || { bad "node $(node --version) is too old for @redocly/cli $(jq -r '.devDependencies["@redocly/cli"]' "$HERE/package.json") (needs ^18.19 or >= 20.6; Debian 12: apt-get install nodejs npm gives 18.19)"; return; }
  NPMDIR=$(npm_install) || { bad "npm ci installs the pinned @redocly/cli"; return; }
  ok "npm ci installed @redocly/cli $("$NPMDIR/node_modules/.bin/redocly" --version 2>/dev/null | tail -n 1) from tests/api/package-lock.json"

  local t
  t=$(redocly_totals "$OPENAPI")
  if [[ "$t" == "0 0" ]]; then
    ok "redocly lint schemas/api/openapi.yaml: 0 errors, 0 warnings (OpenAPI 3.1, recommended rules, examples checked)"
  else
    bad "redocly lint schemas/api/openapi.yaml: 0 errors, 0 warnings" "got errors/warnings: $t"
    REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_COLOR=1 \
      "$NPMDIR/node_modules/.bin/redocly" lint --config "$HERE/redocly.yaml" --format=stylish "$OPENAPI" 2>&1 \
      | grep -E 'error|warning' | head -40 || true
  fi

  # The linter must see a broken document: a copy beside the real fact schemas
  # whose example answer says identity.match is 5.
  mkdir -p "$TMP/broken/schemas/api"
  cp -r "$SRC/schemas/facts" "$TMP/broken/schemas/"
  sed '0,/value: true/s//value: 5/' "$OPENAPI" >"$TMP/broken/schemas/api/openapi.yaml"
  t=$(redocly_totals "$TMP/broken/schemas/api/openapi.yaml")
  if [[ "${t%% *}" =~ ^[1-9] ]]; then
    ok "redocly lint refuses a copy whose example violates the fact schema ($t)"
  else
    bad "redocly lint refuses a copy whose example violates the fact schema" "got errors/warnings: $t"
  fi
}

# ---- live: real answers against the component schemas ----------------------------------

mode_live() {
  need curl jq openssl
  [[ -x $PY ]] || skip "/usr/bin/python3 is missing (Debian: apt-get install python3)"
  $PY -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema is missing (Debian: apt-get install python3-jsonschema)"
  $PY -c 'import yaml' 2>/dev/null || skip "python3-yaml is missing (Debian: apt-get install python3-yaml)"
  stack_up "$TMP/live" --set audit.checkpoint_interval_s=1
  if $PY "$HERE/live_check.py" "$OPENAPI" "$TMP/live/stack.json" "$SRC/gateway/cmd/gatewayd.c" \
       >"$TMP/live.out" 2>&1; then
    cat "$TMP/live.out"
    ok "live answers match schemas/api/openapi.yaml ($(tail -n 1 "$TMP/live.out"))"
  else
    bad "live answers match schemas/api/openapi.yaml" "$(grep -A1 '^FAIL' "$TMP/live.out" | head -40)"
    tail -n 5 "$TMP/live.out"
  fi
}

# ---- guide: docs/adapter-guide.md, block by block ----------------------------------------

# Prints the fenced blocks whose info string is exactly "sh" (and those
# after a "<!-- doctest: NAME -->" line when NAME is given), each preceded by
# a marker line.
sh_blocks() {   # sh_blocks FILE [NAME]
  awk -v want="${2:-}" '
    /^<!-- doctest: / { tag = $3; next }
    /^```/ && !inb {
      info = substr($0, 4)
      if ((want == "" && info == "sh") || (want != "" && info == "sh" && tag == want)) {
        inb = 1; n++; printf "printf \"\\n@@@ block %d\\n\"\n", n; tag = ""; next
      }
      skipb = 1; tag = ""; next
    }
    /^```/ && inb { inb = 0; next }
    /^```/ && skipb { skipb = 0; next }
    inb { print }
  ' "$1"
}

mode_guide() {
  need curl jq openssl xmllint iconv
  local script=$TMP/guide.sh out=$TMP/guide.out S=$TMP/guide
  local doc=${GUIDE_DOC:-$SRC/docs/adapter-guide.md}
  { echo 'set -euo pipefail'; sh_blocks "$doc"; } >"$script"
  check_true "${doc#"$SRC"/} has its sh blocks" grep -q '@@@ block 10' "$script"
  STACK_DIRS+=("$S")
  if (cd "$SRC" && S=$S BUILD=$BUILD bash "$script") >"$out" 2>&1; then
    ok "every sh block of ${doc#"$SRC"/} runs ($(grep -c '^@@@ block' "$out") blocks)"
  else
    bad "every sh block of ${doc#"$SRC"/} runs" "stopped in $(grep '^@@@ block' "$out" | tail -n 1): $(tail -n 15 "$out")"
  fi
  contains "guide: the agency answers in GB18030, shown as UTF-8" "$out" "<name>刘建国</name>"
  contains "guide: the busy answer is an <error> document" "$out" "<code>SYSTEM_BUSY</code>"
  contains "guide: the pin is computed" "$out" "sha256//"
  contains "guide: a literal secret is refused" "$out" 'auth.key: must be a secret reference "env:NAME" or "file:PATH"'
  contains "guide: a misspelt field is named" "$out" "tls.ca_flie: unknown field (known here: ca_file, client_cert, client_key, pin_sha256)"
  contains "guide: the adapter validates" "$out" "ok (qual.certificates version 2, agency qual, protocol xml, 1 fact)"
  contains "guide: the shipped adapters validate in place with --stack" "$out" "adapters/chsi.json: ok (chsi.degrees version"
  contains "guide: adapter test finds the certificates" "$out" '"cert_no":"ZC-2016-44030877"'
  contains "guide: adapter test says not_found for nobody" "$out" "not_found      the agency has no record"
  contains "guide: the busy answer is an agency_fault" "$out" "unavailable  agency_fault  the agency reported a fault"
  contains "guide: the XXE answer is refused" "$out" "bad_response  response rejected: doctype_forbidden"
  contains "guide: the admin API refuses the misspelt file" "$out" '"type": "/problems/invalid-adapter"'
  contains "guide: gwctl adapter push activates version 2" "$out" "qual.certificates version 2 active (replaced the previous version)"
  contains "guide: pushing the same version again is a conflict" "$out" "HTTP 409: qual.certificates.json: version: must be newer than the active version 2"
  contains "guide: gwctl status shows the adapters" "$out" "qual.certificates        qual     closed"
  contains "guide: the gateway's dry run is ok" "$out" '"facts":{"qualification.certificates":"ok"}'
  contains "guide: GET /v1/adapters shows version 3" "$out" '{"id":"qual.certificates","version":3}'
  contains "guide: a broken file is refused on SIGHUP" "$out" '"event":"reload_refused"'
  contains "guide: a query through version 3 is verified" "$out" "verified (kid"
  contains "guide: the breaker opens" "$out" 'gw_breaker_state{adapter="qual.certificates"} 1'
  contains "guide: circuit_open while open" "$out" "circuit_open"
  contains "guide: the breaker closes again" "$out" 'gw_breaker_state{adapter="qual.certificates"} 0'
  if [[ "${GUIDE_OUT:-}" ]]; then cp -- "$out" "$GUIDE_OUT"; fi
}

# ---- deploy: the unit, the example config, the backup procedure ---------------------------

mode_deploy() {
  need curl jq openssl
  [[ -x $GATEWAYD && -x $GWCTL ]] || { bad "gatewayd and gwctl are built in $BUILD"; return; }

  # -- the systemd unit
  if command -v systemd-analyze >/dev/null 2>&1; then
    local unit=$TMP/unit/gatewayd.service vout
    mkdir -p "$TMP/unit"
    # verify checks that ExecStart names an executable: point it at the build
    sed "s#/usr/local/sbin/gatewayd#$GATEWAYD#g" "$SRC/scripts/gatewayd.service" >"$unit"
    vout=$(cd "$TMP/unit" && systemd-analyze verify ./gatewayd.service 2>&1) && [[ -z "$vout" ]] \
      && ok "systemd-analyze verify scripts/gatewayd.service: no complaint" \
      || bad "systemd-analyze verify scripts/gatewayd.service: no complaint" "$vout"
    local score
    score=$(cd "$TMP/unit" && systemd-analyze security --offline=true ./gatewayd.service 2>&1 \
            | sed -n 's/.*Overall exposure level for gatewayd.service: \([0-9.]*\).*/\1/p')
    if [[ -n "$score" ]] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
      ok "systemd-analyze security: exposure $score (at most 2.0)"
    else
      bad "systemd-analyze security: exposure at most 2.0" "got '${score:-no score}'"
    fi
    for want in 'User=gatewayd' 'ProtectSystem=strict' 'NoNewPrivileges=yes' 'CapabilityBoundingSet=' \
                'PrivateTmp=yes' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
                'ExecReload=/bin/kill -HUP $MAINPID' 'KillSignal=SIGTERM' 'Restart=on-failure' \
                'ReadWritePaths=-/var/lib/gatewayd/audit' 'TimeoutStopSec=' 'LimitNOFILE='; do
      if grep -q "^${want//\$/\\\$}" "$unit"; then ok "unit sets $want"; else bad "unit sets $want"; fi
    done
  else
    echo "note - systemd-analyze is not installed (Debian: apt-get install systemd): unit checks skipped"
  fi

  # -- the example configuration, in the layout of docs/deployment.md
  local root=$TMP/root cfg=$TMP/root/etc/gatewayd/gatewayd.json pki=$TMP/pki
  bash "$SRC/certs/gen-pki.sh" "$pki" >/dev/null
  mkdir -p "$root/etc/gatewayd/tls" "$root/etc/gatewayd/keys" "$root/etc/gatewayd/agencies/qual" \
           "$root/var/lib/gatewayd/adapters" "$root/usr/local/share/gatewayd/schemas"
  cp "$pki/gateway/server.pem" "$pki/gateway/server.key" "$root/etc/gatewayd/tls/"
  cp "$pki/client-ca.pem" "$root/etc/gatewayd/tls/client-ca.pem"
  cp "$SRC/scripts/stack.acl.json" "$root/etc/gatewayd/acl.json"
  cp "$pki/gateway/attest.key" "$root/etc/gatewayd/keys/attest.key"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/old-attest.key" 2>/dev/null
  openssl pkey -in "$TMP/old-attest.key" -pubout -out "$root/etc/gatewayd/keys/attest-previous.pub.pem" 2>/dev/null
  cp "$pki/gateway/subject-ref.secret" "$root/etc/gatewayd/keys/subject-ref.secret"
  cp "$pki/gateway/checkpoint.key" "$root/etc/gatewayd/keys/checkpoint.key"
  cp "$pki/auditor/seal.pem" "$root/etc/gatewayd/keys/auditor-seal.pem"
  cp -r "$SRC/schemas/facts" "$SRC/schemas/purposes.json" "$SRC/schemas/predicates" \
        "$root/usr/local/share/gatewayd/schemas/"
  cp "$pki/agency-ca.pem" "$root/etc/gatewayd/agencies/qual/ca.pem"
  cp "$pki/secrets/qual-api-key" "$root/etc/gatewayd/agencies/qual/api-key"
  # an adapter as deployed: agency files by absolute path
  jq --arg r "$root" '.tls.ca_file = "\($r)/etc/gatewayd/agencies/qual/ca.pem"
      | .auth.key = "file:\($r)/etc/gatewayd/agencies/qual/api-key"' \
     "$SRC/adapters/qual.json" >"$root/var/lib/gatewayd/adapters/qual.json"
  # every absolute path under $root, and loopback only
  jq --arg r "$root" 'walk(if type == "string" and startswith("/") then $r + . else . end)
      | .listen = {address: "127.0.0.1", port: 0} | .ops_listen = {address: "127.0.0.1", port: 0}
      | .workers = 2' "$SRC/scripts/gatewayd.example.json" >"$cfg"
  local out
  out=$("$GATEWAYD" --config "$cfg" --check-config 2>&1) && [[ "$out" == "$cfg: ok" ]] \
    && ok "gatewayd --check-config accepts scripts/gatewayd.example.json (paths under a test root)" \
    || bad "gatewayd --check-config accepts scripts/gatewayd.example.json" "$out"
  check_true "the example config uses only known keys at the production paths of docs/deployment.md" \
    quiet jq -e '.adapters_dir == "/var/lib/gatewayd/adapters" and .audit.dir == "/var/lib/gatewayd/audit"
           and .acl == "/etc/gatewayd/acl.json" and (.keys.previous | length) >= 1' \
       "$SRC/scripts/gatewayd.example.json"
  # a mistake is named precisely
  jq '.audit.checkpoint_intervall_s = 60' "$cfg" >"$TMP/bad.json"
  out=$("$GATEWAYD" --config "$TMP/bad.json" --check-config 2>&1) && bad "a misspelt key is refused" \
    || { [[ "$out" == "$TMP/bad.json: audit.checkpoint_intervall_s: unknown field (known here: dir, "*"checkpoint_interval_s"* ]] \
           && ok "a misspelt key is refused: $out" || bad "a misspelt key is refused precisely" "$out"; }

  # started for real: ready, both attestation keys published, reload, drain
  "$GATEWAYD" --config "$cfg" --ports-file "$TMP/ports.json" >"$TMP/gw.log" 2>&1 &
  local gpid=$! i api ops
  PIDS+=("$gpid")
  for i in $(seq 100); do [[ -s $TMP/ports.json ]] && break; sleep 0.1; done
  api=$(jq -r .api "$TMP/ports.json" 2>/dev/null || echo 0)
  ops=$(jq -r .ops "$TMP/ports.json" 2>/dev/null || echo 0)
  check_true "the example config starts: /readyz 200" curl -fsS -o /dev/null "http://127.0.0.1:$ops/readyz"
  local n
  n=$(curl -sS --cacert "$pki/gateway-ca.pem" --cert "$pki/clients/engine.pem" --key "$pki/clients/engine.key" \
        "https://127.0.0.1:$api/v1/keys" | jq '.keys | length')
  [[ "$n" == 2 ]] && ok "GET /v1/keys lists the current key and keys.previous (2 keys)" \
    || bad "GET /v1/keys lists the current key and keys.previous" "got $n keys"
  [[ -d $root/var/lib/gatewayd/audit && "$(stat -c %a "$root/var/lib/gatewayd/audit")" == 700 ]] \
    && ok "the audit directory is created, mode 0700" || bad "the audit directory is created, mode 0700"
  # the attestation key rotation of docs/deployment.md, reload by reload
  kids() {
    curl -sS --cacert "$pki/gateway-ca.pem" --cert "$pki/clients/engine.pem" --key "$pki/clients/engine.key" \
      "https://127.0.0.1:$api/v1/keys" | jq -r '[.keys[].kid] | join(" ")'
  }
  wait_kids() {   # wait_kids PREDICATE-ON-$K: until the key set satisfies it, 5 s at most
    local j
    for j in $(seq 50); do K=$(kids); eval "$1" && return 0; sleep 0.1; done
    return 1
  }
  local K K0 K1 KN=""
  K=$(kids); K1=${K%% *}; K0=${K#* }
  local step
  for step in rotate-announce rotate-switch; do
    { echo 'set -euo pipefail'; sh_blocks "$SRC/docs/deployment.md" "$step"; } >"$TMP/$step.sh"
    grep -q '@@@ block 1' "$TMP/$step.sh" || bad "docs/deployment.md has the $step block"
  done
  if KEYS=$root/etc/gatewayd/keys RELOAD="kill -HUP $gpid" bash "$TMP/rotate-announce.sh" >"$TMP/rot.out" 2>&1 \
     && wait_kids '[[ ${K%% *} == "$K1" && ${K#* } != "$K0" && ${K#* } != "$K" ]]'; then
    KN=${K#* }
    ok "rotation step 1 (announce, reload): /v1/keys lists the signing key and the next one"
  else
    bad "rotation step 1 (announce, reload)" "keys: $K; $(cat "$TMP/rot.out")"
  fi
  if KEYS=$root/etc/gatewayd/keys RELOAD="kill -HUP $gpid" bash "$TMP/rotate-switch.sh" >"$TMP/rot.out" 2>&1 \
     && wait_kids '[[ "$K" == "$KN $K1" ]]'; then
    ok "rotation step 2 (switch, reload): the next key signs, the old one stays listed"
  else
    bad "rotation step 2 (switch, reload)" "keys: $K (want ${KN:-?} $K1); $(cat "$TMP/rot.out")"
  fi
  [[ ! -e $root/etc/gatewayd/keys/attest-retired.key ]] && ok "rotation: the retired private key is shredded" \
    || bad "rotation: the retired private key is shredded"
  check_true "SIGHUP (systemctl reload) logged as reloaded" grep -q '"event":"reloaded"' "$TMP/gw.log"

  # the server certificate replaced with mv and reloaded: new connections get it
  served_serial() {
    openssl s_client -connect "127.0.0.1:$api" -CAfile "$pki/gateway-ca.pem" \
      -cert "$pki/clients/engine.pem" -key "$pki/clients/engine.key" </dev/null 2>/dev/null \
      | openssl x509 -noout -serial 2>/dev/null
  }
  local before after tdir=$root/etc/gatewayd/tls
  before=$(served_serial)
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=gateway \
    -keyout "$tdir/server.key.new" -out "$TMP/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$TMP/san.ext"
  openssl x509 -req -in "$TMP/server.csr" -CA "$pki/gateway-ca.pem" -CAkey "$pki/private/gateway-ca.key" \
    -set_serial 0x7e57 -days 30 -extfile "$TMP/san.ext" -out "$tdir/server.pem.new" 2>/dev/null
  mv "$tdir/server.key.new" "$tdir/server.key"
  mv "$tdir/server.pem.new" "$tdir/server.pem"
  kill -HUP "$gpid"
  for i in $(seq 50); do after=$(served_serial); [[ "$after" == "serial=7E57" ]] && break; sleep 0.1; done
  [[ -n "$before" && "$before" != "$after" && "$after" == "serial=7E57" ]] \
    && ok "TLS server certificate rotated by mv + reload (served serial ${before#serial=} -> ${after#serial=})" \
    || bad "TLS server certificate rotated by mv + reload" "before '$before', after '$after'"
  kill -TERM "$gpid"
  local rc=0
  wait "$gpid" || rc=$?
  PIDS=()
  [[ $rc == 0 ]] && grep -q '"event":"stopped"' "$TMP/gw.log" \
    && ok "SIGTERM (systemctl stop) drains and exits 0" || bad "SIGTERM drains and exits 0" "rc $rc: $(tail -n 3 "$TMP/gw.log")"

  # -- the backup procedure, on a stack answering queries meanwhile
  command -v python3 >/dev/null || { bad "python3 for the backup procedure"; return; }
  local sdir=$TMP/stack
  stack_up "$sdir" --set audit.checkpoint_interval_s=1
  local GW CA CERT KEY ID NAME
  GW=$(jq -r .gateway.url "$sdir/stack.json")
  CA=$sdir/pki/gateway-ca.pem CERT=$sdir/pki/clients/engine.pem KEY=$sdir/pki/clients/engine.key
  curl -sS --cacert "$CA" --cert "$CERT" --key "$KEY" "$GW/v1/audit/checkpoint-key" >"$TMP/checkpoint.vkey"
  load() {   # queries, one after the other, bounded
    local k id name
    for k in $(seq 60); do
      id=$(jq -r ".subjects[$((k % 20))].id" "$sdir/stack.json")
      name=$(jq -r ".subjects[$((k % 20))].name" "$sdir/stack.json")
      curl -sS -o /dev/null --cacert "$CA" --cert "$CERT" --key "$KEY" -H 'Content-Type: application/json' \
        -d "{\"subject\":{\"id_type\":\"cn-resident-id\",\"id\":\"$id\",\"name\":\"$name\"},\"facts\":[\"identity.match\",\"credit.status\"],\"purpose\":\"talent.graduate\",\"max_age_s\":0}" \
        "$GW/v1/facts/query" || true
    done
  }
  load & local lpid=$!
  PIDS+=("$lpid")
  # back up once a checkpoint covers some records (20 s at most), while the load goes on
  for i in $(seq 200); do
    [[ "$(curl -sS --cacert "$CA" --cert "$CERT" --key "$KEY" "$GW/v1/audit/checkpoint" | sed -n 2p)" -gt 4 ]] \
      2>/dev/null && break
    sleep 0.1
  done
  local bscript=$TMP/backup.sh
  { echo 'set -euo pipefail'; sh_blocks "$SRC/docs/deployment.md" backup; } >"$bscript"
  check_true "docs/deployment.md has the backup block" grep -q '@@@ block 1' "$bscript"
  if AUDIT=$sdir/audit BACKUP=$TMP/backup VKEY_FILE=$TMP/checkpoint.vkey GWCTL=$GWCTL \
       bash "$bscript" >"$TMP/backup.out" 2>&1; then
    ok "the backup procedure of docs/deployment.md runs while queries are answered"
  else
    bad "the backup procedure of docs/deployment.md runs" "$(tail -n 10 "$TMP/backup.out")"
  fi
  cat "$TMP/backup.out"
  wait "$lpid" || true
  PIDS=()
  contains "the backup verifies offline with the pinned key" "$TMP/backup.out" "signatures checked"
  contains "gwctl audit verify says OK" "$TMP/backup.out" "result:      OK"
  local size records
  size=$(sed -n 's/^backup: [0-9]* checkpoints, \([0-9]*\) records.*/\1/p' "$TMP/backup.out")
  records=$(sed -n 's/^records: *\([0-9]*\) read.*/\1/p' "$TMP/backup.out")
  [[ -n "$size" && "$size" == "$records" && "$size" -gt 0 ]] \
    && ok "the copy holds exactly the $size records its latest checkpoint signs" \
    || bad "the copy holds exactly the records its latest checkpoint signs" "checkpoint $size, records $records"

  # restore: the gateway opens the copy (no derived/) under the same log id
  local rdir=$TMP/restored logid
  mkdir -m 0700 "$rdir"
  cp "$TMP/backup/log-id" "$TMP/backup/checkpoints" "$TMP/backup/records" "$rdir/"
  "$STACK" down --dir "$sdir" >/dev/null
  jq --arg a "$rdir" '.audit.dir = $a | .listen.port = 0 | .ops_listen.port = 0' "$sdir/gateway.json" \
     >"$sdir/restored.json"
  rm -f "$TMP/rports.json"
  "$GATEWAYD" --config "$sdir/restored.json" --ports-file "$TMP/rports.json" >"$TMP/restored.log" 2>&1 &
  gpid=$!
  PIDS+=("$gpid")
  for i in $(seq 100); do [[ -s $TMP/rports.json ]] && break; sleep 0.1; done
  api=$(jq -r .api "$TMP/rports.json" 2>/dev/null || echo 0)
  logid=$(cat "$TMP/backup/log-id")
  check_true "the restored log opens (audit_opened, derived/ rebuilt)" \
    grep -q "\"event\":\"audit_opened\",\"log_id\":\"$logid\",\"size\":$size" "$TMP/restored.log"
  local note
  note=$(curl -sS --cacert "$CA" --cert "$CERT" --key "$KEY" "https://127.0.0.1:$api/v1/audit/checkpoint")
  [[ "$(sed -n 2p <<<"$note")" == "$size" && "$(sed -n 1p <<<"$note")" == */audit/$logid ]] \
    && ok "the restored gateway serves the backed-up checkpoint (same log id, size $size)" \
    || bad "the restored gateway serves the backed-up checkpoint" "$note"
  kill -TERM "$gpid"; wait "$gpid" || true
  PIDS=()
}

case $MODE in
  lint) mode_lint ;;
  live) mode_live ;;
  guide) mode_guide ;;
  guide_zh) GUIDE_DOC=$SRC/docs/zh/adapter-guide.md mode_guide ;;
  deploy) mode_deploy ;;
  *) echo "usage: api_test.sh lint|live|guide|deploy" >&2; exit 2 ;;
esac
