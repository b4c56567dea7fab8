#!/usr/bin/env bash
# Crash test of the ledger's durability: a child appends from many threads and is killed with
# SIGKILL at a random moment, over and over. After every kill the ledger must open and verify
# (`kexin ledger verify`), have no gaps, and hold every entry the child saw acknowledged, at the
# acknowledged index and byte for byte (SHA-256 of the entry text).
# Usage: ledger_crash_test.sh KEXIN LEDGER_CRASH_CHILD
# Env: CRASH_ROUNDS (default 20), CRASH_THREADS (default 16), KEXIN_TEST_PG_URL (adds one
# PostgreSQL round in a fresh schema), KEXIN_REQUIRE_PG=1 (fail without KEXIN_TEST_PG_URL).
set -u
KEXIN=$1
CHILD=$2
ROUNDS=${CRASH_ROUNDS:-20}
THREADS=${CRASH_THREADS:-16}
T=$(mktemp -d)
SCHEMA=""
cleanup() {
  if [ -n "$SCHEMA" ]; then
    psql -q "$KEXIN_TEST_PG_URL" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1
  fi
  rm -rf "$T"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# awk program over DUMP ACKS: the dump lists indices 0..size-1 in order; every acknowledged
# "<index> <hash>" is in it with the same hash; size >= max acknowledged index + 1.
CHECK='
  FILENAME == ARGV[1] {
    if ($1 != FNR - 1) { print where ": dump line " FNR " has index " $1; bad = 1; exit }
    hash[$1] = $2; size = FNR; next
  }
  !($1 in hash) { print where ": acked entry " $1 " is missing (size " size ")"; bad = 1; exit }
  hash[$1] != $2 { print where ": entry " $1 " differs from the acked one"; bad = 1; exit }
  $1 + 1 > need { need = $1 + 1 }
  END {
    if (!bad && size < need) { print where ": size " size " < max acked index + 1 = " need }
    if (!bad && size < need) bad = 1
    exit bad
  }'

# crash_rounds NAME HOME ROUNDS: runs the kill loop on an initialised home; adds to the totals.
total_kills=0
total_acks=0
crash_rounds() {
  local name=$1 home=$2 rounds=$3 acks="$T/$1.acks" round pid delay kills=0
  : >"$acks"
  for ((round = 1; round <= rounds; round++)); do
    "$CHILD" "$home" "$THREADS" >"$T/out" 2>"$T/err" &
    pid=$!
    delay=$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.2 + 0.8 * r / 32767 }')
    sleep "$delay"
    if ! kill -0 "$pid" 2>/dev/null; then
      fail "$name round $round: the child exited by itself: $(head -c 300 "$T/err")"
      wait "$pid" 2>/dev/null
      break
    fi
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    kills=$((kills + 1))
    # Complete ack lines only (a line cut by the kill would be malformed, never wrong).
    grep -E '^ack [0-9]+ [0-9a-f]{64}$' "$T/out" | cut -d' ' -f2,3 >>"$acks"

    if ! "$KEXIN" ledger verify --home "$home" >"$T/verify" 2>&1; then
      fail "$name round $round (killed after ${delay}s): ledger verify: $(head -c 500 "$T/verify")"
      break
    fi
    if ! "$CHILD" "$home" --dump >"$T/dump" 2>"$T/err"; then
      fail "$name round $round: dump: $(head -c 300 "$T/err")"
      break
    fi
    # The dump lists 0..size-1 without gaps; every ack is there with the same hash.
    if ! awk -v where="$name round $round" "$CHECK" "$T/dump" "$acks" >"$T/check"; then
      fail "$(cat "$T/check")"
      break
    fi
  done
  local n
  n=$(sort -u "$acks" | wc -l)
  if [ "$(cut -d' ' -f1 "$acks" | sort -u | wc -l)" -ne "$n" ]; then
    fail "$name: an index was acknowledged twice with different entries"
  fi
  total_kills=$((total_kills + kills))
  total_acks=$((total_acks + n))
  echo "crash test ($name): $kills kills, $n acknowledged appends, ledger size $(wc -l <"$T/dump")"
}

# SQLite (the default store).
if "$KEXIN" init --home "$T/sqlite" --name crash-sqlite >/dev/null 2>"$T/err"; then
  crash_rounds sqlite "$T/sqlite" "$ROUNDS"
else
  fail "kexin init: $(cat "$T/err")"
fi

# PostgreSQL, in a fresh schema.
if [ -n "${KEXIN_TEST_PG_URL:-}" ]; then
  SCHEMA="kx_crash_$$_$RANDOM"
  case "$KEXIN_TEST_PG_URL" in *\?*) sep='&' ;; *) sep='?' ;; esac
  if ! psql -q "$KEXIN_TEST_PG_URL" -c "CREATE SCHEMA $SCHEMA" >/dev/null 2>"$T/err"; then
    fail "psql create schema: $(cat "$T/err")"
  elif "$KEXIN" init --home "$T/pg" --name crash-pg \
      --store "$KEXIN_TEST_PG_URL${sep}options=-csearch_path%3D$SCHEMA" >/dev/null 2>"$T/err"; then
    crash_rounds postgresql "$T/pg" "${CRASH_PG_ROUNDS:-1}"
  else
    fail "kexin init --store postgresql: $(cat "$T/err")"
  fi
elif [ "${KEXIN_REQUIRE_PG:-}" = 1 ]; then
  fail "KEXIN_TEST_PG_URL is not set but KEXIN_REQUIRE_PG=1" \
    "(export KEXIN_TEST_PG_URL=\$(scripts/pg-test-server.sh))"
else
  echo "crash test: KEXIN_TEST_PG_URL is not set; PostgreSQL round skipped"
fi

if [ "$fails" -ne 0 ]; then
  echo "crash test: $fails failure(s)"
  exit 1
fi
echo "crash test: $total_kills kills, $total_acks acknowledged appends, all present"
