#!/usr/bin/env bash
# The ingest figure of two commits in one run, alternating, on the same machine and database
# server: bench/ingest_ab.sh BEFORE AFTER   (commits; default: HEAD~1 and HEAD).
#
# Each commit is built in release (in a worktree under target/ab/, a target directory each),
# then, ROUNDS times (3) and alternating, a fresh PostgreSQL database is seeded through
# TagResources by the benchmark's helper (`tagbench seed --passes bulk`: calls of 50 new resources
# with 8 tags from 8 callers, the bulk pass of bench/run.sh) with RESOURCES resources (200000).
# Prints each round's tags/s and the machine's CPU per call (every process: the server, the
# database, the helper), and the medians per commit. BENCH_ADMIN_URL as in bench/run.sh.
# BACKEND=sqlite seeds a fresh SQLite file per round instead (under target/ab/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BEFORE=$(git rev-parse --short "${1:-HEAD~1}")
AFTER=$(git rev-parse --short "${2:-HEAD}")
ROUNDS=${ROUNDS:-3}
BACKEND=${BACKEND:-postgres}
RESOURCES=${RESOURCES:-200000}
ADMIN=${BENCH_ADMIN_URL:-${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}}
WORK=$ROOT/target/ab
mkdir -p "$WORK"

die() { echo "ingest_ab: $*" >&2; exit 1; }

# shellcheck source=bench/ab_build.sh
source "$ROOT/bench/ab_build.sh"
BIN_BEFORE=$(build "$BEFORE")
BIN_AFTER=$(build "$AFTER")

db_url() {
  case $BACKEND in
    sqlite) echo "sqlite://$WORK/$1.db" ;;
    *) echo "${ADMIN%/*}/$1" ;;
  esac
}

fresh_db() { # name
  case $BACKEND in
    sqlite) rm -f "$WORK/$1".db* ;;
    *) psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null ;;
  esac
}

drop_db() { # name
  case $BACKEND in
    sqlite) rm -f "$WORK/$1".db* ;;
    *) psql "$ADMIN" -qc "DROP DATABASE $1" >/dev/null ;;
  esac
}


round() { # binary label -> "tags/s CPU-µs-per-call"
  local bin=$1 db=ingest_ab_$2 log=$WORK/server-$2.log token
  fresh_db "$db"
  "$bin" migrate --database-url "$(db_url "$db")" 2>/dev/null
  token=$("$bin" token create --project bench --database-url "$(db_url "$db")")
  serve "$bin" "$(db_url "$db")" "$log"
  local before rate
  before=$(busy_ticks)
  rate=$("$HELPER" seed --url "http://$ADDR" --token "$token" --resources "$RESOURCES" \
    --tags-per-resource 8 --passes bulk | sed -n 's/.*tags_per_s=\([0-9]*\).*/\1/p')
  # Calls of 50 resources each.
  echo "$rate $(( ($(busy_ticks) - before) * 1000000 / $(getconf CLK_TCK) / (RESOURCES / 50) ))"
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  drop_db "$db"
}

declare -a A B
for r in $(seq "$ROUNDS"); do
  read -r rate cpu < <(round "$BIN_BEFORE" "$BEFORE")
  A+=("$rate"); echo "round $r: $BEFORE $rate tags/s, $cpu µs CPU per call"
  read -r rate cpu < <(round "$BIN_AFTER" "$AFTER")
  B+=("$rate"); echo "round $r: $AFTER $rate tags/s, $cpu µs CPU per call"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
MA=$(median "${A[@]}"); MB=$(median "${B[@]}")
echo "median: $BEFORE $MA tags/s, $AFTER $MB tags/s, ratio $(awk -v a="$MA" -v b="$MB" 'BEGIN { printf "%.3f", b / a }')"
