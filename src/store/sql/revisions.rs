//! Revisions: each project's counter, and the revision of each resource's last change.

use super::{Arg, Sql};

/// The project's next revision, taken under the lock of its row, which is held to commit.
pub const NEXT_REVISION: &str = "INSERT INTO project_revisions (project_id, revision) VALUES ($1, 1) ON CONFLICT (project_id) DO UPDATE SET revision = project_revisions.revision + 1 RETURNING revision";

/// The project's current revision; no row: 0.
pub const CURRENT_REVISION: &str = "SELECT revision FROM project_revisions WHERE project_id = $1";

/// Marks the resources among `pks` as changed at `revision`.
pub fn stamp_resources(pks: &[i64], revision: i64) -> Sql<'_> {
    let mut sql = Sql::new("UPDATE resources SET revision = ");
    sql.int(revision)
        .push(" WHERE pk IN ")
        .list(pks, |pk| Arg::Int(*pk));
    sql
}
