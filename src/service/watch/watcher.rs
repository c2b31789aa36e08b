//! One watcher: catches up from the log, then follows its project's feed, sending the changes
//! its filter selects one revision per message, and a bookmark when idle, into a bounded
//! buffer its stream drains.

use std::{
    pin::Pin,
    sync::{Arc, OnceLock},
    task::{Context, Poll},
};

use prost::Message as _;
use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore, broadcast::error::RecvError, mpsc},
    time::Instant,
};
use tokio_stream::Stream;

use super::{ChangeFeed, feed::Subscription};
use crate::{
    domain::{Change, ChangeFilter, CredentialIds, Error, Rules, Visibility},
    proto::pb,
    service::changes::change_out,
    store::sql::LogRange,
};

/// Changes read per statement while catching up.
const PAGE: u32 = 1000;
/// Bytes of messages a watcher holds for its consumer, at most, whatever `--watch-buffer`
/// allows: one revision can carry a thousand changes.
const MAX_BUFFERED_BYTES: u32 = 1 << 20;

type Message = pb::WatchTagChangesResponse;

/// A watcher's side of its buffer: the messages with their sizes, and what is left of the
/// buffer's bytes, which the stream gives back as its consumer takes them.
struct Outbox {
    messages: mpsc::Sender<(Message, u32)>,
    budget: Arc<Semaphore>,
}

pub struct Watcher {
    pub feed: Arc<ChangeFeed>,
    pub project: String,
    pub filter: ChangeFilter,
    pub visibility: Visibility,
    pub credentials: CredentialIds,
    /// Every matching change up to this revision was sent.
    pub cursor: i64,
    pub subscription: Subscription,
    /// Held while the watcher runs: `--max-watchers` counts it.
    pub _permit: OwnedSemaphorePermit,
    pub rules: Arc<Rules>,
}

/// The messages of one watch, ending with the error that ended it, if one did. An error is
/// answered as soon as it happens, ahead of messages still buffered: the consumer resumes from
/// the last revision it received.
pub struct WatchStream {
    messages: mpsc::Receiver<(Message, u32)>,
    budget: Arc<Semaphore>,
    ended: Arc<OnceLock<Error>>,
    done: bool,
}

