# shellcheck shell=bash
# The tag-filter phases of issue 17, sourced by bench/run.sh: filters from a key on 1 resource in
# 100 000 to a value on every 4th, a value no resource has, negations, and the project's own keys,
# each on one connection (latency without queueing), in each state the planner's statistics may be
# in. PostgreSQL: stale (analyzed after the bulk pass, before env, tier and rare existed), missing
# (wiped, as on tables never analyzed) and fresh (VACUUM ANALYZE); SQLite: missing (no
# sqlite_stat1, as the service leaves it) and fresh (ANALYZE). The server restarts between states:
# its connections keep the generic plans they first made.
#
# Environment: FILTER_DURATION seconds of calls per phase (5; QUICK 0.2), FILTER_WARMUP seconds of
# calls before them (1; QUICK 0, the first call being warm-up enough), MIN_CALLS (20), SLOW_BUDGET
# (30; QUICK 1): when MIN_CALLS calls would not fit in FILTER_DURATION, a phase makes only as many
# as fit in SLOW_BUDGET seconds (at least one, at most MIN_CALLS), so a call costing seconds cannot
# stall the run. ALLOW_DEADLINE=1 counts calls that end in DEADLINE_EXCEEDED (REST: 504) in the
# report instead of failing the run. SMALL_RESOURCES (1000): the second, small project's size.

if [[ "${QUICK:-0}" == 1 ]]; then
  : "${FILTER_DURATION:=0.2}" "${FILTER_WARMUP:=0}" "${SLOW_BUDGET:=1}"
fi
: "${FILTER_DURATION:=5}" "${FILTER_WARMUP:=1}" "${MIN_CALLS:=20}" "${SLOW_BUDGET:=30}"
: "${SMALL_RESOURCES:=1000}" "${ALLOW_DEADLINE:=0}"
# The small project's rare=yes: one resource in 500, so two of 1000.
SMALL_RARE_EVERY=500
# The service's tables and their indexes.
SERVICE_RELS="SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'i')"

# Phase, request (the helper's frames/<request>.bin or rest/<request>.path), project, label.
filter_shapes() {
  cat <<'EOF'
ltr_env_p1	ltr_env_p1	bench	ListTagResources env=prod (1 in 4), page 1
ltr_env_deep	ltr_env_deep	bench	ListTagResources env=prod, page DEEP
ltr_rare	ltr_rare	bench	ListTagResources rare=yes (1 in 100 000)
ltr_rare_key	ltr_rare_key	bench	ListTagResources key rare (empty value)
ltr_nosuch	ltr_nosuch	bench	ListTagResources env=nosuch (no match)
ltr_env_rare	ltr_env_rare	bench	ListTagResources env=prod and rare=yes
ltr_env_key	ltr_env_key	bench	ListTagResources key env (on every resource)
lr_rare	lr_rare	bench	ListResources rare=yes
lr_rare_key	lr_rare_key	bench	ListResources key rare (no values)
lr_env_values	lr_env_values	bench	ListResources env=prod or test (1 in 2)
lr_any	lr_any	bench	ListResources tags_any rare=yes, env=nosuch
lr_env_not_web	lr_env_not_web	bench	ListResources env=prod, not_tags_any tier=web
lr_not_env	lr_not_env	bench	ListResources not_tags env=prod alone
count_rare_key	count_rare_key	bench	CountResources key rare
count_env	count_env	bench	CountResources env=prod
count_env_tier	count_env_tier	bench	CountResources env=prod AND tier=web (1 in 8)
project_tags	project_tags	bench	ListProjectTags (page of 100 keys)
smn_project_tags	smn_project_tags	bench	REST SMN GET /v2/…/{type}/tags (every key)
smn_filter_rare	smn_filter_rare	bench	REST SMN filter rare=yes (page and total_count)
smn_filter_env_tier	smn_filter_env_tier	bench	REST SMN filter env=prod, tier=web (page and total_count)
small_env_p1	ltr_env_p1	small	small project: ListTagResources env=prod, page 1
small_rare	ltr_rare	small	small project: ListTagResources rare=yes
EOF
}

