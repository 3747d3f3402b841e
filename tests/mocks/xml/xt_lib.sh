# xt_lib.sh - shared by the script tests of the XML/JOSE mock agencies.
# Sourced, not run.  Needs MOCK_RENDER (the mock-render binary) and
# GW_SOURCE_DIR in the environment (ctest sets both).  Gives:
#   T        a private temp dir, removed on exit
#   PKI      a fresh test PKI made by certs/gen-pki.sh (or, while that script
#            is absent, by the openssl commands below, same file names)
#   need TOOL PACKAGE    fail, naming the Debian package, when TOOL is missing
#   render AGENCY ID NAME [FAULT] > FILE   the agency's response body
#   ok MSG / fail MSG
set -eu

: "${MOCK_RENDER:?set MOCK_RENDER to the mock-render binary}"
: "${GW_SOURCE_DIR:?set GW_SOURCE_DIR to the source tree}"
SCHEMAS=$GW_SOURCE_DIR/schemas/agencies

T=$(mktemp -d "${TMPDIR:-/tmp}/mocks-xml.XXXXXXXX")
trap 'rm -rf -- "$T"' EXIT
PKI=$T/pki

ok()   { echo "ok   - $*"; }
fail() { echo "FAIL - $*" >&2; exit 1; }
need() {
  command -v "$1" >/dev/null 2>&1 ||
    fail "$1 not found: apt-get install $2"
}

# The hand-made people of xt_support.c.
ID_GRADUATE=440305199803151234  NAME_GRADUATE=张伟
ID_OVERSEAS=110108199507204567  NAME_OVERSEAS=李娜
ID_DISHONEST=310115199001027891 NAME_DISHONEST=王芳
ID_NOBODY=440304200002290014

make_pki() {
  need openssl openssl
  if [ -x "$GW_SOURCE_DIR/certs/gen-pki.sh" ] || [ -f "$GW_SOURCE_DIR/certs/gen-pki.sh" ]; then
    bash "$GW_SOURCE_DIR/certs/gen-pki.sh" "$PKI" >/dev/null || fail "certs/gen-pki.sh failed"
    return
  fi
  echo "note: certs/gen-pki.sh absent, using a throwaway PKI"
  mkdir -p "$PKI/signing" "$PKI/secrets" "$PKI/negative"
  (
    cd "$PKI"
    q() { openssl "$@" >/dev/null 2>&1 || fail "openssl $*"; }
    q req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=Test Agency CA" \
      -keyout negative/agency-ca.key -out agency-ca.pem -days 30
    q req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=Unknown CA" \
      -keyout negative/unknown-ca.key -out negative/unknown-ca.pem -days 30
    for n in chsi:agency-ca.pem:negative/agency-ca.key rogue:negative/unknown-ca.pem:negative/unknown-ca.key; do
      name=${n%%:*}; rest=${n#*:}; ca=${rest%%:*}; cakey=${rest#*:}
      q req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=chsi signing" \
        -keyout signing/$name.key -out $name.csr
      q x509 -req -in $name.csr -CA "$ca" -CAkey "$cakey" -set_serial 7 -days 30 -out signing/$name.pem
    done
    q genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out signing/cscse.key
    q pkey -in signing/cscse.key -pubout -out signing/cscse.pub.pem
    q genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out signing/rogue-jws.key
    q pkey -in signing/rogue-jws.key -pubout -out signing/rogue-jws.pub.pem
    printf '%s' throwaway-qual-key > secrets/qual-api-key
  )
}

# render AGENCY ID NAME [FAULT]: body on stdout, "STATUS CTYPE" in $T/meta.
render() {
  "$MOCK_RENDER" --pki "$PKI" "$@" 2>"$T/meta" || { cat "$T/meta" >&2; fail "mock-render $*"; }
}
status() { cut -d' ' -f1 "$T/meta"; }
ctype()  { cut -d' ' -f2- "$T/meta"; }

make_pki
