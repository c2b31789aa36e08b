//! Upgrades: `migrate` as a step of its own, `serve --no-migrate`, servers starting together on
//! an empty database, and a binary meeting a schema newer than it knows.

use crate::helpers::{
    Backend, InProcessServer, TestDb, binary::binary, serve_args, tools::blocking, write_through,
};
use sqlx::{Connection, Executor, PgConnection, SqliteConnection};
use tagging_service::startup::Application;

async fn start_error(url: &str, flags: &[&str]) -> String {
    match Application::build(&serve_args(url, flags)).await {
        Ok(_) => panic!("the server started with {flags:?}"),
        Err(e) => format!("{e:#}"),
    }
}

/// `tagging-service migrate` on `url`: (succeeded, standard error).
async fn migrate(url: &str) -> (bool, String) {
    let mut cmd = binary();
    cmd.args(["migrate", "--database-url", url]);
    let out = blocking(move || cmd.output().expect("run migrate")).await;
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn execute(b: Backend, url: &str, statement: &str) {
    match b {
        Backend::Postgres => {
            let mut c = PgConnection::connect(url).await.expect("connect");
            c.execute(statement).await.expect(statement);
        }
        Backend::Sqlite => {
            let mut c = SqliteConnection::connect(url).await.expect("connect");
            c.execute(statement).await.expect(statement);
        }
    }
}

async fn no_migrate_refuses_an_unmigrated_database_and_serves_a_migrated_one(b: Backend) {
    let (_db, url) = TestDb::create(b).await;
    let err = start_error(&url, &["--no-migrate"]).await;
    assert!(err.contains("tagging-service migrate"), "{err}");

    let (migrated, stderr) = migrate(&url).await;
    assert!(migrated, "{stderr}");
    let server = InProcessServer::start(&url, &["--no-migrate"]).await;
    write_through(&url, server.addr).await;

    // A migration the database lacks (the newest one, undone by hand) is named.
    execute(
        b,
        &url,
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    )
    .await;
    let err = start_error(&url, &["--no-migrate"]).await;
    assert!(
        err.contains("lacks migrations") && err.contains("migrate"),
        "{err}"
    );
}

async fn a_schema_newer_than_the_binary_is_refused_by_serve_and_migrate(b: Backend) {
    let (_db, url) = TestDb::create(b).await;
    assert!(migrate(&url).await.0);
    execute(
        b,
        &url,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from a later release', TRUE, X'00', 0)"
            .replace(
                "X'00'",
                if b == Backend::Postgres {
                    "'\\x00'::bytea"
                } else {
                    "X'00'"
                },
            )
            .as_str(),
    )
    .await;
    for flags in [&[][..], &["--no-migrate"][..]] {
        let err = start_error(&url, flags).await;
        assert!(
            err.contains("migration 9999, newer than this binary knows"),
            "{flags:?}: {err}"
        );
    }
    let (migrated, stderr) = migrate(&url).await;
    assert!(
        !migrated && stderr.contains("newer than this binary knows"),
        "{stderr}"
    );
}

/// Replicas of a Deployment start together: each waits for the migration lock, and every one
/// comes up on the schema the first applied.
async fn servers_starting_together_on_an_empty_database_all_come_up(b: Backend) {
    let (_db, url) = TestDb::create(b).await;
    let args: Vec<_> = (0..4).map(|_| serve_args(&url, &[])).collect();
    let started = tokio::join!(
        Application::build(&args[0]),
        Application::build(&args[1]),
        Application::build(&args[2]),
        Application::build(&args[3]),
    );
    for result in [started.0, started.1, started.2, started.3] {
        if let Err(e) = result {
            panic!("a server did not come up: {e:#}");
        }
    }
    let (migrated, stderr) = migrate(&url).await;
    assert!(migrated, "nothing left to apply, nothing broken: {stderr}");
}

both_backends!(
    no_migrate_refuses_an_unmigrated_database_and_serves_a_migrated_one,
    a_schema_newer_than_the_binary_is_refused_by_serve_and_migrate,
    servers_starting_together_on_an_empty_database_all_come_up,
);
