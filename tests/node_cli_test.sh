#!/usr/bin/env bash
# End-to-end checks of the node commands (`kexin init`, `node show`, `ledger ...`, `register`,
# `registration ...`, `cert ...`): JSON outputs, exit codes and messages (docs/exit-codes.md).
# Ledger proofs are checked with a second, independent RFC 9162 implementation in Python (hashlib
# only). Usage: node_cli_test.sh KEXIN
set -u
KEXIN=$1
SRC=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ALL=$T/all_output  # every stdout and stderr of every command, searched for the key seed at the end
: >"$ALL"

# run CMD...: stdout in $T/out, stderr in $T/err, exit code in $rc; both outputs kept in $ALL.
run() {
  "$@" >"$T/out" 2>"$T/err"
  rc=$?
  cat "$T/out" "$T/err" >>"$ALL"
}
# expect_exit CODE PATTERN -- CMD...: exit code and a stderr pattern (none when PATTERN is empty).
expect_exit() {
  local code=$1 pattern=$2
  shift 3
  run "$@"
  [ "$rc" -eq "$code" ] || fail "$* -> exit $rc, want $code; stderr: $(head -c 300 "$T/err")"
  [ -z "$pattern" ] || grep -qE -- "$pattern" "$T/err" ||
    fail "$* -> stderr lacks /$pattern/: $(head -c 300 "$T/err")"
}
# ok CMD...: must exit 0.
ok() {
  run "$@"
  [ "$rc" -eq 0 ] || fail "$* -> exit $rc, want 0; stderr: $(head -c 300 "$T/err")"
  return "$rc"
}
jget() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }

# init_home DIR NAME: a fresh home; its init JSON is kept in DIR.init.json.
init_home() {
  rm -rf "$1"
  run "$KEXIN" init --home "$1" --name "$2"
  if [ "$rc" -ne 0 ]; then
    fail "init $1 -> exit $rc: $(cat "$T/err")"
    return 1
  fi
  cp "$T/out" "$1.init.json"
}

# ---------------------------------------------------------------------------------------------
# The independent RFC 9162 implementation.
cat >"$T/rfc9162.py" <<'PY'
"""RFC 9162 section 2.1 Merkle trees with hashlib only: MTH, PATH, PROOF and their verifiers."""
import base64
import hashlib


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:  # largest power of two smaller than n
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = split(n)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m, leaves):  # 2.1.3.1
    n = len(leaves)
    if n == 1:
        return []
    k = split(n)
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m, leaves, b):  # 2.1.4.1
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = split(n)
    if m <= k:
        return subproof(m, leaves[:k], b) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def proof(m, leaves):
    return [] if m in (0, len(leaves)) else subproof(m, leaves, True)


def verify_inclusion(index, size, leaf, proof_, root):  # 2.1.3.2
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof_:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_hash, second_hash, proof_):  # 2.1.4.2
    if first > second:
        return False
    if first == second:
        return not proof_ and first_hash == second_hash
    if first == 0:
        return not proof_
    if not proof_:
        return False
    p = list(proof_)
    if first & (first - 1) == 0:
        p = [first_hash] + p
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = p[0]
    for c in p[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


def b64(h: bytes) -> str:
    return base64.b64encode(h).decode()


def unb64(s: str) -> bytes:
    return base64.b64decode(s, validate=True)


def parse_note(text: str):
    """A C2SP signed note: (body text, [(name, key id bytes, signature bytes)])."""
    body, sep, sigs = text.rpartition("\n\n")
    assert sep and text.endswith("\n"), repr(text)
    out = []
    for line in sigs[:-1].split("\n"):
        assert line.startswith("\u2014 "), repr(line)
        name, raw = line[2:].split(" ")
        raw = unb64(raw)
        out.append((name, raw[:4], raw[4:]))
    return body + "\n", out


def key_id(name: str, key: bytes, typ: int = 1) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([typ]) + key).digest()[:4]
PY
export PYTHONPATH=$T

