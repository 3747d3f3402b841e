#!/usr/bin/env bash
# mocks.population: the curated people, synthetic people and --sample.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
BIN=$GW_BUILD_DIR/mocks/mock-agencies

# ---- the curated file
n=$(jq '.people | length' "$POPULATION")
check_true "curated: at least 25 people ($n)" test "$n" -ge 25
bad_ids=""
for id in $(jq -r '.people[].id' "$POPULATION"); do valid_id "$id" || bad_ids+="$id "; done
check "curated: every id has a valid check character" "$bad_ids" ""
check "curated: ids are distinct" "$(jq -r '.people[].id' "$POPULATION" | sort | uniq -d)" ""
check "curated: scenarios are distinct" "$(jq -r '.people[].scenario' "$POPULATION" | sort | uniq -d)" ""
check "curated: every scenario names its path or its case" \
  "$(jq -r '.people[].scenario | select(test("^(graduate|inservice|overseas|postdoc|highlevel)-|^(credit-|name-mismatch|name-variant-|part-time-degree|no-record|shenzhen-hukou|no-degree)") | not)' "$POPULATION")" ""
for s in graduate-bachelor graduate-master graduate-doctor inservice-senior-title overseas-master \
         postdoc-in-station highlevel-a credit-dishonest credit-warning name-mismatch part-time-degree \
         no-record shenzhen-hukou; do
  check "curated: scenario $s present" "$(jq -r --arg s "$s" '[.people[] | select(.scenario == $s)] | length' "$POPULATION")" 1
done
check "curated: birth dates agree with the ids" \
  "$(jq -r '.people[] | select(.mps) | select(.mps.birth_date != (.id[6:10] + "-" + .id[10:12] + "-" + .id[12:14])) | .scenario' "$POPULATION")" ""
check "curated: part-time-degree has only part-time degrees" \
  "$(jq -c '[.people[] | select(.scenario == "part-time-degree") | .degrees[].study_mode] | unique' "$POPULATION")" '["part-time"]'

# ---- --sample
"$BIN" --sample 1000 --seed 7 --data "$POPULATION" >"$TMP/s7a"
"$BIN" --sample 1000 --seed 7 --data "$POPULATION" >"$TMP/s7b"
"$BIN" --sample 1000 --seed 8 --data "$POPULATION" >"$TMP/s8"
check "sample: 1000 JSON lines" "$(jq -s 'length' "$TMP/s7a")" 1000
check "sample: the same seed gives the same subjects" "$(cmp -s "$TMP/s7a" "$TMP/s7b" && echo same)" same
check "sample: another seed gives others" "$(comm -12 <(sort "$TMP/s7a") <(sort "$TMP/s8") | wc -l)" 0
check "sample: ids are distinct" "$(jq -r .id "$TMP/s7a" | sort | uniq -d | wc -l)" 0
bad_ids=""
for id in $(jq -r .id "$TMP/s7a"); do valid_id "$id" || bad_ids+="$id "; done
check "sample: every id has a valid check character" "$bad_ids" ""
check "sample: no curated id" "$(comm -12 <(jq -r .id "$TMP/s7a" | sort) <(jq -r '.people[].id' "$POPULATION" | sort) | wc -l)" 0
check "sample: every subject has a name" "$(jq -r 'select(.name | length < 2) | .id' "$TMP/s7a")" ""
"$BIN" --sample 3 --seed x >/dev/null 2>&1 && bad "sample: a bad seed is refused" || ok "sample: a bad seed is refused"

# ---- a stack: subjects, and synthetic people through the agencies
stack_up "$TMP/stack"
check "stack.json: one subject per curated person" "$(jq '.subjects | length' "$S")" "$n"
check "stack.json: name-mismatch lists another name" \
  "$([[ "$(subject name-mismatch name)" != "$(jq -r '.people[] | select(.scenario == "name-mismatch") | .name' "$POPULATION")" ]] && echo differs)" differs

# 200 synthetic subjects through si: a realistic spread, the same twice
CID=$(cat "$(jq -r .pki.secrets.si_client_id "$S")")
SECRET=$(cat "$(jq -r .pki.secrets.si_client_secret "$S")")
agency -u "$CID:$SECRET" -d grant_type=client_credentials "$(url si)/oauth/token"
TOKEN=$(jq -r .access_token <<<"$BODY")
head -n 200 "$TMP/s7a" | jq -r '"url = \"'"$(url si)"'/v1/insured/\(.id)\"\noutput = \"/dev/null\"\nwrite-out = \"%{http_code}\\n\""' >"$TMP/si.cfg"
codes() { curl -sS --cacert "$CA" -H "Authorization: Bearer $TOKEN" -K "$TMP/si.cfg"; }
codes >"$TMP/codes1"
codes >"$TMP/codes2"
insured=$(grep -c '^200$' "$TMP/codes1" || true)
check "synthetic: only 200 or 404 from si" "$(sort -u "$TMP/codes1" | tr '\n' ' ')" "200 404 "
check_true "synthetic: 30-80% insured in Shenzhen ($insured of 200)" test "$insured" -ge 60 -a "$insured" -le 160
check "synthetic: the same people on a second pass" "$(cmp -s "$TMP/codes1" "$TMP/codes2" && echo same)" same

# every sampled name is the registered one
# (curl's "next" resets per-transfer options, so each entry carries its own)
head -n 50 "$TMP/s7a" | jq -r --arg u "$(url mps)/v1/identity/verify" --arg ca "$CA" \
    --arg cert "$CLIENT_CERT" --arg key "$CLIENT_KEY" '
  (if input_line_number > 1 then "next\n" else "" end) +
  "url = \"\($u)\"\ncacert = \"\($ca)\"\ncert = \"\($cert)\"\nkey = \"\($key)\"\n" +
  "header = \"Content-Type: application/json\"\nwrite-out = \"\\n\"\n" +
  "data = \"" + ({id_number: .id, name} | tojson | gsub("\""; "\\\"")) + "\""' >"$TMP/mps.cfg"
matches=$(curl -sS -K "$TMP/mps.cfg" | jq -r .match | sort | uniq -c | awk '{print $2 ":" $1}')
check "synthetic: mps confirms all 50 sampled names" "$matches" "true:50"
