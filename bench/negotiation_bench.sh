#!/usr/bin/env bash
# Complete contract negotiations per second between two `kexin serve` nodes on loopback
# (docs/contract.md). A provider offers examples/customers.csv; a consumer starts N negotiations
# with CONCURRENCY client connections (bench/negotiation_driver.cc, built next to KEXIN_BINARY by the
# ci preset or -DKEXIN_BUILD_BENCH=ON) and the figure is N divided by
# the time until the last one is FINALIZED on the consumer (both nodes sign, verify, store and
# ledger every step; embedded SQLite stores with synchronous=FULL, or PostgreSQL with
# KEXIN_BENCH_PG=postgresql://user@host:port/db). Floor: 500/s.
# Usage: bench/negotiation_bench.sh KEXIN_BINARY [N] [CONCURRENCY]
# Environment: KEXIN_BENCH_THREADS (server I/O threads, default 2), KEXIN_BENCH_SERVER_WORKERS
# (handler threads, default 32), KEXIN_CONTRACT_WORKERS (outbox workers per node, default 32 here),
# KEXIN_CONTRACT_PER_PEER (deliveries in flight to one peer; default here: all the workers, since
# each node has one peer and the per-peer limit exists to keep workers for other peers),
# KEXIN_BENCH_DIR (node homes; default a temp dir under /tmp).
set -euo pipefail
K=$(realpath "$1")
DRIVER=${KEXIN_BENCH_DRIVER:-$(dirname "$K")/negotiation_driver}
[ -x "$DRIVER" ] || { echo "negotiation_bench: no driver at $DRIVER (build the negotiation_driver target)" >&2; exit 2; }
N=${2:-5000}
C=${3:-64}
SRC=$(cd "$(dirname "$0")/.." && pwd)
THREADS=${KEXIN_BENCH_THREADS:-2}
SWORKERS=${KEXIN_BENCH_SERVER_WORKERS:-32}
export KEXIN_CONTRACT_WORKERS=${KEXIN_CONTRACT_WORKERS:-32}
export KEXIN_CONTRACT_PER_PEER=${KEXIN_CONTRACT_PER_PEER:-$KEXIN_CONTRACT_WORKERS}
T=${KEXIN_BENCH_DIR:-$(mktemp -d /tmp/kexin-neg-bench.XXXXXX)}
PP=$((20000 + RANDOM % 20000)); CP=$((PP + 1))
PURL=http://127.0.0.1:$PP; CURL_=http://127.0.0.1:$CP
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${KEXIN_BENCH_DIR:-}" ] || rm -rf "$T"
  if [ -n "${SUF:-}" ]; then
    for db in kxbench_p_$SUF kxbench_c_$SUF; do psql -q "$KEXIN_BENCH_PG" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; done
  fi
}
trap cleanup EXIT
py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
api() { curl -sS --fail-with-body -X "$3" -H "Authorization: Bearer $2" -H 'Content-Type: application/json' ${5:+--data-binary "$5"} "$1$4"; }

