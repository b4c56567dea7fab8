#!/usr/bin/env bash
# End-to-end contract negotiation between two real `kexin serve` processes on loopback
# (docs/contract.md): the provider registers examples/customers.csv and offers it, the consumer
# finds it in the provider's catalog and negotiates to FINALIZED, both ledgers verify and
# cross-check; then the negative cases (bad signature, replayed nonce, replayed message, expired
# offer, withdrawn offer, policy mismatch, wrong role, oversize body, malformed JSON) each get their
# precise HTTP status and error body and change no state; then manual approval and rejection.
# Usage: tests/dsp_test.sh KEXIN_BINARY
set -euo pipefail
K=$(realpath "$1")
SRC=$(cd "$(dirname "$0")/.." && pwd)
SPECS=${KEXIN_DSP_SPECS:-/work/shared/specs/dsp}
T=$(mktemp -d /tmp/kexin-dsp-test.XXXXXX)
source "$SRC/tests/two_nodes_lib.sh"
fail() {
  echo "dsp_test: FAIL: $*" >&2
  for f in "$T"/*.log; do echo "--- $f"; tail -5 "$f"; done >&2
  if [ -n "${PT:-}" ]; then
    echo "--- provider negotiations" >&2
    curl -sS -H "Authorization: Bearer $PT" "$PURL/v1/negotiations?limit=5" >&2 || true
  fi
  exit 1
}
ok() { echo "ok - $*"; }
# jq-like: py EXPR < json   (d is the document)
py() { python3 -c "import json,sys; d=json.load(sys.stdin); r=($1); print(r if isinstance(r,str) else json.dumps(r))"; }

# req URL TOKEN METHOD PATH [BODY]: sets STATUS and BODY
req() {
  STATUS=$(curl -sS -o "$T/resp" -w '%{http_code}' -X "$3" -H "Authorization: Bearer $2" \
    -H 'Content-Type: application/json' ${5:+--data-binary "$5"} "$1$4")
  BODY=$(cat "$T/resp")
}
expect() {  # expect STATUS [ERROR_CODE] -- what
  local want=$1 code=${2:-}
  [ "$STATUS" = "$want" ] || fail "$3: HTTP $STATUS, want $want: $BODY"
  if [ -n "$code" ]; then
    local got
    got=$(echo "$BODY" | py "d.get('code') or d.get('error',{}).get('code','')")
    [ "$got" = "$code" ] || fail "$3: error code '$got', want '$code': $BODY"
  fi
  ok "$3 -> $STATUS${code:+ $code}"
}
# signed DSP request from a node home: dsend HOME METHOD URL [BODYFILE] [flags]; sets STATUS, BODY
dsend() {
  python3 "$SRC/tests/dsp_send.py" "$@" > "$T/dresp"
  STATUS=$(head -1 "$T/dresp")
  BODY=$(tail -n +2 "$T/dresp")
}

"$K" init --home "$T/p" --name provider >/dev/null
"$K" init --home "$T/c" --name consumer >/dev/null
PT=$("$K" user add admin --role admin --home "$T/p" | py "d['token']")
CT=$("$K" user add admin --role admin --home "$T/c" | py "d['token']")
AUD=$("$K" user add audit --role auditor --home "$T/c" | py "d['token']")
PCONS=$("$K" user add buyer --role consumer --home "$T/p" | py "d['token']")
"$K" serve --home "$T/p" --listen "127.0.0.1:$PP" --public-url "$PURL" --data-root "$SRC/examples" 2> "$T/provider.log" &
PIDS+=($!)
"$K" serve --home "$T/c" --listen "127.0.0.1:$CP" --public-url "$CURL_" 2> "$T/consumer.log" &
PIDS+=($!)
for u in "$PURL" "$CURL_"; do
  for _ in $(seq 200); do curl -sf "$u/healthz" >/dev/null && break; sleep 0.05; done
  curl -sf "$u/healthz" >/dev/null || fail "node $u did not start"
done
ok "two nodes serving on $PURL and $CURL_"

# --- provider: register and offer -------------------------------------------------------------
BODYJ=$(python3 -c 'import json,sys; print(json.dumps({"file": sys.argv[1], "meta_toml": open(sys.argv[2]).read()}))' \
  "$SRC/examples/customers.csv" "$SRC/examples/customers.meta.toml")
req "$PURL" "$PT" POST /v1/registrations "$BODYJ"; expect 201 "" "provider registers examples/customers.csv"
REG=$(echo "$BODY" | py "d['registration']['id']")
POLICY=$SRC/examples/policies/statistics-compute-only.json
offer() {  # offer POLICY_JSON MANUAL -> offer id
  local b
  b=$(python3 -c 'import json,sys; print(json.dumps({"registration": sys.argv[1], "policy": json.loads(sys.argv[2]), "manual_approval": sys.argv[3] == "1"}))' "$REG" "$1" "$2")
  req "$PURL" "$PT" POST /v1/offers "$b"
  [ "$STATUS" = 201 ] || fail "offer create: $STATUS $BODY"
  echo "$BODY" | py "d['id']"
}
OFFER=$(offer "$(cat "$POLICY")" 0)
MANUAL=$(offer "$(cat "$POLICY")" 1)
EXPIRED_POLICY=$(python3 -c '
import json,sys
p=json.load(open(sys.argv[1]))
c=[x for x in p["permission"][0]["constraint"] if x["leftOperand"]!="dateTime"]
c.append({"leftOperand":"dateTime","operator":"lt","rightOperand":{"@value":"2025-01-01T00:00:00Z","@type":"xsd:dateTime"}})
p["permission"][0]["constraint"]=c
print(json.dumps(p))' "$POLICY")
EXPIRED=$(offer "$EXPIRED_POLICY" 0)
WITHDRAWN=$(offer "$(cat "$POLICY")" 0)
req "$PURL" "$PT" DELETE "/v1/offers/$WITHDRAWN"; [ "$STATUS" -lt 300 ] || fail "withdraw: $STATUS $BODY"
ok "provider offers $REG: auto $OFFER, manual $MANUAL, expired $EXPIRED, withdrawn $WITHDRAWN"

# --- peers, both ways -------------------------------------------------------------------------
req "$PURL" "$PT" GET /v1/node; PKEY=$(echo "$BODY" | py "d['public_key']")
req "$CURL_" "$CT" GET /v1/node; CKEY=$(echo "$BODY" | py "d['public_key']")
req "$CURL_" "$CT" POST /v1/peers "{\"name\":\"provider\",\"url\":\"$PURL\",\"public_key\":\"$PKEY\"}"
[ "$STATUS" -lt 300 ] || fail "consumer peer add: $STATUS $BODY"
req "$PURL" "$PT" POST /v1/peers "{\"name\":\"consumer\",\"url\":\"$CURL_\",\"public_key\":\"$CKEY\"}"
[ "$STATUS" -lt 300 ] || fail "provider peer add: $STATUS $BODY"
ok "peers added both ways"

# --- catalog ----------------------------------------------------------------------------------
req "$CURL_" "$CT" POST /v1/catalog/peers/provider/fetch '{}'; [ "$STATUS" -lt 300 ] || fail "catalog fetch: $STATUS $BODY"
req "$CURL_" "$CT" GET "/v1/catalog/federated/search?q=customer"; expect 200 "" "consumer searches the provider's catalog"
FOUND=$(echo "$BODY" | python3 -c '
import json,sys
r=json.load(sys.stdin)["results"]
ds=[x["dataset"] for x in r]
ids=[p.get("@id") for d in ds for p in (d.get("hasPolicy") or d.get("odrl:hasPolicy") or [])]
print(" ".join(ids))')
case " $FOUND " in *" $OFFER "*) ok "offer $OFFER found in the federated catalog" ;; *) fail "offer $OFFER not in catalog: $FOUND" ;; esac

# --- negotiate to FINALIZED -------------------------------------------------------------------
wait_state() {  # wait_state URL TOKEN ID STATE...
  local s=""
  for _ in $(seq 400); do
    req "$1" "$2" GET "/v1/negotiations/$3"
    s=$(echo "$BODY" | py "d['state']")
    for w in "${@:4}"; do [ "$s" = "$w" ] && { STATE=$s; return 0; }; done
    sleep 0.025
  done
  fail "negotiation $3 stuck in $s (wanted ${*:4}): $BODY"
}
start() {  # start OFFER [POLICY_JSON] -> sets NEG
  local b
  if [ -n "${2:-}" ]; then
    b=$(python3 -c 'import json,sys; print(json.dumps({"peer":"provider","dataset":sys.argv[1],"offer":sys.argv[2],"policy":json.loads(sys.argv[3])}))' "$REG" "$1" "$2")
  else
    b="{\"peer\":\"provider\",\"dataset\":\"$REG\",\"offer\":\"$1\"}"
  fi
  req "$CURL_" "$CT" POST /v1/negotiations "$b"
  [ "$STATUS" = 201 ] || fail "start negotiation for $1: $STATUS $BODY"
  NEG=$(echo "$BODY" | py "d['id']")
}
start "$OFFER"
wait_state "$CURL_" "$CT" "$NEG" FINALIZED TERMINATED
[ "$STATE" = FINALIZED ] || fail "negotiation ended $STATE: $BODY"
C_NEG=$BODY
PID_=$(echo "$C_NEG" | py "d['providerPid']")
wait_state "$PURL" "$PT" "$PID_" FINALIZED
P_NEG=$BODY
ok "negotiated to FINALIZED on both nodes (consumer $NEG, provider $PID_)"
for f in agreement agreementHash providerSignature consumerSignature; do
  a=$(echo "$C_NEG" | py "d['$f']"); b=$(echo "$P_NEG" | py "d['$f']")
  [ -n "$a" ] && [ "$a" != null ] && [ "$a" = "$b" ] || fail "$f differs or is missing: $a vs $b"
done
ok "both nodes hold the same agreement, hash and both signatures"
echo "$C_NEG" | python3 -c '
import json,sys
n=json.load(sys.stdin)
m={"@context":["https://w3id.org/dspace/2025/1/context.jsonld"],"@type":"ContractAgreementMessage",
   "providerPid":n["providerPid"],"consumerPid":n["consumerPid"],"agreement":n["agreement"],
   "kexin:signature":n["providerSignature"]}
json.dump(m,open(sys.argv[1]+"/agreement-msg.json","w"))
json.dump({"@context":["https://w3id.org/dspace/2025/1/context.jsonld"],"@type":"ContractNegotiation",
   "providerPid":n["providerPid"],"consumerPid":n["consumerPid"],"state":n["state"]},open(sys.argv[1]+"/ack.json","w"))' "$T"
python3 "$SRC/tests/dsp_validate.py" "$SPECS" "$T/agreement-msg.json" "$T/ack.json" >/dev/null ||
  fail "the agreement does not validate against the DSP schemas: $(python3 "$SRC/tests/dsp_validate.py" "$SPECS" "$T/agreement-msg.json")"
ok "the agreement validates against the official DSP schema"
dsend "$T/c" GET "$PURL/dsp/negotiations/$PID_"; expect 200 "" "GET /dsp/negotiations/:pid by the consumer (signed)"
echo "$BODY" > "$T/state.json"
python3 "$SRC/tests/dsp_validate.py" "$SPECS" "$T/state.json" >/dev/null || fail "ContractNegotiation invalid: $BODY"

# --- ledgers ----------------------------------------------------------------------------------
for side in p c; do "$K" ledger verify --home "$T/$side" >/dev/null || fail "ledger verify ($side)"; done
ok "kexin ledger verify: both ledgers clean"
req "$CURL_" "$CT" GET "/v1/negotiations/$NEG/ledger"; expect 200 "" "consumer ledger view"
echo "$BODY" > "$T/c-view.json"
req "$PURL" "$PT" GET "/v1/negotiations/$PID_/ledger"; expect 200 "" "provider ledger view"
echo "$BODY" > "$T/p-view.json"
for f in c-view p-view; do
  types=$(py "' '.join(e['type'] for e in d['entries'])" < "$T/$f.json")
  case "$types" in *"contract.requested contract.agreed contract.verified contract.finalized"*) ;;
    *) fail "$f entries: $types" ;; esac
done
"$K" contract crosscheck "$T/c-view.json" "$T/p-view.json" > "$T/cross.json" || fail "crosscheck: $(cat "$T/cross.json")"
[ "$(py "len(d['checked'])" < "$T/cross.json")" = 4 ] || fail "crosscheck: $(cat "$T/cross.json")"
ok "kexin contract crosscheck: 4 matching entries (requested, agreed, verified, finalized)"
req "$CURL_" "$CT" GET "/v1/negotiations/$NEG/crosscheck"; expect 200 "" "GET /v1/negotiations/:id/crosscheck"
[ "$(echo "$BODY" | py "d['report']['ok']")" = true ] || fail "HTTP crosscheck: $BODY"
python3 - "$T/p-view.json" "$T/p-tampered.json" <<'EOF'
import json,sys
v=json.load(open(sys.argv[1]))
e=[x for x in v["entries"] if x["type"]=="contract.agreed"][0]
e["entry"]=e["entry"].replace('"agreementHash":"', '"agreementHash":"00')
json.dump(v,open(sys.argv[2],"w"))
EOF
set +e; "$K" contract crosscheck "$T/c-view.json" "$T/p-tampered.json" > "$T/cross2.json" 2>/dev/null; rc=$?; set -e
[ "$rc" = 6 ] || fail "crosscheck of a tampered view exited $rc, want 6"
ok "crosscheck of a tampered provider view fails (exit 6)"

# --- negatives: precise status and body, no state change --------------------------------------
count() {  # count URL TOKEN -> number of negotiations on that node
  req "$1" "$2" GET "/v1/negotiations?limit=1000"; echo "$BODY" | py "len(d['negotiations'])"
}
ledger_size() { req "$1" "$2" GET /v1/ledger; echo "$BODY" | py "d['size']"; }
P_COUNT=$(count "$PURL" "$PT"); P_LEDGER=$(ledger_size "$PURL" "$PT")
REQ_MSG=$T/request.json
python3 -c '
import json,sys
p=json.load(open(sys.argv[1])); p.pop("@context",None)
p.update({"@type":"Offer","@id":sys.argv[2],"target":sys.argv[3]})
json.dump({"@context":["https://w3id.org/dspace/2025/1/context.jsonld"],"@type":"ContractRequestMessage",
  "consumerPid":"urn:uuid:00000000-0000-4000-8000-00000000000"+sys.argv[5],"offer":p,
  "callbackAddress":sys.argv[4]+"/dsp/callback"},open(sys.argv[6],"w"))' "$POLICY" "$OFFER" "$REG" "$CURL_" 1 "$REQ_MSG"
dsend "$T/c" POST "$PURL/dsp/negotiations/request" "$REQ_MSG" --bad-signature
expect 401 "" "DSP request with a bad signature"
dsend "$T/p" POST "$PURL/dsp/negotiations/request" "$REQ_MSG"
[ "$STATUS" = 401 ] || [ "$STATUS" = 403 ] || fail "request signed by an untrusted key: $STATUS $BODY"
ok "DSP request signed by a key that is not a peer -> $STATUS"
curl -sS -o "$T/resp" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  --data-binary @"$REQ_MSG" "$PURL/dsp/negotiations/request" > "$T/code"
STATUS=$(cat "$T/code"); BODY=$(cat "$T/resp"); expect 401 "" "unsigned DSP request"
[ "$(count "$PURL" "$PT")" = "$P_COUNT" ] || fail "a refused signature created a negotiation"
# Replays: the same signed request again (same nonce) is refused by the server; the same message
# with a fresh signature is answered as before without a second negotiation.
dsend "$T/c" POST "$PURL/dsp/negotiations/request" "$REQ_MSG" --save-headers "$T/h.json"
expect 201 "" "a direct signed ContractRequestMessage"
FIRST=$BODY
P_COUNT=$((P_COUNT + 1))
dsend "$T/c" POST "$PURL/dsp/negotiations/request" "$REQ_MSG" --headers "$T/h.json"
expect 401 "" "replayed nonce"
dsend "$T/c" POST "$PURL/dsp/negotiations/request" "$REQ_MSG"
expect 201 "" "the same message again (fresh signature)"
[ "$BODY" = "$FIRST" ] || fail "replayed message answered differently: $BODY vs $FIRST"
[ "$(count "$PURL" "$PT")" = "$P_COUNT" ] || fail "a replayed message created a second negotiation"
ok "the replayed message got the same answer and created nothing"
P_LEDGER=$(ledger_size "$PURL" "$PT")
neg_msg() {  # neg_msg N OFFER POLICY_JSON -> file with a request for OFFER
  python3 -c '
import json,sys
p=json.loads(sys.argv[3]); p.pop("@context",None)
p.update({"@type":"Offer","@id":sys.argv[2],"target":sys.argv[4]})
json.dump({"@context":["https://w3id.org/dspace/2025/1/context.jsonld"],"@type":"ContractRequestMessage",
  "consumerPid":"urn:uuid:00000000-0000-4000-8000-0000000001%02d" % int(sys.argv[1]),"offer":p,
  "callbackAddress":sys.argv[5]+"/dsp/callback"},open(sys.argv[6],"w"))' "$1" "$2" "$3" "$REG" "$CURL_" "$T/m$1.json"
  echo "$T/m$1.json"
}
MISMATCH_POLICY=$(python3 -c '
import json,sys
p=json.load(open(sys.argv[1]))
for c in p["permission"][0]["constraint"]:
    if c["leftOperand"]=="purpose": c["rightOperand"]="marketing"
print(json.dumps(p))' "$POLICY")
REORDERED_POLICY=$(python3 -c '
import json,sys
p=json.load(open(sys.argv[1]))
p["permission"][0]["constraint"].reverse()
print(json.dumps(p))' "$POLICY")
dsend "$T/c" POST "$PURL/dsp/negotiations/request" "$(neg_msg 2 "$EXPIRED" "$EXPIRED_POLICY")"
expect 422 offer_expired "request for an expired offer"
dsend "$T/c" POST "$PURL/dsp/negotiations/request" "$(neg_msg 3 "$WITHDRAWN" "$(cat "$POLICY")")"
expect 410 offer_withdrawn "request for a withdrawn offer"
dsend "$T/c" POST "$PURL/dsp/negotiations/request" "$(neg_msg 4 "$OFFER" "$MISMATCH_POLICY")"
expect 422 policy_mismatch "request whose policy differs from the offer (purpose)"
echo "$BODY" | py "d['reason'][0]" | grep -q purpose || fail "policy mismatch reason does not name the purpose: $BODY"
dsend "$T/c" POST "$PURL/dsp/negotiations/request" "$(neg_msg 5 urn:uuid:no-such-offer "$(cat "$POLICY")")"
expect 404 unknown_offer "request for an unknown offer"
printf '{"@context":["https://w3id.org/dspace/2025/1/context.jsonld"],"@type":"ContractRequestMessage",' > "$T/bad.json"
dsend "$T/c" POST "$PURL/dsp/negotiations/request" "$T/bad.json"
expect 400 invalid_message "malformed JSON"
python3 -c 'import json; print(json.dumps({"pad": "x" * (2 * 1024 * 1024)}))' > "$T/big.json"
dsend "$T/c" POST "$PURL/dsp/negotiations/request" "$T/big.json"
expect 413 "" "oversize body"
echo '{"@context":["https://w3id.org/dspace/2025/1/context.jsonld"],"@type":"ContractNegotiationEventMessage","providerPid":"'"$PID_"'","consumerPid":"'"$NEG"'","eventType":"FINALIZED"}' > "$T/ev.json"
dsend "$T/c" POST "$PURL/dsp/negotiations/$PID_/events" "$T/ev.json"
expect 403 wrong_role "a consumer sending the provider's FINALIZED event"
echo '{"@context":["https://w3id.org/dspace/2025/1/context.jsonld"],"@type":"ContractNegotiationTerminationMessage","providerPid":"'"$PID_"'","consumerPid":"'"$NEG"'","reason":["late"]}' > "$T/term.json"
dsend "$T/c" POST "$PURL/dsp/negotiations/$PID_/termination" "$T/term.json"
expect 409 invalid_transition "terminating a FINALIZED negotiation"
[ "$(count "$PURL" "$PT")" = "$P_COUNT" ] || fail "a refused request created a negotiation"
[ "$(ledger_size "$PURL" "$PT")" = "$P_LEDGER" ] || fail "a refused request wrote to the ledger"
req "$PURL" "$PT" GET "/v1/negotiations/$PID_"; [ "$(echo "$BODY" | py "d['state']")" = FINALIZED ] || fail "state changed"
ok "no refused message changed a negotiation or the ledger"
req "$CURL_" "$AUD" POST /v1/negotiations "{\"peer\":\"provider\",\"dataset\":\"$REG\",\"offer\":\"$OFFER\"}"
expect 403 "" "an auditor starting a negotiation (wrong role)"
req "$PURL" "$PCONS" POST "/v1/negotiations/$PID_/approve"
expect 403 "" "a consumer-role user approving on the provider (wrong role)"
req "$CURL_" "$CT" POST /v1/negotiations '{"peer":"nobody","dataset":"x","offer":"y"}'
expect 404 "" "negotiation with an unknown peer"
req "$CURL_" "$CT" POST /v1/negotiations '{"peer":"provider","dataset":"x"'
expect 400 "" "malformed JSON to the management API"

# Through the consumer's API: semantic match succeeds, mismatch and expiry terminate with the reason.
start "$OFFER" "$REORDERED_POLICY"
wait_state "$CURL_" "$CT" "$NEG" FINALIZED TERMINATED
[ "$STATE" = FINALIZED ] || fail "same terms in another order did not match: $BODY"
ok "the same policy with its constraints reordered negotiates to FINALIZED (semantic match)"
start "$OFFER" "$MISMATCH_POLICY"
wait_state "$CURL_" "$CT" "$NEG" TERMINATED
echo "$BODY" | py "d['reason']" | grep -q policy_mismatch || fail "termination reason: $BODY"
ok "a mismatching policy terminates the consumer's negotiation with reason policy_mismatch"
start "$EXPIRED" "$EXPIRED_POLICY"
wait_state "$CURL_" "$CT" "$NEG" TERMINATED
echo "$BODY" | py "d['reason']" | grep -q offer_expired || fail "termination reason: $BODY"
ok "an expired offer terminates the consumer's negotiation with reason offer_expired"

# --- the provider is down for a while: the consumer's outbox retries ------------------------------
kill -TERM "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true
req "$CURL_" "$CT" POST /v1/negotiations "{\"peer\":\"provider\",\"dataset\":\"$REG\",\"offer\":\"$OFFER\"}"
expect 502 peer_unreachable "starting without a policy while the provider's catalog is down"
start "$OFFER" "$(cat "$POLICY")"
sleep 1.5
req "$CURL_" "$CT" GET "/v1/negotiations/$NEG"
[ "$(echo "$BODY" | py "d['state']")" = INITIAL ] || fail "state while the provider is down: $BODY"
ATTEMPTS=$(echo "$BODY" | py "d['outbox'][0]['attempts']")
[ "$ATTEMPTS" -ge 2 ] || fail "no retries while the provider is down: $BODY"
echo "$BODY" | py "d['outbox'][0]['lastError']" | grep -qi "refused\|connect" || fail "last error: $BODY"
"$K" serve --home "$T/p" --listen "127.0.0.1:$PP" --public-url "$PURL" --data-root "$SRC/examples" 2>> "$T/provider.log" &
PIDS[0]=$!
wait_state "$CURL_" "$CT" "$NEG" FINALIZED
ok "provider down: the request was retried ($ATTEMPTS attempts while down) and the negotiation FINALIZED after restart"

# --- manual approval --------------------------------------------------------------------------
start "$MANUAL"
wait_state "$CURL_" "$CT" "$NEG" REQUESTED
MPID=$(echo "$BODY" | py "d['providerPid']")
sleep 0.3
req "$PURL" "$PT" GET "/v1/negotiations/$MPID"; [ "$(echo "$BODY" | py "d['state']")" = REQUESTED ] || fail "manual offer did not wait: $BODY"
ok "manual-approval offer held in REQUESTED"
"$K" contract approve "$MPID" --home "$T/p" >/dev/null || fail "kexin contract approve"
wait_state "$CURL_" "$CT" "$NEG" FINALIZED
ok "kexin contract approve (CLI) -> the running server sends the agreement -> FINALIZED"
for _ in $(seq 100); do
  req "$PURL" "$PT" GET "/v1/negotiations/$MPID"
  [ "$(echo "$BODY" | py "sum(1 for h in d['history'] if h['ledgerIndex'] is None)")" = 0 ] && break
  sleep 0.05
done
echo "$BODY" | py "[h['type'] for h in d['history'] if h['ledgerIndex'] is not None]" | grep -q contract.approved ||
  fail "the CLI's approval was not recorded on the provider's ledger: $BODY"
ok "the CLI's approval event is recorded on the ledger by the server"
set +e; "$K" contract approve "$MPID" --home "$T/p" >/dev/null 2>&1; rc=$?; set -e
[ "$rc" = 9 ] || fail "approving twice exited $rc, want 9"
start "$MANUAL"
wait_state "$CURL_" "$CT" "$NEG" REQUESTED
MPID=$(echo "$BODY" | py "d['providerPid']")
req "$PURL" "$PT" POST "/v1/negotiations/$MPID/reject" '{"reason":"not for this purpose"}'
expect 200 "" "POST /v1/negotiations/:id/reject"
wait_state "$CURL_" "$CT" "$NEG" TERMINATED
echo "$BODY" | py "d['reason']" | grep -q "not for this purpose" || fail "rejection reason: $BODY"
wait_state "$PURL" "$PT" "$MPID" TERMINATED
ok "rejection terminates both sides with the reason"
"$K" contract list --home "$T/p" --state FINALIZED | py "len(d['negotiations'])" > "$T/n"
[ "$(cat "$T/n")" -ge 2 ] || fail "kexin contract list --state FINALIZED: $(cat "$T/n")"
for side in p c; do "$K" ledger verify --home "$T/$side" >/dev/null || fail "final ledger verify ($side)"; done
ok "ledgers still verify"
echo "dsp_test: all passed"
