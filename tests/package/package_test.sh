#!/usr/bin/env bash
# The Debian packages (scripts/package), as an operator installs them:
#  - scripts/package builds gatewayd and gatewayd-mock-agencies .debs from
#    this build; lintian finds no error in either
#  - a clean Debian 12 root (debootstrap --variant=minbase, with only the
#    libraries the packages depend on; made once and cached as a tarball
#    under the build folder, unpacked fresh for every run) takes them with
#    dpkg -i: the system user, /var/lib/gatewayd (audit 0700), the unit, the
#    conffiles, the adapters and schemas are where docs/deployment.md says
#  - there, with keys and certificates laid out as docs/deployment.md says,
#    `gatewayd --check-config` accepts the packaged default configuration,
#    and `gwctl --help` and `mock-agencies --help` run
# Needs root (chroot), debootstrap, lintian, dpkg-dev and the Debian
# mirror of this machine's apt sources (first run only).
set -euo pipefail
SUITE=package
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib/harness.sh"
SRC=$GW_SOURCE_DIR
CACHE=${GW_PACKAGE_CACHE:-$GW_BUILD_DIR/package-cache}
T0=$SECONDS
for t in debootstrap lintian dpkg-deb dpkg-shlibdeps chroot; do
  command -v "$t" >/dev/null || { bad "$t is installed (scripts/install-deps)"; exit 1; }
done
[[ $(id -u) == 0 ]] || { bad "runs as root (chroot into the test root)"; exit 1; }

# -- build and lint
if "$SRC/scripts/package" --build "$GW_BUILD_DIR" --out "$TMP/pkg" >"$TMP/package.out" 2>&1; then
  ok "scripts/package built $(wc -l <"$TMP/package.out") packages ($((SECONDS - T0)) s)"
else
  bad "scripts/package" "$(tail -n 5 "$TMP/package.out")"; exit 1
fi
GW_DEB=$(grep '/gatewayd_' "$TMP/package.out") MOCK_DEB=$(grep '/gatewayd-mock-agencies_' "$TMP/package.out")
if lintian --fail-on error "$GW_DEB" "$MOCK_DEB" >"$TMP/lintian.out" 2>&1; then
  ok "lintian: no error ($(grep -c '^W:' "$TMP/lintian.out" || true) warnings)"
else
  bad "lintian: no error" "$(grep '^E:' "$TMP/lintian.out" | head -5)"
fi
cat "$TMP/lintian.out" | grep -E '^[EW]:' || true
check "the gatewayd package holds the unit, the binaries and the conffiles" \
  "$(dpkg-deb -c "$GW_DEB" | awk '{print $6}' | grep -cE '^\./(lib/systemd/system/gatewayd.service|usr/sbin/gatewayd|usr/bin/gwctl|etc/gatewayd/gatewayd.json|etc/gatewayd/acl.json|usr/share/gatewayd/adapters/chsi.json|usr/share/gatewayd/schemas/facts/education.degrees.schema.json|usr/share/doc/gatewayd/operations.md)$')" 8
check "the mock agencies are a package of their own" \
  "$(dpkg-deb -c "$GW_DEB" | grep -c mock-agencies || true)" 0

# -- a clean Debian 12 root, cached
mirror() {   # the Debian mirror of this machine's apt sources
  local u
  u=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' \
      | grep -E '/debian/?$' | head -n 1)
  [[ -n $u ]] || u=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' \
      | grep -E '/debian/?$' | head -n 1)
  echo "$u"
}
TAR=$CACHE/bookworm-minbase.tar
deps=$( { dpkg-deb -f "$GW_DEB" Depends; echo ,; dpkg-deb -f "$MOCK_DEB" Depends; } \
        | tr ',' '\n' | sed -E 's/\(.*\)//; s/^ +//; s/ +$//' | grep -v '^$' | sort -u | paste -sd, )
if [[ ! -s $TAR || "$(cat "$TAR.deps" 2>/dev/null)" != "$deps" ]]; then
  M=$(mirror)
  [[ -n $M ]] || { bad "a Debian mirror in /etc/apt/sources.list(.d)"; exit 1; }
  mkdir -p "$CACHE"
  rm -rf -- "$CACHE/root.tmp"
  t=$SECONDS
  if debootstrap --variant=minbase --include="$deps" bookworm "$CACHE/root.tmp" "$M" \
       >"$TMP/debootstrap.log" 2>&1; then
    tar -C "$CACHE/root.tmp" -cf "$TAR.tmp" . && mv -f "$TAR.tmp" "$TAR" && echo "$deps" >"$TAR.deps"
    ok "debootstrap --variant=minbase bookworm with the packages' dependencies ($((SECONDS - t)) s, cached)"
  else
    bad "debootstrap bookworm" "$(tail -n 5 "$TMP/debootstrap.log")"; rm -rf -- "$CACHE/root.tmp"; exit 1
  fi
  rm -rf -- "$CACHE/root.tmp"
