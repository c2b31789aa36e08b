-- Every per-tenant row carries its project, and the keys of the tags (last), their counts and
-- the change log (first) include it: the statements are those of PostgreSQL, where each names
-- the project of every table it reads or writes (docs/scaling.md, "Sharding by tenant"). Each
-- table is copied rather than altered in place, its indexes built once afterwards.
CREATE TABLE project_tags (
    project_id  TEXT NOT NULL,
    resource_pk INTEGER NOT NULL,
    scope_pk    INTEGER NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (resource_pk, key, project_id)
) WITHOUT ROWID;
INSERT INTO project_tags (project_id, resource_pk, scope_pk, key, value)
SELECT s.project_id, t.resource_pk, t.scope_pk, t.key, t.value
FROM tags t JOIN scopes s ON s.pk = t.scope_pk;
DROP TABLE tags;
ALTER TABLE project_tags RENAME TO tags;
CREATE INDEX tags_scope_key_value ON tags (scope_pk, key, value, resource_pk, project_id);

CREATE TABLE project_tag_keys (
    project_id TEXT NOT NULL,
    scope_pk   INTEGER NOT NULL,
    key        TEXT NOT NULL,
    resources  INTEGER NOT NULL,
    PRIMARY KEY (project_id, scope_pk, key)
) WITHOUT ROWID;
INSERT INTO project_tag_keys (project_id, scope_pk, key, resources)
SELECT s.project_id, c.scope_pk, c.key, c.resources
FROM tag_keys c JOIN scopes s ON s.pk = c.scope_pk;
DROP TABLE tag_keys;
ALTER TABLE project_tag_keys RENAME TO tag_keys;

CREATE TABLE project_tag_values (
    project_id TEXT NOT NULL,
    scope_pk   INTEGER NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    resources  INTEGER NOT NULL,
    PRIMARY KEY (project_id, scope_pk, key, value)
) WITHOUT ROWID;
INSERT INTO project_tag_values (project_id, scope_pk, key, value, resources)
SELECT s.project_id, c.scope_pk, c.key, c.value, c.resources
FROM tag_values c JOIN scopes s ON s.pk = c.scope_pk;
DROP TABLE tag_values;
ALTER TABLE project_tag_values RENAME TO tag_values;

CREATE TABLE project_tag_changes (
    project_id  TEXT    NOT NULL,
    change_set  INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    resource_pk INTEGER,
    resource_id TEXT    NOT NULL,
    changes     TEXT    NOT NULL,
    PRIMARY KEY (project_id, change_set, seq)
);
INSERT INTO project_tag_changes (project_id, change_set, seq, resource_pk, resource_id, changes)
SELECT s.project_id, c.change_set, c.seq, c.resource_pk, c.resource_id, c.changes
FROM tag_changes c JOIN change_sets s ON s.id = c.change_set;
DROP TABLE tag_changes;
ALTER TABLE project_tag_changes RENAME TO tag_changes;
