//! The plans of filtered reads, built by the store's own code (the counts statement, the choice of
//! `store::plan`, the statement of `store::sql`) on a project of 2,000 resources seeded through
//! the API. A rare filter must read rows in proportion to its matches, not to the project: on
//! PostgreSQL that is measured (rows every scan of the executed plan produced or its filters
//! dropped, `EXPLAIN ANALYZE` of the generic plan, with the service's own session settings) with
//! the statistics stale, fresh and missing; on SQLite the plan must seek each range it reads. No
//! timing is asserted.

use sqlx::{Connection, PgConnection, Row, SqliteConnection};
use tagging_service::{
    domain::{KeyFilter, ResourceFilter, Scope, TagRowQuery, Visibility},
    store::{
        PLANNER_SETTINGS, lookup,
        plan::{self, Positives},
        postings::Term,
        sql::{self, Arg, Lookup, Matching, Sql},
    },
};

use crate::helpers::{Backend, PROJECT, TestApp};

pub(crate) const RESOURCES: usize = 2000;
/// The resources carrying `rare=yes`.
const RARE: [usize; 2] = [777, 1555];

pub(crate) fn scope() -> Scope {
    Scope {
        project_id: PROJECT.into(),
        resource_type: "CLUSTER".into(),
    }
}

pub(crate) fn visibility() -> Visibility {
    Visibility {
        hidden_prefixes: vec!["acs:".into(), "aliyun".into(), "_sys_".into()],
        while_live: None,
        at_least: None,
    }
}

fn id(i: usize) -> String {
    format!("r{i:05}")
}

/// Registers the resources with `k1`, `k2` (the bulk a project has before any filter tag).
pub(crate) async fn seed_bulk(app: &TestApp) {
    for chunk in (0..RESOURCES).collect::<Vec<_>>().chunks(50) {
        let ids: Vec<String> = chunk.iter().map(|i| id(*i)).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        app.tag("CLUSTER", &ids, &[("k1", "a"), ("k2", "b")]).await;
    }
}

/// `env` (prod on every 4th), `tier` (web on every 2nd) and `rare=yes` on two resources.
pub(crate) async fn seed_filters(app: &TestApp) {
    for (env, tier, step) in [("prod", "web", 0), ("dev", "web", 2), ("dev", "db", 1)] {
        let ids: Vec<String> = (0..RESOURCES)
            .filter(|i| match step {
                0 => i.is_multiple_of(4),
                2 => i % 4 == 2,
                _ => i % 2 == 1,
            })
            .map(id)
            .collect();
        for chunk in ids.chunks(50) {
            let ids: Vec<&str> = chunk.iter().map(String::as_str).collect();
            app.tag("CLUSTER", &ids, &[("env", env), ("tier", tier)])
                .await;
        }
    }
    let rare: Vec<String> = RARE.iter().map(|i| id(*i)).collect();
    let rare: Vec<&str> = rare.iter().map(String::as_str).collect();
    app.tag("CLUSTER", &rare, &[("rare", "yes")]).await;
}

pub(crate) fn kf(key: &str, values: &[&str]) -> KeyFilter {
    KeyFilter {
        key: key.into(),
        values: values.iter().map(|v| (*v).into()).collect(),
    }
}

fn literal(a: &Arg<'_>) -> String {
    match a {
        Arg::Text(s) => format!("'{}'", s.replace('\'', "''")),
        Arg::Int(i) => i.to_string(),
    }
}

/// Prepares `q` as `name` on `conn`, its parameters typed as the store binds them (a list of ids
/// as rows would otherwise be text): its generic plan is made at its first execution and kept,
/// as on a server's connection.
pub(crate) async fn prepare(conn: &mut PgConnection, name: &str, q: &Sql<'_>) {
    let types: Vec<&str> = q
        .args
        .iter()
        .map(|a| match a {
            Arg::Text(_) => "text",
            Arg::Int(_) => "bigint",
        })
        .collect();
    let types = match types.is_empty() {
        true => String::new(),
        false => format!("({})", types.join(", ")),
    };
    let prepare = format!("PREPARE {name}{types} AS {}", q.text);
    sqlx::query(&prepare).execute(conn).await.unwrap();
}

