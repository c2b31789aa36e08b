//! The service itself, shared by the gRPC and REST faces: the operation table, the one call
//! pipeline, and each operation (validate, run the query, shape the answer). It speaks the API's
//! message types and the domain error, and knows nothing of transports or SQL.

mod admission;
mod changes;
mod convert;
mod listings;
pub mod operations;
mod pipeline;
mod resources;
mod tags;
mod watch;

use std::sync::Arc;

use rand::RngCore;

pub use admission::Admission;
pub use listings::{AllProjectTags, ResourcePage, ResourcePageRequest};
pub use operations::Operation;
pub use pipeline::{Answered, CallContext, Credentials, Face, Pipeline};
pub use watch::{ChangeFeed, WatchSettings, WatchStream};

use crate::{
    domain::{
        CONSISTENCY_HEADER, Caller, ConsistencyToken, Cursor, Error, Limits, PageTokens,
        QueryBinding, Rules, Scope, Visibility,
    },
    store::{PoolStats, ReadStats, Store, TagStore},
};

pub struct TaggingCore {
    store: Arc<dyn TagStore>,
    rules: Arc<Rules>,
    pages: PageTokens,
    feed: Arc<ChangeFeed>,
}

impl TaggingCore {
    /// The service over `store`, whose tags it reads and writes through `tags` (the same store,
    /// or one that reads from replicas).
    pub async fn new(
        store: &dyn Store,
        tags: Arc<dyn TagStore>,
        rules: Arc<Rules>,
        feed: Arc<ChangeFeed>,
    ) -> Result<Self, Error> {
        let mut fresh = [0u8; 32];
        rand::rng().fill_bytes(&mut fresh);
        let key = store.page_token_key(&fresh).await?;
        Ok(Self {
            store: tags,
            rules,
            pages: PageTokens::new(key),
            feed,
        })
    }

    /// The configured size limits, for the REST forms that page on the caller's behalf.
    pub fn limits(&self) -> &Limits {
        &self.rules.limits
    }

    pub fn pool_stats(&self) -> PoolStats {
        self.store.pool_stats()
    }

    pub fn read_stats(&self) -> ReadStats {
        self.store.read_stats()
    }

    /// The change feed: watchers, and the wake-ups of writes.
    pub fn feed(&self) -> &Arc<ChangeFeed> {
        &self.feed
    }

    /// Whether the database answers.
    pub async fn ready(&self) -> bool {
        self.store.ping().await.is_ok()
    }

    /// What `caller` may see in a read of `project`, held to the consistency token the request
    /// carries in its `consistency_token` field (empty: none) or else in the call's header.
    fn read_visibility(
        &self,
        caller: &Caller,
        project: &str,
        consistency_token: &str,
    ) -> Result<Visibility, Error> {
        let mut visibility = self.rules.visibility(caller);
        let (field, sent) = match (consistency_token, &caller.consistency_token) {
            ("", None) => return Ok(visibility),
            ("", Some(header)) => (CONSISTENCY_HEADER, header.as_str()),
            (field, _) => ("consistency_token", field),
        };
        let token = ConsistencyToken::parse(field, sent)?;
        visibility.at_least = Some(token.revision_for(field, project)?);
        Ok(visibility)
    }

    /// The cursor a request's `next_token` carries, which must be of the kind `want` accepts.
    fn cursor<T>(
        &self,
        token: &str,
        binding: &QueryBinding,
        want: impl FnOnce(Cursor) -> Option<T>,
    ) -> Result<Option<T>, Error> {
        match self.pages.open(token, binding)? {
            None => Ok(None),
            Some(c) => want(c).map(Some).ok_or_else(|| {
                Error::invalid(
                    "next_token",
                    "is not a token this service issued for this query",
                )
            }),
        }
    }

    /// Cuts the one row fetched beyond the page and answers the token of the next page: empty when
    /// there is none.
    fn next_token<T>(
        &self,
        rows: &mut Vec<T>,
        page_size: u32,
        binding: &QueryBinding,
        cursor: impl FnOnce(&T) -> Cursor,
    ) -> String {
        let page = page_size as usize;
        if rows.len() <= page {
            return String::new();
        }
        rows.truncate(page);
        rows.last()
            .map(|last| self.pages.issue(binding, &cursor(last)))
            .unwrap_or_default()
    }
}

/// The consistency token of a write in `scope` that answered `revision`.
fn consistency_token(scope: &Scope, revision: i64) -> String {
    ConsistencyToken::new(&scope.project_id, revision).encode()
}