impl Stream for WatchStream {
    type Item = Result<Message, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Some(e) = self.ended.get().cloned() {
            self.done = true;
            return Poll::Ready(Some(Err(e)));
        }
        match self.messages.poll_recv(cx) {
            Poll::Ready(Some((m, size))) => {
                self.budget.add_permits(size as usize);
                Poll::Ready(Some(Ok(m)))
            }
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(self.ended.get().cloned().map(Err))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Runs `watcher` in a task of its own; the stream is its consumer's end.
pub fn start(watcher: Watcher) -> WatchStream {
    let (out, messages) = mpsc::channel(watcher.feed.settings.buffer.max(1));
    let budget = Arc::new(Semaphore::new(MAX_BUFFERED_BYTES as usize));
    let out = Outbox {
        messages: out,
        budget: budget.clone(),
    };
    let ended = Arc::new(OnceLock::new());
    let end = ended.clone();
    tokio::spawn(async move {
        if let Err(e) = watcher.run(&out).await {
            let _ = end.set(e);
        }
    });
    WatchStream {
        messages,
        budget,
        ended,
        done: false,
    }
}

impl Watcher {
    async fn run(mut self, out: &Outbox) -> Result<(), Error> {
        let mut stopping = self.feed.stopping.subscribe();
        if *stopping.borrow_and_update() {
            return Err(shutting_down());
        }
        self.catch_up(out, None).await?;
        let bookmark = self.feed.settings.bookmark;
        let mut quiet_since = Instant::now();
        // Checked on a clock of its own: a busy project's stream never goes quiet.
        let mut checked_at = Instant::now();
        loop {
            tokio::select! {
                got = self.subscription.recv() => match got {
                    Ok(revision) if revision.revision <= self.cursor => {}
                    Ok(revision) => {
                        if revision.revision > self.cursor + 1 {
                            // A revision this watcher did not get from the feed: read it.
                            self.catch_up(out, Some(revision.revision - 1)).await?;
                        }
                        if self.deliver(out, revision.revision, &revision.changes).await? {
                            quiet_since = Instant::now();
                        }
                    }
                    Err(RecvError::Lagged(_)) => self.catch_up(out, None).await?,
                    Err(RecvError::Closed) => return Err(shutting_down()),
                },
                () = tokio::time::sleep_until(checked_at + bookmark) => {
                    self.check_credentials().await?;
                    checked_at = Instant::now();
                }
                () = tokio::time::sleep_until(quiet_since + bookmark) => {
                    let mark = Message { revision: self.cursor, changes: Vec::new(), bookmark: true };
                    self.send(out, mark).await?;
                    quiet_since = Instant::now();
                }
                () = out.messages.closed() => return Ok(()),
                _ = stopping.changed() => return Err(shutting_down()),
            }
        }
    }

    /// Ends the stream when the credentials it was opened with are no longer live.
    async fn check_credentials(&self) -> Result<(), Error> {
        if self.feed.auth.still_live(&self.credentials).await? {
            return Ok(());
        }
        Err(Error::Unauthenticated(
            "the credentials this stream was opened with were revoked or expired".into(),
        ))
    }

    /// Sends the matching changes after the cursor up to `upto` (the project's current revision
    /// when `None`) from the log, a revision at a time.
    async fn catch_up(&mut self, out: &Outbox, upto: Option<i64>) -> Result<(), Error> {
        let mut after = (self.cursor, i64::MAX);
        let mut pending: Vec<Change> = Vec::new();
        loop {
            let range = LogRange { after, upto };
            let (changes, horizon) = self
                .feed
                .store
                .tag_changes(&self.project, &self.filter, &self.visibility, range, PAGE)
                .await?;
            // Compacted past where this page starts: rows it should hold are gone.
            if range.after.0 < horizon.compacted {
                return Err(Error::Compacted {
                    after: range.after.0,
                    oldest: horizon.compacted + 1,
                });
            }
            let full = changes.len() == PAGE as usize;
            for change in changes {
                after = (change.revision, change.seq);
                if pending
                    .first()
                    .is_some_and(|p| p.revision != change.revision)
                {
                    let revision = pending[0].revision;
                    self.deliver(out, revision, &std::mem::take(&mut pending))
                        .await?;
                }
                pending.push(change);
            }
            if !full {
                if let Some(first) = pending.first() {
                    let revision = first.revision;
                    self.deliver(out, revision, &pending).await?;
                }
                self.cursor = self
                    .cursor
                    .max(upto.unwrap_or(horizon.current).min(horizon.current));
                return Ok(());
            }
        }
    }

    /// Sends what `changes` of `revision` match, if any; answers whether it sent anything.
    async fn deliver(
        &mut self,
        out: &Outbox,
        revision: i64,
        changes: &[Change],
    ) -> Result<bool, Error> {
        let matching: Vec<pb::TagChange> = changes
            .iter()
            .filter(|c| self.filter.admits(c, &self.visibility))
            .map(|c| change_out(&self.rules.catalog, c.clone()))
            .collect();
        self.cursor = revision;
        if matching.is_empty() {
            return Ok(false);
        }
        let message = Message {
            revision,
            changes: matching,
            bookmark: false,
        };
        self.send(out, message).await?;
        Ok(true)
    }

    /// Buffers `message`, waiting at most a bookmark interval for room (a free place and its
    /// bytes): a consumer that takes nothing for that long is too slow, and its stream ends
    /// rather than its buffer grows.
    async fn send(&self, out: &Outbox, message: Message) -> Result<(), Error> {
        let revision = message.revision;
        let size = u32::try_from(message.encoded_len())
            .unwrap_or(u32::MAX)
            .min(MAX_BUFFERED_BYTES);
        let buffered = async {
            let room = out.budget.acquire_many(size).await;
            room.expect("the budget is never closed").forget();
            out.messages.send((message, size)).await
        };
        match tokio::time::timeout(self.feed.settings.bookmark, buffered).await {
            Ok(Ok(())) => Ok(()),
            // The consumer is gone: nobody reads this error.
            Ok(Err(_)) => Err(Error::ResourceExhausted("the consumer went away".into())),
            Err(_) => Err(Error::ResourceExhausted(format!(
                "the consumer took no message for {} ms while its buffer was full: too slow to keep up; resume after the last revision received (this stream had reached {revision})",
                self.feed.settings.bookmark.as_millis(),
            ))),
        }
    }
}

fn shutting_down() -> Error {
    Error::ShuttingDown(
        "the server is shutting down; resume after the last revision received, here or on another server".into(),
    )
}
