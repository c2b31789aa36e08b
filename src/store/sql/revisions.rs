//! Revisions: each project's counter, and the revision of each resource's last change.

use std::fmt::Write;

use super::{
    Arg, Sql,
    changes::LATEST_SET,
    counts::{push_drop_zero_counts, push_key_counts, push_value_counts},
};
use crate::{domain::Scope, store::counts::Deltas};

/// The project's current revision; no row: 0.
pub const CURRENT_REVISION: &str = "SELECT revision FROM project_revisions WHERE project_id = $1";

/// A write's last steps in one statement, for a backend that chains writes in `WITH`
/// (PostgreSQL): its `counts` (the scope's key, and its deltas) added as [`add_key_counts`] and
/// [`add_value_counts`] add them, then the project's next revision taken (under the lock of its
/// row, which is held to commit), the scope's resources `pks` stamped with it and the change set
/// `set` numbered with it; answers the revision. From the first count row it locks to the
/// commit, a write holds up every other writer of the same keys or project: one round trip
/// instead of five.
///
/// [`add_key_counts`]: super::add_key_counts
/// [`add_value_counts`]: super::add_value_counts
pub fn take_revision<'a>(
    scope: &'a Scope,
    counts: (i64, &'a Deltas),
    pks: &'a [i64],
    set: i64,
) -> Sql<'a> {
    let project_id = &scope.project_id;
    let (scope_pk, deltas) = counts;
    let mut sql = Sql::new("WITH ");
    let mut counted = Vec::new();
    if !deltas.keys.is_empty() {
        sql.push("k AS (");
        push_key_counts(&mut sql, (project_id, scope_pk), deltas);
        sql.push(" RETURNING 1), ");
        counted.push("(SELECT COUNT(*) FROM k)");
    }
    if !deltas.values.is_empty() {
        sql.push("v AS (");
        push_value_counts(&mut sql, (project_id, scope_pk), deltas);
        sql.push(" RETURNING 1), ");
        counted.push("(SELECT COUNT(*) FROM v)");
    }
    sql.push("r AS (INSERT INTO project_revisions (project_id, revision) SELECT ")
        .text(project_id)
        .push(", 1");
    // The counts' rows are locked first, keys before values, and the project's row after them
    // (PostgreSQL runs a `WITH` part when it is first read): the order of the separate
    // statements, so no two writes wait for each other in a cycle.
    if !counted.is_empty() {
        write!(sql.text, " WHERE {} >= 0", counted.join(" + ")).expect("writing to a String");
    }
    sql.push(" ON CONFLICT (project_id) DO UPDATE SET revision = project_revisions.revision + 1 RETURNING revision)");
    if !pks.is_empty() {
        // An upsert on the primary key, which finds each row by a probe of that key: an
        // `UPDATE` of a list of ids, or joined to one, read the project's whole range of an index
        // with a plan made while the project was small (BENCHMARKS.md, "Session 14"). The rows
        // exist (the write holds their locks), so the insert it falls back to never happens;
        // its placeholder values only satisfy the columns' constraints.
        sql.push(", s AS (INSERT INTO resources (project_id, pk, resource_type, resource_id, revision) OVERRIDING SYSTEM VALUE SELECT ")
            .text(project_id)
            .push(", i.column1, ")
            .text(&scope.resource_type)
            .push(", '', r.revision FROM r, ")
            .id_rows(pks, "i")
            .push(" ON CONFLICT (pk, project_id) DO UPDATE SET revision = excluded.revision)");
    }
    sql.push(", n AS (UPDATE change_sets SET revision = r.revision FROM r WHERE ")
        .project("change_sets", project_id)
        .push(" AND change_sets.id = ")
        .int(set)
        .push(") SELECT revision FROM r");
    sql
}

/// The same last steps as statements appended to the script `sql`, for a backend that runs
/// several in one call (SQLite, where each call is a hand-over to the connection's thread and
/// back) and has one writer at a time: the counts added, then those they took to zero deleted,
/// the project's next revision taken, the scope's resources `pks` and the newest change set (the
/// write's own, see [`push_change_set`]) marked with it; answers the revision, the script's only
/// row.
///
/// [`push_change_set`]: super::push_change_set
pub fn take_revision_script<'a>(
    mut sql: Sql<'a>,
    scope: &'a Scope,
    counts: (i64, &'a Deltas),
    pks: &'a [i64],
) -> Sql<'a> {
    let project_id = &scope.project_id;
    let (scope_pk, deltas) = counts;
    if !deltas.keys.is_empty() {
        push_key_counts(&mut sql, (project_id, scope_pk), deltas);
        sql.push("; ");
    }
    if !deltas.values.is_empty() {
        push_value_counts(&mut sql, (project_id, scope_pk), deltas);
        sql.push("; ");
    }
    for (table, keys) in deltas.may_reach_zero() {
        if !keys.is_empty() {
            push_drop_zero_counts(&mut sql, table, (project_id, scope_pk), &keys);
            sql.push("; ");
        }
    }
    sql.push("INSERT INTO project_revisions (project_id, revision) VALUES (")
        .text(project_id)
        .push(", 1) ON CONFLICT (project_id) DO UPDATE SET revision = project_revisions.revision + 1; ");
    let revision = |sql: &mut Sql<'a>| {
        sql.push("(SELECT revision FROM project_revisions WHERE project_id = ")
            .text(project_id)
            .push(")");
    };
    if !pks.is_empty() {
        sql.push("UPDATE resources SET revision = ");
        revision(&mut sql);
        // SQLite looks each id up, by the primary key or by the scope's walk index with the id
        // (partial on `pk > 0`, migration 0012).
        sql.push(" WHERE ")
            .scope("resources", scope)
            .push(" AND pk > 0 AND pk IN ")
            .list(pks, |pk| Arg::Int(*pk))
            .push("; ");
    }
    sql.push("UPDATE change_sets SET revision = ");
    revision(&mut sql);
    sql.push(" WHERE ")
        .project("change_sets", project_id)
        .push(" AND id = ")
        .push(LATEST_SET)
        .push("; SELECT ");
    revision(&mut sql);
    sql
}
