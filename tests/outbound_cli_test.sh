#!/usr/bin/env bash
# End-to-end checks of `kexin outbound assess|record|counters` (docs/outbound.md): routes at the
# thresholds of CAC Order No. 16 with generated data of known people counts, every exemption,
# the example negative lists, the node's counters and their yearly reset, the JSON schema, and the
# errors for bad input. Usage: outbound_cli_test.sh KEXIN KEXIN_GEN
set -u
KEXIN=$1
GEN=$2
SRC=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
cd "$SRC" || exit 1

run() {
  "$@" >"$T/out" 2>"$T/err"
  rc=$?
}
expect_exit() {
  local code=$1 pattern=$2
  shift 3
  run "$@"
  [ "$rc" -eq "$code" ] || fail "$* -> exit $rc, want $code; stderr: $(head -c 400 "$T/err")"
  [ -z "$pattern" ] || grep -qE -- "$pattern" "$T/err" ||
    fail "$* -> stderr lacks /$pattern/: $(head -c 400 "$T/err")"
}
# j FILE EXPR: evaluates a Python expression over the JSON document `j`.
j() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }
# expect_json FILE EXPR WANT
expect_json() {
  local got
  got=$(j "$1" "$2")
  [ "$got" = "$3" ] || fail "$2 = '$got', want '$3' ($1)"
}
validate() {
  python3 - "$1" <<'PY' || fail "$1 does not validate against docs/schemas/outbound-assessment.schema.json"
import json, sys, jsonschema
schema = json.load(open("docs/schemas/outbound-assessment.schema.json"))
jsonschema.Draft202012Validator(schema).validate(json.load(open(sys.argv[1])))
PY
}

# handler FILE ID [extra TOML lines...]
handler() {
  local f=$1 id=$2
  shift 2
  printf '[handler]\nid = "%s"\nname = "%s Ltd."\n' "$id" "$id" >"$f"
  for line in "$@"; do printf '%s\n' "$line" >>"$f"; done
}
# assess OUT HANDLER DATA [options...]: JSON assessment of a transfer to Singapore.
assess() {
  local out=$1 h=$2 data=$3
  shift 3
  run "$KEXIN" outbound assess --data "$data" --scenario crm --destination SG --handler "$h" \
    --date 2026-06-01 --format json -o "$out" "$@"
  [ "$rc" -eq 0 ] || fail "assess $data with $h $* -> exit $rc: $(head -c 400 "$T/err")"
}

