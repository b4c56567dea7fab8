#!/usr/bin/env bash
# End-to-end checks of `kexin deid` (docs/deid.md): on the UCI Adult data with ARX's hierarchies,
# every privacy model is recounted from the output by an independent checker (python3), and the
# report must agree with the output; on examples/customers.csv the roles come from the scan and
# direct identifiers are masked or pseudonymized (pseudonyms recomputed with python's hmac); every
# error path checks the exit code, the message, and that no output or temporary file is left.
# Usage: deid_cli_test.sh KEXIN   (KEXIN_ADULT_DIR overrides examples/deid/adult)
set -u
KEXIN=$1
SRC=$(cd "$(dirname "$0")/.." && pwd)
ADULT=${KEXIN_ADULT_DIR:-$SRC/examples/deid/adult}
T=$(mktemp -d)
trap 'chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# No output and no temporary file beside it; or, when `before` is given, the output unchanged.
# check_no_output OUTPUT [SHA256-BEFORE]
check_no_output() {
  local out=$1 before=${2:-}
  local dir base
  dir=$(dirname "$out")
  base=$(basename "$out")
  if [ -n "$before" ]; then
    [ "$(sha256sum <"$out" 2>/dev/null)" = "$before" ] || fail "$out changed by a failed run"
  else
    [ ! -e "$out" ] || fail "$out exists after a failed run"
  fi
  local left
  left=$(compgen -G "$dir/.$base.tmp.*")
  [ -z "$left" ] || fail "temporary file left behind: $left"
}

# expect_exit CODE PATTERN -- command...: exit code and a stderr pattern (extended regex).
expect_exit() {
  local code=$1 pattern=$2
  shift 3
  "$@" >"$T/stdout" 2>"$T/stderr"
  local got=$?
  [ "$got" -eq "$code" ] || fail "$* -> exit $got, want $code; stderr: $(head -c 400 "$T/stderr")"
  grep -qE -- "$pattern" "$T/stderr" || fail "$* -> stderr lacks /$pattern/: $(head -c 400 "$T/stderr")"
}

# expect_fail CODE PATTERN OUTPUT -- command...: as expect_exit, and OUTPUT is not created.
expect_fail() {
  local code=$1 pattern=$2 out=$3
  shift 4
  rm -f "$out"
  expect_exit "$code" "$pattern" -- "$@"
  check_no_output "$out"
}

# The independent checker: regenerates every quasi-identifier from the input, the hierarchies and
# the report's levels, compares with the output cell by cell, then recounts the classes.
cat >"$T/check.py" <<'PY'
import argparse, csv, json, sys
from collections import Counter, defaultdict

ap = argparse.ArgumentParser()
ap.add_argument("input"); ap.add_argument("output"); ap.add_argument("report")
ap.add_argument("--hierarchies", required=True)
ap.add_argument("--qi", required=True)
ap.add_argument("--k", type=int, default=1)
ap.add_argument("--l", type=int, default=0)
ap.add_argument("--t", type=float, default=None)
ap.add_argument("--sensitive", default=None)
ap.add_argument("--max-suppression", type=float, default=0.0)
a = ap.parse_args()
qis = a.qi.split(",")
errors = []
def err(m):
    errors.append(m)

