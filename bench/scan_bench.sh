#!/usr/bin/env bash
# Scan throughput benchmark (issue: `kexin scan` floor 250 MB/s per core with every detector on;
# sample mode classifies a 10 GB file in under 5 s).
#
#   bench/scan_bench.sh [SIZE_BYTES]      default 1000000000 (about 1 GB)
#   KEXIN_BENCH_10G=1 bench/scan_bench.sh also builds a 10 GB file and times sample mode on it
#
# Generates a labelled table with kexin-gen (every category plus decoys, see
# src/testdata/labelled_table.h) under bench/data/, then prints MB/s for `kexin scan --full` with 1
# and 2 threads (wall time, and MB per CPU-second), and `grep -cE` with one ID-number pattern over
# the same file as a yardstick.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1000000000}
BUILD=${BUILD:-build/release}
cmake --preset release >/dev/null
cmake --build --preset release --target kexin kexin-gen >/dev/null
KEXIN=$BUILD/kexin
GEN=$BUILD/kexin-gen
mkdir -p bench/data
DATA=bench/data/scan_${SIZE}.csv
if [ ! -f "$DATA" ]; then
  echo "generating $DATA ..." >&2
  "$GEN" --bytes "$SIZE" --seed 42 -o "$DATA"
fi
BYTES=$(stat -c %s "$DATA")
ROWS=$(($(wc -l <"$DATA") - 1))
COLS=$(head -1 "$DATA" | awk -F, '{print NF}')
cat "$DATA" >/dev/null  # warm the page cache: we measure the scanner, not the disk
echo "data: $DATA, $BYTES bytes, ~$ROWS rows, $COLS columns; $(nproc) cores"

SINK=$(mktemp /tmp/kexin-scan-bench.XXXXXX)
trap 'rm -f "$SINK"' EXIT
measure() {  # label, command...
  local label=$1
  shift
  local t0 t1 out
  # Output to a file, not /dev/null: GNU grep notices /dev/null and stops at the first match.
  out=$( { /usr/bin/time -f "%e %U %S %M" "$@" >"$SINK"; } 2>&1 | tail -1)
  read -r wall user sys rss <<<"$out"
  awk -v l="$label" -v b="$BYTES" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" 'BEGIN {
    printf "%-34s %7.2f s  %8.1f MB/s  %8.1f MB per CPU-s  peak RSS %d MiB\n", l, w, b/1e6/w, b/1e6/(u+s), r/1024 }'
}

measure "kexin scan --full --threads 1" "$KEXIN" scan "$DATA" --full --threads 1 -q --format json
measure "kexin scan --full --threads 2" "$KEXIN" scan "$DATA" --full --threads 2 -q --format json
measure "grep -cE '<ID pattern>' (yardstick)" grep -cE '[1-9][0-9]{5}(19|20)[0-9]{2}(0[1-9]|1[0-2])[0-9]{5}[0-9Xx]' "$DATA"
measure "kexin scan (sample, default)" "$KEXIN" scan "$DATA" -q --format json

if [ "${KEXIN_BENCH_10G:-0}" = "1" ]; then
  BIG=bench/data/scan_10g.csv
  if [ ! -f "$BIG" ]; then
    echo "building $BIG (10 copies of the body) ..." >&2
    { cat "$DATA"; for _ in 2 3 4 5 6 7 8 9 10; do tail -n +2 "$DATA"; done; } >"$BIG"
  fi
  sync
  if echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then cache="cold cache"; else cache="page cache not dropped"; fi
  BYTES=$(stat -c %s "$BIG")
  start=$(date +%s.%N)
  "$KEXIN" scan "$BIG" -q --format json >/tmp/kexin_10g.json
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" -v b="$BYTES" -v c="$cache" 'BEGIN { printf "kexin scan (sample) on %.1f GB (%s): %.2f s\n", b/1e9, c, e-s }'
fi