# ---------------------------------------------------------------------------------------------
# kexin init, node show.
H=$T/a
init_home "$H" node-a
cp "$H.init.json" "$T/init.json"
python3 - "$T/init.json" "$H" <<'PY' || fail "init JSON"
import json, sys
j = json.load(open(sys.argv[1]))
assert set(j) == {"home", "name", "origin", "store", "public_key", "verifier_key"}, j
assert j["home"] == sys.argv[2] and j["name"] == "node-a" and j["origin"] == "kexin.local/node-a", j
assert j["store"] == "sqlite:" + sys.argv[2] + "/node.db", j
name, kid, mat = j["verifier_key"].split("+", 2)
assert name == j["origin"] and len(kid) == 8, j
PY
[ "$(stat -c %a "$H/node.key")" = 600 ] || fail "node.key mode $(stat -c %a "$H/node.key"), want 600"
[ "$(stat -c %a "$H")" = 700 ] || fail "home mode $(stat -c %a "$H"), want 700"
[ -f "$H/config.toml" ] && [ -f "$H/node.db" ] || fail "home lacks config.toml or node.db"
SEED=$(sed -n 's/^kexin-ed25519-seed-v1 //p' "$H/node.key")
[ ${#SEED} -eq 44 ] || fail "node.key does not hold a base64 seed: $(wc -c <"$H/node.key") bytes"
PK=$(jget "$T/init.json" verifier_key)
# The public key, checked against the seed and the C2SP key id with Python (when available).
python3 - "$PK" "$SEED" <<'PY' || fail "public key does not match the seed or its key id"
import base64, sys
from rfc9162 import key_id
name, kid, mat = sys.argv[1].split("+", 2)
raw = base64.b64decode(mat)
assert len(raw) == 33 and raw[0] == 1, raw
assert key_id(name, raw[1:]).hex() == kid, (key_id(name, raw[1:]).hex(), kid)
try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives import serialization
except ImportError:
    sys.exit(0)
pub = Ed25519PrivateKey.from_private_bytes(base64.b64decode(sys.argv[2])).public_key()
assert pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw) == raw[1:]
PY

ok "$KEXIN" node show --home "$H"
cp "$T/out" "$T/show0.json"
python3 - "$T/show0.json" "$PK" <<'PY' || fail "node show JSON"
import base64, json, sys
j = json.load(open(sys.argv[1]))
assert set(j) == {"home", "name", "origin", "store", "public_key", "verifier_key", "ledger"}, j
assert j["verifier_key"] == sys.argv[2], j
assert base64.b64decode(sys.argv[2].split("+", 2)[2])[1:].hex() == j["public_key"], j
assert j["ledger"] == {"size": 0, "root": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
                       "latest_checkpoint": None}, j["ledger"]
PY
KEXIN_HOME=$H ok "$KEXIN" node show
grep -q '"name": "node-a"' "$T/out" || fail "KEXIN_HOME is not the default home"

expect_exit 9 "already a kexin home" -- "$KEXIN" init --home "$H" --name node-a
[ "$(stat -c %a "$H/node.key")" = 600 ] && grep -qF "$SEED" "$H/node.key" ||
  fail "second init touched node.key"
expect_exit 2 "node name" -- "$KEXIN" init --home "$T/badname" --name "a b"
expect_exit 3 "not a kexin home" -- "$KEXIN" node show --home "$T/nohome"

# ---------------------------------------------------------------------------------------------
# kexin ledger append / show / checkpoint / proof / consistency / verify.
N=13
for i in $(seq 0 $((N - 1))); do
  if [ "$i" -eq 4 ]; then
    printf '{"数据":"登记","n":%d,"nested":{"b":[1,2.5,"x"],"a":null}}' "$i" >"$T/body.json"
    run "$KEXIN" ledger append --type note.file --body-file "$T/body.json" --home "$H"
  else
    run "$KEXIN" ledger append --type note.test --body "{\"i\":$i,\"s\":\"e$i\"}" --home "$H"
  fi
  [ "$rc" -eq 0 ] || fail "ledger append $i -> exit $rc: $(cat "$T/err")"
  python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))=={"index":int(sys.argv[2])}' \
    "$T/out" "$i" || fail "ledger append $i printed $(cat "$T/out")"
