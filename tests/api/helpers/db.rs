//! The test's own database: its URL, its creation and removal, and the locks and refusals a test
//! imposes on it from outside the service.

use std::thread;

use sqlx::{Connection, Executor, PgConnection, SqliteConnection};
use tempfile::TempDir;

use super::{Backend, TestApp};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// Runs `sql` on the admin connection, ignoring failure, from a `Drop`: drop is synchronous and may
/// run inside the test's runtime, so the statement runs on a thread and a runtime of its own.
fn admin_execute_from_drop(sql: String) {
    let _ = thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            if let Ok(mut conn) = PgConnection::connect(&admin_url()).await {
                let _ = conn.execute(sql.as_str()).await;
            }
        });
    })
    .join();
}

/// A database of this test's own.
pub enum TestDb {
    /// Held so the directory outlives the test.
    Sqlite {
        _dir: TempDir,
    },
    Postgres {
        name: String,
    },
}

impl TestDb {
    pub async fn create(backend: Backend) -> (Self, String) {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite:{}", dir.path().join("tagging.db").display());
                (TestDb::Sqlite { _dir: dir }, url)
            }
            Backend::Postgres => {
                let admin = admin_url();
                let name = format!("tagging_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL at TEST_DATABASE_URL ({admin}) is required for the postgres tests: {e}")
                });
                conn.execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
                    .await
                    .expect("create test database");
                let mut url = url::Url::parse(&admin).expect("TEST_DATABASE_URL is a URL");
                url.set_path(&name);
                (TestDb::Postgres { name }, url.to_string())
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { name } = self {
            admin_execute_from_drop(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#));
        }
    }
}

/// The database's write lock, held by the test's own connection until released: while it is held,
/// every write of the service blocks (on PostgreSQL, every write that needs what `holding` locks).
pub enum WriteLock {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl WriteLock {
    pub async fn take(app: &TestApp) -> Self {
        Self::holding(app, "LOCK TABLE resources IN ACCESS EXCLUSIVE MODE").await
    }

    /// SQLite's write lock, or on PostgreSQL the lock `postgres_lock` takes in an open transaction.
    pub async fn holding(app: &TestApp, postgres_lock: &str) -> Self {
        if app.database_url.starts_with("sqlite:") {
            let mut conn = SqliteConnection::connect(&app.database_url)
                .await
                .expect("the test's own SQLite connection");
            conn.execute("BEGIN IMMEDIATE")
                .await
                .expect("the test takes SQLite's write lock");
            Self::Sqlite(conn)
        } else {
            let mut conn = PgConnection::connect(&app.database_url)
                .await
                .expect("the test's own PostgreSQL connection");
            conn.execute("BEGIN").await.expect("BEGIN");
            conn.execute(postgres_lock)
                .await
                .unwrap_or_else(|e| panic!("the test takes its lock ({postgres_lock}): {e}"));
            Self::Postgres(conn)
        }
    }

    pub async fn release(self) {
        match self {
            Self::Sqlite(mut conn) => {
                conn.execute("ROLLBACK").await.expect("ROLLBACK");
                conn.close().await.expect("close");
            }
            Self::Postgres(mut conn) => {
                conn.execute("ROLLBACK").await.expect("ROLLBACK");
                conn.close().await.expect("close");
            }
        }
    }
}

/// Makes the PostgreSQL database `name` refuse (and drop) connections, or accept them again.
pub async fn set_allow_connections(name: &str, allow: bool) {
    let mut admin = PgConnection::connect(&admin_url())
        .await
        .expect("admin connection");
    admin
        .execute(format!(r#"ALTER DATABASE "{name}" ALLOW_CONNECTIONS {allow}"#).as_str())
        .await
        .expect("ALTER DATABASE");
    if !allow {
        admin
            .execute(
                format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                )
                .as_str(),
            )
            .await
            .expect("terminate the database's sessions");
    }
    admin.close().await.expect("close");
}

/// Lets the database accept connections again however the test ends, so it can be dropped.
pub struct AllowConnectionsAgain(pub String);

impl Drop for AllowConnectionsAgain {
    fn drop(&mut self) {
        let name = &self.0;
        admin_execute_from_drop(format!(r#"ALTER DATABASE "{name}" ALLOW_CONNECTIONS true"#));
    }
}
