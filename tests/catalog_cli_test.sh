#!/bin/bash
# kexin policy / offer / catalog end to end on a real node home: outputs, exit codes, and that
# failed commands change nothing (docs/cli.md#policies-offers-and-the-catalog).
set -u
KEXIN=${1:?usage: catalog_cli_test.sh KEXIN}
SRC=$(cd "$(dirname "$0")/.." && pwd)
P=$SRC/examples/policies
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
check() {  # check NAME EXPECTED_RC ACTUAL_RC
  if [ "$2" != "$3" ]; then echo "FAIL: $1: exit $3, expected $2"; fails=$((fails + 1)); fi
}
contains() {  # contains NAME FILE TEXT
  if ! grep -qF -- "$3" "$2"; then echo "FAIL: $1: '$3' not in $(head -c 400 "$2")"; fails=$((fails + 1)); fi
}

"$KEXIN" policy check "$P/statistics-compute-only.json" >"$T/out" 2>"$T/err"; check "check ok" 0 $?
contains "check fingerprint" "$T/out" '"fingerprint"'
"$KEXIN" policy check "$P/bad/bad-count.json" >"$T/out" 2>"$T/err"; check "check bad" 5 $?
contains "check bad message" "$T/err" "bad-count.json: /permission/0/constraint/0/rightOperand: 'ten' is not an integer"
"$KEXIN" policy check "$P/bad/not-json.json" >/dev/null 2>"$T/err"; check "check not json" 5 $?
"$KEXIN" policy check "$T/nosuch.json" >/dev/null 2>&1; check "check missing" 3 $?
"$KEXIN" policy match "$P/statistics-compute-only.json" "$P/statistics-compute-only-iri.json" >"$T/out"
check "match equivalent" 0 $?
contains "match says" "$T/out" "equivalent (fingerprint"
"$KEXIN" policy match "$P/statistics-compute-only.json" "$P/research-fields-limited.json" >"$T/out"
check "match different" 1 $?
contains "match difference" "$T/out" "not equivalent: /p"
"$KEXIN" policy eval "$P/statistics-compute-only.json" --purpose official-statistics \
  --compute-mode compute-only --group-size 10 --now 2027-06-01T00:00:00+08:00 >"$T/out"
check "eval permitted" 0 $?
"$KEXIN" policy eval "$P/statistics-compute-only.json" --purpose marketing \
  --compute-mode compute-only --group-size 10 >"$T/out"
check "eval denied" 1 $?
contains "eval names purpose" "$T/out" '"constraint": "purpose"'

H=$T/home
# KEXIN_CATALOG_TEST_STORE=postgresql://... runs the node commands on an (empty) PostgreSQL database.
STORE_OPT=()
[ -n "${KEXIN_CATALOG_TEST_STORE:-}" ] && STORE_OPT=(--store "$KEXIN_CATALOG_TEST_STORE")
"$KEXIN" init --home "$H" --name node-a "${STORE_OPT[@]}" >/dev/null || exit 1
"$KEXIN" register "$SRC/examples/customers.csv" --meta "$SRC/examples/customers.meta.toml" \
  --home "$H" -o "$T/cert.json" 2>/dev/null || exit 1
REG=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['registration']['id'])" "$T/cert.json")
size() { "$KEXIN" node show --home "$H" | python3 -c "import json,sys; print(json.load(sys.stdin)['ledger']['size'])"; }
S0=$(size)
"$KEXIN" offer create --registration "$REG" --policy "$P/bad/unknown-purpose.json" --home "$H" \
  >/dev/null 2>"$T/err"; check "create bad policy" 5 $?
contains "create bad names file" "$T/err" "unknown-purpose.json: /permission/0/constraint/0/rightOperand"
"$KEXIN" offer create --registration nope --policy "$P/statistics-compute-only.json" --home "$H" \
  >/dev/null 2>"$T/err"; check "create unknown registration" 3 $?
