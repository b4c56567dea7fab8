#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds with warnings as errors, runs every test.
# Options: --asan also builds and runs the unit tests under AddressSanitizer + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# PostgreSQL on loopback for the store and ledger tests (started when not running).
export KEXIN_TEST_PG_URL=$(bash scripts/pg-test-server.sh)
export KEXIN_REQUIRE_PG=1
cmake --preset ci >/dev/null
cmake --build --preset ci
ctest --preset ci -j2
if [ "${1:-}" = "--asan" ]; then
  cmake --preset asan >/dev/null
  cmake --build --preset asan
  ctest --preset asan -j2
fi
