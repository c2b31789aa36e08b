#!/usr/bin/env bash
# Lints proto/ with buf, configured by buf.yaml (STANDARD rules; our copies of Google's protos are
# left out). buf comes from npm (`@bufbuild/buf`, whose per-platform package ships the binary),
# pinned, installed under target/tools/buf; a buf already there at that version is reused.
set -euo pipefail
cd "$(dirname "$0")/.."

BUF_VERSION=1.75.0
prefix=target/tools/buf
buf=$prefix/node_modules/.bin/buf

if [ "$("$buf" --version 2>/dev/null)" != "$BUF_VERSION" ]; then
  command -v npm >/dev/null || { echo "buf-lint: npm is needed to install buf" >&2; exit 1; }
  echo "installing @bufbuild/buf $BUF_VERSION"
  rm -rf "$prefix"
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error --no-save "@bufbuild/buf@$BUF_VERSION"
fi
echo "buf $("$buf" --version)"
"$buf" lint
echo "buf lint: OK"
