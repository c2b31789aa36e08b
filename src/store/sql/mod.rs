//! The SQL both backends share. Statements use `$n` placeholders, which PostgreSQL and sqlx's
//! SQLite driver both read, and only syntax both dialects accept (upserts, `RETURNING`, row
//! values), so every query shape is written once.

mod changes;
mod counts;
mod credentials;
mod filters;
mod postings;
mod revisions;
mod tagging;

use std::fmt::Write;

use crate::domain::{Scope, Visibility};

pub use changes::*;
pub use counts::*;
pub use credentials::*;
pub use filters::*;
pub use postings::*;
pub use revisions::*;
pub use tagging::*;

/// A value bound to a placeholder.
#[derive(Debug, Clone)]
pub enum Arg<'a> {
    Text(&'a str),
    Int(i64),
}

/// How a backend's statements keep the planner to the lookups they were written as: each row
/// found by internal id is a probe of an index, and a subquery whose order matters runs as
/// written, whatever the statistics say. Every index of `resources` but its primary key leads
/// with the project, and a database without statistics takes a project for a small part of the
/// table: a plan for "these ids, in this project" can read the project's whole range of such an
/// index instead, and a generic plan made while the project was small keeps doing so once it has
/// grown (`tests/api/write_plans.rs`, `tests/api/early_plans.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// PostgreSQL: each row by id in a `LATERAL` subquery of its own, an equality on every
    /// column of an index, which no plan turns into a range; subqueries fenced by `OFFSET 0`,
    /// which PostgreSQL does not merge into the query around them.
    Lateral,
    /// SQLite: plain joins and `IN` lists beside the scope, which it answers with a probe of the
    /// primary key or the scope's index per row, with or without statistics, keeping a join in
    /// the order it is written; no fence (a `LIMIT` would make it read every candidate first).
    /// It has no `LATERAL`.
    Plain,
}

impl Lookup {
    /// Appended to a subquery that must run as written rather than be merged into the query
    /// around it.
    fn fence(self) -> &'static str {
        match self {
            Self::Lateral => " OFFSET 0",
            Self::Plain => "",
        }
    }
}

/// A statement and its arguments, built together so placeholders and arguments never drift.
#[derive(Debug, Default)]
pub struct Sql<'a> {
    pub text: String,
    pub args: Vec<Arg<'a>>,
}

impl<'a> Sql<'a> {
    fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            args: Vec::new(),
        }
    }

    /// Ends the statement so far, when there is one, so that another can follow in one script.
    pub fn end_statement(&mut self) {
        if !self.text.is_empty() {
            self.text.push_str("; ");
        }
    }

    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    fn arg(&mut self, a: Arg<'a>) -> &mut Self {
        self.args.push(a);
        write!(self.text, "${}", self.args.len()).expect("writing to a String");
        self
    }

    fn text(&mut self, s: &'a str) -> &mut Self {
        self.arg(Arg::Text(s))
    }

    fn int(&mut self, i: i64) -> &mut Self {
        self.arg(Arg::Int(i))
    }

    /// `(a, b, …)` with one placeholder per item.
    fn list<T>(&mut self, items: &'a [T], f: impl Fn(&'a T) -> Arg<'a>) -> &mut Self {
        self.push("(");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.arg(f(item));
        }
        self.push(")")
    }

    /// `(VALUES ($a), ($b), …) AS alias`: a list as rows, each `alias.column1`. Integers are
    /// typed by the statement itself, so that a client that prepares it without types (`psql`,
    /// `pgbench`) gets integers rather than text.
    fn rows<T>(&mut self, items: &'a [T], f: impl Fn(&'a T) -> Arg<'a>, alias: &str) -> &mut Self {
        self.push("(VALUES ");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            match f(item) {
                Arg::Int(id) => self.push("(CAST(").int(id).push(" AS BIGINT))"),
                text => self.push("(").arg(text).push(")"),
            };
        }
        write!(self.text, ") AS {alias}").expect("writing to a String");
        self
    }

    /// [`Sql::rows`] of internal ids.
    fn id_rows(&mut self, ids: &'a [i64], alias: &str) -> &mut Self {
        self.rows(ids, |id| Arg::Int(*id), alias)
    }

    /// ` JOIN` each candidate `c` (an internal id of the scope's resources) to its resource `r`
    /// (`pk, resource_id, name, revision`), looked up as `lookup` says.
    fn join_resource(&mut self, c: &str, scope: &'a Scope, lookup: Lookup) -> &mut Self {
        match lookup {
            Lookup::Lateral => {
                self.push(" JOIN LATERAL (SELECT x.pk, x.resource_id, x.name, x.revision FROM resources x WHERE ")
                    .scope("x", scope);
                write!(self.text, " AND x.pk = {c} OFFSET 0) r ON TRUE")
                    .expect("writing to a String");
            }
            Lookup::Plain => {
                write!(self.text, " JOIN resources r ON r.pk = {c} AND ")
                    .expect("writing to a String");
                self.project("r", &scope.project_id);
            }
        }
        self
    }

    /// `alias.project_id = $n`: every per-tenant table a statement reads or writes is named by its
    /// project, so that a database sharded by project sends the statement to one shard.
    fn project(&mut self, alias: &str, project_id: &'a str) -> &mut Self {
        write!(self.text, "{alias}.project_id = ").expect("writing to a String");
        self.text(project_id)
    }

    fn scope(&mut self, alias: &str, scope: &'a Scope) -> &mut Self {
        self.project(alias, &scope.project_id);
        write!(self.text, " AND {alias}.resource_type = ").expect("writing to a String");
        self.text(&scope.resource_type)
    }

    /// ` AND` the tag `alias` is visible: its key starts with none of the hidden prefixes (which
    /// are lower-case) in any case: `ACS:` is as reserved as `acs:`. One comparison per prefix,
    /// each with only the key's function calls per row: an `IN` list of parameters would cost
    /// SQLite a temporary table per statement.
    fn visible(&mut self, alias: &str, visibility: &'a Visibility) -> &mut Self {
        for prefix in &visibility.hidden_prefixes {
            let len = prefix.chars().count();
            write!(self.text, " AND lower(substr({alias}.key, 1, {len})) <> ")
                .expect("writing to a String");
            self.text(prefix);
        }
        self
    }

    /// ` AND` the caller's token, when it was recognised from memory, is still live: checked in
    /// the statement that reads, so a read costs one round trip and a revocation still takes
    /// effect on the next call. A revoked token reads as nothing; see `confirm_live`.
    fn while_live(&mut self, visibility: &'a Visibility) -> &mut Self {
        if let Some(id) = &visibility.while_live {
            self.push(" AND EXISTS (SELECT 1 FROM api_tokens k WHERE k.id = ")
                .text(id)
                .push(" AND k.revoked_at IS NULL)");
        }
        self
    }
}
