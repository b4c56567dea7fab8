#!/usr/bin/env bash
# The main job: installs what kexin needs (Debian 12, as root), builds kexin, and starts a provider
# node on the embedded SQLite store with the sample table examples/customers.csv registered (数据登记)
# and offered in its catalog under a compute-only statistics policy. Prints the node's URL, an admin
# token and its public key, then serves until Ctrl-C (SIGTERM) stops it gracefully.
# scripts/quickstart-peer.sh then starts a second (consumer) node that negotiates a contract with it.
#
# Environment: KEXIN_DEMO_DIR (default .kexin-demo), KEXIN_DEMO_PORT (default 8443),
# KEXIN_BIN (use this kexin binary instead of building one), KEXIN_DEMO_EXIT=1 (stop the node after
# printing, for tests). Re-running reuses the node, its registration and its offer.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=${KEXIN_DEMO_DIR:-$PWD/.kexin-demo}
PORT=${KEXIN_DEMO_PORT:-8443}
if [ -z "${KEXIN_BIN:-}" ]; then
  bash scripts/setup.sh
  cmake --preset release >/dev/null
  cmake --build --preset release --target kexin >&2
  KEXIN_BIN=$PWD/build/release/kexin
fi
K=$KEXIN_BIN
HOME_DIR=$DEMO/provider
URL=http://127.0.0.1:$PORT
mkdir -p "$DEMO"
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

if [ ! -f "$HOME_DIR/config.toml" ]; then
  "$K" init --home "$HOME_DIR" --name provider >/dev/null
  "$K" user add admin --role admin --home "$HOME_DIR" > "$DEMO/provider-admin.json"
  chmod 600 "$DEMO/provider-admin.json"
fi
TOKEN=$(json "['token']" < "$DEMO/provider-admin.json")

"$K" serve --home "$HOME_DIR" --listen "127.0.0.1:$PORT" --public-url "$URL" --data-root "$PWD/examples" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null' EXIT INT TERM
for _ in $(seq 100); do curl -sf "$URL/healthz" >/dev/null && break; sleep 0.05; done
curl -sf "$URL/healthz" >/dev/null || { echo "quickstart: the node did not start" >&2; exit 1; }

api() {  # api METHOD PATH [BODY]: an authenticated call; prints the body, fails on HTTP >= 400
  curl -sS --fail-with-body -X "$1" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$URL$2"
}

if [ ! -f "$DEMO/provider-offer.json" ]; then
  BODY=$(python3 -c 'import json,sys; print(json.dumps({"file": sys.argv[1], "meta_toml": open(sys.argv[2]).read()}))' \
    "$PWD/examples/customers.csv" "$PWD/examples/customers.meta.toml")
  api POST /v1/registrations "$BODY" > "$DEMO/provider-registration.json"
  REG=$(json "['registration']['id']" < "$DEMO/provider-registration.json")
  BODY=$(python3 -c 'import json,sys; print(json.dumps({"registration": sys.argv[1], "policy": json.load(open(sys.argv[2]))}))' \
    "$REG" "$PWD/examples/policies/statistics-compute-only.json")
  api POST /v1/offers "$BODY" > "$DEMO/provider-offer.json"
fi
REG=$(json "['registration']['id']" < "$DEMO/provider-registration.json")
OFFER=$(json "['id']" < "$DEMO/provider-offer.json")
PUBKEY=$("$K" node show --home "$HOME_DIR" | json "['public_key']")

cat <<MSG
kexin provider node is serving.
  URL          $URL   (API: $URL/openapi.json, health: $URL/healthz, metrics: $URL/metrics)
  admin token  $TOKEN
  public key   $PUBKEY
  registered   examples/customers.csv as registration $REG
  offered      as $OFFER under examples/policies/statistics-compute-only.json
Try:  curl -H 'Authorization: Bearer $TOKEN' $URL/v1/catalog
A second node that negotiates a contract with this one:  scripts/quickstart-peer.sh
Stop with Ctrl-C.
MSG
if [ "${KEXIN_DEMO_EXIT:-0}" = 1 ]; then exit 0; fi
wait $PID
