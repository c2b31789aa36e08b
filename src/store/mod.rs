//! Persistence: [`TagStore`] for tags and resources and [`CredentialStore`] for tokens, access keys
//! and server keys, together a [`Store`]. One generic implementation runs the same statements on
//! SQLite and PostgreSQL; the backend is chosen once, from the database URL's scheme.

mod backend;
mod changes;
mod counts;
mod credentials;
mod error;
mod filtered;
pub mod plan;
mod pool;
mod postgres;
pub mod postings;
mod replicas;
mod schema;
mod scope_keys;
mod signals;
pub mod sql;
mod sqlite;
mod tagging;
#[cfg(test)]
mod tests;
mod traits;
mod writes;

use std::{sync::Arc, time::Duration};

use crate::domain::{Author, SignedOnce, Tag, Visibility};

pub use counts::Deltas;
pub use error::StoreError;
pub use replicas::{ReadStats, ReplicaSettings, ReplicaStats};
pub use schema::Schema;
pub use signals::{Signals, Wake};
pub use traits::{CredentialStore, Store, TagStore};

use backend::{Backend, SqlStore};
pub use postgres::PLANNER_SETTINGS;
use postgres::PostgresBackend;
use postings::Postings;
use sqlite::SqliteBackend;

/// One tag of one resource, with the resource's internal position for keyset pagination.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TagRow {
    #[sqlx(rename = "pk")]
    pub resource_pk: i64,
    pub resource_id: String,
    pub key: String,
    pub value: String,
}

/// A resource with its visible tags, ordered by key.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ResourceRecord {
    pub pk: i64,
    pub resource_id: String,
    pub name: Option<String>,
    /// The revision of its last change.
    pub revision: i64,
    /// Read by a second statement.
    #[sqlx(skip)]
    pub tags: Vec<Tag>,
}

/// The visible tags of one resource, ordered by key, and its revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceTags {
    pub tags: Vec<Tag>,
    pub revision: i64,
}

/// The terms of a write: what it must find before it applies anything, and who makes it.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteTerms<'a> {
    /// Taken in the write's transaction (see [`SignedOnce`]): a write whose `once` was already
    /// taken changes nothing and succeeds.
    pub once: Option<&'a SignedOnce>,
    /// The one resource's revision must be exactly this; 0: the resource must not exist.
    pub expected_revision: Option<i64>,
    /// Recorded in the change log beside each change the write makes.
    pub author: Author<'a>,
}

/// A project's revisions: the current one, and the newest that compaction dropped from the
/// change log (history is kept after it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Horizon {
    pub current: i64,
    pub compacted: i64,
}

/// A tag key with its distinct values in a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValues {
    pub key: String,
    pub values: Vec<String>,
}

/// How a deletion ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    /// At this project revision (the current one, for a signed delete done before).
    Deleted(i64),
    NotFound,
    /// The resource carries tags the caller cannot see, so it was left as it is.
    Protected,
}

/// What to remove from resources.
#[derive(Debug, Clone, Copy)]
pub enum Removal<'a> {
    Keys(&'a [String]),
    /// Every tag the caller can see.
    AllVisible(&'a Visibility),
}

/// How many tags a resource may carry; keys under `exempt_prefixes` do not count.
#[derive(Debug, Clone, Copy)]
pub struct TagLimit<'a> {
    pub max: usize,
    pub exempt_prefixes: &'a [String],
}

/// An API token as stored: only a hash of its secret.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenRecord {
    pub id: String,
    pub secret_sha256: Vec<u8>,
    pub project_id: String,
    pub read_only: bool,
    pub system: bool,
    /// Unix seconds.
    pub created_at: i64,
    pub revoked: bool,
    /// What or whom the token is for; may be empty.
    pub name: String,
    /// Unix seconds from which the token is refused; `None`: never.
    pub expires_at: Option<i64>,
}

impl TokenRecord {
    /// Whether the token may still be used at `now` (Unix seconds).
    pub fn live_at(&self, now: i64) -> bool {
        !self.revoked && self.expires_at.is_none_or(|expiry| now < expiry)
    }
}

/// An access key as stored: its secret sealed under the master key.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccessKeyRecord {
    pub id: String,
    pub secret_sealed: Vec<u8>,
    pub project_id: String,
    pub read_only: bool,
    /// Unix seconds.
    pub created_at: i64,
    pub revoked: bool,
}

/// How many connections the pool holds, and how many of them are idle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
}

/// Pool settings common to both backends.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// PostgreSQL stops a statement that runs longer, so a call abandoned at its deadline does not
    /// leave its query running.
    pub statement_timeout: Option<Duration>,
    /// The memory the filter postings may hold (see `postings`); 0 keeps none.
    pub postings_bytes: usize,
}

