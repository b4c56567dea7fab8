#!/usr/bin/env bash
# The second half of the quick start: with scripts/quickstart.sh's provider node running, starts a
# consumer node on port 8444, makes the two nodes trust each other's keys, fetches the provider's
# catalog, finds the sample offer, negotiates a contract over the Dataspace Protocol to FINALIZED
# and shows the agreement on the consumer ledger, cross-checked against the provider ledger (signed
# checkpoints and inclusion proofs from both sides). Leaves the consumer serving until
# Ctrl-C. Environment: as quickstart.sh, plus KEXIN_PEER_PORT (default 8444).
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=${KEXIN_DEMO_DIR:-$PWD/.kexin-demo}
PPORT=${KEXIN_DEMO_PORT:-8443}
CPORT=${KEXIN_PEER_PORT:-8444}
K=${KEXIN_BIN:-$PWD/build/release/kexin}
[ -x "$K" ] || { echo "quickstart-peer: run scripts/quickstart.sh first (no $K)" >&2; exit 1; }
[ -f "$DEMO/provider-admin.json" ] || { echo "quickstart-peer: run scripts/quickstart.sh first" >&2; exit 1; }
PURL=http://127.0.0.1:$PPORT
CURL_=http://127.0.0.1:$CPORT
curl -sf "$PURL/healthz" >/dev/null || { echo "quickstart-peer: the provider at $PURL is not running (start scripts/quickstart.sh)" >&2; exit 1; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
PTOKEN=$(json "['token']" < "$DEMO/provider-admin.json")
CHOME=$DEMO/consumer
if [ ! -f "$CHOME/config.toml" ]; then
  "$K" init --home "$CHOME" --name consumer >/dev/null
  "$K" user add admin --role admin --home "$CHOME" > "$DEMO/consumer-admin.json"
  chmod 600 "$DEMO/consumer-admin.json"
fi
CTOKEN=$(json "['token']" < "$DEMO/consumer-admin.json")

"$K" serve --home "$CHOME" --listen "127.0.0.1:$CPORT" --public-url "$CURL_" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null' EXIT INT TERM
for _ in $(seq 100); do curl -sf "$CURL_/healthz" >/dev/null && break; sleep 0.05; done

call() {  # call URL TOKEN METHOD PATH [BODY]
  curl -sS --fail-with-body -X "$3" -H "Authorization: Bearer $2" \
    -H 'Content-Type: application/json' ${5:+--data-binary "$5"} "$1$4"
}
step() { printf '\n== %s\n' "$*"; }

PKEY=$(call "$PURL" "$PTOKEN" GET /v1/node | json "['public_key']")
CKEY=$(call "$CURL_" "$CTOKEN" GET /v1/node | json "['public_key']")
step "the nodes trust each other's Ed25519 keys (kexin peer add)"
call "$CURL_" "$CTOKEN" GET /v1/peers | grep -q '"provider"' ||
  call "$CURL_" "$CTOKEN" POST /v1/peers "{\"name\":\"provider\",\"url\":\"$PURL\",\"public_key\":\"$PKEY\"}" >/dev/null
call "$PURL" "$PTOKEN" GET /v1/peers | grep -q '"consumer"' ||
  call "$PURL" "$PTOKEN" POST /v1/peers "{\"name\":\"consumer\",\"url\":\"$CURL_\",\"public_key\":\"$CKEY\"}" >/dev/null
echo "consumer trusts provider $PKEY"
echo "provider trusts consumer $CKEY"

step "the consumer fetches the provider's catalog (DSP catalog request, signed) and searches it"
call "$CURL_" "$CTOKEN" POST /v1/catalog/peers/provider/fetch '{}' >/dev/null
HIT=$(call "$CURL_" "$CTOKEN" GET "/v1/catalog/federated/search?q=customer")
echo "$HIT" | python3 -c '
import json,sys
for r in json.load(sys.stdin)["results"]:
    d=r["dataset"]
    print("found on %s: dataset %s \"%s\" (%s, level %s), offer %s" % (r["peer"], d["@id"],
          d.get("dct:title",""), d.get("kexin:sector",""), d.get("kexin:level",""), d["hasPolicy"][0]["@id"]))'
DATASET=$(echo "$HIT" | json "['results'][0]['dataset']['@id']")
OFFER=$(echo "$HIT" | json "['results'][0]['dataset']['hasPolicy'][0]['@id']")

step "the consumer negotiates a contract for it (Dataspace Protocol, every message signed)"
NEG=$(call "$CURL_" "$CTOKEN" POST /v1/negotiations "{\"peer\":\"provider\",\"dataset\":\"$DATASET\",\"offer\":\"$OFFER\"}" | json "['id']")
STATE=""
for _ in $(seq 200); do
  STATE=$(call "$CURL_" "$CTOKEN" GET "/v1/negotiations/$NEG" | json "['state']")
  case $STATE in FINALIZED|TERMINATED) break ;; esac
  sleep 0.05
done
echo "negotiation $NEG: $STATE"
[ "$STATE" = FINALIZED ] || { echo "quickstart-peer: negotiation ended $STATE" >&2; exit 1; }
call "$CURL_" "$CTOKEN" GET "/v1/negotiations/$NEG" | python3 -c '
import json,sys
n=json.load(sys.stdin)
a=n.get("agreement") or {}
print("agreement %s, signed by provider and consumer" % a.get("@id", a.get("id","?")))'

step "the agreement on both ledgers"
call "$CURL_" "$CTOKEN" GET "/v1/negotiations/$NEG/ledger" | python3 -c '
import json,sys
for e in json.load(sys.stdin)["entries"]:
    print("consumer ledger #%s %s" % (e["index"], e["type"]))'
"$K" ledger verify --home "$CHOME"
step "cross-check: the provider's ledger holds the same agreement (signed checkpoints, inclusion proofs)"
call "$CURL_" "$CTOKEN" GET "/v1/negotiations/$NEG/crosscheck" | python3 -c '
import json,sys
r=json.load(sys.stdin)["report"]
for c in r["checked"]: print(c)
print("cross-check:", "ok" if r["ok"] else "PROBLEMS %s" % r["problems"])
sys.exit(0 if r["ok"] else 1)'
cat <<MSG

kexin consumer node is serving at $CURL_ (admin token $CTOKEN). Stop with Ctrl-C.
MSG
if [ "${KEXIN_DEMO_EXIT:-0}" = 1 ]; then exit 0; fi
wait $PID
