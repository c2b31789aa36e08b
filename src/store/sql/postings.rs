//! What the filter postings read (`store/postings`): the project's revision in the read's
//! snapshot, the log after a set's revision, a term's set whole, and the resources of a page by
//! internal id.

use std::fmt::Write;

use super::{Arg, Lookup, Sql};
use crate::{
    domain::{Scope, Visibility},
    store::postings::Term,
};

/// The project's revision and compaction mark, when the caller's token is live; no row for a
/// project that never changed (or a revoked token: `confirm_live` tells which).
pub fn posting_horizon<'a>(scope: &'a Scope, visibility: &'a Visibility) -> Sql<'a> {
    let mut sql =
        Sql::new("SELECT p.revision, p.compacted FROM project_revisions p WHERE p.project_id = ");
    sql.text(&scope.project_id).while_live(visibility);
    sql
}

/// The rows of the scope's log after revision `after` up to `upto`, in log order: at most
/// `limit` of them. The caller picks the changes it needs once they are unpacked.
pub fn posting_replay(scope: &Scope, (after, upto): (i64, i64), limit: u32) -> Sql<'_> {
    let mut sql = Sql::new(
        "SELECT s.revision, c.seq, c.resource_pk, c.changes FROM change_sets s JOIN tag_changes c ON c.change_set = s.id WHERE ",
    );
    sql.project("s", &scope.project_id)
        .push(" AND ")
        .project("c", &scope.project_id)
        .push(" AND s.revision > ")
        .int(after)
        .push(" AND s.revision <= ")
        .int(upto)
        .push(" AND s.resource_type = ")
        .text(&scope.resource_type);
    write!(sql.text, " ORDER BY s.revision, c.seq LIMIT {limit}").expect("writing to a String");
    sql
}

/// The internal ids of the scope's resources that carry `term`, in no order: with an order to
/// give, a planner without statistics may walk a whole table by its primary key instead of the
/// scope's index range (the caller sorts what it reads, which arrives sorted anyway).
pub fn posting_set<'a>(scope: &'a Scope, term: &'a Term) -> Sql<'a> {
    match term {
        Term::Resources => {
            let mut sql = Sql::new("SELECT r.pk FROM resources r WHERE ");
            // The walk's index is partial on `pk > 0` (migration 0012).
            sql.scope("r", scope).push(" AND r.pk > 0");
            sql
        }
        Term::Key(key) | Term::Pair(key, _) => {
            let mut sql = Sql::new("SELECT t.resource_pk FROM tags t WHERE ");
            sql.project("t", &scope.project_id)
                .push(" AND t.scope_pk = ")
                .scope_key(scope)
                .push(" AND t.key = ")
                .text(key);
            if let Term::Pair(_, value) = term {
                sql.push(" AND t.value = ").text(value);
            }
            sql
        }
    }
}

/// The scope's resources of internal ids `pks`, in order, each looked up as `lookup` says.
pub fn resources_by_pk<'a>(scope: &'a Scope, pks: &'a [i64], lookup: Lookup) -> Sql<'a> {
    let mut sql = Sql::new("SELECT r.pk, r.resource_id, r.name, r.revision FROM ");
    match lookup {
        Lookup::Lateral => {
            sql.id_rows(pks, "i")
                .join_resource("i.column1", scope, lookup);
        }
        // `pk > 0` lets SQLite probe the scope's walk index per id (migration 0012).
        Lookup::Plain => {
            sql.push("resources r WHERE ")
                .scope("r", scope)
                .push(" AND r.pk > 0 AND r.pk IN ")
                .list(pks, |pk| Arg::Int(*pk));
        }
    }
    sql.push(" ORDER BY r.pk");
    sql
}

/// The visible tags of the scope's resources of internal ids `pks` (in order: the postings' page
/// of a filter), after `after` (a resource and a key), in (resource, key) order, read so that the
/// page stops at its end rather than read every listed resource's tags and sort them.
pub fn tag_rows_by_pk<'a>(
    scope: &'a Scope,
    pks: &'a [i64],
    visibility: &'a Visibility,
    after: Option<(i64, &'a str)>,
    limit: u32,
    lookup: Lookup,
) -> Sql<'a> {
    let mut sql;
    let order = match lookup {
        // The ids in order, each joined to its resource and then to its tags in key order, each
        // a lookup of its own; the page sorts each resource's rows as it reaches them (the ids'
        // order holds) and stops at its end.
        Lookup::Lateral => {
            sql = Sql::new(
                "SELECT i.pk, r.resource_id, g.key, g.value FROM (SELECT v.column1 AS pk FROM ",
            );
            sql.id_rows(pks, "v")
                .push(" ORDER BY v.column1 OFFSET 0) i")
                .join_resource("i.pk", scope, lookup)
                .push(" JOIN LATERAL (SELECT t.key, t.value FROM tags t WHERE ")
                .project("t", &scope.project_id)
                .push(" AND t.resource_pk = i.pk")
                .visible("t", visibility)
                .after_tag_row("t.resource_pk", after)
                .push(" ORDER BY t.key OFFSET 0) g ON TRUE WHERE TRUE");
            "i.pk, g.key"
        }
        // The listed ids' tags from the tags' primary key, in its order, so that the rows stream
        // in (resource, key) order. Each row's resource is a scalar subquery, which no plan turns
        // into a walk of the scope's resources.
        Lookup::Plain => {
            sql = Sql::new(
                "SELECT p.pk, p.resource_id, p.key, p.value FROM (SELECT t.resource_pk AS pk, (SELECT r.resource_id FROM resources r WHERE r.pk = t.resource_pk AND ",
            );
            sql.project("r", &scope.project_id)
                .push(") AS resource_id, t.key, t.value FROM tags t WHERE ")
                .project("t", &scope.project_id)
                .push(" AND t.resource_pk IN ")
                .list(pks, |pk| Arg::Int(*pk))
                .visible("t", visibility)
                .after_tag_row("t.resource_pk", after)
                .push(" ORDER BY t.resource_pk, t.key) p WHERE p.resource_id IS NOT NULL");
            "p.pk, p.key"
        }
    };
    sql.while_live(visibility);
    write!(sql.text, " ORDER BY {order} LIMIT ").expect("writing to a String");
    sql.int(limit.into());
    sql
}