def read(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    return rows[0], rows[1:]

hin, rin = read(a.input)
hout, rout = read(a.output)
rep = json.load(open(a.report))
if hin != hout: err(f"header {hout} != {hin}")
if len(rout) != len(rin): err(f"{len(rout)} output rows, {len(rin)} input rows")
if rep["input"]["rows"] != len(rin) or rep["output"]["rows"] != len(rout):
    err(f"report rows {rep['input']['rows']}/{rep['output']['rows']} != {len(rin)}/{len(rout)}")
qcol = [hin.index(q) for q in qis]
hier = {}
for q in qis:
    m = {}
    for line in open(f"{a.hierarchies}/adult_hierarchy_{q}.csv", encoding="utf-8"):
        cells = line.rstrip("\r\n").split(";")
        if cells != [""]: m[cells[0]] = cells
    hier[q] = m
cols = {c["name"]: c for c in rep["columns"]}
levels = rep["generalization"]["levels"]
if len(levels) != len(qis): err(f"report has {len(levels)} levels for {len(qis)} quasi-identifiers")
for q, lv in zip(qis, levels):
    c = cols[q]
    if c["role"] != "quasi" or c["level"] != lv or c["height"] != len(next(iter(hier[q].values()))):
        err(f"report column {q}: {c} disagrees with level {lv}")

suppressed, kept = 0, []
for n, (ri, ro) in enumerate(zip(rin, rout), start=2):
    for j in range(len(hin)):
        if j not in qcol and ri[j] != ro[j]:
            err(f"row {n}: column {hin[j]} changed: {ri[j]!r} -> {ro[j]!r}")
    want = [hier[q][ri[c]][lv] for q, c, lv in zip(qis, qcol, levels)]
    got = [ro[c] for c in qcol]
    if got == want:
        kept.append(n - 2)
    elif all(v == "*" for v in got):
        suppressed += 1
    else:
        err(f"row {n}: quasi-identifiers {got}, expected {want} or all '*'")
    if len(errors) > 10: break

g = rep["generalization"]
if g["suppressed_records"] != suppressed:
    err(f"report says {g['suppressed_records']} suppressed, the output has {suppressed}")
if suppressed > a.max_suppression * len(rin) + 1e-9:
    err(f"{suppressed} suppressed rows exceed {a.max_suppression} of {len(rin)}")

classes = defaultdict(list)
for i in kept:
    classes[tuple(rout[i][c] for c in qcol)].append(i)
sizes = [len(v) for v in classes.values()]
if sizes and min(sizes) < a.k: err(f"a class of {min(sizes)} rows < k = {a.k}")
if g["classes"] != len(classes): err(f"report says {g['classes']} classes, output has {len(classes)}")
if sizes and g["smallest_class"] != min(sizes):
    err(f"report smallest class {g['smallest_class']}, output {min(sizes)}")
if suppressed == 0 and sizes:
    hi = rep["risk"]["after"]["prosecutor"]["highest"]
    if abs(hi - 1.0 / min(sizes)) > 1e-9: err(f"prosecutor risk {hi} != 1/{min(sizes)}")

# The original table must violate the model, or the check proves nothing.
orig = Counter(tuple(r[c] for c in qcol) for r in rin)
if min(orig.values()) >= a.k and a.l == 0 and a.t is None:
    err("the input already satisfies the model: the test is vacuous")

if a.sensitive:
    s = hin.index(a.sensitive)
    total = Counter(r[s] for r in rout)
    worst_l, worst_t = 10**9, 0.0
    for rows in classes.values():
        cnt = Counter(rout[i][s] for i in rows)
        worst_l = min(worst_l, len(cnt))
        d = 0.5 * sum(abs(cnt.get(v, 0) / len(rows) - total[v] / len(rout)) for v in total)
        worst_t = max(worst_t, d)
    if a.l and worst_l < a.l: err(f"a class has {worst_l} distinct {a.sensitive} values < l = {a.l}")
    if a.t is not None and worst_t > a.t + 1e-9: err(f"a class is at distance {worst_t:.4f} > t = {a.t}")
    print(f"l={worst_l} t={worst_t:.4f}", end=" ")
print(f"rows={len(rout)} suppressed={suppressed} classes={len(classes)} smallest={min(sizes) if sizes else 0}")
for e in errors[:10]: print("  " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY

QIS="sex,age,race,marital-status,education,native-country,workclass,occupation"
# A config giving the 8 quasi-identifiers their ARX hierarchies (paths relative to the config).
write_adult_config() {  # write_adult_config FILE HIERARCHY-DIR [extra TOML]
  local file=$1 dir=$2 extra=${3:-}
  : >"$file"
  for c in ${QIS//,/ }; do
    printf '[columns.%s]\nrole = "quasi"\nhierarchy = "%s/adult_hierarchy_%s.csv"\n\n' "$c" "$dir" "$c" >>"$file"
  done
  printf '%s\n' "$extra" >>"$file"
}

if [ -r "$ADULT/adult.csv" ]; then
  A=$T/adult
  mkdir -p "$A"
  cp "$ADULT"/adult.csv "$ADULT"/adult_hierarchy_*.csv "$A/"
  write_adult_config "$A/adult.toml" .
  SENS='[columns.salary-class]
role = "sensitive"'
  write_adult_config "$A/sens.toml" . "$SENS"

  # k = 5: every class of the output has at least 5 rows; the report agrees with the output.
  "$KEXIN" deid "$A/adult.csv" -o "$T/k5.csv" --config "$A/adult.toml" --k 5 --report "$T/k5.json" \
    >"$T/k5.out" 2>"$T/k5.err" || fail "adult k=5: exit $?: $(head -c 300 "$T/k5.err")"
  [ "$(wc -l <"$T/k5.csv")" -eq 30163 ] || fail "adult k=5: $(wc -l <"$T/k5.csv") lines, want 30163"
  grep -q "30162 rows in, 30162 rows out" "$T/k5.out" || fail "adult k=5 summary: $(head -1 "$T/k5.out")"
  python3 "$T/check.py" "$A/adult.csv" "$T/k5.csv" "$T/k5.json" --hierarchies "$A" --qi "$QIS" \
    --k 5 >/dev/null || fail "adult k=5: recount"
  python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["report"] == "kexin-deid-report-v1", r["report"]
assert r["privacy_model"]["k"] == 5 and r["privacy_model"]["default"] is False, r["privacy_model"]
assert r["generalization"]["suppressed_records"] == 0
assert r["risk"]["before"]["smallest_class"] == 1, r["risk"]["before"]
assert r["risk"]["after"]["smallest_class"] >= 5, r["risk"]["after"]
sal = [c for c in r["columns"] if c["name"] == "salary-class"][0]
assert sal["role"] == "insensitive" and sal["treatment"] == "keep", sal
' "$T/k5.json" || fail "adult k=5: report content"
  # Recount the classes once more with awk, independently of python.
  awk -F';' 'NR > 1 { n[$1 FS $2 FS $3 FS $4 FS $5 FS $6 FS $7 FS $8]++ }
    END { for (c in n) if (n[c] < 5) { print "class " c " has " n[c] " rows"; bad = 1 } exit bad }' \
    "$T/k5.csv" || fail "adult k=5: awk recount"

  # k = 10 with at most 5% suppression: suppressed rows have every quasi-identifier "*".
  "$KEXIN" deid "$A/adult.csv" -o "$T/k10.csv" --config "$A/adult.toml" --k 10 \
    --max-suppression 0.05 --report "$T/k10.json" -q >/dev/null 2>"$T/k10.err" \
    || fail "adult k=10: exit $?: $(head -c 300 "$T/k10.err")"
  python3 "$T/check.py" "$A/adult.csv" "$T/k10.csv" "$T/k10.json" --hierarchies "$A" --qi "$QIS" \
    --k 10 --max-suppression 0.05 >"$T/k10.check" || fail "adult k=10 5%: recount"
  grep -q "suppressed=0 " "$T/k10.check" && fail "adult k=10 5%: nothing suppressed, the limit is not exercised"
  # Suppression pays: the loss is lower than without it.
  "$KEXIN" deid "$A/adult.csv" -o "$T/k10n.csv" --config "$A/adult.toml" --k 10 --report "$T/k10n.json" \
    -q >/dev/null 2>&1 || fail "adult k=10 without suppression: exit $?"
  python3 -c '
import json, sys
a, b = (json.load(open(p))["generalization"]["utility_loss"] for p in sys.argv[1:3])
assert a < b, (a, b)' "$T/k10.json" "$T/k10n.json" || fail "adult k=10: suppression did not lower the loss"

  # Suppressed rows removed instead of masked: the rest still satisfy k = 10.
  write_adult_config "$A/remove.toml" . '[privacy]
suppressed_rows = "remove"'
  "$KEXIN" deid "$A/adult.csv" -o "$T/k10r.csv" --config "$A/remove.toml" --k 10 \
    --max-suppression 0.05 --report "$T/k10r.json" -q >/dev/null 2>&1 || fail "adult remove: exit $?"
  python3 - "$T/k10.json" "$T/k10r.json" "$T/k10r.csv" <<'PY' || fail "adult remove: rows and classes"
import collections, json, sys
masked, removed = (json.load(open(p)) for p in sys.argv[1:3])
supp = masked["generalization"]["suppressed_records"]
rows = open(sys.argv[3]).read().splitlines()[1:]
assert removed["output"]["rows"] == len(rows) == 30162 - supp, (removed["output"], len(rows), supp)
assert removed["output"]["suppressed_rows"] == "remove"
classes = collections.Counter(tuple(r.split(";")[:8]) for r in rows)
assert min(classes.values()) >= 10, min(classes.values())
assert ("*",) * 8 not in classes, "a suppressed row was kept"
PY

  # Distinct 2-diversity of salary-class.
  "$KEXIN" deid "$A/adult.csv" -o "$T/l2.csv" --config "$A/sens.toml" --k 5 --l 2 \
    --report "$T/l2.json" -q >/dev/null 2>"$T/l2.err" || fail "adult l=2: exit $?: $(head -c 300 "$T/l2.err")"
  python3 "$T/check.py" "$A/adult.csv" "$T/l2.csv" "$T/l2.json" --hierarchies "$A" --qi "$QIS" \
    --k 5 --l 2 --sensitive salary-class >/dev/null || fail "adult l=2: recount"
  python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))["privacy_model"]
assert m["l_diversity"] == {"variant": "distinct", "l": 2.0}, m' "$T/l2.json" || fail "adult l=2: report model"

  # t-closeness 0.2 with equal distance.
  "$KEXIN" deid "$A/adult.csv" -o "$T/t.csv" --config "$A/sens.toml" --k 5 --t 0.2 \
    --report "$T/t.json" -q >/dev/null 2>"$T/t.err" || fail "adult t=0.2: exit $?: $(head -c 300 "$T/t.err")"
  python3 "$T/check.py" "$A/adult.csv" "$T/t.csv" "$T/t.json" --hierarchies "$A" --qi "$QIS" \
    --k 5 --t 0.2 --sensitive salary-class >/dev/null || fail "adult t=0.2: recount"
  # A tighter t forces more generalization than k = 5 alone (the model is not vacuous).
  python3 -c '
import json, sys
a, b = (json.load(open(p))["generalization"]["utility_loss"] for p in sys.argv[1:3])
assert a > b, (a, b)' "$T/t.json" "$T/k5.json" || fail "adult t=0.2: loss not above k=5 alone"

  # HTML report.
  "$KEXIN" deid "$A/adult.csv" -o "$T/h.csv" --config "$A/adult.toml" --k 5 --report "$T/r.html" \
    -q >/dev/null 2>&1 || fail "adult html: exit $?"
  for c in ${QIS//,/ } salary-class; do
    grep -q "<td>$c</td>" "$T/r.html" || fail "html report lacks column $c"
  done
  grep -qi "<html" "$T/r.html" || fail "html report is not HTML"
  python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/r.html" 2>/dev/null \
    && fail "html report is JSON"

  # ---- Errors on the Adult data ----
  # A value missing from its hierarchy names the value and FILE:ROW (header = row 1).
  grep -v '^Holand-Netherlands;' "$A/adult_hierarchy_native-country.csv" >"$A/nc_missing.csv"
  sed 's#\./adult_hierarchy_native-country.csv#./nc_missing.csv#' "$A/adult.toml" >"$A/missing.toml"
  row=$(awk -F';' '$6 == "Holand-Netherlands" { print NR; exit }' "$A/adult.csv")
  expect_fail 5 "adult.csv:$row: .*native-country.*\"Holand-Netherlands\"" "$T/o.csv" -- \
    "$KEXIN" deid "$A/adult.csv" -o "$T/o.csv" --config "$A/missing.toml" --k 5
  # A ragged hierarchy names file:line.
  { head -2 "$A/adult_hierarchy_sex.csv"; printf 'Other\n'; } >"$A/rag.csv"
  sed 's#\./adult_hierarchy_sex.csv#./rag.csv#' "$A/adult.toml" >"$A/rag.toml"
  expect_fail 5 "rag.csv:3: .*ragged" "$T/o.csv" -- \
    "$KEXIN" deid "$A/adult.csv" -o "$T/o.csv" --config "$A/rag.toml" --k 5
  # A hierarchy file that does not exist.
  sed 's#\./adult_hierarchy_race.csv#./nosuch_race.csv#' "$A/adult.toml" >"$A/nohier.toml"
  expect_fail 3 "nosuch_race.csv" "$T/o.csv" -- \
    "$KEXIN" deid "$A/adult.csv" -o "$T/o.csv" --config "$A/nohier.toml"
  # k above the number of rows.
  expect_fail 2 "k = 30163 is larger than the number of rows \(30162\)" "$T/o.csv" -- \
    "$KEXIN" deid "$A/adult.csv" -o "$T/o.csv" --config "$A/adult.toml" --k 30163
  # k equal to the number of rows is possible (one class of everything).
  "$KEXIN" deid "$A/adult.csv" -o "$T/kall.csv" --config "$A/adult.toml" --k 30162 -q \
    >/dev/null 2>"$T/kall.err" || fail "k = rows: exit $?: $(head -c 300 "$T/kall.err")"
  # An unknown column in the config is named, with the table's columns.
  write_adult_config "$A/unk.toml" . '[columns.salary]
role = "sensitive"'
  expect_fail 2 "unknown column \"salary\".*salary-class" "$T/o.csv" -- \
    "$KEXIN" deid "$A/adult.csv" -o "$T/o.csv" --config "$A/unk.toml"
  # l-diversity that cannot hold: 3 distinct values of a 2-valued column.
  expect_fail 9 "no generalization .*3-diversity" "$T/o.csv" -- \
    "$KEXIN" deid "$A/adult.csv" -o "$T/o.csv" --config "$A/sens.toml" --k 5 --l 3
  # l-diversity without a sensitive column.
  expect_fail 2 "sensitive" "$T/o.csv" -- \
    "$KEXIN" deid "$A/adult.csv" -o "$T/o.csv" --config "$A/adult.toml" --l 2
  # A failed run keeps an existing output as it was.
  printf 'old content\n' >"$T/keep.csv"
  sum=$(sha256sum <"$T/keep.csv")
  expect_exit 9 "no generalization" -- \
    "$KEXIN" deid "$A/adult.csv" -o "$T/keep.csv" --config "$A/sens.toml" --l 3
  check_no_output "$T/keep.csv" "$sum"
  # The output must not be the input, however it is spelled.
  sum=$(sha256sum <"$A/adult.csv")
  expect_exit 2 "must not be the input" -- \
    "$KEXIN" deid "$A/adult.csv" -o "$A/adult.csv" --config "$A/adult.toml"
  check_no_output "$A/adult.csv" "$sum"
  expect_exit 2 "must not be the input" -- \
    "$KEXIN" deid "$A/adult.csv" -o "$A/../adult/./adult.csv" --config "$A/adult.toml"
  ln -s "$A/adult.csv" "$T/link.csv"
  expect_exit 2 "must not be the input" -- \
    "$KEXIN" deid "$A/adult.csv" -o "$T/link.csv" --config "$A/adult.toml"
  check_no_output "$A/adult.csv" "$sum"
  [ -L "$T/link.csv" ] || fail "the symlink to the input was replaced"
else
  echo "SKIP: adult data not found in $ADULT (set KEXIN_ADULT_DIR)"
fi

# ---- Configuration errors (on a small table) ----
C=$T/cfg
mkdir -p "$C"
printf 'age,sex,city\n' >"$C/t.csv"
for i in $(seq 1 40); do printf '%d,%s,c%d\n' $((20 + i % 30)) "$([ $((i % 2)) = 0 ] && echo M || echo F)" $((i % 3)) >>"$C/t.csv"; done
printf '[privacy]\nk = 2\n\n[columns.age]\nrole = "quasi"\nhierarchy = "builtin:interval"\n' >"$C/ok.toml"
"$KEXIN" deid "$C/t.csv" -o "$C/ok.out" --config "$C/ok.toml" -q || fail "small table: exit $?"
printf '[privacy]\nk = 2\n\n[columns.age]\nrole = "quasi"\nhierarchy = \n' >"$C/bad.toml"
expect_fail 2 "bad.toml:6" "$C/o.csv" -- "$KEXIN" deid "$C/t.csv" -o "$C/o.csv" --config "$C/bad.toml"
printf '[privacy]\nk = 2\nkk = 3\n' >"$C/unkkey.toml"
expect_fail 2 "unkkey.toml: privacy.kk: unknown key" "$C/o.csv" -- \
  "$KEXIN" deid "$C/t.csv" -o "$C/o.csv" --config "$C/unkkey.toml"
printf '[output]\nx = 1\n' >"$C/unksec.toml"
expect_fail 2 "unksec.toml: output: unknown key" "$C/o.csv" -- \
  "$KEXIN" deid "$C/t.csv" -o "$C/o.csv" --config "$C/unksec.toml"
printf '[columns.age]\nrole = "quasi"\nhierarchy = "builtin:interval"\nwidth = [5]\n' >"$C/unkcol.toml"
expect_fail 2 "columns.age.width: unknown key" "$C/o.csv" -- \
  "$KEXIN" deid "$C/t.csv" -o "$C/o.csv" --config "$C/unkcol.toml"
printf '[privacy]\nk = "5"\n' >"$C/ktype.toml"
expect_fail 2 "ktype.toml: privacy.k: must be a number" "$C/o.csv" -- \
  "$KEXIN" deid "$C/t.csv" -o "$C/o.csv" --config "$C/ktype.toml"
printf '[columns.age]\nrole = "quasi"\noperator = "mask"\nhierarchy = "builtin:interval"\n' >"$C/qop.toml"
expect_fail 2 "qop.toml: columns.age.operator: quasi-identifiers are generalized" "$C/o.csv" -- \
  "$KEXIN" deid "$C/t.csv" -o "$C/o.csv" --config "$C/qop.toml"
printf '[key]\nhash = "md5"\n' >"$C/hash.toml"
expect_fail 2 "hash.toml: key.hash" "$C/o.csv" -- "$KEXIN" deid "$C/t.csv" -o "$C/o.csv" --config "$C/hash.toml"
printf '[privacy]\nk = 0\n' >"$C/k0.toml"
expect_fail 2 "privacy.k: must be a whole number" "$C/o.csv" -- \
  "$KEXIN" deid "$C/t.csv" -o "$C/o.csv" --config "$C/k0.toml"
printf '[columns.age]\nrole = "boss"\n' >"$C/role.toml"
expect_fail 2 "columns.age.role: unknown role \"boss\"" "$C/o.csv" -- \
  "$KEXIN" deid "$C/t.csv" -o "$C/o.csv" --config "$C/role.toml"
printf '[columns.age]\nrole = "quasi"\n' >"$C/nohier.toml"
expect_fail 2 "columns.age.hierarchy: missing" "$C/o.csv" -- \
  "$KEXIN" deid "$C/t.csv" -o "$C/o.csv" --config "$C/nohier.toml"
printf '[columns.age]\nrole = "quasi"\nhierarchy = "builtin:nope"\n' >"$C/nope.toml"
expect_fail 2 "builtin:nope" "$C/o.csv" -- "$KEXIN" deid "$C/t.csv" -o "$C/o.csv" --config "$C/nope.toml"
printf '[columns.age]\nrole = "quasi"\nhierarchy = "builtin:interval"\nwidths = [5, 12]\n' >"$C/widths.toml"
expect_fail 2 "column age: .*width 12" "$C/o.csv" -- \
  "$KEXIN" deid "$C/t.csv" -o "$C/o.csv" --config "$C/widths.toml"
printf '[columns.city]\nrole = "direct"\noperator = "pseudonymize"\n' >"$C/nokey.toml"
expect_fail 2 "column city: .*needs a key" "$C/o.csv" -- \
  "$KEXIN" deid "$C/t.csv" -o "$C/o.csv" --config "$C/nokey.toml"
printf '[columns.age]\nrole = "quasi"\nhierarchy = "builtin:date"\n' >"$C/date.toml"
expect_fail 5 "t.csv:2: .*column age.*\"21\".*not a date" "$C/o.csv" -- \
  "$KEXIN" deid "$C/t.csv" -o "$C/o.csv" --config "$C/date.toml"
expect_fail 3 "nosuch.toml" "$C/o.csv" -- "$KEXIN" deid "$C/t.csv" -o "$C/o.csv" --config "$C/nosuch.toml"
expect_fail 3 "nosuch.csv" "$C/o.csv" -- "$KEXIN" deid "$C/nosuch.csv" -o "$C/o.csv" --k 2
expect_fail 2 "metric" "$C/o.csv" -- "$KEXIN" deid "$C/t.csv" -o "$C/o.csv" --metric best
expect_fail 2 "" "$C/o.csv" -- "$KEXIN" deid "$C/t.csv" -o "$C/o.csv" --k 0
expect_fail 2 "" "$C/o.csv" -- "$KEXIN" deid "$C/t.csv" -o "$C/o.csv" --max-suppression 1.5
expect_fail 2 "" "$C/o.csv" -- "$KEXIN" deid "$C/t.csv"
# A ragged input row: FILE:ROW.
{ cat "$C/t.csv"; printf '33,M\n'; } >"$C/ragged.csv"
expect_fail 5 "ragged.csv:42: expected 3 fields, found 2" "$C/o.csv" -- \
  "$KEXIN" deid "$C/ragged.csv" -o "$C/o.csv" --config "$C/ok.toml"
# A JSONL key first seen after the columns were fixed fails while the output is being written:
# the temporary file must go, and an existing output must stay as it was.
python3 -c '
import json
with open("'"$C"'/late.jsonl", "w") as f:
    for i in range(3000): f.write(json.dumps({"age": str(20 + i % 50), "note": "x" * 20}) + "\n")
    f.write(json.dumps({"age": "30", "note": "y", "late": "z"}) + "\n")'
printf '[privacy]\nk = 2\n\n[columns.age]\nrole = "quasi"\nhierarchy = "builtin:interval"\n' >"$C/j.toml"
expect_fail 5 "late.jsonl:3001: more fields" "$C/late.out" -- \
  "$KEXIN" deid "$C/late.jsonl" -o "$C/late.out" --config "$C/j.toml"
printf 'previous\n' >"$C/late.out"
sum=$(sha256sum <"$C/late.out")
expect_exit 5 "more fields" -- "$KEXIN" deid "$C/late.jsonl" -o "$C/late.out" --config "$C/j.toml"
check_no_output "$C/late.out" "$sum"
# An output directory that does not exist.
"$KEXIN" deid "$C/t.csv" -o "$C/nodir/o.csv" --config "$C/ok.toml" -q >/dev/null 2>"$C/nodir.err"
code=$?
[ "$code" -ne 0 ] || fail "output in a missing directory: exit 0"
grep -q "$C/nodir" "$C/nodir.err" || fail "output in a missing directory: $(cat "$C/nodir.err")"
[ ! -e "$C/nodir" ] || fail "output directory was created"

# ---- Direct identifiers: roles from the scan ----
D=$T/direct
mkdir -p "$D"
CUST=$SRC/examples/customers.csv
printf '%s\n' 'kexin-cli-test-key-0123456789abcdef' >"$D/k1.key"
printf '%s\n' 'a-different-key-for-the-cli-test-xyz' >"$D/k2.key"
# Column values by header name, one per line.
col() { python3 -c '
import csv, sys
r = list(csv.reader(open(sys.argv[1], newline="")))
i = r[0].index(sys.argv[2])
print("\n".join(x[i] for x in r[1:]))' "$1" "$2"; }

# Without a key: ID numbers and mobiles are masked by shape; the scan set the roles.
"$KEXIN" deid "$CUST" -o "$D/masked.csv" --report "$D/masked.json" >"$D/masked.out" 2>"$D/masked.err" \
  || fail "customers without key: exit $?: $(head -c 300 "$D/masked.err")"
python3 - "$CUST" "$D/masked.csv" "$D/masked.json" <<'PY' || fail "customers masked"
import csv, json, re, sys
rin = list(csv.reader(open(sys.argv[1], newline="")))
rout = list(csv.reader(open(sys.argv[2], newline="")))
rep = json.load(open(sys.argv[3]))
assert rin[0] == rout[0] and len(rin) == len(rout) == 41, (len(rin), len(rout))
h = rin[0]
idc, mob = h.index("证件号码"), h.index("手机")
for a, b in zip(rin[1:], rout[1:]):
    assert re.fullmatch(r"\d{6}\*{8}[\dX]{4}", b[idc]) and b[idc][:6] == a[idc][:6] \
        and b[idc][-4:] == a[idc][-4:], (a[idc], b[idc])
    assert re.fullmatch(r"\d{3}\*{4}\d{4}", b[mob]) and b[mob][:3] == a[mob][:3] \
        and b[mob][-4:] == a[mob][-4:], (a[mob], b[mob])
    for j, v in enumerate(a):  # no identifying value survives anywhere in the row
        if h[j] in ("证件号码", "手机", "邮箱", "银行卡号"):
            assert v not in ",".join(b), (h[j], v)
cols = {c["name"]: c for c in rep["columns"]}
assert cols["证件号码"]["role"] == "direct" and cols["证件号码"]["source"] == "scan (id_card_cn)", cols["证件号码"]
assert cols["证件号码"]["treatment"] == "mask", cols["证件号码"]
assert cols["手机"]["source"] == "scan (mobile_cn)" and cols["手机"]["treatment"] == "mask", cols["手机"]
assert rep["privacy_model"]["default"] is True and rep["privacy_model"]["k"] == 5, rep["privacy_model"]
PY
grep -q "5-anonymity applied" "$D/masked.out" || fail "customers: no warning about the default model"

# With a key file: keyed pseudonyms, recomputed here with python's hmac.
"$KEXIN" deid "$CUST" -o "$D/p1.csv" --key-file "$D/k1.key" --report "$D/p1.json" >"$D/p1.out" 2>&1 \
  || fail "customers --key-file: exit $?: $(head -c 300 "$D/p1.out")"
python3 - "$CUST" "$D/p1.csv" "$D/k1.key" <<'PY' || fail "customers pseudonyms"
import csv, hashlib, hmac, sys
rin = list(csv.reader(open(sys.argv[1], newline="")))
rout = list(csv.reader(open(sys.argv[2], newline="")))
key = open(sys.argv[3], "rb").read().rstrip(b"\r\n")
h = rin[0]
for name in ("证件号码", "手机"):
    j = h.index(name)
    for a, b in zip(rin[1:], rout[1:]):
        want = "p_" + hmac.new(key, b"kexin-pseudonym-v1\0" + a[j].encode(), hashlib.sha256).hexdigest()[:24]
        assert b[j] == want, (name, a[j], b[j], want)
PY
for f in "$D/p1.csv" "$D/p1.json" "$D/p1.out"; do
  grep -q "kexin-cli-test-key" "$f" && fail "the key appears in $f"
done
"$KEXIN" deid "$CUST" -o "$D/p1b.csv" --key-file "$D/k1.key" -q || fail "second run exit $?"
cmp -s "$D/p1.csv" "$D/p1b.csv" || fail "same key, different output"
"$KEXIN" deid "$CUST" -o "$D/p2.csv" --key-file "$D/k2.key" -q || fail "other key exit $?"
paste -d'|' <(col "$D/p1.csv" 证件号码) <(col "$D/p2.csv" 证件号码) | awk -F'|' '$1 == $2 { bad = 1 } END { exit bad }' \
  || fail "another key gave the same ID pseudonym"
# The same key from the environment gives the same output.
KEXIN_DEID_TEST_KEY=$(cat "$D/k1.key") "$KEXIN" deid "$CUST" -o "$D/penv.csv" --key-env KEXIN_DEID_TEST_KEY -q \
  || fail "--key-env exit $?"
cmp -s "$D/p1.csv" "$D/penv.csv" || fail "--key-env differs from --key-file with the same key"

# Operators from a config: keyed BLAKE2b pseudonyms (key file relative to the config),
# format-preserving ID numbers, configured masks; the other columns still come from the scan.
cat >"$D/ops.toml" <<'TOML'
[key]
file = "k1.key"
hash = "blake2b"

[columns."证件号码"]
role = "direct"
operator = "format_preserving"

[columns."手机"]
role = "direct"
operator = "pseudonymize"

[columns."姓名"]
role = "direct"
operator = "mask"
keep_prefix = 0
keep_suffix = 1
mask_char = "#"

[columns."订单金额"]
role = "insensitive"
operator = "top_bottom"
top = 5000
bottom = 100
TOML
"$KEXIN" deid "$CUST" -o "$D/ops.csv" --config "$D/ops.toml" --report "$D/ops.json" -q 2>"$D/ops.err" \
  || fail "operators from config: exit $?: $(head -c 300 "$D/ops.err")"
python3 - "$CUST" "$D/ops.csv" "$D/k1.key" "$D/ops.json" <<'PY' || fail "operators from config"
import csv, hashlib, json, sys
rin = list(csv.reader(open(sys.argv[1], newline="")))
rout = list(csv.reader(open(sys.argv[2], newline="")))
key = open(sys.argv[3], "rb").read().rstrip(b"\r\n")
h = rin[0]
idc, mob, name, amt = (h.index(n) for n in ("证件号码", "手机", "姓名", "订单金额"))
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
def check_char(first17):
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, W)) % 11]
for a, b in zip(rin[1:], rout[1:]):
    want = "p_" + hashlib.blake2b(b"kexin-pseudonym-v1\0" + a[mob].encode(), key=key,
                                  digest_size=32).hexdigest()[:24]
    assert b[mob] == want, (a[mob], b[mob], want)
    i = b[idc]
    assert len(i) == 18 and i[:6] == a[idc][:6] and i != a[idc], (a[idc], i)
    assert i[17] == check_char(i[:17]), i
    assert 1940 <= int(i[6:10]) < 2010, i
    n = a[name]
    assert b[name] == "#" * (len(n) - 1) + n[-1], (n, b[name])
    x = float(a[amt])
    want = ">=5000" if x >= 5000 else "<=100" if x <= 100 else a[amt]
    assert b[amt] == want, (a[amt], b[amt])
