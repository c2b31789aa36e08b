#!/usr/bin/env bash
# Checks proto/ for changes that break the wire or generated code of the last release, with
# `buf breaking` (buf's default FILE rules). The last release is the newest `[X.Y.Z]: commit SHA`
# line of CHANGELOG.md; its protos (proto/ and buf.yaml as committed there) are taken from git, so
# no tag and no copy of them is needed. buf is installed as .ci/buf-lint.sh installs it (the same
# pinned npm package, under target/tools/buf).
set -euo pipefail
cd "$(dirname "$0")/.."

BUF_VERSION=1.75.0
prefix=target/tools/buf
buf=$prefix/node_modules/.bin/buf

if [ "$("$buf" --version 2>/dev/null)" != "$BUF_VERSION" ]; then
  command -v npm >/dev/null || { echo "buf-breaking: npm is needed to install buf" >&2; exit 1; }
  echo "installing @bufbuild/buf $BUF_VERSION"
  rm -rf "$prefix"
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error --no-save "@bufbuild/buf@$BUF_VERSION"
fi
echo "buf $("$buf" --version)"

release=$(grep -m1 -oE '^\[[0-9]+\.[0-9]+\.[0-9]+\]: commit [0-9a-f]{40}$' CHANGELOG.md) \
  || { echo "buf-breaking: CHANGELOG.md names no release commit ('[X.Y.Z]: commit SHA')" >&2; exit 1; }
version=$(sed -E 's/^\[([^]]+)\].*/\1/' <<<"$release")
commit=${release##* }
if ! git cat-file -e "$commit^{commit}" 2>/dev/null; then
  # A shallow clone lacks the release's commit: fetch that one commit.
  git fetch --quiet --depth=1 origin "$commit" 2>/dev/null || true
fi
git cat-file -e "$commit^{commit}" 2>/dev/null \
  || { echo "buf-breaking: commit $commit of release $version is not in this clone" >&2; exit 1; }

against=$(mktemp -d)
trap 'rm -rf "$against"' EXIT
git archive "$commit" buf.yaml proto | tar -x -C "$against"
echo "against release $version (commit ${commit:0:12}): $(find "$against/proto" -name '*.proto' | wc -l) proto files"
"$buf" breaking --against "$against"
echo "buf breaking: OK, no breaking change since $version"
