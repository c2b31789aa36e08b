#!/usr/bin/env bash
# Instructions per ListResourceTags call, counted by callgrind (repeatable where CPU time is not):
# BIN serves N and then 3N calls on a copy of the quick benchmark's SQLite database; the
# difference ÷ 2N is one call, start-up and warm-up excluded. Usage:
#   QUICK=1 BACKENDS=sqlite OUT=/tmp/bench bash bench/run.sh     # once, for the database and frame
#   bench/instructions.sh target/release/tagging-service [N=1000] [DIR=/tmp/bench/sqlite]
set -euo pipefail
BIN=$1 N=${2:-1000} DIR=${3:-/tmp/bench/sqlite}
TOKEN=$(cat "$DIR/token")
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }

count() { # calls → total instructions of a server run serving them
  local run
  run=$(mktemp -d)
  cp "$DIR"/tagging.db* "$run/"
  valgrind --tool=callgrind --callgrind-out-file="$run/out.%p" "$BIN" serve --listen 127.0.0.1:0 \
    --database-url "sqlite:$run/tagging.db" --log-format json 2>"$run/log" &
  local pid=$! addr=
  for _ in $(seq 600); do grep -q '"tagging-service ready"' "$run/log" && break; sleep 0.2; done
  addr=$(grep -o '"address":"[^"]*"' "$run/log" | head -1 | cut -d'"' -f4)
  h2load -n "$1" -c 4 -m 1 -t 1 -d "$DIR/prep/frames/list_resource_tags.bin" \
    -H 'content-type: application/grpc' -H 'te: trailers' -H "authorization: Bearer $TOKEN" \
    "http://$addr/tagging.v1.TaggingService/ListResourceTags" | grep -q ' 0 failed, 0 errored'
  kill -INT "$pid"
  wait "$pid" || true
  grep -h '^summary:' "$run"/out.* | awk '{print $2}'
  rm -rf "$run"
}

one=$(count "$N")
three=$(count $((3 * N)))
echo "instructions per ListResourceTags call: $(((three - one) / (2 * N)))"
