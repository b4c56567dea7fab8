#!/usr/bin/env bash
# End-to-end checks of the kexin binary: outputs, exit codes and messages for bad input
# (docs/exit-codes.md). Usage: cli_test.sh KEXIN [KEXIN_GEN]
set -u
KEXIN=$1
SRC=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
pass() { :; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect_exit CODE PATTERN -- command...: exit code and a stderr pattern.
expect_exit() {
  local code=$1 pattern=$2
  shift 3
  "$@" >"$T/out" 2>"$T/err"
  local got=$?
  [ "$got" -eq "$code" ] || fail "$* -> exit $got, want $code; stderr: $(head -c 300 "$T/err")"
  grep -qE -- "$pattern" "$T/err" || fail "$* -> stderr lacks /$pattern/: $(head -c 300 "$T/err")"
}

# The shipped sample scans cleanly in every format.
"$KEXIN" scan "$SRC/examples/customers.csv" --color never >"$T/table.txt" || fail "table output exit $?"
grep -q "id_card_cn" "$T/table.txt" || fail "table output lacks id_card_cn"
grep -q "level: general-4" "$T/table.txt" || fail "table output lacks the table level"
"$KEXIN" scan "$SRC/examples/customers.csv" --format json -o "$T/r.json" || fail "json exit $?"
python3 - "$T/r.json" <<'PY' || fail "json report content"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["report"] == "kexin.scan" and r["complete"] is True, r
f = r["files"][0]
assert f["status"] == "ok" and f["encoding"] == "utf-8" and f["level"] == "general-4", f
cats = {c["name"]: c["category"] for c in f["columns"]}
assert cats["证件号码"] == "id_card_cn" and cats["手机"] == "mobile_cn" and cats["订单金额"] is None, cats
assert all("*" in e for c in f["columns"] for m in c["evidence"]["matches"] for e in m["examples"]), "unmasked example"
PY
"$KEXIN" scan "$SRC/examples/customers.csv" --format html -o "$T/r.html" || fail "html exit $?"
grep -q "<svg" "$T/r.html" || fail "html report has no chart"
"$KEXIN" scan "$SRC/examples/customers.csv" --full --threads 2 --format json | grep -q '"mode": "full"' || fail "--full mode"

# GB18030 input is detected and converted.
iconv -f UTF-8 -t GB18030 "$SRC/examples/customers.csv" >"$T/gbk.csv"
"$KEXIN" scan "$T/gbk.csv" --format json | python3 -c '
import json,sys; f=json.load(sys.stdin)["files"][0]
assert f["encoding"]=="gb18030", f["encoding"]
assert {c["name"]:c["category"] for c in f["columns"]}["证件号码"]=="id_card_cn"' || fail "gb18030"

# Bad input: message names the file (and row), documented exit code.
expect_exit 3 "missing.csv: No such file" -- "$KEXIN" scan "$T/missing.csv"
expect_exit 2 "is a directory" -- "$KEXIN" scan "$T"
: >"$T/empty.csv"
expect_exit 5 "empty.csv: empty file" -- "$KEXIN" scan "$T/empty.csv"
printf 'a,b\n1,\0\0\0\n' >"$T/bin.csv"
expect_exit 5 "bin.csv: binary file" -- "$KEXIN" scan "$T/bin.csv"
printf 'a,b,c\n1,2,3\n4,5\n' >"$T/ragged.csv"
expect_exit 5 "ragged.csv:3: expected 3 fields, found 2" -- "$KEXIN" scan "$T/ragged.csv"
printf 'a,b\n1,"open\n2,3\n' >"$T/quote.csv"
expect_exit 5 "quote.csv:2: unbalanced quote" -- "$KEXIN" scan "$T/quote.csv"
{ printf 'name,city\n'; for i in $(seq 1 200); do printf 'n%d,北京\n' "$i"; done; printf 'x,\xff\xfe\n'; } >"$T/utf8.csv"
expect_exit 5 "utf8.csv:202: invalid UTF-8" -- "$KEXIN" scan "$T/utf8.csv"
{ printf 'a,b\n1,'; head -c 100000000 /dev/zero | tr '\0' 'a'; printf '\n'; } >"$T/long.csv"
expect_exit 8 "long.csv:2: row longer than 16 MiB" -- "$KEXIN" scan "$T/long.csv" --full
expect_exit 2 "format" -- "$KEXIN" scan "$SRC/examples/customers.csv" --format xml
expect_exit 2 "excludes" -- "$KEXIN" scan "$SRC/examples/customers.csv" --full --sample 10
printf 'x = \n' >"$T/bad.toml"
expect_exit 2 "bad.toml:1" -- "$KEXIN" scan "$SRC/examples/customers.csv" --rules "$T/bad.toml"

# Several files, one bad: the others are reported, the report says it is incomplete.
"$KEXIN" scan "$SRC/examples/customers.csv" "$T/ragged.csv" --format json >"$T/multi.json" 2>/dev/null
code=$?
[ "$code" -eq 5 ] || fail "multi-file exit $code, want 5"
python3 -c '
import json,sys; r=json.load(open(sys.argv[1]))
assert r["complete"] is False and r["summary"]["errors"]==1
assert r["files"][0]["status"]=="ok" and r["files"][1]["status"]=="error"
assert "ragged.csv:3" in r["files"][1]["error"]["message"]' "$T/multi.json" || fail "multi-file report"

# A failed write leaves no partial report behind.
expect_exit 7 "cannot write $T/nodir/r.json" -- "$KEXIN" scan "$SRC/examples/customers.csv" -o "$T/nodir/r.json"
[ -z "$(ls "$T"/nodir* 2>/dev/null)" ] || fail "partial output left behind"

# Rules: the built-in file round-trips through --rules and `rules check`.
"$KEXIN" rules show >"$T/rules.toml" || fail "rules show"
"$KEXIN" rules check "$T/rules.toml" | grep -q "id_card_cn" || fail "rules check"
"$KEXIN" scan "$SRC/examples/customers.csv" --rules "$T/rules.toml" --format json | grep -q id_card_cn || fail "--rules"

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "cli_test: all checks passed"