cols = {c["name"]: c for c in json.load(open(sys.argv[4]))["columns"]}
assert cols["手机"]["treatment"] == "pseudonymize (keyed blake2b)", cols["手机"]
assert cols["证件号码"]["source"] == "config" and cols["邮箱"]["source"] == "scan (email)", cols
PY

# GB18030 input: the same output, in UTF-8, with a warning in the report.
iconv -f UTF-8 -t GB18030 "$CUST" >"$D/gb.csv"
"$KEXIN" deid "$D/gb.csv" -o "$D/gb.out.csv" --report "$D/gb.json" -q || fail "gb18030: exit $?"
cmp -s "$D/gb.out.csv" "$D/masked.csv" || fail "gb18030 input gives another output than UTF-8"
grep -q "the input was gb18030; the output is UTF-8" "$D/gb.json" || fail "gb18030: no warning"

# JSONL input: one flat object per line, the same values as for the CSV.
python3 -c '
import csv, json, sys
with open(sys.argv[2], "w") as f:
    for r in csv.DictReader(open(sys.argv[1], newline="")):
        f.write(json.dumps(r, ensure_ascii=False) + "\n")' "$CUST" "$D/cust.jsonl"
"$KEXIN" deid "$D/cust.jsonl" -o "$D/cust.out.jsonl" -q || fail "jsonl: exit $?"
python3 -c '
import csv, json, sys
a = list(csv.DictReader(open(sys.argv[1], newline="")))
b = [json.loads(line) for line in open(sys.argv[2])]
assert a == b, "JSONL output differs from the CSV output"' "$D/masked.csv" "$D/cust.out.jsonl" \
  || fail "jsonl output"

