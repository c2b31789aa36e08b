#!/usr/bin/env bash
# Runs the documented walkthroughs exactly as written: the README's quickstart server block in the
# background (the first terminal), then, once the port answers, in one shell (the second terminal):
# the README's client block, docs/api.md's grpcurl walkthrough and docs/rest-compat.md's curl
# walkthrough. Each part's answers are checked. The database is a fresh file, so the run starts
# empty and leaves the checkout clean.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
# The ```bash block after the marker <!-- walkthrough:NAME --> in FILE.
block() { awk -v m="<!-- walkthrough:$2 -->" '$0==m{f=1;next} f&&/^```bash/{p=1;next} p&&/^```/{exit} p' "$1"; }
parts=("README.md client" "docs/api.md api" "docs/rest-compat.md rest")

block README.md server >"$work/server.sh"
[ -s "$work/server.sh" ] || { echo "walkthrough: no server block in README.md" >&2; exit 1; }
for part in "${parts[@]}"; do
  read -r file name <<<"$part"
  block "$file" "$name" >"$work/$name.sh"
  [ -s "$work/$name.sh" ] || { echo "walkthrough: no $name block in $file" >&2; exit 1; }
  # A curl answer ends without a newline: the marker starts a line of its own.
  printf 'echo; echo "=== walkthrough:%s"\n' "$name" >>"$work/calls.sh"
  cat "$work/$name.sh" >>"$work/calls.sh"
done

export TAGGING_DATABASE_URL="sqlite:$work/tagging.db"
cargo build --release --locked --quiet
setsid bash "$work/server.sh" >"$work/server.log" 2>&1 &
server=$!
trap 'kill -TERM -- "-$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  (exec 3<>/dev/tcp/127.0.0.1/50051) 2>/dev/null && break
  sleep 1
done
bash -euo pipefail "$work/calls.sh" | tee "$work/calls.out"
echo

# The answers of one part of the run.
answers() { awk -v m="=== walkthrough:$1" '$0==m{p=1;next} /^=== walkthrough:/{p=0} p' "$work/calls.out"; }
expect() { grep -q -- "$2" <(answers "$1") || { echo "walkthrough:$1 did not answer $2" >&2; exit 1; }; }
# README: the grpcurl write, then the ACK list of the clusters tagged env=dev.
expect client '"tag_resource":\[{"resource_id":"c-1","resource_type":"ALIYUN::CS::CLUSTER","tag_key":"env","tag_value":"dev"}'
expect client '"resource_id":"c-2"'
# README: the watch, from the history (c-1 registered) to the write it saw commit (dev to prod).
expect client '"kind": "CHANGE_KIND_RESOURCE_CREATED"'
expect client '"oldValue": "dev"'
expect client '"newValue": "prod"'
# docs/api.md: reflection, one resource's tags, the resources by tag.
expect api 'tagging.v1.TaggingService'
expect api 'grpc.health.v1.Health'
expect api '"key": "team"'
expect api '"tagKey": "env"'
expect api '"resourceType": "ALIYUN::CS::CLUSTER"'
# docs/rest-compat.md: ACK and SMN.
expect rest '"tag_resource":\[{"resource_id":"c-1","resource_type":"ALIYUN::CS::CLUSTER"'
expect rest '{"tags":\[{"key":"owner","value":"billing"}\]}'
expect rest '"resource_id":"orders"'
expect rest '{"total_count":1}'

kill -TERM -- "-$server"
wait "$server" || true
grep -q 'stopped' "$work/server.log" || { cat "$work/server.log"; echo "the server did not stop gracefully" >&2; exit 1; }
echo "walkthrough: OK"
