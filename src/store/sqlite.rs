//! The embedded backend. SQLite allows one writer at a time, so writes go through a pool of one
//! connection (queued in-process rather than failing with SQLITE_BUSY) and reads through a pool of
//! read-only connections; WAL lets those read while the writer writes.

use std::{path::Path, str::FromStr, sync::atomic::Ordering, time::Duration};

use anyhow::Context;

use sqlx::{
    Connection, Sqlite,
    migrate::Migrator,
    sqlite::{
        SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteQueryResult,
        SqliteSynchronous,
    },
};

use super::{
    PoolSettings,
    backend::{Backend, Chain, RowsAffected},
    pool::{Connect, Interrupt, Opened, Pool},
    schema::{self, Schema},
    sql,
};
use crate::telemetry::traces;

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// How long a statement waits for another process's write lock before reporting unavailable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct SqliteBackend {
    read: Pool<SqliteConnection>,
    write: Pool<SqliteConnection>,
}

/// SQLite calls the progress handler every this many virtual-machine steps: often enough that an
/// interrupted statement stops within a millisecond, seldom enough to cost nothing measurable.
const PROGRESS_STEPS: i32 = 1000;

/// Opens connections with `options`, each with an interrupt that its progress handler obeys.
fn connector(options: SqliteConnectOptions) -> Connect<SqliteConnection> {
    Box::new(move || {
        let options = options.clone();
        Box::pin(async move {
            let mut conn = SqliteConnection::connect_with(&options).await?;
            let interrupt = Interrupt::default();
            let stop = interrupt.clone();
            let mut handle = conn.lock_handle().await?;
            handle.set_progress_handler(PROGRESS_STEPS, move || !stop.load(Ordering::Relaxed));
            let traced = traces::profile_sqlite(handle.as_raw_handle());
            drop(handle);
            Ok(Opened {
                conn,
                interrupt: Some(interrupt),
                traced,
            })
        })
    })
}

impl SqliteBackend {
    pub async fn connect(url: &str, pool: &PoolSettings, schema: Schema) -> anyhow::Result<Self> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            anyhow::bail!(
                "--database-url: an in-memory SQLite database cannot be shared by the service's connections; name a file"
            );
        }
        let options = SqliteConnectOptions::from_str(url)?;
        owner_only(options.get_filename())?;
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Acknowledged writes must survive a power loss, not only a crash of the process.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        migrate(&options, schema).await?;
        // A write of many rows keeps a statement journal, to undo the statement alone if it
        // fails; past 64 KiB SQLite spills it to a new temporary file, which cost a tag write
        // of 50 resources a file created, written and deleted inside the writer's turn. The
        // writer's statements are bounded by the request limits, so its journals fit in memory.
        let writer = options.clone().pragma("temp_store", "memory");
        let write = Pool::new(connector(writer), 1, pool.acquire_timeout);
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

/// Copies the database to `output` with `VACUUM INTO`, which reads one snapshot: writers go on
/// meanwhile, and the copy holds exactly the transactions committed when it began.
pub async fn backup(url: &str, output: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let options = SqliteConnectOptions::from_str(url)?
        .read_only(true)
        .busy_timeout(BUSY_TIMEOUT);
    if !options.get_filename().exists() {
        anyhow::bail!(
            "--database-url: {} does not exist",
            options.get_filename().display()
        );
    }
    // SQLite writes into an empty file as it finds it: created here, owner-only, never over
    // another file.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(output)
        .with_context(|| {
            format!(
                "--output: cannot create {} (a backup never overwrites a file)",
                output.display()
            )
        })?;
    let copied = async {
        let mut conn = SqliteConnection::connect_with(&options).await?;
        sqlx::query("VACUUM INTO ?")
            .bind(output.to_str().context("--output: the path is not UTF-8")?)
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        // VACUUM INTO does not sync what it wrote.
        std::fs::File::open(output)?.sync_all()?;
        anyhow::Ok(())
    };
    if let Err(e) = copied.await {
        let _ = std::fs::remove_file(output);
        return Err(e.context(format!("cannot back up to {}", output.display())));
    }
    Ok(())
}

/// Checks and, under `Schema::Migrate`, migrates the schema. SQLite's migrations take no lock of
/// their own: a lock file beside the database keeps two processes from applying one migration
/// twice. It is never removed (removing it would let a third process lock a new file while the
/// second still holds the old one).
async fn migrate(options: &SqliteConnectOptions, schema: Schema) -> anyhow::Result<()> {
    let lock = match schema {
        Schema::Migrate => Some(migration_lock(options.get_filename()).await?),
        Schema::Check => None,
    };
    let mut migrating = SqliteConnection::connect_with(options).await?;
    schema::check(&mut migrating, &MIGRATOR, schema).await?;
    if schema == Schema::Migrate {
        MIGRATOR
            .run(&mut migrating)
            .await
            .map_err(schema::describe)?;
    }
    migrating.close().await?;
    drop(lock);
    Ok(())
}

/// An exclusive lock on `DATABASE-migrate.lock`, waited for as long as another process holds it.
async fn migration_lock(db: &Path) -> anyhow::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut path = db.as_os_str().to_owned();
    path.push("-migrate.lock");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot open the migration lock {}", path.display()))?;
    tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await?
        .with_context(|| format!("cannot lock {}", path.display()))
}

/// Makes the database file, and the WAL and shared-memory files beside it, readable and writable
/// by their owner only: they hold every tenant's data and the page-token key. SQLite creates the
/// other two with the database file's mode, so a database created here is private from the start.
fn owner_only(db: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    const OWNER_ONLY: u32 = 0o600;
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(OWNER_ONLY)
        .open(db);
    match created {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            for suffix in ["", "-wal", "-shm"] {
                let mut path = db.as_os_str().to_owned();
                path.push(suffix);
                let path = Path::new(&path);
                if path.exists() {
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(OWNER_ONLY))
                        .with_context(|| format!("cannot make {} private", path.display()))?;
                }
            }
            Ok(())
        }
        Err(e) => Err(e).with_context(|| format!("cannot create {}", db.display())),
    }
}

impl Backend for SqliteBackend {
    type Db = Sqlite;
    /// Deferred: the snapshot is the one WAL gives the transaction's first read.
    const SNAPSHOT: &'static str = "BEGIN";
    // The write lock from the start: a transaction that reads before it writes could otherwise
    // find another process's writer in the way when it upgrades, and fail without waiting.
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    // One writer at a time: the transaction itself is the lock.
    const LOCK_ROWS: &'static str = "";
    const LOOKUP: sql::Lookup = sql::Lookup::Plain;
    // No writes in WITH; a call is a hand-over to the connection's thread and back, which a
    // script of statements makes once.
    const CHAIN: Chain = Chain::Script;
    // sqlx hands each row over from the thread SQLite runs on: for a page of 1 000 tags, that
    // was most of the page's time.
    const PACKED_TAGS: Option<&'static str> = Some("json_group_array(json_array(t.key, t.value))");

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