/// How the statements keep to their lookups on the database `url` names (see
/// `Backend::LOOKUP`), for the tools that build the store's statements themselves: the plans
/// tests and the benchmark.
pub fn lookup(url: &str) -> sql::Lookup {
    if url.starts_with("sqlite") {
        SqliteBackend::LOOKUP
    } else {
        PostgresBackend::LOOKUP
    }
}

/// Writes a consistent copy of the SQLite database `url` names to `output`, while servers use it.
pub async fn backup(url: &str, output: &std::path::Path) -> anyhow::Result<()> {
    if !url.starts_with("sqlite:") {
        anyhow::bail!(
            "--database-url: `backup` copies SQLite databases; back PostgreSQL up with pg_dump (docs/operations.md)"
        );
    }
    sqlite::backup(url, output).await
}

/// Opens the database named by `url`, applies its migrations, and answers its store.
pub async fn connect(url: &str, pool: &PoolSettings) -> anyhow::Result<Arc<dyn Store>> {
    open(url, pool, Schema::Migrate).await
}

/// The store of a primary at `primary_url` (opened as [`open`] does) whose tag reads go to the
/// read replicas at `replica_urls` when they can (see `replicas.rs`); with no replica, the
/// primary's store itself. Answers the store for everything and the one for tag reads.
pub async fn open_replicated(
    primary_url: &str,
    replica_urls: &[String],
    pool: &PoolSettings,
    schema: Schema,
    settings: ReplicaSettings,
) -> anyhow::Result<(Arc<dyn Store>, Arc<dyn TagStore>)> {
    if !replica_urls.is_empty() && !primary_url.starts_with("postgres") {
        anyhow::bail!("--database-replica-url: read replicas need a PostgreSQL --database-url");
    }
    let postings = Arc::new(Postings::new(pool.postings_bytes));
    let primary = open_with(primary_url, pool, schema, postings.clone()).await?;
    if replica_urls.is_empty() {
        return Ok((primary.clone(), primary));
    }
    let mut replicas = Vec::new();
    for url in replica_urls {
        let name = replica_name(url)?;
        let backend = PostgresBackend::on_demand(url, pool)
            .map_err(|e| anyhow::anyhow!("--database-replica-url `{name}`: {e}"))?;
        let store = SqlStore::new(backend, postings.clone());
        replicas.push(Arc::new(replicas::Replica::new(name, store)));
    }
    // The primary's WAL position is sampled on a connection of its own.
    let clock_pool = PoolSettings {
        max_connections: 1,
        ..pool.clone()
    };
    let clock = replicas::PrimaryClock::new(
        SqlStore::new(
            PostgresBackend::on_demand(primary_url, &clock_pool)?,
            Arc::new(Postings::new(0)),
        ),
        settings.max_lag + Duration::from_secs(60),
    );
    let routed = replicas::Replicated::new(primary.clone(), clock, replicas, settings);
    Ok((primary, Arc::new(routed)))
}

/// A replica as logs and metrics name it: `host:port/database`, never its credentials.
fn replica_name(url: &str) -> anyhow::Result<String> {
    let parsed = url::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "postgres" | "postgresql"))
        .ok_or_else(|| {
            anyhow::anyhow!("--database-replica-url: must be a postgres://HOST:PORT/DB URL")
        })?;
    Ok(format!(
        "{}:{}{}",
        parsed.host_str().unwrap_or("localhost"),
        parsed.port().unwrap_or(5432),
        parsed.path()
    ))
}

/// Opens the database named by `url`, doing to its schema what `schema` says.
pub async fn open(
    url: &str,
    pool: &PoolSettings,
    schema: Schema,
) -> anyhow::Result<Arc<dyn Store>> {
    open_with(
        url,
        pool,
        schema,
        Arc::new(Postings::new(pool.postings_bytes)),
    )
    .await
}

async fn open_with(
    url: &str,
    pool: &PoolSettings,
    schema: Schema,
    postings: Arc<Postings>,
) -> anyhow::Result<Arc<dyn Store>> {
    let scheme = url.split(':').next().unwrap_or_default();
    Ok(match scheme {
        "sqlite" => Arc::new(SqlStore::new(
            SqliteBackend::connect(url, pool, schema).await?,
            postings,
        )),
        "postgres" | "postgresql" => Arc::new(SqlStore::new(
            PostgresBackend::connect(url, pool, schema).await?,
            postings,
        )),
        _ => anyhow::bail!(
            "--database-url: scheme `{scheme}` is not supported; use sqlite:PATH or postgres://…"
        ),
    })
}
