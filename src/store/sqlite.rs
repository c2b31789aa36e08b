//! The embedded backend. SQLite allows one writer at a time, so writes go through a pool of one
//! connection (queued in-process rather than failing with SQLITE_BUSY) and reads through a pool of
//! read-only connections; WAL lets those read while the writer writes.

use std::{str::FromStr, time::Duration};

use sqlx::{
    Connection, Sqlite,
    sqlite::{
        SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteQueryResult,
        SqliteSynchronous,
    },
};

use super::{
    PoolSettings,
    backend::{Backend, RowsAffected},
    pool::{Connect, Pool},
};

/// How long a statement waits for another process's write lock before reporting unavailable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct SqliteBackend {
    read: Pool<SqliteConnection>,
    write: Pool<SqliteConnection>,
}

/// Opens connections with `options`.
fn connector(options: SqliteConnectOptions) -> Connect<SqliteConnection> {
    Box::new(move || {
        let options = options.clone();
        Box::pin(async move { SqliteConnection::connect_with(&options).await })
    })
}

impl SqliteBackend {
    pub async fn connect(url: &str, pool: &PoolSettings) -> anyhow::Result<Self> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            anyhow::bail!(
                "--database-url: an in-memory SQLite database cannot be shared by the service's connections; name a file"
            );
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Acknowledged writes must survive a power loss, not only a crash of the process.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let mut migrating = SqliteConnection::connect_with(&options).await?;
        sqlx::migrate!("migrations/sqlite")
            .run(&mut migrating)
            .await?;
        migrating.close().await?;
        let write = Pool::new(connector(options.clone()), 1, pool.acquire_timeout);
        let read = Pool::new(
            connector(options.read_only(true)),
            pool.max_connections,
            pool.acquire_timeout,
        );
        write.warm_up().await?;
        read.warm_up().await?;
        Ok(Self { read, write })
    }
}

impl Backend for SqliteBackend {
    type Db = Sqlite;
    /// Deferred: the snapshot is the one WAL gives the transaction's first read.
    const SNAPSHOT: &'static str = "BEGIN";

    fn reader(&self) -> &Pool<SqliteConnection> {
        &self.read
    }

    fn writer(&self) -> &Pool<SqliteConnection> {
        &self.write
    }

    fn pools(&self) -> Vec<&Pool<SqliteConnection>> {
        vec![&self.read, &self.write]
    }
}

impl RowsAffected for SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        SqliteQueryResult::rows_affected(self)
    }
}
