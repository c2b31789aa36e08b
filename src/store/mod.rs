//! Persistence: one [`TagStore`] trait with a SQLite and a PostgreSQL implementation. The backend is
//! chosen once, from the database URL's scheme.

mod backend;
mod pool;
mod postgres;
pub mod sql;
mod sqlite;

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;

use crate::domain::{self, Locator, ResourceFilter, Scope, Tag, TagRowQuery, Visibility};

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// One tag of one resource, with the resource's internal position for keyset pagination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRow {
    pub resource_pk: i64,
    pub resource_id: String,
    pub key: String,
    pub value: String,
}

/// A resource with its visible tags, ordered by key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRecord {
    pub pk: i64,
    pub resource_id: String,
    pub name: Option<String>,
    pub tags: Vec<Tag>,
}

/// A tag key with its distinct values in a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValues {
    pub key: String,
    pub values: Vec<String>,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub secret_sha256: Vec<u8>,
    pub project_id: String,
    pub read_only: bool,
    pub system: bool,
    /// Unix seconds.
    pub created_at: i64,
    pub revoked: bool,
}

/// An access key as stored: its secret sealed under the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyRecord {
    pub id: String,
    pub secret_sealed: Vec<u8>,
    pub project_id: String,
    pub read_only: bool,
    /// Unix seconds.
    pub created_at: i64,
    pub revoked: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The statement outran the database's statement timeout and was cancelled.
    #[error("statement cancelled: {0}")]
    Timeout(String),
    #[error("name `{0}` is taken")]
    NameTaken(String),
    #[error("resource `{resource_id}` would carry {count} tags")]
    TooManyTags {
        resource_id: String,
        count: i64,
        max: usize,
    },
    /// A read on behalf of a token recognised from memory found the token revoked.
    #[error("the token is no longer live")]
    TokenNotLive,
    #[error("database error: {0}")]
    Other(String),
}

impl From<StoreError> for domain::Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(detail) => Self::Unavailable(detail),
            StoreError::Timeout(_) => Self::DeadlineExceeded,
            StoreError::NameTaken(name) => Self::AlreadyExists(format!(
                "name `{name}` is already used by another resource of this type in this project"
            )),
            StoreError::TooManyTags {
                resource_id,
                count,
                max,
            } => Self::invalid(
                "tags",
                format!(
                    "a resource carries at most {max} tags; resource `{resource_id}` would carry {count}"
                ),
            ),
            StoreError::TokenNotLive => Self::Unauthenticated("the token is not valid".into()),
            StoreError::Other(detail) => Self::Internal(detail),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match &e {
            E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) | E::WorkerCrashed => {
                Self::Unavailable(e.to_string())
            }
            E::Database(db) if db.code().is_some_and(|c| is_unavailable_code(&c)) => {
                Self::Unavailable(e.to_string())
            }
            // query_canceled: what the statement timeout does to a statement that runs too long.
            E::Database(db) if db.code().is_some_and(|c| c == "57014") => {
                Self::Timeout(e.to_string())
            }
            _ => Self::Other(e.to_string()),
        }
    }
}

/// Codes that mean "the database cannot serve now", as opposed to "this statement is wrong":
/// PostgreSQL's connection exceptions (08…), insufficient resources (53…), shutdown and start-up
/// (57P…), a database that refuses connections (55000) or is gone (3D000), rejected credentials
/// (28…), and SQLite's BUSY (5) and LOCKED (6) once the busy timeout has run out.
fn is_unavailable_code(code: &str) -> bool {
    ["08", "53", "57P", "28"]
        .iter()
        .any(|class| code.starts_with(class))
        || ["55000", "3D000", "5", "6"].contains(&code)
}

/// Where the tags live.
#[async_trait]
pub trait TagStore: Send + Sync {
    /// Answers when the database does.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The connection pool now (for SQLite, the readers and the writer together).
    fn pool_stats(&self) -> PoolStats;

    /// The key of page tokens, created on first use and then shared by every server.
    async fn page_token_key(&self, fresh: &[u8]) -> Result<Vec<u8>, StoreError>;

    /// Sets `tags` on every resource in `ids`, registering unknown ones; all or nothing.
    async fn tag_resources(
        &self,
        scope: &Scope,
        ids: &[String],
        tags: &[Tag],
        limit: TagLimit<'_>,
    ) -> Result<(), StoreError>;

    /// Removes tags from the resources in `ids`; all or nothing. Unknown resources are skipped.
    async fn untag_resources(
        &self,
        scope: &Scope,
        ids: &[String],
        removal: Removal<'_>,
    ) -> Result<(), StoreError>;

    /// Registers a resource or sets its name; answers it with its visible tags.
    async fn put_resource(
        &self,
        scope: &Scope,
        id: &str,
        name: Option<&str>,
        visibility: &Visibility,
    ) -> Result<ResourceRecord, StoreError>;

    /// Deletes a resource and its tags; answers whether it existed.
    async fn delete_resource(&self, scope: &Scope, id: &str) -> Result<bool, StoreError>;

    /// The visible tags of one resource, `None` when it does not exist.
    async fn resource_tags(
        &self,
        scope: &Scope,
        locator: &Locator,
        visibility: &Visibility,
    ) -> Result<Option<Vec<Tag>>, StoreError>;

