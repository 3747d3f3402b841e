#!/usr/bin/env bash
# run.sh HARNESS SEEDS SECONDS: fuzz for SECONDS over a scratch copy of the
# seed corpus (seeds stay as committed); fail on any crash, leak or timeout.
set -euo pipefail
harness=$1
seeds=$2
seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
[ -d "$seeds" ] && cp -r "$seeds"/. "$work/corpus"/
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# -rss_limit_mb bounds memory; -timeout flags inputs that hang a parser.
"$harness" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
  -artifact_prefix="$PWD/crash-$(basename "$harness")-" -print_final_stats=1 \
  "$work/corpus" 2>"$work/log" || { tail -60 "$work/log" >&2; exit 1; }
grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$work/log" || true
