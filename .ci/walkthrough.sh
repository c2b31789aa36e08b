#!/usr/bin/env bash
# Runs the README's grpcurl walkthrough exactly as written: the server block in the background (the
# first terminal), then the client block once the port answers (the second terminal). The database
# is a fresh file, so the run starts empty and leaves the checkout clean.
set -euo pipefail
work=$(mktemp -d)
block() { awk -v m="<!-- walkthrough:$1 -->" '$0==m{f=1;next} f&&/^```bash/{p=1;next} p&&/^```/{exit} p' README.md; }
block server >"$work/server.sh"
block client >"$work/client.sh"
block rest >>"$work/client.sh"
[ -s "$work/server.sh" ] && [ -s "$work/client.sh" ] || { echo "walkthrough blocks not found in README.md" >&2; exit 1; }

export TAGGING_DATABASE_URL="sqlite:$work/tagging.db"
cargo build --release --locked --quiet
setsid bash "$work/server.sh" >"$work/server.log" 2>&1 &
server=$!
trap 'kill -TERM -- "-$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  (exec 3<>/dev/tcp/127.0.0.1/50051) 2>/dev/null && break
  sleep 1
done
bash -euo pipefail "$work/client.sh" | tee "$work/client.out"
grep -q 'tagging.v1.TaggingService' "$work/client.out"
grep -q '"tagKey": "env"' "$work/client.out"
grep -q 'ALIYUN::CS::CLUSTER' "$work/client.out"
grep -q '"tag_resource":\[{"resource_id":"c-1","resource_type":"ALIYUN::CS::CLUSTER"' "$work/client.out"
grep -q '{"tags":\[{"key":"owner","value":"billing"}\]}' "$work/client.out"
grep -q '{"total_count":1}' "$work/client.out"
kill -TERM -- "-$server"
wait "$server" || true
grep -q 'stopped' "$work/server.log" || { cat "$work/server.log"; echo "the server did not stop gracefully" >&2; exit 1; }
echo "walkthrough: OK"
