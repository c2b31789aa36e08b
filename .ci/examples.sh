#!/usr/bin/env bash
# Runs examples/ against the real binary: builds it and the Rust example in release, starts
# `serve` on a free port with a fresh SQLite database in a temporary directory, creates a token,
# then runs the Python client (examples/python/client.py, in a virtual environment with
# examples/python/requirements.txt, kept under target/tools) and the Rust client
# (examples/client.rs). Each example checks what it reads back; this fails if either fails.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

work=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --locked --quiet --bin tagging-service --example client
bin=target/release/tagging-service

# A virtual environment per set of requirements, reused while they stay the same.
reqs=examples/python/requirements.txt
venv=target/tools/examples-venv-$(sha256sum "$reqs" | cut -c1-12)
if [ ! -x "$venv/bin/python" ]; then
  echo "installing $reqs into $venv"
  rm -rf "$venv.tmp"
  python3 -m venv "$venv.tmp"
  "$venv.tmp/bin/python" -m pip install --quiet --disable-pip-version-check -r "$reqs"
  mv "$venv.tmp" "$venv"
fi

export TAGGING_DATABASE_URL="sqlite:$work/tagging.db"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 60); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; echo "examples: the server exited" >&2; exit 1; }
  sleep 0.5
done
TAGGING_TOKEN=$("$bin" token create --project examples)
export TAGGING_TOKEN

status=0
echo "--- examples/python/client.py"
"$venv/bin/python" examples/python/client.py "127.0.0.1:$port" || status=1
echo "--- examples/client.rs"
TAGGING_ENDPOINT="http://127.0.0.1:$port" target/release/examples/client || status=1

if [ "$status" -ne 0 ]; then
  echo "--- server log"
  cat "$work/server.log"
  echo "examples: FAILED" >&2
  exit 1
fi
echo "examples: OK"
