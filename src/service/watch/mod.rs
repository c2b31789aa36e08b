//! Watching the change log. The log is the truth: each project being watched has one feed
//! (`feed.rs`) that reads the project's new revisions from the log once, when a write of this
//! process commits, when another process announces one (`store::signals`), or at the latest
//! after a poll interval, and hands them to its watchers (`watcher.rs`) over a bounded
//! broadcast. A watcher that falls behind the broadcast reads what it missed from the log
//! itself, so a lost wake-up or a slow watcher delays events but never loses or repeats one.

mod feed;
mod watcher;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock, PoisonError},
    time::Duration,
};

use tokio::sync::{Semaphore, watch};

pub use watcher::WatchStream;

use super::{
    TaggingCore,
    changes::{FilterRequest, after_revision, kept},
};
use crate::{
    auth::Authenticator,
    domain::{Caller, Error, Violations, time::unix_ms},
    proto::pb,
    store::{Signals, TagStore, Wake},
};
use feed::ProjectFeed;

/// How watchers behave; see `--watch-bookmark-ms`, `--watch-buffer`, `--max-watchers`.
#[derive(Debug, Clone)]
pub struct WatchSettings {
    /// A watcher with nothing to send for this long sends a bookmark; a consumer that takes
    /// nothing for this long while messages wait is too slow, and its stream ends.
    pub bookmark: Duration,
    /// Messages a watcher holds for its consumer.
    pub buffer: usize,
    /// Watchers this process serves at once.
    pub max_watchers: usize,
    /// How often a watched project's feed reads the log without being woken.
    pub poll: Duration,
}

/// The feeds of the watched projects, and what every watcher shares.
pub struct ChangeFeed {
    store: Arc<dyn TagStore>,
    settings: WatchSettings,
    feeds: Mutex<HashMap<String, Arc<ProjectFeed>>>,
    permits: Arc<Semaphore>,
    /// Asked whether the credentials a watcher was opened with are still live.
    auth: Arc<Authenticator>,
    signals: OnceLock<Signals>,
    stopping: watch::Sender<bool>,
}

impl ChangeFeed {
    pub fn new(
        store: Arc<dyn TagStore>,
        settings: WatchSettings,
        auth: Arc<Authenticator>,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            permits: Arc::new(Semaphore::new(settings.max_watchers)),
            settings,
            feeds: Mutex::default(),
            auth,
            signals: OnceLock::new(),
            stopping: watch::Sender::new(false),
        })
    }

    /// Starts what runs beside the calls: signals to and from the other processes on the
    /// database `url` names, and the compaction of changes older than `retention`.
    pub fn start_background(self: &Arc<Self>, url: &str, retention: Duration) {
        let feed = Arc::downgrade(self);
        let wake: Wake = Arc::new(move |project| {
            if let Some(feed) = feed.upgrade() {
                feed.wake(project);
            }
        });
        let _ = self.signals.set(Signals::start(url, wake));
        tokio::spawn(compact(self.clone(), retention));
    }

    /// A write to `project` committed here: its feed reads the log now, and other processes
    /// are told.
    pub fn committed(&self, project: &str) {
        self.wake(Some(project));
        if let Some(signals) = self.signals.get() {
            signals.announce(project);
        }
    }

    /// Wakes the feed of `project`, or of every project (after a wake-up may have been lost).
    pub fn wake(&self, project: Option<&str>) {
        let feeds = self.feeds.lock().unwrap_or_else(PoisonError::into_inner);
        match project {
            Some(p) => feeds.get(p).into_iter().for_each(|f| f.wake()),
            None => feeds.values().for_each(|f| f.wake()),
        }
    }

    /// Ends every stream (with UNAVAILABLE) and stops the feeds: the server is shutting down.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Watchers being served now.
    pub fn watchers(&self) -> usize {
        self.settings.max_watchers - self.permits.available_permits()
    }

    /// The feed of `project`, started from revision `current` (read before this call) if it
    /// has none; subscribed under the same lock that a feed ending for want of watchers takes,
    /// so no watcher subscribes to a feed that ended.
    fn subscribe(self: &Arc<Self>, project: &str, current: i64) -> feed::Subscription {
        let mut feeds = self.feeds.lock().unwrap_or_else(PoisonError::into_inner);
        let feed = feeds
            .entry(project.to_owned())
            .or_insert_with(|| ProjectFeed::start(self.clone(), project.to_owned(), current));
        feed.subscribe()
    }

    /// Forgets `feed` if it still has no watcher; answers whether it did.
    fn retire(&self, feed: &ProjectFeed) -> bool {
        let mut feeds = self.feeds.lock().unwrap_or_else(PoisonError::into_inner);
        if feed.watched() {
            return false;
        }
        feeds.remove(feed.project());
        true
    }
}

/// Drops changes older than `retention`, from time to time, until the server stops.
async fn compact(feed: Arc<ChangeFeed>, retention: Duration) {
    let every = (retention / 4).clamp(Duration::from_secs(1), Duration::from_secs(600));
    let retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    let mut stopping = feed.stopping.subscribe();
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stopping.changed() => return,
        }
        let before = unix_ms().saturating_sub(retention_ms);
        match feed.store.compact_changes(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(revisions = n, "compacted the change log"),
            Err(e) => tracing::warn!(error = %e, "cannot compact the change log"),
        }
    }
}

impl TaggingCore {
    pub async fn watch_tag_changes(
        &self,
        caller: &Caller,
        req: pb::WatchTagChangesRequest,
    ) -> Result<WatchStream, Error> {
        let project = caller.project_for(&req.project_id)?;
        let mut v = Violations::default();
        let filter = self.change_filter(
            &mut v,
            caller,
            FilterRequest {
                resource_type: &req.resource_type,
                resource_ids: req.resource_ids,
                keys: req.keys,
            },
        );
        if let Some(after) = req.after_revision {
            after_revision(&mut v, after);
        }
        v.finish()?;
        let feed = self.feed.clone();
        let permit = feed.permits.clone().try_acquire_owned().map_err(|_| {
            Error::ResourceExhausted(format!(
                "this server already serves {} watchers (--max-watchers); retry later or on another server",
                feed.settings.max_watchers
            ))
        })?;
        let horizon = feed.store.horizon(&project).await?;
        let start = match req.after_revision {
            Some(after) => kept(after, horizon)?,
            None => horizon.current,
        };
        let subscription = feed.subscribe(&project, horizon.current);
        Ok(watcher::start(watcher::Watcher {
            feed,
            project,
            filter,
            visibility: self.rules.visibility(caller),
            credentials: caller.credentials.clone(),
            cursor: start,
            subscription,
            _permit: permit,
            rules: self.rules.clone(),
        }))
    }
}
