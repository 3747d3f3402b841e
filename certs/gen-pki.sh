#!/usr/bin/env bash
# gen-pki.sh DIR — generate the complete test PKI of the agency gateway.
#
# Everything (CAs, TLS server/client certificates, signing and sealing keys,
# shared secrets, deliberately broken certificates for negative tests) is
# written into DIR using only the openssl command line.  See certs/README.md
# for what every file is for.  Keys are never committed: the repository's
# .gitignore has *.key, and this script writes nothing outside DIR (and a
# private temp dir that is removed on exit).
#
# Re-running into an existing DIR replaces every file of the PKI with a fresh
# one; files in DIR that are not part of the PKI (stack.json, logs, ...) are
# left alone.  The new PKI is built in a temp dir first, so a failed run leaves
# DIR as it was.
#
# Prints one line on success: "pki: wrote DIR".  On failure prints the failing
# openssl command and its output to stderr and exits non-zero.
set -euo pipefail

usage() { echo "usage: $0 DIR" >&2; exit 2; }
[[ $# -eq 1 && -n "$1" ]] || usage
DIR=${1%/}
[[ -n "$DIR" ]] || { echo "gen-pki: refusing to write into /" >&2; exit 2; }

command -v openssl >/dev/null 2>&1 || { echo "gen-pki: openssl not found (apt-get install openssl)" >&2; exit 1; }

LEAF_DAYS=825      # CA/Browser-forum style maximum for leaves
CA_DAYS=3650       # 10 years
AGENCIES=(chsi mps si credit cscse qual talent fund tax)
CLIENTS=(engine auditor admin stranger peer)

umask 077
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gen-pki.XXXXXXXX")
trap 'rm -rf -- "$WORK"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
OUT=$WORK/out          # staged PKI, moved into DIR at the end
TMP=$WORK/tmp          # CSRs, openssl ca databases, logs
mkdir -p "$OUT"/{gateway,clients,agencies,auditor,signing,secrets,negative,private} "$TMP"
LOG=$TMP/openssl.log

# Run an openssl command quietly; on failure show what it said.
ossl() {
  if ! openssl "$@" >"$LOG" 2>&1 </dev/null; then
    echo "gen-pki: openssl $* failed:" >&2
    cat "$LOG" >&2
    exit 1
  fi
}

# Random positive 128-bit serial (top byte 0x40..0x7f: always 16 bytes, never negative).
serial() {
  local h
  h=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  printf '0x%02x%s' $(( (0x${h:0:2} & 0x3f) | 0x40 )) "${h:2}"
}

# 32 random bytes as 64 lowercase hex chars, no newline.
hex32() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }

# Key generation: PKCS#8 PEM (genpkey's default output), mode 0600 via umask.
key_ec()      { ossl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve -out "$1"; }
key_rsa()     { ossl genpkey -quiet -algorithm RSA -pkeyopt "rsa_keygen_bits:$2" -out "$1"; }
key_ed25519() { ossl genpkey -quiet -algorithm ED25519 -out "$1"; }
key_sm2()     { ossl genpkey -quiet -algorithm SM2 -out "$1"; }
pubout()      { ossl pkey -in "$1" -pubout -out "$2"; }

# X.509 v3 extension profiles.
CONF=$TMP/ext.cnf
cat >"$CONF" <<'EOF'
[ req ]
distinguished_name = req_dn
prompt             = no
string_mask        = utf8only
utf8               = yes
[ req_dn ]
CN = placeholder

[ ca_ext ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ server_ext ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ client_ext ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ seal_ext ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, keyEncipherment
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ sign_ext ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
EOF

# make_ca NAME "SUBJECT": self-signed P-256 CA -> OUT/NAME.pem (or negative/),
# key -> OUT/private/NAME.key
make_ca() {
  local name=$1 subj=$2 pem=$3
  key_ec "$OUT/private/$name.key"
  ossl req -new -x509 -config "$CONF" -key "$OUT/private/$name.key" -subj "$subj" \
       -sha256 -days "$CA_DAYS" -set_serial "$(serial)" -extensions ca_ext -out "$pem"
}

# leaf CA_NAME CA_PEM PROFILE "SUBJECT" KEY OUTPEM — key must already exist.
leaf() {
  local ca=$1 capem=$2 profile=$3 subj=$4 key=$5 pem=$6
  ossl req -new -config "$CONF" -key "$key" -subj "$subj" -sha256 -out "$TMP/leaf.csr"
  ossl x509 -req -in "$TMP/leaf.csr" -CA "$capem" -CAkey "$OUT/private/$ca.key" \
       -set_serial "$(serial)" -sha256 -days "$LEAF_DAYS" \
       -extfile "$CONF" -extensions "$profile" -out "$pem"
  rm -f "$TMP/leaf.csr"
}

# expired_leaf CA_NAME CA_PEM PROFILE "SUBJECT" KEY OUTPEM — valid 2020-01-01..2021-01-01.
# openssl 3.0's x509 cannot set notBefore, so use `openssl ca` with a throwaway config.
expired_leaf() {
  local ca=$1 capem=$2 profile=$3 subj=$4 key=$5 pem=$6
  local d=$TMP/ca-$ca
  rm -rf "$d"; mkdir -p "$d/new"; : >"$d/index.txt"
  cat >"$d/ca.cnf" <<EOF
[ ca ]
default_ca = throwaway
[ throwaway ]
database        = $d/index.txt
new_certs_dir   = $d/new
certificate     = $capem
private_key     = $OUT/private/$ca.key
rand_serial     = yes
default_md      = sha256
policy          = policy_any
unique_subject  = no
email_in_dn     = no
copy_extensions = none
[ policy_any ]
organizationName = optional
commonName       = supplied
EOF
  ossl req -new -config "$CONF" -key "$key" -subj "$subj" -sha256 -out "$d/leaf.csr"
  ossl ca -batch -notext -preserveDN -config "$d/ca.cnf" -in "$d/leaf.csr" \
       -startdate 20200101000000Z -enddate 20210101000000Z \
       -extfile "$CONF" -extensions "$profile" -out "$pem"
  rm -rf "$d"
}

# ---- SM2 (国密 profile, docs/crypto.md) ---------------------------------------
# Every SM2 signature here is made and checked with the GM/T 0009
# distinguishing ID: OpenSSL 3.0 would otherwise use an empty one, and
# certificates from it would not verify anywhere else (GmSSL, Tongsuo, gmsm).
SM2_ID=1234567812345678

# make_sm2_ca NAME "SUBJECT" PEM: self-signed SM2-with-SM3 CA
make_sm2_ca() {
  local name=$1 subj=$2 pem=$3
  key_sm2 "$OUT/private/$name.key"
  ossl req -new -x509 -config "$CONF" -key "$OUT/private/$name.key" -subj "$subj" \
       -sm3 -sigopt "distid:$SM2_ID" -days "$CA_DAYS" -set_serial "$(serial)" \
       -extensions ca_ext -out "$pem"
}

# sm2_leaf CA_NAME CA_PEM PROFILE "SUBJECT" KEY OUTPEM — key must already exist.
sm2_leaf() {
  local ca=$1 capem=$2 profile=$3 subj=$4 key=$5 pem=$6
  ossl req -new -config "$CONF" -key "$key" -subj "$subj" -sm3 -sigopt "distid:$SM2_ID" \
       -out "$TMP/leaf.csr"
  ossl x509 -req -in "$TMP/leaf.csr" -CA "$capem" -CAkey "$OUT/private/$ca.key" \
       -set_serial "$(serial)" -sm3 -sigopt "distid:$SM2_ID" -vfyopt "distid:$SM2_ID" \
       -days "$LEAF_DAYS" -extfile "$CONF" -extensions "$profile" -out "$pem"
  rm -f "$TMP/leaf.csr"
}

# ---- certificate authorities ---------------------------------------------
make_ca gateway-ca "/O=Test PKI/CN=Test Gateway CA" "$OUT/gateway-ca.pem"
make_ca client-ca  "/O=Test PKI/CN=Test Client CA"  "$OUT/client-ca.pem"
make_ca agency-ca  "/O=Test PKI/CN=Test Agency CA"  "$OUT/agency-ca.pem"
make_ca unknown-ca "/O=Nobody/CN=Unknown Test CA"   "$OUT/negative/unknown-ca.pem"
make_sm2_ca sm2-ca "/O=Test PKI/CN=Test SM2 CA"     "$OUT/sm2-ca.pem"
make_sm2_ca unknown-sm2-ca "/O=Nobody/CN=Unknown SM2 Test CA" "$OUT/negative/unknown-sm2-ca.pem"

# ---- gateway ----------------------------------------------------------------
key_ec "$OUT/gateway/server.key"
leaf gateway-ca "$OUT/gateway-ca.pem" server_ext "/O=Gateway/CN=gateway" \
     "$OUT/gateway/server.key" "$OUT/gateway/server.pem"
key_ec "$OUT/gateway/agency-client.key"
leaf agency-ca "$OUT/agency-ca.pem" client_ext "/O=Gateway/CN=gateway" \
     "$OUT/gateway/agency-client.key" "$OUT/gateway/agency-client.pem"
key_ec "$OUT/gateway/attest.key"
pubout "$OUT/gateway/attest.key" "$OUT/gateway/attest.pub.pem"
key_ed25519 "$OUT/gateway/checkpoint.key"
pubout "$OUT/gateway/checkpoint.key" "$OUT/gateway/checkpoint.pub.pem"
printf '%s' "$(hex32)" >"$OUT/gateway/subject-ref.secret"
# gm/dual profiles: the SM2 attestation key (with a certificate from the SM2
# CA, for relying parties that want one) and the SM2 checkpoint key
key_sm2 "$OUT/gateway/attest-sm2.key"
pubout "$OUT/gateway/attest-sm2.key" "$OUT/gateway/attest-sm2.pub.pem"
sm2_leaf sm2-ca "$OUT/sm2-ca.pem" sign_ext "/O=Gateway/CN=gateway attestation (SM2)" \
     "$OUT/gateway/attest-sm2.key" "$OUT/gateway/attest-sm2.pem"
key_sm2 "$OUT/gateway/checkpoint-sm2.key"
pubout "$OUT/gateway/checkpoint-sm2.key" "$OUT/gateway/checkpoint-sm2.pub.pem"
# an SM2 TLS server certificate: the gateway must refuse it (docs/deployment.md)
key_sm2 "$OUT/negative/sm2-server.key"
sm2_leaf sm2-ca "$OUT/sm2-ca.pem" server_ext "/O=Gateway/CN=gateway" \
     "$OUT/negative/sm2-server.key" "$OUT/negative/sm2-server.pem"

# ---- gateway clients ----------------------------------------------------------
for c in "${CLIENTS[@]}"; do
  key_ec "$OUT/clients/$c.key"
  leaf client-ca "$OUT/client-ca.pem" client_ext "/O=Test Clients/CN=$c" \
       "$OUT/clients/$c.key" "$OUT/clients/$c.pem"
done

# ---- auditors' sealing certificate (CMS enveloped data) ------------------------
key_rsa "$OUT/auditor/seal.key" 3072
leaf client-ca "$OUT/client-ca.pem" seal_ext "/O=Auditors/CN=auditor-seal" \
     "$OUT/auditor/seal.key" "$OUT/auditor/seal.pem"

# gm profile: the auditors' SM2 encryption certificate (SM2-sealed subjects)
key_sm2 "$OUT/auditor/seal-sm2.key"
sm2_leaf sm2-ca "$OUT/sm2-ca.pem" seal_ext "/O=Auditors/CN=auditor-seal (SM2)" \
     "$OUT/auditor/seal-sm2.key" "$OUT/auditor/seal-sm2.pem"

# ---- agencies (mock TLS servers) ---------------------------------------------
for a in "${AGENCIES[@]}"; do
  key_ec "$OUT/agencies/$a.key"
  leaf agency-ca "$OUT/agency-ca.pem" server_ext "/O=Mock Agencies/CN=$a.mock" \
       "$OUT/agencies/$a.key" "$OUT/agencies/$a.pem"
done

# ---- agency response signing ------------------------------------------------------
# chsi's XML-DSig key is P-256 (ecdsa-sha256): the mock signs every answer,
# and RSA 2048 signing helped cap it far below the 5,000 answers/s a mock must
# sustain (docs/mocks-xml.md).
key_ec "$OUT/signing/chsi.key"
leaf agency-ca "$OUT/agency-ca.pem" sign_ext "/O=Mock Agencies/CN=chsi signing" \
     "$OUT/signing/chsi.key" "$OUT/signing/chsi.pem"
key_ec "$OUT/signing/cscse.key"
pubout "$OUT/signing/cscse.key" "$OUT/signing/cscse.pub.pem"
# wrong_signer fault: same subject and key type as chsi's signing cert, issued
# by the unknown CA
key_ec "$OUT/signing/rogue.key"
leaf unknown-ca "$OUT/negative/unknown-ca.pem" sign_ext "/O=Mock Agencies/CN=chsi signing" \
     "$OUT/signing/rogue.key" "$OUT/signing/rogue.pem"
key_ec "$OUT/signing/rogue-jws.key"
pubout "$OUT/signing/rogue-jws.key" "$OUT/signing/rogue-jws.pub.pem"
# the same in SM2 (mocks.sign=sm2): chsi's XML-DSig certificate from the SM2
# CA, cscse's JWS key, and rogue twins from the unknown SM2 CA
key_sm2 "$OUT/signing/chsi-sm2.key"
sm2_leaf sm2-ca "$OUT/sm2-ca.pem" sign_ext "/O=Mock Agencies/CN=chsi signing" \
     "$OUT/signing/chsi-sm2.key" "$OUT/signing/chsi-sm2.pem"
key_sm2 "$OUT/signing/cscse-sm2.key"
pubout "$OUT/signing/cscse-sm2.key" "$OUT/signing/cscse-sm2.pub.pem"
key_sm2 "$OUT/signing/rogue-sm2.key"
sm2_leaf unknown-sm2-ca "$OUT/negative/unknown-sm2-ca.pem" sign_ext "/O=Mock Agencies/CN=chsi signing" \
     "$OUT/signing/rogue-sm2.key" "$OUT/signing/rogue-sm2.pem"
key_sm2 "$OUT/signing/rogue-jws-sm2.key"
pubout "$OUT/signing/rogue-jws-sm2.key" "$OUT/signing/rogue-jws-sm2.pub.pem"

# ---- upstream credentials ------------------------------------------------------------
printf '%s' gateway   >"$OUT/secrets/si-client-id"
printf '%s' "$(hex32)" >"$OUT/secrets/si-client-secret"
printf '%s' "$(hex32)" >"$OUT/secrets/qual-api-key"
printf '%s' "$(hex32)" >"$OUT/secrets/talent-api-key"
printf '%s' gw-szrc-01 >"$OUT/secrets/fund-app-id"
printf '%s' "$(hex32)" >"$OUT/secrets/fund-app-secret"
printf '%s' gw-szrc   >"$OUT/secrets/tax-username"
printf '%s' "$(hex32)" >"$OUT/secrets/tax-password"

# ---- negative cases ----------------------------------------------------------
key_ec "$OUT/negative/expired-client.key"
expired_leaf client-ca "$OUT/client-ca.pem" client_ext "/O=Test Clients/CN=engine" \
     "$OUT/negative/expired-client.key" "$OUT/negative/expired-client.pem"
key_ec "$OUT/negative/expired-server.key"
expired_leaf agency-ca "$OUT/agency-ca.pem" server_ext "/O=Mock Agencies/CN=expired.mock" \
     "$OUT/negative/expired-server.key" "$OUT/negative/expired-server.pem"
key_ec "$OUT/negative/unknown-client.key"
leaf unknown-ca "$OUT/negative/unknown-ca.pem" client_ext "/O=Test Clients/CN=engine" \
     "$OUT/negative/unknown-client.key" "$OUT/negative/unknown-client.pem"
key_ec "$OUT/negative/unknown-server.key"
leaf unknown-ca "$OUT/negative/unknown-ca.pem" server_ext "/O=Nobody/CN=unknown-server" \
     "$OUT/negative/unknown-server.key" "$OUT/negative/unknown-server.pem"

# ---- modes: keys and secrets 0600, everything else world-readable ------------------
find "$OUT" -type f -exec chmod 0644 {} +
find "$OUT" -type f \( -name '*.key' -o -name '*.secret' -o -path "$OUT/secrets/*" \) -exec chmod 0600 {} +
find "$OUT" -type d -exec chmod 0755 {} +
chmod 0700 "$OUT/private" "$OUT/secrets"

# ---- install into DIR -----------------------------------------------------------------
# Replace only the PKI's own files; leave anything else in DIR alone.
umask 022
mkdir -p -- "$DIR"
DEST=$(cd -- "$DIR" && pwd -P)
(
  cd "$OUT"
  find . -type d -printf '%P\n' | while IFS= read -r d; do
    [[ -z "$d" ]] && continue
    mkdir -p -- "$DEST/$d"
    chmod --reference="$d" -- "$DEST/$d"
  done
  find . -type f -printf '%P\n' | while IFS= read -r f; do
    rm -f -- "$DEST/$f"
    mv -f -- "$f" "$DEST/$f"
  done
)

echo "pki: wrote $DIR"
