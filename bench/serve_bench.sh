#!/usr/bin/env bash
# Authenticated GET throughput of `kexin serve` (issue 5 floor: 20,000 requests/s on 2 cores).
# Starts a node on loopback, adds a user, and runs wrk with its bearer token against GET /v1/node
# (token auth through the in-memory token cache, role check, handler, response), 2 wrk threads
# and 64 keep-alive connections for DURATION seconds. wrk shares the machine's cores with the
# server. Prints requests/s and latency percentiles.
# Usage: serve_bench.sh KEXIN [DURATION_S] [SERVER_THREADS]
set -eu
KEXIN=$1
DURATION=${2:-10}
THREADS=${3:-2}
command -v wrk >/dev/null || { echo "serve_bench: wrk is not installed" >&2; exit 2; }
T=$(mktemp -d)
SPID=
cleanup() {
  [ -n "$SPID" ] && kill "$SPID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
"$KEXIN" init --home "$T/h" --name bench >/dev/null
TOKEN=$("$KEXIN" user add bench --role consumer --home "$T/h" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$KEXIN" serve --home "$T/h" --listen "127.0.0.1:$PORT" --threads "$THREADS" 2>"$T/serve.log" &
SPID=$!
for _ in $(seq 1 200); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break
  sleep 0.01
done
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/node")
[ "$code" = 200 ] || { echo "serve_bench: GET /v1/node answered $code" >&2; exit 1; }
echo "cores: $(nproc), server threads: $THREADS, wrk: 2 threads, 64 connections, ${DURATION}s"
wrk -t2 -c64 -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" \
  "http://127.0.0.1:$PORT/v1/node" | tee "$T/wrk.txt"
rps=$(awk '/^Requests\/sec:/ {print $2}' "$T/wrk.txt")
errors=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$T/wrk.txt")
echo "authenticated GET /v1/node: ${rps} requests/s (floor 20000), non-2xx: ${errors:-0}"
awk -v r="$rps" 'BEGIN { exit !(r >= 20000) }' || echo "BELOW FLOOR"
