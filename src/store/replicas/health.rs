//! One replica and the background check of its health: whether it answers, how far behind the
//! primary it replays, and whether its schema is this binary's.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError, Weak,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::time::Instant;

use super::{ReplicaStats, clock::PrimaryClock};
use crate::store::{
    StoreError, TagStore,
    backend::{Backend, SqlStore},
    postgres::PostgresBackend,
};

/// How often each replica's health is checked.
const CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// A read replica of the primary.
pub struct Replica {
    name: String,
    store: SqlStore<PostgresBackend>,
    usable: AtomicBool,
    /// Replay lag at the last check, in seconds; `None` when it did not answer.
    lag_seconds: Mutex<Option<f64>>,
    /// Whether its schema was found to be this binary's; checked until it is.
    schema_checked: AtomicBool,
    reads: AtomicU64,
    /// The highest revision of each project the replica was seen to have replayed: a token at or
    /// below it needs no read. Replay only goes forward; forgotten when the replica is set aside.
    reached: Mutex<HashMap<String, i64>>,
}

/// Projects whose reached revision a replica remembers; past this, it starts over.
const REACHED_REMEMBERED: usize = 10_000;

impl Replica {
    /// A replica at `url`, named `name` in logs and metrics; not used until its first health
    /// check passes, so a replica that is down at start-up delays nothing.
    pub fn new(name: String, store: SqlStore<PostgresBackend>) -> Self {
        Self {
            name,
            store,
            usable: AtomicBool::new(false),
            lag_seconds: Mutex::new(None),
            schema_checked: AtomicBool::new(false),
            reads: AtomicU64::new(0),
            reached: Mutex::default(),
        }
    }

    pub fn store(&self) -> &dyn TagStore {
        &self.store
    }

    pub fn usable(&self) -> bool {
        self.usable.load(Ordering::Relaxed)
    }

    /// Whether the replica answered a read itself (counted), rather than failing as a server
    /// (set aside: the primary answers instead).
    pub fn answered<T>(&self, answer: &Result<T, StoreError>) -> bool {
        match answer {
            Err(e @ (StoreError::Unavailable(_) | StoreError::Other(_))) => {
                self.set_aside(e);
                false
            }
            _ => {
                self.reads.fetch_add(1, Ordering::Relaxed);
                true
            }
        }
    }

    /// Whether the replica has replayed `project`'s revision `at_least`; a failure sets it aside.
    pub async fn reached(&self, project: &str, at_least: i64) -> bool {
        if self.remembered(project) >= at_least {
            return true;
        }
        match self.store.horizon(project).await {
            Ok(horizon) => {
                self.remember(project, horizon.current);
                horizon.current >= at_least
            }
            Err(e) => {
                self.set_aside(&e);
                false
            }
        }
    }

    /// A replica out of use may come back as another server (restored, or rebuilt from a
    /// backup), behind what it was seen to have replayed.
    fn forget_reached(&self) {
        self.reached
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn remembered(&self, project: &str) -> i64 {
        let reached = self.reached.lock().unwrap_or_else(PoisonError::into_inner);
        reached.get(project).copied().unwrap_or(0)
    }

    fn remember(&self, project: &str, revision: i64) {
        let mut reached = self.reached.lock().unwrap_or_else(PoisonError::into_inner);
        if reached.len() >= REACHED_REMEMBERED && !reached.contains_key(project) {
            reached.clear();
        }
        let known = reached.entry(project.to_owned()).or_default();
        *known = (*known).max(revision);
    }

    /// Stops using the replica until its next health check passes.
    pub fn set_aside(&self, cause: &StoreError) {
        self.forget_reached();
        if self.usable.swap(false, Ordering::Relaxed) {
            tracing::warn!(replica = %self.name, error = %cause, "read replica set aside; reads go to the primary");
        }
    }

    pub fn stats(&self) -> ReplicaStats {
        ReplicaStats {
            name: self.name.clone(),
            usable: self.usable(),
            lag_seconds: *self
                .lag_seconds
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
            reads: self.reads.load(Ordering::Relaxed),
        }
    }

    /// Checks the replica once and uses it, or not, according to what it answered.
    async fn check(&self, clock: &PrimaryClock, max_lag: Duration) {
        let lag = self.replay_lag(clock).await;
        *self
            .lag_seconds
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = lag.as_ref().ok().copied();
        let verdict = match lag {
            Ok(lag) if lag <= max_lag.as_secs_f64() => Ok(()),
            Ok(lag) => Err(format!(
                "replays {lag:.3} s behind the primary, more than --replica-max-lag-ms"
            )),
            Err(e) => Err(e.to_string()),
        };
        match verdict {
            Ok(()) => {
                if !self.usable.swap(true, Ordering::Relaxed) {
                    tracing::info!(replica = %self.name, "read replica in use");
                }
            }
            Err(cause) => {
                self.forget_reached();
                if self.usable.swap(false, Ordering::Relaxed) {
                    tracing::warn!(replica = %self.name, cause = %cause, "read replica skipped; reads go to the primary");
                }
            }
        }
    }

    /// How far behind the primary the replica replays, in seconds (see `clock.rs`). Checks its
    /// schema first, until it is found to be this binary's.
    async fn replay_lag(&self, clock: &PrimaryClock) -> Result<f64, StoreError> {
        if !self.schema_checked.load(Ordering::Relaxed) {
            self.store.backend.check_schema().await?;
            self.schema_checked.store(true, Ordering::Relaxed);
        }
        let (standby, replayed): (bool, i64) =
            SqlStore::<PostgresBackend>::on(self.store.backend.reader(), async |c| {
                Ok(sqlx::query_as(REPLAYED).fetch_one(&mut *c).await?)
            })
            .await?;
        if !standby {
            // A primary named as a replica is not behind.
            return Ok(0.0);
        }
        clock
            .behind(replayed, Instant::now())
            .map(|lag| lag.as_secs_f64())
            .ok_or_else(|| {
                StoreError::Unavailable("the primary's WAL position is not known yet".into())
            })
    }
}

/// Whether the server is a standby, and the WAL position it has replayed.
const REPLAYED: &str = "SELECT pg_is_in_recovery(), \
    pg_wal_lsn_diff(COALESCE(pg_last_wal_replay_lsn(), '0/0'), '0/0')::bigint";

/// Samples the primary's WAL position, and checks each replica's health against it, every
/// [`CHECK_INTERVAL`]; each replica on its own, so that one that hangs delays no other; for as
/// long as the replicas are in use.
pub fn watch(replicas: &[Arc<Replica>], clock: PrimaryClock, max_lag: Duration) {
    let clock = Arc::new(clock);
    let sampled: Weak<PrimaryClock> = Arc::downgrade(&clock);
    let replicas: Vec<Weak<Replica>> = replicas.iter().map(Arc::downgrade).collect();
    let in_use = replicas.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECK_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if in_use.iter().all(|r| r.strong_count() == 0) {
                return;
            }
            // A primary that does not answer leaves the last samples as they are.
            let _ = clock.sample().await;
        }
    });
    for replica in replicas {
        let clock = sampled.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(CHECK_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let (Some(replica), Some(clock)) = (replica.upgrade(), clock.upgrade()) else {
                    return;
                };
                replica.check(&clock, max_lag).await;
            }
        });
    }
}
