//! Direct access to the benchmark's database: the internal id a page cursor holds, query plans, and
//! the database's own rate for a statement (SQLite; PostgreSQL uses pgbench).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sqlx::{
    Arguments, Row,
    postgres::{PgPool, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions},
};
use tagging_service::store::{
    PLANNER_SETTINGS,
    sql::{Arg, Sql},
};

/// A statement with owned arguments, as stored in `shapes.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Shape {
    pub name: String,
    pub text: String,
    pub args: Vec<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Int(i64),
    Text(String),
}

impl Shape {
    pub fn new(name: &str, sql: &Sql<'_>) -> Self {
        Self {
            name: name.to_owned(),
            text: sql.text.clone(),
            args: sql
                .args
                .iter()
                .map(|a| match *a {
                    Arg::Text(s) => Value::Text(s.to_owned()),
                    Arg::Int(i) => Value::Int(i),
                })
                .collect(),
        }
    }

    /// The text with `$n` as pgbench variables `:pn`; highest first so `$1` never eats `$10`.
    pub fn pgbench_text(&self) -> String {
        (1..=self.args.len()).rev().fold(self.text.clone(), |t, n| {
            t.replace(&format!("${n}"), &format!(":p{n}"))
        })
    }

    /// Literal SQL for `EXECUTE` of the prepared statement.
    pub fn literal_args(&self) -> String {
        self.args
            .iter()
            .map(|v| match v {
                Value::Int(i) => i.to_string(),
                Value::Text(s) => format!("'{}'", s.replace('\'', "''")),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Clone)]
pub enum Db {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// A shape's arguments, bound for either backend.
fn arguments<'q, DB: sqlx::Database>(shape: &Shape) -> anyhow::Result<DB::Arguments<'q>>
where
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut out = DB::Arguments::default();
    for v in &shape.args {
        match v {
            Value::Int(i) => out.add(*i),
            Value::Text(s) => out.add(s.clone()),
        }
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(out)
}

impl Db {
    pub async fn open(url: &str, connections: u32) -> anyhow::Result<Self> {
        Ok(if url.starts_with("sqlite:") {
            let options: SqliteConnectOptions = url.parse()?;
            Db::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(connections)
                    .connect_with(options.read_only(true))
                    .await?,
            )
        } else {
            Db::Postgres(
                PgPoolOptions::new()
                    .max_connections(connections)
                    .connect(url)
                    .await?,
            )
        })
    }

    pub async fn resource_pk(&self, project: &str, rtype: &str, id: &str) -> anyhow::Result<i64> {
        const Q: &str = "SELECT pk FROM resources WHERE project_id = $1 AND resource_type = $2 AND resource_id = $3";
        Ok(match self {
            Db::Postgres(p) => {
                sqlx::query_scalar(Q)
                    .bind(project)
                    .bind(rtype)
                    .bind(id)
                    .fetch_one(p)
                    .await?
            }
            Db::Sqlite(p) => {
                sqlx::query_scalar(Q)
                    .bind(project)
                    .bind(rtype)
                    .bind(id)
                    .fetch_one(p)
                    .await?
            }
        })
    }

    /// The one row of `sql`'s integer columns after the first: a filtered read's counts.
    pub async fn counts(&self, sql: &Sql<'_>) -> anyhow::Result<Vec<i64>> {
        let shape = Shape::new("counts", sql);
        let row = match self {
            Db::Postgres(p) => {
                let row = sqlx::query_with(&shape.text, arguments::<sqlx::Postgres>(&shape)?)
                    .fetch_one(p)
                    .await?;
                (1..row.len())
                    .map(|i| row.try_get(i))
                    .collect::<Result<_, _>>()?
            }
            Db::Sqlite(p) => {
                let row = sqlx::query_with(&shape.text, arguments::<sqlx::Sqlite>(&shape)?)
                    .fetch_one(p)
                    .await?;
                (1..row.len())
                    .map(|i| row.try_get(i))
                    .collect::<Result<_, _>>()?
            }
        };
        Ok(row)
    }

    /// The plan of `shape`: on PostgreSQL executed, as planned for these values (custom plan) and
    /// as planned once for any values (the generic plan a cached prepared statement may switch to).
    pub async fn explain(&self, shape: &Shape) -> anyhow::Result<String> {
        self.explain_with(shape, None).await
    }

    /// The same, on PostgreSQL in a transaction that first runs `settings` (as the store does
    /// before a count that merges ranges).
    pub async fn explain_with(
        &self,
        shape: &Shape,
        settings: Option<&str>,
    ) -> anyhow::Result<String> {
        let mut out = format!(
            "-- {}\n{}\n-- arguments: {}\n",
            shape.name,
            shape.text,
            shape.literal_args()
        );
        match self {
            Db::Postgres(p) => {
                let mut conn = p.acquire().await?;
                for (name, value) in PLANNER_SETTINGS {
                    sqlx::query(&format!("SET {name} = {value}"))
                        .execute(&mut *conn)
                        .await?;
                }
                if let Some(settings) = settings {
                    out.push_str(&format!("-- in a transaction, after: {settings}\n"));
                    sqlx::query("BEGIN").execute(&mut *conn).await?;
                    sqlx::query(settings).execute(&mut *conn).await?;
                }
                for mode in ["force_custom_plan", "force_generic_plan"] {
                    sqlx::query(&format!("SET plan_cache_mode = {mode}"))
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query(&format!("PREPARE bench_q AS {}", shape.text))
                        .execute(&mut *conn)
                        .await?;
                    let explain = format!(
                        "EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_q({})",
                        shape.literal_args()
                    );
                    let lines: Vec<String> =
                        sqlx::query_scalar(&explain).fetch_all(&mut *conn).await?;
                    sqlx::query("DEALLOCATE bench_q")
                        .execute(&mut *conn)
                        .await?;
                    out.push_str(&format!(
                        "\n-- plan_cache_mode = {mode}\n{}\n",
                        lines.join("\n")
                    ));
                }
                if settings.is_some() {
                    sqlx::query("ROLLBACK").execute(&mut *conn).await?;
                }
                sqlx::query("RESET ALL").execute(&mut *conn).await?;
            }
            Db::Sqlite(p) => {
                let rows = sqlx::query_with(
                    &format!("EXPLAIN QUERY PLAN {}", shape.text),
                    arguments::<sqlx::Sqlite>(shape)?,
                )
                .fetch_all(p)
                .await?;
                out.push_str("\n-- EXPLAIN QUERY PLAN\n");
                for row in rows {
                    let (id, parent): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
                    let detail: String = row.try_get(3)?;
                    out.push_str(&format!("{id} {parent} {detail}\n"));
                }
            }
        }
        Ok(out)
    }

    /// Runs `shapes` one after the other, as one call does, on one connection held throughout (no
    /// pool between iterations, so no pool's pings), counting iterations in `done` until `stop`.
    async fn run_held(
        &self,
        shapes: &[Shape],
        done: &AtomicU64,
        stop: &AtomicBool,
    ) -> anyhow::Result<()> {
        match self {
            Db::Postgres(p) => {
                let mut conn = p.acquire().await?;
                while !stop.load(Ordering::Relaxed) {
                    for shape in shapes {
                        sqlx::query_with(&shape.text, arguments::<sqlx::Postgres>(shape)?)
                            .fetch_all(&mut *conn)
                            .await?;
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
            Db::Sqlite(p) => {
                let mut conn = p.acquire().await?;
                while !stop.load(Ordering::Relaxed) {
                    for shape in shapes {
                        sqlx::query_with(&shape.text, arguments::<sqlx::Sqlite>(shape)?)
                            .fetch_all(&mut *conn)
                            .await?;
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Ok(())
    }
}

#[derive(clap::Args)]
pub struct DbbenchArgs {
    #[arg(long)]
    db_url: String,
    /// `shapes.json` written by `prepare`.
    #[arg(long)]
    shapes: std::path::PathBuf,
    /// Statements to run per iteration, in order, by name (e.g. `token,list_resource_tags`).
    #[arg(long, value_delimiter = ',')]
    run: Vec<String>,
    /// Pool size and tasks: the service's pool size.
    #[arg(long, default_value_t = 16)]
    connections: u32,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

pub async fn dbbench(args: DbbenchArgs) -> anyhow::Result<()> {
    let all: Vec<Shape> = serde_json::from_slice(&std::fs::read(&args.shapes)?)?;
    let shapes: Vec<Shape> = args
        .run
        .iter()
        .map(|name| {
            all.iter()
                .find(|s| &s.name == name)
                .cloned()
                .with_context(|| format!("no shape `{name}`"))
        })
        .collect::<anyhow::Result<_>>()?;
    let db = Db::open(&args.db_url, args.connections).await?;
    let shapes = Arc::new(shapes);
    let (done, stop) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let (db, shapes, done, stop) = (db.clone(), shapes.clone(), done.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            db.run_held(&shapes, &done, &stop).await
        }));
    }
    // A second's warm-up, as h2load and pgbench get.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (start, started) = (done.load(Ordering::Relaxed), Instant::now());
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let n = done.load(Ordering::Relaxed) - start;
    let secs = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await??;
    }
    println!("dbbench {} rate={:.0}", args.run.join("+"), n as f64 / secs);
    Ok(())
}
