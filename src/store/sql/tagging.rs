//! The statements of tags and resources, built for their arguments.

use std::fmt::Write;

use super::{Arg, Lookup, Sql};
use crate::{
    domain::{Scope, Tag, Visibility},
    store::{Removal, TagLimit},
};

pub const PING: &str = "SELECT 1";

/// Registers the resources (taking their row locks, in id order) and answers their internal ids,
/// each with its revision: 0 for a new one, until the write stamps it.
pub fn upsert_resources<'a>(scope: &'a Scope, ids: &'a [String]) -> Sql<'a> {
    let mut sql = Sql::new(
        "INSERT INTO resources (project_id, resource_type, resource_id, revision) VALUES ",
    );
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push("(")
            .text(&scope.project_id)
            .push(", ")
            .text(&scope.resource_type)
            .push(", ")
            .text(id)
            // Revision 0 until the write stamps it: RETURNING tells a new resource by it, on
            // both databases.
            .push(", 0)");
    }
    // DO UPDATE rather than DO NOTHING: it locks existing rows, so concurrent writers to one
    // resource queue up, and it makes RETURNING answer existing rows too.
    sql.push(" ON CONFLICT (project_id, resource_type, resource_id) DO UPDATE SET resource_id = excluded.resource_id RETURNING pk, revision, resource_id");
    sql
}

/// Sets `tags` on the resources `pks` of the scope whose key is `scope_pk`: every pair of the
/// two lists, which name no row to look up (the resources are the write's own, locked).
pub fn upsert_tags<'a>(
    (scope, scope_pk): (&'a Scope, i64),
    pks: &'a [i64],
    tags: &'a [Tag],
) -> Sql<'a> {
    let mut sql =
        Sql::new("INSERT INTO tags (project_id, resource_pk, scope_pk, key, value) SELECT ");
    sql.text(&scope.project_id)
        .push(", p.column1, ")
        .int(scope_pk)
        .push(", v.column1, v.column2 FROM ")
        .id_rows(pks, "p")
        .push(", (VALUES ");
    for (i, tag) in tags.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push("(")
            .text(&tag.key)
            .push(", ")
            .text(&tag.value)
            .push(")");
    }
    // SQLite reads `ON` after a join as the join's constraint unless a `WHERE` comes first.
    sql.push(") AS v WHERE TRUE ON CONFLICT (resource_pk, key, project_id) DO UPDATE SET value = excluded.value");
    sql
}

/// The first resource among `pks` that carries more counted tags than the limit, if any. Each
/// resource's tags are counted by a subquery of its own, an equality on the first column of the
/// tags' primary key, and only offenders' ids are looked up, each by a subquery of its own: plans
/// that hold whatever the statistics say. Counting the whole list at once let PostgreSQL, on
/// tables a bulk load had grown before any `ANALYZE`, guess thousands of tags per resource and
/// scan the whole table: seconds per call, and at 8 M tags one call ran into its 30 s deadline.
/// Joined to the offenders, `resources` was read by the project's whole range of an index, per
/// offender, by a plan made without statistics.
pub fn over_limit<'a>(scope: &'a Scope, pks: &'a [i64], limit: TagLimit<'a>) -> Sql<'a> {
    let mut sql = Sql::new(
        "SELECT o.resource_id, o.n FROM (SELECT (SELECT r.resource_id FROM resources r WHERE ",
    );
    sql.project("r", &scope.project_id).push(
        " AND r.pk = c.pk) AS resource_id, c.n FROM (SELECT v.column1 AS pk, (SELECT COUNT(*) FROM tags t WHERE ",
    );
    sql.project("t", &scope.project_id)
        .push(" AND t.resource_pk = v.column1");
    for prefix in limit.exempt_prefixes {
        let len = prefix.chars().count();
        write!(sql.text, " AND lower(substr(t.key, 1, {len})) <> ").expect("writing to a String");
        sql.text(prefix);
    }
    sql.push(") AS n FROM ")
        .id_rows(pks, "v")
        .push(") c WHERE c.n > ")
        .int(i64::try_from(limit.max).unwrap_or(i64::MAX))
        .push(") o ORDER BY o.resource_id LIMIT 1");
    sql
}

