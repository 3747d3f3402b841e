#!/usr/bin/env bash
# query.coalesce - single-flight: N concurrent identical queries for a
# subject nobody asked about before cost the agency exactly one request.
#
# The agency is slowed (latency fault) so the queries overlap the one fetch;
# curl --parallel fires them all at once over separate connections.  Every
# answer must carry the same value and the very same attestation (one fetch,
# signed once), and the mock's own request counter must grow by exactly 1.
# Repeated for a three-fact adapter (mps) with another fresh subject.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

N=${QUERY_COALESCE_N:-200}
LATENCY_MS=500
stack_up "$TMP/stack"

# Fresh subjects: synthetic people of the mock population, never curated.
mapfile -t SAMPLE < <("$GW_BUILD_DIR/mocks/mock-agencies" --sample 2 --seed 20260514)
check "two synthetic subjects" "${#SAMPLE[@]}" 2

# burst AGENCY FACTS_CSV SUBJECT_JSON LABEL
burst() {
  local agency=$1 facts=$2 subj=$3 label=$4 out=$TMP/burst-$1 i before after first
  rm -rf "$out" && mkdir -p "$out"
  control POST /reset
  check "$label: mock counters reset" "$STATUS" 200
  set_fault "$agency" "{\"mode\": \"latency\", \"latency_ms\": $LATENCY_MS, \"rate\": 1.0}"
  before=$(mock_requests "$agency")
  query_body "$(jq -r .id <<<"$subj")" "$(jq -r .name <<<"$subj")" talent.graduate "$facts" \
    '{"deadline_ms": 8000}' >"$out/body.json"
  for ((i = 1; i <= N; i++)); do
    printf 'url = "%s/v1/facts/query"\noutput = "%s/r%d.json"\n' "$GW" "$out" "$i"
  done >"$out/curl.cfg"
  # the command, for whoever reads the log:
  echo "# curl -Z --parallel-immediate --parallel-max $N --data-binary @body.json -K curl.cfg  ($N URLs)"
  curl -sS --no-progress-meter -Z --parallel-immediate --parallel-max "$N" \
       --cacert "$CA" --cert "$CERT" --key "$KEY" -H 'Content-Type: application/json' \
       --data-binary @"$out/body.json" -K "$out/curl.cfg" -w '%{http_code}\n' \
       >"$out/codes" 2>"$out/curl.err" || true
  after=$(mock_requests "$agency")
  clear_fault "$agency"
  check "$label: $N answers, all HTTP 200" "$(sort "$out/codes" | uniq -c | awk '{print $2 "x" $1}')" "200x$N"
  check "$label: $agency received exactly one request for $N queries" "$((after - before))" 1
  # one fetch, one signature: every answer holds the same facts, byte for byte
  jq -c '.facts | map_values({status, value, attestation})' "$out"/r*.json | sort -u >"$out/distinct"
  check "$label: all $N answers carry the same facts and attestations" "$(wc -l <"$out/distinct")" 1
  check "$label: and they are ok" "$(jq -c '[.[].status] | unique' "$out/distinct")" '["ok"]'
  # Those that were not plain cache hits shared the fetch in flight.
  shared=$(jq -s '[.[] | select([.facts[].cached] | any(. == false))] | length' "$out"/r*.json)
  echo "#   $label: $shared answers shared the fetch in flight, $((N - shared)) were cache hits after it"
  check "$label: several queries waited on the one fetch in flight" "$([[ $shared -ge 2 ]] && echo yes)" yes
}

burst chsi education.degrees "${SAMPLE[0]}" "chsi (one fact)"
burst mps identity.match,identity.birth_date,hukou.region "${SAMPLE[1]}" "mps (three facts, one adapter)"
check "mps: its three facts rest on the same agency response (one evidence hash)" \
  "$(for p in $(jq -r '.facts[].attestation | split(".")[1]' "$TMP/burst-mps/r1.json"); do
       b64url_dec "$p" | jq -r .src.evidence; done | sort -u | wc -l)" 1
