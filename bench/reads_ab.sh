#!/usr/bin/env bash
# The filtered reads of two commits on the same data: bench/reads_ab.sh BEFORE AFTER (commits;
# default HEAD~1 and HEAD), PostgreSQL.
#
# Both are built as bench/ingest_ab.sh builds them. BEFORE's server seeds a fresh database with
# RESOURCES resources of 10 tags (200000; the bulk, filter and rare passes of
# benches/tagbench/dataset.rs, the project `bench` of bench/filters.sh) and answers N calls (100,
# after WARM calls, 10) of each shape of bench/filters.sh, one at a time on one connection, with
# the statistics fresh (VACUUM ANALYZE) and then missing (wiped). AFTER's binary then migrates the
# same database (timed: the migrations between the two commits, on that data) and its server
# answers the same requests in the same states. Prints per shape and state the median µs per call
# and the machine's CPU µs per call (every process: server, database, h2load) of each, and the
# ratios AFTER ÷ BEFORE. Needs h2load (Debian's nghttp2-client). BENCH_ADMIN_URL as in
# bench/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BEFORE=$(git rev-parse --short "${1:-HEAD~1}")
AFTER=$(git rev-parse --short "${2:-HEAD}")
RESOURCES=${RESOURCES:-200000}
N=${N:-100}
WARM=${WARM:-10}
ADMIN=${BENCH_ADMIN_URL:-${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}}
WORK=$ROOT/target/ab
DB=reads_ab
URL="${ADMIN%/*}/$DB"
BACKEND=postgres DEEP_PAGE=${DEEP_PAGE:-1000}
FILTERS=$WORK/reads-filters
mkdir -p "$FILTERS"

log() { printf '%s\n' "$*" >&2; }
die() { log "reads_ab: $*"; exit 1; }
command -v h2load >/dev/null || die "h2load is missing (apt-get install nghttp2-client)"
# shellcheck source=bench/ab_build.sh
source "$ROOT/bench/ab_build.sh"
# shellcheck source=bench/filters.sh
source "$ROOT/bench/filters.sh"

BIN_BEFORE=$(build "$BEFORE")
BIN_AFTER=$(build "$AFTER")

SERVER_PID=
start() { # binary
  serve "$1" "$URL" "$WORK/reads-server.log"
  BASE=http://$ADDR
}
stop() {
  if [[ -n $SERVER_PID ]]; then
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
trap stop EXIT

# Every gRPC and REST shape of the project `bench`: "state shape µs-per-call CPU-µs-per-call".
measure() { # label state
  local name request project log before p50
  while IFS=$'\t' read -r -u 3 name request project _; do
    [[ $project == bench ]] || continue
    log=$FILTERS/$1-$2-$name.log
    local calls=grpc_calls
    [[ -f $FILTERS/rest/$request.path ]] && calls=rest_calls
    "$calls" "$request" "$TOKEN" "$WARM" "$log" 300
    before=$(busy_ticks)
    "$calls" "$request" "$TOKEN" "$N" "$log" 600
    p50=$(awk '{ print $3 }' "$log" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    echo "$2 $name $p50 $(( ($(busy_ticks) - before) * 1000000 / $(getconf CLK_TCK) / N ))"
  done 3< <(filter_shapes)
}

psql -qX "$ADMIN" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
"$BIN_BEFORE" migrate --database-url "$URL" 2>/dev/null
TOKEN=$("$BIN_BEFORE" token create --project bench --database-url "$URL")
start "$BIN_BEFORE"
seed=("$HELPER" seed --url "$BASE" --token "$TOKEN" --tags-per-resource 10 --resources "$RESOURCES")
log "seeding $RESOURCES resources: $("${seed[@]}" --passes bulk)"
"${seed[@]}" --passes filter,rare >/dev/null
"$HELPER" filters --url "$BASE" --token "$TOKEN" --deep-page "$DEEP_PAGE" --out "$FILTERS" >/dev/null
declare -a results
for label in before after; do
  bin=$BIN_BEFORE
  if [[ $label == after ]]; then
    stop
    bin=$BIN_AFTER
    started=$(date +%s.%N)
    "$bin" migrate --database-url "$URL" 2>/dev/null
    log "migrating $BEFORE → $AFTER: $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"
  fi
  for state in fresh missing; do
    stop
    stats_state "$state" "$URL"
    start "$bin"
    log "$label, $state statistics"
    while read -r line; do results+=("$label $line"); done < <(measure "$label" "$state")
  done
done
stop
printf '%s\n' "${results[@]}" | awk -v a="$BEFORE" -v b="$AFTER" '
  { key = $2 " " $3; if ($1 == "before") { t[key] = $4; c[key] = $5; order[++n] = key } else { t2[key] = $4; c2[key] = $5 } }
  END {
    printf "%-8s %-22s %10s %10s %7s %10s %10s %7s\n", "stats", "shape", a " p50", b " p50", "ratio", a " CPU", b " CPU", "ratio"
    for (i = 1; i <= n; i++) { k = order[i]; split(k, p, " ")
      printf "%-8s %-22s %10d %10d %7.2f %10d %10d %7.2f\n", p[1], p[2], t[k], t2[k], t2[k] / t[k], c[k], c2[k], c2[k] / c[k] } }'
psql -qX "$ADMIN" -c "DROP DATABASE $DB" >/dev/null
