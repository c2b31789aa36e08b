//! The statements of tags and resources, built for their arguments.

use std::fmt::Write;

use super::{Arg, Sql};
use crate::{
    domain::{ResourceFilter, Scope, Tag, TagRowQuery, Visibility},
    store::{Removal, TagLimit},
};

pub const PING: &str = "SELECT 1";

/// Registers the resources (taking their row locks, in id order) and answers their internal ids.
pub fn upsert_resources<'a>(scope: &'a Scope, ids: &'a [String]) -> Sql<'a> {
    let mut sql =
        Sql::new("INSERT INTO resources (project_id, resource_type, resource_id) VALUES ");
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
            .push(")");
    }
    // DO UPDATE rather than DO NOTHING: it locks existing rows, so concurrent writers to one
    // resource queue up, and it makes RETURNING answer existing rows too.
    sql.push(" ON CONFLICT (project_id, resource_type, resource_id) DO UPDATE SET resource_id = excluded.resource_id RETURNING pk");
    sql
}

pub fn upsert_tags<'a>(pks: &'a [i64], tags: &'a [Tag]) -> Sql<'a> {
    let mut sql = Sql::new(
        "INSERT INTO tags (resource_pk, key, value) SELECT r.pk, v.column1, v.column2 FROM resources r, (VALUES ",
    );
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
    sql.push(") AS v WHERE r.pk IN ")
        .list(pks, |pk| Arg::Int(*pk))
        .push(" ON CONFLICT (resource_pk, key) DO UPDATE SET value = excluded.value");
    sql
}

/// The first resource among `pks` that carries more counted tags than the limit, if any. Each
/// resource's tags are counted by a subquery of its own, an equality on the first column of the
/// tags' primary key, and only offenders are joined to `resources`: plans that hold whatever the
/// statistics say. Counting the whole list at once let PostgreSQL, on tables a bulk load had grown
/// before any `ANALYZE`, guess thousands of tags per resource and scan the whole table: seconds per
/// call, and at 8 M tags one call ran into its 30 s deadline.
pub fn over_limit<'a>(pks: &'a [i64], limit: TagLimit<'a>) -> Sql<'a> {
    let mut sql = Sql::new(
        "SELECT r.resource_id, c.n FROM (SELECT v.column1 AS pk, (SELECT COUNT(*) FROM tags t WHERE t.resource_pk = v.column1",
    );
    for prefix in limit.exempt_prefixes {
        let len = prefix.chars().count();
        write!(sql.text, " AND lower(substr(t.key, 1, {len})) <> ").expect("writing to a String");
        sql.text(prefix);
    }
    sql.push(") AS n FROM (VALUES ");
    for (i, pk) in pks.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push("(").int(*pk).push(")");
    }
    sql.push(") AS v) c JOIN resources r ON r.pk = c.pk WHERE c.n > ")
        .int(i64::try_from(limit.max).unwrap_or(i64::MAX))
        .push(" ORDER BY r.resource_id LIMIT 1");
    sql
}

pub fn delete_tags<'a>(scope: &'a Scope, ids: &'a [String], removal: Removal<'a>) -> Sql<'a> {
    let mut sql =
        Sql::new("DELETE FROM tags WHERE resource_pk IN (SELECT r.pk FROM resources r WHERE ");
    sql.scope("r", scope)
        .push(" AND r.resource_id IN ")
        .list(ids, |id| Arg::Text(id))
        .push(")");
    match removal {
        Removal::Keys(keys) => {
            sql.push(" AND key IN ").list(keys, |k| Arg::Text(k));
        }
        Removal::AllVisible(visibility) => {
            sql.visible("tags", visibility);
        }
    }
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
    sql.push(") ON CONFLICT (project_id, resource_type, resource_id) DO UPDATE SET name = excluded.name RETURNING pk");
    sql
}

