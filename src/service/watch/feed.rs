//! One watched project's feed: reads the project's new revisions from the log, each once, and
//! broadcasts them whole to the project's watchers, whatever their filters.

use std::sync::Arc;

use tokio::sync::{Notify, broadcast};

use super::ChangeFeed;
use crate::{
    domain::{Change, ChangeFilter, Visibility},
    store::sql::LogRange,
};

/// Changes read per statement.
const PAGE: u32 = 1000;

/// One revision's changes, every one of them.
#[derive(Debug)]
pub struct Revision {
    pub revision: i64,
    pub changes: Vec<Change>,
}

/// A watcher's end of a feed: while one is held, the feed goes on.
pub type Subscription = broadcast::Receiver<Arc<Revision>>;

pub struct ProjectFeed {
    project: String,
    woken: Notify,
    revisions: broadcast::Sender<Arc<Revision>>,
}

impl ProjectFeed {
    /// The feed of `project`, broadcasting the revisions after `from`, in a task of its own.
    /// `from` is the project's revision read before its first watcher subscribed: revisions the
    /// watcher's catch-up may not have read are then all broadcast.
    pub fn start(hub: Arc<ChangeFeed>, project: String, from: i64) -> Arc<Self> {
        let feed = Arc::new(Self {
            project,
            woken: Notify::new(),
            revisions: broadcast::Sender::new(hub.settings.buffer.max(1)),
        });
        tokio::spawn(follow(hub, feed.clone(), from));
        feed
    }

    pub fn project(&self) -> &str {
        &self.project
    }

    pub fn wake(&self) {
        self.woken.notify_one();
    }

    pub fn subscribe(&self) -> Subscription {
        self.revisions.subscribe()
    }

    /// Whether a watcher holds a subscription.
    pub fn watched(&self) -> bool {
        self.revisions.receiver_count() > 0
    }
}

/// Reads and broadcasts the project's revisions until no watcher is left or the server stops.
async fn follow(hub: Arc<ChangeFeed>, feed: Arc<ProjectFeed>, from: i64) {
    let mut stopping = hub.stopping.subscribe();
    let mut cursor = from;
    loop {
        if *stopping.borrow() || (!feed.watched() && hub.retire(&feed)) {
            return;
        }
        match read_new(&hub, &feed, cursor).await {
            Ok(at) => cursor = at,
            Err(e) => {
                tracing::warn!(project = %feed.project, error = %e, "cannot read the change log")
            }
        }
        tokio::select! {
            () = feed.woken.notified() => {}
            () = tokio::time::sleep(hub.settings.poll) => {}
            _ = stopping.changed() => return,
        }
    }
}

/// Broadcasts the revisions after `cursor`; answers the last revision read.
async fn read_new(
    hub: &ChangeFeed,
    feed: &ProjectFeed,
    mut cursor: i64,
) -> Result<i64, crate::store::StoreError> {
    let everything = ChangeFilter::default();
    let all = Visibility::default();
    let mut after = (cursor, i64::MAX);
    let mut pending: Option<Revision> = None;
    loop {
        let range = LogRange { after, upto: None };
        let (changes, horizon) = hub
            .store
            .tag_changes(&feed.project, &everything, &all, range, PAGE)
            .await?;
        let full = changes.len() == PAGE as usize;
        for change in changes {
            after = (change.revision, change.seq);
            match &mut pending {
                Some(r) if r.revision == change.revision => r.changes.push(change),
                _ => {
                    if let Some(done) = pending.take() {
                        cursor = done.revision;
                        let _ = feed.revisions.send(Arc::new(done));
                    }
                    pending = Some(Revision {
                        revision: change.revision,
                        changes: vec![change],
                    });
                }
            }
        }
        if !full {
            // The page ended at the snapshot's current revision: the last one read is whole.
            if let Some(done) = pending.take() {
                cursor = done.revision;
                let _ = feed.revisions.send(Arc::new(done));
            }
            // Compacted past what this feed read: its watchers find the gap and the log says why.
            return Ok(cursor.max(horizon.compacted));
        }
    }
}
