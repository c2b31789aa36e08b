//! The plans of the statements a write runs on rows it found by internal id (its resources, their
//! tags), built by the store's own code when the project has one page of resources, and run when
//! it has grown to 20,000 through the API, as an ingest grows a database that was never analyzed.
//! Each must look its rows up by id rather than read the project's range, those that name the
//! project as well as the ids (docs/scaling.md, "Sharding by tenant") included. On PostgreSQL:
//! the rows every scan of the executed generic plan produced (run in a transaction that is rolled
//! back), with the plans made while the project was small (as a server's connection keeps them),
//! then with the statistics missing and fresh. On SQLite: no table is scanned whole and none is
//! searched by the project alone. No timing is asserted.

use sqlx::{Arguments, Connection, PgConnection, Row, SqliteConnection};
use tagging_service::{
    domain::{Scope, Tag},
    store::{
        Deltas, Removal, TagLimit, lookup,
        sql::{self, Arg, Sql},
    },
};

use crate::{
    helpers::{Backend, PROJECT, TestApp, authed, pb},
    query_plans::{
        RESOURCES, WIPE_STATISTICS, execute, execution, prepare, removed_rows, scanned_rows, scope,
        seed_bulk, service_session, visibility,
    },
};

/// The resources the project grows by after the page is chosen.
const GROWN: usize = 18_000;

/// The resources one write names: the project's first page of them.
const PAGE: i64 = 50;

/// The internal ids of a page of the project's resources, and the scope's key.
async fn page_and_scope(app: &TestApp, b: Backend) -> (Vec<i64>, i64) {
    let pks = "SELECT pk FROM resources ORDER BY pk LIMIT 50";
    let scope = "SELECT pk FROM scopes";
    match b {
        Backend::Postgres => {
            let mut c = PgConnection::connect(&app.database_url).await.unwrap();
            let pks = sqlx::query_scalar(pks).fetch_all(&mut c).await.unwrap();
            (
                pks,
                sqlx::query_scalar(scope).fetch_one(&mut c).await.unwrap(),
            )
        }
        Backend::Sqlite => {
            let mut c = SqliteConnection::connect(&app.database_url).await.unwrap();
            let pks = sqlx::query_scalar(pks).fetch_all(&mut c).await.unwrap();
            (
                pks,
                sqlx::query_scalar(scope).fetch_one(&mut c).await.unwrap(),
            )
        }
    }
}

/// The arguments of `q`, typed as the store binds them.
fn arguments<'q>(q: &'q Sql<'_>) -> sqlx::sqlite::SqliteArguments<'q> {
    let mut args = sqlx::sqlite::SqliteArguments::default();
    for a in &q.args {
        match *a {
            Arg::Text(s) => args.add(s),
            Arg::Int(i) => args.add(i),
        }
        .expect("an argument the database takes");
    }
    args
}

/// The rows the scans of the prepared statement `name` read, executed with the arguments of
/// `q` in a transaction that is rolled back, and its plan.
pub(crate) async fn rows_read(conn: &mut PgConnection, name: &str, q: &Sql<'_>) -> (u64, String) {
    sqlx::query("BEGIN").execute(&mut *conn).await.unwrap();
    let explain = format!("EXPLAIN (ANALYZE, TIMING OFF) {}", execution(name, q));
    let lines: Vec<String> = sqlx::query_scalar(&explain)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    sqlx::query("ROLLBACK").execute(&mut *conn).await.unwrap();
    (
        scanned_rows(&lines) + removed_rows(&lines),
        lines.join("\n"),
    )
}

/// SQLite: the query plan.
async fn sqlite_plan(app: &TestApp, q: &Sql<'_>) -> String {
    let mut conn = SqliteConnection::connect(&app.database_url).await.unwrap();
    let text = format!("EXPLAIN QUERY PLAN {}", q.text);
    let rows = sqlx::query_with(&text, arguments(q))
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let plan: Vec<String> = rows.iter().map(|r| r.get::<String, _>(3)).collect();
    plan.join("\n")
}

