#!/usr/bin/env bash
# The time of migration 0009 (the change log packed, a row per write and resource) on a log kept
# in the form before it: the bulk ingest of 1 000 000 resources, 20 000 writes of 50 new resources
# with 10 tags each (11 000 000 rows: each resource's creation and its tags), on a database at
# migration 0008, analyzed; then `tagging-service migrate`, timed. Usage: bench/log_migration.sh
# Environment: BENCH_ADMIN_URL (TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ADMIN=${BENCH_ADMIN_URL:-${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}}
DB=tagging_log_migration
URL=$(printf '%s' "$ADMIN" | sed -E "s#/[^/?]*(\?|$)#/$DB\1#")
M=$ROOT/migrations/postgres
BEFORE=(0001_init 0003_access_keys 0004_scoped_tags 0005_token_lifecycle 0006_revisions
  0007_change_log 0008_logged_resource_pk)

(cd "$ROOT" && cargo build --release --quiet --bin tagging-service)
psql -qX "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
# Each migration, and what sqlx records of it: version, success and the SHA-384 of the file.
for m in "${BEFORE[@]}"; do
  psql -qX -v ON_ERROR_STOP=1 "$URL" -f "$M/$m.sql" >/dev/null
done
psql -qX "$URL" -c "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL,
  installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL,
  checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)"
for m in "${BEFORE[@]}"; do
  v=$((10#${m%%_*})) description=${m#*_}
  psql -qX "$URL" -c "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
    VALUES ($v, '${description//_/ }', true, '\\x$(sha384sum "$M/$m.sql" | cut -d' ' -f1)', 0)"
done
psql -qX -v ON_ERROR_STOP=1 "$URL" <<'SQL'
INSERT INTO project_revisions (project_id, revision, compacted) VALUES ('bench', 20000, 0);
INSERT INTO change_sets (project_id, revision, resource_type, credential_id, request_id, changed_at)
  SELECT 'bench', w, 'CLUSTER', 'tok-1', 'req-' || w, 1700000000000 + w FROM generate_series(1, 20000) w;
-- Per write, each of its 50 resources: its creation (seq 11·i) then its 10 tags.
INSERT INTO tag_changes (change_set, seq, resource_pk, resource_id, kind, key, old_value, new_value)
  SELECT s.id, i * 11 + j, (s.revision - 1) * 50 + i, 'r-' || lpad(((s.revision - 1) * 50 + i)::text, 8, '0'),
         CASE WHEN j = 0 THEN 3 ELSE 1 END,
         CASE WHEN j = 0 THEN NULL ELSE 'k' || lpad(j::text, 2, '0') END,
         NULL,
         CASE WHEN j = 0 THEN NULL ELSE 'v' || ((s.revision * 7 + j) % 97) END
  FROM change_sets s, generate_series(0, 49) i, generate_series(0, 10) j;
VACUUM ANALYZE;
SQL
echo "before: $(psql -qtAX "$URL" -c "SELECT count(*) FROM tag_changes") rows, $(psql -qtAX "$URL" -c "SELECT pg_size_pretty(pg_total_relation_size('tag_changes'))")"
start=$(date +%s.%N)
"$ROOT/target/release/tagging-service" migrate --database-url "$URL" >/dev/null
end=$(date +%s.%N)
echo "migrate: $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "after: $(psql -qtAX "$URL" -c "SELECT count(*) FROM tag_changes") rows, $(psql -qtAX "$URL" -c "SELECT pg_size_pretty(pg_total_relation_size('tag_changes'))")"
psql -qX "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
