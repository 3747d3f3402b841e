#!/usr/bin/env bash
# test_pki.sh REPO_ROOT — checks certs/gen-pki.sh the way a user would.
#
# Generates a PKI into a fresh temp dir and asserts: layout (every file, and
# nothing else), chains and purposes, that certificates do not verify against
# the wrong CA, expired and unknown-CA negatives, key types, cert/key pairs,
# SANs, validity limits, CA/leaf extensions, modes, secrets format, a CMS
# round trip through the auditors' sealing cert, re-generation into the same
# dir, and that .key files are git-ignored.  Prints every failure, exits 1 if
# any.
# "A && ok || fail" is intended (ok always succeeds); $(echo $x) flattens lines.
# shellcheck disable=SC2015,SC2116,SC2086
set -euo pipefail

REPO=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
GEN=$REPO/certs/gen-pki.sh
[[ -f $GEN ]] || { echo "FAIL: $GEN not found" >&2; exit 1; }
command -v openssl >/dev/null || { echo "FAIL: openssl not installed (apt-get install openssl)" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/test-pki.XXXXXXXX")
trap 'rm -rf -- "$T"' EXIT
D=$T/pki

FAILS=0
CHECKS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
ok()   { CHECKS=$((CHECKS + 1)); }
check() { # check "message" cmd...  — passes if cmd succeeds
  local msg=$1; shift
  if "$@" >/dev/null 2>&1; then ok; else fail "$msg"; fi
}

AGENCIES=(chsi mps si credit cscse qual talent fund tax)
CLIENTS=(engine auditor admin stranger peer)

# ---------------------------------------------------------------- generate
start=$(date +%s.%N)
if ! out=$(bash "$GEN" "$D" 2>&1); then
  echo "FAIL: gen-pki.sh exited non-zero:" >&2; echo "$out" >&2; exit 1
fi
end=$(date +%s.%N)
secs=$(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.2f", b-a}')
[[ $out == "pki: wrote $D" ]] && ok || fail "gen-pki.sh should print exactly 'pki: wrote $D', printed: $out"
# Speed is a figure, not an assertion: printed for the log, never failed on.
echo "gen-pki.sh took ${secs}s"

# ---------------------------------------------------------------- layout
EXPECTED=(
  gateway-ca.pem client-ca.pem agency-ca.pem
  gateway/server.pem gateway/server.key
  gateway/agency-client.pem gateway/agency-client.key
  gateway/attest.key gateway/attest.pub.pem
  gateway/checkpoint.key gateway/checkpoint.pub.pem
  gateway/subject-ref.secret
  auditor/seal.pem auditor/seal.key
  signing/chsi.pem signing/chsi.key
  signing/cscse.key signing/cscse.pub.pem
  signing/rogue.pem signing/rogue.key
  signing/rogue-jws.key signing/rogue-jws.pub.pem
  secrets/si-client-id secrets/si-client-secret secrets/qual-api-key secrets/talent-api-key
  secrets/fund-app-id secrets/fund-app-secret secrets/tax-username secrets/tax-password
  negative/expired-client.pem negative/expired-client.key
  negative/expired-server.pem negative/expired-server.key
  negative/unknown-ca.pem
  negative/unknown-client.pem negative/unknown-client.key
  negative/unknown-server.pem negative/unknown-server.key
  private/gateway-ca.key private/client-ca.key private/agency-ca.key private/unknown-ca.key
  # SM2 (docs/crypto.md)
  sm2-ca.pem negative/unknown-sm2-ca.pem private/sm2-ca.key private/unknown-sm2-ca.key
  gateway/attest-sm2.key gateway/attest-sm2.pub.pem gateway/attest-sm2.pem
  gateway/checkpoint-sm2.key gateway/checkpoint-sm2.pub.pem
  negative/sm2-server.key negative/sm2-server.pem
  auditor/seal-sm2.key auditor/seal-sm2.pem
  signing/chsi-sm2.key signing/chsi-sm2.pem signing/cscse-sm2.key signing/cscse-sm2.pub.pem
  signing/rogue-sm2.key signing/rogue-sm2.pem signing/rogue-jws-sm2.key signing/rogue-jws-sm2.pub.pem
)
for c in "${CLIENTS[@]}";  do EXPECTED+=("clients/$c.pem" "clients/$c.key"); done
for a in "${AGENCIES[@]}"; do EXPECTED+=("agencies/$a.pem" "agencies/$a.key"); done

for f in "${EXPECTED[@]}"; do
  [[ -s $D/$f ]] && ok || fail "missing or empty: $f"
done
extra=$(comm -13 <(printf '%s\n' "${EXPECTED[@]}" | sort) <(cd "$D" && find . -type f -printf '%P\n' | sort))
[[ -z $extra ]] && ok || fail "unexpected files left in DIR (intermediates?): $(echo $extra)"

# ---------------------------------------------------------------- helpers
# verify CA CERT [extra openssl verify args] -> output in $VOUT, status returned
verify() {
  local ca=$1 cert=$2; shift 2
  VOUT=$(openssl verify -x509_strict -CAfile "$ca" "$@" "$cert" 2>&1)
}
must_verify() { # CA CERT PURPOSE [more args]
  local ca=$1 cert=$2 purpose=$3; shift 3
  if verify "$D/$ca" "$D/$cert" -purpose "$purpose" "$@"; then ok
  else fail "$cert should verify against $ca with -purpose $purpose $*: $VOUT"; fi
}
must_not_verify() { # CA CERT PURPOSE
  local ca=$1 cert=$2 purpose=$3
  if verify "$D/$ca" "$D/$cert" -purpose "$purpose"; then
    fail "$cert must NOT verify against $ca (purpose $purpose) but did"
  else ok; fi
}
must_fail_expired() { # CA CERT PURPOSE
  local ca=$1 cert=$2 purpose=$3
  if verify "$D/$ca" "$D/$cert" -purpose "$purpose"; then
    fail "$cert is supposed to be expired but verified against $ca"
  elif grep -qi 'expired' <<<"$VOUT"; then ok
  else fail "$cert should fail with an 'expired' error, got: $VOUT"; fi
  # ...and expiry must be its only defect.
  if verify "$D/$ca" "$D/$cert" -purpose "$purpose" -no_check_time; then ok
  else fail "$cert should verify against $ca when time is not checked: $VOUT"; fi
}
cert_pub() { openssl x509 -in "$1" -noout -pubkey; }
key_pub()  { openssl pkey -in "$1" -pubout; }
matches() { # CERT_OR_PUB KEY
  local a b
  if [[ $1 == *.pub.pem ]]; then a=$(openssl pkey -pubin -in "$D/$1" -pubout 2>&1)
  else a=$(cert_pub "$D/$1" 2>&1); fi
  b=$(key_pub "$D/$2" 2>&1)
  [[ -n $a && $a == "$b" ]] && ok || fail "$1 does not match the public key of $2"
}
keydesc() { openssl pkey -in "$D/$1" -noout -text 2>/dev/null | sed -n '1,3p'; }
key_is_p256() { local t; t=$(openssl pkey -in "$D/$1" -noout -text 2>/dev/null)
  grep -q 'NIST CURVE: P-256' <<<"$t" && ok || fail "$1 should be an EC P-256 key: $(keydesc "$1" | head -1)"; }
key_is_rsa() { local t; t=$(openssl pkey -in "$D/$1" -noout -text 2>/dev/null | head -1)
  grep -q "Private-Key: ($2 bit" <<<"$t" && openssl rsa -in "$D/$1" -noout -check >/dev/null 2>&1 \
    && ok || fail "$1 should be an RSA $2 key: $t"; }
key_is_ed25519() { local t; t=$(openssl pkey -in "$D/$1" -noout -text 2>/dev/null | head -1)
  grep -q 'ED25519 Private-Key' <<<"$t" && ok || fail "$1 should be an Ed25519 key: $t"; }
ext() { openssl x509 -in "$D/$1" -noout -ext "$2" 2>/dev/null; }
subject() { openssl x509 -in "$D/$1" -noout -subject -nameopt RFC2253 2>/dev/null; }
has_san_localhost() {
  local s; s=$(ext "$1" subjectAltName)
  grep -q 'IP Address:127.0.0.1' <<<"$s" && grep -q 'DNS:localhost' <<<"$s" \
    && ok || fail "$1 SAN must contain IP:127.0.0.1 and DNS:localhost, has: $(echo $s)"
}
subject_has() { # CERT "CN=x"
  local s; s=$(subject "$1")
  [[ ,${s#subject=}, == *,$2,* ]] && ok || fail "$1 subject should contain $2, is: $s"
}
keyusage_is() { # CERT "Digital Signature"
  local s; s=$(ext "$1" keyUsage)
  grep -q 'critical' <<<"$s" && grep -qx "  *$2" <<<"$s" && ok \
    || fail "$1 keyUsage should be critical '$2', is: $(echo $s)"
}

# ---------------------------------------------------------------- CAs
ALLCAS=(gateway-ca.pem client-ca.pem agency-ca.pem negative/unknown-ca.pem)
for ca in "${ALLCAS[@]}"; do
  bc=$(ext "$ca" basicConstraints); ku=$(ext "$ca" keyUsage)
  grep -q critical <<<"$bc" && grep -q 'CA:TRUE' <<<"$bc" && ok || fail "$ca needs basicConstraints critical CA:TRUE, has: $(echo $bc)"
  grep -q critical <<<"$ku" && grep -qx ' *Certificate Sign, CRL Sign' <<<"$ku" && ok || fail "$ca needs keyUsage critical keyCertSign,cRLSign, has: $(echo $ku)"
  [[ -n $(ext "$ca" subjectKeyIdentifier) ]] && ok || fail "$ca has no subjectKeyIdentifier"
  check "$ca must be self-signed and valid" openssl verify -x509_strict -CAfile "$D/$ca" "$D/$ca"
  check "$ca must be valid for more than 9 years" openssl x509 -in "$D/$ca" -noout -checkend $((9 * 365 * 86400))
  openssl x509 -in "$D/$ca" -noout -checkend $((3653 * 86400)) >/dev/null 2>&1 \
    && fail "$ca is valid for more than 10 years" || ok
  kf=private/$(basename "$ca" .pem).key
  matches "$ca" "$kf"; key_is_p256 "$kf"
done
# The four CAs are distinct keys.
n=$(for ca in "${ALLCAS[@]}"; do cert_pub "$D/$ca" | tr -d '\n'; echo; done | sort -u | wc -l)
[[ $n -eq 4 ]] && ok || fail "the four CAs must have four distinct keys"

# ---------------------------------------------------------------- leaves
# cert key own-CA purpose
LEAVES=(
  "gateway/server.pem gateway/server.key gateway-ca.pem sslserver"
  "gateway/agency-client.pem gateway/agency-client.key agency-ca.pem sslclient"
)
for c in "${CLIENTS[@]}";  do LEAVES+=("clients/$c.pem clients/$c.key client-ca.pem sslclient"); done
for a in "${AGENCIES[@]}"; do LEAVES+=("agencies/$a.pem agencies/$a.key agency-ca.pem sslserver"); done
LEAVES+=(
  "auditor/seal.pem auditor/seal.key client-ca.pem any"
  "signing/chsi.pem signing/chsi.key agency-ca.pem any"
  "signing/rogue.pem signing/rogue.key negative/unknown-ca.pem any"
  "negative/unknown-client.pem negative/unknown-client.key negative/unknown-ca.pem sslclient"
  "negative/unknown-server.pem negative/unknown-server.key negative/unknown-ca.pem sslserver"
)
SERIALS=()
for l in "${LEAVES[@]}"; do
  read -r cert key ca purpose <<<"$l"
  must_verify "$ca" "$cert" "$purpose"
  for other in "${ALLCAS[@]}"; do
    [[ $other == "$ca" ]] || must_not_verify "$other" "$cert" any
  done
  matches "$cert" "$key"
  bc=$(ext "$cert" basicConstraints)
  grep -q 'CA:FALSE' <<<"$bc" && ok || fail "$cert must have basicConstraints CA:FALSE, has: $(echo $bc)"
  [[ -n $(ext "$cert" subjectKeyIdentifier) ]] && ok || fail "$cert has no subjectKeyIdentifier"
  aki=$(ext "$cert" authorityKeyIdentifier | tail -n +2 | tr -d ' ')
  cski=$(ext "$ca" subjectKeyIdentifier | tail -n +2 | tr -d ' ')
  [[ -n $aki && $aki == *"$cski"* ]] && ok || fail "$cert authorityKeyIdentifier ($aki) must be its CA's key id ($cski)"
  check "$cert must be currently valid" openssl x509 -in "$D/$cert" -noout -checkend 86400
  openssl x509 -in "$D/$cert" -noout -checkend $((826 * 86400)) >/dev/null 2>&1 \
    && fail "$cert is valid for more than 825 days" || ok
  SERIALS+=("$(openssl x509 -in "$D/$cert" -noout -serial)")
done
for e in "negative/expired-client.pem negative/expired-client.key client-ca.pem" \
         "negative/expired-server.pem negative/expired-server.key agency-ca.pem"; do
  read -r cert key ca <<<"$e"
  matches "$cert" "$key"
  SERIALS+=("$(openssl x509 -in "$D/$cert" -noout -serial)")
done
dups=$(printf '%s\n' "${SERIALS[@]}" | sort | uniq -d)
[[ -z $dups ]] && ok || fail "duplicate certificate serials: $dups"
# Serials are random (at least 64 bits), not 1, 2, 3...
short=$(printf '%s\n' "${SERIALS[@]}" | awk -F= 'length($2) < 16')
[[ -z $short ]] && ok || fail "serials are not random 64+ bit numbers: $(echo $short)"

# Purposes: server certs are not client certs and vice versa.
must_not_verify gateway-ca.pem gateway/server.pem sslclient
must_not_verify client-ca.pem clients/engine.pem sslserver
must_not_verify agency-ca.pem agencies/chsi.pem sslclient
must_not_verify agency-ca.pem gateway/agency-client.pem sslserver

# Host name / IP checks as a TLS client would do them.
SERVERS=(gateway/server.pem negative/unknown-server.pem negative/expired-server.pem)
for a in "${AGENCIES[@]}"; do SERVERS+=("agencies/$a.pem"); done
for s in "${SERVERS[@]}"; do has_san_localhost "$s"; done
must_verify gateway-ca.pem gateway/server.pem sslserver -verify_ip 127.0.0.1
must_verify gateway-ca.pem gateway/server.pem sslserver -verify_ip ::1
must_verify gateway-ca.pem gateway/server.pem sslserver -verify_hostname localhost
for a in "${AGENCIES[@]}"; do must_verify agency-ca.pem "agencies/$a.pem" sslserver -verify_ip 127.0.0.1; done

# Names.
subject_has gateway/server.pem CN=gateway
subject_has gateway/agency-client.pem CN=gateway
for c in "${CLIENTS[@]}";  do subject_has "clients/$c.pem" "CN=$c"; subject_has "clients/$c.pem" "O=Test Clients"; done
for a in "${AGENCIES[@]}"; do subject_has "agencies/$a.pem" "CN=$a.mock"; done
subject_has auditor/seal.pem CN=auditor-seal
subject_has signing/chsi.pem "CN=chsi signing"
subject_has negative/unknown-client.pem CN=engine
subject_has negative/expired-client.pem CN=engine

# Key usages of the special-purpose certificates.
keyusage_is auditor/seal.pem 'Key Encipherment'
keyusage_is signing/chsi.pem 'Digital Signature'
keyusage_is signing/rogue.pem 'Digital Signature'

# ---------------------------------------------------------------- negatives
must_fail_expired client-ca.pem negative/expired-client.pem sslclient
must_fail_expired agency-ca.pem negative/expired-server.pem sslserver
for ca in gateway-ca.pem client-ca.pem agency-ca.pem; do
  for n in negative/unknown-client.pem negative/unknown-server.pem signing/rogue.pem; do
    must_not_verify "$ca" "$n" any
  done
done

# ---------------------------------------------------------------- key types
key_is_p256 gateway/attest.key
key_is_p256 signing/cscse.key
key_is_p256 signing/rogue-jws.key
key_is_ed25519 gateway/checkpoint.key
key_is_rsa auditor/seal.key 3072
key_is_p256 signing/chsi.key
key_is_p256 signing/rogue.key
for k in gateway/server.key gateway/agency-client.key; do key_is_p256 "$k"; done
for c in "${CLIENTS[@]}";  do key_is_p256 "clients/$c.key"; done
for a in "${AGENCIES[@]}"; do key_is_p256 "agencies/$a.key"; done
matches gateway/attest.pub.pem gateway/attest.key
matches gateway/checkpoint.pub.pem gateway/checkpoint.key
matches signing/cscse.pub.pem signing/cscse.key
matches signing/rogue-jws.pub.pem signing/rogue-jws.key
[[ $(openssl pkey -pubin -in "$D/signing/cscse.pub.pem" -pubout) != "$(openssl pkey -pubin -in "$D/signing/rogue-jws.pub.pem" -pubout)" ]] \
  && ok || fail "rogue-jws key must differ from cscse's"
[[ $(cert_pub "$D/signing/chsi.pem") != "$(cert_pub "$D/signing/rogue.pem")" ]] \
  && ok || fail "rogue signing key must differ from chsi's"

# Every private key: unencrypted PKCS#8 PEM, mode 0600.
while IFS= read -r k; do
  rel=${k#"$D"/}
  [[ $(head -1 "$k") == '-----BEGIN PRIVATE KEY-----' ]] && ok || fail "$rel is not an unencrypted PKCS#8 PEM key: $(head -1 "$k")"
  [[ $(stat -c %a "$k") == 600 ]] && ok || fail "$rel has mode $(stat -c %a "$k"), want 600"
done < <(find "$D" -name '*.key')

# ---------------------------------------------------------------- secrets
for s in gateway/subject-ref.secret secrets/si-client-secret secrets/qual-api-key secrets/talent-api-key \
         secrets/fund-app-secret secrets/tax-password; do
  v=$(cat "$D/$s")
  [[ $v =~ ^[0-9a-f]{64}$ && $(wc -c <"$D/$s") -eq 64 ]] && ok || fail "$s must be 64 lowercase hex chars without newline"
  [[ $(stat -c %a "$D/$s") == 600 ]] && ok || fail "$s has mode $(stat -c %a "$D/$s"), want 600"
done
[[ $(cat "$D/secrets/si-client-id") == gateway && $(wc -c <"$D/secrets/si-client-id") -eq 7 ]] \
  && ok || fail "secrets/si-client-id must be 'gateway' with no newline"
[[ $(cat "$D/secrets/fund-app-id") == gw-szrc-01 && $(cat "$D/secrets/tax-username") == gw-szrc ]] \
  && ok || fail "secrets/fund-app-id must be 'gw-szrc-01' and secrets/tax-username 'gw-szrc'"
sv=$(cat "$D/gateway/subject-ref.secret" "$D"/secrets/{si-client-secret,qual-api-key,talent-api-key,fund-app-secret,tax-password} | fold -w64 | sort -u | wc -l)
[[ $sv -eq 6 ]] && ok || fail "random secrets are not distinct"

# ---------------------------------------------------------------- CMS round trip
printf 'subject 110101199003074512 sealed for auditors\n' >"$T/plain.txt"
for pad in default oaep; do
  kopt=(); [[ $pad == oaep ]] && kopt=(-keyopt rsa_padding_mode:oaep)
  rm -f "$T/sealed.der" "$T/opened.txt"
  if openssl cms -encrypt -binary -aes-256-cbc -in "$T/plain.txt" -outform DER -out "$T/sealed.der" \
       -recip "$D/auditor/seal.pem" "${kopt[@]}" >"$T/cms.log" 2>&1 \
     && openssl cms -decrypt -binary -inform DER -in "$T/sealed.der" -inkey "$D/auditor/seal.key" \
       -recip "$D/auditor/seal.pem" -out "$T/opened.txt" >>"$T/cms.log" 2>&1 \
     && cmp -s "$T/plain.txt" "$T/opened.txt"; then ok
  else fail "CMS ($pad) encrypt to auditor/seal.pem + decrypt with seal.key did not round-trip: $(cat "$T/cms.log")"; fi
done
# ...and a different key cannot open it.
if openssl cms -decrypt -binary -inform DER -in "$T/sealed.der" -inkey "$D/signing/chsi.key" -out "$T/x" >/dev/null 2>&1 \
   && cmp -s "$T/plain.txt" "$T/x"; then fail "CMS sealed data opened with the wrong key"; else ok; fi

# ---------------------------------------------------------------- regenerate
old_engine=$(cert_pub "$D/clients/engine.pem")
old_secret=$(cat "$D/gateway/subject-ref.secret")
printf '{}' >"$D/stack.json"              # a non-PKI file the stack keeps in DIR
chmod 644 "$D/clients/engine.key"         # a loosened key mode must be repaired
if out=$(bash "$GEN" "$D" 2>&1); then ok; else fail "second run into the same DIR failed: $out"; fi
[[ $(cert_pub "$D/clients/engine.pem") != "$old_engine" ]] && ok || fail "second run did not generate fresh keys"
[[ $(cat "$D/gateway/subject-ref.secret") != "$old_secret" ]] && ok || fail "second run did not generate fresh secrets"
[[ -f $D/stack.json ]] && ok || fail "second run deleted a non-PKI file (stack.json) from DIR"
[[ $(stat -c %a "$D/clients/engine.key") == 600 ]] && ok || fail "second run left clients/engine.key at mode $(stat -c %a "$D/clients/engine.key")"
must_verify client-ca.pem clients/engine.pem sslclient
must_verify gateway-ca.pem gateway/server.pem sslserver
matches clients/engine.pem clients/engine.key
rm -f "$D/stack.json"
extra=$(comm -13 <(printf '%s\n' "${EXPECTED[@]}" | sort) <(cd "$D" && find . -type f -printf '%P\n' | sort))
[[ -z $extra ]] && ok || fail "unexpected files after the second run: $(echo $extra)"
# relative DIR works too
if out=$(cd "$T" && bash "$GEN" rel 2>&1) && [[ -s $T/rel/clients/engine.pem ]]; then ok; else fail "relative DIR failed: $out"; fi
# usage error without an argument
if bash "$GEN" >/dev/null 2>&1; then fail "gen-pki.sh without DIR should fail with usage"; else ok; fi

# ---------------------------------------------------------------- SM2
# Chains made and checked with the GM/T 0009 ID: they verify with it, and
# NOT with OpenSSL 3.0's default empty ID (the trap docs/crypto.md names).
key_is_sm2() { local t; t=$(openssl pkey -in "$D/$1" -noout -text 2>/dev/null)
  grep -q 'ASN1 OID: SM2' <<<"$t" && ok || fail "$1 should be an SM2 key: $(keydesc "$1" | head -3)"; }
sm2_verify() { VOUT=$(openssl verify -x509_strict -CAfile "$D/$1" -vfyopt distid:1234567812345678 \
                 -purpose any "$D/$2" 2>&1); }
for k in gateway/attest-sm2.key gateway/checkpoint-sm2.key auditor/seal-sm2.key \
         signing/chsi-sm2.key signing/cscse-sm2.key signing/rogue-sm2.key private/sm2-ca.key; do
  key_is_sm2 "$k"
done
for c in gateway/attest-sm2.pem auditor/seal-sm2.pem signing/chsi-sm2.pem negative/sm2-server.pem; do
  sm2_verify sm2-ca.pem "$c" && ok || fail "$c should verify against sm2-ca.pem with the SM2 ID: $VOUT"
  if VOUT=$(openssl verify -CAfile "$D/sm2-ca.pem" -purpose any "$D/$c" 2>&1); then
    fail "$c verified with the empty ID: not signed with the GM/T 0009 ID"
  else ok; fi
done
if sm2_verify sm2-ca.pem signing/rogue-sm2.pem; then fail "rogue-sm2.pem verified against sm2-ca.pem"; else ok; fi
sm2_verify negative/unknown-sm2-ca.pem signing/rogue-sm2.pem && ok || fail "rogue-sm2.pem should verify against its own CA: $VOUT"
matches gateway/attest-sm2.pem gateway/attest-sm2.key
matches gateway/attest-sm2.pub.pem gateway/attest-sm2.key
matches auditor/seal-sm2.pem auditor/seal-sm2.key
matches signing/chsi-sm2.pem signing/chsi-sm2.key
matches signing/cscse-sm2.pub.pem signing/cscse-sm2.key
keyusage_is auditor/seal-sm2.pem "Key Encipherment"
keyusage_is signing/chsi-sm2.pem "Digital Signature"
subject_has signing/rogue-sm2.pem "CN=chsi signing"

# ---------------------------------------------------------------- git ignore
if command -v git >/dev/null && git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
  for p in certs/some.key certs/private/gateway-ca.key pki/gateway/server.key; do
    git -C "$REPO" check-ignore -q --no-index "$p" && ok || fail "git would not ignore $p (.gitignore needs *.key)"
  done
  tracked=$(git -C "$REPO" ls-files -- '*.key')
  [[ -z $tracked ]] && ok || fail "private keys are tracked in git: $tracked"
else
  echo "SKIP: git or repository not available; .gitignore check skipped" >&2
fi

# ---------------------------------------------------------------- result
if (( FAILS )); then
  echo "pki.generate: $FAILS of $((CHECKS + FAILS)) checks FAILED" >&2
  exit 1
fi
echo "pki.generate: all $CHECKS checks passed (generation ${secs}s)"
