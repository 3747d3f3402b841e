# lib.sh - shared by the query suites (sourced, not run).
#
# Each suite brings its own stack up in a fresh temp dir with scripts/stack
# and takes it down in an EXIT trap.  The clients are independent of the
# gateway's code: curl for HTTP, jq for JSON, the openssl CLI (and, when
# Debian's python3-cryptography is there, a second verifier) for signatures.
# Checks print one line each; the suite ends with "N passed, N failed" and
# fails if any check did.  Waiting is bounded polling, never a fixed sleep.
#
# Needs GW_SOURCE_DIR and GW_BUILD_DIR (set by ctest), curl, jq, openssl, xxd.
SUITE=query
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib/harness.sh"
POPULATION=$GW_SOURCE_DIR/mocks/data/population.json
GWCTL=$GW_BUILD_DIR/gateway/gwctl


# stack_up DIR [--set k=v ...]: brings a stack up and loads its variables.
stack_up() {
  local dir=$1; shift
  stack_start "$dir" "$@"
  SDIR=$dir
  GW=$(jq -r .gateway.url "$S")
  OPS=$(jq -r .gateway.ops_url "$S")
  GLOG=$(jq -r .gateway.log "$S")
  AUDIT_DIR=$(jq -r .gateway.audit_dir "$S")
  GW_ID=$(jq -r .gateway_id "$(jq -r .gateway.config "$S")")
  CA=$(jq -r .pki.gateway_ca "$S")
  CERT=$(jq -r .pki.clients.engine.cert "$S")
  KEY=$(jq -r .pki.clients.engine.key "$S")
  CTL=$(jq -r .mocks.control_url "$S")
}

# subject SCENARIO [FIELD]: a curated subject's id (or name) from stack.json.
subject() { jq -r --arg s "$1" '.subjects[] | select(.scenario == $s) | .'"${2:-id}" "$S"; }
# person SCENARIO: the curated person's full record from the data file.
person() { jq -c --arg s "$1" '.people[] | select(.scenario == $s)' "$POPULATION"; }
# allowed PURPOSE: the facts the stack's ACL lets the engine ask for PURPOSE, comma-separated.
allowed() { jq -r --arg p "$1" '.clients.engine.purposes[$p] | join(",")' "$GW_SOURCE_DIR/scripts/stack.acl.json"; }

# query_body ID NAME PURPOSE FACTS_CSV [EXTRA_JSON_OBJECT]: a request body.
query_body() {
  local extra=${5:-}
  [[ -n "$extra" ]] || extra='{}'
  jq -nc --arg id "$1" --arg n "$2" --arg p "$3" --arg f "$4" --argjson x "$extra" \
    '{subject: {id_type: "cn-resident-id", id: $id, name: $n},
      facts: ($f | split(",")), purpose: $p} + $x'
}

# req CURL-ARGS...: runs curl; sets RC, STATUS, BODY (also in $BODY_FILE, the
# exact bytes), and HEADERS (file).
HEADERS=$TMP/headers
BODY_FILE=$TMP/body
req() {
  RC=0
  STATUS=$(curl -sS -D "$HEADERS" -o "$BODY_FILE" -w '%{http_code}' "$@" 2>"$TMP/curl.err") || RC=$?
  BODY=$(cat "$BODY_FILE" 2>/dev/null || true)
}

# header NAME: the value of a response header of the last req (CR stripped).
header() {
  grep -i "^$1:" "$HEADERS" | tail -n 1 | sed 's/^[^:]*: *//' | tr -d '\r'
}

# gw_post BODY [CURL-ARGS...]: POST /v1/facts/query as the engine.
gw_post() {
  local body=$1; shift
  req --cacert "$CA" --cert "$CERT" --key "$KEY" -H 'Content-Type: application/json' \
      --data-binary "$body" "$@" "$GW/v1/facts/query"
}

# ask SCENARIO PURPOSE FACTS_CSV [EXTRA_JSON]: queries a curated subject
# under its listed name.
ask() {
  gw_post "$(query_body "$(subject "$1")" "$(subject "$1" name)" "$2" "$3" "${4:-}")"
}

# f FACT JQ-FILTER: a field of one fact of the last answer (jq -c).
f() { jq -c --arg f "$1" ".facts[\$f]$2" <<<"$BODY"; }