/// Locks the named resources of the scope, `ids` (sorted), in their order as `upsert_resources`
/// does, and answers their internal ids in that order: a write that reads a resource's tags to
/// count what it changes holds the resource first, so no other write changes them in between.
/// `lock` is the backend's row-lock clause (SQLite has one writer and none); each address is
/// looked up as `lookup` says.
pub fn lock_resources<'a>(
    scope: &'a Scope,
    ids: &'a [String],
    (lock, lookup): (&str, Lookup),
) -> Sql<'a> {
    let mut sql = Sql::new("SELECT r.pk, r.revision, r.resource_id FROM ");
    match lookup {
        // Each row locked as its id is reached, in the list's order.
        Lookup::Lateral => {
            sql.rows(ids, |id| Arg::Text(id), "i")
                .push(
                    " JOIN LATERAL (SELECT x.pk, x.revision, x.resource_id FROM resources x WHERE ",
                )
                .scope("x", scope)
                .push(" AND x.resource_id = i.column1 OFFSET 0")
                .push(lock)
                .push(") r ON TRUE ORDER BY r.resource_id");
        }
        Lookup::Plain => {
            sql.push("resources r WHERE ")
                .scope("r", scope)
                .push(" AND r.resource_id IN ")
                .list(ids, |id| Arg::Text(id))
                .push(" ORDER BY r.resource_id")
                .push(lock);
        }
    }
    sql
}

/// The current values of `keys` on the project's resources among `pks`.
pub fn current_tags<'a>(project_id: &'a str, pks: &'a [i64], keys: &'a [&'a str]) -> Sql<'a> {
    let mut sql = Sql::new("SELECT resource_pk, key, value FROM tags WHERE project_id = ");
    sql.text(project_id)
        .push(" AND resource_pk IN ")
        .list(pks, |pk| Arg::Int(*pk))
        .push(" AND key IN ")
        .list(keys, |k| Arg::Text(k));
    sql
}

/// Every tag of one of the project's resources, hidden ones included, with its scope.
pub fn all_tags_of(project_id: &str, pk: i64) -> Sql<'_> {
    let mut sql =
        Sql::new("SELECT resource_pk, scope_pk, key, value FROM tags WHERE project_id = ");
    sql.text(project_id).push(" AND resource_pk = ").int(pk);
    sql
}

/// Removes tags from the project's resources among `pks`; answers each removed tag, with its
/// scope.
pub fn delete_tags<'a>(project_id: &'a str, pks: &'a [i64], removal: Removal<'a>) -> Sql<'a> {
    let mut sql = Sql::new("DELETE FROM tags WHERE project_id = ");
    sql.text(project_id)
        .push(" AND resource_pk IN ")
        .list(pks, |pk| Arg::Int(*pk));
    match removal {
        Removal::Keys(keys) => {
            sql.push(" AND key IN ").list(keys, |k| Arg::Text(k));
        }
        Removal::AllVisible(visibility) => {
            sql.visible("tags", visibility);
        }
    }
    sql.push(" RETURNING resource_pk, scope_pk, key, value");
    sql
}

pub fn put_resource<'a>(scope: &'a Scope, id: &'a str, name: Option<&'a str>) -> Sql<'a> {
    let mut sql =
        Sql::new("INSERT INTO resources (project_id, resource_type, resource_id, name) VALUES (");
    sql.text(&scope.project_id)
        .push(", ")
        .text(&scope.resource_type)
        .push(", ")
        .text(id)
        .push(", ");
    match name {
        Some(name) => sql.text(name),
        None => sql.push("NULL"),
    };
    // An unchanged name updates nothing, so RETURNING answers no row: the write changed nothing.
    sql.push(") ON CONFLICT (project_id, resource_type, resource_id) DO UPDATE SET name = excluded.name WHERE resources.name IS DISTINCT FROM excluded.name RETURNING pk");
    sql
}