/// `EXECUTE name(…)` of the statement prepared as `name`, with the arguments of `q`.
pub(crate) fn execution(name: &str, q: &Sql<'_>) -> String {
    let args: Vec<String> = q.args.iter().map(literal).collect();
    match args.is_empty() {
        true => format!("EXECUTE {name}"),
        false => format!("EXECUTE {name}({})", args.join(", ")),
    }
}

/// The filter's counts, read by the store's own statement.
pub(crate) async fn counts(app: &TestApp, b: Backend, filter: &ResourceFilter) -> Vec<i64> {
    let (scope, vis) = (scope(), visibility());
    let positives = Positives::of(filter);
    let q = sql::filter_counts(&scope, positives.counted(), &vis);
    let n = positives.counted().count();
    let text = q.text.clone();
    match b {
        Backend::Postgres => {
            let mut conn = PgConnection::connect(&app.database_url).await.unwrap();
            let mut query = sqlx::query(&text);
            for a in &q.args {
                query = match *a {
                    Arg::Text(s) => query.bind(s),
                    Arg::Int(i) => query.bind(i),
                };
            }
            let row = query.fetch_one(&mut conn).await.unwrap();
            (1..=n).map(|i| row.get::<i64, _>(i)).collect()
        }
        Backend::Sqlite => {
            let mut conn = SqliteConnection::connect(&app.database_url).await.unwrap();
            let mut query = sqlx::query(&text);
            for a in &q.args {
                query = match *a {
                    Arg::Text(s) => query.bind(s),
                    Arg::Int(i) => query.bind(i),
                };
            }
            let row = query.fetch_one(&mut conn).await.unwrap();
            (1..=n).map(|i| row.get::<i64, _>(i)).collect()
        }
    }
}

/// The statement `ListResources` runs for `filter` (page 1, 10 resources), as the store builds it.
async fn list_resources(app: &TestApp, b: Backend, filter: &ResourceFilter) -> String {
    read(app, b, filter, Read::Resources).await
}

/// The statement `CountResources` runs for `filter` when its counts do not answer it.
async fn count_resources(app: &TestApp, b: Backend, filter: &ResourceFilter) -> String {
    read(app, b, filter, Read::Count).await
}

/// The statement `ListTagResources` runs for a filter of `tags` alone (page 1, 101 rows).
async fn tag_rows(app: &TestApp, b: Backend, filter: &ResourceFilter) -> String {
    read(app, b, filter, Read::TagRows).await
}

#[derive(Clone, Copy, PartialEq)]
enum Read {
    Resources,
    Count,
    TagRows,
}

async fn read(app: &TestApp, b: Backend, filter: &ResourceFilter, read: Read) -> String {
    let counts = counts(app, b, filter).await;
    let plan = plan::choose(Positives::of(filter), filter.name.as_deref(), Some(&counts));
    let (scope, vis) = (scope(), visibility());
    let m = Matching {
        scope: &scope,
        filter,
        plan,
        visibility: &vis,
    };
    let q = match read {
        Read::Count => sql::count_resources(&m),
        Read::Resources => sql::resources(&m, None, 10, lookup(&app.database_url)),
        Read::TagRows => sql::tag_rows(&m, None, 101, lookup(&app.database_url)),
    };
    rows_read_or_plan(app, b, &q).await
}

fn rows_of(out: &str) -> u64 {
    out.lines().next().unwrap().parse().unwrap()
}

