//! Tells the other service processes on one PostgreSQL database that a project has new
//! revisions, and hears them tell this one: `NOTIFY` after a write commits, `LISTEN` on a
//! connection of its own. A signal only wakes a feed, which then reads the log, so a lost
//! one (a connection dropped, a process killed between its commit and its `NOTIFY`) only
//! delays events until the feed's next poll.

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use sqlx::{
    Connection,
    postgres::{PgConnection, PgListener},
};
use tokio::sync::mpsc;

const CHANNEL: &str = "tagging_changes";
/// Projects waiting to be announced; beyond this a signal is dropped, and polling covers it.
const QUEUE: usize = 4096;
const RETRY: Duration = Duration::from_secs(1);

/// What to wake: the feed of one project, or every feed (`None`) after signals may have been
/// lost.
pub type Wake = Arc<dyn Fn(Option<&str>) + Send + Sync>;

/// This process's end of the signals: announces its commits. Inert on SQLite, where other
/// processes' writes reach watchers by polling.
#[derive(Clone, Default)]
pub struct Signals {
    announce: Option<mpsc::Sender<String>>,
}

impl Signals {
    /// Starts announcing and listening on the PostgreSQL database `url` names; nothing for
    /// another database.
    pub fn start(url: &str, wake: Wake) -> Self {
        if !(url.starts_with("postgres:") || url.starts_with("postgresql:")) {
            return Self::default();
        }
        // Signals carry this process's mark, so it does not wake itself twice.
        let me = uuid::Uuid::new_v4().simple().to_string();
        let (announce, queue) = mpsc::channel(QUEUE);
        tokio::spawn(announcing(url.to_owned(), me.clone(), queue));
        tokio::spawn(listening(url.to_owned(), me, wake));
        Self {
            announce: Some(announce),
        }
    }

    /// Tells the other processes that `project` has a new revision.
    pub fn announce(&self, project: &str) {
        if let Some(announce) = &self.announce {
            let _ = announce.try_send(project.to_owned());
        }
    }
}

/// Sends one `NOTIFY` per project waiting, on a connection of its own, for as long as this
/// process announces.
async fn announcing(url: String, me: String, mut queue: mpsc::Receiver<String>) {
    let mut conn: Option<PgConnection> = None;
    while let Some(first) = queue.recv().await {
        // Everything queued meanwhile goes out with it, once per project.
        let mut projects = BTreeSet::from([first]);
        while let Ok(more) = queue.try_recv() {
            projects.insert(more);
        }
        if conn.is_none() {
            conn = PgConnection::connect(&url)
                .await
                .inspect_err(|e| tracing::warn!(error = %e, "cannot connect to announce changes"))
                .ok();
        }
        let Some(c) = conn.as_mut() else {
            tokio::time::sleep(RETRY).await;
            continue;
        };
        for project in projects {
            let sent = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(format!("{me} {project}"))
                .execute(&mut *c)
                .await;
            if let Err(e) = sent {
                tracing::warn!(error = %e, "cannot announce changes");
                conn = None;
                break;
            }
        }
    }
}

/// Wakes the feed of each project announced by another process, and every feed whenever the
/// connection is (re)made, since signals sent meanwhile were lost.
async fn listening(url: String, me: String, wake: Wake) {
    loop {
        if let Err(e) = listen(&url, &me, &wake).await {
            tracing::warn!(error = %e, "lost the change signals; listening again");
        }
        tokio::time::sleep(RETRY).await;
    }
}

async fn listen(url: &str, me: &str, wake: &Wake) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    wake(None);
    loop {
        // `None`: the connection was lost, and is made again on the next call.
        let Some(signal) = listener.try_recv().await? else {
            wake(None);
            continue;
        };
        match signal.payload().split_once(' ') {
            Some((from, _)) if from == me => {}
            Some((_, project)) => wake(Some(project)),
            None => wake(None),
        }
    }
}
