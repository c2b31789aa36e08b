//! Filtered reads, in the shape `plan.rs` chose: the candidates come from one index range in
//! resource order (or, when few, are read whole and sorted), and every other filter is a probe of
//! the candidate's own tags by the tags' primary key. Probes are scalar subqueries, which neither
//! database turns into a join, so no plan can read a dense filter's whole range to check a rare
//! one; the walk stops when the page is full.

use std::fmt::Write;

use super::{Arg, Lookup, Sql};
use crate::{
    domain::{KeyFilter, ResourceFilter, Scope, TagRowQuery, Visibility},
    store::plan::{Covers, Driver, Plan},
};

/// On PostgreSQL, the planner settings of a count that merges ranges (`plan::for_count`), set for
/// its own transaction (or savepoint) only: the service's connections rule out merge joins, which
/// with stale statistics would walk whole indexes for a page, and allow the nested loops a merge
/// would lose to on a generic plan's estimates. A count reads its ranges whole anyway.
pub const MERGE_SETTINGS: &str =
    "SELECT set_config('enable_mergejoin', 'on', TRUE), set_config('enable_nestloop', 'off', TRUE)";

/// What the candidates must satisfy beyond the driver.
#[derive(Debug, Clone, Copy)]
pub struct Matching<'a> {
    pub scope: &'a Scope,
    pub filter: &'a ResourceFilter,
    pub plan: Plan<'a>,
    pub visibility: &'a Visibility,
}

impl<'a> Sql<'a> {
    /// `(SELECT pk FROM scopes …)`: the scope's internal key, looked up once per statement.
    pub(super) fn scope_key(&mut self, scope: &'a Scope) -> &mut Self {
        self.push("(SELECT k.pk FROM scopes k WHERE ")
            .scope("k", scope)
            .push(")")
    }

    /// Whether resource `c` of the project carries a tag matching `f`: never NULL, so that NOT
    /// works.
    fn probe(&mut self, project_id: &'a str, c: &str, f: &'a KeyFilter) -> &mut Self {
        if f.values.is_empty() {
            self.push("COALESCE((SELECT TRUE");
        } else {
            self.push("COALESCE((SELECT p.value IN ")
                .list(&f.values, |v| Arg::Text(v));
        }
        self.push(" FROM tags p WHERE ").project("p", project_id);
        write!(self.text, " AND p.resource_pk = {c} AND p.key = ").expect("writing to a String");
        self.text(&f.key).push("), FALSE)")
    }

    /// `(p1 AND p2 …)` or `(p1 OR p2 …)`.
    fn probes(
        &mut self,
        project_id: &'a str,
        c: &str,
        filters: &'a [KeyFilter],
        op: &str,
    ) -> &mut Self {
        self.push("(");
        for (i, f) in filters.iter().enumerate() {
            if i > 0 {
                self.push(op);
            }
            self.probe(project_id, c, f);
        }
        self.push(")")
    }

    /// ` AND` resource `c` satisfies every part of the filter the driver does not.
    fn rest_of(&mut self, c: &str, m: &Matching<'a>) -> &mut Self {
        let (f, project_id) = (m.filter, m.scope.project_id.as_str());
        for (i, all) in f.all.iter().enumerate() {
            if m.plan.covers != Covers::All(i) && !m.plan.joined.contains(i) {
                self.push(" AND ").probe(project_id, c, all);
            }
        }
        if !f.any.is_empty() && m.plan.covers != Covers::AnyGroup {
            self.push(" AND ").probes(project_id, c, &f.any, " OR ");
        }
        if !f.not_all.is_empty() {
            self.push(" AND NOT ")
                .probes(project_id, c, &f.not_all, " AND ");
        }
        if !f.not_any.is_empty() {
            self.push(" AND NOT ")
                .probes(project_id, c, &f.not_any, " OR ");
        }
        if f.untagged {
            self.push(" AND NOT ")
                .visible_tag(project_id, c, m.visibility);
        }
        self
    }

