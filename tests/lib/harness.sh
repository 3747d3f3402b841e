# harness.sh - what every shell suite shares (sourced by each suite's lib.sh,
# never run).
#
# A suite brings its own stacks up in a fresh mktemp dir with scripts/stack
# (stack_start) and they come down in the EXIT trap, with the tail of their
# logs when anything failed.  Checks print one line each; the suite ends
# with "N passed, N failed" and fails if any check did.  Waits are bounded
# polls, never a fixed sleep.
#
# Before sourcing, set SUITE (the temp dir's prefix) and, if the suite's
# stacks log elsewhere than gateway.log, SUITE_LOGS (file names, spaces
# between).  EXTRA_CLEANUP may name functions the trap runs first.
#
# Needs GW_SOURCE_DIR and GW_BUILD_DIR (set by ctest).
set -euo pipefail

: "${GW_SOURCE_DIR:?GW_SOURCE_DIR must point at the source tree}"
: "${GW_BUILD_DIR:?GW_BUILD_DIR must point at the build tree}"
: "${SUITE:?SUITE must name the suite before sourcing harness.sh}"
STACK_SCRIPT=$GW_SOURCE_DIR/scripts/stack
TMP=$(mktemp -d "${TMPDIR:-/tmp}/$SUITE-test.XXXXXX")
STACK_DIRS=()
PASSED=0
FAILED=0
EXTRA_CLEANUP=()

finish() {
  local rc=$? d f
  for f in "${EXTRA_CLEANUP[@]}"; do "$f" || true; done
  for d in "${STACK_DIRS[@]}"; do
    "$STACK_SCRIPT" down --dir "$d" >/dev/null 2>&1 || true
  done
  if ((FAILED)) || ((rc != 0 && rc != 77)); then
    for d in "${STACK_DIRS[@]}"; do
      for f in ${SUITE_LOGS:-gateway.log}; do
        [[ -f "$d/$f" ]] && { echo "---- $d/$f (tail)"; tail -n 30 "$d/$f"; }
      done
    done
  fi
  [[ "${KEEP_TMP:-0}" == 1 ]] || rm -rf -- "$TMP"
  ((rc == 77)) && exit 77       # ctest's "skipped" (a missing tool) stays a skip
  echo "$PASSED passed, $FAILED failed"
  ((FAILED == 0 && rc == 0)) || exit 1
}
trap finish EXIT

ok()   { PASSED=$((PASSED + 1)); echo "ok   - $1"; }
bad()  { FAILED=$((FAILED + 1)); echo "FAIL - $1"; [[ -n "${2:-}" ]] && printf '       %s\n' "$2"; return 0; }

# check WHAT ACTUAL EXPECTED: exact string equality.
check() {
  if [[ "$2" == "$3" ]]; then ok "$1"; else bad "$1" "expected [$3], got [$2]"; fi
}

# check_true WHAT COMMAND...: the command succeeds.
check_true() {
  local what=$1; shift
  if "$@"; then ok "$what"; else bad "$what" "command failed: $*"; fi
}

# check_false WHAT COMMAND...: the command fails.
check_false() {
  local what=$1; shift
  if "$@"; then bad "$what" "command succeeded: $*"; else ok "$what"; fi
}

# quiet COMMAND...: runs it without output.
quiet() { "$@" >/dev/null 2>&1; }

# stack_start DIR [--set k=v ...]: brings a stack up (taken down at exit);
# sets S to its stack.json.
stack_start() {
  local dir=$1; shift
  STACK_DIRS+=("$dir")
  # GW_CRYPTO_PROFILE=gm|dual runs a suite in that profile (docs/crypto.md)
  [[ -n "${GW_CRYPTO_PROFILE:-}" ]] && set -- "$@" --set "crypto.profile=$GW_CRYPTO_PROFILE"
  "$STACK_SCRIPT" up --dir "$dir" --build "$GW_BUILD_DIR" "$@" >/dev/null
  S=$dir/stack.json
}
