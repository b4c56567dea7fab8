#!/usr/bin/env bash
# Limits of contract negotiation between real `kexin serve` processes on loopback
# (docs/contract.md#limits):
# 1. a tarpit peer (accepts TCP, then answers one byte per second) does not stall negotiations with
#    an honest peer: the consumer's outbox holds at most half its workers on one peer, and every
#    delivery has a hard deadline;
# 2. a provider refuses a peer's negotiation over `--max-negotiations-per-peer` with 429
#    too_many_negotiations, and accepts it again once one of the peer's negotiations is final.
# Usage: tests/dsp_limits_test.sh KEXIN_BINARY
set -euo pipefail
K=$(realpath "$1")
SRC=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d /tmp/kexin-dsp-limits.XXXXXX)
source "$SRC/tests/two_nodes_lib.sh"
fail() {
  echo "dsp_limits_test: FAIL: $*" >&2
  for f in "$T"/*.log; do echo "--- $f"; tail -5 "$f"; done >&2
  exit 1
}
ok() { echo "ok - $*"; }
py() { python3 -c "import json,sys; d=json.load(sys.stdin); r=($1); print(r if isinstance(r,str) else json.dumps(r))"; }
req() {  # req URL TOKEN METHOD PATH [BODY]: sets STATUS and BODY
  STATUS=$(curl -sS -o "$T/resp" -w '%{http_code}' -X "$3" -H "Authorization: Bearer $2" \
    -H 'Content-Type: application/json' ${5:+--data-binary "$5"} "$1$4")
  BODY=$(cat "$T/resp")
}

# The tarpit: a thread per connection that answers one byte per second, never a whole answer.
python3 - "$T/tarpit.port" > "$T/tarpit.log" 2>&1 <<'PY' &
import socket, sys, threading, time
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(128)
open(sys.argv[1] + ".tmp", "w").write(str(srv.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
def trickle(c):
    try:
        for b in b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1000000:
            c.send(bytes([b]))
            time.sleep(1)
    except OSError:
        pass
while True:
    c, _ = srv.accept()
    threading.Thread(target=trickle, args=(c,), daemon=True).start()
PY
PIDS+=($!)
for _ in $(seq 200); do [ -s "$T/tarpit.port" ] && break; sleep 0.05; done
[ -s "$T/tarpit.port" ] || fail "the tarpit did not start"
TURL=http://127.0.0.1:$(cat "$T/tarpit.port")

"$K" init --home "$T/p" --name provider >/dev/null
"$K" init --home "$T/c" --name consumer >/dev/null
PT=$("$K" user add admin --role admin --home "$T/p" | py "d['token']")
CT=$("$K" user add admin --role admin --home "$T/c" | py "d['token']")
"$K" serve --home "$T/p" --listen "127.0.0.1:$PP" --public-url "$PURL" --data-root "$SRC/examples" \
  --max-negotiations-per-peer 2 2> "$T/provider.log" &
PIDS+=($!)
# Four outbox workers: without a per-peer limit the tarpit's messages would hold all of them.
KEXIN_CONTRACT_WORKERS=4 "$K" serve --home "$T/c" --listen "127.0.0.1:$CP" --public-url "$CURL_" \
  2> "$T/consumer.log" &
PIDS+=($!)
for u in "$PURL" "$CURL_"; do
  for _ in $(seq 200); do curl -sf "$u/healthz" >/dev/null && break; sleep 0.05; done
  curl -sf "$u/healthz" >/dev/null || fail "node $u did not start"
done
ok "provider (--max-negotiations-per-peer 2), consumer (4 outbox workers) and a tarpit at $TURL"

BODYJ=$(python3 -c 'import json,sys; print(json.dumps({"file": sys.argv[1], "meta_toml": open(sys.argv[2]).read()}))' \
  "$SRC/examples/customers.csv" "$SRC/examples/customers.meta.toml")
req "$PURL" "$PT" POST /v1/registrations "$BODYJ"; [ "$STATUS" = 201 ] || fail "register: $STATUS $BODY"
REG=$(echo "$BODY" | py "d['registration']['id']")
POLICY=$(cat "$SRC/examples/policies/statistics-compute-only.json")
offer() {  # offer MANUAL -> offer id
  local b
  b=$(python3 -c 'import json,sys; print(json.dumps({"registration": sys.argv[1], "policy": json.loads(sys.argv[2]), "manual_approval": sys.argv[3] == "1"}))' "$REG" "$POLICY" "$1")
  req "$PURL" "$PT" POST /v1/offers "$b"
  [ "$STATUS" = 201 ] || fail "offer create: $STATUS $BODY"
  echo "$BODY" | py "d['id']"
}
AUTO=$(offer 0)
MANUAL=$(offer 1)
req "$PURL" "$PT" GET /v1/node; PKEY=$(echo "$BODY" | py "d['public_key']")
req "$CURL_" "$CT" GET /v1/node; CKEY=$(echo "$BODY" | py "d['public_key']")
TKEY=$(python3 -c 'import os; print(os.urandom(32).hex())')
for p in "provider $PURL $PKEY" "tarpit $TURL $TKEY"; do
  set -- $p
  req "$CURL_" "$CT" POST /v1/peers "{\"name\":\"$1\",\"url\":\"$2\",\"public_key\":\"$3\"}"
  [ "$STATUS" -lt 300 ] || fail "consumer peer add $1: $STATUS $BODY"
done
req "$PURL" "$PT" POST /v1/peers "{\"name\":\"consumer\",\"url\":\"$CURL_\",\"public_key\":\"$CKEY\"}"
[ "$STATUS" -lt 300 ] || fail "provider peer add: $STATUS $BODY"
ok "registered, offered (auto $AUTO, manual $MANUAL), peers added"

start() {  # start PEER OFFER -> sets NEG
  local b
  b=$(python3 -c 'import json,sys; print(json.dumps({"peer":sys.argv[1],"dataset":sys.argv[2],"offer":sys.argv[3],"policy":json.loads(sys.argv[4])}))' "$1" "$REG" "$2" "$POLICY")
  req "$CURL_" "$CT" POST /v1/negotiations "$b"
  [ "$STATUS" = 201 ] || fail "start negotiation with $1: $STATUS $BODY"
  NEG=$(echo "$BODY" | py "d['id']")
}
# wait_for SECONDS URL TOKEN PATH PYTHON_CONDITION: polls until the condition holds on the body.
wait_for() {
  local until=$(( $(date +%s%N) + $1 * 1000000000 ))
  while [ "$(date +%s%N)" -lt "$until" ]; do
    req "$2" "$3" GET "$4"
    [ "$(echo "$BODY" | py "bool($5)")" = true ] && return 0
    sleep 0.05
  done
  return 1
}

# --- 1. a tarpit peer does not stall an honest one ---------------------------------------------
start tarpit "$AUTO"; TARPIT_NEG=$NEG  # the oldest: among the first sent
for _ in $(seq 15); do start tarpit "$AUTO"; done
wait_for 5 "$CURL_" "$CT" "/v1/negotiations/$TARPIT_NEG" "len(d['outbox']) == 1" ||
  fail "tarpit negotiation has no outbox item: $BODY"
ok "16 negotiations queued for the tarpit"
T0=$(date +%s%N)
start provider "$AUTO"
wait_for 8 "$CURL_" "$CT" "/v1/negotiations/$NEG" "d['state'] in ('FINALIZED', 'TERMINATED')" ||
  fail "the negotiation with the honest provider did not finish within 8 s: $BODY"
[ "$(echo "$BODY" | py "d['state']")" = FINALIZED ] || fail "honest negotiation ended: $BODY"
ok "the negotiation with the honest provider is FINALIZED in $(( ($(date +%s%N) - T0) / 1000000 )) ms while the tarpit holds deliveries"
# The tarpit's deliveries fail at the deadline (10 s), not when it stops trickling, and are retried.
wait_for 25 "$CURL_" "$CT" "/v1/negotiations/$TARPIT_NEG" \
  "any('timed out' in o['lastError'] for o in d['outbox'])" ||
  fail "a tarpit delivery did not time out within the deadline: $BODY"
ok "a delivery to the tarpit ends at its deadline: $(echo "$BODY" | py "d['outbox'][0]['lastError']")"

# --- 2. per-peer cap on the provider ------------------------------------------------------------
start provider "$MANUAL"; M1=$NEG
start provider "$MANUAL"; M2=$NEG
for n in $M1 $M2; do
  wait_for 5 "$CURL_" "$CT" "/v1/negotiations/$n" "d['state'] == 'REQUESTED'" ||
    fail "negotiation $n at the limit was not accepted: $BODY"
done
ok "two held negotiations (the limit) are accepted"
start provider "$MANUAL"; M3=$NEG
wait_for 5 "$CURL_" "$CT" "/v1/negotiations/$M3" \
  "any('429' in o['lastError'] and 'too_many_negotiations' in o['lastError'] for o in d['outbox'])" ||
  fail "the third negotiation was not refused with 429: $BODY"
echo "$BODY" | py "d['outbox'][0]['lastError']" | grep -q "limit per peer is 2" ||
  fail "the 429 reason does not name the limit: $BODY"
[ "$(echo "$BODY" | py "d['state']")" = INITIAL ] || fail "the refused negotiation moved: $BODY"
# The provider's Retry-After (2 s) sets the next attempt, not the first backoff (200-250 ms): it is
# at least 2 s after the negotiation was created (whole seconds, so never later than the attempt).
WAIT=$(echo "$BODY" | py "round(__import__('datetime').datetime.fromisoformat(d['outbox'][0]['nextAttempt'].replace('Z', '+00:00')).timestamp() - __import__('datetime').datetime.fromisoformat(d['created'].replace('Z', '+00:00')).timestamp(), 2)")
python3 -c "import sys; sys.exit(0 if $WAIT >= 2 else 1)" ||
  fail "the next attempt after the 429 is ${WAIT} s after the start, before the Retry-After: $BODY"
ok "the third is refused: $(echo "$BODY" | py "d['outbox'][0]['lastError']")"
req "$PURL" "$PT" GET "/v1/negotiations?state=REQUESTED"
[ "$(echo "$BODY" | py "len(d['negotiations'])")" = 2 ] || fail "provider holds other than 2: $BODY"
# One of the held negotiations ends (rejected, final): the refused request goes through on retry.
req "$CURL_" "$CT" GET "/v1/negotiations/$M1"; P1=$(echo "$BODY" | py "d['providerPid']")
req "$PURL" "$PT" POST "/v1/negotiations/$P1/reject" '{"reason":"make room"}'
[ "$STATUS" = 200 ] || fail "reject: $STATUS $BODY"
wait_for 15 "$CURL_" "$CT" "/v1/negotiations/$M3" "d['state'] == 'REQUESTED'" ||
  fail "the refused negotiation was not accepted after one became final: $BODY"
ok "after one is rejected, the refused request is accepted on retry"
echo "dsp_limits_test: all passed"
