-- Each project's revision. A write that changes something takes the next one, as its last step
-- before commit and under this row's lock, so a project's revisions are in commit order.
CREATE TABLE project_revisions (
    project_id TEXT PRIMARY KEY,
    revision   INTEGER NOT NULL
);

-- A resource's revision: that of the last write that changed it. Resources from before
-- revisions start at 1, and so do their projects.
ALTER TABLE resources ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
INSERT INTO project_revisions (project_id, revision) SELECT DISTINCT project_id, 1 FROM resources;
