#!/usr/bin/env bash
# What tracing costs per call (issue 16), in one command: bench/tracing.sh   (QUICK=1: about a minute
# and a half once built).
#
# A fresh PostgreSQL database seeded through the API (RESOURCES resources of 10 tags, the helper's
# three passes), the release server, and an OTLP/HTTP sink of the script's own (Python, stdlib:
# answers every POST /v1/traces with 200 and an empty protobuf body, counting requests, bytes and
# the spans in them). Then ROUNDS rounds of three phases, the order rotated each round, each phase
# on a freshly started server with the same h2load load of ListResourceTags (CONNS connections,
# WARMUP s, then DURATION s measured):
#   off  no OTEL_* variable (nothing is set up);
#   all  OTEL_EXPORTER_OTLP_ENDPOINT=<sink> OTEL_TRACES_SAMPLER=always_on;
#   1pct the same with OTEL_TRACES_SAMPLER=traceidratio OTEL_TRACES_SAMPLER_ARG=0.01.
# Per phase: calls/s, p50/p99 (h2load's per-request log), CPU µs per call of the server, of the
# PostgreSQL backends serving it and of the whole machine (from /proc, as bench/run.sh), the sink's
# CPU per call, the sink's requests/bytes/spans for the server's whole life (read after it stopped,
# which flushes the queue), tagging_trace_spans_dropped_total at the end of the phase (and any
# failed export the server logged), and /proc/loadavg. Each phase's server log is kept in OUT. Any call not OK fails the run. Medians per configuration and their ratios to `off`.
#
# Environment: RESOURCES (5000), ROUNDS (5), DURATION seconds measured per phase (20), WARMUP (3),
# CONNS h2load connections (4), POOL the server's pool (16), BENCH_ADMIN_URL (TEST_DATABASE_URL or
# postgres://postgres@127.0.0.1:5432/postgres), BENCH_DB (tagging_tracebench, created and dropped),
# OUT (target/bench-tracing), KEEP=1 keeps the database. CARGO_TARGET_DIR is honoured.
#
# A/B of export off between two commits: AB=<before> [AB_AFTER=<after>, default main] builds each
# commit's release server in a worktree of its own (target/ab-tree-<commit>) with a target directory
# of its own (AB_TARGETS<commit>, AB_TARGETS default target/ab-target-: to Cargo both trees are one
# package, so a shared one would take one tree's build for the other's), then runs only the `off`
# phase, for each binary, alternating (the order swapped each round), a fresh server each phase, on
# the one dataset (seeded by the after binary; the tagbench helper is this tree's). The report gives
# the medians per binary, the paired per-round ratios after ÷ before of the server's and
# PostgreSQL's CPU per call, and each phase's load average.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [[ "${QUICK:-0}" == 1 ]]; then
  : "${RESOURCES:=2000}" "${ROUNDS:=1}" "${DURATION:=5}" "${WARMUP:=1}"
fi
: "${RESOURCES:=5000}" "${ROUNDS:=5}" "${DURATION:=20}" "${WARMUP:=3}" "${CONNS:=4}" "${POOL:=16}"
ADMIN_URL=${BENCH_ADMIN_URL:-${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}}
BENCH_DB=${BENCH_DB:-tagging_tracebench}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CONFIGS=(off all 1pct)
declare -A BIN=()

log() { printf '%s\n' "$*" >&2; }
die() { log "tracing-bench: $*"; exit 1; }

for tool in h2load psql curl python3; do command -v "$tool" >/dev/null || die "$tool is needed"; done

SERVER_PID= SINK_PID=
cleanup() {
  local pid
  for pid in $SERVER_PID $SINK_PID; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ "${KEEP:-0}" != 1 && -n "${DB_CREATED:-}" ]]; then
    psql -qX "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

: "${OUT:=$ROOT/target/bench-tracing${AB:+-ab}}"
mkdir -p "$OUT"
RESULTS=$OUT/results.txt
: >"$RESULTS"