    /// ` AND` the tag row (resource `pk`, tag `t`) comes after `after`, a resource and a key.
    pub(super) fn after_tag_row(&mut self, pk: &str, after: Option<(i64, &'a str)>) -> &mut Self {
        if let Some((after_pk, key)) = after {
            write!(self.text, " AND ({pk} > ").expect("writing to a String");
            self.int(after_pk).push(" OR t.key > ").text(key).push(")");
        }
        self
    }

    /// Whether resource `c` of the project has a tag visible to the caller.
    fn visible_tag(
        &mut self,
        project_id: &'a str,
        c: &str,
        visibility: &'a Visibility,
    ) -> &mut Self {
        self.push("COALESCE((SELECT TRUE FROM tags v WHERE ")
            .project("v", project_id);
        write!(self.text, " AND v.resource_pk = {c}").expect("writing to a String");
        self.visible("v", visibility).push(" LIMIT 1), FALSE)")
    }

    /// One index range of tags in the scope, from resource `from` on: `d.resource_pk` in order;
    /// joined to the ranges of the plan's joined filters, the same resources' tags in the same
    /// order, so that PostgreSQL can merge them (`filtered.rs` lets it). `CROSS JOIN` keeps the
    /// driver the outer loop on SQLite, which looks each candidate up in the others as it would
    /// probe it: with statistics it would otherwise start from the largest range.
    fn range(&mut self, m: &Matching<'a>, key: &'a str, from: Option<i64>) -> &mut Self {
        self.push(" FROM tags d");
        for i in m.plan.joined.iter() {
            write!(self.text, " CROSS JOIN tags j{i}").expect("writing to a String");
        }
        let project_id = m.scope.project_id.as_str();
        self.push(" WHERE ")
            .project("d", project_id)
            .push(" AND d.scope_pk = ")
            .scope_key(m.scope)
            .push(" AND d.key = ")
            .text(key);
        for i in m.plan.joined.iter() {
            let f = &m.filter.all[i];
            self.push(" AND ").project(&format!("j{i}"), project_id);
            write!(
                self.text,
                " AND j{i}.resource_pk = d.resource_pk AND j{i}.scope_pk = d.scope_pk AND j{i}.key = "
            )
            .expect("writing to a String");
            self.text(&f.key)
                .push(&format!(" AND j{i}.value = "))
                .text(&f.values[0]);
        }
        if let Some(pk) = from {
            self.push(" AND d.resource_pk >= ").int(pk);
        }
        self
    }

    /// The resources carrying any of `filters`, from `from` on, read whole: `g.resource_pk`.
    fn gather(
        &mut self,
        m: &Matching<'a>,
        filters: &'a [KeyFilter],
        from: Option<i64>,
    ) -> &'static str {
        self.push("SELECT g.resource_pk AS pk FROM (");
        for (i, f) in filters.iter().enumerate() {
            if i > 0 {
                self.push(" UNION ");
            }
            self.push("SELECT d.resource_pk").range(m, &f.key, from);
            if !f.values.is_empty() {
                self.push(" AND d.value IN ")
                    .list(&f.values, |v| Arg::Text(v));
            }
        }
        self.push(") g WHERE TRUE");
        "g.resource_pk"
    }

    /// `SELECT … AS pk`: the internal ids of the resources that match, from `from` on, in order
    /// when `ordered`.
    pub fn candidates(&mut self, m: &Matching<'a>, from: Option<i64>, ordered: bool) -> &mut Self {
        let c = match m.plan.driver {
            Driver::Empty => {
                self.push("SELECT 0 AS pk WHERE FALSE");
                return self;
            }
            Driver::Pair(key, value) => {
                self.push("SELECT d.resource_pk AS pk")
                    .range(m, key, from)
                    .push(" AND d.value = ")
                    .text(value);
                "d.resource_pk"
            }
            // No index holds a key's resources in order: read whole (the postings serve a large
            // key's pages in order; see `plan::Driver::Key`).
            Driver::Key(f) => self.gather(m, std::slice::from_ref(f), from),
            Driver::Gather(filters) => self.gather(m, filters, from),
            Driver::Name(_) | Driver::Scope => {
                self.push("SELECT r.pk AS pk FROM resources r WHERE ")
                    .scope("r", m.scope);
                match m.plan.driver {
                    Driver::Name(name) => self.push(" AND r.name = ").text(name),
                    // The walk's index is partial on it (migration 0012).
                    _ => self.push(" AND r.pk > 0"),
                };
                if let Some(pk) = from {
                    self.push(" AND r.pk >= ").int(pk);
                }
                "r.pk"
            }
        };
        self.rest_of(c, m);
        if ordered {
            write!(self.text, " ORDER BY {c}").expect("writing to a String");
        }
        self
    }
}

