//! Scopes, and the counts of their keys and values: applied by writes, read by filtered reads to
//! choose their index, and listed as a project's keys and values.

use std::fmt::Write;

use super::{Arg, Sql};
use crate::{
    domain::{KeyFilter, Scope, Visibility},
    store::counts::Deltas,
};

pub fn scope_pk(scope: &Scope) -> Sql<'_> {
    let mut sql = Sql::new("SELECT pk FROM scopes WHERE project_id = ");
    sql.text(&scope.project_id)
        .push(" AND resource_type = ")
        .text(&scope.resource_type);
    sql
}

/// Registers the scope unless it is there; the row is never locked, so writers do not queue on it.
pub fn insert_scope(scope: &Scope) -> Sql<'_> {
    let mut sql = Sql::new("INSERT INTO scopes (project_id, resource_type) VALUES (");
    sql.text(&scope.project_id)
        .push(", ")
        .text(&scope.resource_type)
        .push(") ON CONFLICT (project_id, resource_type) DO NOTHING");
    sql
}

/// A scope's key, with its project: every statement on the scope's counts names both.
pub type ProjectScope<'a> = (&'a str, i64);

/// Adds `deltas.keys` to the scope's key counts, in key order.
pub fn add_key_counts<'a>(scope: ProjectScope<'a>, deltas: &'a Deltas) -> Sql<'a> {
    let mut sql = Sql::default();
    push_key_counts(&mut sql, scope, deltas);
    sql
}

/// Adds `deltas.values` to the scope's (key, value) counts, in (key, value) order.
pub fn add_value_counts<'a>(scope: ProjectScope<'a>, deltas: &'a Deltas) -> Sql<'a> {
    let mut sql = Sql::default();
    push_value_counts(&mut sql, scope, deltas);
    sql
}

/// [`add_key_counts`] at the end of `sql`.
pub(super) fn push_key_counts<'a>(sql: &mut Sql<'a>, scope: ProjectScope<'a>, deltas: &'a Deltas) {
    let (project_id, scope_pk) = scope;
    sql.push("INSERT INTO tag_keys (project_id, scope_pk, key, resources) VALUES ");
    for (i, (key, n)) in deltas.keys.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push("(")
            .text(project_id)
            .push(", ")
            .int(scope_pk)
            .push(", ")
            .text(key)
            .push(", ")
            .int(*n)
            .push(")");
    }
    sql.push(" ON CONFLICT (project_id, scope_pk, key) DO UPDATE SET resources = tag_keys.resources + excluded.resources");
}

/// [`add_value_counts`] at the end of `sql`.
pub(super) fn push_value_counts<'a>(
    sql: &mut Sql<'a>,
    scope: ProjectScope<'a>,
    deltas: &'a Deltas,
) {
    let (project_id, scope_pk) = scope;
    sql.push("INSERT INTO tag_values (project_id, scope_pk, key, value, resources) VALUES ");
    for (i, ((key, value), n)) in deltas.values.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push("(")
            .text(project_id)
            .push(", ")
            .int(scope_pk)
            .push(", ")
            .text(key)
            .push(", ")
            .text(value)
            .push(", ")
            .int(*n)
            .push(")");
    }
    sql.push(" ON CONFLICT (project_id, scope_pk, key, value) DO UPDATE SET resources = tag_values.resources + excluded.resources");
}

/// Deletes the counts of `table` among `keys` (one at least) that reached zero (rows this write
/// already holds).
pub fn drop_zero_counts<'a>(table: &str, scope: ProjectScope<'a>, keys: &[&'a str]) -> Sql<'a> {
    let mut sql = Sql::default();
    push_drop_zero_counts(&mut sql, table, scope, keys);
    sql
}

/// [`drop_zero_counts`] at the end of `sql`.
pub(super) fn push_drop_zero_counts<'a>(
    sql: &mut Sql<'a>,
    table: &str,
    (project_id, scope_pk): ProjectScope<'a>,
    keys: &[&'a str],
) {
    write!(sql.text, "DELETE FROM {table} WHERE project_id = ").expect("writing to a String");
    sql.text(project_id)
        .push(" AND scope_pk = ")
        .int(scope_pk)
        .push(" AND resources = 0 AND key IN (");
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.text(key);
    }
    sql.push(")");
}

/// One row, when the scope exists (and the caller's token is live): for each filter, how many of
/// the scope's resources it matches. A key's count, or the sum of its listed values' counts (a
/// resource has one value per key, so the sum is exact).
pub fn filter_counts<'a>(
    scope: &'a Scope,
    filters: impl Iterator<Item = &'a KeyFilter>,
    visibility: &'a Visibility,
) -> Sql<'a> {
    let mut sql = Sql::new("SELECT s.pk");
    for f in filters {
        if f.values.is_empty() {
            sql.push(", COALESCE((SELECT c.resources FROM tag_keys c WHERE ")
                .project("c", &scope.project_id)
                .push(" AND c.scope_pk = s.pk AND c.key = ")
                .text(&f.key)
                .push("), 0)");
        } else {
            sql.push(
                ", (SELECT CAST(COALESCE(SUM(c.resources), 0) AS BIGINT) FROM tag_values c WHERE ",
            )
            .project("c", &scope.project_id)
            .push(" AND c.scope_pk = s.pk AND c.key = ")
            .text(&f.key)
            .push(" AND c.value IN ")
            .list(&f.values, |v| Arg::Text(v))
            .push(")");
        }
    }
    sql.push(" FROM scopes s WHERE s.project_id = ")
        .text(&scope.project_id)
        .push(" AND s.resource_type = ")
        .text(&scope.resource_type)
        .while_live(visibility);
    sql
}

fn project_counts_from<'a>(
    sql: &mut Sql<'a>,
    table: &str,
    project_id: &'a str,
    resource_type: Option<&'a str>,
    visibility: &'a Visibility,
) {
    sql.push(&format!(
        " FROM {table} c JOIN scopes s ON s.pk = c.scope_pk WHERE "
    ))
    .project("c", project_id)
    .push(" AND ")
    .project("s", project_id);
    if let Some(rt) = resource_type {
        sql.push(" AND s.resource_type = ").text(rt);
    }
    sql.visible("c", visibility);
}

/// The distinct (key, value) pairs of the page of keys after `after`, ordered by key and value:
/// read from the counts, so it costs what the project's distinct keys and values number, however
/// many resources carry them.
pub fn project_tags<'a>(
    project_id: &'a str,
    resource_type: Option<&'a str>,
    visibility: &'a Visibility,
    after: Option<&'a str>,
    limit: u32,
) -> Sql<'a> {
    let mut sql = Sql::new("SELECT DISTINCT c.key, c.value");
    project_counts_from(
        &mut sql,
        "tag_values",
        project_id,
        resource_type,
        visibility,
    );
    sql.while_live(visibility)
        .push(" AND c.key IN (SELECT DISTINCT c.key");
    project_counts_from(&mut sql, "tag_keys", project_id, resource_type, visibility);
    if let Some(key) = after {
        sql.push(" AND c.key > ").text(key);
    }
    sql.push(" ORDER BY c.key LIMIT ")
        .int(limit.into())
        .push(") ORDER BY c.key, c.value");
    sql
}
