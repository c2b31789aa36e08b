-- The change log: every change of a project's tags and resources, written by the write's own
-- transaction under the revision it took, so the log holds exactly the acknowledged writes in
-- revision order. Readers page through it by (revision, seq); compaction drops the oldest
-- revisions and raises the project's `compacted` mark, below which history is refused.
CREATE TABLE tag_changes (
    project_id    TEXT     NOT NULL,
    revision      INTEGER  NOT NULL,
    seq           INTEGER  NOT NULL,
    resource_type TEXT     NOT NULL,
    resource_id   TEXT     NOT NULL,
    kind          INTEGER  NOT NULL,
    key           TEXT,
    old_value     TEXT,
    new_value     TEXT,
    credential_id TEXT     NOT NULL,
    request_id    TEXT     NOT NULL,
    -- Unix milliseconds.
    changed_at    INTEGER  NOT NULL,
    PRIMARY KEY (project_id, revision, seq)
);

-- The history before the log began is not kept: it starts after each project's revision now.
ALTER TABLE project_revisions ADD COLUMN compacted INTEGER NOT NULL DEFAULT 0;
UPDATE project_revisions SET compacted = revision;