# Both projects, each in the passes of benches/tagbench/dataset.rs; PostgreSQL analyzes between
# the bulk pass and the others, so its statistics know nothing of env, tier and rare (stale).
seed_projects() { # url resources tags
  local seed=("$HELPER" seed --url "$BASE" --tags-per-resource $(($3 / $2)) --concurrency "$SEED_CONCURRENCY")
  local small=(--token "$SMALL_TOKEN" --resources "$SMALL_RESOURCES" --rare-every "$SMALL_RARE_EVERY")
  local ingest
  ingest=$("${seed[@]}" --token "$TOKEN" --resources "$2" --passes bulk)
  log "  $ingest"
  echo "ingest_tags_per_s ${ingest##*tags_per_s=} - - -" >>"$RESULTS"
  "${seed[@]}" "${small[@]}" --passes bulk >/dev/null
  if [[ $BACKEND == postgres ]]; then psql -qX "$1" -c "ANALYZE" >/dev/null; fi
  "${seed[@]}" --token "$TOKEN" --resources "$2" --passes filter,rare
  "${seed[@]}" "${small[@]}" --passes filter,rare 2>/dev/null
}

# Puts the statistics in `state`, the server stopped (SQLite's ANALYZE writes the file).
stats_state() { # state url
  case $BACKEND:$1 in
    postgres:missing)
      # As tables never analyzed: no column statistics, and no size (the planner then estimates
      # rows from the files' pages and default selectivities).
      psql -qX "$2" -c "DELETE FROM pg_statistic WHERE starelid IN ($SERVICE_RELS)" \
        -c "UPDATE pg_class SET reltuples = -1, relpages = 0, relallvisible = 0 WHERE oid IN ($SERVICE_RELS)" >/dev/null ;;
    postgres:fresh) psql -qX "$2" -c "VACUUM ANALYZE" >/dev/null ;;
    sqlite:missing) sqlite3 "${2#sqlite:}" "DROP TABLE IF EXISTS sqlite_stat1; DROP TABLE IF EXISTS sqlite_stat4" ;;
    sqlite:fresh) sqlite3 "${2#sqlite:}" "ANALYZE" ;;
    *:stale) ;; # made by seed_projects
  esac
}