if [[ -n "${AB:-}" ]]; then
  AB_BEFORE=$(git -C "$ROOT" rev-parse --short "$AB^{commit}")
  AB_AFTER=$(git -C "$ROOT" rev-parse --short "${AB_AFTER:-main}^{commit}")
  [[ $AB_BEFORE != "$AB_AFTER" ]] || die "AB and AB_AFTER are the same commit ($AB_BEFORE)"
  : "${AB_TARGETS:=$ROOT/target/ab-target-}"
  ab_build() { # commit: builds its release server, prints the binary's path
    local tree=$ROOT/target/ab-tree-$1 target=$AB_TARGETS$1
    [[ -d $tree ]] || git -C "$ROOT" worktree add --detach -q "$tree" "$1"
    [[ $(git -C "$tree" rev-parse --short HEAD) == "$1" ]] || die "$tree is not at $1"
    log "building $1 (release) in $tree, CARGO_TARGET_DIR=$target"
    (cd "$tree" && CARGO_TARGET_DIR=$target cargo build --release --quiet --bin tagging-service) >&2
    echo "$target/release/tagging-service"
  }
  BIN[$AB_BEFORE]=$(ab_build "$AB_BEFORE")
  BIN[$AB_AFTER]=$(ab_build "$AB_AFTER")
  CONFIGS=("$AB_BEFORE" "$AB_AFTER")
  SERVER=${BIN[$AB_AFTER]}
else
  log "building (release)"
  (cd "$ROOT" && cargo build --release --quiet --bin tagging-service)
  SERVER=$TARGET/release/tagging-service
fi
HELPER=$(cd "$ROOT" && cargo bench --quiet --no-run --bench tagbench --message-format=json \
  | grep '"name":"tagbench"' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
[[ -x "$SERVER" && -x "$HELPER" ]] || die "cannot find the server or the tagbench helper"

# --- The OTLP/HTTP sink ---------------------------------------------------------------------------
# Counts what it is sent; GET /stats answers "requests bytes spans server_spans" so far, GET /names
# the spans by kind and name. Spans are
# counted by walking the protobuf (ExportTraceServiceRequest.resource_spans(1).scope_spans(2).
# spans(2), a span's kind is field 6, SERVER = 2) with a few lines of wire-format reading.
cat >"$OUT/sink.py" <<'PY'
import sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
stats = {"requests": 0, "bytes": 0, "spans": 0, "server_spans": 0}
names = {}

def fields(buf):
    i, n = 0, len(buf)
    while i < n:
        key, i = varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(buf, i)
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 2:
            ln, i = varint(buf, i)
            v, i = buf[i:i + ln], i + ln
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wt)
        yield num, v

def varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]; i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7

def count(body):
    spans = server = 0
    seen = {}
    for f, rs in fields(body):
        if f != 1: continue
        for g, ss in fields(rs):
            if g != 2: continue
            for h, span in fields(ss):
                if h != 2: continue
                spans += 1
                kind, name = 0, b""
                for k, v in fields(span):
                    if k == 6: kind = v
                    elif k == 5: name = v
                server += kind == 2
                key = "%s %s" % ({1: "internal", 2: "server", 3: "client"}.get(kind, kind), name.decode())
                seen[key] = seen.get(key, 0) + 1
    return spans, server, seen

class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        ok = self.path == "/v1/traces"
        self.send_response(200 if ok else 404)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()
        self.wfile.flush()
        # Counted after the answer, so the exporter waits only for the answer, as from a collector.
        if ok:
            try:
                spans, server, seen = count(body)
            except Exception:
                spans, server, seen = 0, 0, {"(unreadable)": 1}
            with lock:
                for k, v in seen.items():
                    names[k] = names.get(k, 0) + v
                stats["requests"] += 1; stats["bytes"] += len(body)
                stats["spans"] += spans; stats["server_spans"] += server
    def do_GET(self):
        with lock:
            if self.path == "/names":
                out = "".join("%d\t%s\n" % (v, k) for k, v in sorted(names.items())).encode()
            else:
                out = ("%(requests)d %(bytes)d %(spans)d %(server_spans)d\n" % stats).encode()
        self.send_response(200)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
