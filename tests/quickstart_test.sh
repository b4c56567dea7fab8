#!/usr/bin/env bash
# The README's quick start, end to end with the built binary: scripts/quickstart.sh starts a provider
# node with the sample data registered and offered; scripts/quickstart-peer.sh starts a consumer
# that finds the offer in the provider's catalog and negotiates a contract to FINALIZED.
# Usage: quickstart_test.sh KEXIN_BINARY
set -euo pipefail
K=$(realpath "$1")
SRC=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
PPORT=$((20000 + RANDOM % 20000)); CPORT=$((PPORT + 1))
export KEXIN_BIN=$K KEXIN_DEMO_DIR=$T/demo KEXIN_DEMO_PORT=$PPORT KEXIN_PEER_PORT=$CPORT
cleanup() { [ -n "${QS:-}" ] && kill -TERM "$QS" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

bash "$SRC/scripts/quickstart.sh" > "$T/qs.out" 2> "$T/qs.err" &
QS=$!
for _ in $(seq 200); do grep -q "Stop with Ctrl-C" "$T/qs.out" 2>/dev/null && break; sleep 0.05; done
grep -q "Stop with Ctrl-C" "$T/qs.out" || { cat "$T/qs.out" "$T/qs.err" >&2; fail "quickstart did not report a serving node"; }
grep -Eq "admin token +[0-9a-f]{64}" "$T/qs.out" || fail "no admin token printed"
grep -Eq "URL +http://127.0.0.1:$PPORT" "$T/qs.out" || fail "no URL printed"
TOKEN=$(grep -Eo "admin token +[0-9a-f]{64}" "$T/qs.out" | awk '{print $3}')
curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PPORT/v1/catalog" | grep -q "Customer records 2026" ||
  fail "the provider's catalog does not list the sample data"

KEXIN_DEMO_EXIT=1 bash "$SRC/scripts/quickstart-peer.sh" > "$T/peer.out" 2> "$T/peer.err" ||
  { cat "$T/peer.out" "$T/peer.err" >&2; fail "quickstart-peer failed"; }
grep -q ": FINALIZED" "$T/peer.out" || { cat "$T/peer.out" >&2; fail "negotiation not FINALIZED"; }
grep -q "contract.finalized" "$T/peer.out" || { cat "$T/peer.out" >&2; fail "no finalized entry on the consumer ledger"; }
grep -q "every checkpoint verify" "$T/peer.out" || fail "consumer ledger did not verify"
grep -q "cross-check: ok" "$T/peer.out" || fail "ledgers do not cross-check"

kill -TERM "$QS"; wait "$QS" || true; QS=
"$K" ledger verify --home "$T/demo/provider" | grep -q "every checkpoint verify" || fail "provider ledger"
echo "quickstart_test: OK"