# The report must not overwrite the input or the output.
cp "$CUST" "$D/in.csv"
sum=$(sha256sum <"$D/in.csv")
expect_exit 2 "in.csv" -- "$KEXIN" deid "$D/in.csv" -o "$D/o.csv" --report "$D/in.csv" -q
[ "$(sha256sum <"$D/in.csv")" = "$sum" ] || fail "--report naming the input overwrote the input"
cp "$CUST" "$D/in.csv"
rm -f "$D/o.csv"
expect_exit 2 "o.csv" -- "$KEXIN" deid "$D/in.csv" -o "$D/o.csv" --report "$D/o.csv" -q
head -1 "$D/o.csv" 2>/dev/null | grep -q '^{' && fail "--report naming the output replaced the output"

# A FIFO (as /dev/null or /dev/stdout would be) is written into or refused, never replaced by a
# regular file: as root, renaming over /dev/null would replace the device.
mkfifo "$D/fifo"
timeout 30 cat "$D/fifo" >"$D/fifo.out" &
reader=$!
"$KEXIN" deid "$CUST" -o "$D/fifo" -q >/dev/null 2>"$D/fifo.err"
code=$?
[ -p "$D/fifo" ] || fail "-o FIFO: the FIFO was replaced by a regular file (exit $code)"
if [ "$code" -eq 0 ] && [ -p "$D/fifo" ]; then
  wait "$reader"
  [ "$(wc -l <"$D/fifo.out")" -eq 41 ] || fail "-o FIFO: the reader got $(wc -l <"$D/fifo.out") lines"