# ---------------------------------------------------------------------------------------------
# Generated data with a known number of people: 1,000 rows; 800 distinct phones; 950 distinct
# (name, birth date) pairs. Nothing sensitive. People = 950 (the name + birth date count wins).
python3 - "$T/people.csv" <<'PY'
import datetime, sys
surnames = "王李张刘陈杨黄赵吴周"
given = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟"]
start = datetime.date(1950, 1, 1)
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write("姓名,出生日期,手机,会员等级\n")
    for i in range(1000):
        k = i % 950
        name = surnames[k % 10] + given[(k // 10) % len(given)]
        birth = start + datetime.timedelta(days=k * 17)
        f.write(f"{name},{birth.isoformat()},{13800000000 + i % 800},gold\n")
PY
PEOPLE=950
# Trade data without personal information (Art. 3).
printf 'sku,qty,unit_price,currency\nSKU-0001,12,3.50,USD\nSKU-0002,4,120.00,USD\nSKU-0003,1,9.99,EUR\n' >"$T/trade.csv"

handler "$T/plain.toml" plain
assess "$T/a.json" "$T/plain.toml" "$T/people.csv"
validate "$T/a.json"
expect_json "$T/a.json" 'j["people"]["this_transfer"]' $PEOPLE
expect_json "$T/a.json" 'j["data"]["contains_sensitive_pi"]' False
expect_json "$T/a.json" '[c["distinct"] for c in j["inventory"]["files"][0]["counts"]]' '[800, 950]'
expect_json "$T/a.json" 'j["exemption"]' art5_4

# The 100,000 and 1,000,000 boundaries, through the handler file's [sent] counts.
for case in "$((99999 - PEOPLE)) exempt art5_4" "$((100000 - PEOPLE)) standard_contract_or_certification None" \
  "$((999999 - PEOPLE)) standard_contract_or_certification None" "$((1000000 - PEOPLE)) security_assessment None"; do
  set -- $case
  handler "$T/h.toml" acme '[sent]' 'year = 2026' "people = $1"
  assess "$T/b.json" "$T/h.toml" "$T/people.csv"
  expect_json "$T/b.json" 'j["route"], str(j["exemption"]), j["decided_by_rule"]' "('$2', '$3', 6)"
  expect_json "$T/b.json" 'j["people"]["cumulative"]["people"]' $(($1 + PEOPLE))
done
# Counts of an earlier year are reset on 1 January.
handler "$T/h.toml" acme '[sent]' 'year = 2025' 'people = 5000000'
assess "$T/b.json" "$T/h.toml" "$T/people.csv"
expect_json "$T/b.json" 'j["exemption"], j["people"]["before"]["people"]' "('art5_4', 0)"
grep -q 'reset on 1 January' "$T/b.json" || fail "reset not stated"

# Sensitive personal information: examples/customers.csv holds 40 people with ID numbers,
# diagnoses, bank cards. 9,959 + 40 < 10,000 -> standard contract; 9,960 + 40 -> assessment.
handler "$T/h.toml" acme '[sent]' 'year = 2026' 'sensitive_people = 9959'
assess "$T/c.json" "$T/h.toml" examples/customers.csv
validate "$T/c.json"
expect_json "$T/c.json" 'j["route"], j["article"]' "('standard_contract_or_certification', 'Art. 8')"
expect_json "$T/c.json" 'j["people"]["sensitive_this_transfer"], j["people"]["cumulative"]["sensitive_people"]' '(40, 9999)'
expect_json "$T/c.json" '"medical_condition" in j["data"]["sensitive_categories"]' True
handler "$T/h.toml" acme '[sent]' 'year = 2026' 'sensitive_people = 9960'
assess "$T/c.json" "$T/h.toml" examples/customers.csv
expect_json "$T/c.json" 'j["route"], j["article"], j["triggers"][0]["what"]' \
  "('security_assessment', 'Art. 7(2)', 'sensitive personal information')"

# Rules (1)-(4).
assess "$T/d.json" "$T/plain.toml" "$T/trade.csv"
expect_json "$T/d.json" 'j["route"], j["exemption"], j["decided_by_rule"]' "('exempt', 'art3', 1)"
assess "$T/d.json" "$T/plain.toml" "$T/trade.csv" --important-data
expect_json "$T/d.json" 'j["route"], j["decided_by_rule"]' "('security_assessment', 2)"
for b in collected-abroad:art4 contract:art5_1 hr:art5_2 emergency:art5_3; do
  assess "$T/d.json" "$T/plain.toml" examples/customers.csv --basis "${b%%:*}"
  expect_json "$T/d.json" 'j["exemption"], j["transfer"]["basis"]' "('${b##*:}', '${b##*:}')"
done
handler "$T/ciio.toml" grid 'ciio = true'
assess "$T/d.json" "$T/ciio.toml" examples/customers.csv
expect_json "$T/d.json" 'j["route"], j["article"], j["decided_by_rule"]' "('security_assessment', 'Art. 7(1)', 4)"
assess "$T/d.json" "$T/ciio.toml" examples/customers.csv --basis contract
expect_json "$T/d.json" 'j["exemption"]' art5_1

# Free-trade zone with the example lists (rule 5).
LISTS=lists/beijing-ftz-2024-example
handler "$T/ftz.toml" ftzco 'free_trade_zone = "beijing-ftz"' 'sector = "retail"'
run "$KEXIN" outbound assess --data examples/customers.csv --scenario retail.membership \
  --destination de --handler "$T/ftz.toml" --list $LISTS --date 2026-06-01 --format json -o "$T/f.json"
[ "$rc" -eq 0 ] || fail "ftz assess -> $rc: $(cat "$T/err")"
validate "$T/f.json"
expect_json "$T/f.json" 'j["route"], j["exemption"], j["negative_list"]["on_list"]' "('exempt', 'art6', False)"
expect_json "$T/f.json" 'j["negative_list"]["example"], j["transfer"]["destination"]' "(True, 'DE')"
grep -q 'EXAMPLE list' "$T/f.json" || fail "example list not flagged"
# 100,000 sensitive people this year: the identity item (security assessment) applies.
handler "$T/ftz.toml" ftzco 'free_trade_zone = "beijing-ftz"' 'sector = "retail"' '[sent]' 'year = 2026' \
  'people = 200000' 'sensitive_people = 99960'
run "$KEXIN" outbound assess --data examples/customers.csv --scenario retail.membership \
  --destination DE --handler "$T/ftz.toml" --list $LISTS --date 2026-06-01 --format json -o "$T/f.json"
expect_json "$T/f.json" 'j["route"], j["negative_list"]["on_list"], j["negative_list"]["route"]' \
  "('security_assessment', True, 'security_assessment')"
expect_json "$T/f.json" '[m["category"] for m in j["negative_list"]["matched_items"] if m["applies"]][0]' 个人身份证件信息
# HTML and table outputs.
run "$KEXIN" outbound assess --data examples/customers.csv --scenario retail.membership \
  --destination DE --handler "$T/ftz.toml" --list $LISTS --date 2026-06-01 --format html -o "$T/f.html"
grep -q '申报数据出境安全评估' "$T/f.html" || fail "html lacks the route"
grep -q 'EXAMPLE list' "$T/f.html" || fail "html lacks the example warning"
run "$KEXIN" outbound assess --data examples/customers.csv --scenario retail.membership \
  --destination DE --handler "$T/ftz.toml" --list $LISTS --date 2026-06-01
grep -q '^route: security assessment' "$T/out" || fail "table lacks the route: $(head -3 "$T/out")"

# --scan-report: the same route from a scan report, with the method stated.
"$KEXIN" scan --full --format json -o "$T/scan.json" examples/customers.csv || fail "scan"
run "$KEXIN" outbound assess --scan-report "$T/scan.json" --scenario crm --destination SG \
  --handler "$T/plain.toml" --date 2026-06-01 --format json -o "$T/s.json"
[ "$rc" -eq 0 ] || fail "assess --scan-report -> $rc: $(cat "$T/err")"
expect_json "$T/s.json" 'j["route"], j["people"]["this_transfer"]' "('standard_contract_or_certification', 40)"
grep -q 'names with birth dates were not counted' "$T/s.json" || fail "scan-report note missing"

# kexin-gen's labelled table: people = the largest distinct count, checked against our own count
# of (name, birth date) pairs and the scan's per-column counts.
"$GEN" -o "$T/gen.csv" --rows 3000 --seed 11 || fail "kexin-gen"
assess "$T/g.json" "$T/plain.toml" "$T/gen.csv"
validate "$T/g.json"
python3 - "$T/g.json" "$T/gen.csv" <<'PY' || fail "generated table: people count disagrees"
import csv, json, re, sys
j = json.load(open(sys.argv[1]))
f = j["inventory"]["files"][0]
cat = {c["name"]: c["category"] for c in f["columns"]}
name = next(n for n, c in cat.items() if c == "person_name")
birth = next(n for n, c in cat.items() if c == "birth_date")
pairs = set()
for row in csv.DictReader(open(sys.argv[2], encoding="utf-8")):
    n, d = row[name].strip(), re.sub(r"\D", "", row[birth])
    if n and d:
        pairs.add((n, d))
counts = {c["method"]: c["distinct"] for c in f["counts"]}
nb = [v for k, v in counts.items() if k.startswith("person_name + birth_date")]
assert nb == [len(pairs)], (nb, len(pairs))
assert j["people"]["this_transfer"] == max(counts.values()), (j["people"], counts)
assert j["route"] == "standard_contract_or_certification", j["route"]  # sensitive columns
PY

# ---------------------------------------------------------------------------------------------
# The node's counters.
HOME_DIR=$T/node
run "$KEXIN" init --home "$HOME_DIR" --name n1
[ "$rc" -eq 0 ] || fail "init -> $rc: $(cat "$T/err")"
handler "$T/n.toml" acme
run "$KEXIN" outbound record --home "$HOME_DIR" --handler "$T/n.toml" --people $((100000 - PEOPLE)) --date 2026-02-01
[ "$rc" -eq 0 ] || fail "record --people -> $rc: $(cat "$T/err")"
expect_json "$T/out" 'j["counted"]["people"], j["year"]' "($((100000 - PEOPLE)), 2026)"
run "$KEXIN" outbound assess --data "$T/people.csv" --scenario crm --destination SG --handler "$T/n.toml" \
  --home "$HOME_DIR" --date 2026-06-01 --format json -o "$T/n.json"
expect_json "$T/n.json" 'j["route"], j["people"]["before"]["people"]' "('standard_contract_or_certification', $((100000 - PEOPLE)))"
# Record that assessment: 950 more people, 100,000 in all.
run "$KEXIN" outbound record --home "$HOME_DIR" --handler "$T/n.toml" --assessment "$T/n.json"
[ "$rc" -eq 0 ] || fail "record --assessment -> $rc: $(cat "$T/err")"
expect_json "$T/out" 'j["counted"]["people"], j["rows"][0]["transfers"]' "(100000, 2)"
# The same assessment is one transfer: recording it again is refused and counts nothing.
expect_exit 9 "already recorded" -- "$KEXIN" outbound record --home "$HOME_DIR" --handler "$T/n.toml" \
  --assessment "$T/n.json"
# An exempt (contract) transfer counts only with count_exempt_transfers = true.
run "$KEXIN" outbound assess --data "$T/people.csv" --scenario crm --destination SG --handler "$T/n.toml" \
  --home "$HOME_DIR" --basis contract --date 2026-06-02 --format json -o "$T/e.json"
run "$KEXIN" outbound record --home "$HOME_DIR" --handler "$T/n.toml" --assessment "$T/e.json"
expect_json "$T/out" 'j["counted"]["people"], [r["basis"] for r in j["rows"]]' "(100000, ['art5_1', 'counted'])"
handler "$T/n2.toml" acme '[settings]' 'count_exempt_transfers = true'
run "$KEXIN" outbound counters --home "$HOME_DIR" --handler "$T/n2.toml" --year 2026
expect_json "$T/out" 'j["counted"]["people"]' $((100000 + PEOPLE))
# A new year starts from zero.
run "$KEXIN" outbound assess --data "$T/people.csv" --scenario crm --destination SG --handler "$T/n.toml" \
  --home "$HOME_DIR" --date 2027-01-01 --format json -o "$T/y.json"
expect_json "$T/y.json" 'j["people"]["before"]["people"], j["exemption"]' "(0, 'art5_4')"
# An assessment of another handler is refused.
expect_exit 2 "for handler 'plain'" -- "$KEXIN" outbound record --home "$HOME_DIR" --handler "$T/n.toml" \
  --assessment "$T/a.json"

# ---------------------------------------------------------------------------------------------
# Bad input: clear errors, documented exit codes.
A=(outbound assess --data examples/customers.csv --destination SG)
expect_exit 2 "unknown scenario 'retail.nosuch'.*known: retail.membership" -- "$KEXIN" "${A[@]}" \
  --scenario retail.nosuch --handler "$T/ftz.toml" --list $LISTS
handler "$T/bad.toml" x 'free_trade_zone = "beijing-ftz"' 'sector = "mining"'
expect_exit 2 "unknown sector 'mining'" -- "$KEXIN" "${A[@]}" --scenario x --handler "$T/bad.toml" --list $LISTS
expect_exit 2 "no negative list for it was loaded" -- "$KEXIN" "${A[@]}" --scenario x --handler "$T/ftz.toml"
mkdir -p "$T/badlist"
sed 's/route = "standard_contract"/route = "contract"/' $LISTS/retail.toml >"$T/badlist/retail.toml"
expect_exit 5 "badlist/retail.toml:[0-9]+: unknown route 'contract'" -- "$KEXIN" "${A[@]}" \
  --scenario retail.membership --handler "$T/ftz.toml" --list "$T/badlist"
handler "$T/bad.toml" x '[sent]' 'year = 2026' 'people = -3'
expect_exit 5 "bad.toml:6: sent.people must not be negative, got -3" -- "$KEXIN" "${A[@]}" --scenario x --handler "$T/bad.toml"
handler "$T/bad.toml" x '[sent]' 'year = 2026' 'sensitive_people = "many"'
expect_exit 5 'bad.toml:6: sent.sensitive_people must be a non-negative integer, got the string "many"' -- \
  "$KEXIN" "${A[@]}" --scenario x --handler "$T/bad.toml"
expect_exit 2 "must not be negative" -- "$KEXIN" outbound record --home "$HOME_DIR" --handler "$T/n.toml" --people -5
expect_exit 2 "whole number" -- "$KEXIN" outbound record --home "$HOME_DIR" --handler "$T/n.toml" --people 12k
expect_exit 2 "not a cross-border transfer" -- "$KEXIN" outbound assess --data examples/customers.csv \
  --destination CN --scenario x --handler "$T/plain.toml"
expect_exit 2 "ISO 3166" -- "$KEXIN" outbound assess --data examples/customers.csv --destination Germany \
  --scenario x --handler "$T/plain.toml"
expect_exit 2 "unknown exemption basis" -- "$KEXIN" outbound assess --data examples/customers.csv \
  --destination DE --scenario x --handler "$T/plain.toml" --basis small
expect_exit 2 "" -- "$KEXIN" outbound assess --data examples/customers.csv --scan-report "$T/scan.json" \
  --destination DE --scenario x --handler "$T/plain.toml"
expect_exit 2 "one of --data or --scan-report" -- "$KEXIN" outbound assess --destination DE --scenario x \
  --handler "$T/plain.toml"
expect_exit 3 "nosuch.csv" -- "$KEXIN" outbound assess --data "$T/nosuch.csv" --destination DE --scenario x \
  --handler "$T/plain.toml"
expect_exit 3 "nosuch.toml" -- "$KEXIN" outbound assess --data examples/customers.csv --destination DE \
  --scenario x --handler "$T/nosuch.toml"
printf 'a,b\n1,2\n3\n' >"$T/ragged.csv"
"$KEXIN" scan --format json -o "$T/ragged.json" "$T/ragged.csv" 2>/dev/null
expect_exit 9 "was not scanned" -- "$KEXIN" outbound assess --scan-report "$T/ragged.json" --destination DE \
  --scenario x --handler "$T/plain.toml"
expect_exit 2 "after the transfer date" -- "$KEXIN" outbound assess --data examples/customers.csv \
  --destination DE --scenario x --handler "$T/h.toml" --date 2025-05-01

if [ "$fails" -ne 0 ]; then
  echo "$fails failure(s)"
  exit 1
fi
echo "outbound_cli_test: all passed"