/// A connection with the session the service's connections have.
pub(crate) async fn service_session(app: &TestApp) -> PgConnection {
    let mut conn = PgConnection::connect(&app.database_url).await.unwrap();
    for (name, value) in PLANNER_SETTINGS {
        sqlx::query(&format!("SET {name} = {value}"))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    conn
}

/// On PostgreSQL, how many rows the executed generic plan read (its scans produced, and its filters
/// dropped), as a number; on SQLite, the query plan.
async fn rows_read_or_plan(app: &TestApp, b: Backend, q: &Sql<'_>) -> String {
    rows_read_or_plan_with(app, b, q, None).await
}

/// The same, on PostgreSQL in a transaction that first runs `settings` (as the store runs
/// `sql::MERGE_SETTINGS` before a merging count).
async fn rows_read_or_plan_with(
    app: &TestApp,
    b: Backend,
    q: &Sql<'_>,
    settings: Option<&str>,
) -> String {
    match b {
        Backend::Postgres => {
            let mut conn = service_session(app).await;
            if let Some(settings) = settings {
                sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
                sqlx::query(settings).execute(&mut conn).await.unwrap();
            }
            prepare(&mut conn, "q", q).await;
            let explain = format!("EXPLAIN (ANALYZE, TIMING OFF) {}", execution("q", q));
            let lines: Vec<String> = sqlx::query_scalar(&explain)
                .fetch_all(&mut conn)
                .await
                .unwrap();
            let rows = scanned_rows(&lines) + removed_rows(&lines);
            rows.to_string() + "\n" + &lines.join("\n")
        }
        Backend::Sqlite => {
            let mut conn = SqliteConnection::connect(&app.database_url).await.unwrap();
            let text = format!("EXPLAIN QUERY PLAN {}", q.text);
            let mut query = sqlx::query(&text);
            for a in &q.args {
                query = match *a {
                    Arg::Text(s) => query.bind(s),
                    Arg::Int(i) => query.bind(i),
                };
            }
            let rows = query.fetch_all(&mut conn).await.unwrap();
            rows.iter()
                .map(|r| r.get::<String, _>(3))
                .collect::<Vec<_>>()
                .join("\n")
        }
    }
}

/// The rows all scan nodes produced: `rows=N loops=M` of each `… Scan …` line, N × M summed.
pub(crate) fn scanned_rows(plan: &[String]) -> u64 {
    plan.iter()
        .filter(|l| l.contains("Scan"))
        .filter_map(|l| {
            let actual = l.split("(actual").nth(1)?;
            let rows = actual.split("rows=").nth(1)?.split(' ').next()?;
            let loops = actual.split("loops=").nth(1)?.trim_end_matches(')');
            Some(rows.parse::<u64>().ok()? * loops.parse::<u64>().ok()?)
        })
        .sum()
}

/// The rows the plan's filters and join filters dropped. EXPLAIN gives them per loop, under the
/// line of their node, which gives the loops.
pub(crate) fn removed_rows(plan: &[String]) -> u64 {
    let mut loops = 1;
    let mut removed = 0;
    for line in plan {
        if let Some(n) = line.split("loops=").nth(1) {
            loops = n.trim_end_matches(')').parse().unwrap_or(1);
        }
        let dropped = ["Rows Removed by Filter: ", "Rows Removed by Join Filter: "]
            .iter()
            .find_map(|label| line.split(label).nth(1)?.trim().parse::<u64>().ok());
        removed += dropped.unwrap_or(0) * loops;
    }
    removed
}

/// The most times any scan of the plan ran: once per candidate when a filter is probed.
fn most_loops(plan: &str) -> u64 {
    plan.lines()
        .filter(|l| l.contains("Scan"))
        .filter_map(|l| l.split("loops=").nth(1)?.trim_end_matches(')').parse().ok())
        .max()
        .unwrap_or(0)
}

/// Whether ListTagResources can ask for the filter: positive entries of at most one value.
pub(crate) fn tags_alone(f: &ResourceFilter) -> bool {
    f.any.is_empty()
        && f.not_all.is_empty()
        && f.not_any.is_empty()
        && f.all.iter().all(|k| k.values.len() <= 1)
}

pub(crate) fn rare_shapes() -> Vec<(&'static str, ResourceFilter)> {
    let all = |filters: Vec<KeyFilter>| ResourceFilter {
        all: filters,
        ..ResourceFilter::default()
    };
    vec![
        ("rare=yes", all(vec![kf("rare", &["yes"])])),
        ("key-only rare", all(vec![kf("rare", &[])])),
        ("env=nosuch", all(vec![kf("env", &["nosuch"])])),
        (
            "env=prod AND rare=yes",
            all(vec![kf("env", &["prod"]), kf("rare", &["yes"])]),
        ),
        (
            "any of rare=yes, env=nosuch",
            ResourceFilter {
                any: vec![kf("rare", &["yes"]), kf("env", &["nosuch"])],
                ..ResourceFilter::default()
            },
        ),
        (
            "rare=yes without tier=web",
            ResourceFilter {
                all: vec![kf("rare", &["yes"])],
                not_any: vec![kf("tier", &["web"])],
                ..ResourceFilter::default()
            },
        ),
    ]
}

/// PostgreSQL: each rare shape reads a few dozen rows of a 2,000-resource project, and a walk
/// of the project (a negation alone, which no index serves) is seen to read it whole, so the
/// measure is one that would catch a plan reading in proportion to the project.
async fn check_postgres(app: &TestApp, state: &str) {
    for (name, filter) in rare_shapes() {
        for (what, out) in [
            (
                "page",
                list_resources(app, Backend::Postgres, &filter).await,
            ),
            (
                "count",
                count_resources(app, Backend::Postgres, &filter).await,
            ),
        ] {
            let rows = rows_of(&out);
            assert!(
                rows <= 40,
                "{name}, {what} ({state} statistics) read {rows} rows of a project of {RESOURCES}:\n{out}"
            );
        }
    }
    // Every resource carries k1=a, so its negation walks the whole project and finds nothing.
    let walk = ResourceFilter {
        not_any: vec![kf("k1", &["a"])],
        ..ResourceFilter::default()
    };
    let out = list_resources(app, Backend::Postgres, &walk).await;
    assert!(
        rows_of(&out) >= RESOURCES as u64,
        "the measure misses a walk of the project:\n{out}"
    );
    let dense = ResourceFilter {
        all: vec![kf("env", &["prod"])],
        ..ResourceFilter::default()
    };
    let out = list_resources(app, Backend::Postgres, &dense).await;
    let rows = rows_of(&out);
    assert!(
        rows <= 40,
        "a dense page ({state}) read {rows} rows:\n{out}"
    );
    // 101 tag rows are about 26 resources' tags: their index entries, resources and tags.
    let out = tag_rows(app, Backend::Postgres, &dense).await;
    let rows = rows_of(&out);
    assert!(
        rows <= 300,
        "a dense page of tag rows ({state}) read {rows} rows:\n{out}"
    );
    check_postings(app, state).await;
}

/// The filter postings' statements (`src/store/postings`): a rare term's set, a rare key's (from
/// the (key, value) index: no index orders a key's resources), and a page of resources, or of
/// their tag rows, by internal id read rows in proportion to what they return (each resource
/// has four tags: 100 tag rows are 25 resources' index entries, resources and tags, however
/// many ids the page lists).
async fn check_postings(app: &TestApp, state: &str) {
    let (scope, vis) = (scope(), visibility());
    let rare = Term::Pair("rare".into(), "yes".into());
    let rare_key = Term::Key("rare".into());
    let pks: Vec<i64> = (1..=100).map(|i| i * 20).collect();
    let lookup = lookup(&app.database_url);
    for (what, q, most) in [
        ("the set of rare=yes", sql::posting_set(&scope, &rare), 250),
        (
            "the set of key rare",
            sql::posting_set(&scope, &rare_key),
            250,
        ),
        (
            "100 resources by id",
            sql::resources_by_pk(&scope, &pks, lookup),
            250,
        ),
        (
            "100 resources' tag rows by id",
            sql::tag_rows_by_pk(&scope, &pks, &vis, Some((20, "k1")), 100, lookup),
            300,
        ),
    ] {
        let out = rows_read_or_plan(app, Backend::Postgres, &q).await;
        let rows = rows_of(&out);
        assert!(
            rows <= most,
            "{what} ({state} statistics) read {rows} rows of a project of {RESOURCES}:\n{out}"
        );
    }
}

pub(crate) async fn execute(app: &TestApp, statements: &[&str]) {
    let mut conn = PgConnection::connect(&app.database_url).await.unwrap();
    for s in statements {
        sqlx::query(s).execute(&mut conn).await.unwrap();
    }
}

/// The statistics as a database that was never analyzed has them: none.
pub(crate) const WIPE_STATISTICS: [&str; 2] = [
    "DELETE FROM pg_statistic WHERE starelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)",
    "UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE relnamespace = 'public'::regnamespace",
];

async fn rare_filters_read_rows_in_proportion_to_their_matches(b: Backend) {
    let app = TestApp::spawn(b).await;
    seed_bulk(&app).await;
    match b {
        Backend::Postgres => {
            // Analyzed before the filter tags came: the statistics know nothing of them.
            execute(&app, &["ANALYZE"]).await;
            seed_filters(&app).await;
            check_postgres(&app, "stale").await;
            execute(&app, &["ANALYZE"]).await;
            check_postgres(&app, "fresh").await;
            execute(&app, &WIPE_STATISTICS).await;
            check_postgres(&app, "missing").await;
        }
        Backend::Sqlite => {
            seed_filters(&app).await;
            for state in ["missing", "fresh"] {
                if state == "fresh" {
                    let mut conn = SqliteConnection::connect(&app.database_url).await.unwrap();
                    sqlx::query("ANALYZE").execute(&mut conn).await.unwrap();
                }
                let pks: Vec<i64> = (1..=100).map(|i| i * 20).collect();
                let (scope, vis) = (scope(), visibility());
                let q =
                    sql::tag_rows_by_pk(&scope, &pks, &vis, Some((20, "k1")), 100, Lookup::Plain);
                let plan = rows_read_or_plan(&app, b, &q).await;
                assert_seeks(&plan, &format!("tag rows by id ({state} statistics)"));
                // In order as they are read, so the page stops at its end.
                assert!(
                    !plan.contains("TEMP B-TREE FOR ORDER BY"),
                    "tag rows by id ({state} statistics) are sorted:\n{plan}"
                );
                for (name, filter) in rare_shapes() {
                    let plan = list_resources(&app, b, &filter).await;
                    assert_seeks(&plan, &format!("{name} ({state} statistics)"));
                    if tags_alone(&filter) {
                        let plan = tag_rows(&app, b, &filter).await;
                        assert_seeks(&plan, &format!("{name}, tag rows ({state} statistics)"));
                    }
                }
            }
        }
    }
}

/// SQLite: every table and index is searched by a key, never scanned whole (`SCAN m`, `g` and
/// `r` are the rows of the statement's own subqueries).
pub(crate) fn assert_seeks(plan: &str, what: &str) {
    let scans = plan.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with("SCAN")
            && !["SCAN m", "SCAN g", "SCAN r"]
                .iter()
                .any(|own| l.starts_with(own))
            && !l.contains("CONSTANT ROW")
    });
    assert!(!scans, "{what}: a table is scanned whole:\n{plan}");
}

