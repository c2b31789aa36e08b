#!/usr/bin/env bash
# Read replicas and several service processes (issue 15), measured in one run:
#   bench/replicas.sh            (about 4 minutes; QUICK=1 for one of about a minute)
#
# Starts a private PostgreSQL primary (initdb into a directory under target/, run as `postgres`
# through runuser, trust authentication, a free port; the shared server on 5432 is never touched)
# and a streaming standby of it (pg_basebackup -R -X stream); seeds one project through the API
# (`tagbench seed`, the dataset of bench/run.sh at a smaller size) and waits for the standby to
# replay it; then, with h2load on a few connections and a fixed duration per phase:
#   (a) ListResourceTags and the 2-tag filter served by a server without replicas (the primary)
#       and by a server with --database-replica-url (the standby), /metrics confirming who served;
#   (b) ListResourceTags on the replica server with and without an `x-consistency-token` of the
#       project's current revision (the replica caught up);
#   (c) the same with the standby's replay paused and the token of a write made since: on a server
#       that keeps the standby in use (--replica-max-lag-ms 600000) each call waits
#       --replica-wait-ms and the primary serves it; on one with the default lag bound, the standby
#       is set aside and the primary serves at once;
#   (d) one service process against two on the primary, the same client load (two h2load
#       processes, both at the one process or one at each).
# Each phase reports calls/s, p50/p99, CPU µs per call (from /proc ticks) of the service
# process(es), of the primary's PostgreSQL processes (postmaster and its children) and of the
# standby's, the statements each server ran per call (pg_stat_statements, loaded on both), the
# reads each server answered per /metrics, and the load average. Every call must be OK (the
# servers' own tagging_requests_total), or the run fails.
#
# Environment: RESOURCES (200000; QUICK 10000), TAGS_PER_RESOURCE (10), DURATION seconds per phase
# (10; QUICK 2), WARMUP (2; QUICK 1), CONNS h2load connections (8, split in two for (d)), POOL
# each server's pool (16), SEED_CONCURRENCY (8), OUT (target/bench-replicas), PG_BIN (the newest
# /usr/lib/postgresql/*/bin), KEEP=1 keeps the clusters' directory. Cargo's CARGO_TARGET_DIR is
# honoured.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [[ "${QUICK:-0}" == 1 ]]; then
  : "${RESOURCES:=10000}" "${DURATION:=2}" "${WARMUP:=1}"
fi
: "${RESOURCES:=200000}" "${TAGS_PER_RESOURCE:=10}" "${DURATION:=10}" "${WARMUP:=2}" "${CONNS:=8}"
: "${POOL:=16}" "${SEED_CONCURRENCY:=8}" "${OUT:=$ROOT/target/bench-replicas}"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
DB=tagging
SVC=/tagging.v1.TaggingService

