#!/usr/bin/env bash
# The load benchmark of issue 5, in one command: bench/run.sh   (QUICK=1 for a one-minute run).
#
# Per backend: a release server on loopback; a dataset seeded through TagResources (ingest tags/s);
# h2load (gRPC) and wrk (REST) against each measured call, with the server's own per-method
# status counters read before and after each phase (any non-OK call fails the run); the transport
# limit (grpc.health.v1.Health/Check, same h2load settings) and the database limit (pgbench running
# the service's own SQL with the pool's connection count; on SQLite the helper does the same
# through sqlx) in the same run; RSS idle and under load. Query plans go to bench/explain/. Before
# those, the tag-filter phases of issue 17 in each state of the statistics (bench/filters.sh).
#
# Environment: BACKENDS ("postgres sqlite"), PG_RESOURCES/PG_TAGS (1000000/10000000),
# SQLITE_RESOURCES/SQLITE_TAGS (100000/1000000), DURATION seconds per phase (10), WARMUP (2),
# CONNS client connections (16), POOL server pool size (16), DEEP_PAGE (1000), SEED_CONCURRENCY
# (8), BENCH_ADMIN_URL (TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres),
# BENCH_DB (tagging_bench, created on that server), OUT (target/bench), EXPLAIN_DIR
# (bench/explain), KEEP=1 keeps the databases, REUSE=1 skips seeding when they exist,
# REQUEST_TIMEOUT_MS the server's --request-timeout-ms (its default); SERVER_ARGS more `serve` flags
# (e.g. "--filter-postings-mb 0"); bench/filters.sh lists its own.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [[ "${QUICK:-0}" == 1 ]]; then
  : "${PG_RESOURCES:=20000}" "${PG_TAGS:=200000}" "${SQLITE_RESOURCES:=10000}" "${SQLITE_TAGS:=100000}"
  : "${DURATION:=3}" "${WARMUP:=1}" "${DEEP_PAGE:=100}"
fi
: "${PG_RESOURCES:=1000000}" "${PG_TAGS:=10000000}" "${SQLITE_RESOURCES:=100000}" "${SQLITE_TAGS:=1000000}"
: "${DURATION:=10}" "${WARMUP:=2}" "${DEEP_PAGE:=1000}" "${CONNS:=16}" "${POOL:=16}"
: "${SEED_CONCURRENCY:=8}" "${BACKENDS:=postgres sqlite}" "${OUT:=$ROOT/target/bench}"
ADMIN_URL=${BENCH_ADMIN_URL:-${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}}
BENCH_DB=${BENCH_DB:-tagging_bench}
EXPLAIN_DIR=${EXPLAIN_DIR:-$ROOT/bench/explain}

log() { printf '%s\n' "$*" >&2; }
die() { log "bench: $*"; exit 1; }
# shellcheck source=bench/filters.sh
source "$ROOT/bench/filters.sh"