    /// Up to `limit` visible tag rows of matching resources, after `after` (resource, key).
    async fn tag_rows(
        &self,
        scope: &Scope,
        query: &TagRowQuery,
        visibility: &Visibility,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<TagRow>, StoreError>;

    /// Up to `limit` matching resources after `after`, with their visible tags.
    async fn resources(
        &self,
        scope: &Scope,
        filter: &ResourceFilter,
        visibility: &Visibility,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ResourceRecord>, StoreError>;

    /// How many resources match.
    async fn count_resources(
        &self,
        scope: &Scope,
        filter: &ResourceFilter,
        visibility: &Visibility,
    ) -> Result<i64, StoreError>;

    /// Up to `limit` visible keys of a project (one type or all) after `after`, with their values.
    async fn project_tags(
        &self,
        project_id: &str,
        resource_type: Option<&str>,
        visibility: &Visibility,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<KeyValues>, StoreError>;

    async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError>;
    async fn find_token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError>;
    /// Answers whether a live token of that id was revoked.
    async fn revoke_token(&self, id: &str, now: i64) -> Result<bool, StoreError>;
    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError>;

    async fn insert_access_key(&self, key: &AccessKeyRecord) -> Result<(), StoreError>;
    async fn find_access_key(&self, id: &str) -> Result<Option<AccessKeyRecord>, StoreError>;
    /// Answers whether a live access key of that id was revoked.
    async fn revoke_access_key(&self, id: &str, now: i64) -> Result<bool, StoreError>;
    async fn list_access_keys(&self) -> Result<Vec<AccessKeyRecord>, StoreError>;
    /// The stored check value of the master key, storing `fresh` if there is none yet.
    async fn master_key_check(&self, fresh: &[u8]) -> Result<Vec<u8>, StoreError>;
    /// Records a signed request's nonce; answers false when it was already used and has not
    /// expired by `now`.
    async fn claim_nonce(
        &self,
        access_key_id: &str,
        nonce: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Forgets nonces that expired before `now`; answers how many.
    async fn purge_nonces(&self, now: i64) -> Result<u64, StoreError>;
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
}

/// Opens the database named by `url`, applies its migrations, and answers its store.
pub async fn connect(url: &str, pool: &PoolSettings) -> anyhow::Result<Arc<dyn TagStore>> {
    let scheme = url.split(':').next().unwrap_or_default();
    Ok(match scheme {
        "sqlite" => Arc::new(SqliteStore::connect(url, pool).await?),
        "postgres" | "postgresql" => Arc::new(PostgresStore::connect(url, pool).await?),
        _ => anyhow::bail!(
            "--database-url: scheme `{scheme}` is not supported; use sqlite:PATH or postgres://…"
        ),
    })
}

/// Groups tag rows (ordered by resource) under the resources they belong to, keeping their order.
fn attach_tags(resources: &mut [ResourceRecord], rows: Vec<(i64, String, String)>) {
    let mut rows = rows.into_iter().peekable();
    for r in resources.iter_mut() {
        while let Some((_, key, value)) = rows.next_if(|(pk, _, _)| *pk == r.pk) {
            r.tags.push(Tag { key, value });
        }
    }
}

/// Groups (key, value) rows, ordered by key, into keys with their values.
fn group_values(rows: Vec<(String, String)>) -> Vec<KeyValues> {
    let mut out: Vec<KeyValues> = Vec::new();
    for (key, value) in rows {
        match out.last_mut() {
            Some(last) if last.key == key => last.values.push(value),
            _ => out.push(KeyValues {
                key,
                values: vec![value],
            }),
        }
    }
    out
}

/// Reads a unique violation on `put_resource` as "that name is taken".
fn name_taken(e: sqlx::Error, name: Option<&str>) -> StoreError {
    match (&e, name) {
        (sqlx::Error::Database(db), Some(name)) if db.is_unique_violation() => {
            StoreError::NameTaken(name.to_owned())
        }
        _ => e.into(),
    }
}

fn resource_tags_sql<'a>(
    scope: &'a Scope,
    locator: &'a Locator,
    visibility: &'a Visibility,
) -> sql::Sql<'a> {
    match locator {
        Locator::Id(id) => sql::resource_tags(scope, "resource_id", id, visibility),
        Locator::Name(name) => sql::resource_tags(scope, "name", name, visibility),
    }
}

/// No row: no such resource; one row of NULLs: a resource without visible tags.
fn collect_resource_tags(rows: Vec<(Option<String>, Option<String>)>) -> Option<Vec<Tag>> {
    if rows.is_empty() {
        return None;
    }
    Some(
        rows.into_iter()
            .filter_map(|(key, value)| {
                Some(Tag {
                    key: key?,
                    value: value?,
                })
            })
            .collect(),
    )
}

fn tag_row((resource_pk, resource_id, key, value): (i64, String, String, String)) -> TagRow {
    TagRow {
        resource_pk,
        resource_id,
        key,
        value,
    }
}

fn resource_records(rows: Vec<(i64, String, Option<String>)>) -> Vec<ResourceRecord> {
    rows.into_iter()
        .map(|(pk, resource_id, name)| ResourceRecord {
            pk,
            resource_id,
            name,
            tags: Vec::new(),
        })
        .collect()
}

type TokenRow = (String, Vec<u8>, String, bool, bool, i64, bool);

fn token_record(
    (id, secret_sha256, project_id, read_only, system, created_at, revoked): TokenRow,
) -> TokenRecord {
    TokenRecord {
        id,
        secret_sha256,
        project_id,
        read_only,
        system,
        created_at,
        revoked,
    }
}

type AccessKeyRow = (String, Vec<u8>, String, bool, i64, bool);

fn access_key_record(
    (id, secret_sealed, project_id, read_only, created_at, revoked): AccessKeyRow,
) -> AccessKeyRecord {
    AccessKeyRecord {
        id,
        secret_sealed,
        project_id,
        read_only,
        created_at,
        revoked,
    }
}
