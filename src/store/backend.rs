//! The store both backends share: [`SqlStore`] runs the same statements (from `sql/`) the same
//! way over a [`Backend`], which brings only its connections.

use sqlx::{Arguments, ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Type};

use std::sync::Arc;

use super::{
    ResourceRecord, StoreError,
    pool::Pool,
    postings::Postings,
    scope_keys::ScopeKeys,
    sql::{self, Arg, Sql},
};
use crate::domain::{Tag, Visibility};

/// A connection of backend `B`.
pub type Conn<B> = <<B as Backend>::Db as Database>::Connection;
/// A row that backend `B` reads.
pub type RowOf<B> = <<B as Backend>::Db as Database>::Row;

/// What differs between the databases: where their connections come from, and which of them read
/// and which write.
pub trait Backend: Send + Sync + 'static {
    type Db: Database<QueryResult: RowsAffected>;
    /// Starts a read-only transaction whose statements all see one snapshot.
    const SNAPSHOT: &'static str;
    /// Starts a transaction that writes.
    const BEGIN_WRITE: &'static str;
    /// Appended to a `SELECT` to lock the rows it reads until the transaction ends.
    const LOCK_ROWS: &'static str;
    /// How a statement keeps the planner to the lookups it is written as.
    const LOOKUP: sql::Lookup;
    /// How a transaction's consecutive writes go to the database in one call.
    const CHAIN: Chain;
    /// The aggregate that packs a group of tags `t` into one JSON array of `[key, value]`
    /// pairs, when reading a page's tags as one row per resource costs less than a row per tag.
    const PACKED_TAGS: Option<&'static str>;

    fn reader(&self) -> &Pool<Conn<Self>>;
    fn writer(&self) -> &Pool<Conn<Self>>;
    /// Every pool once, for the statistics.
    fn pools(&self) -> Vec<&Pool<Conn<Self>>>;
}

/// How consecutive writes of a transaction are sent in one call rather than one call each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    /// As one statement, the writes chained in `WITH` (PostgreSQL): the writes a transaction
    /// makes under a lock other writers wait for cost one round trip.
    With,
    /// As a script of statements in one call, by a database with one writer at a time (SQLite),
    /// so that a script may read what it wrote before as the latest rows: each call is a hand-over
    /// to the connection's thread and back.
    Script,
}

/// How many rows a statement changed, which each driver reports in its own result type.
pub trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

/// A Rust type that database `DB` both binds and reads.
pub trait Column<DB: Database>: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> {}

impl<DB: Database, T> Column<DB> for T where
    T: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB>
{
}

/// The [`TagStore`](super::TagStore) and [`CredentialStore`](super::CredentialStore) of a backend.
pub struct SqlStore<B> {
    pub backend: B,
    /// Shared by a primary and its replicas: a set at a revision is the same wherever it was read.
    pub postings: Arc<Postings>,
    /// The scopes' keys the writes have read.
    pub scopes: ScopeKeys,
}

impl<B: Backend> SqlStore<B> {
    pub fn new(backend: B, postings: Arc<Postings>) -> Self {
        Self {
            backend,
            postings,
            scopes: ScopeKeys::default(),
        }
    }

