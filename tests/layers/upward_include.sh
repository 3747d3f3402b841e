#!/bin/sh
# upward_include.sh CC BASE_DIRS CATALOGUE_DIRS FRONT_DIRS
#   Each *_DIRS is the ";"-separated include path of one layer's files.  For
#   each layer: the headers it may use compile; each header of a higher layer
#   fails with "No such file" naming it.  Exits 1 on the first surprise.
set -u
cc=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

flags() {   # ";"-list of directories -> -I flags
  printf '%s' "$1" | tr ';' '\n' | sed '/^$/d; s/^/-I/' | tr '\n' ' '
}

probe() {   # LAYER DIRS HEADER -> compiler status, output in $tmp/out
  printf '#include "%s"\nint gw_layer_probe;\n' "$3" > "$tmp/probe_$1.c"
  # shellcheck disable=SC2046
  (cd "$tmp" && "$cc" -std=c11 -D_GNU_SOURCE -fsyntax-only $(flags "$2") "probe_$1.c") \
    > "$tmp/out" 2>&1
}

may() {     # LAYER DIRS HEADER...: each compiles
  layer=$1 dirs=$2; shift 2
  for h in "$@"; do
    if probe "$layer" "$dirs" "$h"; then
      echo "ok: $layer may include $h"
    else
      echo "FAIL: $layer cannot include $h, which it may:"; cat "$tmp/out"; fail=1
    fi
  done
}

may_not() { # LAYER DIRS HEADER...: each fails because the header is not found
  layer=$1 dirs=$2; shift 2
  for h in "$@"; do
    if probe "$layer" "$dirs" "$h"; then
      echo "FAIL: $layer includes $h (a higher layer's header) and it compiles"; fail=1
    elif grep -q "$h: No such file" "$tmp/out"; then
      echo "ok: $layer including $h does not compile"
    else
      echo "FAIL: $layer including $h fails for another reason:"; cat "$tmp/out"; fail=1
    fi
  done
}

[ -n "$2" ] && [ -n "$3" ] && [ -n "$4" ] || { echo "FAIL: empty include path"; exit 1; }

# base: the hooks may not reach what the collectors read (the old observe.c).
may     base "$2" gw/observe.h metrics.h gw/config.h gw/adapter.h netspec.h
may_not base "$2" gw/app.h gw/audit.h cache.h gw/front.h gw/policy.h gw/config_load.h gw/jws.h

# catalogue: codecs yes, the upstream engine (pin limits) no.
may     catalogue "$3" acl.h registry.h template.h gw/jws.h gw/adapter.h netspec.h
may_not catalogue "$3" gw/upstream.h cache.h gw/app.h query_int.h gw/audit.h

# front: the configuration type yes, its loading (runtime) no.
may     front "$4" gw/config.h gw/tls.h http_int.h gw/audit.h gw/upstream.h
may_not front "$4" gw/config_load.h gw/app.h gw/worker.h gw/query.h gw/admin.h

exit $fail