done
expect_exit 2 "not valid JSON" -- "$KEXIN" ledger append --type note.test --body '{oops' --home "$H"
expect_exit 2 "type is empty" -- "$KEXIN" ledger append --type "" --body '{}' --home "$H"
echo 'nope' >"$T/notjson.txt"
expect_exit 5 "notjson.txt: not valid JSON" -- \
  "$KEXIN" ledger append --type t --body-file "$T/notjson.txt" --home "$H"

# Every entry, as `ledger show INDEX` prints it.
for i in $(seq 0 $((N - 1))); do
  ok "$KEXIN" ledger show "$i" --home "$H" && cp "$T/out" "$T/entry$i.json"
done
python3 - "$T" "$N" <<'PY' || fail "ledger show INDEX JSON"
import json, sys
from rfc9162 import leaf_hash, b64
t, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    j = json.load(open(f"{t}/entry{i}.json"))
    assert set(j) == {"index", "leaf_hash", "entry", "canonical"}, j
    assert j["index"] == i, j
    c = j["canonical"]
    assert json.loads(c) == j["entry"], j
    # RFC 8785: sorted keys, no whitespace.
    assert c == json.dumps(j["entry"], sort_keys=True, separators=(",", ":"), ensure_ascii=False), c
    assert set(j["entry"]) == {"body", "time", "type"}, j
    assert j["leaf_hash"] == b64(leaf_hash(c.encode())), (i, j["leaf_hash"])
assert json.load(open(f"{t}/entry4.json"))["entry"]["type"] == "note.file"
assert json.load(open(f"{t}/entry4.json"))["entry"]["body"]["数据"] == "登记"
PY
expect_exit 3 "ledger entry 99 does not exist" -- "$KEXIN" ledger show 99 --home "$H"

ok "$KEXIN" ledger show --home "$H"
cp "$T/out" "$T/state.json"
python3 - "$T" "$N" <<'PY' || fail "ledger show JSON / root"
import json, sys
from rfc9162 import leaf_hash, mth, b64
t, n = sys.argv[1], int(sys.argv[2])
leaves = [leaf_hash(json.load(open(f"{t}/entry{i}.json"))["canonical"].encode()) for i in range(n)]
j = json.load(open(f"{t}/state.json"))
assert set(j) == {"origin", "size", "root", "latest_checkpoint"}, j
assert j["origin"] == "kexin.local/node-a" and j["size"] == n, j
assert j["root"] == b64(mth(leaves)), (j["root"], b64(mth(leaves)))
assert j["latest_checkpoint"] is None, j
PY

ok "$KEXIN" ledger checkpoint --home "$H"
cp "$T/out" "$T/checkpoint.txt"
python3 - "$T" "$N" "$PK" <<'PY' || fail "ledger checkpoint note"
import base64, json, sys
from rfc9162 import leaf_hash, mth, b64, parse_note, key_id
t, n, pk = sys.argv[1], int(sys.argv[2]), sys.argv[3]
leaves = [leaf_hash(json.load(open(f"{t}/entry{i}.json"))["canonical"].encode()) for i in range(n)]
text = open(f"{t}/checkpoint.txt", encoding="utf-8").read()
body, sigs = parse_note(text)
assert body == f"kexin.local/node-a\n{n}\n{b64(mth(leaves))}\n", body
assert len(sigs) == 1, sigs
name, kid, sig = sigs[0]
name_, kid_hex, mat = pk.split("+", 2)
key = base64.b64decode(mat)[1:]
assert name == name_ == "kexin.local/node-a" and kid == key_id(name, key) and kid.hex() == kid_hex
assert len(sig) == 64, len(sig)
try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:
    sys.exit(0)
