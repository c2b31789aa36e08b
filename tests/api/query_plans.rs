//! The plans of ListTagResources' statements, taken from the store's own SQL on a small dataset:
//! every table is reached through an index, named resources through their address, and a deep
//! keyset page seeks to its position instead of scanning from the start. No timing is asserted.
//! PostgreSQL is asked for the generic plan (what a cached prepared statement runs) with
//! sequential scans priced out, so the plan shows which index serves each part, not whether a scan
//! would be cheaper on a table this small.

use sqlx::{Connection, PgConnection, Row, SqliteConnection};
use tagging_service::{
    domain::{KeyFilter, Scope, TagRowQuery, Visibility},
    store::sql::{self, Arg, Sql},
};

use crate::helpers::{Backend, PROJECT, TestApp};

fn scope() -> Scope {
    Scope {
        project_id: PROJECT.into(),
        resource_type: "CLUSTER".into(),
    }
}

fn visibility() -> Visibility {
    Visibility {
        hidden_prefixes: vec!["acs:".into(), "aliyun".into(), "_sys_".into()],
        while_live: None,
    }
}

/// Forty resources, each with `env` (prod for every other one) and `tier`.
async fn fixture(b: Backend) -> TestApp {
    let app = TestApp::spawn(b).await;
    for i in 0..40 {
        let id = format!("r{i:02}");
        let env = if i % 2 == 0 { "prod" } else { "dev" };
        let tier = if i % 4 < 2 { "web" } else { "db" };
        app.tag(
            "CLUSTER",
            &[&id],
            &[("env", env), ("tier", tier), ("owner", "x")],
        )
        .await;
    }
    app
}

fn literal(a: &Arg<'_>) -> String {
    match a {
        Arg::Text(s) => format!("'{}'", s.replace('\'', "''")),
        Arg::Int(i) => i.to_string(),
    }
}

/// The plan as text: PostgreSQL's generic plan, SQLite's query plan.
async fn plan(app: &TestApp, b: Backend, q: &Sql<'_>) -> String {
    match b {
        Backend::Postgres => {
            let mut conn = PgConnection::connect(&app.database_url).await.unwrap();
            for s in [
                "ANALYZE",
                "SET enable_seqscan = off",
                "SET plan_cache_mode = force_generic_plan",
            ] {
                sqlx::query(s).execute(&mut conn).await.unwrap();
            }
            sqlx::query(&format!("PREPARE q AS {}", q.text))
                .execute(&mut conn)
                .await
                .unwrap();
            let args: Vec<String> = q.args.iter().map(literal).collect();
            let lines: Vec<String> =
                sqlx::query_scalar(&format!("EXPLAIN EXECUTE q({})", args.join(", ")))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
            lines.join("\n")
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

fn assert_no_full_scan(b: Backend, plan: &str) {
    let full_scan = match b {
        Backend::Postgres => plan.contains("Seq Scan"),
        // SQLite says SCAN for a walk of a whole table or index; its CTE reads are `SCAN r`.
        Backend::Sqlite => plan
            .lines()
            .any(|l| l.starts_with("SCAN") && !l.starts_with("SCAN r")),
    };
    assert!(!full_scan, "a table is scanned whole:\n{plan}");
}

fn filter(pairs: &[(&str, &str)]) -> TagRowQuery {
    TagRowQuery {
        resource_ids: Vec::new(),
        tags: pairs
            .iter()
            .map(|(k, v)| KeyFilter {
                key: (*k).into(),
                values: vec![(*v).into()],
            })
            .collect(),
    }
}

async fn named_resources_are_found_by_their_address(b: Backend) {
    let app = fixture(b).await;
    let (scope, vis) = (scope(), visibility());
    let query = TagRowQuery {
        resource_ids: vec!["r03".into(), "r17".into()],
        tags: Vec::new(),
    };
    let plan = plan(&app, b, &sql::tag_rows(&scope, &query, &vis, None, 101)).await;
    assert_no_full_scan(b, &plan);
    let address = match b {
        Backend::Postgres => "resources_address",
        Backend::Sqlite => "sqlite_autoindex_resources_1",
    };
    assert!(
        plan.contains(address),
        "ids not looked up by address:\n{plan}"
    );
}

async fn tag_filters_use_indexes_at_any_depth(b: Backend) {
    let app = fixture(b).await;
    let (scope, vis) = (scope(), visibility());
    let two = filter(&[("env", "prod"), ("tier", "web")]);
    let first = plan(&app, b, &sql::tag_rows(&scope, &two, &vis, None, 11)).await;
    assert_no_full_scan(b, &first);
    let deep = plan(
        &app,
        b,
        &sql::tag_rows(&scope, &two, &vis, Some((20, "env")), 11),
    )
    .await;
    assert_no_full_scan(b, &deep);
    // The page's position is an index bound, not a filter applied to rows already read.
    let seeks = match b {
        Backend::Postgres => deep
            .lines()
            .any(|l| l.contains("Index Cond") && l.contains("resource_pk >=")),
        Backend::Sqlite => deep
            .lines()
            .any(|l| l.starts_with("SEARCH") && l.contains("pk>?")),
    };
    assert!(
        seeks,
        "the deep page does not seek to its position:\n{deep}"
    );
}

both_backends!(
    named_resources_are_found_by_their_address,
    tag_filters_use_indexes_at_any_depth
);