log() { printf '%s\n' "$*" >&2; }
die() { log "bench/replicas: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# Tools and build

ensure_tools() {
  local missing=()
  command -v h2load >/dev/null || missing+=(nghttp2-client)
  command -v psql >/dev/null || missing+=(postgresql-client)
  command -v curl >/dev/null || missing+=(curl)
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  [[ -x $PG_BIN/initdb && -x $PG_BIN/pg_basebackup ]] || die "no PostgreSQL server binaries under /usr/lib/postgresql (apt: postgresql)"
  id -u postgres >/dev/null 2>&1 || die "no user postgres"
}

build() {
  log "building (release)"
  (cd "$ROOT" && cargo build --release --quiet --bin tagging-service)
  SERVER=$TARGET/release/tagging-service
  HELPER=$(cd "$ROOT" && cargo bench --quiet --no-run --bench tagbench --message-format=json \
    | grep '"name":"tagbench"' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
  [[ -x "$SERVER" ]] || die "no $SERVER"
  [[ -x "$HELPER" ]] || die "cannot find the tagbench helper"
}

# ---------------------------------------------------------------------------------------------
# The private clusters: $PGDIR/<name>/ (data), <name>.log, sockets in $PGDIR.

declare -A PG_PORT
as_pg() { runuser -u postgres -- "$PG_BIN/$1" "${@:2}"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg_url() { echo "postgres://postgres@127.0.0.1:${PG_PORT[$1]}/${2:-$DB}"; }
# The settings of the shared server this file's other figures were taken on (autovacuum off),
# and pg_stat_statements to count each server's statements per call.
PG_OPTS="-c listen_addresses=127.0.0.1 -c autovacuum=off -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=top"

pg_start() { # name
  local name=$1 port
  for _ in 1 2 3; do # another process may take the free port first
    port=$(free_port)
    if (cd / && as_pg pg_ctl -D "$PGDIR/$name" -l "$PGDIR/$name.log" -t 60 -w \
      -o "-c port=$port -c unix_socket_directories=$PGDIR $PG_OPTS" start) >/dev/null; then
      PG_PORT[$name]=$port
      return
    fi
  done
  die "cluster $name did not start: $(tail -5 "$PGDIR/$name.log")"
}

# Every cluster with a postmaster.pid, including one whose start an interrupt cut short.
pg_stop_all() {
  local pidfile
  for pidfile in "$PGDIR"/*/postmaster.pid; do
    [[ -f $pidfile ]] || continue
    (cd / && as_pg pg_ctl -D "$(dirname "$pidfile")" -m immediate -w stop) >/dev/null 2>&1 || true
  done
}

postmaster_pid() { head -1 "$PGDIR/$1/postmaster.pid"; }
sql() { psql -qtAX "$(pg_url "$1" "${3:-$DB}")" -c "$2"; } # cluster statement [database]

start_clusters() {
  mkdir -p "$OUT"
  PGDIR=$(mktemp -d "$OUT/pg.XXXXXX")
  chown postgres: "$PGDIR"
  log "primary: initdb into $PGDIR/primary"
  (cd / && as_pg initdb -D "$PGDIR/primary" -U postgres --auth=trust -E UTF8 --locale=C --no-sync) >/dev/null
  pg_start primary
  sql primary "CREATE DATABASE $DB" postgres >/dev/null
  sql primary "CREATE EXTENSION pg_stat_statements" postgres >/dev/null # the view, for the monitoring sessions
  log "standby: pg_basebackup -R -X stream from port ${PG_PORT[primary]}"
  (cd / && as_pg pg_basebackup -h 127.0.0.1 -p "${PG_PORT[primary]}" -U postgres -D "$PGDIR/standby" \
    -R -X stream --checkpoint=fast --no-sync)
  pg_start standby
  [[ $(sql standby "SELECT pg_is_in_recovery()") == t ]] || die "the standby is not in recovery"
}

# Waits until the standby has replayed everything the primary had written when called.
catch_up() {
  local lsn
  lsn=$(sql primary "SELECT pg_current_wal_lsn()")
  for _ in $(seq 1200); do
    [[ $(sql standby "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '$lsn') >= 0") == t ]] && return
    sleep 0.1
  done
  die "the standby did not replay up to $lsn in 120 s"
}

# ---------------------------------------------------------------------------------------------
# Service processes, by name: their pid, address, log.

declare -A SRV_PID SRV_BASE
SRV_STARTED=()
start_server() { # name serve-args…
  local name=$1 log=$OUT/server-$1.log addr pid
  shift
  : >"$log"
  "$SERVER" serve --listen 127.0.0.1:0 --database-url "$(pg_url primary)" --db-max-connections "$POOL" "$@" 2>"$log" &
  pid=$!
  SRV_STARTED+=("$pid")
  for _ in $(seq 600); do
    addr=$(sed -e 's/\x1b\[[0-9;]*m//g' "$log" | sed -n 's/.*tagging-service ready.*address=\([0-9.:]*\).*/\1/p' | head -1)
    [[ -n "$addr" ]] && break
    kill -0 "$pid" 2>/dev/null || die "server $name exited: $(tail -3 "$log")"
    sleep 0.1
  done
  [[ -n "$addr" ]] || die "server $name did not start"
  SRV_PID[$name]=$pid
  SRV_BASE[$name]=http://$addr
}

stop_servers() {
  local pid
  for pid in "${SRV_STARTED[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SRV_STARTED[@]}"; do wait "$pid" 2>/dev/null || true; done
  SRV_STARTED=()
}

cleanup() {
  stop_servers
  if [[ -n "${PGDIR:-}" ]]; then pg_stop_all; fi
  if [[ -n "${PGDIR:-}" && "${KEEP:-0}" != 1 ]]; then rm -rf "$PGDIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

metrics() { curl -sf "${SRV_BASE[$1]}/metrics"; }
# The value of one series of a server's /metrics (0 when absent).
series() { # server name{labels}
  metrics "$1" | awk -v s="$2" 'index($0, s " ") == 1 { v = $2 } END { print v + 0 }'
}
replica_name() { echo "127.0.0.1:${PG_PORT[standby]}/$DB"; }
# Waits until the server's /metrics says the standby is (1) or is not (0) in use.
until_usable() { # server 0|1
  for _ in $(seq 300); do
    [[ $(series "$1" "tagging_replica_usable{replica=\"$(replica_name)\"}") == "$2" ]] && return
    sleep 0.1
  done
  die "server $1: the standby never became usable=$2"
}

# ---------------------------------------------------------------------------------------------
# Measuring

# CPU ticks as "group ticks" lines: each service process; each cluster, its postmaster and live
# children plus the children the postmaster has reaped (its cutime and cstime), so that a backend
# that exits during a phase (the pool closes a connection whose call h2load abandoned when it
# stopped) still counts: its ticks move from the live sum to the postmaster's reaped ones; and the
# machine (every process on every core).
ticks_of() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }
cluster_ticks() { # cluster
  local pm p t sum
  pm=$(postmaster_pid "$1")
  sum=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat")
  for p in $(ps -o pid= --ppid "$pm"); do t=$(ticks_of "$p") && sum=$((sum + t)); done
  echo "$sum"
}
snapshot() { # file services…
  local out=$1 s
  shift
  {
    for s in "$@"; do echo "svc $(ticks_of "${SRV_PID[$s]}")"; done
    echo "pri $(cluster_ticks primary)"
    echo "stb $(cluster_ticks standby)"
    awk '$1 == "cpu" { print "machine", $2 + $3 + $4 + $7 + $8 }' /proc/stat
  } >"$out"
}
# µs of CPU per call between two snapshots: "service primary standby machine".
per_call() { # before after calls
  awk -v n="$3" -v hz="$(getconf CLK_TCK)" '
    NR == FNR { sum[$1] -= $2; next }
    { sum[$1] += $2 }
    END { us = hz * n / 1e6; printf "%.0f %.0f %.0f %.0f\n", sum["svc"] / us, sum["pri"] / us, sum["stb"] / us, sum["machine"] / us }' "$1" "$2"
}

# Statements the service's connections ran on a cluster (pg_stat_statements of the database).
stmts_reset() { sql primary "SELECT pg_stat_statements_reset()" postgres >/dev/null; sql standby "SELECT pg_stat_statements_reset()" postgres >/dev/null; }
stmts_total() { sql "$1" "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$DB'" postgres; }
stmts_detail() { # cluster file
  sql "$1" "SELECT calls, regexp_replace(left(query, 110), '\\s+', ' ', 'g') FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$DB' ORDER BY calls DESC LIMIT 8" postgres >"$2"
}

# tagging_requests_total and tagging_db_reads_total of the servers as "server kind labels value".
counters() { # servers…
  local s
  for s in "$@"; do
    metrics "$s" | awk -v s="$s" '/^tagging_requests_total\{/ || /^tagging_db_reads_total\{/ { print s, $1, $2 }'
  done
}
# Fails when any call between the two counter snapshots ended other than OK; prints the OK count.
check_calls() { # before after phase
  awk -v phase="$3" '
    NR == FNR { before[$1 " " $2] = $3; next }
    $2 ~ /^tagging_requests_total/ { d = $3 - before[$1 " " $2]; if (d <= 0) next
      if ($2 ~ /code="Ok"/ || $2 ~ /code="200"/) ok += d; else { bad += d; what = what " " $2 "x" d } }
    END { if (bad) { print "bench/replicas: " phase ": " bad " calls failed:" what > "/dev/stderr"; exit 1 }
          print ok + 0 }' "$1" "$2"
}
# Reads answered by the primary and by the standby between the two snapshots: "primary standby".
reads_by() { # before after
  awk -v rep="server=\"$(replica_name)\"" '
    NR == FNR { before[$1 " " $2] = $3; next }
    $2 ~ /^tagging_db_reads_total/ { d = $3 - before[$1 " " $2]
      if ($2 ~ /server="primary"/) p += d; else if (index($2, rep)) r += d }
    END { printf "%d %d\n", p, r }' "$1" "$2"
}

percentiles() { sort -n -k3,3 "$@" | awk '{ v[NR] = $3 } END {
  if (!NR) { print "- -"; exit }
  i50 = int(NR * 0.50 + 0.5); i99 = int(NR * 0.99 + 0.5); if (i99 > NR) i99 = NR; if (i50 < 1) i50 = 1
  printf "%.2f %.2f\n", v[i50] / 1000, v[i99] / 1000 }'; }

loadavg() { cut -d' ' -f1 /proc/loadavg; }

# One phase: an h2load process per listed server (the same server may be listed twice), CONNS
# connections split evenly among them, all at once for WARMUP then DURATION seconds. Appends to
# $RESULTS: name calls/s p50 p99 calls cpu(svc pri stb machine) statements/call(pri stb)
# reads(primary standby) load(start end).
phase() { # name method frame servers [header]
  local name=$1 path=$2 frame=$PREP/frames/$3.bin header=${5:-} servers=() uniq=() s i
  read -ra servers <<<"$4"
  for s in "${servers[@]}"; do [[ " ${uniq[*]} " == *" $s "* ]] || uniq+=("$s"); done
  local per=$((CONNS / ${#servers[@]}))
  local args=(-m 1 -t 1 -c "$per" -d "$frame" -H 'content-type: application/grpc' -H 'te: trailers'
    -H "authorization: Bearer $TOKEN")
  [[ -n $header ]] && args+=(-H "$header")
  local pids=()
  for i in "${!servers[@]}"; do
    h2load -D "$WARMUP" "${args[@]}" "${SRV_BASE[${servers[$i]}]}$path" >/dev/null &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
  local l0 l1 c0=$RUN/$name.counters0 c1=$RUN/$name.counters1 t0=$RUN/$name.ticks0 t1=$RUN/$name.ticks1
  stmts_reset
  counters "${uniq[@]}" >"$c0"
  l0=$(loadavg)
  snapshot "$t0" "${uniq[@]}"
  pids=()
  for i in "${!servers[@]}"; do
    : >"$RUN/$name.$i.log" # h2load appends to its log
    h2load -D "$DURATION" --log-file="$RUN/$name.$i.log" "${args[@]}" "${SRV_BASE[${servers[$i]}]}$path" >"$RUN/$name.$i.out" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
  # The calls h2load abandoned as it stopped close their connections; their backends exit and are
  # reaped by their postmaster (counted there, see cluster_ticks) within this.
  sleep 0.5
  snapshot "$t1" "${uniq[@]}"
  l1=$(loadavg)
  counters "${uniq[@]}" >"$c1"
  local sp ss
  sp=$(stmts_total primary) ss=$(stmts_total standby)
  stmts_detail primary "$RUN/$name.statements.primary"
  stmts_detail standby "$RUN/$name.statements.standby"
  local ok rps=0 total=0 out r d
  ok=$(check_calls "$c0" "$c1" "$name") || exit 1
  for i in "${!servers[@]}"; do
    out=$(cat "$RUN/$name.$i.out")
    grep -q ' 0 failed, 0 errored, 0 timeout' <<<"$out" || die "$name: h2load saw failures: $(grep requests: <<<"$out")"
    r=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
    d=$(sed -n 's/^requests: [0-9]* total, [0-9]* started, \([0-9]*\) done.*/\1/p' <<<"$out")
    rps=$(awk -v a="$rps" -v b="$r" 'BEGIN { printf "%.0f", a + b }')
    total=$((total + d))
  done
  ((ok > 0)) || die "$name: the servers counted no call"
  local logs=()
  for i in "${!servers[@]}"; do logs+=("$RUN/$name.$i.log"); done
  echo "$name $rps $(percentiles "${logs[@]}") $total $(per_call "$t0" "$t1" "$total")" \
    "$(awk -v p="$sp" -v s="$ss" -v n="$total" 'BEGIN { printf "%.2f %.2f", p / n, s / n }')" \
    "$(reads_by "$c0" "$c1") $l0 $l1" >>"$RESULTS"
  log "  $name: $rps calls/s, load $l0 → $l1"
}

# Pauses the standby's replay, and waits until it has paused.
pause_replay() {
  sql standby "SELECT pg_wal_replay_pause()" >/dev/null
  for _ in $(seq 200); do
    [[ $(sql standby "SELECT pg_get_wal_replay_pause_state()") == paused ]] && return
    sleep 0.05
  done
  die "the standby's replay did not pause"
}

# One write through REST (SMN CreateResourceTag on a resource of the dataset); prints its
# consistency token (the X-Consistency-Token header of the answer).
write_token() { # server
  curl -sS -o /dev/null -D - -X POST -H "X-Auth-Token: $TOKEN" -H 'content-type: application/json' \
    --data '{"tag": {"key": "bench_write", "value": "'"$(date +%s%N)"'"}}' \
    "${SRV_BASE[$1]}/v2/bench/CLUSTER/r-00000042/tags" \
    | tr -d '\r' | awk -F': ' 'tolower($1) == "x-consistency-token" { print $2 }'
}

# ---------------------------------------------------------------------------------------------
# The report

report() {
  awk -v conns="$CONNS" -v pool="$POOL" -v dur="$DURATION" -v res="$RESOURCES" -v tpr="$TAGS_PER_RESOURCE" \
    -v ingest="$INGEST" -v seeds="$SEED_SECS" -v waitms="$LAG_WAIT_MS" -v lag="$LAG_SEEN" -v machine="$MACHINE" '
    $1 == "#" { next }
    { k = $1; rps[k] = $2; p50[k] = $3; p99[k] = $4; n[k] = $5; svc[k] = $6; pri[k] = $7; stb[k] = $8
      mach[k] = $9; sp[k] = $10; ss[k] = $11; rp[k] = $12; rs[k] = $13; la[k] = $14 "→" $15 }
    function row(label, k) {
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s / %s | %s |\n", label, rps[k], p50[k], p99[k], n[k], svc[k], pri[k], stb[k], mach[k], sp[k], ss[k], rp[k], rs[k], la[k] }
    function head(title) {
      printf "\n#### %s\n\n", title
      print "| call | calls/s | p50 ms | p99 ms | calls | CPU µs/call: service | primary PG | standby PG | machine | statements/call: primary / standby | reads served: primary / standby | load avg |"
      print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    }
    END {
      printf "### Read replicas and several processes (bench/replicas.sh)\n\n"
      printf "%s. Dataset: 1 project, %d resources × %d tags (seeded through TagResources in %s s, the bulk pass at %s tags/s, the standby streaming). h2load: %d connections, -m 1, %d s per phase; each server pool %d. PostgreSQL figures are every process of that cluster (postmaster and its children); statements from pg_stat_statements of the service database; reads served from the servers /metrics (tagging_db_reads_total).\n", machine, res, tpr, seeds, ingest, conns, dur, pool
      head("(a) served by the primary (server without replicas) vs by the standby (server with --database-replica-url)")
      row("ListResourceTags, primary", "a_lrt_primary")
      row("ListResourceTags, replica", "a_lrt_replica")
      row("ListTagResources 2-tag filter, primary", "a_tag2_primary")
      row("ListTagResources 2-tag filter, replica", "a_tag2_replica")
      head("(b) a consistency token when the standby has caught up (replica server)")
      row("ListResourceTags, no token", "b_lrt_no_token")
      row("ListResourceTags, x-consistency-token of the current revision", "b_lrt_token")
      head("(c) a consistency token the standby has not reached (replay paused after a write)")
      row("ListResourceTags with the write token, --replica-max-lag-ms 600000 (standby kept in use)", "c_lrt_token_waits")
      row("ListResourceTags with the write token, default --replica-max-lag-ms (standby set aside)", "c_lrt_token_set_aside")
      printf "\nWith replay paused and one write unreplayed, the replica server reported tagging_replica_lag_seconds %s; the standby was kept in use with --replica-max-lag-ms 600000 and set aside with the default 5000 (--replica-wait-ms %s).\n", lag, waitms
      head("(d) one service process vs two on the primary, same client load (two h2load processes of " conns / 2 " connections)")
      row("ListResourceTags, both loads on one process", "d_lrt_one")
      row("ListResourceTags, one load on each of two processes", "d_lrt_two")
      row("ListTagResources 2-tag filter, both loads on one process", "d_tag2_one")
      row("ListTagResources 2-tag filter, one load on each of two processes", "d_tag2_two")
      print ""
      printf "| figure | measured |\n|---|---:|\n"
      printf "| replica ÷ primary, CPU µs/call of the serving PostgreSQL, ListResourceTags | %.2f |\n", stb["a_lrt_replica"] / pri["a_lrt_primary"]
      printf "| replica ÷ primary, CPU µs/call of the serving PostgreSQL, 2-tag filter | %.2f |\n", stb["a_tag2_replica"] / pri["a_tag2_primary"]
      printf "| replica ÷ primary, service CPU µs/call, ListResourceTags / 2-tag filter | %.2f / %.2f |\n", svc["a_lrt_replica"] / svc["a_lrt_primary"], svc["a_tag2_replica"] / svc["a_tag2_primary"]
      printf "| token ÷ no token (caught up): calls/s; p50; service, primary, standby CPU µs/call | %.2f; %.2f; %+d, %+d, %+d µs |\n", rps["b_lrt_token"] / rps["b_lrt_no_token"], p50["b_lrt_token"] / p50["b_lrt_no_token"], svc["b_lrt_token"] - svc["b_lrt_no_token"], pri["b_lrt_token"] - pri["b_lrt_no_token"], stb["b_lrt_token"] - stb["b_lrt_no_token"]
      printf "| two processes ÷ one: calls/s; service CPU µs/call, ListResourceTags | %.2f; %.2f |\n", rps["d_lrt_two"] / rps["d_lrt_one"], svc["d_lrt_two"] / svc["d_lrt_one"]
      printf "| two processes ÷ one: calls/s; service CPU µs/call, 2-tag filter | %.2f; %.2f |\n", rps["d_tag2_two"] / rps["d_tag2_one"], svc["d_tag2_two"] / svc["d_tag2_one"]
    }' "$RESULTS"
}

# ---------------------------------------------------------------------------------------------

ensure_tools
build
MACHINE="$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo), $("$PG_BIN/postgres" --version | sed 's/^postgres (PostgreSQL) /PostgreSQL /'), load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
log "machine: $MACHINE"
RUN=$OUT
PREP=$RUN/prep
RESULTS=$RUN/results.txt
mkdir -p "$RUN"
rm -f "$RUN"/*.log "$RUN"/*.out "$RUN"/*.counters? "$RUN"/*.ticks? "$RUN"/*.statements.*
: >"$RESULTS"
start_clusters

"$SERVER" migrate --database-url "$(pg_url primary)" >/dev/null 2>&1
TOKEN=$("$SERVER" token create --project bench --database-url "$(pg_url primary)" 2>/dev/null)
start_server P
log "seeding: 1 project, $RESOURCES resources × $TAGS_PER_RESOURCE tags ($((RESOURCES * TAGS_PER_RESOURCE)) tags)"
seed_start=$(date +%s)
INGEST=$("$HELPER" seed --url "${SRV_BASE[P]}" --token "$TOKEN" --resources "$RESOURCES" \
  --tags-per-resource "$TAGS_PER_RESOURCE" --concurrency "$SEED_CONCURRENCY" --passes bulk)
INGEST=${INGEST##*tags_per_s=}
"$HELPER" seed --url "${SRV_BASE[P]}" --token "$TOKEN" --resources "$RESOURCES" \
  --tags-per-resource "$TAGS_PER_RESOURCE" --concurrency "$SEED_CONCURRENCY" --passes filter,rare >/dev/null
sql primary "VACUUM ANALYZE" >/dev/null
SEED_SECS=$(($(date +%s) - seed_start))
log "  seeded in $SEED_SECS s (bulk pass $INGEST tags/s); waiting for the standby"
catch_up
log "  the standby has replayed it (database $(sql primary "SELECT pg_size_pretty(pg_database_size('$DB'))"))"

STANDBY_URL=$(pg_url standby)
start_server R --database-replica-url "$STANDBY_URL"
LAG_WAIT_MS=50
start_server RL --database-replica-url "$STANDBY_URL" --replica-max-lag-ms 600000 --replica-wait-ms "$LAG_WAIT_MS"
start_server P2
until_usable R 1
until_usable RL 1
"$HELPER" prepare --url "${SRV_BASE[P]}" --token "$TOKEN" --db-url "$(pg_url primary)" --deep-page 2 \
  --out "$PREP" --explain-dir "$RUN/explain" >/dev/null

log "(a) primary vs replica"
phase a_lrt_primary $SVC/ListResourceTags list_resource_tags P
phase a_lrt_replica $SVC/ListResourceTags list_resource_tags R
phase a_tag2_primary $SVC/ListTagResources tag2_p1 P
phase a_tag2_replica $SVC/ListTagResources tag2_p1 R
for k in a_lrt_replica a_tag2_replica; do
  awk -v k="$k" '$1 == k && !($13 >= 0.99 * $5 && $12 <= 0.01 * $5) { print "bench/replicas: " k ": the standby served " $13 " and the primary " $12 " of " $5 " calls" > "/dev/stderr"; exit 1 }' "$RESULTS"
done

log "(b) a consistency token, the standby caught up"
REVISION=$(sql primary "SELECT revision FROM project_revisions WHERE project_id = 'bench'")
phase b_lrt_no_token $SVC/ListResourceTags list_resource_tags R
phase b_lrt_token $SVC/ListResourceTags list_resource_tags R "x-consistency-token: bench@$REVISION"

log "(d) one process vs two"
phase d_lrt_one $SVC/ListResourceTags list_resource_tags "P P"
phase d_lrt_two $SVC/ListResourceTags list_resource_tags "P P2"
phase d_tag2_one $SVC/ListTagResources tag2_p1 "P P"
phase d_tag2_two $SVC/ListTagResources tag2_p1 "P P2"

log "(c) a consistency token, the standby behind"
pause_replay
WRITE_TOKEN=$(write_token P)
[[ $WRITE_TOKEN == bench@* ]] || die "the write answered no consistency token"
log "  replay paused; the write's token: $WRITE_TOKEN (caught up at bench@$REVISION before)"
until_usable R 0
sleep 1 # a health check of RL's since the write
LAG_SEEN=$(series RL "tagging_replica_lag_seconds{replica=\"$(replica_name)\"}")
LAG_SEEN=$(printf '%.1f s' "$LAG_SEEN")
[[ $(series RL "tagging_replica_usable{replica=\"$(replica_name)\"}") == 1 ]] || die "RL set the standby aside"
phase c_lrt_token_waits $SVC/ListResourceTags list_resource_tags RL "x-consistency-token: $WRITE_TOKEN"
phase c_lrt_token_set_aside $SVC/ListResourceTags list_resource_tags R "x-consistency-token: $WRITE_TOKEN"
sql standby "SELECT pg_wal_replay_resume()" >/dev/null
catch_up
until_usable R 1
for k in c_lrt_token_waits c_lrt_token_set_aside; do
  awk -v k="$k" '$1 == k && !($12 >= 0.99 * $5 && $13 <= 0.01 * $5) { print "bench/replicas: " k ": the primary served " $12 " and the standby " $13 " of " $5 " calls" > "/dev/stderr"; exit 1 }' "$RESULTS"
done

stop_servers
report | tee "$RUN/report.md"
log "report: $RUN/report.md; raw: $RUN/"
