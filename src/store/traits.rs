//! What callers may ask of the database: tags and resources, and credentials.

use async_trait::async_trait;

use super::{
    AccessKeyRecord, Deletion, Horizon, KeyValues, PoolStats, Removal, ResourceRecord,
    ResourceTags, StoreError, TagLimit, TagRow, TokenRecord, WriteTerms, replicas::ReadStats,
    sql::LogRange,
};
use crate::domain::{
    Change, ChangeFilter, Locator, ResourceFilter, Scope, Tag, TagRowQuery, Visibility,
};

/// Where the tags live.
#[async_trait]
pub trait TagStore: Send + Sync {
    /// Answers when the database does.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The connection pool now (for SQLite, the readers and the writer together).
    fn pool_stats(&self) -> PoolStats;

    /// Which servers answered reads, when there are read replicas.
    fn read_stats(&self) -> ReadStats {
        ReadStats::default()
    }

    /// Sets `tags` on every resource in `ids`, registering unknown ones; all or nothing, and
    /// only when `pre` holds. Every write answers the project revision it took, or the current
    /// one when it changed nothing.
    async fn tag_resources(
        &self,
        scope: &Scope,
        ids: &[String],
        tags: &[Tag],
        limit: TagLimit<'_>,
        pre: WriteTerms<'_>,
    ) -> Result<i64, StoreError>;

    /// Removes tags from the resources in `ids`; all or nothing. Unknown resources are skipped.
    async fn untag_resources(
        &self,
        scope: &Scope,
        ids: &[String],
        removal: Removal<'_>,
        pre: WriteTerms<'_>,
    ) -> Result<i64, StoreError>;

    /// Registers a resource or sets its name; answers it with its visible tags.
    async fn put_resource(
        &self,
        scope: &Scope,
        id: &str,
        name: Option<&str>,
        visibility: &Visibility,
        pre: WriteTerms<'_>,
    ) -> Result<(ResourceRecord, i64), StoreError>;

    /// Deletes a resource and its tags, unless it carries a tag hidden from `visibility`.
    async fn delete_resource(
        &self,
        scope: &Scope,
        id: &str,
        visibility: &Visibility,
        pre: WriteTerms<'_>,
    ) -> Result<Deletion, StoreError>;

    /// The visible tags of one resource and its revision, `None` when it does not exist.
    async fn resource_tags(
        &self,
        scope: &Scope,
        locator: &Locator,
        visibility: &Visibility,
    ) -> Result<Option<ResourceTags>, StoreError>;

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

    /// The page of matching resources at `offset` (in internal-id order), with their visible
    /// tags, and how many resources match in all: both read from one snapshot, so the count
    /// agrees with the page however writers interleave.
    async fn resource_page(
        &self,
        scope: &Scope,
        filter: &ResourceFilter,
        visibility: &Visibility,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<ResourceRecord>, i64), StoreError>;

    /// Up to `limit` changes of the project's log in `range` (ending at the project's current
    /// revision at most) that `filter` selects and `visibility` shows, in log order, with the
    /// project's horizon: both from one snapshot.
    async fn tag_changes(
        &self,
        project_id: &str,
        filter: &ChangeFilter,
        visibility: &Visibility,
        range: LogRange,
        limit: u32,
    ) -> Result<(Vec<Change>, Horizon), StoreError>;

    /// The project's current revision and compaction mark.
    async fn horizon(&self, project_id: &str) -> Result<Horizon, StoreError>;

    /// Drops the changes written before `before_ms` (Unix ms); answers how many revisions went.
    async fn compact_changes(&self, before_ms: i64) -> Result<u64, StoreError>;
}

/// Where API tokens, access keys and the server's own keys live.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// The key of page tokens, created on first use and then shared by every server.
    async fn page_token_key(&self, fresh: &[u8]) -> Result<Vec<u8>, StoreError>;

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
    /// In one transaction: every access key's secret sealed anew (`resealed`: id, sealed
    /// secret) and the master key's check value changed from `old_check` to `new_check`.
    /// Answers false, changing nothing, when the check value is not `old_check` or the access
    /// keys are not exactly those of `resealed` (one was created meanwhile).
    async fn reseal_access_keys(
        &self,
        resealed: &[(String, Vec<u8>)],
        old_check: &[u8],
        new_check: &[u8],
    ) -> Result<bool, StoreError>;
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

/// Both stores of one database.
pub trait Store: TagStore + CredentialStore {}

impl<T: TagStore + CredentialStore> Store for T {}