Ed25519PublicKey.from_public_bytes(key).verify(sig, body.encode())
PY
ok "$KEXIN" ledger show --home "$H"
python3 -c 'import json,sys
note = open(sys.argv[2], encoding="utf-8").read()
assert json.load(open(sys.argv[1]))["latest_checkpoint"] == note' \
  "$T/out" "$T/checkpoint.txt" || fail "ledger show does not report the latest checkpoint"
ok "$KEXIN" ledger checkpoint --home "$H"
cmp -s "$T/out" "$T/checkpoint.txt" || fail "a second checkpoint at the same size differs"

# Inclusion proofs at the checkpoint's size (default) and at every smaller size.
for i in $(seq 0 $((N - 1))); do
  ok "$KEXIN" ledger proof "$i" --home "$H" && cp "$T/out" "$T/proof$i.json"
done
for s in 1 2 3 5 8 12; do
  for i in 0 $((s / 2)) $((s - 1)); do
    ok "$KEXIN" ledger proof "$i" --size "$s" --home "$H" && cp "$T/out" "$T/proof${i}_$s.json"
  done
done
python3 - "$T" "$N" <<'PY' || fail "inclusion proofs"
import glob, json, os, sys
from rfc9162 import leaf_hash, mth, path, b64, unb64, verify_inclusion, parse_note
t, n = sys.argv[1], int(sys.argv[2])
leaves = [leaf_hash(json.load(open(f"{t}/entry{i}.json"))["canonical"].encode()) for i in range(n)]
checked = 0
for f in glob.glob(f"{t}/proof*.json"):
    j = json.load(open(f))
    assert set(j) == {"index", "tree_size", "leaf_hash", "root", "inclusion_proof", "checkpoint"}, j
    i, s = j["index"], j["tree_size"]
    p = [unb64(x) for x in j["inclusion_proof"]]
    root = unb64(j["root"])
    assert j["leaf_hash"] == b64(leaves[i]), f
    assert root == mth(leaves[:s]), f
    assert p == path(i, leaves[:s]), (f, "the proof differs from RFC 9162 PATH")
    assert verify_inclusion(i, s, leaves[i], p, root), f
    # The verifier is not a yes-man: a wrong leaf, index, element or length fails.
    assert not verify_inclusion(i, s, leaf_hash(b"x"), p, root), f
    if s > 1:
        assert not verify_inclusion((i + 1) % s, s, leaves[i], p, root), f
        bad = list(p)
        bad[0] = bytes([bad[0][0] ^ 1]) + bad[0][1:]
        assert not verify_inclusion(i, s, leaves[i], bad, root), f
        assert not verify_inclusion(i, s, leaves[i], p[:-1], root), f
    assert not verify_inclusion(i, s, leaves[i], p + [leaves[0]], root), f
    if "_" in os.path.basename(f):
        assert j["checkpoint"] is None, f
    else:
        assert s == n, f
        body, _ = parse_note(j["checkpoint"])
        assert body.split("\n")[1:3] == [str(n), j["root"]], body
    checked += 1
assert checked == n + 15, checked  # 15 distinct (index, size) pairs above
PY
expect_exit 2 "not below tree size" -- "$KEXIN" ledger proof 5 --size 5 --home "$H"
expect_exit 2 "exceeds the ledger size" -- "$KEXIN" ledger proof 0 --size 99 --home "$H"

# Consistency proofs between every pair of sizes, and OLD alone (NEW = current size).
for old in $(seq 0 $N); do
  for new in $(seq "$old" $N); do
    ok "$KEXIN" ledger consistency "$old" "$new" --home "$H" && cp "$T/out" "$T/cons_${old}_$new.json"
  done
