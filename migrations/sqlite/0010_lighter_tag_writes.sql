-- Writing a tag costs less: two index entries instead of three, and no foreign-key check.
--
-- The key-order index goes: only a large key-only filter (or one of many values) read it, for
-- its resources in order. Those pages now come from the key's set in the filter postings
-- (src/store/postings), and a key's set is read from the (key, value) index, whose range for a
-- key holds the key's resources in another order.
--
-- The foreign key to resources goes (SQLite drops a constraint by copying the table): its check
-- ran once per tag written. Every write of tags holds its resources first (SQLite has one
-- writer), a tag is only ever inserted for a resource that the same statement finds, and
-- deleting a resource deletes its tags in the same transaction.
CREATE TABLE unlinked_tags (
    resource_pk INTEGER NOT NULL,
    scope_pk    INTEGER NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (resource_pk, key)
) WITHOUT ROWID;

INSERT INTO unlinked_tags (resource_pk, scope_pk, key, value)
SELECT resource_pk, scope_pk, key, value FROM tags;

DROP TABLE tags;
ALTER TABLE unlinked_tags RENAME TO tags;

-- A (key, value) filter: its resources in order; a key's resources, in another order.
CREATE INDEX tags_scope_key_value ON tags (scope_pk, key, value, resource_pk);