/// SQLite: no table is scanned whole (`p`, `v`, `c` and `o` are the statements' own lists and
/// subqueries; a list of rows is also `N CONSTANT ROWS` or a `VALUES CLAUSE`).
fn assert_seeks_tables(plan: &str, what: &str) {
    let scanned = plan.lines().any(|l| {
        let mut words = l.trim_start().split(' ');
        words.next() == Some("SCAN")
            && !words
                .next()
                .is_some_and(|w| ["p", "v", "c", "o", "CONSTANT"].contains(&w))
            && !l.contains("VALUES CLAUSE")
            && !l.contains("CONSTANT ROWS")
    });
    assert!(!scanned, "{what}: a table is scanned whole:\n{plan}");
}

/// A write's last steps: PostgreSQL's one statement; of SQLite's script, the stamp of the write's
/// resources, its one statement that reads rows by id (each statement of a script is planned on
/// its own).
fn last_steps<'a>(
    b: Backend,
    scope: &'a Scope,
    counts: (i64, &'a Deltas),
    pks: &'a [i64],
) -> Sql<'a> {
    match b {
        Backend::Postgres => sql::take_revision(scope, counts, pks, 0),
        Backend::Sqlite => {
            let script = sql::take_revision_script(Sql::default(), scope, counts, pks);
            let stamp = script
                .text
                .split("; ")
                .find(|s| s.starts_with("UPDATE resources"))
                .expect("the script stamps the resources");
            Sql {
                text: stamp.to_owned(),
                args: script.args,
            }
        }
    }
}