async fn named_resources_are_found_by_their_address(b: Backend) {
    let app = TestApp::spawn(b).await;
    seed_bulk(&app).await;
    let (scope, vis) = (scope(), visibility());
    let query = TagRowQuery {
        resource_ids: vec![id(3), id(1700)],
        tags: vec![kf("k1", &["a"])],
    };
    let plan = rows_read_or_plan(
        &app,
        b,
        &sql::named_tag_rows(&scope, &query, &vis, None, 101),
    )
    .await;
    match b {
        Backend::Postgres => {
            let rows = rows_of(&plan);
            assert!(rows <= 20, "named resources read {rows} rows:\n{plan}");
        }
        Backend::Sqlite => {
            assert_seeks(&plan, "named resources");
            assert!(
                plan.contains("sqlite_autoindex_resources_1"),
                "ids not looked up by address:\n{plan}"
            );
        }
    }
}

/// A deep page of a dense filter starts at its position: it reads what page 1 does.
async fn a_deep_page_seeks_to_its_position(b: Backend) {
    let app = TestApp::spawn(b).await;
    seed_bulk(&app).await;
    seed_filters(&app).await;
    let (scope, vis) = (scope(), visibility());
    let filter = ResourceFilter {
        all: vec![kf("env", &["prod"]), kf("tier", &["web"])],
        ..ResourceFilter::default()
    };
    let counts = counts(&app, b, &filter).await;
    let plan = plan::choose(Positives::of(&filter), None, Some(&counts));
    let m = Matching {
        scope: &scope,
        filter: &filter,
        plan,
        visibility: &vis,
    };
    let first = rows_read_or_plan(
        &app,
        b,
        &sql::tag_rows(&m, None, 11, lookup(&app.database_url)),
    )
    .await;
    let deep = rows_read_or_plan(
        &app,
        b,
        &sql::tag_rows(&m, Some((1800, "env")), 11, lookup(&app.database_url)),
    )
    .await;
    match b {
        Backend::Postgres => {
            let (first_rows, deep_rows) = (rows_of(&first), rows_of(&deep));
            assert!(
                deep_rows <= first_rows + first_rows / 5,
                "a deep page read {deep_rows} rows, page 1 {first_rows}:\n{deep}"
            );
        }
        Backend::Sqlite => {
            assert_seeks(&deep, "a deep page");
            assert!(
                deep.lines().any(|l| l.contains("resource_pk>?")),
                "the deep page does not seek to its position:\n{deep}"
            );
        }
    }
}

