#!/usr/bin/env bash
# Catalog response time over HTTP with 10,000 assets (issue 5 floor: p99 under 50 ms; EDC took
# 538 ms for 10). Creates a node, fills its store with N registered and offered assets
# (catalog_bench --fill: one in ten with an access policy), starts `kexin serve`, warms the
# catalog index with one request, then runs wrk with a consumer's token at low concurrency
# (4 connections, so latency is not queueing) against: a 50-dataset page, a keyword search, one
# dataset, and the full 10,000-dataset catalog (about 12 MB per response). Prints p50/p99.
# Usage: catalog_http_bench.sh KEXIN CATALOG_BENCH [ASSETS] [DURATION_S]
set -eu
KEXIN=$1
FILL=$2
ASSETS=${3:-10000}
DURATION=${4:-10}
command -v wrk >/dev/null || { echo "catalog_http_bench: wrk is not installed" >&2; exit 2; }
T=$(mktemp -d)
SPID=
cleanup() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
"$KEXIN" init --home "$T/h" --name bench >/dev/null
"$FILL" --fill "sqlite:$T/h/node.db" --assets "$ASSETS"
TOKEN=$("$KEXIN" user add bench --role consumer --home "$T/h" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$KEXIN" serve --home "$T/h" --listen "127.0.0.1:$PORT" 2>"$T/serve.log" &
SPID=$!
for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.01; done
URL=http://127.0.0.1:$PORT
first=$(curl -s -o "$T/full.json" -w '%{time_total}' -H "Authorization: Bearer $TOKEN" "$URL/v1/catalog")
n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["dataset"]))' "$T/full.json")
echo "cores: $(nproc); $ASSETS assets, the consumer sees $n datasets; first request, made right after start while the index builds: ${first}s"
ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dataset"][0]["@id"])' "$T/full.json")
run() {  # label path connections
  wrk -t"$(( $3 < 2 ? 1 : 2 ))" -c"$3" -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" "$URL$2" >"$T/wrk.txt"
  awk -v l="$1" '
    /^Requests\/sec:/ {rps=$2}
    /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
    /Non-2xx/ {bad=$5}
    END {printf "%-44s p50 %9s  p99 %9s  %9s req/s  non-2xx %s\n", l, p50, p99, rps, bad+0}' "$T/wrk.txt"
}
run "GET /v1/catalog?limit=50 (a page)" "/v1/catalog?limit=50" 4
run "GET /v1/catalog/search?q=<keyword>" "/v1/catalog/search?q=%E5%AE%A2%E6%88%B7&limit=50" 4
run "GET /v1/catalog/search?sector=finance" "/v1/catalog/search?sector=finance&limit=50" 4
run "GET /v1/catalog (all $n datasets)" "/v1/catalog" 1
