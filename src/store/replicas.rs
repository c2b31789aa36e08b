//! Reads from PostgreSQL streaming replicas, without stale reads for those who must not have them.
//!
//! Writes, credentials, the change feed's reads and everything else that must be current go to the
//! primary. A read goes to a usable replica, in turn; a read that carries a revision it must
//! reflect (a consistency token's) goes to a replica that has reached that revision of its
//! project, waiting for one up to the configured wait, and otherwise to the primary. A replica
//! is usable while its last health check answered with a replay lag within the bound; one that
//! fails a read is set aside at once and the read goes to the primary, so nothing fails while the
//! primary answers.
//!
//! A token recognised from memory is confirmed live on the primary before a replica reads for
//! it: a revocation that the replica has not replayed yet still takes effect on the next call.

mod clock;
mod health;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use tokio::time::Instant;

use super::{
    Deletion, Horizon, KeyValues, PoolStats, Removal, ResourceRecord, ResourceTags, Store,
    StoreError, TagLimit, TagRow, TagStore, WriteTerms, postings::PostingStats, sql::LogRange,
};
use crate::domain::{
    Change, ChangeFilter, Locator, ResourceFilter, Scope, Tag, TagRowQuery, Visibility, time,
};

pub use clock::PrimaryClock;
pub use health::Replica;

/// How often a read waiting for a replica to reach its revision looks again.
const CATCH_UP_POLL: Duration = Duration::from_millis(2);

/// How replicas are used.
#[derive(Debug, Clone, Copy)]
pub struct ReplicaSettings {
    /// How long a read with a consistency token waits for a replica to reach its revision before
    /// the primary serves it.
    pub wait: Duration,
    /// A replica further behind than this is skipped until it catches up.
    pub max_lag: Duration,
}

/// Which servers answered reads, for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadStats {
    pub primary_reads: u64,
    pub replicas: Vec<ReplicaStats>,
    /// How the filter postings' sets were found (shared by the primary and its replicas).
    pub postings: PostingStats,
}

/// One replica as `/metrics` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaStats {
    /// `host:port/database`, never the credentials.
    pub name: String,
    pub usable: bool,
    /// Replay lag at the last health check; `None` when it did not answer.
    pub lag_seconds: Option<f64>,
    pub reads: u64,
}

/// A primary and its read replicas as one store.
pub struct Replicated {
    primary: Arc<dyn Store>,
    replicas: Vec<Arc<Replica>>,
    settings: ReplicaSettings,
    /// Where the next read starts looking, so reads take turns among the replicas.
    next: AtomicUsize,
    primary_reads: AtomicU64,
}

impl Replicated {
    /// Routes reads over `replicas`, whose health is checked in the background for as long as
    /// the store lives.
    pub fn new(
        primary: Arc<dyn Store>,
        clock: PrimaryClock,
        replicas: Vec<Arc<Replica>>,
        settings: ReplicaSettings,
    ) -> Self {
        health::watch(&replicas, clock, settings.max_lag);
        Self {
            primary,
            replicas,
            settings,
            next: AtomicUsize::new(0),
            primary_reads: AtomicU64::new(0),
        }
    }

    /// The usable replicas, starting with the one whose turn it is.
    fn in_turn(&self) -> Vec<&Arc<Replica>> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.replicas.len();
        (0..n)
            .map(|i| &self.replicas[(start + i) % n])
            .filter(|r| r.usable())
            .collect()
    }

    /// A replica that may serve a read of `project` that must reflect `at_least`, if one
    /// reaches it within the wait.
    async fn replica_for(&self, project: &str, at_least: Option<i64>) -> Option<&Arc<Replica>> {
        let Some(at_least) = at_least else {
            return self.in_turn().first().copied();
        };
        let deadline = Instant::now() + self.settings.wait;
        loop {
            // Looked at anew each time: one may have been set aside, or come back, meanwhile.
            let candidates = self.in_turn();
            if candidates.is_empty() {
                return None;
            }
            for replica in candidates {
                if replica.reached(project, at_least).await {
                    return Some(replica);
                }
            }
            if Instant::now() + CATCH_UP_POLL > deadline {
                return None;
            }
            tokio::time::sleep(CATCH_UP_POLL).await;
        }
    }

    /// `visibility` for a replica: its token, if recognised from memory, confirmed live on the
    /// primary, since the replica may not have replayed its revocation yet.
    async fn confirmed(&self, visibility: &Visibility) -> Result<Visibility, StoreError> {
        if let Some(id) = &visibility.while_live {
            let live = self.primary.find_token(id).await?;
            if !live.is_some_and(|t| t.live_at(time::unix_ms() / 1000)) {
                return Err(StoreError::TokenNotLive);
            }
        }
        Ok(Visibility {
            while_live: None,
            ..visibility.clone()
        })
    }

    /// The replica that serves a read of `project` by `visibility`, with the visibility it reads
    /// with; `None`: the primary serves it.
    async fn replica_route(
        &self,
        project: &str,
        visibility: &Visibility,
    ) -> Result<Option<(&Arc<Replica>, Visibility)>, StoreError> {
        match self.replica_for(project, visibility.at_least).await {
            Some(replica) => Ok(Some((replica, self.confirmed(visibility).await?))),
            None => Ok(None),
        }
    }

    /// The primary, for a read no replica served.
    fn primary_read(&self) -> &dyn Store {
        self.primary_reads.fetch_add(1, Ordering::Relaxed);
        &*self.primary
    }
}

#[async_trait]
impl TagStore for Replicated {
    async fn ping(&self) -> Result<(), StoreError> {
        self.primary.ping().await
    }

