#!/usr/bin/env bash
# Starts a private PostgreSQL server for kexin's tests on 127.0.0.1 (port $KEXIN_PG_PORT, default
# 54329) unless one is already answering there, and prints its connection URL. The data directory
# lives under /tmp/kexin-pg-$PORT and is owned by the `postgres` user (initdb refuses root).
# Usage: scripts/pg-test-server.sh [start|stop]
set -euo pipefail
PORT=${KEXIN_PG_PORT:-54329}
DIR=/tmp/kexin-pg-$PORT
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
URL="postgresql://postgres@127.0.0.1:$PORT/postgres"
if [ -z "$BIN" ]; then
  echo "pg-test-server: PostgreSQL server binaries not found; run scripts/setup.sh" >&2
  exit 1
fi
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}
case "${1:-start}" in
  stop)
    [ -d "$DIR" ] && as_pg "$BIN/pg_ctl -D $DIR -m fast stop" >/dev/null 2>&1 || true
    exit 0
    ;;
esac
if "$BIN/pg_isready" -h 127.0.0.1 -p "$PORT" -q 2>/dev/null; then
  echo "$URL"
  exit 0
fi
if [ ! -f "$DIR/PG_VERSION" ]; then
  rm -rf "$DIR"
  mkdir -p "$DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$DIR"
  as_pg "$BIN/initdb -D $DIR -U postgres --auth=trust -E UTF8 --locale=C.UTF-8" >/dev/null
fi
as_pg "$BIN/pg_ctl -D $DIR -l $DIR/server.log -w -t 30 -o '-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=300' start" >/dev/null
"$BIN/pg_isready" -h 127.0.0.1 -p "$PORT" -q
echo "$URL"
