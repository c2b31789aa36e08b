//! The plans of the statements a write runs on rows it found by internal id (its resources, their
//! tags), built by the store's own code on a project of 2,000 resources seeded through the API.
//! Each names the project as well as the ids (docs/scaling.md, "Sharding by tenant"), and must
//! still look its rows up by id rather than read the project's range: on PostgreSQL, the rows
//! every scan of the executed generic plan produced (run in a transaction that is rolled back),
//! with the statistics missing and fresh; on SQLite, no table is scanned whole and none is
//! searched by the project alone. No timing is asserted.

use sqlx::{Connection, PgConnection, Row, SqliteConnection};
use tagging_service::store::{
    Deltas, PLANNER_SETTINGS, Removal, TagLimit, lookup_by_id,
    sql::{self, Arg, Sql},
    subquery_fence,
};

use crate::{
    helpers::{Backend, PROJECT, TestApp},
    query_plans::{
        RESOURCES, WIPE_STATISTICS, execute, scanned_rows, scope, seed_bulk, visibility,
    },
};

/// The resources one write names: a page of them, in the middle of the project.
const PAGE: i64 = 50;

/// The internal ids of a page of the project's resources, and the scope's key.
async fn page_and_scope(app: &TestApp, b: Backend) -> (Vec<i64>, i64) {
    let pks = "SELECT pk FROM resources ORDER BY pk LIMIT 50 OFFSET 1000";
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

/// `query` with the arguments of `q`, typed as the store binds them.
fn bind<'q, Q: BindArgs<'q>>(query: Q, q: &'q Sql<'_>) -> Q {
    q.args.iter().fold(query, |query, a| match *a {
        Arg::Text(s) => query.text(s),
        Arg::Int(i) => query.int(i),
    })
}

/// The two kinds of argument, on either database's query type.
trait BindArgs<'q> {
    fn text(self, s: &'q str) -> Self;
    fn int(self, i: i64) -> Self;
}

impl<'q, DB: sqlx::Database, O> BindArgs<'q>
    for sqlx::query::QueryScalar<'q, DB, O, <DB as sqlx::Database>::Arguments<'q>>
where
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    fn text(self, s: &'q str) -> Self {
        self.bind(s)
    }
    fn int(self, i: i64) -> Self {
        self.bind(i)
    }
}

impl<'q, DB: sqlx::Database> BindArgs<'q>
    for sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    fn text(self, s: &'q str) -> Self {
        self.bind(s)
    }
    fn int(self, i: i64) -> Self {
        self.bind(i)
    }
}

/// PostgreSQL: the rows the executed generic plan's scans produced, and the plan; the statement
/// runs in a transaction that is never committed. SQLite: the query plan.
async fn rows_read_or_plan(app: &TestApp, b: Backend, q: &Sql<'_>) -> (u64, String) {
    match b {
        Backend::Postgres => {
            let mut conn = PgConnection::connect(&app.database_url).await.unwrap();
            for (name, value) in PLANNER_SETTINGS {
                sqlx::query(&format!("SET {name} = {value}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            sqlx::query("SET plan_cache_mode = force_generic_plan")
                .execute(&mut conn)
                .await
                .unwrap();
            sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
            let text = format!("EXPLAIN (ANALYZE, TIMING OFF) {}", q.text);
            let lines: Vec<String> = bind(sqlx::query_scalar(&text), q)
                .fetch_all(&mut conn)
                .await
                .unwrap();
            (scanned_rows(&lines), lines.join("\n"))
        }
        Backend::Sqlite => {
            let mut conn = SqliteConnection::connect(&app.database_url).await.unwrap();
            let text = format!("EXPLAIN QUERY PLAN {}", q.text);
            let query = bind(sqlx::query(&text), q);
            let rows = query.fetch_all(&mut conn).await.unwrap();
            let plan: Vec<String> = rows.iter().map(|r| r.get::<String, _>(3)).collect();
            (0, plan.join("\n"))
        }
    }
}

/// SQLite: no table is scanned whole (`v`, `c` and `o` are the statements' own lists and
/// subqueries).
fn assert_seeks_tables(plan: &str, what: &str) {
    let scanned = plan.lines().any(|l| {
        let mut words = l.trim_start().split(' ');
        words.next() == Some("SCAN")
            && !words
                .next()
                .is_some_and(|w| ["v", "c", "o", "CONSTANT"].contains(&w))
            && !l.contains("VALUES CLAUSE")
    });
    assert!(!scanned, "{what}: a table is scanned whole:\n{plan}");
}

async fn writes_look_their_rows_up_by_id(b: Backend) {
    let app = TestApp::spawn(b).await;
    seed_bulk(&app).await;
    let (pks, scope_pk) = page_and_scope(&app, b).await;
    assert_eq!(pks.len() as i64, PAGE);
    let (scope, vis) = (scope(), visibility());
    let keys = vec!["k1".to_owned(), "k2".to_owned()];
    let key_refs = ["k1", "k2"];
    let tags = [tagging_service::domain::Tag {
        key: "k3".into(),
        value: "c".into(),
    }];
    let limit = TagLimit {
        max: 1,
        exempt_prefixes: &[],
    };
    let fence = subquery_fence(&app.database_url);
    let by_id = lookup_by_id(&app.database_url);
    let no_counts = Deltas::default();
    let statements = [
        (
            "upsert_tags",
            sql::upsert_tags((&scope, scope_pk), &pks, &tags, by_id),
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
            sql::resources_by_pk(&scope, &pks, (fence, by_id)),
        ),
        ("all_tags_of", sql::all_tags_of(PROJECT, pks[0])),
        (
            "delete_resource",
            sql::delete_resource(&scope, pks[0], &vis),
        ),
        ("delete_tags_of", sql::delete_tags_of(PROJECT, pks[0])),
        // PostgreSQL's last steps of a write (SQLite's are a script of several statements).
        (
            "take_revision",
            sql::take_revision(PROJECT, (scope_pk, &no_counts), &pks, 0),
        ),
    ];
    let states: &[&str] = match b {
        Backend::Postgres => &["missing", "fresh"],
        Backend::Sqlite => &["missing", "fresh"],
    };
    for state in states {
        match (b, *state) {
            (Backend::Postgres, "missing") => execute(&app, &WIPE_STATISTICS).await,
            (Backend::Postgres, _) => execute(&app, &["ANALYZE"]).await,
            (Backend::Sqlite, "fresh") => {
                let mut conn = SqliteConnection::connect(&app.database_url).await.unwrap();
                sqlx::query("ANALYZE").execute(&mut conn).await.unwrap();
            }
            (Backend::Sqlite, _) => {}
        }
        for (name, q) in &statements {
            if b == Backend::Sqlite && *name == "take_revision" {
                continue;
            }
            let (rows, plan) = rows_read_or_plan(&app, b, q).await;
            let what = format!("{name} ({state} statistics)");
            match b {
                // Each resource has two tags; the project has 2,000 resources and 4,000 tags.
                Backend::Postgres => assert!(
                    rows <= 5 * PAGE as u64,
                    "{what} read {rows} rows of a project of {RESOURCES} resources:\n{plan}"
                ),
                Backend::Sqlite => {
                    assert_seeks_tables(&plan, &what);
                    assert!(
                        !plan.contains("(project_id=?)"),
                        "{what} searches the project's range:\n{plan}"
                    );
                }
            }
        }
    }
}

both_backends!(writes_look_their_rows_up_by_id);