else
  kill "$reader" 2>/dev/null
  wait "$reader" 2>/dev/null
fi
[ -z "$(compgen -G "$D/.fifo.tmp.*")" ] || fail "-o FIFO: temporary file left behind"

# Key errors: the key never appears in a message.
expect_fail 3 "nosuch.key" "$D/o.csv" -- "$KEXIN" deid "$CUST" -o "$D/o.csv" --key-file "$D/nosuch.key"
expect_fail 3 "KEXIN_DEID_NO_SUCH_VAR" "$D/o.csv" -- \
  env -u KEXIN_DEID_NO_SUCH_VAR "$KEXIN" deid "$CUST" -o "$D/o.csv" --key-env KEXIN_DEID_NO_SUCH_VAR
printf 'short-key-15byt\n' >"$D/short.key"
expect_fail 2 "short.key.*16 bytes" "$D/o.csv" -- "$KEXIN" deid "$CUST" -o "$D/o.csv" --key-file "$D/short.key"
grep -q "short-key-15byt" "$T/stderr" && fail "a short key is shown in the message"
if [ "$(id -u)" -ne 0 ]; then
  cp "$D/k1.key" "$D/locked.key"
  chmod 000 "$D/locked.key"
  expect_fail 4 "locked.key" "$D/o.csv" -- "$KEXIN" deid "$CUST" -o "$D/o.csv" --key-file "$D/locked.key"
  grep -q "kexin-cli-test-key" "$T/stderr" && fail "the key appears in the permission message"
else
  echo "SKIP: unreadable key file (running as root)"
fi

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "deid_cli_test: all checks passed"
