//! The change log over any backend: written by each write's transaction (see `writes.rs`), read
//! in log order, and compacted from its oldest end.

mod packed;

use sqlx::{ColumnIndex, Connection, Database, Encode, Executor, IntoArguments, Type};

use packed::pack;
pub use packed::{PackedRow, Unpacked, unpack};

use super::{
    Horizon, StoreError, WriteTerms,
    backend::{Backend, Chain, Column, Conn, RowOf, SqlStore},
    counts::Deltas,
    sql::{self, LogRange, Sql},
};
use crate::domain::{Change, ChangeFilter, ChangeKind, ChangeOf, Scope, Visibility, time::unix_ms};

/// A change as the log keeps it: with its resource's internal id, which readers that keep
/// something per resource (the filter postings) apply it by.
#[derive(Debug, Clone)]
pub struct Logged {
    pub resource_pk: i64,
    pub change: ChangeOf,
}

impl Logged {
    /// A change of the resource `resource_id` (internal id `pk`): of its tag `key`, or of the
    /// resource itself (`key` none; the values are then its names).
    pub fn new(
        pk: i64,
        resource_id: &str,
        kind: ChangeKind,
        key: Option<&str>,
        old_value: Option<&str>,
        new_value: Option<&str>,
    ) -> Self {
        Self {
            resource_pk: pk,
            change: ChangeOf {
                resource_id: resource_id.to_owned(),
                kind,
                key: key.map(str::to_owned),
                old_value: old_value.map(str::to_owned),
                new_value: new_value.map(str::to_owned),
            },
        }
    }
}

/// Revisions compaction drops per transaction, so that none holds many rows.
const COMPACTION_BATCH: u32 = 1_000;

/// A row of the log: one resource's changes in one change set.
#[derive(sqlx::FromRow)]
struct ChangeRow {
    revision: i64,
    seq: i32,
    resource_type: String,
    resource_id: String,
    changes: String,
    credential_id: String,
    request_id: String,
    changed_at: i64,
}

impl ChangeRow {
    /// The row's changes after `after` (revision, seq) that `filter` selects and `visibility`
    /// shows, onto `out`.
    fn unpack_onto(
        self,
        out: &mut Vec<Change>,
        after: (i64, i64),
        filter: &ChangeFilter,
        visibility: &Visibility,
    ) -> Result<(), StoreError> {
        for c in unpack(&self.changes, self.seq.into())? {
            // A change of the resource itself has no key, and everyone sees it.
            let selected = match c.key.as_deref() {
                None => filter.keys.is_empty(),
                Some(k) => {
                    (filter.keys.is_empty() || filter.keys.iter().any(|f| f == k))
                        && visibility.shows(k)
                }
            };
            if !selected || (self.revision, c.seq) <= after {
                continue;
            }
            out.push(Change {
                revision: self.revision,
                seq: c.seq,
                resource_type: self.resource_type.clone(),
                change: ChangeOf {
                    resource_id: self.resource_id.clone(),
                    kind: c.kind,
                    key: c.key,
                    old_value: c.old_value,
                    new_value: c.new_value,
                },
                credential_id: self.credential_id.clone(),
                request_id: self.request_id.clone(),
                changed_at: self.changed_at,
            });
        }
        Ok(())
    }
}

