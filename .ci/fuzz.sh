#!/usr/bin/env bash
# Fuzzes every parser of outside input for a bounded time and fails on any crash: each target runs
# FUZZ_SECONDS (default 50) from its committed seeds (fuzz/corpus/<target>) plus what earlier runs
# on this machine found (target/fuzz-corpus/<target>, not committed). FUZZ_TARGETS picks targets.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-50}"
targets="${FUZZ_TARGETS:-rest_api grpc_messages page_token request_line}"
tools="$PWD/target/tools"
# cargo-fuzz passes nightly-only flags (-Z sanitizer, sancov); the stable compiler takes them so.
export RUSTC_BOOTSTRAP=1
export PATH="$tools/bin:$PATH"

if ! command -v cargo-fuzz >/dev/null; then
  cargo install cargo-fuzz --locked --root "$tools"
fi

cargo fmt --manifest-path fuzz/Cargo.toml -- --check
build=(--target-dir target/fuzz)
cargo fuzz build "${build[@]}"

mkdir -p target/fuzz-logs
failed=()
summary=()
for t in $targets; do
  corpus="target/fuzz-corpus/$t"
  log="target/fuzz-logs/$t.log"
  mkdir -p "$corpus"
  flags=(-max_total_time="$seconds" -timeout=10 -print_final_stats=1)
  [ -f "fuzz/dict/$t.dict" ] && flags+=(-dict="fuzz/dict/$t.dict")
  printf 'fuzzing %s for %ss\n' "$t" "$seconds"
  status=0
  cargo fuzz run "${build[@]}" "$t" "$corpus" "fuzz/corpus/$t" -- "${flags[@]}" >"$log" 2>&1 || status=$?
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)
  files=$(find "$corpus" "fuzz/corpus/$t" -type f | wc -l)
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    tail -n 60 "$log"
    printf 'CRASH in %s: the input is in fuzz/artifacts/%s/; replay it with\n' "$t" "$t"
    printf '  RUSTC_BOOTSTRAP=1 cargo fuzz run %s %s fuzz/artifacts/%s/<file>\n' "${build[*]}" "$t" "$t"
  fi
  summary+=("$(printf '%-14s %10s execs in %ss, corpus %5s inputs, %s' "$t" "${execs:-?}" "$seconds" "$files" \
    "$([ "$status" -eq 0 ] && echo 'no crash' || echo CRASHED)")")
done

printf '\n'
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  printf 'fuzz: crashes in %s\n' "${failed[*]}"
  exit 1
fi
printf 'fuzz: %s targets, 0 crashes\n' "$(wc -w <<<"$targets")"
