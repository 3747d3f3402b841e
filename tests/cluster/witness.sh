#!/usr/bin/env bash
# cluster.witness - two gateways witness each other's audit logs
# (scripts/stack --instances 2 --witnesses; DESIGN section 8).
#
#  1. After queries on both, each instance's latest checkpoint (covering
#     its queries) carries the other's cosignature, checked by an
#     independent checker written from the C2SP specs with
#     python3-cryptography (witness_tool.py), and `gwctl audit witnessed`
#     accepts it under a 1-of-1 policy.
#  2. Instance 2's log is rewritten (stopped, one record altered with a
#     correct checksum, its checkpoints and tree dropped, restarted with
#     the same key and origin, so it signs a history inconsistent with the
#     one instance 1 cosigned): instance 1 refuses to cosign, logs
#     witness_refused, counts it in gw_witness_refusals_total and shows it
#     on its console; instance 2's new checkpoints carry no cosignature and
#     `gwctl audit witnessed` fails on them; instance 1's own log is still
#     cosigned by instance 2.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

TOOL=$HERE/witness_tool.py
python3 -c 'import cryptography' 2>/dev/null \
  || { echo "needs python3-cryptography (scripts/install-deps)"; exit 1; }

cluster_up "$TMP/stack" --witnesses --set audit.checkpoint_interval_s=1
AUD=(--cacert "$CA" --cert "$(jq -r .pki.clients.auditor.cert "$S")" --key "$(jq -r .pki.clients.auditor.key "$S")")
P=$D/pki/gateway
url_of() { [[ $1 == 1 ]] && echo "$GW1" || echo "$GW2"; }
ops_of() { [[ $1 == 1 ]] && echo "$OPS1" || echo "$OPS2"; }
other() { echo $((3 - $1)); }
note_of() { curl -fsS "${AUD[@]}" "$(url_of "$1")/v1/audit/checkpoint" >"$TMP/note.$1"; }