/// A page of the matching resources after `after`: the candidates in order, each joined to its
/// resource, until the page is full.
pub fn resources<'a>(m: &Matching<'a>, after: Option<i64>, limit: u32, lookup: Lookup) -> Sql<'a> {
    let mut sql = Sql::new("SELECT r.pk, r.resource_id, r.name, r.revision FROM (");
    sql.candidates(m, after.map(|pk| pk.saturating_add(1)), true)
        .push(lookup.fence())
        .push(") m")
        .join_resource("m.pk", m.scope, lookup)
        .push(" WHERE TRUE")
        .while_live(m.visibility)
        .push(" ORDER BY m.pk LIMIT ")
        .int(limit.into());
    sql
}

/// The page of matching resources at `offset`: the candidates are walked up to it.
pub fn resource_page<'a>(m: &Matching<'a>, offset: u64, limit: u32, lookup: Lookup) -> Sql<'a> {
    let mut sql = Sql::new("SELECT r.pk, r.resource_id, r.name, r.revision FROM (");
    sql.candidates(m, None, true)
        .push(lookup.fence())
        .push(") m")
        .join_resource("m.pk", m.scope, lookup)
        .push(" WHERE TRUE")
        .while_live(m.visibility)
        .push(" ORDER BY m.pk LIMIT ")
        .int(limit.into())
        .push(" OFFSET ")
        .int(i64::try_from(offset).unwrap_or(i64::MAX));
    sql
}

pub fn count_resources<'a>(m: &Matching<'a>) -> Sql<'a> {
    let mut sql = Sql::new("SELECT COUNT(*) FROM (");
    sql.candidates(m, None, false)
        .push(") m WHERE TRUE")
        .while_live(m.visibility);
    sql
}

/// A page of the visible tags of the matching resources, after `after` (a resource and a key):
/// the candidates in order, each joined to its resource and its tags, until the page is full. The
/// candidates are a subquery of their own (fenced, see [`Lookup`]) where the planner would
/// otherwise merge them into the join and might then walk the tags of the whole table in order,
/// probing each for the filter.
pub fn tag_rows<'a>(
    m: &Matching<'a>,
    after: Option<(i64, &'a str)>,
    limit: u32,
    lookup: Lookup,
) -> Sql<'a> {
    let mut sql = Sql::new("SELECT m.pk, r.resource_id, t.key, t.value FROM (");
    sql.candidates(m, after.map(|(pk, _)| pk), true)
        .push(lookup.fence())
        .push(") m")
        .join_resource("m.pk", m.scope, lookup)
        .push(" JOIN tags t ON t.resource_pk = m.pk WHERE ")
        .project("t", &m.scope.project_id)
        .visible("t", m.visibility)
        .while_live(m.visibility);
    sql.after_tag_row("m.pk", after)
        .push(" ORDER BY m.pk, t.key LIMIT ")
        .int(limit.into());
    sql
}

/// Tag rows of named resources (at most a page of them), each looked up by its address and
/// probed for the filters: no plan may instead walk the project in key order.
pub fn named_tag_rows<'a>(
    scope: &'a Scope,
    query: &'a TagRowQuery,
    visibility: &'a Visibility,
    after: Option<(i64, &'a str)>,
    limit: u32,
) -> Sql<'a> {
    let mut sql = Sql::new("WITH r AS MATERIALIZED (");
    // One lookup of the whole address per id: given a list, a planner without statistics may
    // prefer to read the whole scope and filter it.
    for (i, id) in query.resource_ids.iter().enumerate() {
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        sql.push("SELECT n.pk, n.resource_id FROM resources n WHERE ")
            .scope("n", scope)
            .push(" AND n.resource_id = ")
            .text(id);
    }
    sql.push(") SELECT r.pk, r.resource_id, t.key, t.value FROM r JOIN tags t ON t.resource_pk = r.pk WHERE ")
        .project("t", &scope.project_id)
        .visible("t", visibility)
        .while_live(visibility);
    for f in &query.tags {
        sql.push(" AND ").probe(&scope.project_id, "r.pk", f);
    }
    if let Some((pk, _)) = after {
        sql.push(" AND r.pk >= ").int(pk);
    }
    sql.after_tag_row("r.pk", after);
    sql.push(" ORDER BY r.pk + 0, t.key LIMIT ")
        .int(limit.into());
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
            at_least: None,
        };
        let query = TagRowQuery {
            resource_ids: vec!["a".into(), "b".into()],
            tags: vec![KeyFilter {
                key: "env".into(),
                values: vec!["dev".into()],
            }],
        };
        let sql = named_tag_rows(&scope, &query, &vis, Some((7, "k")), 10);
        let placeholders = (1..=20)
            .filter(|n| sql.text.contains(&format!("${n}")))
            .count();
        assert_eq!(placeholders, sql.args.len());
        assert_eq!(sql.args.len(), 16);
    }
}