ensure_tools() {
  local missing=()
  command -v h2load >/dev/null || missing+=(nghttp2-client)
  command -v wrk >/dev/null || missing+=(wrk)
  command -v pgbench >/dev/null || missing+=(postgresql-client)
  command -v curl >/dev/null || missing+=(curl)
  command -v sqlite3 >/dev/null || missing+=(sqlite3)
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

build() {
  log "building (release)"
  (cd "$ROOT" && cargo build --release --quiet --bin tagging-service)
  SERVER=$ROOT/target/release/tagging-service
  HELPER=$(cd "$ROOT" && cargo bench --quiet --no-run --bench tagbench --message-format=json \
    | grep '"name":"tagbench"' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
  [[ -x "$HELPER" ]] || die "cannot find the tagbench helper"
}

# The database URL of $BENCH_DB on the admin server.
bench_url() { printf '%s' "$ADMIN_URL" | sed -E "s#/[^/?]*(\?|$)#/$BENCH_DB\1#"; }

start_server() { # url
  local log=$RUN/server.log
  # Emptied here, not only by the server's redirection, which may come after the first read below
  # and leave the previous server's address to be found.
  : >"$log"
  "$SERVER" serve --listen 127.0.0.1:0 --database-url "$1" --db-max-connections "$POOL" \
    ${REQUEST_TIMEOUT_MS:+--request-timeout-ms "$REQUEST_TIMEOUT_MS"} ${SERVER_ARGS:-} 2>"$log" &
  SERVER_PID=$!
  for _ in $(seq 600); do
    ADDR=$(sed -e 's/\x1b\[[0-9;]*m//g' "$log" | sed -n 's/.*tagging-service ready.*address=\([0-9.:]*\).*/\1/p' | head -1)
    [[ -n "$ADDR" ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || die "server exited: $(tail -3 "$log")"
    sleep 0.1
  done
  [[ -n "$ADDR" ]] || die "server did not start"
  BASE=http://$ADDR
}

stop_server() {
  if [[ -n "${SERVER_PID:-}" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
trap stop_server EXIT

rss_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$SERVER_PID/status"; }

# CPU time in clock ticks: the server's, the database's (on PostgreSQL, the backends serving the
# server's own connections, as listed in $DB_PIDS when the phase starts; SQLite runs inside the
# server), and the whole machine's (every core, every process).
server_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
# "pid:ticks,pid:ticks…" of $DB_PIDS still running.
db_ticks() {
  local out=- pid t
  for pid in ${DB_PIDS:-}; do
    # A backend may have exited since it was listed (the pool closed its connection).
    t=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null) && out+=",$pid:$t"
  done
  echo "$out"
}
server_db_pids() {
  if [[ $BACKEND == postgres ]]; then
    psql -qtAX "$url" -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'tagging-service' AND datname = current_database()"
  fi
}
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
ticks() { echo "$(server_ticks) $(db_ticks) $(machine_ticks)"; }
# Microseconds of CPU per call between two `ticks` snapshots: "server database machine". The
# database's counts the backends alive at both ends (a connection the pool closed meanwhile, as it
# does when a client abandons a call mid-statement, drops out rather than count as negative).
per_call() { # before after calls
  awk -v b="$1" -v a="$2" -v n="$3" -v hz="$(getconf CLK_TCK)" 'BEGIN {
    split(b, x, " "); split(a, y, " ")
    m = split(x[2], p, ","); for (i = 2; i <= m; i++) { split(p[i], kv, ":"); start[kv[1]] = kv[2] }
    m = split(y[2], p, ","); db = 0
    for (i = 2; i <= m; i++) { split(p[i], kv, ":"); if (kv[1] in start) db += kv[2] - start[kv[1]] }
    us = hz * n / 1e6
    printf "%.0f %.0f %.0f\n", (y[1] - x[1]) / us, db / us, (y[3] - x[3]) / us }'
}

# tagging_requests_total as "transport method code count" lines.
calls() {
  curl -sf "$BASE/metrics" | sed -n 's/^tagging_requests_total{transport="\([^"]*\)",method="\([^"]*\)",code="\([^"]*\)"} \([0-9]*\)$/\1\t\2\t\3\t\4/p'
}

# Fails when any call between the two snapshots ended other than OK; prints the OK count.
check_calls() { # before after phase
  awk -F'\t' -v phase="$3" '
    NR == FNR { before[$1 FS $2 FS $3] = $4; next }
    { d = $4 - before[$1 FS $2 FS $3]; if (d <= 0) next
      if ($3 == "Ok" || $3 == "200") ok += d; else { bad += d; what = what " " $2 "=" $3 "x" d } }
    END { if (bad) { print "bench: " phase ": " bad " calls failed:" what > "/dev/stderr"; exit 1 }
          print ok + 0 }' "$1" "$2"
}

# Percentiles (ms) of h2load's per-request log: column 3 is microseconds to the response.
percentiles() { sort -n -k3,3 "$1" | awk '{ v[NR] = $3 } END {
  if (!NR) { print "- -"; exit }
  i50 = int(NR * 0.50 + 0.5); i99 = int(NR * 0.99 + 0.5); if (i99 > NR) i99 = NR; if (i50 < 1) i50 = 1
  printf "%.2f %.2f\n", v[i50] / 1000, v[i99] / 1000 }'; }

# Runs one h2load phase; appends "name rps p50 p99 ok" to $RESULTS.
grpc_phase() { # name method frame [connections]
  local name=$1 path=$2 frame=$RUN/prep/frames/$3.bin before=$RUN/calls.before after=$RUN/calls.after
  local args=(-c "${4:-$CONNS}" -m 1 -t 1 -d "$frame" -H 'content-type: application/grpc'
    -H 'te: trailers' -H "authorization: Bearer $TOKEN" "$BASE$path")
  # Warm up on its own, so the CPU counted below is the measured calls' (h2load counts its warm-up
  # calls out of its figures, but they would still cost CPU).
  h2load -D "$WARMUP" "${args[@]}" >/dev/null
  DB_PIDS=$(server_db_pids)
  calls >"$before"
  local out t0 t1 total
  t0=$(ticks)
  : >"$RUN/$name.log" # h2load appends to its log, and OUT may hold an earlier run's
  out=$(h2load -D "$DURATION" --log-file="$RUN/$name.log" "${args[@]}")
  t1=$(ticks)
  calls >"$after"
  local ok rps
  ok=$(check_calls "$before" "$after" "$name") || exit 1
  grep -q ' 0 failed, 0 errored, 0 timeout' <<<"$out" || die "$name: h2load saw failures: $(grep requests: <<<"$out")"
  rps=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
  if [[ "$path" != /grpc.health.v1.Health/Check && "$ok" -eq 0 ]]; then die "$name: the server counted no call"; fi
  total=$(sed -n 's/^requests: [0-9]* total, [0-9]* started, \([0-9]*\) done.*/\1/p' <<<"$out")
  echo "$name $rps $(percentiles "$RUN/$name.log") $ok $(per_call "$t0" "$t1" "$total")" >>"$RESULTS"
  log "  $name: $rps calls/s"
}

rest_phase() { # name path
  local name=$1 before=$RUN/calls.before after=$RUN/calls.after out ok rps p50 p99
  DB_PIDS=$(server_db_pids)
  calls >"$before"
  local t0 t1
  t0=$(ticks)
  out=$(wrk -t 1 -c "$CONNS" -d "${DURATION}s" --latency -H "X-Auth-Token: $TOKEN" "$BASE$2")
  t1=$(ticks)
  calls >"$after"
  ok=$(check_calls "$before" "$after" "$name") || exit 1
  ! grep -q 'Non-2xx' <<<"$out" || die "$name: $(grep Non-2xx <<<"$out")"
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  echo "$name $rps $(ms "$p50") $(ms "$p99") $ok $(per_call "$t0" "$t1" "$ok")" >>"$RESULTS"
  log "  $name: $rps calls/s"
}

# wrk's "1.23ms", "850.00us" or "1.02s" in milliseconds.
ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[0-9]s$/) n *= 1000; printf "%.2f", n }'; }

# The database alone running a statement list: pgbench on PostgreSQL, the helper on SQLite.
db_phase() { # name script(s-in-order) url
  local name=$1 shapes=$2 url=$3 rate m0 m1
  m0=$(machine_ticks)
  if [[ $BACKEND == postgres ]]; then
    local file=$RUN/prep/sql/$shapes.sql vars=() line
    while IFS= read -r line; do vars+=(-D "$line"); done <"$RUN/prep/sql/$shapes.vars"
    # The session settings the service's own connections make (PLANNER_SETTINGS in
    # src/store/postgres.rs), which the helper prints.
    rate=$(PGOPTIONS=$("$HELPER" planner-options) pgbench -n -M prepared -c "$POOL" -j 2 -T "$DURATION" "${vars[@]}" -f "$file" "$url" 2>&1 \
      | sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
  else
    rate=$("$HELPER" dbbench --db-url "$url" --shapes "$RUN/prep/shapes.json" --run "$shapes" \
      --connections "$POOL" --seconds "$DURATION" | sed -n 's/.*rate=\([0-9.]*\)/\1/p')
  fi
  m1=$(machine_ticks)
  [[ -n "$rate" ]] || die "$name: no rate from the database run"
  # The machine's CPU per statement (the database and its client together), as the service's.
  echo "$name $rate - - - - - $(awk -v d=$((m1 - m0)) -v r="$rate" -v s="$DURATION" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", d / hz / (r * s) * 1e6 }')" >>"$RESULTS"
  log "  $name: $rate/s"
}

bench_backend() {
  BACKEND=$1
  RUN=$OUT/$BACKEND
  RESULTS=$RUN/results.txt
  mkdir -p "$RUN"
  : >"$RESULTS"
  local url resources tags seeded=0
  if [[ $BACKEND == postgres ]]; then
    resources=$PG_RESOURCES tags=$PG_TAGS url=$(bench_url)
    if [[ "${REUSE:-0}" == 1 ]] && psql -qtAX "$ADMIN_URL" -c "SELECT 1 FROM pg_database WHERE datname = '$BENCH_DB'" | grep -q 1; then
      seeded=1
    else
      psql -qX "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB" >/dev/null
    fi
  else
    resources=$SQLITE_RESOURCES tags=$SQLITE_TAGS url=sqlite:$RUN/tagging.db
    if [[ "${REUSE:-0}" == 1 && -f $RUN/tagging.db ]]; then seeded=1; else rm -f "$RUN"/tagging.db*; fi
  fi
  log "== $BACKEND: $resources resources, $tags tags"
  if [[ $seeded == 1 && -f $RUN/token && -f $RUN/token_small ]]; then
    TOKEN=$(cat "$RUN/token")
    SMALL_TOKEN=$(cat "$RUN/token_small")
  else
    TOKEN=$("$SERVER" token create --project bench --database-url "$url" 2>/dev/null)
    SMALL_TOKEN=$("$SERVER" token create --project small --database-url "$url" 2>/dev/null)
    echo "$TOKEN" >"$RUN/token"
    echo "$SMALL_TOKEN" >"$RUN/token_small"
    seeded=0
  fi
  start_server "$url"
  echo "rss_idle_kb $(rss_kb VmRSS) - - -" >>"$RESULTS"
  if [[ $seeded == 0 ]]; then
    log "  seeding"
    seed_projects "$url" "$resources" "$tags"
  fi
  # Ends on PostgreSQL after a VACUUM ANALYZE, as autovacuum would leave a table this size.
  filter_states "$url" $((1 - seeded))
  start_server "$url"
  log "  preparing frames, SQL and plans"
  "$HELPER" prepare --url "$BASE" --token "$TOKEN" --db-url "$url" --deep-page "$DEEP_PAGE" \
    --out "$RUN/prep" --explain-dir "$EXPLAIN_DIR" >"$RUN/prep.env"
  "$HELPER" explain --db-url "$url" --explain-dir "$EXPLAIN_DIR"
  # shellcheck disable=SC1091
  source "$RUN/prep.env"
  echo "deep_page_tag1 $DEEP_PAGE_TAG1 $DEEP_ROWS_TAG1 - -" >>"$RESULTS"
  echo "deep_page_tag2 $DEEP_PAGE_TAG2 $DEEP_ROWS_TAG2 - -" >>"$RESULTS"

  local svc=/tagging.v1.TaggingService
  grpc_phase health /grpc.health.v1.Health/Check health
  grpc_phase list_resource_tags $svc/ListResourceTags list_resource_tags
  grpc_phase by_ids $svc/ListTagResources by_ids
  grpc_phase tag1_p1 $svc/ListTagResources tag1_p1
  grpc_phase tag1_deep $svc/ListTagResources tag1_deep
  grpc_phase tag2_p1 $svc/ListTagResources tag2_p1
  grpc_phase tag2_deep $svc/ListTagResources tag2_deep
  # Latency without queueing: one caller at a time.
  grpc_phase tag2_p1_1c $svc/ListTagResources tag2_p1 1
  grpc_phase tag2_deep_1c $svc/ListTagResources tag2_deep 1
  rest_phase ack_by_ids "$ACK_PATH"
  rest_phase smn_resource_tags "$SMN_PATH"
  echo "rss_load_kb $(rss_kb VmHWM) - - -" >>"$RESULTS"
  stop_server

  for shape in list_resource_tags by_ids tag2_p1 tag2_deep; do
    db_phase "db_$shape" "$shape" "$url"
  done
  if [[ $BACKEND == postgres && "${KEEP:-0}" != 1 ]]; then
    psql -qX "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null
  fi
  report
  filters_report | tee -a "$RUN/report.md"
}

# The per-backend table and the ratios, from $RESULTS.
report() {
  awk -v backend="$BACKEND" -v conns="$CONNS" -v pool="$POOL" '
    { rps[$1] = $2; p50[$1] = $3; p99[$1] = $4; srv[$1] = $6; db[$1] = $7; cpu[$1] = $8 }
    function row(label, k) {
      printf "| %s | %.0f | %s | %s | %s | %s | %s |\n", label, rps[k], p50[k], p99[k], srv[k], (backend == "postgres" ? db[k] : "(in server)"), cpu[k] }
    function min(a, b) { return a < b ? a : b }
    END {
      printf "\n### %s (h2load/wrk: %d connections; pool %d)\n\n", backend, conns, pool
      print "| call | calls/s | p50 ms | p99 ms | CPU µs/call: server | database | machine |"; print "|---|---:|---:|---:|---:|---:|---:|"
      row("grpc.health.v1.Health/Check (transport limit)", "health")
      row("ListResourceTags", "list_resource_tags")
      row("ListTagResources by 10 ids (100 rows)", "by_ids")
      row("ListTagResources 1-tag filter, page 1", "tag1_p1")
      row("ListTagResources 1-tag filter, page " rps["deep_page_tag1"], "tag1_deep")
      row("ListTagResources 2-tag filter, page 1", "tag2_p1")
      row("ListTagResources 2-tag filter, page " rps["deep_page_tag2"], "tag2_deep")
      row("ListTagResources 2-tag filter, page 1, one connection", "tag2_p1_1c")
      row("ListTagResources 2-tag filter, page " rps["deep_page_tag2"] ", one connection", "tag2_deep_1c")
      row("REST ACK GET /tags (same query as by ids)", "ack_by_ids")
      row("REST SMN GET /v2/…/{id}/tags (same as ListResourceTags)", "smn_resource_tags")
      print ""
      print "| database alone (" (backend == "postgres" ? "pgbench -M prepared" : "sqlx, same pool") ", " pool " connections): the one statement of each call | statement/s | machine CPU µs/statement |"
      print "|---|---:|---:|"
      n = split("list_resource_tags by_ids tag2_p1 tag2_deep", s, " ")
      for (i = 1; i <= n; i++) printf "| %s | %.0f | %s |\n", s[i], rps["db_" s[i]], cpu["db_" s[i]]
      print ""
      lim = min(rps["health"], rps["db_list_resource_tags"])
      printf "| figure | measured | target |\n|---|---:|---|\n"
      printf "| ListResourceTags ÷ min(health %.0f, db statement %.0f) | %.2f | ≥ 0.8 |\n", rps["health"], rps["db_list_resource_tags"], rps["list_resource_tags"] / lim
      # The service, the database and the load tools share the cores, so their costs add.
      shared = 1 / (1 / rps["health"] + 1 / rps["db_list_resource_tags"])
      printf "| ListResourceTags ÷ 1/(1/health + 1/db statement) = %.0f, costs adding on shared cores | %.2f | |\n", shared, rps["list_resource_tags"] / shared
      printf "| machine CPU per call: (health %s + db statement %s µs) ÷ ListResourceTags %s µs | %.2f | |\n", cpu["health"], cpu["db_list_resource_tags"], cpu["list_resource_tags"], (cpu["health"] + cpu["db_list_resource_tags"]) / cpu["list_resource_tags"]
      printf "| REST ACK ÷ gRPC ListTagResources by ids | %.2f | ≥ 0.9 |\n", rps["ack_by_ids"] / rps["by_ids"]
      printf "| REST SMN ÷ gRPC ListResourceTags | %.2f | (≥ 0.9) |\n", rps["smn_resource_tags"] / rps["list_resource_tags"]
      printf "| 2-tag filter p99, page 1 / page %s, %d connections | %s / %s ms | ≤ 5 ms |\n", rps["deep_page_tag2"], conns, p99["tag2_p1"], p99["tag2_deep"]
      printf "| 2-tag filter p99, page 1 / page %s, one connection | %s / %s ms | ≤ 5 ms |\n", rps["deep_page_tag2"], p99["tag2_p1_1c"], p99["tag2_deep_1c"]
      printf "| 2-tag filter deep ÷ page 1, p50 (one connection) | %.2f | ≤ 1.2 |\n", p50["tag2_deep_1c"] / p50["tag2_p1_1c"]
      printf "| bulk TagResources | %s tags/s | ≥ 50 000 (PostgreSQL) |\n", rps["ingest_tags_per_s"] == "" ? "(reused)" : rps["ingest_tags_per_s"]
      printf "| RSS idle / peak under load | %.1f / %.1f MB | ≤ 30 / ≤ 150 MB |\n", rps["rss_idle_kb"] / 1024, rps["rss_load_kb"] / 1024
    }' "$RESULTS" | tee "$RUN/report.md"
}

ensure_tools
build
log "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
for b in $BACKENDS; do bench_backend "$b"; done
