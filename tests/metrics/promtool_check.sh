#!/bin/sh
# Independent check of the gateway's Prometheus exposition with Prometheus'
# own tool: nothing of ours parses the text here.
#
#   promtool_check.sh PATH/TO/metrics_exposition PATH/TO/docs/metrics.md
#
#  1. `promtool check metrics` parses each exposition (gateway metric set,
#     edge cases) and lints it; it must exit 0 and print nothing: no parse
#     error, and no naming-convention warning either.
#  2. awk checks every histogram series: buckets never decrease, le="+Inf"
#     comes last and equals _count.
#  3. The gateway set's "# TYPE" lines (plus the registry's own
#     gw_metrics_series_dropped_total, shown by the edge set) are exactly
#     the metric table of docs/metrics.md, names and types.
# Exit 0 pass, 1 fail, 77 skipped (no promtool: apt-get install prometheus).
set -eu

tool=${1:?usage: promtool_check.sh PATH/TO/metrics_exposition PATH/TO/metrics.md}
doc=${2:?usage: promtool_check.sh PATH/TO/metrics_exposition PATH/TO/metrics.md}
command -v promtool >/dev/null 2>&1 || {
  echo "skip: no promtool (Debian package prometheus)"; exit 77; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

for set in gateway edge; do
  "$tool" "$set" >"$dir/$set.prom" || fail "metrics_exposition $set exited $?"
  [ -s "$dir/$set.prom" ] || fail "$set: empty exposition"

  if ! promtool check metrics <"$dir/$set.prom" >"$dir/$set.lint" 2>&1; then
    cat "$dir/$set.lint" >&2
    fail "$set: promtool check metrics failed"
  fi
  if [ -s "$dir/$set.lint" ]; then
    cat "$dir/$set.lint" >&2
    fail "$set: promtool reported problems"
  fi
  ok "$set: promtool check metrics: no errors, no warnings ($(grep -c '^# TYPE' "$dir/$set.prom") metrics)"

  awk '
    # NAME_SUFFIX{labels} -> NAME{labels}, or "" when the name lacks SUFFIX
    function strip(s, suffix,   i, name, rest) {
      i = index(s, "{")
      if (i == 0) { name = s; rest = "" } else { name = substr(s, 1, i - 1); rest = substr(s, i) }
      if (length(name) <= length(suffix) ||
          substr(name, length(name) - length(suffix) + 1) != suffix) return ""
      return substr(name, 1, length(name) - length(suffix)) rest
    }
    /^#/ { next }
    {
      value = $NF
      series = substr($0, 1, length($0) - length(value) - 1)
      k = strip(series, "_bucket")
      if (k != "") {
        if (!match(k, /le="[^"]*"}$/)) { print "le is not the last label: " $0; bad = 1; next }
        le = substr(k, RSTART + 4, RLENGTH - 6)
        k = substr(k, 1, RSTART - 1)
        sub(/,$/, "}", k); sub(/[{]$/, "", k)
        if (k in inf) { print "bucket after +Inf: " $0; bad = 1 }
        if ((k in last) && value + 0 < last[k] + 0) { print "buckets decrease: " $0; bad = 1 }
        last[k] = value
        if (le == "+Inf") inf[k] = value
        next
      }
      k = strip(series, "_count")
      if (k != "" && (k in last)) {
        if (!(k in inf)) { print "no +Inf bucket: " $0; bad = 1 }
        else if (inf[k] != value) { print "+Inf bucket " inf[k] " != _count: " $0; bad = 1 }
        n++
      }
    }
    END {
      if (n == 0) { print "no histogram series found"; bad = 1 }
      else print n
      exit bad
    }' "$dir/$set.prom" >"$dir/$set.hist" || { cat "$dir/$set.hist" >&2; fail "$set: histograms"; }
  ok "$set: $(cat "$dir/$set.hist") histogram series, cumulative, +Inf == _count"
done

# The documented metric table, "| `name` | type | ...", against what the
# gateway set registers.
sed -n 's/^| `\(gw_[a-z0-9_]*\)` | \(counter\|gauge\|histogram\) |.*/\1 \2/p' "$doc" \
  | sort >"$dir/doc.txt"
[ -s "$dir/doc.txt" ] || fail "no metric table found in $doc"
{ sed -n 's/^# TYPE //p' "$dir/gateway.prom"
  sed -n 's/^# TYPE \(gw_metrics_series_dropped_total .*\)/\1/p' "$dir/edge.prom"; } \
  | sort >"$dir/code.txt"
if ! diff -u "$dir/doc.txt" "$dir/code.txt" >"$dir/diff.txt"; then
  cat "$dir/diff.txt" >&2
  fail "docs/metrics.md (-) and the registered metric set (+) differ"
fi
ok "docs/metrics.md lists exactly the $(wc -l <"$dir/doc.txt") registered metrics"