/// A count of two dense filters reads each one's range once, in resource order, rather than
/// probing every candidate of one for the other: on PostgreSQL a merge join, whatever the
/// statistics (no scan runs more than once); on SQLite the driver's range walked and each
/// candidate looked up by index, with statistics or without.
async fn a_count_of_dense_filters_reads_each_range_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    seed_bulk(&app).await;
    let filter = ResourceFilter {
        all: vec![kf("env", &["prod"]), kf("tier", &["web"])],
        ..ResourceFilter::default()
    };
    let (scope, vis) = (scope(), visibility());
    let count = async || {
        let counts = counts(&app, b, &filter).await;
        let positives = Positives::of(&filter);
        let plan = plan::choose(positives, None, Some(&counts));
        let m = Matching {
            scope: &scope,
            filter: &filter,
            plan: plan::for_count(plan, positives, Some(&counts)),
            visibility: &vis,
        };
        let q = sql::count_resources(&m);
        rows_read_or_plan_with(&app, b, &q, Some(sql::MERGE_SETTINGS)).await
    };
    match b {
        Backend::Postgres => {
            execute(&app, &["ANALYZE"]).await;
            seed_filters(&app).await;
            for state in ["stale", "fresh", "missing"] {
                match state {
                    "fresh" => execute(&app, &["ANALYZE"]).await,
                    "missing" => execute(&app, &WIPE_STATISTICS).await,
                    _ => {}
                }
                let out = count().await;
                assert!(
                    out.contains("Merge Join") && most_loops(&out) == 1,
                    "the count ({state} statistics) probes its candidates:\n{out}"
                );
            }
        }
        Backend::Sqlite => {
            seed_filters(&app).await;
            for state in ["missing", "fresh"] {
                if state == "fresh" {
                    let mut conn = SqliteConnection::connect(&app.database_url).await.unwrap();
                    sqlx::query("ANALYZE").execute(&mut conn).await.unwrap();
                }
                let plan = count().await;
                let what = format!("the count of dense filters ({state} statistics)");
                assert_seeks(&plan, &what);
                // The driver's range is the outer loop: the others are looked up per candidate.
                assert!(
                    plan.lines().next().unwrap().starts_with("SEARCH d "),
                    "{what} does not start from its driver:\n{plan}"
                );
            }
        }
    }
}

both_backends!(
    a_count_of_dense_filters_reads_each_range_once,
    rare_filters_read_rows_in_proportion_to_their_matches,
    named_resources_are_found_by_their_address,
    a_deep_page_seeks_to_its_position
);
