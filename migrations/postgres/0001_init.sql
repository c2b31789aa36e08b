-- Resources and their tags. Text that is compared or ordered uses the "C" collation, so ordering
-- (and so pagination) is by code point, exactly as on SQLite, and independent of the server locale.
CREATE TABLE resources (
    pk            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id    TEXT COLLATE "C" NOT NULL,
    resource_type TEXT COLLATE "C" NOT NULL,
    resource_id   TEXT COLLATE "C" NOT NULL,
    name          TEXT COLLATE "C",
    CONSTRAINT resources_address UNIQUE (project_id, resource_type, resource_id)
);

-- Name addressing resolves through this, and it keeps names unique per project and type.
CREATE UNIQUE INDEX resources_name ON resources (project_id, resource_type, name) WHERE name IS NOT NULL;
-- Keyset pages of one project's resources of one type.
CREATE INDEX resources_scope_pk ON resources (project_id, resource_type, pk);

CREATE TABLE tags (
    resource_pk BIGINT NOT NULL REFERENCES resources (pk) ON DELETE CASCADE,
    key         TEXT COLLATE "C" NOT NULL,
    value       TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (resource_pk, key)
);

-- Filters by key and value.
CREATE INDEX tags_key_value ON tags (key, value, resource_pk);

CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    secret_sha256 BYTEA NOT NULL,
    project_id    TEXT NOT NULL,
    read_only     BOOLEAN NOT NULL,
    system        BOOLEAN NOT NULL,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);

-- Keys the servers sharing this database must agree on, such as the page-token key.
CREATE TABLE server_keys (
    name   TEXT PRIMARY KEY,
    secret BYTEA NOT NULL
);
