#!/usr/bin/env bash
# The node module's HTTP endpoints against a real `kexin serve` process: registrations (success,
# certificate verified offline, and every refusal leaving the ledger unchanged) and the ledger
# views (entries, inclusion and consistency proofs checked against the CLI's, checkpoint signing).
# Usage: node_api_test.sh KEXIN
set -u
KEXIN=$1
SRC=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
jq_() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1:]: d=d[int(k)] if isinstance(d,list) else d[k]
print(d if not isinstance(d,(dict,list)) else json.dumps(d, sort_keys=True))' "$@"; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
H=$T/h
"$KEXIN" init --home "$H" --name node-a >"$T/init.json" || exit 1
VKEY=$(jq_ verifier_key <"$T/init.json")
PROV=$("$KEXIN" user add p --role provider --home "$H" | jq_ token)
CONS=$("$KEXIN" user add c --role consumer --home "$H" | jq_ token)
AUD=$("$KEXIN" user add a --role auditor --home "$H" | jq_ token)
ADMIN=$("$KEXIN" user add root --role admin --home "$H" | jq_ token)
mkdir -p "$T/data/sub"
cp "$SRC/examples/customers.csv" "$T/data/sub/customers.csv"
ln -s /etc/hostname "$T/data/escape.csv"
"$KEXIN" serve --home "$H" --listen "127.0.0.1:$PORT" --data-root "$T/data" 2>"$T/serve.log" &
PID=$!
for _ in $(seq 100); do curl -sf "$URL/healthz" >/dev/null && break; sleep 0.05; done

req() {  # req TOKEN METHOD PATH [BODY_FILE] -> prints status, body in $T/body
  curl -s -o "$T/body" -w '%{http_code}' -X "$2" -H "Authorization: Bearer $1" \
    -H 'Content-Type: application/json' ${4:+--data-binary @"$4"} "$URL$3"
}
size() { curl -s -H "Authorization: Bearer $AUD" "$URL/v1/ledger" | jq_ size; }
body() {  # body FILE META_TOML_FILE [extra json]
  python3 - "$@" <<'PY'
import json, sys
b = {"file": sys.argv[2]}
if sys.argv[3] != "-": b["meta_toml"] = open(sys.argv[3]).read()
if len(sys.argv) > 4: b.update(json.loads(sys.argv[4]))
json.dump(b, open(sys.argv[1], "w"))
PY
}

# Refusals: status, a message naming the member, nothing appended.
before=$(size)
check_refusal() {  # label want_status want_text body_file [token]
  local got; got=$(req "${5:-$PROV}" POST /v1/registrations "$4")
  [ "$got" = "$2" ] && grep -q "$3" "$T/body" || fail "$1: want $2 '$3', got $got $(cat "$T/body")"
}
body "$T/b1" examples/customers.csv "$SRC/examples/customers.meta.toml"
check_refusal "relative path" 400 "absolute path" "$T/b1"
body "$T/b2" "$T/data/missing.csv" "$SRC/examples/customers.meta.toml"
check_refusal "missing file" 404 "missing.csv" "$T/b2"
# Outside the root, a file that does not exist gets the same answer as one that does.
body "$T/b2b" "/etc/no-such-file-here" "$SRC/examples/customers.meta.toml"
check_refusal "missing file outside the root" 403 "is not under the node's data root" "$T/b2b"
printf 'name = "x"\nbogus = 1\n' >"$T/bad.toml"
body "$T/b3" "$T/data/sub/customers.csv" "$T/bad.toml"
check_refusal "bad META.toml" 400 "meta_toml:2: unknown key 'bogus'" "$T/b3"
body "$T/b4" "$T/data/sub/customers.csv" -
check_refusal "no description" 400 "meta_toml' or 'meta'" "$T/b4"
body "$T/b5" "$T/data/sub/customers.csv" "$SRC/examples/customers.meta.toml" '{"full_scan":"yes"}'
check_refusal "full_scan type" 400 "full_scan" "$T/b5"
printf '{"file": ' >"$T/b6"
check_refusal "malformed JSON" 400 "malformed JSON" "$T/b6"
body "$T/out" /etc/hostname "$SRC/examples/customers.meta.toml"
check_refusal "outside the data root" 403 "is not under the node's data root" "$T/out"
body "$T/sym" "$T/data/escape.csv" "$SRC/examples/customers.meta.toml"
check_refusal "symlink out of the data root" 403 "is not under the node's data root" "$T/sym"
body "$T/dots" "$T/data/sub/../../init.json" "$SRC/examples/customers.meta.toml"
check_refusal "dot-dot out of the data root" 403 "is not under the node's data root" "$T/dots"
body "$T/ok" "$T/data/sub/customers.csv" "$SRC/examples/customers.meta.toml"
check_refusal "consumer role" 403 "" "$T/ok" "$CONS"
[ "$(size)" = "$before" ] || fail "a refused registration changed the ledger ($before -> $(size))"