    /// Runs `f` on a connection of `pool`, then gives the connection back according to how `f`
    /// ended (see `pool.rs`).
    pub async fn on<T>(
        pool: &Pool<Conn<B>>,
        f: impl AsyncFnOnce(&mut Conn<B>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut lease = pool.acquire().await?;
        let result = f(&mut lease).await;
        lease.release(&result).await;
        result
    }
}

/// What the shared statements need of a database: connections that run them, its own types for
/// every column they bind or read, and rows that find columns by name and by position.
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
    /// The arguments of `sql`, bound in placeholder order.
    pub fn args<'q>(sql: &Sql<'q>) -> Result<<B::Db as Database>::Arguments<'q>, StoreError> {
        let mut out = <B::Db as Database>::Arguments::default();
        for a in &sql.args {
            match *a {
                Arg::Text(s) => out.add(s),
                Arg::Int(i) => out.add(i),
            }
            .map_err(|e| StoreError::Other(e.to_string()))?;
        }
        Ok(out)
    }

    /// After a read that found nothing: was there nothing, or is the caller's token (one
    /// recognised from memory, checked inside the read itself) revoked?
    pub async fn confirm_live(c: &mut Conn<B>, visibility: &Visibility) -> Result<(), StoreError> {
        let Some(id) = &visibility.while_live else {
            return Ok(());
        };
        let live: Option<i32> = sqlx::query_scalar(sql::TOKEN_LIVE)
            .bind(id.as_str())
            .fetch_optional(&mut *c)
            .await?;
        live.map(|_| ()).ok_or(StoreError::TokenNotLive)
    }

    /// Runs a revocation (`statement` binds the id, then the time); answers whether a live
    /// credential was revoked.
    pub async fn revoke(
        &self,
        statement: &'static str,
        id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        Self::on(self.backend.writer(), async |c| {
            let done = sqlx::query(statement)
                .bind(id)
                .bind(now)
                .execute(&mut *c)
                .await?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    /// A server key: `insert` stores `fresh` unless there is one already, `select` reads it.
    pub async fn key(
        &self,
        insert: &'static str,
        select: &'static str,
        fresh: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        Self::on(self.backend.writer(), async |c| {
            sqlx::query(insert).bind(fresh).execute(&mut *c).await?;
            Ok(sqlx::query_scalar(select).fetch_one(&mut *c).await?)
        })
        .await
    }

    /// Reads the visible tags of `records` (ordered by internal id) into them.
    pub async fn with_tags(
        c: &mut Conn<B>,
        project_id: &str,
        records: &mut [ResourceRecord],
        visibility: &Visibility,
    ) -> Result<(), StoreError> {
        let pks: Vec<i64> = records.iter().map(|r| r.pk).collect();
        let rows = match B::PACKED_TAGS {
            Some(pack) => Self::packed_tags_of(c, project_id, &pks, pack).await?,
            None => {
                let q = sql::tags_of(project_id, &pks);
                sqlx::query_as_with(&q.text, Self::args(&q)?)
                    .fetch_all(&mut *c)
                    .await?
            }
        };
        let mut rows = rows.into_iter().peekable();
        for r in records.iter_mut() {
            while let Some(t) = rows.next_if(|t| t.resource_pk == r.pk) {
                if visibility.shows(&t.key) {
                    r.tags.push(Tag {
                        key: t.key,
                        value: t.value,
                    });
                }
            }
        }
        Ok(())
    }

    /// What [`sql::tags_of`] reads, read as one row per resource (see [`Backend::PACKED_TAGS`]).
    async fn packed_tags_of(
        c: &mut Conn<B>,
        project_id: &str,
        pks: &[i64],
        pack: &str,
    ) -> Result<Vec<ResourceTag>, StoreError> {
        let q = sql::packed_tags_of(project_id, pks, pack);
        let packs: Vec<(i64, String)> = sqlx::query_as_with(&q.text, Self::args(&q)?)
            .fetch_all(&mut *c)
            .await?;
        let mut rows = Vec::new();
        for (resource_pk, pack) in packs {
            let mut pairs: Vec<(String, String)> = serde_json::from_str(&pack)
                .map_err(|e| StoreError::Other(format!("a resource's packed tags: {e}")))?;
            pairs.sort_unstable();
            rows.extend(pairs.into_iter().map(|(key, value)| ResourceTag {
                resource_pk,
                key,
                value,
            }));
        }
        Ok(rows)
    }
}

/// One tag of one of several resources.
#[derive(sqlx::FromRow)]
pub struct ResourceTag {
    pub resource_pk: i64,
    pub key: String,
    pub value: String,
}