done
ok "$KEXIN" ledger consistency 6 --home "$H" && cp "$T/out" "$T/cons_default.json"
python3 - "$T" "$N" <<'PY' || fail "consistency proofs"
import glob, json, sys
from rfc9162 import leaf_hash, mth, proof, unb64, verify_consistency
t, n = sys.argv[1], int(sys.argv[2])
leaves = [leaf_hash(json.load(open(f"{t}/entry{i}.json"))["canonical"].encode()) for i in range(n)]
d = json.load(open(f"{t}/cons_default.json"))
assert d["old_size"] == 6 and d["new_size"] == n, d
checked = 0
for f in glob.glob(f"{t}/cons_*.json"):
    j = json.load(open(f))
    assert set(j) == {"old_size", "new_size", "old_root", "new_root", "consistency_proof"}, j
    m, s = j["old_size"], j["new_size"]
    p = [unb64(x) for x in j["consistency_proof"]]
    old_root, new_root = unb64(j["old_root"]), unb64(j["new_root"])
    assert old_root == mth(leaves[:m]) and new_root == mth(leaves[:s]), f
    assert p == proof(m, leaves[:s]), (f, "the proof differs from RFC 9162 PROOF")
    assert verify_consistency(m, s, old_root, new_root, p), f
    if 0 < m < s:
        bad = list(p)
        bad[-1] = bytes([bad[-1][0] ^ 1]) + bad[-1][1:]
        assert not verify_consistency(m, s, old_root, new_root, bad), f
        assert not verify_consistency(m, s, old_root, leaf_hash(b"x"), p), f
        assert not verify_consistency(m, s, leaf_hash(b"x"), new_root, p), f
    checked += 1
assert checked == (n + 1) * (n + 2) // 2 + 1, checked
PY
expect_exit 2 "old size exceeds new size" -- "$KEXIN" ledger consistency 5 3 --home "$H"
expect_exit 2 "exceeds the ledger size" -- "$KEXIN" ledger consistency 1 99 --home "$H"

ok "$KEXIN" ledger verify --home "$H"
grep -q "$N entries and every checkpoint verify" "$T/out" ||
  fail "ledger verify output: $(cat "$T/out")"

# ---------------------------------------------------------------------------------------------
# register, registration ..., cert show / verify.
cat >"$T/META.toml" <<'EOF'
name = "客户信息"
holder = "北京示例科技有限公司"
sector = "retail"
source = "CRM export"
scenario = "customer analytics"
[rights.holding]
holder = "北京示例科技有限公司"
[rights.processing]
holder = "北京示例科技有限公司"
[rights.operation]
holder = "北京示例科技有限公司"
EOF
ok "$KEXIN" register "$SRC/examples/customers.csv" --meta "$T/META.toml" --home "$H" -o "$T/cert.json"
grep -qE "registration [0-9a-f]{32} version 1 \(initial\) recorded at ledger index $N" "$T/err" ||
  fail "register message: $(cat "$T/err")"
ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["registration"]["id"])' \
  "$T/cert.json")
python3 - "$T/cert.json" "$PK" "$N" <<'PY' || fail "certificate JSON"
import json, sys
from rfc9162 import leaf_hash, unb64, verify_inclusion, parse_note
c = json.load(open(sys.argv[1]))
assert c["certificate"] == "kexin.registration-certificate/v1", c
assert c["node"]["key"] == sys.argv[2], c["node"]
r, l = c["registration"], c["ledger"]
assert r["action"] == "initial" and r["version"] == 1 and r["previous"] is None, r
assert r["personal_information"] is True and r["file_name"] == "customers.csv", r
assert l["index"] == int(sys.argv[3]) and l["tree_size"] == l["index"] + 1, l
e = json.loads(l["entry"])
assert e["type"] == "registration.initial" and e["body"] == r, e
body, _ = parse_note(l["checkpoint"])
root = unb64(body.split("\n")[2])
assert verify_inclusion(l["index"], l["tree_size"], leaf_hash(l["entry"].encode()),
                        [unb64(p) for p in l["inclusion_proof"]], root)