# Success: 201 with a certificate that verifies offline with the node's verifier key.
[ "$(req "$PROV" POST /v1/registrations "$T/ok")" = 201 ] || fail "registration: $(cat "$T/body")"
cp "$T/body" "$T/cert.json"
ID=$(jq_ registration id <"$T/cert.json")
"$KEXIN" cert verify "$T/cert.json" --key "$VKEY" >/dev/null || fail "certificate does not verify offline"
[ "$(req "$AUD" GET /v1/registrations)" = 200 ] && [ "$(jq_ 0 id <"$T/body")" = "$ID" ] || fail "list"
[ "$(req "$PROV" GET "/v1/registrations/$ID")" = 200 ] && [ "$(jq_ status <"$T/body")" = active ] || fail "show"
[ "$(req "$CONS" GET "/v1/registrations/$ID")" = 403 ] || fail "consumer may not list registrations"
[ "$(req "$CONS" GET "/v1/registrations/$ID/certificate")" = 200 ] || fail "certificate for a consumer"
"$KEXIN" cert verify "$T/body" --key "$VKEY" >/dev/null || fail "fresh certificate does not verify"
[ "$(req "$PROV" GET /v1/registrations/nope)" = 404 ] || fail "unknown registration should be 404"
# A peer sees the certificate only of data offered to it.
"$KEXIN" init --home "$T/peer" --name peer-p >"$T/peer.json" || exit 1
"$KEXIN" peer add p http://127.0.0.1:1 "$(jq_ public_key <"$T/peer.json")" --home "$H" >/dev/null
sleep 1.2  # the server's peer cache forgets unknown keys after a second
SEND="python3 $SRC/tests/dsp_send.py"
[ "$($SEND "$T/peer" GET "$URL/v1/registrations/$ID/certificate" | head -1)" = 404 ] ||
  fail "a peer should not see the certificate of unoffered data"
python3 - "$ID" "$SRC/examples/policies/statistics-compute-only.json" >"$T/offer.json" <<'PY'
import json, sys
print(json.dumps({"registration": sys.argv[1], "policy": json.load(open(sys.argv[2]))}))
PY
[ "$(req "$PROV" POST /v1/offers "$T/offer.json")" = 201 ] || fail "offer: $(cat "$T/body")"
[ "$($SEND "$T/peer" GET "$URL/v1/registrations/$ID/certificate" | head -1)" = 200 ] ||
  fail "a peer should see the certificate of offered data"

# Ledger views equal the CLI's.
[ "$(req "$AUD" GET /v1/ledger/entries/0)" = 200 ] || fail "entry 0"
[ "$(jq_ entry <"$T/body")" = "$("$KEXIN" ledger show 0 --home "$H" | jq_ entry)" ] || fail "entry differs from the CLI"
[ "$(req "$CONS" GET /v1/ledger/entries/0)" = 403 ] || fail "consumer may not read entries"
[ "$(req "$AUD" GET /v1/ledger/entries/x1)" = 400 ] || fail "non-numeric index should be 400"
[ "$(req "$AUD" GET /v1/ledger/entries/99)" = 404 ] || fail "index beyond the ledger should be 404: $(cat "$T/body")"
[ "$(req "$AUD" GET "/v1/ledger/proof/0?size=1")" = 200 ] || fail "proof"
[ "$(jq_ inclusion_proof <"$T/body")" = "$("$KEXIN" ledger proof 0 --size 1 --home "$H" | jq_ inclusion_proof)" ] || fail "proof differs"
[ "$(req "$AUD" GET "/v1/ledger/proof/0?size=-1")" = 400 ] || fail "negative size should be 400"
[ "$(req "$AUD" GET "/v1/ledger/consistency?old=1")" = 200 ] || fail "consistency"
[ "$(req "$AUD" GET "/v1/ledger/consistency")" = 400 ] || fail "consistency without old should be 400"
[ "$(req "$AUD" POST /v1/ledger/checkpoint)" = 403 ] || fail "auditor may not sign checkpoints"
[ "$(req "$ADMIN" POST /v1/ledger/checkpoint)" = 200 ] && grep -q "kexin.local/node-a" "$T/body" || fail "admin checkpoint"
"$KEXIN" ledger verify --home "$H" >/dev/null || fail "ledger verify"

# Hostile input must not take the node down (review findings): invalid UTF-8 in a path, with and
# without a token, and JSON nested 200,000 deep (refused before parsing).
[ "$(curl -s -o "$T/body" -w '%{http_code}' "$URL/%FF")" = 404 ] || fail "invalid UTF-8 path should be 404"
[ "$(req "$AUD" GET /v1/offers/%FF)" = 404 ] || fail "invalid UTF-8 offer id should be 404"
python3 -c "d=200000;print('{\"file\":'+'['*d+']'*d+'}')" >"$T/deep.json"
[ "$(req "$PROV" POST /v1/registrations "$T/deep.json")" = 400 ] && grep -q "nests deeper than 64" "$T/body" ||
  fail "deep JSON should be 400: $(head -c 200 "$T/body")"
curl -sf "$URL/healthz" >/dev/null || fail "the node died on hostile input"

if [ $fails -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "node_api_test: OK"
