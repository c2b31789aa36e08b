-- The change log. Each write that changes something adds one change set (who, when, which
-- type) and its changes, one row per resource and key, in its own transaction; the set gets the
-- project's revision last, under the project's lock, just before the commit, so the rows
-- themselves are written while other writers of the project run. Readers page by (revision,
-- seq); compaction drops the oldest revisions and raises the project's `compacted` mark, at or
-- below which history is refused.
CREATE TABLE change_sets (
    id            BIGSERIAL PRIMARY KEY,
    project_id    TEXT   NOT NULL,
    -- NULL only inside the writing transaction.
    revision      BIGINT,
    resource_type TEXT   NOT NULL,
    credential_id TEXT   NOT NULL,
    request_id    TEXT   NOT NULL,
    -- Unix milliseconds.
    changed_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX change_sets_by_revision ON change_sets (project_id, revision);

CREATE TABLE tag_changes (
    change_set  BIGINT  NOT NULL,
    seq         INTEGER NOT NULL,
    resource_id TEXT    NOT NULL,
    kind        INTEGER NOT NULL,
    key         TEXT,
    old_value   TEXT,
    new_value   TEXT,
    PRIMARY KEY (change_set, seq)
);

-- The history before the log began is not kept: it starts after each project's revision now.
ALTER TABLE project_revisions ADD COLUMN compacted BIGINT NOT NULL DEFAULT 0;
UPDATE project_revisions SET compacted = revision;