async fn writes_look_their_rows_up_by_id(b: Backend) {
    let app = TestApp::spawn(b).await;
    // The project's first write: its page of resources.
    let ids: Vec<String> = (0..PAGE).map(|i| format!("first-{i}")).collect();
    let first: Vec<&str> = ids.iter().map(String::as_str).collect();
    app.tag("CLUSTER", &first, &[("k1", "a"), ("k2", "b")])
        .await;
    let named = pb::PutResourceRequest {
        project_id: String::new(),
        resource_type: "CLUSTER".into(),
        resource_id: "first-3".into(),
        name: "the third".into(),
        expected_revision: None,
    };
    let mut client = app.client.clone();
    let put = client.put_resource(authed(&app.token, named)).await;
    put.expect("PutResource");
    let (pks, scope_pk) = page_and_scope(&app, b).await;
    assert_eq!(pks.len() as i64, PAGE);
    let (scope, vis) = (scope(), visibility());
    let keys = vec!["k1".to_owned(), "k2".to_owned()];
    let key_refs = ["k1", "k2"];
    // Six tags, as the benchmark's writes carry.
    let tags: Vec<Tag> = (3..9)
        .map(|k| Tag {
            key: format!("k{k}"),
            value: "c".into(),
        })
        .collect();
    let limit = TagLimit {
        max: 1,
        exempt_prefixes: &[],
    };
    let lookup = lookup(&app.database_url);
    let no_counts = Deltas::default();
    let lock = match b {
        Backend::Postgres => (" FOR UPDATE", lookup),
        Backend::Sqlite => ("", lookup),
    };
    let statements = [
        // How a removal finds its resources: by their addresses.
        ("lock_resources", sql::lock_resources(&scope, &ids, lock)),
        (
            "upsert_tags",
            sql::upsert_tags((&scope, scope_pk), &pks, &tags),
        ),
        ("over_limit", sql::over_limit(&scope, &pks, limit)),
        ("current_tags", sql::current_tags(PROJECT, &pks, &key_refs)),
        (
            "delete_tags",
            sql::delete_tags(PROJECT, &pks, Removal::Keys(&keys)),
        ),
        ("tags_of", sql::tags_of(PROJECT, &pks)),
        (
            "resources_by_pk",
            sql::resources_by_pk(&scope, &pks, lookup),
        ),
        ("all_tags_of", sql::all_tags_of(PROJECT, pks[0])),
        // One resource by its address or its name: `PutResource`, `ListResourceTags`.
        (
            "resource_named",
            sql::resource_named(&scope, "first-3", lock.0),
        ),
        (
            "resource_tags by id",
            sql::resource_tags(&scope, "resource_id", "first-3", &vis),
        ),
        (
            "resource_tags by name",
            sql::resource_tags(&scope, "name", "the third", &vis),
        ),
        (
            "delete_resource",
            sql::delete_resource(&scope, pks[0], &vis),
        ),
        ("delete_tags_of", sql::delete_tags_of(PROJECT, pks[0])),
        // A read, but of the same kind: a page of tags of resources found by id.
        (
            "tag_rows_by_pk",
            sql::tag_rows_by_pk(&scope, &pks, &vis, None, 100, lookup),
        ),
        (
            "take_revision",
            last_steps(b, &scope, (scope_pk, &no_counts), &pks),
        ),
    ];
    // PostgreSQL: a server's connection makes each statement's generic plan when it first runs
    // it, while the project is small, and keeps it as the project grows (until the statistics
    // change). Planned here at the same point.
    let mut early = match b {
        Backend::Postgres => {
            let mut conn = service_session(&app).await;
            for (i, (_, q)) in statements.iter().enumerate() {
                prepare(&mut conn, &format!("s{i}"), q).await;
                rows_read(&mut conn, &format!("s{i}"), q).await;
            }
            Some(conn)
        }
        Backend::Sqlite => None,
    };
    // The project grown through the service's own writes, never analyzed: a plan that reads the
    // project's range instead of the listed rows reads them all.
    seed_bulk(&app).await;
    for chunk in (0..GROWN).collect::<Vec<_>>().chunks(50) {
        let ids: Vec<String> = chunk.iter().map(|i| format!("grown-{i}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        app.tag("CLUSTER", &ids, &[("k1", "a"), ("k2", "b")]).await;
    }
    let states: &[&str] = match b {
        Backend::Postgres => &["planned small", "missing", "fresh"],
        Backend::Sqlite => &["missing", "fresh"],
    };
    let mut failures = Vec::new();
    for state in states {
        match (b, *state) {
            (Backend::Postgres, "missing") => execute(&app, &WIPE_STATISTICS).await,
            (Backend::Postgres, "fresh") => execute(&app, &["ANALYZE"]).await,
            (Backend::Sqlite, "fresh") => {
                let mut conn = SqliteConnection::connect(&app.database_url).await.unwrap();
                sqlx::query("ANALYZE").execute(&mut conn).await.unwrap();
            }
            _ => {}
        }
        for (i, (name, q)) in statements.iter().enumerate() {
            let what = format!("{name} ({state} statistics)");
            match b {
                Backend::Postgres => {
                    let (rows, plan) = match early.as_mut() {
                        Some(conn) => rows_read(conn, &format!("s{i}"), q).await,
                        None => {
                            let mut conn = service_session(&app).await;
                            prepare(&mut conn, "q", q).await;
                            rows_read(&mut conn, "q", q).await
                        }
                    };
                    // The page's resources (with their two tags each, and the six tags of a
                    // write for each) against the project's 20,000.
                    if rows > 10 * PAGE as u64 {
                        failures.push(format!(
                            "{what} read {rows} rows of a project of {} resources:\n{plan}",
                            RESOURCES + GROWN
                        ));
                    }
                }
                Backend::Sqlite => {
                    let plan = sqlite_plan(&app, q).await;
                    assert_seeks_tables(&plan, &what);
                    // `project_revisions` is keyed by the project: one row.
                    let range = plan.lines().any(|l| {
                        !l.contains("project_revisions")
                            && ["(project_id=?)", "(project_id=? AND resource_type=?)"]
                                .iter()
                                .any(|r| l.ends_with(r))
                    });
                    assert!(
                        !range,
                        "{what} searches the project's or the scope's range:\n{plan}"
                    );
                }
            }
        }
        early = None;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

both_backends!(writes_look_their_rows_up_by_id);
