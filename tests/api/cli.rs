//! The command line around the server: `migrate`.

use sqlx::{Connection, PgConnection, SqliteConnection};

use crate::helpers::{Backend, TestDb, binary::BINARY};

async fn migrate_applies_the_schema_to_an_empty_database_and_exits(b: Backend) {
    let (_db, url) = TestDb::create(b).await;
    let out = tokio::process::Command::new(BINARY)
        .args(["migrate", "--database-url", &url])
        .output()
        .await
        .expect("run migrate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "migrate prints nothing on stdout");

    let query = "SELECT COUNT(*) FROM resources";
    let rows: i64 = match b {
        Backend::Sqlite => {
            let mut c = SqliteConnection::connect(&url).await.expect("connect");
            sqlx::query_scalar(query)
                .fetch_one(&mut c)
                .await
                .expect("the table exists")
        }
        Backend::Postgres => {
            let mut c = PgConnection::connect(&url).await.expect("connect");
            sqlx::query_scalar(query)
                .fetch_one(&mut c)
                .await
                .expect("the table exists")
        }
    };
    assert_eq!(rows, 0);

    // A second run finds nothing to do and still succeeds.
    let again = tokio::process::Command::new(BINARY)
        .args(["migrate", "--database-url", &url])
        .output()
        .await
        .expect("run migrate again");
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

both_backends!(migrate_applies_the_schema_to_an_empty_database_and_exits);
