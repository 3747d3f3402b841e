#!/usr/bin/env bash
# cluster.budget - an adapter's rate is the whole cluster's, kept in Redis.
#
# mps.identity gets policy.rate_per_s 0.001 and burst 4 (a token every 1000 s:
# none comes back while the suite runs) and both instances reload.  Then 12
# misses for 12 different people: 6 through instance 1, then 6 through
# instance 2.  With one bucket for the cluster, instance 1 spends it (4 reach
# mps, 2 are rate_limited) and instance 2 finds it empty (0 reach mps).  A
# bucket per instance would let 4 through on each; the fallback share
# (rate / instances, used only when Redis cannot be asked) would let 2
# through on each: the split tells the three apart.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

cluster_up "$TMP/stack"
mapfile -t PEOPLE < <(fresh 12 20261208)
check "twelve synthetic subjects" "${#PEOPLE[@]}" 12

# the budget, applied by a reload of both instances
A=$D/adapters/mps.json
jq '.policy.rate_per_s = 0.001 | .policy.burst = 4' "$A" >"$A.tmp" && mv "$A.tmp" "$A"
activations() { grep -c '"event":"generation_activated"' "$D/gateway-$1.log" || true; }
for i in 1 2; do
  n0=$(activations "$i")
  kill -HUP "$(jq -r ".gateways[$((i - 1))].pid" "$S")"
  check_true "instance $i reloaded with the budget" wait_for 20 eval "(( \$(activations $i) > n0 ))"
done

# total OPS NAME: the sum of every series of a counter (all its labels)
total() {
  curl -fsS "$1/metrics" | awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $2 } END { print s + 0 }'
}
fb0=$(( $(total "$OPS1" gw_cluster_fallbacks_total) + $(total "$OPS2" gw_cluster_fallbacks_total) ))
rc0=$(( $(total "$OPS1" gw_cluster_rate_checks_total) + $(total "$OPS2" gw_cluster_rate_checks_total) ))
# burst GW FIRST: six misses through one instance; prints "reached limited"
burst() {
  local before reached limited=0 p id name
  before=$(mock_requests mps)
  for ((p = $2; p < $2 + 6; p++)); do
    id=$(jq -r .id <<<"${PEOPLE[$p]}"); name=$(jq -r .name <<<"${PEOPLE[$p]}")
    post "$1" "$(body "$id" "$name" identity.match '{"max_age_s": 0}')"
    [[ $STATUS == 200 ]] || { echo "#   HTTP $STATUS: $BODY" >&2; continue; }
    [[ $(jq -r '.facts["identity.match"].error.code // ""' <<<"$BODY") == rate_limited ]] \
      && limited=$((limited + 1))
  done
  reached=$(( $(mock_requests mps) - before ))
  echo "$reached $limited"
}
r1=$(burst "$GW1" 0)
echo "#   instance 1: $r1 (reached mps, rate_limited)"
check "instance 1 spends the cluster's burst: 4 reach mps, 2 are rate_limited" "$r1" "4 2"
r2=$(burst "$GW2" 6)
echo "#   instance 2: $r2 (reached mps, rate_limited)"
check "instance 2 finds the cluster's bucket empty: none reach mps, 6 are rate_limited" "$r2" "0 6"
fb1=$(( $(total "$OPS1" gw_cluster_fallbacks_total) + $(total "$OPS2" gw_cluster_fallbacks_total) ))
rc1=$(( $(total "$OPS1" gw_cluster_rate_checks_total) + $(total "$OPS2" gw_cluster_rate_checks_total) ))
check "every miss asked the bucket in Redis (12 rate checks)" "$((rc1 - rc0))" 12
check "no instance fell back to its local share" "$((fb1 - fb0))" 0
check "Redis holds the bucket under an HMAC'd key, not the adapter's id" \
  "$(rcli --scan --pattern 'gw:r:*' | grep -c '^gw:r:[A-Za-z0-9_-]\{43\}$')" 1
