-- Tags carry their resource's scope (project and resource type), so that a filter reads only its
-- own scope's index range, ordered by resource, whatever other projects hold; and each scope's
-- keys and values are kept with their resource counts, maintained by the writes' transactions,
-- so a project's keys are read without reading its tags, and a filtered read knows which of its
-- filters is the most selective before it runs.

-- Each (project, resource type) once. Rows are never deleted, so a scope's key never changes.
CREATE TABLE scopes (
    pk            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id    TEXT COLLATE "C" NOT NULL,
    resource_type TEXT COLLATE "C" NOT NULL,
    CONSTRAINT scopes_address UNIQUE (project_id, resource_type)
);

INSERT INTO scopes (project_id, resource_type)
SELECT DISTINCT project_id, resource_type FROM resources ORDER BY 1, 2;

-- Copied rather than altered in place: one pass over the rows, and the indexes and the foreign key
-- built once each afterwards instead of maintained row by row.
CREATE TABLE scoped_tags (
    resource_pk BIGINT NOT NULL,
    scope_pk    BIGINT NOT NULL,
    key         TEXT COLLATE "C" NOT NULL,
    value       TEXT COLLATE "C" NOT NULL
);

INSERT INTO scoped_tags (resource_pk, scope_pk, key, value)
SELECT t.resource_pk, s.pk, t.key, t.value
FROM tags t
JOIN resources r ON r.pk = t.resource_pk
JOIN scopes s ON s.project_id = r.project_id AND s.resource_type = r.resource_type;

DROP TABLE tags;
ALTER TABLE scoped_tags RENAME TO tags;
ALTER TABLE tags ADD CONSTRAINT tags_pkey PRIMARY KEY (resource_pk, key);
ALTER TABLE tags ADD CONSTRAINT tags_resource_pk_fkey
    FOREIGN KEY (resource_pk) REFERENCES resources (pk) ON DELETE CASCADE;

-- A (key, value) filter: its resources in order.
CREATE INDEX tags_scope_key_value ON tags (scope_pk, key, value, resource_pk);
-- A key-only filter, or a key with many values: the key's resources in order.
CREATE INDEX tags_scope_key ON tags (scope_pk, key, resource_pk) INCLUDE (value);

-- How many resources of a scope carry each key, and each (key, value).
CREATE TABLE tag_keys (
    scope_pk  BIGINT NOT NULL,
    key       TEXT COLLATE "C" NOT NULL,
    resources BIGINT NOT NULL,
    PRIMARY KEY (scope_pk, key)
);

CREATE TABLE tag_values (
    scope_pk  BIGINT NOT NULL,
    key       TEXT COLLATE "C" NOT NULL,
    value     TEXT COLLATE "C" NOT NULL,
    resources BIGINT NOT NULL,
    PRIMARY KEY (scope_pk, key, value)
);

INSERT INTO tag_values (scope_pk, key, value, resources)
SELECT scope_pk, key, value, count(*) FROM tags GROUP BY scope_pk, key, value;

INSERT INTO tag_keys (scope_pk, key, resources)
SELECT scope_pk, key, sum(resources) FROM tag_values GROUP BY scope_pk, key;