PY
ok "$KEXIN" cert verify "$T/cert.json" --key "$PK"
grep -q "certificate verifies; registration is active" "$T/out" ||
  fail "cert verify output: $(cat "$T/out")"
for check in format "node key" "trusted key" "certificate signature" "ledger entry" \
  "checkpoint signature" checkpoint "inclusion proof" validity; do
  grep -qE "^$check +ok " "$T/out" || fail "cert verify does not report '$check' ok"
done
ok "$KEXIN" cert verify "$T/cert.json"
grep -q "not checked" "$T/out" || fail "cert verify without --key does not say the key was not checked"
ok "$KEXIN" cert show "$T/cert.json"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["id"]==sys.argv[2]' "$T/out" "$ID" ||
  fail "cert show"

# Tampered certificates: exit 6, and the failing check is named.
python3 - "$T/cert.json" "$T" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
t = sys.argv[2]
def save(name, cert):
    json.dump(cert, open(f"{t}/{name}.json", "w"), ensure_ascii=False, indent=1)
copy = lambda: json.loads(json.dumps(c))
x = copy(); x["registration"]["name"] = "别的"; save("t_reg", x)
x = copy(); x["ledger"]["index"] += 1; save("t_index", x)
x = copy(); x["ledger"]["entry"] = x["ledger"]["entry"].replace("客户", "顾客"); save("t_entry", x)
x = copy(); s = x["signature"]
x["signature"] = s[:10] + ("A" if s[10] != "A" else "B") + s[11:]; save("t_sig", x)
PY
for t in t_reg t_index t_entry t_sig; do
  expect_exit 6 "corruption: .*$t.json: certificate does not verify" -- \
    "$KEXIN" cert verify "$T/$t.json" --key "$PK"
  grep -qE "^certificate signature +FAIL" "$T/out" ||
    fail "$t: 'certificate signature' not reported as failing"
done
printf 'this is not JSON\n' >"$T/notjson.json"
expect_exit 5 "notjson.json: not valid JSON" -- "$KEXIN" cert verify "$T/notjson.json" --key "$PK"
expect_exit 3 "missing.json" -- "$KEXIN" cert verify "$T/missing.json" --key "$PK"
echo '{"a":1}' >"$T/other.json"
expect_exit 6 "certificate does not verify" -- "$KEXIN" cert verify "$T/other.json"
grep -qE "^format +FAIL" "$T/out" || fail "a JSON non-certificate does not fail at 'format'"

# Another node's key: the certificate was not issued by it.
H2=$T/b
init_home "$H2" node-b
PK2=$(jget "$H2.init.json" verifier_key)
expect_exit 6 "certificate does not verify" -- "$KEXIN" cert verify "$T/cert.json" --key "$PK2"
grep -qE "^trusted key +FAIL" "$T/out" ||
  fail "another node's --key: 'trusted key' not reported: $(cat "$T/out")"
expect_exit 2 "verifier key must be" -- "$KEXIN" cert verify "$T/cert.json" --key "garbage"

# Later actions.
ok "$KEXIN" registration transfer "$ID" --right processing --to "上海样例分析有限公司" --home "$H" \
  -o "$T/cert2.json"
ok "$KEXIN" cert verify "$T/cert2.json" --key "$PK"
python3 - "$T/cert.json" "$T/cert2.json" <<'PY' || fail "transfer certificate"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
r = b["registration"]
assert r["version"] == 2 and r["action"] == "transfer", r
assert r["previous"] == {"version": 1, "ledger_index": a["ledger"]["index"]}, r["previous"]
assert r["rights"]["processing"] == {"holder": "上海样例分析有限公司",
                                     "transferred_from": "北京示例科技有限公司"}, r["rights"]