"$KEXIN" offer create --registration "$REG" --policy "$T/missing.json" --home "$H" >/dev/null 2>&1
check "create missing file" 3 $?
[ "$(size)" = "$S0" ] || { echo "FAIL: failed creates changed the ledger"; fails=$((fails + 1)); }
"$KEXIN" offer list --home "$H" >"$T/out"; check "list empty" 0 $?
contains "list empty" "$T/out" "[]"

"$KEXIN" offer create --registration "$REG" --policy "$P/statistics-compute-only.json" \
  --manual-approval --home "$H" >"$T/o1"; check "create" 0 $?
O1=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['id'])" "$T/o1")
"$KEXIN" offer create --registration "$REG" --policy "$P/bank-credit-risk-dp.json" \
  --access-policy "$P/access-partners-cn.json" --home "$H" >"$T/o2"; check "create restricted" 0 $?
[ "$(size)" = "$((S0 + 2))" ] || { echo "FAIL: two offers, two ledger entries"; fails=$((fails + 1)); }
"$KEXIN" offer show "$O1" --home "$H" >"$T/out"; check "show" 0 $?
contains "show manual" "$T/out" '"manual_approval": true'
"$KEXIN" offer show urn:uuid:nope --home "$H" >/dev/null 2>"$T/err"; check "show unknown" 3 $?

"$KEXIN" catalog show --home "$H" >"$T/cat.json"; check "catalog show" 0 $?
python3 - "$T/cat.json" <<'PY' || { echo "FAIL: catalog shape"; fails=$((fails + 1)); }
import json, sys
c = json.load(open(sys.argv[1]))
assert c["@type"] == "Catalog" and len(c["dataset"]) == 1 and len(c["dataset"][0]["hasPolicy"]) == 2
PY
"$KEXIN" catalog show --consumer stranger --home "$H" >"$T/cat.json"; check "as stranger" 0 $?
python3 -c "import json,sys; c=json.load(open(sys.argv[1])); assert len(c['dataset'][0]['hasPolicy'])==1" \
  "$T/cat.json" || { echo "FAIL: stranger sees the restricted offer"; fails=$((fails + 1)); }
"$KEXIN" catalog region bank-a CN-ZZ --home "$H" >/dev/null 2>&1; check "bad region" 2 $?
"$KEXIN" catalog region bank-a cn-gd --home "$H" >/dev/null; check "region" 0 $?
"$KEXIN" catalog show --consumer bank-a --home "$H" >"$T/cat.json"
python3 -c "import json,sys; c=json.load(open(sys.argv[1])); assert len(c['dataset'][0]['hasPolicy'])==2" \
  "$T/cat.json" || { echo "FAIL: bank-a in CN-GD should see both offers"; fails=$((fails + 1)); }
"$KEXIN" catalog search -q 证件 --sector finance --home "$H" >"$T/out"; check "search" 0 $?
contains "search hit" "$T/out" "$REG"
"$KEXIN" catalog search --level core --home "$H" >"$T/out"
if grep -q '"dataset"' "$T/out"; then echo "FAIL: level core should match nothing"; fails=$((fails + 1)); fi
"$KEXIN" catalog federated --home "$H" >"$T/out"; check "federated empty" 0 $?

"$KEXIN" offer withdraw "$O1" --home "$H" >/dev/null; check "withdraw" 0 $?
"$KEXIN" offer withdraw "$O1" --home "$H" >/dev/null 2>"$T/err"; check "withdraw twice" 9 $?
contains "withdraw twice message" "$T/err" "is already withdrawn"
"$KEXIN" offer list --active --home "$H" >"$T/out"
python3 -c "import json,sys; assert len(json.load(open(sys.argv[1])))==1" "$T/out" ||
  { echo "FAIL: one active offer left"; fails=$((fails + 1)); }

if [ $fails -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "catalog CLI: all checks passed"
