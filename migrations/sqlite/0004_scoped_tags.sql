-- Tags carry their resource's scope (project and resource type), so that a filter reads only its
-- own scope's index range, ordered by resource, whatever other projects hold; and each scope's
-- keys and values are kept with their resource counts, maintained by the writes' transactions,
-- so a project's keys are read without reading its tags, and a filtered read knows which of its
-- filters is the most selective before it runs.

-- Each (project, resource type) once. Rows are never deleted, so a scope's key never changes.
CREATE TABLE scopes (
    pk            INTEGER PRIMARY KEY,
    project_id    TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    CONSTRAINT scopes_address UNIQUE (project_id, resource_type)
);

INSERT INTO scopes (project_id, resource_type)
SELECT DISTINCT project_id, resource_type FROM resources ORDER BY 1, 2;

CREATE TABLE scoped_tags (
    resource_pk INTEGER NOT NULL REFERENCES resources (pk) ON DELETE CASCADE,
    scope_pk    INTEGER NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (resource_pk, key)
) WITHOUT ROWID;

INSERT INTO scoped_tags (resource_pk, scope_pk, key, value)
SELECT t.resource_pk, s.pk, t.key, t.value
FROM tags t
JOIN resources r ON r.pk = t.resource_pk
JOIN scopes s ON s.project_id = r.project_id AND s.resource_type = r.resource_type;

DROP TABLE tags;
ALTER TABLE scoped_tags RENAME TO tags;

-- A (key, value) filter: its resources in order.
CREATE INDEX tags_scope_key_value ON tags (scope_pk, key, value, resource_pk);
-- A key-only filter, or a key with many values: the key's resources in order.
CREATE INDEX tags_scope_key ON tags (scope_pk, key, resource_pk, value);

-- How many resources of a scope carry each key, and each (key, value).
CREATE TABLE tag_keys (
    scope_pk  INTEGER NOT NULL,
    key       TEXT NOT NULL,
    resources INTEGER NOT NULL,
    PRIMARY KEY (scope_pk, key)
) WITHOUT ROWID;

CREATE TABLE tag_values (
    scope_pk  INTEGER NOT NULL,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    resources INTEGER NOT NULL,
    PRIMARY KEY (scope_pk, key, value)
) WITHOUT ROWID;

INSERT INTO tag_values (scope_pk, key, value, resources)
SELECT scope_pk, key, value, count(*) FROM tags GROUP BY scope_pk, key, value;

INSERT INTO tag_keys (scope_pk, key, resources)
SELECT scope_pk, key, sum(resources) FROM tag_values GROUP BY scope_pk, key;