assert json.loads(b["ledger"]["entry"])["type"] == "registration.transfer"
PY
ok "$KEXIN" registration show "$ID" --home "$H"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))
assert j["status"] == "active" and j["version"] == 2, j' "$T/out" || fail "registration show"
ok "$KEXIN" registration list --home "$H"
python3 -c 'import json,sys; assert [r["id"] for r in json.load(open(sys.argv[1]))]==[sys.argv[2]]' \
  "$T/out" "$ID" || fail "registration list"
ok "$KEXIN" registration cancel "$ID" --reason "withdrawn" --home "$H" -o "$T/cert3.json"
# A cancellation certificate verifies but is not active: exit 9.
expect_exit 9 "" -- "$KEXIN" cert verify "$T/cert3.json" --key "$PK"
grep -q "certificate verifies; registration is cancelled" "$T/out" ||
  fail "cancelled cert verify: $(cat "$T/out")"
expect_exit 9 "is cancelled" -- "$KEXIN" registration transfer "$ID" --right holding --to x --home "$H"
expect_exit 3 "does not exist" -- "$KEXIN" registration show 0123456789abcdef --home "$H"
expect_exit 2 "right must be" -- "$KEXIN" registration transfer "$ID" --right owner --to x --home "$H"

ok "$KEXIN" ledger verify --home "$H"

# ---------------------------------------------------------------------------------------------
# The node key file: commands refuse a key readable by others (exit 4).
chmod 644 "$H/node.key"
expect_exit 4 "accessible by group or others.*chmod 600" -- "$KEXIN" node show --home "$H"
expect_exit 4 "accessible by group or others" -- "$KEXIN" ledger append --type t --body '{}' --home "$H"
expect_exit 4 "accessible by group or others" -- "$KEXIN" ledger verify --home "$H"
expect_exit 4 "accessible by group or others" -- \
  "$KEXIN" register "$SRC/examples/customers.csv" --meta "$T/META.toml" --home "$H"
chmod 640 "$H/node.key"
expect_exit 4 "accessible by group or others" -- "$KEXIN" ledger show --home "$H"
chmod 600 "$H/node.key"
ok "$KEXIN" node show --home "$H"

# The seed never appears in any output.
if grep -qF -- "$SEED" "$ALL"; then fail "the node key seed appeared in a command's output"; fi
SEED2=$(sed -n 's/^kexin-ed25519-seed-v1 //p' "$H2/node.key")
if grep -qF -- "$SEED2" "$ALL"; then fail "node-b's key seed appeared in a command's output"; fi

# ---------------------------------------------------------------------------------------------
# A tampered store: every command that opens the ledger refuses with exit 6 (corruption).
cp "$H/node.db" "$T/node.db.orig"
FORGED='{"body":{"i":0,"s":"forged"},"time":"2020-01-01T00:00:00Z","type":"note.test"}'
sqlite3 "$H/node.db" "UPDATE ledger_entries SET entry='$FORGED' WHERE idx=0" || fail "sqlite3 update"
for cmd in "node show" "ledger show" "ledger show 0" "ledger verify" "ledger checkpoint" \
  "ledger proof 0" "ledger consistency 1" "registration list"; do
  # shellcheck disable=SC2086
  expect_exit 6 "corruption: .*entry 0" -- "$KEXIN" $cmd --home "$H"
done
expect_exit 6 "corruption" -- "$KEXIN" ledger append --type t --body '{}' --home "$H"
expect_exit 6 "corruption" -- \
  "$KEXIN" register "$SRC/examples/customers.csv" --meta "$T/META.toml" --home "$H"
