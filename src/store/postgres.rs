//! The production backend: a sized pool of connections whose statements sqlx prepares once per
//! connection and caches.

use std::str::FromStr;

use sqlx::{
    Connection, Executor, Postgres,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgConnection, PgQueryResult},
};

use super::{
    PoolSettings, StoreError,
    backend::{Backend, Chain, RowsAffected},
    pool::{Connect, Opened, Pool},
    schema::{self, Schema},
    sql,
};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// How often a server checks that the client of a running statement is still connected, so a
/// statement whose call was abandoned (its connection closed, see `pool.rs`) is cancelled.
const CLIENT_CHECK_MS: u32 = 1000;
/// `client_connection_check_interval` came with PostgreSQL 14.
const CLIENT_CHECK_SINCE: u32 = 140_000;

/// The planner settings of the service's connections. Every statement is one of a few fixed
/// shapes whose generic plans are committed in bench/explain/: left to choose, PostgreSQL re-plans
/// a tag filter on every call (its custom plan looks cheaper), and planning costs five times what
/// executing does. Every statement reads a few rows through an index, in an order the service
/// chose (see store/plan.rs), so plans that read a table or an index range whole are ruled out:
/// with statistics that are stale or missing, as after a bulk load, PostgreSQL would otherwise
/// take a hash join over millions of tags for a nested loop over a page of them.
pub const PLANNER_SETTINGS: [(&str, &str); 7] = [
    ("plan_cache_mode", "force_generic_plan"),
    ("enable_seqscan", "off"),
    ("enable_bitmapscan", "off"),
    ("enable_hashjoin", "off"),
    ("enable_mergejoin", "off"),
    // Starting parallel workers costs milliseconds, more than any of these statements should;
    // a generic plan's estimate of a filter's rows can be large enough to ask for them.
    ("max_parallel_workers_per_gather", "0"),
    // Compiling a plan costs about 10 ms, and a generic plan's estimated cost (rows it cannot
    // know) is often above the threshold for it.
    ("jit", "off"),
];

pub struct PostgresBackend {
    pool: Pool<PgConnection>,
}

impl PostgresBackend {
    pub async fn connect(url: &str, pool: &PoolSettings, schema: Schema) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("tagging-service");
        // Migrations run on a connection of their own, free of the statement timeout. The
        // migrator holds an advisory lock while it runs, so processes starting together apply
        // each migration once; the others wait and find nothing left to do.
        let mut migrating = PgConnection::connect_with(&options).await?;
        schema::check(&mut migrating, &MIGRATOR, schema).await?;
        if schema == Schema::Migrate {
            MIGRATOR
                .run(&mut migrating)
                .await
                .map_err(schema::describe)?;
        }
        migrating.close().await?;
        let backend = Self::lazy(options, pool);
        backend.pool.warm_up().await?;
        Ok(backend)
    }

    /// The database at `url` (a read replica, say): nothing is checked or opened until it is used
    /// (see `replicas`).
    pub fn on_demand(url: &str, pool: &PoolSettings) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("tagging-service");
        Ok(Self::lazy(options, pool))
    }

    /// Refuses a schema that is not exactly this binary's.
    pub async fn check_schema(&self) -> Result<(), StoreError> {
        let mut lease = self.pool.acquire().await?;
        let checked = schema::check(&mut *lease, &MIGRATOR, Schema::Check).await;
        lease.release(&Ok(())).await;
        checked.map_err(|e| StoreError::Other(format!("{e:#}")))
    }

    /// The pool of the service's connections, opened on demand. Their settings are set once
    /// connected rather than sent as the startup packet's `options`, which connection poolers
    /// drop (PgBouncer refuses the parameter unless told to ignore it).
    fn lazy(options: PgConnectOptions, pool: &PoolSettings) -> Self {
        let mut settings: Vec<String> = PLANNER_SETTINGS
            .iter()
            .map(|(name, value)| format!("SET {name} = {value}"))
            .collect();
        if let Some(limit) = pool.statement_timeout {
            settings.push(format!("SET statement_timeout = {}", limit.as_millis()));
        }
        let connect: Connect<PgConnection> = Box::new(move || {
            let options = options.clone();
            let mut settings = settings.clone();
            Box::pin(async move {
                let mut conn = PgConnection::connect_with(&options).await?;
                if conn.server_version_num() >= Some(CLIENT_CHECK_SINCE) {
                    settings.push(format!(
                        "SET client_connection_check_interval = {CLIENT_CHECK_MS}"
                    ));
                }
                // One round trip: a simple query may hold several statements.
                conn.execute(settings.join("; ").as_str()).await?;
                Ok(Opened {
                    conn,
                    interrupt: None,
                    // sqlx reports PostgreSQL's statements in the call's own task.
                    traced: None,
                })
            })
        });
        Self {
            pool: Pool::new(connect, pool.max_connections, pool.acquire_timeout),
        }
    }
}

/// PostgreSQL runs concurrent writers itself (row locks, taken in id order), so one pool serves
/// reads and writes.
impl Backend for PostgresBackend {
    type Db = Postgres;
    const SNAPSHOT: &'static str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    const BEGIN_WRITE: &'static str = "BEGIN";
    const LOCK_ROWS: &'static str = " FOR UPDATE";
    const LOOKUP: sql::Lookup = sql::Lookup::Lateral;
    const CHAIN: Chain = Chain::With;
    const PACKED_TAGS: Option<&'static str> = None;

    fn reader(&self) -> &Pool<PgConnection> {
        &self.pool
    }

    fn writer(&self) -> &Pool<PgConnection> {
        &self.pool
    }

    fn pools(&self) -> Vec<&Pool<PgConnection>> {
        vec![&self.pool]
    }
}

impl RowsAffected for PgQueryResult {
    fn rows_affected(&self) -> u64 {
        PgQueryResult::rows_affected(self)
    }
}
