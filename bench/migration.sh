#!/usr/bin/env bash
# The time of migration 0004 (scoped tags and their counts) on a database made by the schema before
# it: 1 000 000 resources of one project and 10 000 of a hundred small ones, 10 tags each
# (10 100 000 tags), written with generate_series as the older service would have stored them,
# analyzed, then `tagging-service migrate`, timed. Usage: bench/migration.sh
# Environment: BENCH_ADMIN_URL (TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ADMIN=${BENCH_ADMIN_URL:-${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}}
DB=tagging_migration
URL=$(printf '%s' "$ADMIN" | sed -E "s#/[^/?]*(\?|$)#/$DB\1#")
M=$ROOT/migrations/postgres

(cd "$ROOT" && cargo build --release --quiet --bin tagging-service)
psql -qX "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
psql -qX "$URL" -f "$M/0001_init.sql" -f "$M/0003_access_keys.sql"
# What sqlx records of the migrations it applied: version, success and the SHA-384 of the file.
checksum() { sha384sum "$1" | cut -d' ' -f1; }
psql -qX "$URL" <<SQL
CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL,
  installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL,
  checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL);
INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES
  (1, 'init', true, '\\x$(checksum "$M/0001_init.sql")', 0),
  (3, 'access keys', true, '\\x$(checksum "$M/0003_access_keys.sql")', 0);
INSERT INTO resources (project_id, resource_type, resource_id)
  SELECT 'bench', 'CLUSTER', 'r-' || lpad(i::text, 8, '0') FROM generate_series(0, 999999) i;
INSERT INTO resources (project_id, resource_type, resource_id)
  SELECT 'small' || (i % 100), 'CLUSTER', 's-' || i FROM generate_series(0, 9999) i;
INSERT INTO tags (resource_pk, key, value)
  SELECT r.pk, 'k' || lpad(j::text, 2, '0'), 'v' || ((r.pk / 50 * 7 + j) % 97)
  FROM resources r, generate_series(2, 9) j;
INSERT INTO tags (resource_pk, key, value)
  SELECT pk, 'env', (ARRAY['prod', 'dev', 'test', 'stage'])[pk % 4 + 1] FROM resources;
INSERT INTO tags (resource_pk, key, value)
  SELECT pk, 'tier', (ARRAY['web', 'db'])[pk % 2 + 1] FROM resources;
VACUUM ANALYZE;
SQL
echo "before: $(psql -qtAX "$URL" -c "SELECT count(*) FROM tags") tags, $(psql -qtAX "$URL" -c "SELECT pg_size_pretty(pg_database_size('$DB'))")"
start=$(date +%s.%N)
"$ROOT/target/release/tagging-service" migrate --database-url "$URL" >/dev/null
end=$(date +%s.%N)
echo "migrate: $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "after: $(psql -qtAX "$URL" -c "SELECT count(*) FROM tag_values") value counts, $(psql -qtAX "$URL" -c "SELECT count(*) FROM tag_keys") key counts, $(psql -qtAX "$URL" -c "SELECT pg_size_pretty(pg_database_size('$DB'))")"
psql -qX "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