/// Deletes the resource unless it carries a tag the caller cannot see (a system tag, for a caller
/// that is not the system): those belong to the system, and deleting the resource would take them.
pub fn delete_resource<'a>(scope: &'a Scope, id: &'a str, visibility: &'a Visibility) -> Sql<'a> {
    let mut sql = Sql::new("DELETE FROM resources WHERE ");
    sql.scope("resources", scope)
        .push(" AND resource_id = ")
        .text(id);
    if !visibility.hidden_prefixes.is_empty() {
        sql.push(" AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.resource_pk = resources.pk AND NOT (TRUE")
            .visible("t", visibility)
            .push("))");
    }
    sql
}

pub fn resource_exists<'a>(scope: &'a Scope, id: &'a str) -> Sql<'a> {
    let mut sql = Sql::new("SELECT 1 FROM resources r WHERE ");
    sql.scope("r", scope).push(" AND r.resource_id = ").text(id);
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
        Sql::new("SELECT t.key, t.value FROM resources r LEFT JOIN tags t ON t.resource_pk = r.pk");
    sql.visible("t", visibility)
        .push(" WHERE ")
        .scope("r", scope);
    write!(sql.text, " AND r.{by} = ").expect("writing to a String");
    sql.text(id).while_live(visibility).push(" ORDER BY t.key");
    sql
}

/// Visible tags of the resources among `pks`, ordered by resource and key.
pub fn tags_of<'a>(pks: &'a [i64], visibility: &'a Visibility) -> Sql<'a> {
    let mut sql =
        Sql::new("SELECT t.resource_pk, t.key, t.value FROM tags t WHERE t.resource_pk IN ");
    sql.list(pks, |pk| Arg::Int(*pk))
        .visible("t", visibility)
        .push(" ORDER BY t.resource_pk, t.key");
    sql
}

/// Named resources are looked up by address first, in a materialized set: with at most 50 of
/// them, no plan (PostgreSQL's generic plan in particular, which cannot see how few they are) may
/// instead walk every resource of the project in key order to spare a sort. Keyset pages bound the
/// resource id from below (`>=`, then the exact position), which an index can seek to.
pub fn tag_rows<'a>(
    scope: &'a Scope,
    query: &'a TagRowQuery,
    visibility: &'a Visibility,
    after: Option<(i64, &'a str)>,
    limit: u32,
) -> Sql<'a> {
    let mut sql = Sql::default();
    if query.resource_ids.is_empty() {
        sql.push("SELECT r.pk, r.resource_id, t.key, t.value FROM resources r JOIN tags t ON t.resource_pk = r.pk WHERE ")
            .scope("r", scope);
    } else {
        sql.push("WITH r AS MATERIALIZED (SELECT pk, resource_id FROM resources WHERE ")
            .scope("resources", scope)
            .push(" AND resource_id IN ")
            .list(&query.resource_ids, |id| Arg::Text(id))
            .push(") SELECT r.pk, r.resource_id, t.key, t.value FROM r JOIN tags t ON t.resource_pk = r.pk WHERE TRUE");
    }
    sql.visible("t", visibility).while_live(visibility);
    let from = after.map(|(pk, _)| pk);
    for f in &query.tags {
        sql.push(" AND ").matches(f, from);
    }
    if let Some((pk, key)) = after {
        sql.push(" AND r.pk >= ")
            .int(pk)
            .push(" AND (r.pk > ")
            .int(pk)
            .push(" OR t.key > ")
            .text(key)
            .push(")");
    }
    sql.push(" ORDER BY r.pk, t.key LIMIT ").int(limit.into());
    sql
}

pub fn resources<'a>(
    scope: &'a Scope,
    filter: &'a ResourceFilter,
    visibility: &'a Visibility,
    after: Option<i64>,
    limit: u32,
) -> Sql<'a> {
    let from = after.map(|pk| pk.saturating_add(1));
    let mut sql = matching(
        "SELECT r.pk, r.resource_id, r.name",
        scope,
        filter,
        visibility,
        from,
    );
    if let Some(pk) = after {
        sql.push(" AND r.pk > ").int(pk);
    }
    sql.push(" ORDER BY r.pk LIMIT ").int(limit.into());
    sql
}