# Changing the stored leaf hash along with the entry is caught by the signed checkpoint.
python3 - "$H/node.db" <<'PY' || fail "re-hashing the forged entry"
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
(e,) = db.execute("SELECT entry FROM ledger_entries WHERE idx=0").fetchone()
db.execute("UPDATE ledger_entries SET leaf_hash=? WHERE idx=0",
           (hashlib.sha256(b"\x00" + e.encode()).hexdigest(),))
db.commit()
PY
expect_exit 6 "corruption: .*checkpoint" -- "$KEXIN" node show --home "$H"
expect_exit 6 "corruption" -- "$KEXIN" ledger verify --home "$H"
# A tampered checkpoint note.
cp "$T/node.db.orig" "$H/node.db"
ok "$KEXIN" ledger verify --home "$H"
sqlite3 "$H/node.db" "UPDATE ledger_checkpoints SET note=replace(note, 'kexin.local/node-a
', 'kexin.local/node-x
') WHERE size=(SELECT max(size) FROM ledger_checkpoints)" || fail "sqlite3 update checkpoint"
expect_exit 6 "corruption: ledger: latest checkpoint" -- "$KEXIN" node show --home "$H"
expect_exit 6 "corruption" -- "$KEXIN" ledger verify --home "$H"
# A missing entry.
cp "$T/node.db.orig" "$H/node.db"
sqlite3 "$H/node.db" "DELETE FROM ledger_entries WHERE idx=3" || fail "sqlite3 delete"
expect_exit 6 "corruption: .*entry 3 is missing" -- "$KEXIN" ledger show --home "$H"

# ---------------------------------------------------------------------------------------------
# Fixed bug: a node whose key's base64 contains '+' (about half of all keys) issued certificates
# that `cert verify --key` rejected ("node key: bad key material"). Homes are made until one has such
# a key.
for attempt in $(seq 1 60); do
  init_home "$T/p" node-p || break
  PKP=$(jget "$T/p.init.json" verifier_key)
  case "${PKP#*+*+}" in *+*) break ;; esac
done
case "${PKP#*+*+}" in
  *+*)
    ok "$KEXIN" register "$SRC/examples/customers.csv" --meta "$T/META.toml" --home "$T/p" \
      -o "$T/certp.json"
    ok "$KEXIN" cert verify "$T/certp.json" --key "$PKP" ||
      fail "key with '+' ($PKP): $(cat "$T/out")"
    ;;
  *) fail "no key with '+' in its base64 in 60 homes" ;;
esac

# Witnessing: node W cosigns node A's checkpoints only when consistent with what it saw before.
init_home "$T/wa" node-wa && init_home "$T/ww" node-ww
PKA=$(jget "$T/wa.init.json" verifier_key)
for i in 1 2 3; do "$KEXIN" ledger append --type t --body "{\"i\":$i}" --home "$T/wa" >/dev/null; done
"$KEXIN" ledger checkpoint --home "$T/wa" >"$T/cp3"
ok "$KEXIN" ledger cosign "$T/cp3" --log-key "$PKA" --home "$T/ww"
grep -q "^— kexin.local/node-ww " "$T/out" || fail "cosign printed no cosignature line"
for i in 4 5; do "$KEXIN" ledger append --type t --body "{\"i\":$i}" --home "$T/wa" >/dev/null; done
"$KEXIN" ledger checkpoint --home "$T/wa" >"$T/cp5"
"$KEXIN" ledger consistency 3 5 --home "$T/wa" >"$T/pr35"
ok "$KEXIN" ledger cosign "$T/cp5" --log-key "$PKA" --proof "$T/pr35" --home "$T/ww"
expect_exit 9 "older than" -- "$KEXIN" ledger cosign "$T/cp3" --log-key "$PKA" --home "$T/ww"
sed 's/^5$/6/' "$T/cp5" >"$T/cp5bad"
expect_exit 6 "does not verify" -- "$KEXIN" ledger cosign "$T/cp5bad" --log-key "$PKA" --home "$T/ww"

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "node_cli_test: all checks passed"
