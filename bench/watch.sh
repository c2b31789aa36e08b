#!/usr/bin/env bash
# The change feed's figures (issue 14), on this machine's PostgreSQL and on SQLite:
#   - commit-to-watcher latency: one write at a time (WRITES, 500; a pause of 10 ms between), from
#     its call to a watcher receiving it, through the same process and, on PostgreSQL, through a
#     second process on the same database (LISTEN/NOTIFY);
#   - WATCHERS (1000) watchers on one process: its resident memory, its CPU while they idle
#     (IDLE_SECS, 10) and per write while one write at a time fans out to all of them.
# SERVER_BIN: the release binary to serve with (default: built here); HELPER: the benchmark's
# helper (default: built here). BENCH_ADMIN_URL as in
# bench/run.sh. Prints one line per figure.
set -euo pipefail
cd "$(dirname "$0")/.."
ADMIN=${BENCH_ADMIN_URL:-${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}}
WRITES=${WRITES:-500}
WATCHERS=${WATCHERS:-1000}
IDLE_SECS=${IDLE_SECS:-10}
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

if [[ -z ${SERVER_BIN:-} ]]; then
  cargo build --release --locked --quiet --bin tagging-service
  SERVER_BIN=$PWD/target/release/tagging-service
fi
HELPER=${HELPER:-$(cargo bench --quiet --no-run --bench tagbench --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="tagbench" and m.get("executable"): print(m["executable"])' | tail -1)}

# serve URL PORT: a server on the database URL, its pid appended to PIDS.
serve() {
  TAGGING_DATABASE_URL=$1 "$SERVER_BIN" serve --listen "127.0.0.1:$2" >"$WORK/server-$2.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/"$2") 2>/dev/null && return; sleep 0.1; done
  cat "$WORK/server-$2.log" >&2; exit 1
}
token() { TAGGING_DATABASE_URL=$1 "$SERVER_BIN" token create --project bench; }

# PostgreSQL: two processes on one fresh database.
DB=watchbench
psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
PG=${ADMIN%/*}/$DB
TAGGING_DATABASE_URL=$PG "$SERVER_BIN" migrate >/dev/null 2>&1
TOKEN=$(token "$PG")
serve "$PG" 50071
A_PID=${PIDS[-1]}
serve "$PG" 50072
echo "postgres, same process: $("$HELPER" watch-latency --write-url http://127.0.0.1:50071 --watch-url http://127.0.0.1:50071 --token "$TOKEN" --writes "$WRITES")"
echo "postgres, across processes: $("$HELPER" watch-latency --write-url http://127.0.0.1:50072 --watch-url http://127.0.0.1:50071 --token "$TOKEN" --writes "$WRITES")"
echo "postgres, $WATCHERS watchers: $("$HELPER" watchers --url http://127.0.0.1:50071 --token "$TOKEN" --pid "$A_PID" --watchers "$WATCHERS" --idle-secs "$IDLE_SECS")"

# SQLite: one process.
LITE="sqlite:$WORK/watch.db"
TOKEN=$(token "$LITE")
serve "$LITE" 50073
L_PID=${PIDS[-1]}
echo "sqlite, same process: $("$HELPER" watch-latency --write-url http://127.0.0.1:50073 --watch-url http://127.0.0.1:50073 --token "$TOKEN" --writes "$WRITES")"
echo "sqlite, $WATCHERS watchers: $("$HELPER" watchers --url http://127.0.0.1:50073 --token "$TOKEN" --pid "$L_PID" --watchers "$WATCHERS" --idle-secs "$IDLE_SECS")"
psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
