# shellcheck shell=bash
# Sourced by the A/B benchmarks (bench/ingest_ab.sh, bench/reads_ab.sh), from the repository's
# root with WORK set: `build COMMIT` builds that commit's release binary in a worktree under
# $WORK (a target directory each) and prints its path; HELPER is this tree's benchmark helper.

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
