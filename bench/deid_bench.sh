#!/usr/bin/env bash
# Issue 4's figures: UCI Adult search and end-to-end times, and 10 million synthetic rows (time,
# peak memory). Usage: bash bench/deid_bench.sh [--rows N] [--skip-synthetic]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x build/ci/deid_bench ]; then
  cmake --preset ci >/dev/null && cmake --build --preset ci --target deid_bench kexin >/dev/null
fi
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
exec build/ci/deid_bench --kexin build/ci/kexin "$@"