/// Deletes every tag of the project's resource `pk`.
pub fn delete_tags_of(project_id: &str, pk: i64) -> Sql<'_> {
    let mut sql = Sql::new("DELETE FROM tags WHERE project_id = ");
    sql.text(project_id).push(" AND resource_pk = ").int(pk);
    sql
}

/// Deletes the resource unless it carries a tag the caller cannot see (a system tag, for a caller
/// that is not the system): those belong to the system, and deleting the resource would take them.
pub fn delete_resource<'a>(scope: &'a Scope, pk: i64, visibility: &'a Visibility) -> Sql<'a> {
    let mut sql = Sql::new("DELETE FROM resources WHERE ");
    sql.project("resources", &scope.project_id)
        .push(" AND pk = ")
        .int(pk);
    if !visibility.hidden_prefixes.is_empty() {
        sql.push(" AND NOT EXISTS (SELECT 1 FROM tags t WHERE ")
            .project("t", &scope.project_id)
            .push(" AND t.resource_pk = resources.pk AND NOT (TRUE")
            .visible("t", visibility)
            .push("))");
    }
    sql
}

/// The resource `id` of the scope, without its tags; `lock` locks its row.
pub fn resource_named<'a>(scope: &'a Scope, id: &'a str, lock: &str) -> Sql<'a> {
    let mut sql =
        Sql::new("SELECT r.pk, r.resource_id, r.name, r.revision FROM resources r WHERE ");
    sql.scope("r", scope)
        .push(" AND r.resource_id = ")
        .text(id)
        .push(lock);
    sql
}

/// One row per visible tag of the resource, ordered by key; a single row of NULLs when it has
/// none, and no row when it does not exist.
pub fn resource_tags<'a>(
    scope: &'a Scope,
    by: &str,
    id: &'a str,
    visibility: &'a Visibility,
) -> Sql<'a> {
    let mut sql =
        Sql::new("SELECT t.key, t.value, r.revision FROM resources r LEFT JOIN tags t ON ");
    sql.project("t", &scope.project_id)
        .push(" AND t.resource_pk = r.pk")
        .visible("t", visibility)
        .push(" WHERE ")
        .scope("r", scope);
    write!(sql.text, " AND r.{by} = ").expect("writing to a String");
    sql.text(id).while_live(visibility).push(" ORDER BY t.key");
    sql
}

/// Every tag of the resources among `pks`, ordered by resource and key: the caller drops those
/// it may not see (`Visibility::shows`), which costs less than the database comparing every
/// row's key with every hidden prefix (a third of the statement's time on SQLite for a page of
/// 1 000 tags).
pub fn tags_of<'a>(project_id: &'a str, pks: &'a [i64]) -> Sql<'a> {
    let mut sql = Sql::new("SELECT t.resource_pk, t.key, t.value FROM tags t WHERE ");
    sql.project("t", project_id)
        .push(" AND t.resource_pk IN ")
        .list(pks, |pk| Arg::Int(*pk))
        .push(" ORDER BY t.resource_pk, t.key");
    sql
}

/// The tags of [`tags_of`], a row per resource ordered by internal id: the resource's tags
/// packed by the aggregate `pack`, in no order.
pub fn packed_tags_of<'a>(project_id: &'a str, pks: &'a [i64], pack: &str) -> Sql<'a> {
    let mut sql = Sql::new(&format!("SELECT t.resource_pk, {pack} FROM tags t WHERE "));
    sql.project("t", project_id)
        .push(" AND t.resource_pk IN ")
        .list(pks, |pk| Arg::Int(*pk))
        .push(" GROUP BY t.resource_pk ORDER BY t.resource_pk");
    sql
}
