# lib.sh - shared by the audit-log suites (sourced, not run).
#
# Each suite brings its own stack up in a fresh mktemp dir with scripts/stack
# and takes it down in an EXIT trap.  Checks print one line each; the suite
# ends with "N passed, N failed" and fails if any check did.  Waits poll a
# condition under a deadline; nothing sleeps for a fixed time.
#
# The independent checks use only openssl, coreutils, curl and jq: hashes
# are hex strings, SHA-256 comes from `openssl dgst`, and the RFC 9162
# verifiers below are written from the RFC, not from our C code.
#
# Needs GW_SOURCE_DIR and GW_BUILD_DIR (set by ctest), curl, jq, openssl.
SUITE=auditlog
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib/harness.sh"
GWCTL=$GW_BUILD_DIR/gateway/gwctl
GATEWAYD=$GW_BUILD_DIR/gateway/gatewayd

for t in curl jq openssl od; do
  command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t is missing (Debian: apt-get install $t)"; exit 77; }
done

# stack_up DIR [--set k=v ...]: brings a stack up and loads its variables.
stack_up() {
  local dir=$1; shift
  stack_start "$dir" "$@"
  stack_vars "$dir"
}

stack_vars() {
  S=$1/stack.json
  GW=$(jq -r .gateway.url "$S")
  GCA=$(jq -r .pki.gateway_ca "$S")
  CTL=$(jq -r .mocks.control_url "$S")
  AUDIT_DIR=$(jq -r .gateway.audit_dir "$S")
  PKI=$(jq -r .pki.dir "$S")
}

# as CLIENT: curl options for that client certificate of the stack.
as() { echo "--cert $(jq -r ".pki.clients.$1.cert" "$S") --key $(jq -r ".pki.clients.$1.key" "$S")"; }

# req CLIENT CURL-ARGS...: sets RC, STATUS, BODY.
req() {
  local who=$1 out; shift
  RC=0
  # shellcheck disable=SC2046
  out=$(curl -sS --cacert "$GCA" $(as "$who") -w '\n%{http_code}' "$@" 2>"$TMP/curl.err") || RC=$?
  STATUS=${out##*$'\n'}
  BODY=${out%$'\n'*}
  [[ "$out" == *$'\n'* ]] || BODY=""
}

subject() { jq -r --arg s "$1" ".subjects[] | select(.scenario == \$s) | .${2:-id}" "$S"; }

# purpose_of SCENARIO: the talent path a scenario exercises.
purpose_of() {
  case $1 in
    inservice-*) echo talent.inservice ;; overseas-*) echo talent.overseas ;;
    postdoc-*) echo talent.postdoc ;; highlevel-*) echo talent.highlevel ;;
    *) echo talent.graduate ;;
  esac
}

# query SCENARIO OUTFILE [CASE_REF]: every fact the engine may ask for the
# scenario's purpose; the answer goes to OUTFILE.  Sets STATUS.
query() {
  local sc=$1 out=$2 case_ref=${3:-SZ-RC-TEST} purpose facts body
  purpose=$(purpose_of "$sc")
  facts=$(jq -c --arg p "$purpose" '.clients.engine.purposes[$p]' "$GW_SOURCE_DIR/scripts/stack.acl.json")
  body=$(jq -nc --arg id "$(subject "$sc")" --arg name "$(subject "$sc" name)" --argjson f "$facts" \
           --arg p "$purpose" --arg c "$case_ref" \
           '{subject: {id_type: "cn-resident-id", id: $id, name: $name}, facts: $f, purpose: $p, case_ref: $c}')
  req engine -H 'Content-Type: application/json' -d "$body" "$GW/v1/facts/query"
  printf '%s' "$BODY" >"$out"
}

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

checkpoint_size() { curl -sS --cacert "$GCA" $(as stranger) "$GW/v1/audit/checkpoint" | sed -n 2p; }
covers() { local n; n=$(checkpoint_size); [[ -n "$n" ]] && (( n > $1 )); }

# ---- hashing with openssl, hex in and out ---------------------------------------

hex2bin() { local h=$1 out="" i; for ((i = 0; i < ${#h}; i += 2)); do out+="\\x${h:i:2}"; done; printf "$out"; }
b64hex() { base64 -d <<<"$1" | od -An -v -tx1 | tr -d ' \n'; }
sha256hex() { openssl dgst -sha256 -binary | od -An -v -tx1 | tr -d ' \n'; }
leaf_of_file() { { printf '\x00'; cat -- "$1"; } | sha256hex; }
node() { { printf '\x01'; hex2bin "$1"; hex2bin "$2"; } | sha256hex; }

# merkle_root HEX...: RFC 9162 MTH over leaf hashes.
merkle_root() {
  local n=$# k=1
  if ((n == 0)); then printf '' | sha256hex; return; fi
  if ((n == 1)); then echo "$1"; return; fi
  while ((k * 2 < n)); do k=$((k * 2)); done
  node "$(merkle_root "${@:1:k}")" "$(merkle_root "${@:k+1}")"
}

# verify_inclusion INDEX SIZE LEAF ROOT PATH...: RFC 9162 2.1.3.2.
verify_inclusion() {
  local fn=$1 sn=$(($2 - 1)) r=$3 root=$4 p; shift 4
  ((fn < sn + 1)) || return 1
  for p in "$@"; do
    ((sn > 0)) || return 1
    if ((fn & 1)) || ((fn == sn)); then
      r=$(node "$p" "$r")
      if ! ((fn & 1)); then while ! ((fn & 1)) && ((fn != 0)); do fn=$((fn >> 1)); sn=$((sn >> 1)); done; fi
    else
      r=$(node "$r" "$p")
    fi
    fn=$((fn >> 1)); sn=$((sn >> 1))
  done
  ((sn == 0)) && [[ "$r" == "$root" ]]
}

# verify_consistency M N ROOT_M ROOT_N PATH...: RFC 9162 2.1.4.2.
verify_consistency() {
  local m=$1 n=$2 rm=$3 rn=$4 fn sn fr sr c; shift 4
  local path=("$@")
  if ((m == n)); then ((${#path[@]} == 0)) && [[ "$rm" == "$rn" ]]; return; fi
  ((m > 0 && m < n && ${#path[@]} > 0)) || return 1
  ((m & (m - 1))) || path=("$rm" "${path[@]}")
  fn=$((m - 1)); sn=$((n - 1))
  while ((fn & 1)); do fn=$((fn >> 1)); sn=$((sn >> 1)); done
  fr=${path[0]}; sr=${path[0]}
  for c in "${path[@]:1}"; do
    ((sn > 0)) || return 1
    if ((fn & 1)) || ((fn == sn)); then
      fr=$(node "$c" "$fr"); sr=$(node "$c" "$sr")
      if ! ((fn & 1)); then while ! ((fn & 1)) && ((fn != 0)); do fn=$((fn >> 1)); sn=$((sn >> 1)); done; fi
    else
      sr=$(node "$sr" "$c")
    fi
    fn=$((fn >> 1)); sn=$((sn >> 1))
  done
  ((sn == 0)) && [[ "$fr" == "$rm" && "$sr" == "$rn" ]]
}

# all_entries: every entry of the log as JSON lines {index, data} (auditor).
all_entries() {
  local start=0 n
  while :; do
    req auditor "$GW/v1/audit/entries?start=$start&count=1000"
    [[ $STATUS == 200 ]] || break
    jq -c '.entries[]' <<<"$BODY"
    n=$(jq '.entries | length' <<<"$BODY")
    start=$((start + n))
  done
}