# What the planner believes in this state: on PostgreSQL its row estimate for env=prod among the
# tags (250 250 of them at full size), on SQLite the rows of sqlite_stat1.
stats_note() { # url
  if [[ $BACKEND == postgres ]]; then
    psql -qtAX "$1" -c "EXPLAIN SELECT 1 FROM tags WHERE key = 'env' AND value = 'prod'" | sed -n '1s/.* rows=\([0-9]*\) .*/env=prod estimate \1 rows/p'
  else
    echo "sqlite_stat1 $(sqlite3 "${1#sqlite:}" "SELECT count(*) FROM sqlite_stat1" 2>/dev/null || echo 0) rows"
  fi
}

# `n` calls of a gRPC request on one connection, one at a time, killed after `limit` seconds.
grpc_calls() { # request token n log limit
  local out
  : >"$4" # h2load appends to its log
  out=$(timeout "$5" h2load -n "$3" -c 1 -m 1 -t 1 -d "$FILTERS/frames/$1.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' -H "authorization: Bearer $2" --log-file="$4" "$BASE$(cat "$FILTERS/frames/$1.method")") \
    || die "$1: no answer within $5 s"
  grep -q ' 0 failed, 0 errored, 0 timeout' <<<"$out" || die "$1: h2load saw failures: $(grep requests: <<<"$out")"
}

# The same for a REST request, by curl on one kept-alive connection; the log in h2load's layout
# (microseconds from the request to the end of the answer in column 3).
rest_calls() { # request token n log limit
  local cfg=$FILTERS/curl.cfg body=() url i
  [[ -f $FILTERS/rest/$1.json ]] && body=(-H 'content-type: application/json' --data-binary "@$FILTERS/rest/$1.json")
  url=$BASE$(cat "$FILTERS/rest/$1.path")
  for ((i = 0; i < $3; i++)); do printf 'url = "%s"\noutput = "/dev/null"\n' "$url"; done >"$cfg"
  timeout "$5" curl -sS -K "$cfg" "${body[@]}" -H "X-Auth-Token: $2" -w '%{http_code} %{time_pretransfer} %{time_total}\n' \
    | awk -v allow="$ALLOW_DEADLINE" '$1 != 200 && !(allow == 1 && $1 == 504) { bad = bad " " $1 }
        { printf "%s - %d\n", $1, ($3 - $2) * 1e6 } END { if (bad) { print "HTTP" bad > "/dev/stderr"; exit 1 } }' >"$4" \
    || die "$1: a call failed or took over $5 s"
}

# "warm-up calls, measured calls" for a call that took `ms`.
phase_calls() { # ms
  awk -v ms="$1" -v d="$FILTER_DURATION" -v w="$FILTER_WARMUP" -v min="$MIN_CALLS" -v slow="$SLOW_BUDGET" 'BEGIN {
    if (ms < 0.05) ms = 0.05
    if (ms * min <= d * 1000) { print int(w * 1000 / ms), int(d * 1000 / ms); exit }
    n = int(slow * 1000 / ms); print 0, (n < 1 ? 1 : n > min ? min : n) }'
}

# "OK calls, DEADLINE_EXCEEDED calls" between two `calls` snapshots (whose own scrapes of /metrics
# are not counted); fails on any other code, and on
# DEADLINE_EXCEEDED unless ALLOW_DEADLINE=1.
count_calls() { # before after phase
  awk -F'\t' -v phase="$3" -v allow="$ALLOW_DEADLINE" '
    FILENAME == ARGV[1] { before[$1 FS $2 FS $3] = $4; next }
    $2 == "GET /metrics" { next }
    { d = $4 - before[$1 FS $2 FS $3]; if (d <= 0) next
      if ($3 == "Ok" || $3 == "200") ok += d
      else if (allow == 1 && ($3 == "DeadlineExceeded" || $3 == "504")) late += d
      else { bad += d; what = what " " $2 "=" $3 "x" d } }
    END { if (bad) { print "bench: " phase ": " bad " calls failed:" what > "/dev/stderr"; exit 1 }
          if (!ok && !late) { print "bench: " phase ": the server counted no call" > "/dev/stderr"; exit 1 }
          print ok + 0, late + 0 }' "$1" "$2"
}

# One shape: a first call (which sizes the phase), warm-up calls, then the measured calls; appends
# "state phase calls p50 p99 server database machine deadline-exceeded all-calls" to $FILTER_RESULTS.
filter_phase() { # state phase request project
  local token=$TOKEN run=grpc_calls log=$FILTERS/$1-$2.log before=$RUN/calls.before after=$RUN/calls.after
  [[ $4 == small ]] && token=$SMALL_TOKEN
  [[ -f $FILTERS/rest/$3.path ]] && run=rest_calls
  local deadline=$((${REQUEST_TIMEOUT_MS:-30000} / 1000)) first warm n t0 t1 counted
  DB_PIDS=$(server_db_pids)
  calls >"$before"
  "$run" "$3" "$token" 1 "$log" $((2 * deadline + 30))
  first=$(awk '{ print $3 / 1000 }' "$log")
  read -r warm n < <(phase_calls "$first")
  if ((warm > 0)); then "$run" "$3" "$token" "$warm" "$FILTERS/warm.log" $((warm * 10 * ${first%.*} / 1000 + 2 * deadline + 30)); fi
  t0=$(ticks)
  "$run" "$3" "$token" "$n" "$log" $((n * 10 * ${first%.*} / 1000 + 2 * deadline + 30))
  t1=$(ticks)
  calls >"$after"
  counted=$(count_calls "$before" "$after" "$1 $2") || exit 1
  read -r ok late <<<"$counted"
  echo "$1 $2 $n $(percentiles "$log") $(per_call "$t0" "$t1" "$n") $late $((ok + late))" >>"$FILTER_RESULTS"
  log "  $1 $2: $(percentiles "$log") ms p50 p99 of $n calls"
}

# Every shape in every state; the helper first writes the requests (walking the dense filter to its
# deep page). Ends with the server stopped and the statistics as the service's other phases expect.
filter_states() { # url just-seeded
  local states="missing fresh" state name request project
  if [[ $BACKEND == postgres && $2 == 1 ]]; then states="stale $states"; fi
  FILTERS=$RUN/filters FILTER_RESULTS=$RUN/filters.txt
  mkdir -p "$FILTERS"
  : >"$FILTER_RESULTS"
  : >"$FILTERS/states.txt"
  log "  tag filters: requests"
  "$HELPER" filters --url "$BASE" --token "$TOKEN" --deep-page "$DEEP_PAGE" --out "$FILTERS" >"$FILTERS/deep.env"
  # shellcheck disable=SC1091
  source "$FILTERS/deep.env"
  for state in $states; do
    local started=$SECONDS
    stop_server
    stats_state "$state" "$1"
    start_server "$1"
    echo "$state	$(cut -d' ' -f1-3 /proc/loadavg)	$(stats_note "$1")" >>"$FILTERS/states.txt"
    log "  tag filters, $state statistics"
    while IFS=$'\t' read -r -u 3 name request project _; do
      filter_phase "$state" "$name" "$request" "$project"
    done 3< <(filter_shapes)
    cp "$RUN/server.log" "$FILTERS/server-$state.log"
    log "  ($state: $((SECONDS - started)) s)"
  done
  stop_server
  # SQLite's other phases run as the service leaves the file, without statistics.
  if [[ $BACKEND == sqlite ]]; then stats_state missing "$1"; fi
}

# The table of the tag-filter phases: p50 / p99 per state, CPU per call when fresh.
filters_report() {
  local states
  states=$(cut -f1 "$FILTERS/states.txt" | tr '\n' ' ')
  printf '\n### %s: tag filters, one connection (p50 / p99 ms; %s calls a phase unless said)\n\n' "$BACKEND" "≥ $MIN_CALLS"
  awk -F'\t' '{ printf "- %s statistics: %s; load average %s\n", $1, $3, $2 }' "$FILTERS/states.txt"
  echo
  awk -v states="$states" -v min="$MIN_CALLS" -v deep="$FILTER_DEEP_PAGE" -v backend="$BACKEND" '
    FNR == NR { split($0, f, "\t"); order[++rows] = f[1]; label[f[1]] = f[4]; next }
    { cell[$1, $2] = $4 " / " $5
      if ($3 < min) cell[$1, $2] = cell[$1, $2] " (" $3 ($3 == 1 ? " call)" : " calls)")
      if ($9 > 0) cell[$1, $2] = cell[$1, $2] " **" $9 " of " $10 " calls DEADLINE_EXCEEDED**"
      cpu[$1, $2] = $6 " | " (backend == "postgres" ? $7 : "(in server)") " | " $8 }
    END {
      n = split(states, s, " ")
      head = "| call |"; rule = "|---|"
      for (i = 1; i <= n; i++) { head = head " " s[i] " |"; rule = rule "---:|" }
      print head " fresh CPU µs/call: server | database | machine |"; print rule "---:|---:|---:|"
      for (r = 1; r <= rows; r++) {
        k = order[r]; l = label[k]; sub(/DEEP/, deep, l); line = "| " l " |"
        for (i = 1; i <= n; i++) line = line " " ((s[i], k) in cell ? cell[s[i], k] : "-") " |"
        print line " " (("fresh", k) in cpu ? cpu["fresh", k] : "- | - | -") " |" } }' <(filter_shapes) "$FILTER_RESULTS"
}
