-- Every per-tenant row carries its project, and every key includes it: each statement then names
-- the project of every table it reads or writes, which a database sharded by project needs to
-- send the statement to one shard, and which requires the project in every key (docs/scaling.md,
-- "Sharding by tenant"). The counts and the change log are read by project, so their keys lead
-- with it. The tags' keys end with it: a plan made without statistics would otherwise read a
-- project's whole range of tags where it was meant to look a page of them up by resource. Each
-- table is copied rather than altered in place: one pass over the rows, and its indexes built
-- once each afterwards.
CREATE TABLE project_tags (
    project_id  TEXT COLLATE "C" NOT NULL,
    resource_pk BIGINT NOT NULL,
    scope_pk    BIGINT NOT NULL,
    key         TEXT COLLATE "C" NOT NULL,
    value       TEXT COLLATE "C" NOT NULL
);
INSERT INTO project_tags (project_id, resource_pk, scope_pk, key, value)
SELECT s.project_id, t.resource_pk, t.scope_pk, t.key, t.value
FROM tags t JOIN scopes s ON s.pk = t.scope_pk;
DROP TABLE tags;
ALTER TABLE project_tags RENAME TO tags;
ALTER TABLE tags ADD CONSTRAINT tags_pkey PRIMARY KEY (resource_pk, key, project_id);
CREATE INDEX tags_scope_key_value ON tags (scope_pk, key, value, resource_pk, project_id);

CREATE TABLE project_tag_keys (
    project_id TEXT COLLATE "C" NOT NULL,
    scope_pk   BIGINT NOT NULL,
    key        TEXT COLLATE "C" NOT NULL,
    resources  BIGINT NOT NULL
);
INSERT INTO project_tag_keys (project_id, scope_pk, key, resources)
SELECT s.project_id, c.scope_pk, c.key, c.resources
FROM tag_keys c JOIN scopes s ON s.pk = c.scope_pk;
DROP TABLE tag_keys;
ALTER TABLE project_tag_keys RENAME TO tag_keys;
ALTER TABLE tag_keys ADD CONSTRAINT tag_keys_pkey PRIMARY KEY (project_id, scope_pk, key);

CREATE TABLE project_tag_values (
    project_id TEXT COLLATE "C" NOT NULL,
    scope_pk   BIGINT NOT NULL,
    key        TEXT COLLATE "C" NOT NULL,
    value      TEXT COLLATE "C" NOT NULL,
    resources  BIGINT NOT NULL
);
INSERT INTO project_tag_values (project_id, scope_pk, key, value, resources)
SELECT s.project_id, c.scope_pk, c.key, c.value, c.resources
FROM tag_values c JOIN scopes s ON s.pk = c.scope_pk;
DROP TABLE tag_values;
ALTER TABLE project_tag_values RENAME TO tag_values;
ALTER TABLE tag_values ADD CONSTRAINT tag_values_pkey PRIMARY KEY (project_id, scope_pk, key, value);

CREATE TABLE project_tag_changes (
    project_id  TEXT    NOT NULL,
    change_set  BIGINT  NOT NULL,
    seq         INTEGER NOT NULL,
    resource_pk BIGINT,
    resource_id TEXT    NOT NULL,
    changes     TEXT    NOT NULL
);
INSERT INTO project_tag_changes (project_id, change_set, seq, resource_pk, resource_id, changes)
SELECT s.project_id, c.change_set, c.seq, c.resource_pk, c.resource_id, c.changes
FROM tag_changes c JOIN change_sets s ON s.id = c.change_set;
DROP TABLE tag_changes;
ALTER TABLE project_tag_changes RENAME TO tag_changes;
ALTER TABLE tag_changes ADD CONSTRAINT tag_changes_pkey PRIMARY KEY (project_id, change_set, seq);

-- The tables that carried the project already are keyed by it too.
ALTER TABLE resources DROP CONSTRAINT resources_pkey;
ALTER TABLE resources ADD PRIMARY KEY (pk, project_id);
ALTER TABLE scopes DROP CONSTRAINT scopes_pkey;
ALTER TABLE scopes ADD PRIMARY KEY (pk, project_id);
ALTER TABLE change_sets DROP CONSTRAINT change_sets_pkey;
ALTER TABLE change_sets ADD PRIMARY KEY (id, project_id);

