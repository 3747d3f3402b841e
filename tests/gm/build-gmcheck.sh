#!/bin/sh
# build-gmcheck.sh OUT-BINARY — builds tests/gm/gmcheck (Go) offline against
# Debian's Go packages: GOPATH mode (GO111MODULE=off) over /usr/share/gocode,
# where golang-github-tjfoc-gmsm-dev and golang-golang-x-mod-dev put their
# sources (src/github.com/tjfoc/gmsm, src/golang.org/x/mod); no module
# proxy, no network (GOPROXY=off).  The build cache lives beside OUT.
# Exit 0 built (or already up to date), 1 failed (go's output on stderr).
set -eu
out=${1:?usage: build-gmcheck.sh OUT-BINARY}
dir=$(cd "$(dirname "$0")" && pwd)/gmcheck
src=$dir/main.go
command -v go >/dev/null 2>&1 || { echo "build-gmcheck: no go (scripts/install-deps installs golang-go)" >&2; exit 1; }
for d in github.com/tjfoc/gmsm/sm2 golang.org/x/mod/sumdb/note github.com/russellhaering/goxmldsig \
         github.com/beevik/etree; do
  [ -d "/usr/share/gocode/src/$d" ] || { echo "build-gmcheck: /usr/share/gocode/src/$d missing (scripts/install-deps)" >&2; exit 1; }
done
if [ -x "$out" ] && [ "$out" -nt "$src" ] && [ "$out" -nt "$dir/xmldsig.go" ]; then exit 0; fi
mkdir -p "$(dirname "$out")/gocache"
GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off GOFLAGS= \
GOCACHE=$(cd "$(dirname "$out")" && pwd)/gocache \
  go build -o "$out" "$src" "$dir/xmldsig.go"