pub fn count_resources<'a>(
    scope: &'a Scope,
    filter: &'a ResourceFilter,
    visibility: &'a Visibility,
) -> Sql<'a> {
    matching("SELECT COUNT(*)", scope, filter, visibility, None)
}

/// The page of `resources` at `offset` rather than after a keyset cursor: the cursor's index
/// seek does not apply, so a deep page costs what skipping to it does.
pub fn resource_page<'a>(
    scope: &'a Scope,
    filter: &'a ResourceFilter,
    visibility: &'a Visibility,
    offset: u64,
    limit: u32,
) -> Sql<'a> {
    let mut sql = matching(
        "SELECT r.pk, r.resource_id, r.name",
        scope,
        filter,
        visibility,
        None,
    );
    sql.push(" ORDER BY r.pk LIMIT ")
        .int(limit.into())
        .push(" OFFSET ")
        .int(i64::try_from(offset).unwrap_or(i64::MAX));
    sql
}

/// `select` over the resources of `scope` that match `filter`, while the caller's token is live.
fn matching<'a>(
    select: &str,
    scope: &'a Scope,
    filter: &'a ResourceFilter,
    visibility: &'a Visibility,
    from: Option<i64>,
) -> Sql<'a> {
    let mut sql = Sql::new(select);
    sql.push(" FROM resources r WHERE ")
        .scope("r", scope)
        .resource_filter(filter, visibility, from)
        .while_live(visibility);
    sql
}

fn project_tags_from<'a>(
    sql: &mut Sql<'a>,
    project_id: &'a str,
    resource_type: Option<&'a str>,
    visibility: &'a Visibility,
) {
    sql.push(" FROM tags t JOIN resources r ON r.pk = t.resource_pk WHERE r.project_id = ")
        .text(project_id);
    if let Some(rt) = resource_type {
        sql.push(" AND r.resource_type = ").text(rt);
    }
    sql.visible("t", visibility);
}

/// The distinct (key, value) pairs of the page of keys after `after`, ordered by key and value.
pub fn project_tags<'a>(
    project_id: &'a str,
    resource_type: Option<&'a str>,
    visibility: &'a Visibility,
    after: Option<&'a str>,
    limit: u32,
) -> Sql<'a> {
    let mut sql = Sql::new("SELECT DISTINCT t.key, t.value");
    project_tags_from(&mut sql, project_id, resource_type, visibility);
    sql.while_live(visibility)
        .push(" AND t.key IN (SELECT DISTINCT t.key");
    project_tags_from(&mut sql, project_id, resource_type, visibility);
    if let Some(key) = after {
        sql.push(" AND t.key > ").text(key);
    }
    sql.push(" ORDER BY t.key LIMIT ")
        .int(limit.into())
        .push(") ORDER BY t.key, t.value");
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::KeyFilter;

    #[test]
    fn placeholders_follow_arguments() {
        let scope = Scope {
            project_id: "p".into(),
            resource_type: "t".into(),
        };
        let vis = Visibility {
            hidden_prefixes: vec!["acs:".into()],
            while_live: Some("token".into()),
        };
        let query = TagRowQuery {
            resource_ids: vec!["a".into(), "b".into()],
            tags: vec![KeyFilter {
                key: "env".into(),
                values: vec!["dev".into()],
            }],
        };
        let sql = tag_rows(&scope, &query, &vis, Some((7, "k")), 10);
        let placeholders = (1..=20)
            .filter(|n| sql.text.contains(&format!("${n}")))
            .count();
        assert_eq!(placeholders, sql.args.len());
        assert_eq!(sql.args.len(), 13);
    }
}