STORE_P=(); STORE_C=(); CDB=$T/c/node.db; BACKEND=SQLite
if [ -n "${KEXIN_BENCH_PG:-}" ]; then  # a PostgreSQL server URL: one database per node
  SUF=$RANDOM$RANDOM
  for db in kxbench_p_$SUF kxbench_c_$SUF; do psql -q "$KEXIN_BENCH_PG" -c "CREATE DATABASE $db" >/dev/null; done
  BASE=${KEXIN_BENCH_PG%/*}
  STORE_P=(--store "$BASE/kxbench_p_$SUF"); STORE_C=(--store "$BASE/kxbench_c_$SUF")
  CDB=$BASE/kxbench_c_$SUF; BACKEND=PostgreSQL
fi
"$K" init --home "$T/p" --name provider "${STORE_P[@]}" >/dev/null
"$K" init --home "$T/c" --name consumer "${STORE_C[@]}" >/dev/null
PT=$("$K" user add admin --role admin --home "$T/p" | py "d['token']")
CT=$("$K" user add admin --role admin --home "$T/c" | py "d['token']")
"$K" serve --home "$T/p" --listen "127.0.0.1:$PP" --public-url "$PURL" --data-root "$SRC/examples" --threads "$THREADS" --workers "$SWORKERS" 2> "$T/provider.log" &
PIDS+=($!)
"$K" serve --home "$T/c" --listen "127.0.0.1:$CP" --public-url "$CURL_" --threads "$THREADS" --workers "$SWORKERS" 2> "$T/consumer.log" &
PIDS+=($!)
for u in "$PURL" "$CURL_"; do
  for _ in $(seq 200); do curl -sf "$u/healthz" >/dev/null && break; sleep 0.05; done
done
BODY=$(python3 -c 'import json,sys; print(json.dumps({"file": sys.argv[1], "meta_toml": open(sys.argv[2]).read()}))' \
  "$SRC/examples/customers.csv" "$SRC/examples/customers.meta.toml")
REG=$(api "$PURL" "$PT" POST /v1/registrations "$BODY" | py "d['registration']['id']")
POLICY=$SRC/examples/policies/statistics-compute-only.json
BODY=$(python3 -c 'import json,sys; print(json.dumps({"registration": sys.argv[1], "policy": json.load(open(sys.argv[2]))}))' "$REG" "$POLICY")
OFFER=$(api "$PURL" "$PT" POST /v1/offers "$BODY" | py "d['id']")
PKEY=$(api "$PURL" "$PT" GET /v1/node | py "d['public_key']")
CKEY=$(api "$CURL_" "$CT" GET /v1/node | py "d['public_key']")
api "$CURL_" "$CT" POST /v1/peers "{\"name\":\"provider\",\"url\":\"$PURL\",\"public_key\":\"$PKEY\"}" >/dev/null
api "$PURL" "$PT" POST /v1/peers "{\"name\":\"consumer\",\"url\":\"$CURL_\",\"public_key\":\"$CKEY\"}" >/dev/null

# Warm-up (connections, caches), then the measured run.
"$DRIVER" "$CURL_" "$CT" "$CDB" provider "$REG" "$OFFER" "$POLICY" 50 8 >/dev/null
cpu_ticks() { local t=0; for p in "${PIDS[@]}"; do t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat))); done; echo $t; }
TICKS0=$(cpu_ticks)
OUT=$("$DRIVER" "$CURL_" "$CT" "$CDB" provider "$REG" "$OFFER" "$POLICY" "$N" "$C")
TICKS1=$(cpu_ticks)
HZ=$(getconf CLK_TCK)
CPU_S=$(python3 -c "print(round(($TICKS1 - $TICKS0) / $HZ, 2))")
RATE=$(echo "$OUT" | py "d['negotiations_per_second']")
SECS=$(echo "$OUT" | py "d['seconds']")
WORKERS=$KEXIN_CONTRACT_WORKERS
echo "negotiation_bench: $N complete negotiations (REQUESTED->AGREED->VERIFIED->FINALIZED, 4 signed DSP round trips each) in ${SECS} s = ${RATE} negotiations/s"
echo "  concurrency $C client connections; per node: $THREADS server I/O threads, $SWORKERS handler threads, $WORKERS outbox workers ($KEXIN_CONTRACT_PER_PEER may deliver to one peer at once); $(nproc) cores shared by both nodes and the driver; $BACKEND stores (homes under $T)"
echo "  CPU used by both servers: ${CPU_S} s = $(python3 -c "print(round(1000 * $CPU_S / $N, 2))") ms per negotiation (both sides), i.e. at most $(python3 -c "print(int($(nproc) * $N / max($CPU_S, 0.001)))")/s if both servers had all $(nproc) cores; load average now $(cut -d' ' -f1 /proc/loadavg)"
echo "  floor 500/s: $(python3 -c "print('met' if $RATE >= 500 else 'NOT met')")"
echo "  driver: $OUT"
for side in p c; do "$K" ledger verify --home "$T/$side" >/dev/null || { echo "ledger verify failed ($side)" >&2; exit 1; }; done
echo "  both ledgers verify"
