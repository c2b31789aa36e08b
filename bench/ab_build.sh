# shellcheck shell=bash
# Sourced by the A/B benchmarks (bench/ingest_ab.sh, bench/reads_ab.sh), from the repository's
# root with WORK set and a `die`: `build COMMIT` builds that commit's release binary in a worktree
# under $WORK (a target directory each) and prints its path; `serve BINARY URL LOG` starts its
# server (SERVER_PID, ADDR); `busy_ticks`; HELPER is this tree's benchmark helper.

build() { # commit -> binary path on stdout
  local tree=$WORK/tree-$1
  [[ -d $tree ]] || git worktree add --detach -q "$tree" "$1"
  # A target directory per commit: to Cargo both trees are one package (its hash takes the path
  # relative to the workspace), so a shared one would take one tree's build for the other's.
  (cd "$tree" && CARGO_TARGET_DIR=$WORK/target-$1 cargo build --release --quiet --bin tagging-service) >&2
  cp "$WORK/target-$1/release/tagging-service" "$WORK/tagging-service-$1"
  echo "$WORK/tagging-service-$1"
}

HELPER=$(cargo bench --quiet --no-run --bench tagbench --message-format=json \
  | grep '"name":"tagbench"' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
[[ -x "$HELPER" ]] || { echo "cannot find the tagbench helper" >&2; exit 1; }

serve() { # binary database-url log -> SERVER_PID, ADDR
  # Emptied before the server starts, so that the wait never reads a missing or stale file.
  : >"$3"
  "$1" serve --listen 127.0.0.1:0 --database-url "$2" 2>"$3" &
  SERVER_PID=$!
  ADDR=
  for _ in $(seq 300); do
    ADDR=$(sed -e 's/\x1b\[[0-9;]*m//g' "$3" | sed -n 's/.*tagging-service ready.*address=\([0-9.:]*\).*/\1/p' | head -1)
    [[ -n $ADDR ]] && break
    sleep 0.1
  done
  [[ -n $ADDR ]] || die "server did not start: $(tail -3 "$3")"
}

# The machine's busy time so far, in clock ticks (user, nice, system, irq, softirq).
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