    fn pool_stats(&self) -> PoolStats {
        let mut stats = self.primary.pool_stats();
        for replica in &self.replicas {
            let s = replica.store().pool_stats();
            stats.size += s.size;
            stats.idle += s.idle;
        }
        stats
    }

    fn read_stats(&self) -> ReadStats {
        ReadStats {
            primary_reads: self.primary_reads.load(Ordering::Relaxed),
            replicas: self.replicas.iter().map(|r| r.stats()).collect(),
            postings: self.primary.read_stats().postings,
        }
    }

    async fn tag_resources(
        &self,
        scope: &Scope,
        ids: &[String],
        tags: &[Tag],
        limit: TagLimit<'_>,
        pre: WriteTerms<'_>,
    ) -> Result<i64, StoreError> {
        self.primary
            .tag_resources(scope, ids, tags, limit, pre)
            .await
    }

    async fn untag_resources(
        &self,
        scope: &Scope,
        ids: &[String],
        removal: Removal<'_>,
        pre: WriteTerms<'_>,
    ) -> Result<i64, StoreError> {
        self.primary.untag_resources(scope, ids, removal, pre).await
    }

    async fn put_resource(
        &self,
        scope: &Scope,
        id: &str,
        name: Option<&str>,
        visibility: &Visibility,
        pre: WriteTerms<'_>,
    ) -> Result<(ResourceRecord, i64), StoreError> {
        self.primary
            .put_resource(scope, id, name, visibility, pre)
            .await
    }

    async fn delete_resource(
        &self,
        scope: &Scope,
        id: &str,
        visibility: &Visibility,
        pre: WriteTerms<'_>,
    ) -> Result<Deletion, StoreError> {
        self.primary
            .delete_resource(scope, id, visibility, pre)
            .await
    }

    async fn resource_tags(
        &self,
        scope: &Scope,
        locator: &Locator,
        visibility: &Visibility,
    ) -> Result<Option<ResourceTags>, StoreError> {
        if let Some((replica, v)) = self.replica_route(&scope.project_id, visibility).await? {
            let answer = replica.store().resource_tags(scope, locator, &v).await;
            if replica.answered(&answer) {
                return answer;
            }
        }
        self.primary_read()
            .resource_tags(scope, locator, visibility)
            .await
    }

    async fn tag_rows(
        &self,
        scope: &Scope,
        query: &TagRowQuery,
        visibility: &Visibility,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<TagRow>, StoreError> {
        if let Some((replica, v)) = self.replica_route(&scope.project_id, visibility).await? {
            let answer = replica
                .store()
                .tag_rows(scope, query, &v, after, limit)
                .await;
            if replica.answered(&answer) {
                return answer;
            }
        }
        self.primary_read()
            .tag_rows(scope, query, visibility, after, limit)
            .await
    }

    async fn resources(
        &self,
        scope: &Scope,
        filter: &ResourceFilter,
        visibility: &Visibility,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ResourceRecord>, StoreError> {
        if let Some((replica, v)) = self.replica_route(&scope.project_id, visibility).await? {
            let answer = replica
                .store()
                .resources(scope, filter, &v, after, limit)
                .await;
            if replica.answered(&answer) {
                return answer;
            }
        }
        self.primary_read()
            .resources(scope, filter, visibility, after, limit)
            .await
    }

    async fn count_resources(
        &self,
        scope: &Scope,
        filter: &ResourceFilter,
        visibility: &Visibility,
    ) -> Result<i64, StoreError> {
        if let Some((replica, v)) = self.replica_route(&scope.project_id, visibility).await? {
            let answer = replica.store().count_resources(scope, filter, &v).await;
            if replica.answered(&answer) {
                return answer;
            }
        }
        self.primary_read()
            .count_resources(scope, filter, visibility)
            .await
    }

    async fn project_tags(
        &self,
        project_id: &str,
        resource_type: Option<&str>,
        visibility: &Visibility,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<KeyValues>, StoreError> {
        if let Some((replica, v)) = self.replica_route(project_id, visibility).await? {
            let answer = replica
                .store()
                .project_tags(project_id, resource_type, &v, after, limit)
                .await;
            if replica.answered(&answer) {
                return answer;
            }
        }
        self.primary_read()
            .project_tags(project_id, resource_type, visibility, after, limit)
            .await
    }

    async fn resource_page(
        &self,
        scope: &Scope,
        filter: &ResourceFilter,
        visibility: &Visibility,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<ResourceRecord>, i64), StoreError> {
        if let Some((replica, v)) = self.replica_route(&scope.project_id, visibility).await? {
            let answer = replica
                .store()
                .resource_page(scope, filter, &v, offset, limit)
                .await;
            if replica.answered(&answer) {
                return answer;
            }
        }
        self.primary_read()
            .resource_page(scope, filter, visibility, offset, limit)
            .await
    }

    async fn tag_changes(
        &self,
        project_id: &str,
        filter: &ChangeFilter,
        visibility: &Visibility,
        range: LogRange,
        limit: u32,
    ) -> Result<(Vec<Change>, Horizon), StoreError> {
        if let Some((replica, v)) = self.replica_route(project_id, visibility).await? {
            let answer = replica
                .store()
                .tag_changes(project_id, filter, &v, range, limit)
                .await;
            if replica.answered(&answer) {
                return answer;
            }
        }
        self.primary_read()
            .tag_changes(project_id, filter, visibility, range, limit)
            .await
    }

    /// The change feed follows the primary: it must see every revision as it commits.
    async fn horizon(&self, project_id: &str) -> Result<Horizon, StoreError> {
        self.primary.horizon(project_id).await
    }

    async fn compact_changes(&self, before_ms: i64) -> Result<u64, StoreError> {
        self.primary.compact_changes(before_ms).await
    }
}