with open(sys.argv[1], "w") as f:
    f.write("%d\n" % server.server_address[1])
server.serve_forever()
PY
rm -f "$OUT/sink.port"
python3 "$OUT/sink.py" "$OUT/sink.port" &
SINK_PID=$!
for _ in $(seq 100); do [[ -s $OUT/sink.port ]] && break; sleep 0.1; done
[[ -s $OUT/sink.port ]] || die "the sink did not start"
SINK=http://127.0.0.1:$(cat "$OUT/sink.port")
sink_stats() { curl -sf "$SINK/stats"; }

# --- The database and the dataset ---------------------------------------------------------------
URL=$(printf '%s' "$ADMIN_URL" | sed -E "s#/[^/?]*(\?|$)#/$BENCH_DB\1#")
psql -qX "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB" >/dev/null
DB_CREATED=1
"$SERVER" migrate --database-url "$URL" 2>/dev/null
TOKEN=$("$SERVER" token create --project bench --database-url "$URL" 2>/dev/null)

start_server() { # config [log]
  local logf=${2:-$OUT/server.log} env=() bin=${BIN[$1]:-$SERVER}
  case $1 in
    all) env=(OTEL_EXPORTER_OTLP_ENDPOINT="$SINK" OTEL_TRACES_SAMPLER=always_on) ;;
    1pct) env=(OTEL_EXPORTER_OTLP_ENDPOINT="$SINK" OTEL_TRACES_SAMPLER=traceidratio OTEL_TRACES_SAMPLER_ARG=0.01) ;;
  esac
  : >"$logf"
  # Whatever the caller's environment holds of OpenTelemetry is not this phase's.
  env $(env | sed -n 's/^\(OTEL_[A-Z_]*\)=.*/-u \1/p') "${env[@]}" \
    "$bin" serve --listen 127.0.0.1:0 --database-url "$URL" --db-max-connections "$POOL" 2>"$logf" &
  SERVER_PID=$!
  ADDR=
  for _ in $(seq 600); do
    ADDR=$(sed -e 's/\x1b\[[0-9;]*m//g' "$logf" | sed -n 's/.*tagging-service ready.*address=\([0-9.:]*\).*/\1/p' | head -1)
    [[ -n "$ADDR" ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || die "server exited: $(tail -3 "$logf")"
    sleep 0.1
  done
  [[ -n "$ADDR" ]] || die "server did not start"
  BASE=http://$ADDR
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

log "seeding $RESOURCES resources"
start_server off
"$HELPER" seed --url "$BASE" --token "$TOKEN" --resources "$RESOURCES" --tags-per-resource 10 >&2
psql -qX "$URL" -c "VACUUM ANALYZE" >/dev/null
"$HELPER" prepare --url "$BASE" --token "$TOKEN" --db-url "$URL" --deep-page 2 \
  --out "$OUT/prep" --explain-dir "$OUT/explain" >"$OUT/prep.env"
stop_server
FRAME=$OUT/prep/frames/list_resource_tags.bin
[[ -s $FRAME ]] || die "no ListResourceTags frame"

# --- CPU per call, as bench/run.sh ---------------------------------------------------------------
db_pids() { psql -qtAX "$URL" -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'tagging-service' AND datname = current_database()"; }
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
db_ticks() {
  local out=- pid t
  for pid in ${DB_PIDS:-}; do
    t=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null) && out+=",$pid:$t"
  done
  echo "$out"
}
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
ticks() { echo "$(proc_ticks "$SERVER_PID") $(db_ticks) $(machine_ticks) $(proc_ticks "$SINK_PID")"; }
# "server database machine sink" µs per call between two `ticks` snapshots. The database's counts
# the backends alive at the end: from the start of the phase, or all their CPU when they were opened
# during it (a backend that closed meanwhile drops out).
per_call() { # before after calls
  awk -v b="$1" -v a="$2" -v n="$3" -v hz="$(getconf CLK_TCK)" 'BEGIN {
    split(b, x, " "); split(a, y, " ")
    m = split(x[2], p, ","); for (i = 2; i <= m; i++) { split(p[i], kv, ":"); start[kv[1]] = kv[2] }
    m = split(y[2], p, ","); db = 0
    for (i = 2; i <= m; i++) { split(p[i], kv, ":"); db += kv[2] - start[kv[1]] }
    us = hz * n / 1e6
    printf "%.1f %.1f %.1f %.1f\n", (y[1] - x[1]) / us, db / us, (y[3] - x[3]) / us, (y[4] - x[4]) / us }'
}
# ListResourceTags calls the server counted, by code: "code count" lines.
lrt_calls() {
  curl -sf "$BASE/metrics" | sed -n 's/^tagging_requests_total{transport="grpc",method="ListResourceTags",code="\([^"]*\)"} \([0-9]*\)$/\1 \2/p'
}
ok_calls() { awk '$1 == "Ok" { n += $2 } END { print n + 0 }'; }
bad_calls() { awk '$1 != "Ok" { n += $2 } END { print n + 0 }'; }
percentiles() { sort -n -k3,3 "$1" | awk '{ v[NR] = $3 } END {
  if (!NR) { print "- -"; exit }
  i50 = int(NR * 0.50 + 0.5); i99 = int(NR * 0.99 + 0.5); if (i99 > NR) i99 = NR; if (i50 < 1) i50 = 1
  printf "%.2f %.2f\n", v[i50] / 1000, v[i99] / 1000 }'; }

# One phase: a fresh server in `config`, warm-up, measured load; appends a line to $RESULTS.
phase() { # round config
  local round=$1 config=$2 name=r$1-$2 s0 s1 t0 t1 out total rps calls all bad dropped
  local args=(-c "$CONNS" -m 1 -t 1 -d "$FRAME" -H 'content-type: application/grpc' -H 'te: trailers'
    -H "authorization: Bearer $TOKEN")
  s0=$(sink_stats)
  start_server "$config" "$OUT/$name.server.log"
  h2load -D "$WARMUP" "${args[@]}" "$BASE/tagging.v1.TaggingService/ListResourceTags" >/dev/null
  DB_PIDS=$(db_pids)
  local before
  before=$(lrt_calls | ok_calls)
  : >"$OUT/$name.log"
  t0=$(ticks)
  out=$(h2load -D "$DURATION" --log-file="$OUT/$name.log" "${args[@]}" "$BASE/tagging.v1.TaggingService/ListResourceTags")
  # Backends the pool opened during the phase count from their start (all of their CPU).
  DB_PIDS=$(printf '%s\n' $DB_PIDS $(db_pids) | sort -u)
  t1=$(ticks)
  grep -q ' 0 failed, 0 errored, 0 timeout' <<<"$out" || die "$name: h2load saw failures: $(grep requests: <<<"$out")"
  calls=$(lrt_calls)
  bad=$(bad_calls <<<"$calls")
  all=$(ok_calls <<<"$calls")
  ((bad == 0)) || die "$name: $bad calls were not OK: $calls"
  total=$(sed -n 's/^requests: [0-9]* total, [0-9]* started, \([0-9]*\) done.*/\1/p' <<<"$out")
  ((all - before >= total)) || die "$name: the server counted $((all - before)) calls, h2load $total"
  rps=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
  dropped=$(curl -sf "$BASE/metrics" | awk '$1 == "tagging_trace_spans_dropped_total" { print $2 }')
  local load
  load=$(cut -d' ' -f1-4 /proc/loadavg)
  stop_server # flushes the export queue
  s1=$(sink_stats)
  # An export that failed (logged once per run of failures) rather than a full queue.
  local failed
  failed=$(grep -c 'trace export failed' "$OUT/$name.server.log" || true)
  ((failed == 0)) || log "  $name: the server logged $failed failed export(s): $(grep -m1 'trace export failed' "$OUT/$name.server.log")"
  # round config calls/s p50 p99 srv db machine sink | calls(life) sink: req bytes spans server_spans | dropped | load
  echo "$round $config $rps $(percentiles "$OUT/$name.log") $(per_call "$t0" "$t1" "$total") $all" \
    "$(awk -v a="$s0" -v b="$s1" 'BEGIN { split(a, x, " "); split(b, y, " "); print y[1] - x[1], y[2] - x[2], y[3] - x[3], y[4] - x[4] }')" \
    "${dropped:--} $load" >>"$RESULTS"
  log "  round $round $config: $rps calls/s, $(tail -1 "$RESULTS" | awk '{ printf "server %s µs/call, PostgreSQL %s, sink %s req %s spans, dropped %s, load %s", $6, $7, $11, $13, $15, $16 }')"
}

log "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $ROUNDS rounds of ${WARMUP}+${DURATION} s phases, $CONNS connections"
for round in $(seq "$ROUNDS"); do
  for i in $(seq 0 $((${#CONFIGS[@]} - 1))); do
    phase "$round" "${CONFIGS[$(((i + round - 1) % ${#CONFIGS[@]}))]}"
  done
done

if [[ -n "${AB:-}" ]]; then
  # --- A/B report: medians per binary, ratios to the before binary, paired per-round ratios -------
  awk -v rounds="$ROUNDS" -v dur="$DURATION" -v conns="$CONNS" -v A="$AB_BEFORE" -v B="$AB_AFTER" '
    function median(cfg, col,   n, i, j, t, v) {
      n = 0; for (i = 1; i <= NR; i++) if (c[i] == cfg) v[++n] = f[i, col] + 0
      return med(v, n) }
    function med(v, n,   i, j, t) {
      for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
      return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
    function ratio(a, b) { return b > 0 ? sprintf(" (%.2f)", a / b) : "" }
    function spread(cfg, col,   i, lo, hi) { lo = ""; for (i = 1; i <= NR; i++) if (c[i] == cfg) {
        if (lo == "" || f[i, col] < lo) lo = f[i, col]; if (hi == "" || f[i, col] > hi) hi = f[i, col] }
      return sprintf("%.1f–%.1f", lo, hi) }
    { c[NR] = $2; for (k = 1; k <= NF; k++) f[NR, k] = $k; row[$1, $2] = NR }
    END {
      printf "\n### ListResourceTags, export off (no OTEL_*), %s (before) against %s (after): h2load %d connections, %d s per phase, medians of %d rounds (ratio to %s)\n\n", A, B, conns, dur, rounds, A
      print "| binary | calls/s | p50 ms | p99 ms | server CPU µs/call (range) | PostgreSQL CPU µs/call (range) | machine CPU µs/call | load average at each phase end |"
      print "|---|---:|---:|---:|---:|---:|---:|---|"
      for (o = 1; o <= 2; o++) { g = o == 1 ? A : B; l = ""
        for (i = 1; i <= NR; i++) if (c[i] == g) l = l (l == "" ? "" : "; ") f[i, 16]
        printf "| %s | %.0f%s | %.2f%s | %.2f%s | %.1f%s (%s) | %.1f%s (%s) | %.1f%s | %s |\n", g (o == 1 ? " (before)" : " (after)"),
          median(g, 3), ratio(median(g, 3), median(A, 3)), median(g, 4), ratio(median(g, 4), median(A, 4)),
          median(g, 5), ratio(median(g, 5), median(A, 5)), median(g, 6), ratio(median(g, 6), median(A, 6)), spread(g, 6),
          median(g, 7), ratio(median(g, 7), median(A, 7)), spread(g, 7), median(g, 8), ratio(median(g, 8), median(A, 8)), l }
      n = 0; s = ""; d = ""
      for (r = 1; r <= rounds; r++) if ((r, A) in row && (r, B) in row) {
        a = row[r, A]; b = row[r, B]; n++
        sv[n] = f[b, 6] / f[a, 6]; dv[n] = f[b, 7] / f[a, 7]
        s = s (s == "" ? "" : ", ") sprintf("%.2f", sv[n]); d = d (d == "" ? "" : ", ") sprintf("%.2f", dv[n]) }
      printf "\nPaired per round, after ÷ before: server CPU per call %s, **median %.3f**; PostgreSQL CPU per call %s, median %.3f\n", s, med(sv, n), d, med(dv, n)
    }' "$RESULTS" | tee "$OUT/report.md"
  exit 0
fi

SINK_FINAL=$(sink_stats)
log "sink: $(awk '{ printf "%d requests, %d bytes, %d spans (%d server spans) in all", $1, $2, $3, $4 }' <<<"$SINK_FINAL"); by kind and name:"
curl -sf "$SINK/names" | tee "$OUT/span-names.txt" >&2

# --- Report: medians per configuration, ratios to `off` ------------------------------------------
awk -v rounds="$ROUNDS" -v dur="$DURATION" -v conns="$CONNS" '
  function median(cfg, col,   n, i, j, t, v) {
    n = 0; for (i = 1; i <= NR; i++) if (c[i] == cfg) v[++n] = f[i, col] + 0
    for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
  function sum(cfg, col,   i, s) { s = 0; for (i = 1; i <= NR; i++) if (c[i] == cfg) s += f[i, col]; return s }
  function ratio(a, b) { return b > 0 ? sprintf(" (%.2f)", a / b) : "" }
  { c[NR] = $2; for (k = 1; k <= NF; k++) f[NR, k] = $k; if (!($2 in seen)) { seen[$2] = 1; order[++nc] = $2 } }
  END {
    label["off"] = "export off (no OTEL_*)"; label["all"] = "always_on, every call exported"; label["1pct"] = "traceidratio 0.01"
    printf "\n### ListResourceTags, h2load %d connections, %d s per phase, medians of %d rounds (ratio to export off)\n\n", conns, dur, rounds
    print "| configuration | calls/s | p50 ms | p99 ms | server CPU µs/call | PostgreSQL CPU µs/call | machine CPU µs/call | sink CPU µs/call |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|"
    for (k = 3; k <= 9; k++) base[k] = median("off", k)
    for (o = 1; o <= nc; o++) { g = order[o]
      printf "| %s | %.0f%s | %.2f%s | %.2f%s | %.1f%s | %.1f%s | %.1f%s | %.1f |\n", label[g],
        median(g, 3), ratio(median(g, 3), base[3]), median(g, 4), ratio(median(g, 4), base[4]),
        median(g, 5), ratio(median(g, 5), base[5]), median(g, 6), ratio(median(g, 6), base[6]),
        median(g, 7), ratio(median(g, 7), base[7]), median(g, 8), ratio(median(g, 8), base[8]), median(g, 9) }
    print ""
    print "| configuration | calls served (all rounds, warm-up included) | sink: POSTs | bytes | spans | server spans | server spans ÷ calls | spans dropped (each round) | load average at each phase end |"
    print "|---|---:|---:|---:|---:|---:|---:|---|---|"
    for (o = 1; o <= nc; o++) { g = order[o]; d = ""; l = ""
      for (i = 1; i <= NR; i++) if (c[i] == g) { d = d (d == "" ? "" : ", ") f[i, 15]; l = l (l == "" ? "" : "; ") f[i, 16] " " f[i, 17] " " f[i, 18] }
      printf "| %s | %d | %d | %d | %d | %d | %.4f | %s | %s |\n", label[g], sum(g, 10), sum(g, 11), sum(g, 12), sum(g, 13), sum(g, 14),
        sum(g, 10) ? sum(g, 14) / sum(g, 10) : 0, d, l }
  }' "$RESULTS" | tee "$OUT/report.md"