control() { local m=$1 p=$2; shift 2; req -X "$m" "$@" "$CTL$p"; }
set_fault() {
  control PUT "/agencies/$1/fault" -H 'Content-Type: application/json' -d "$2"
  [[ "$STATUS" == 200 ]] || bad "set $1 fault $2" "$STATUS $BODY"
}
clear_fault() { control DELETE "/agencies/$1/fault"; }
mock_requests() { curl -sS "$CTL/stats" | jq -r ".$1.requests"; }

# now_ms: wall clock in milliseconds.
now_ms() { date +%s%3N; }

# ---- JOSE with the openssl CLI (nothing of ours) ------------------------------

# b64url_dec STRING: the bytes, on stdout.
b64url_dec() {
  local s=${1//-/+}
  s=${s//_//}
  case $((${#s} % 4)) in
    2) s+="==" ;;
    3) s+="=" ;;
    1) return 1 ;;
  esac
  printf '%s' "$s" | base64 -d
}
# b64url_enc: stdin as base64url without padding.
b64url_enc() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
hex() { od -An -v -tx1 | tr -d ' \n'; }

# jwks_load: GET /v1/keys into $TMP/jwks.json and one PEM per kid in
# $TMP/keys/KID.pem, built by hand: DER SubjectPublicKeyInfo for P-256 is a
# fixed prefix, 04, x, y.
jwks_load() {
  local kid x y
  mkdir -p "$TMP/keys"
  req --cacert "$CA" --cert "$CERT" --key "$KEY" "$GW/v1/keys"
  [[ "$STATUS" == 200 ]] || { bad "GET /v1/keys" "$STATUS $BODY"; return 1; }
  cp "$BODY_FILE" "$TMP/jwks.json"
  while IFS=$'\t' read -r kid x y; do
    x=$(b64url_dec "$x" | hex)
    y=$(b64url_dec "$y" | hex)
    [[ ${#x} == 64 && ${#y} == 64 ]] || { bad "JWK $kid has 32-byte x and y"; return 1; }
    {
      echo "-----BEGIN PUBLIC KEY-----"
      printf '%s' "3059301306072a8648ce3d020106082a8648ce3d030107034200" "04" "$x" "$y" |
        xxd -r -p | base64 -w 64
      echo "-----END PUBLIC KEY-----"
    } >"$TMP/keys/$kid.pem"
  done < <(jq -r '.keys[] | select(.kty == "EC" and .crv == "P-256") | [.kid, .x, .y] | @tsv' \
             "$TMP/jwks.json")
}

# ossl_verify HEADER_B64 SIGNING_INPUT_FILE SIG_B64: the header names a kid
# we have, alg ES256; the 64-byte r||s, as DER, verifies with openssl dgst.
ossl_verify() {
  local h=$1 input=$2 sig=$3 kid alg r s
  kid=$(b64url_dec "$h" | jq -r .kid) || return 1
  alg=$(b64url_dec "$h" | jq -r .alg) || return 1
  [[ "$alg" == ES256 && -f "$TMP/keys/$kid.pem" ]] || return 1
  b64url_dec "$sig" >"$TMP/sig.raw" || return 1
  [[ $(stat -c %s "$TMP/sig.raw") == 64 ]] || return 1
  r=$(head -c 32 "$TMP/sig.raw" | hex)
  s=$(tail -c 32 "$TMP/sig.raw" | hex)
  printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' "$r" "$s" >"$TMP/sig.cnf"
  openssl asn1parse -genconf "$TMP/sig.cnf" -out "$TMP/sig.der" -noout >/dev/null || return 1
  openssl dgst -sha256 -verify "$TMP/keys/$kid.pem" -signature "$TMP/sig.der" "$input" \
    2>/dev/null | grep -qx 'Verified OK'
}

# ossl_verify_compact JWS: verifies a compact JWS; its payload is left in
# $TMP/payload.json and its header in $TMP/header.json.
ossl_verify_compact() {
  local jws=$1 h p s
  IFS=. read -r h p s <<<"$jws"
  [[ -n "$h" && -n "$p" && -n "$s" && "$jws" == "$h.$p.$s" ]] || return 1
  printf '%s.%s' "$h" "$p" >"$TMP/input"
  b64url_dec "$h" >"$TMP/header.json" || return 1
  b64url_dec "$p" >"$TMP/payload.json" || return 1
  ossl_verify "$h" "$TMP/input" "$s"
}

# ossl_verify_detached JWS BODY_FILE: "header..sig" over the exact bytes.
ossl_verify_detached() {
  local jws=$1 body=$2 h rest s
  h=${jws%%.*}
  rest=${jws#*.}
  [[ "${rest:0:1}" == . ]] || return 1
  s=${rest#.}
  { printf '%s.' "$h"; b64url_enc <"$body"; } >"$TMP/input"
  ossl_verify "$h" "$TMP/input" "$s"
}

# py_verify JWKS_FILE [DETACHED_BODY_FILE] < JWS-per-line: the second,
# independent verifier (Debian python3-cryptography).  Prints one result per
# line: "ok" or "bad".
PY=/usr/bin/python3
have_pycrypto() { [[ -x $PY ]] && "$PY" -c 'import cryptography' 2>/dev/null; }
PY_VERIFY=$(cat <<'EOF'
import base64, json, sys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

def d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

keys = {}
for k in json.load(open(sys.argv[1]))["keys"]:
    if k.get("kty") == "EC" and k.get("crv") == "P-256":
        keys[k["kid"]] = ec.EllipticCurvePublicNumbers(
            int.from_bytes(d(k["x"]), "big"), int.from_bytes(d(k["y"]), "big"),
            ec.SECP256R1()).public_key()
body = open(sys.argv[2], "rb").read() if len(sys.argv) > 2 else None
for line in sys.stdin:
    jws = line.strip()
    try:
        h, p, s = jws.split(".")
        hdr = json.loads(d(h))
        if hdr.get("alg") != "ES256":
            raise ValueError("alg")
        if body is not None:
            if p != "":
                raise ValueError("not detached")
            p = base64.urlsafe_b64encode(body).decode().rstrip("=")
        sig = d(s)
        if len(sig) != 64:
            raise ValueError("length")
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        keys[hdr["kid"]].verify(der, (h + "." + p).encode(), ec.ECDSA(hashes.SHA256()))
        print("ok")
    except (InvalidSignature, ValueError, KeyError):
        print("bad")
EOF
)
py_verify() { "$PY" -c "$PY_VERIFY" "$@"; }

# expected SCENARIO FACT: what the population file says the fact should be,
# as {"status": ..., "value": ...} (jq -c), computed independently of the
# gateway's mapping: no person, null or [] is not_found.  fund and tax follow
# si for a person with no section of their own ("fund": null is no record).
expected() {
  local p
  p=$(person "$1")
  jq -c --arg f "$2" '
    if .exists == false then {status: "not_found"} else
    (.listed_name // .name) as $asked |
    ({"identity.match": (.listed_name == null),
      "identity.birth_date": .mps.birth_date,
      "hukou.region": .mps.hukou,
      "education.degrees": .degrees,
      "overseas.certifications": .overseas,
      "social_insurance.shenzhen_months": .si.shenzhen_months,
      "social_insurance.employer": .si.employer,
      "credit.status": .credit,
      "qualification.certificates": .qualifications,
      "housing_fund.shenzhen_months":
        (if has("fund") then .fund.shenzhen_months else .si.shenzhen_months end),
      "housing_fund.employer": (if has("fund") then .fund.employer else .si.employer end),
      "tax.shenzhen_months":
        (if has("tax") then .tax.shenzhen_months
         else .si.shenzhen_months | if . == null then null elif . > 24 then 24 else . end end),
      "tax.employer": (if has("tax") then .tax.employer else .si.employer end),
      # the name on the record of that agency (its own spelling, else the
      # registered one) against the name the stack lists; a fund or tax
      # record derived from si does not take the spelling of si
      "social_insurance.name_agrees": (if .si == null then null else (.si.name // .name) == $asked end),
      "housing_fund.name_agrees":
        (if has("fund") then (if .fund == null then null else (.fund.name // .name) == $asked end)
         elif .si == null then null else .name == $asked end),
      "tax.name_agrees":
        (if has("tax") then (if .tax == null then null else (.tax.name // .name) == $asked end)
         elif .si == null then null else .name == $asked end)}[$f]) as $v
    | if $v == null or $v == [] then {status: "not_found"} else {status: "ok", value: $v} end
    end' <<<"$p"
}