else
  ok "the cached Debian 12 root ($TAR)"
fi
ROOT=$TMP/root
mkdir -p "$ROOT"
tar -C "$ROOT" -xf "$TAR"
check "the root is Debian 12" "$(. "$ROOT/etc/os-release"; echo "$VERSION_ID")" 12
check_false "the root has no gatewayd before the install" test -e "$ROOT/usr/sbin/gatewayd"

# -- install
cp "$GW_DEB" "$MOCK_DEB" "$ROOT/tmp/"
if chroot "$ROOT" dpkg -i "/tmp/$(basename "$GW_DEB")" "/tmp/$(basename "$MOCK_DEB")" >"$TMP/dpkg.out" 2>&1; then
  ok "dpkg -i installs both packages in the clean root"
else
  bad "dpkg -i" "$(tail -n 8 "$TMP/dpkg.out")"
fi
check "dpkg knows gatewayd as installed" \
  "$(chroot "$ROOT" dpkg-query -W -f='${Status}' gatewayd 2>/dev/null)" "install ok installed"
check_true "the system user gatewayd exists" chroot "$ROOT" getent passwd gatewayd
check "/var/lib/gatewayd/audit is the daemon's, mode 0700" \
  "$(chroot "$ROOT" stat -c '%U %a' /var/lib/gatewayd/audit)" "gatewayd 700"
check_true "the unit runs /usr/sbin/gatewayd" grep -q '^ExecStart=/usr/sbin/gatewayd --config /etc/gatewayd/gatewayd.json$' "$ROOT/lib/systemd/system/gatewayd.service"
check_true "the unit keeps its hardening" grep -q '^ProtectSystem=strict' "$ROOT/lib/systemd/system/gatewayd.service"
check "the config files are conffiles" "$(chroot "$ROOT" dpkg-query -W -f='${Conffiles}' gatewayd | awk 'NF{print $1}' | paste -sd' ')" \
  "/etc/gatewayd/gatewayd.json /etc/gatewayd/acl.json"

# -- keys and certificates as docs/deployment.md lays them out, then the checks
PKI=$TMP/pki
bash "$SRC/certs/gen-pki.sh" "$PKI" >/dev/null
E=$ROOT/etc/gatewayd
cp "$PKI/gateway/server.pem" "$PKI/gateway/server.key" "$E/tls/"
cp "$PKI/client-ca.pem" "$E/tls/client-ca.pem"
cp "$PKI/gateway/attest.key" "$PKI/gateway/subject-ref.secret" "$PKI/gateway/checkpoint.key" "$E/keys/"
cp "$PKI/auditor/seal.pem" "$E/keys/auditor-seal.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null \
  | openssl pkey -pubout -out "$E/keys/attest-previous.pub.pem" 2>/dev/null
out=$(chroot "$ROOT" /usr/sbin/gatewayd --config /etc/gatewayd/gatewayd.json --check-config 2>&1) \
  && [[ "$out" == "/etc/gatewayd/gatewayd.json: ok" ]] \
  && ok "gatewayd --check-config in the root: $out" \
  || bad "gatewayd --check-config accepts the packaged configuration" "$out"
out=$(chroot "$ROOT" /usr/bin/gwctl --help 2>&1) && grep -q 'usage' <<<"$out" \
  && ok "gwctl --help runs in the root" || bad "gwctl --help" "$(head -n 3 <<<"$out")"
out=$(chroot "$ROOT" /usr/bin/mock-agencies --help 2>&1 || true)
grep -q 'usage: mock-agencies' <<<"$out" && ok "mock-agencies --help runs in the root" \
  || bad "mock-agencies --help" "$(head -n 3 <<<"$out")"
out=$(chroot "$ROOT" /usr/sbin/gatewayd --config /etc/gatewayd/nope.json --check-config 2>&1) \
  && bad "a missing config is refused" || ok "a missing config is refused: $out"
echo "note - package test took $((SECONDS - T0)) s"
