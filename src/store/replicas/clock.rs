//! How far behind the primary a replica is, in time: the primary's WAL position is sampled at every
//! health check, so the age of the oldest sample past a replica's replayed position is the age of
//! the oldest write the replica has not replayed (to within one check).
//!
//! A replica's own view, the time since the last transaction it replayed, is no measure: after
//! the primary has been quiet for an hour, a replica a millisecond behind its next write would
//! look an hour behind.

use std::{
    collections::VecDeque,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use tokio::time::Instant;

use crate::store::{
    StoreError,
    backend::{Backend, SqlStore},
    postgres::PostgresBackend,
};

/// A WAL position, in bytes from the start.
const POSITION: &str = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint";

/// The primary's WAL positions over the last while.
pub struct PrimaryClock {
    primary: SqlStore<PostgresBackend>,
    /// Oldest first.
    samples: Mutex<VecDeque<(Instant, i64)>>,
    /// Samples older than this are forgotten: a replica behind all of them is at least this far
    /// behind, which is all that the decision to skip it needs.
    keep: Duration,
}

impl PrimaryClock {
    pub fn new(primary: SqlStore<PostgresBackend>, keep: Duration) -> Self {
        Self {
            primary,
            samples: Mutex::default(),
            keep,
        }
    }

    /// Reads the primary's position now.
    pub async fn sample(&self) -> Result<(), StoreError> {
        let position: i64 =
            SqlStore::<PostgresBackend>::on(self.primary.backend.reader(), async |c| {
                Ok(sqlx::query_scalar(POSITION).fetch_one(&mut *c).await?)
            })
            .await?;
        self.record(Instant::now(), position);
        Ok(())
    }

    fn record(&self, at: Instant, position: i64) {
        let mut samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        samples.push_back((at, position));
        while samples.len() > 1 && samples.front().is_some_and(|(t, _)| at - *t > self.keep) {
            samples.pop_front();
        }
    }

    /// How long the primary has been past `replayed`, as of `now`: zero when its last sample is
    /// not past it; `None` before the first sample.
    pub fn behind(&self, replayed: i64, now: Instant) -> Option<Duration> {
        let samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        let (_, latest) = samples.back()?;
        if *latest <= replayed {
            return Some(Duration::ZERO);
        }
        samples
            .iter()
            .find(|(_, position)| *position > replayed)
            .map(|(at, _)| now.saturating_duration_since(*at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> PrimaryClock {
        let options = "postgres://nobody@127.0.0.1:1/none";
        let pool = crate::store::PoolSettings {
            max_connections: 1,
            acquire_timeout: Duration::from_millis(10),
            statement_timeout: None,
            postings_bytes: 0,
        };
        let backend = PostgresBackend::on_demand(options, &pool).expect("a lazy pool");
        let store = SqlStore::new(
            backend,
            std::sync::Arc::new(crate::store::postings::Postings::new(0)),
        );
        PrimaryClock::new(store, Duration::from_secs(60))
    }

    #[tokio::test]
    async fn a_replica_is_as_far_behind_as_the_oldest_write_it_has_not_replayed() {
        let c = clock();
        let t0 = Instant::now();
        assert_eq!(
            c.behind(0, t0),
            None,
            "nothing is known before the first sample"
        );
        // The primary was quiet at 100 for an hour, then wrote.
        c.record(t0, 100);
        c.record(t0 + Duration::from_secs(3600), 100);
        c.record(t0 + Duration::from_secs(3601), 150);
        let now = t0 + Duration::from_secs(3602);
        assert_eq!(c.behind(100, now), Some(Duration::from_secs(1)));
        assert_eq!(c.behind(150, now), Some(Duration::ZERO));
        assert_eq!(
            c.behind(200, now),
            Some(Duration::ZERO),
            "a replica ahead of a sample"
        );
        // Samples past `keep` are forgotten: the oldest kept one bounds the lag from below.
        assert_eq!(c.behind(50, now), Some(Duration::from_secs(2)));
    }
}
