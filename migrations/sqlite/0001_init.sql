-- Resources and their tags. AUTOINCREMENT keeps internal ids increasing, which keyset pages rely on.
CREATE TABLE resources (
    pk            INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id    TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    name          TEXT,
    CONSTRAINT resources_address UNIQUE (project_id, resource_type, resource_id)
);

-- Name addressing resolves through this, and it keeps names unique per project and type.
CREATE UNIQUE INDEX resources_name ON resources (project_id, resource_type, name) WHERE name IS NOT NULL;
-- Keyset pages of one project's resources of one type.
CREATE INDEX resources_scope_pk ON resources (project_id, resource_type, pk);

CREATE TABLE tags (
    resource_pk INTEGER NOT NULL REFERENCES resources (pk) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (resource_pk, key)
) WITHOUT ROWID;

-- Filters by key and value.
CREATE INDEX tags_key_value ON tags (key, value, resource_pk);

CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    secret_sha256 BLOB NOT NULL,
    project_id    TEXT NOT NULL,
    read_only     INTEGER NOT NULL,
    system        INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);

-- Keys the servers sharing this database must agree on, such as the page-token key.
CREATE TABLE server_keys (
    name   TEXT PRIMARY KEY,
    secret BLOB NOT NULL
);
