#!/usr/bin/env bash
# integration.generation - every activated generation is a `config` audit
# record, and an auditor can say which generation served a query.
#
#  - at start: a config record (who "start", generation 1) whose ACL sha256
#    is sha256sum of the ACL file and whose adapters are the directory's
#  - an adapter edited, SIGHUP: a second config record (who "sighup",
#    generation 2) with the adapter's new sha256 and version
#  - a query after it cites generation 2 (and its config record's index);
#    gwctl audit generation --query-id answers generation 2 with the files
#  - a refused reload writes no config record; the log still verifies
#    offline (gwctl audit verify) with the new record kind in it
# Waiting is bounded polling.
. "$(dirname -- "${BASH_SOURCE[0]}")/../query/lib.sh"

stack_up "$TMP/stack" --set audit.checkpoint_interval_s=1   # checkpoints cover new records soon
PID=$(jq -r .gateway.pid "$S")
ACL=$SDIR/acl.json
A=$SDIR/adapters
gen() { "$GWCTL" audit generation --stack "$S" --json "$@"; }
# signed checkpoints come at an interval: wait (bounded) until one covers
# what is asked, then answer as gen does
gen_wait() {
  for _ in $(seq 1 300); do gen "$@" 2>/dev/null && return 0; sleep 0.1; done
  gen "$@"
}
reloads() { grep -c '"event":"reloaded"\|"event":"reload_refused"' "$GLOG" || true; }
hup() {
  local before
  before=$(reloads)
  kill -HUP "$PID"
  for _ in $(seq 1 200); do [[ $(reloads) -gt $before ]] && return 0; sleep 0.05; done
  return 1
}
sha() { sha256sum "$1" | cut -d' ' -f1; }

# ---- start -------------------------------------------------------------------
check_true "gwctl finds generation 1" quiet gen_wait --id 1
G1=$(gen --id 1)
check "generation 1 was activated by start" "$(jq -r .config.who <<<"$G1")" start
check "its record is of kind config" "$(jq -r .config.kind <<<"$G1")" config
check "the ACL's sha256 is sha256sum of the ACL file" \
  "$(jq -r .config.acl.sha256 <<<"$G1")" "$(sha "$ACL")"
check "every adapter file is listed" "$(jq '.config.adapters | length' <<<"$G1")" \
  "$(ls "$A"/*.json | wc -l)"
check "chsi.json's sha256 is sha256sum of it" \
  "$(jq -r '.config.adapters[] | select(.path == "chsi.json") | .sha256' <<<"$G1")" "$(sha "$A/chsi.json")"
check "every fact schema is listed" "$(jq '.config.catalogue.facts | length' <<<"$G1")" \
  "$(ls "$(jq -r .schemas_dir "$(jq -r .gateway.config "$S")")"/*.schema.json | wc -l)"
check "purposes.json carries its version" \
  "$(jq -r .config.catalogue.purposes.version <<<"$G1")" \
  "$(jq -r .version "$GW_SOURCE_DIR/schemas/purposes.json")"
ask graduate-master talent.graduate education.degrees '{"max_age_s": 0}'
Q1=$(jq -r .query_id <<<"$BODY")
check "a query before the reload is served by generation 1" \
  "$(gen_wait --query-id "$Q1" | jq -r .config.generation)" 1

# ---- SIGHUP after editing an adapter ------------------------------------------
jq '.version = (.version + 1) | .description = "CHSI, edited for the generation test"' \
  "$A/chsi.json" >"$TMP/chsi.json"
cp "$TMP/chsi.json" "$A/chsi.json"
check_true "SIGHUP is answered" hup
G2=$(gen_wait --id 2)
check "generation 2 was activated by sighup" "$(jq -r .config.who <<<"$G2")" sighup
check "generation 2 holds the edited adapter's sha256" \
  "$(jq -r '.config.adapters[] | select(.path == "chsi.json") | .sha256' <<<"$G2")" "$(sha "$A/chsi.json")"
check "and its new version" \
  "$(jq -r '.config.adapters[] | select(.path == "chsi.json") | .version' <<<"$G2")" \
  "$(jq -r .version "$A/chsi.json")"
check_true "the sha256 changed from generation 1" \
  test "$(jq -r '.config.adapters[] | select(.path == "chsi.json") | .sha256' <<<"$G1")" != \
       "$(jq -r '.config.adapters[] | select(.path == "chsi.json") | .sha256' <<<"$G2")"
check "the ACL is unchanged" "$(jq -r .config.acl.sha256 <<<"$G2")" "$(sha "$ACL")"

ask graduate-master talent.graduate education.degrees '{"max_age_s": 0}'
check "the query after it is answered" "$STATUS" 200
Q2=$(jq -r .query_id <<<"$BODY")
W=$(gen_wait --query-id "$Q2")
check "gwctl: the query was served by generation 2" "$(jq -r .config.generation <<<"$W")" 2
check "gwctl: through the config record's index" "$(jq -r .generation_index <<<"$W")" \
  "$(jq -r .generation_index <<<"$G2")"
"$GWCTL" audit generation --stack "$S" --query-id "$Q2" >"$TMP/gen.txt"
check_true "the text answer names the generation and who" \
  grep -q "^generation: 2, activated .* by sighup" "$TMP/gen.txt"
check_true "and lists chsi.json with its sha256" \
  grep -q "adapter    chsi.json .*sha256 $(sha "$A/chsi.json")" "$TMP/gen.txt"
# the query record itself, as the auditor reads it
IDX=$(jq -r .query_index <<<"$W")
REC=$(curl -fsS --cacert "$CA" --cert "$(jq -r .pki.clients.auditor.cert "$S")" \
        --key "$(jq -r .pki.clients.auditor.key "$S")" \
        "$GW/v1/audit/entries?start=$IDX&count=1" | jq -r '.entries[0].data' | base64 -d)
check "the query record cites generation 2" "$(jq -r .generation <<<"$REC")" 2
check_false "gwctl: an unknown query is not found" quiet gen --query-id q_000000000000000000000000

# ---- a refused reload records nothing ------------------------------------------
echo '{"id": "chsi.degrees", "version": ' >"$A/chsi.json"
check_true "the broken SIGHUP is answered" hup
check_true "it is refused" grep -q '"event":"reload_refused"' "$GLOG"
cp "$TMP/chsi.json" "$A/chsi.json"
ask graduate-master talent.graduate education.degrees '{"max_age_s": 0}'
check "generation 2 keeps serving" \
  "$(gen_wait --query-id "$(jq -r .query_id <<<"$BODY")" | jq -r .config.generation)" 2
# that query is under the checkpoint now, and so is anything before it
check_false "no generation 3 is recorded" quiet gen --id 3

# ---- the log with config records still verifies offline --------------------------
check_true "gwctl audit verify accepts the log" quiet "$GWCTL" audit verify "$AUDIT_DIR"
