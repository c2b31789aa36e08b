#!/usr/bin/env bash
# Makes sure PostgreSQL answers at TEST_DATABASE_URL's host (127.0.0.1:5432 here): starts the local
# cluster if it is down, installs one (trusting loopback) if there is none. Fails if it cannot.
set -euo pipefail

ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! command -v pg_isready >/dev/null || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  echo "installing PostgreSQL"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -n 1)
  sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
fi

if ! ready; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
fi

for _ in $(seq 1 60); do
  if ready; then
    psql "$TEST_DATABASE_URL" -Atc 'select version()'
    exit 0
  fi
  sleep 1
done
echo "PostgreSQL is not reachable at 127.0.0.1:5432: the PostgreSQL tests cannot run" >&2
exit 1