impl<B> SqlStore<B>
where
    B: Backend,
    for<'c> &'c mut Conn<B>: Executor<'c, Database = B::Db>,
    for<'q> <B::Db as Database>::Arguments<'q>: IntoArguments<'q, B::Db>,
    for<'q> &'q str: Encode<'q, B::Db> + Type<B::Db>,
    for<'q> &'q [u8]: Encode<'q, B::Db> + Type<B::Db>,
    for<'r> &'r str: ColumnIndex<RowOf<B>>,
    usize: ColumnIndex<RowOf<B>>,
    i64: Column<B::Db>,
    i32: Column<B::Db>,
    bool: Column<B::Db>,
    String: Column<B::Db>,
    Vec<u8>: Column<B::Db>,
{
    /// A write's last steps, after the statements `first` still to run (in the same script,
    /// on a backend that runs scripts): its `changes` recorded as one change set, its scope's
    /// `counts` (the scope's key and its deltas) applied, and, when it changed anything, the
    /// project's next revision taken, with the resources among `stamp` and the set marked as
    /// changed at it; else the project's current revision. Last in the write, so that the rows
    /// other writers share (the counts', the project's) are held only until it commits.
    pub(super) async fn finish(
        c: &mut Conn<B>,
        scope: &Scope,
        terms: WriteTerms<'_>,
        (first, changes): (Sql<'_>, &[Logged]),
        counts: (i64, Deltas),
        stamp: &[i64],
    ) -> Result<i64, StoreError> {
        let (scope_pk, mut deltas) = counts;
        let rows = pack(changes);
        if rows.is_empty() {
            Self::execute(c, &first).await?;
            Self::apply_counts(c, (&scope.project_id, scope_pk), deltas).await?;
            return Self::current_revision(c, scope).await;
        }
        deltas.settle();
        let counts = (scope_pk, &deltas);
        if B::CHAIN == Chain::Script {
            let mut script = first;
            script.end_statement();
            sql::push_change_set(&mut script, scope, terms.author, unix_ms(), &rows);
            let q = sql::take_revision_script(script, scope, counts, stamp);
            let revisions: Vec<i64> = sqlx::query_scalar_with(&q.text, Self::args(&q)?)
                .fetch_all(&mut *c)
                .await?;
            return match revisions.as_slice() {
                [revision] => Ok(*revision),
                _ => Err(script_rows("revision", revisions.len())),
            };
        }
        Self::execute(c, &first).await?;
        let set = Self::record_changes(c, scope, terms, &rows).await?;
        let q = sql::take_revision(scope, counts, stamp, set);
        let revision = sqlx::query_scalar_with(&q.text, Self::args(&q)?)
            .fetch_one(&mut *c)
            .await?;
        Self::drop_zero_counts(c, (&scope.project_id, scope_pk), &deltas).await?;
        Ok(revision)
    }

    /// Runs `statements`, when there are any.
    pub(super) async fn execute(c: &mut Conn<B>, statements: &Sql<'_>) -> Result<(), StoreError> {
        if !statements.text.is_empty() {
            sqlx::query_with(&statements.text, Self::args(statements)?)
                .execute(&mut *c)
                .await?;
        }
        Ok(())
    }

    /// The project's current revision; 0 before its first change.
    pub(super) async fn current_revision(
        c: &mut Conn<B>,
        scope: &Scope,
    ) -> Result<i64, StoreError> {
        let revision: Option<i64> = sqlx::query_scalar(sql::CURRENT_REVISION)
            .bind(scope.project_id.as_str())
            .fetch_optional(&mut *c)
            .await?;
        Ok(revision.unwrap_or(0))
    }

    /// Adds a write's changes, packed into `rows`, to the log as one change set; answers the
    /// set's id.
    async fn record_changes(
        c: &mut Conn<B>,
        scope: &Scope,
        terms: WriteTerms<'_>,
        rows: &[PackedRow<'_>],
    ) -> Result<i64, StoreError> {
        let author = terms.author;
        let set: i64 = sqlx::query_scalar(sql::INSERT_CHANGE_SET)
            .bind(scope.project_id.as_str())
            .bind(scope.resource_type.as_str())
            .bind(author.credential_id)
            .bind(author.request_id)
            .bind(unix_ms())
            .fetch_one(&mut *c)
            .await?;
        for chunk in rows.chunks(sql::LOG_ROWS_PER_INSERT) {
            let insert = sql::insert_changes(&scope.project_id, set, chunk);
            sqlx::query_with(&insert.text, Self::args(&insert)?)
                .execute(&mut *c)
                .await?;
        }
        Ok(set)
    }

    /// A page of the project's log in `range`: up to `limit` changes. Rows are read `limit` at
    /// a time (each holds one change or more) until the page is full or the range ends, as the
    /// filter on keys and the visibility apply to the unpacked changes.
    pub(super) async fn read_changes(
        c: &mut Conn<B>,
        project_id: &str,
        filter: &ChangeFilter,
        visibility: &Visibility,
        range: LogRange,
        limit: u32,
    ) -> Result<Vec<Change>, StoreError> {
        let mut page = Vec::new();
        let mut next = range;
        while page.len() < limit as usize {
            let read = sql::changes(project_id, filter, visibility, next, limit);
            let rows: Vec<ChangeRow> = sqlx::query_as_with(&read.text, Self::args(&read)?)
                .fetch_all(&mut *c)
                .await?;
            let ended = rows.len() < limit as usize;
            for row in rows {
                next.after = (row.revision, row.seq.into());
                row.unpack_onto(&mut page, range.after, filter, visibility)?;
            }
            if ended {
                break;
            }
        }
        page.truncate(limit as usize);
        Ok(page)
    }

    pub(super) async fn read_horizon(
        c: &mut Conn<B>,
        project_id: &str,
    ) -> Result<Horizon, StoreError> {
        let row: Option<(i64, i64)> = sqlx::query_as(sql::HORIZON)
            .bind(project_id)
            .fetch_optional(&mut *c)
            .await?;
        Ok(
            row.map_or_else(Horizon::default, |(current, compacted)| Horizon {
                current,
                compacted,
            }),
        )
    }

    /// Drops every project's changes written before `before_ms`, whole revisions at a time, and
    /// raises each project's mark to the newest revision dropped. Answers how many revisions
    /// the marks rose by.
    pub(super) async fn compact(c: &mut Conn<B>, before_ms: i64) -> Result<u64, StoreError> {
        let projects: Vec<(String, i64)> = sqlx::query_as(sql::PROJECTS_WITH_HISTORY)
            .fetch_all(&mut *c)
            .await?;
        let compactable = sql::compactable(COMPACTION_BATCH);
        let mut dropped = 0;
        for (project, mut mark) in projects {
            loop {
                let upto: Option<i64> = sqlx::query_scalar(&compactable)
                    .bind(project.as_str())
                    .bind(mark)
                    .bind(before_ms)
                    .fetch_one(&mut *c)
                    .await?;
                let Some(upto) = upto else { break };
                // One transaction: a reader that finds rows missing finds the mark raised too.
                let mut tx = c.begin_with(B::BEGIN_WRITE).await?;
                let [changes, sets] = sql::DROP_CHANGES;
                for statement in [changes, sets, sql::MARK_COMPACTED] {
                    sqlx::query(statement)
                        .bind(project.as_str())
                        .bind(upto)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                dropped += u64::try_from(upto - mark).unwrap_or(0);
                mark = upto;
            }
        }
        Ok(dropped)
    }
}

/// A script that answered `n` rows where it answers its `what` alone.
fn script_rows(what: &str, n: usize) -> StoreError {
    StoreError::Other(format!("a write's {what} script answered {n} rows"))
}
