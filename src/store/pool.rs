//! The connection pool of both backends.
//!
//! sqlx's own pool sends the database one more message every time a connection comes back (a
//! ping, to drain whatever a dropped caller left behind), and another one before each use unless
//! told otherwise. A read here is one statement, so that ping doubled the database's work per call.
//! This pool gives a connection back without a word when its call ended cleanly, and decides the
//! other cases explicitly:
//! - a call dropped while holding a connection (its deadline passed, its client went away) may
//!   have left a statement running, waiting for a lock say: the connection is closed instead of
//!   waiting for it. PostgreSQL, which checks that its client is still there, cancels the
//!   statement. SQLite runs it on a thread of its own, which a dropped call does not stop: the
//!   connection's [`Interrupt`] stops it at its next progress check, and the connection keeps its
//!   place in the pool until it has closed, so no more statements run than the pool holds;
//! - a call that failed pings its connection before reuse, which also sends the rollback of a
//!   transaction it dropped (sqlx queues it), so no lock outlives the call; a connection that does
//!   not answer within [`SETTLE_WAIT`], or whose failure said the database was unavailable, is closed;
//! - a connection idle for [`PING_IDLE_AFTER`] or more is pinged before use, so one broken while
//!   idle is replaced rather than failing its next call.

use std::{
    ops::{Deref, DerefMut},
    pin::Pin,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use sqlx::Connection;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{PoolStats, StoreError};
use crate::telemetry::traces::CallSlot;

/// A connection idle this long is pinged before it is handed out.
const PING_IDLE_AFTER: Duration = Duration::from_secs(1);
/// How long a connection that failed a call may take to answer its ping before it is closed.
const SETTLE_WAIT: Duration = Duration::from_secs(1);

/// Set to stop whatever statement its connection is running, for good.
pub type Interrupt = Arc<AtomicBool>;

/// A connection as opened, with its interrupt when the backend has one, and the slot its
/// statements' spans find their call's trace in when the backend reports them on a thread of
/// its own (SQLite, with tracing on).
pub struct Opened<C> {
    pub conn: C,
    pub interrupt: Option<Interrupt>,
    pub traced: Option<Arc<CallSlot>>,
}

/// Opens one connection, set up for the service (session settings and the like).
pub type Connect<C> = Box<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<Opened<C>, sqlx::Error>> + Send>> + Send + Sync,
>;

pub struct Pool<C: Connection + 'static> {
    connect: Connect<C>,
    /// Most recently used last: a busy pool reuses its warmest connections.
    idle: Mutex<Vec<(Opened<C>, Instant)>>,
    /// One permit per connection the pool may hold.
    permits: Arc<Semaphore>,
    open: Arc<AtomicU32>,
    acquire_timeout: Duration,
}

impl<C: Connection + 'static> Pool<C> {
    /// A pool of at most `max` connections, opened on demand by `connect`; callers wait up to
    /// `acquire_timeout` for one before being told the database is unavailable.
    pub fn new(connect: Connect<C>, max: u32, acquire_timeout: Duration) -> Self {
        Self {
            connect,
            idle: Mutex::default(),
            permits: Arc::new(Semaphore::new(usize::try_from(max).unwrap_or(usize::MAX))),
            open: Arc::default(),
            acquire_timeout,
        }
    }

    /// Opens the first connection, so a database that cannot be reached fails start-up.
    pub async fn warm_up(&self) -> Result<(), StoreError> {
        let lease = self.acquire().await?;
        lease.release(&Ok(())).await;
        Ok(())
    }

    pub fn stats(&self) -> PoolStats {
        PoolStats {
            size: self.open.load(Ordering::Relaxed),
            idle: u32::try_from(self.idle().len()).unwrap_or(u32::MAX),
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<(Opened<C>, Instant)>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A connection for one call: waits for a free place, then reuses an idle connection or
    /// opens one.
    pub async fn acquire(&self) -> Result<Lease<'_, C>, StoreError> {
        let timed_out =
            || StoreError::Unavailable("no database connection became free in time".into());
        let deadline = tokio::time::Instant::now() + self.acquire_timeout;
        let permit = tokio::time::timeout_at(deadline, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| timed_out())?
            .map_err(|_| StoreError::Unavailable("the connection pool is closed".into()))?;
        loop {
            let reused = self.idle().pop();
            let Some((mut opened, since)) = reused else {
                break;
            };
            if since.elapsed() < PING_IDLE_AFTER || opened.conn.ping().await.is_ok() {
                return Ok(self.lease(opened, permit));
            }
            self.open.fetch_sub(1, Ordering::Relaxed);
        }
        let conn = tokio::time::timeout_at(deadline, (self.connect)())
            .await
            .map_err(|_| timed_out())??;
        self.open.fetch_add(1, Ordering::Relaxed);
        Ok(self.lease(conn, permit))
    }

    fn lease(&self, opened: Opened<C>, permit: OwnedSemaphorePermit) -> Lease<'_, C> {
        if let Some(slot) = &opened.traced {
            slot.enter();
        }
        Lease {
            pool: self,
            conn: Some(opened),
            permit: Some(permit),
        }
    }
}

/// A connection held for one call. Dropped without [`Lease::release`], it is closed.
pub struct Lease<'p, C: Connection + 'static> {
    pool: &'p Pool<C>,
    conn: Option<Opened<C>>,
    permit: Option<OwnedSemaphorePermit>,
}

impl<C: Connection + 'static> Lease<'_, C> {
    /// Gives the connection back once its call has `result`: as it is after a success, after a
    /// ping (bounded by [`SETTLE_WAIT`]) after a failure, and closed when the failure was the
    /// database being unavailable.
    pub async fn release<T>(mut self, result: &Result<T, StoreError>) {
        let Some(mut opened) = self.conn.take() else {
            return;
        };
        if let Some(slot) = &opened.traced {
            slot.leave();
        }
        let reusable = match result {
            Ok(_) => true,
            Err(StoreError::Unavailable(_)) => false,
            Err(_) => matches!(
                tokio::time::timeout(SETTLE_WAIT, opened.conn.ping()).await,
                Ok(Ok(()))
            ),
        };
        if reusable {
            self.pool.idle().push((opened, Instant::now()));
        } else {
            self.pool.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl<C: Connection + 'static> Drop for Lease<'_, C> {
    fn drop(&mut self) {
        // Not released: the call was dropped mid-statement.
        let Some(opened) = self.conn.take() else {
            return;
        };
        let open = self.pool.open.clone();
        let runtime = tokio::runtime::Handle::try_current();
        match (opened.interrupt, runtime) {
            (Some(interrupt), Ok(runtime)) => {
                interrupt.store(true, Ordering::Relaxed);
                let permit = self.permit.take();
                runtime.spawn(async move {
                    let _ = opened.conn.close().await;
                    open.fetch_sub(1, Ordering::Relaxed);
                    drop(permit);
                });
            }
            // Dropping the connection closes its socket, which also ends the statement's wait
            // on the server.
            _ => {
                open.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
}

impl<C: Connection + 'static> Deref for Lease<'_, C> {
    type Target = C;

    fn deref(&self) -> &C {
        &self
            .conn
            .as_ref()
            .expect("a lease holds its connection until released")
            .conn
    }
}

impl<C: Connection + 'static> DerefMut for Lease<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        &mut self
            .conn
            .as_mut()
            .expect("a lease holds its connection until released")
            .conn
    }
}