# cosigned_at_least I N: instance I's latest checkpoint covers >= N records
# and the independent checker finds the other's valid cosignature on it.
cosigned_at_least() {
  local i=$1 n=$2 j out
  j=$(other "$i")
  note_of "$i" || return 1
  out=$(python3 "$TOOL" check "$TMP/note.$i" "$P/checkpoint-$i.pub.pem" "gw-stack-$j/witness" \
          "$P/witness-$j.pub.pem") || return 1
  (( ${out#ok } >= n ))
}

# ---- 1. each cosigns the other -------------------------------------------------
mapfile -t SAMPLE < <(fresh 4 20261208)
for k in 0 1 2 3; do
  s=${SAMPLE[$k]}
  post "$(url_of $((k % 2 + 1)))" "$(body "$(jq -r .id <<<"$s")" "$(jq -r .name <<<"$s")" education.degrees)"
  check "query $k answered by instance $((k % 2 + 1))" "$STATUS" 200
done
for i in 1 2; do
  size=$(metric "$(ops_of "$i")" gw_audit_tree_size)
  echo "#   instance $i: $size records"
  check_true "instance $i's checkpoint covering its $size records carries instance $(other "$i")'s valid cosignature (independent check)" \
    wait_for 60 cosigned_at_least "$i" "$size"
  if ! cosigned_at_least "$i" "$size"; then
    cat "$TMP/note.$i"
    python3 "$TOOL" check "$TMP/note.$i" "$P/checkpoint-$i.pub.pem" "gw-stack-$(other "$i")/witness" \
      "$P/witness-$(other "$i").pub.pem" || true
  fi
  check "instance $(other "$i") counts no refusal of instance $i" \
    "$(metric "$(ops_of "$(other "$i")")" "gw_witness_refusals_total{peer=\"gw-stack-$i\"}")" 0
done
# the policy an auditor keeps: the witness key each instance serves
curl -fsS "${AUD[@]}" "$GW2/v1/audit/witness-key" >"$TMP/policy.1"
curl -fsS "${AUD[@]}" "$GW1/v1/audit/witness-key" >"$TMP/policy.2"
check "the witness key served is the C2SP cosignature vkey of gw-stack-2/witness" \
  "$(cut -d+ -f1 "$TMP/policy.1")" gw-stack-2/witness
for i in 1 2; do
  "$GWCTL" audit witnessed --stack "$S" --instance "$i" --witnesses "$TMP/policy.$i" \
    >"$TMP/witnessed.$i" 2>&1 && rc=0 || rc=$?
  check "gwctl audit witnessed accepts instance $i's checkpoint (1 of 1)" "$rc" 0
  ((rc == 0)) || cat "$TMP/witnessed.$i"
done
# a policy with a key that never cosigned: 2 of 2 is not met
cat "$TMP/policy.1" "$TMP/policy.2" >"$TMP/policy.both"
check "gwctl audit witnessed refuses 2 of 2 when only one peer could cosign" \
  "$("$GWCTL" audit witnessed --stack "$S" --instance 1 --witnesses "$TMP/policy.both" >/dev/null 2>&1; echo $?)" 1

# ---- 2. instance 2's log rewritten --------------------------------------------------
COSIGNED=$(awk '$2 == "gw-stack-2" { print $4 }' "$D/audit-1/witness-state")
echo "#   instance 1 cosigned instance 2 up to $COSIGNED records"
check "instance 1 keeps what it cosigned of instance 2" "$(( COSIGNED >= 2 ))" 1
refusals0=$(metric "$OPS1" 'gw_witness_refusals_total{peer="gw-stack-2"}')
GPID=$(jq '.gateways[1].pid' "$S")
kill -TERM "$GPID"
check_true "instance 2 stops" wait_for 30 test ! -e "/proc/$GPID"
check "one record of instance 2's log rewritten" \
  "$(python3 "$TOOL" rewrite "$D/audit-2" >/dev/null && echo done)" done
rm -f -- "$D/gateway-2.ports.json"
"$GATEWAYD" --config "$D/gateway-2.json" --ports-file "$D/gateway-2.ports.json" </dev/null \
  >>"$D/gateway-2.log" 2>&1 &
echo $! >"$D/gateway-2.pid"
check_true "instance 2 restarts" wait_for 30 test -s "$D/gateway-2.ports.json"
OPS2="http://127.0.0.1:$(jq .ops "$D/gateway-2.ports.json")"   # its API port is fixed, its ops port new
check_true "instance 2 is ready on its rewritten log" wait_for 30 curl -fsS -o /dev/null "$OPS2/readyz"
# more records on the rewritten log, so its checkpoint is larger than the cosigned one
mapfile -t MORE < <(fresh 2 20261209)
for s in "${MORE[@]}"; do
  post "$GW2" "$(body "$(jq -r .id <<<"$s")" "$(jq -r .name <<<"$s")" education.degrees)"
done
check "instance 2 answers on its rewritten log" "$STATUS" 200
refused() { (( $(metric "$OPS1" 'gw_witness_refusals_total{peer="gw-stack-2"}') > refusals0 )); }
check_true "instance 1 refuses to cosign the rewritten log (gw_witness_refusals_total rises)" \
  wait_for 60 refused
check_true "instance 1 logs the refusal as an error" \
  grep -q '"level":"error","event":"witness_refused"' "$D/gateway-1.log"
grep '"event":"witness_refused"' "$D/gateway-1.log" | tail -1 | sed 's/^/#   /'
size2=$(metric "$OPS2" gw_audit_tree_size)
covers() { note_of 2 && (( $(sed -n 2p "$TMP/note.2") >= size2 )); }
check_true "instance 2 signs a checkpoint of its rewritten log ($size2 records)" wait_for 30 covers
check "the rewritten log's checkpoint carries no cosignature of instance 1" \
  "$(python3 "$TOOL" check "$TMP/note.2" "$P/checkpoint-2.pub.pem" gw-stack-1/witness \
       "$P/witness-1.pub.pem" || true)" absent
check "gwctl audit witnessed fails on the rewritten log" \
  "$("$GWCTL" audit witnessed --stack "$S" --instance 2 --witnesses "$TMP/policy.2" >/dev/null 2>&1; echo $?)" 1
check "instance 1 still holds the size it cosigned, not the rewritten one" \
  "$(awk '$2 == "gw-stack-2" { print $4 }' "$D/audit-1/witness-state")" "$COSIGNED"
check_true "instance 1's console shows the refusal" \
  eval 'curl -fsS "$OPS1/console" | grep -q "refused (its log is inconsistent"'
check_true "instance 2's console shows its checkpoint not cosigned, with the peer's answer" \
  eval 'curl -fsS "$OPS2/console" | grep -q "does not extend the one this witness cosigned"'
# instance 1's log is unaffected: instance 2 (its witness state intact) still cosigns it
post "$GW1" "$(body "$(jq -r .id <<<"${SAMPLE[0]}")" "$(jq -r .name <<<"${SAMPLE[0]}")" education.degrees)"
size1=$(metric "$OPS1" gw_audit_tree_size)
check_true "instance 1's new checkpoint ($size1 records) is still cosigned by instance 2" \
  wait_for 60 cosigned_at_least 1 "$size1"
