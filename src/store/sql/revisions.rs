//! Revisions: each project's counter, and the revision of each resource's last change.

use super::{Arg, Sql};

/// The project's next revision, taken under the lock of its row, which is held to commit.
pub const NEXT_REVISION: &str = "INSERT INTO project_revisions (project_id, revision) VALUES ($1, 1) ON CONFLICT (project_id) DO UPDATE SET revision = project_revisions.revision + 1 RETURNING revision";

/// The project's current revision; no row: 0.
pub const CURRENT_REVISION: &str = "SELECT revision FROM project_revisions WHERE project_id = $1";

/// The project's next revision, with the resources among `pks` marked as changed at it: both
/// in one statement, where the dialect runs writes inside `WITH`, so that the project's row is
/// held one round trip less.
pub fn next_revision_stamping<'a>(project_id: &'a str, pks: &'a [i64]) -> Sql<'a> {
    let mut sql =
        Sql::new("WITH r AS (INSERT INTO project_revisions (project_id, revision) VALUES (");
    sql.text(project_id)
        .push(", 1) ON CONFLICT (project_id) DO UPDATE SET revision = project_revisions.revision + 1 RETURNING revision), ")
        .push("s AS (UPDATE resources SET revision = (SELECT revision FROM r) WHERE pk IN ")
        .list(pks, |pk| Arg::Int(*pk))
        .push(") SELECT revision FROM r");
    sql
}

/// Marks the resources among `pks` as changed at `revision`.
pub fn stamp_resources(pks: &[i64], revision: i64) -> Sql<'_> {
    let mut sql = Sql::new("UPDATE resources SET revision = ");
    sql.int(revision)
        .push(" WHERE pk IN ")
        .list(pks, |pk| Arg::Int(*pk));
    sql
}
