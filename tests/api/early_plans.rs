//! The plans of the filtered reads when they were made while the project was small. A server's
//! connection makes a statement's generic plan the first time it runs it and keeps it as the
//! project grows (until the statistics change, and an ingest may never be analyzed). So each read
//! `query_plans` checks is prepared, with the service's session settings, and first run while the
//! project has 50 resources. It is run again once the project has 2,000 with its filter tags, and
//! must still read rows in proportion to what it returns, as `query_plans` requires of plans
//! made with statistics stale, fresh and missing. PostgreSQL only: SQLite's planner assumes the
//! same table sizes whatever they are, so its plans do not depend on when they were made.
//!
//! A statement's text depends on the plan `store::plan` chooses from the filter's counts, so the
//! texts are built on a twin database seeded to the grown state first. No timing is asserted.

use tagging_service::{
    domain::ResourceFilter,
    store::{
        lookup,
        plan::{self, Positives},
        postings::Term,
        sql::{self, Matching, Sql},
    },
};

use crate::{
    helpers::{Backend, TestApp},
    query_plans::{
        RESOURCES, counts, kf, prepare, rare_shapes, scope, seed_bulk, seed_filters,
        service_session, tags_alone, visibility,
    },
    write_plans::rows_read,
};

#[tokio::test]
async fn reads_planned_while_the_project_was_small_keep_to_their_rows() {
    // The twin: the grown state, whose counts choose each read's plan.
    let twin = TestApp::spawn(Backend::Postgres).await;
    seed_bulk(&twin).await;
    seed_filters(&twin).await;
    let (scope, vis) = (scope(), visibility());
    let lookup = lookup(&twin.database_url);

    let dense = ResourceFilter {
        all: vec![kf("env", &["prod"])],
        ..ResourceFilter::default()
    };
    let mut filters = rare_shapes();
    filters.push(("env=prod", dense));
    let mut counted = Vec::new();
    for (name, filter) in &filters {
        counted.push((
            *name,
            filter,
            counts(&twin, Backend::Postgres, filter).await,
        ));
    }
    // (what, statement, the most rows it may read): the bounds of `query_plans`.
    let mut reads: Vec<(String, Sql<'_>, u64)> = Vec::new();
    for (name, filter, counts) in &counted {
        let matching = || Matching {
            scope: &scope,
            filter,
            plan: plan::choose(Positives::of(filter), filter.name.as_deref(), Some(counts)),
            visibility: &vis,
        };
        let page = sql::resources(&matching(), None, 10, lookup);
        reads.push((format!("{name}, page"), page, 40));
        let numbered = sql::resource_page(&matching(), 0, 10, lookup);
        reads.push((format!("{name}, numbered page"), numbered, 40));
        let count = sql::count_resources(&matching());
        if *name != "env=prod" {
            reads.push((format!("{name}, count"), count, 40));
        }
        if tags_alone(filter) {
            let rows = sql::tag_rows(&matching(), None, 101, lookup);
            reads.push((format!("{name}, tag rows"), rows, 300));
        }
    }
    let rare = Term::Pair("rare".into(), "yes".into());
    let pks: Vec<i64> = (1..=100).map(|i| i * 20).collect();

    reads.push((
        "the set of rare=yes".into(),
        sql::posting_set(&scope, &rare),
        250,
    ));
    let by_id = sql::resources_by_pk(&scope, &pks, lookup);
    reads.push(("100 resources by id".into(), by_id, 250));
    let rows_by_id = sql::tag_rows_by_pk(&scope, &pks, &vis, Some((20, "k1")), 100, lookup);
    reads.push(("100 resources' tag rows by id".into(), rows_by_id, 300));

    // The project while small: its first 50 resources, as its first write registers them.
    let app = TestApp::spawn(Backend::Postgres).await;
    let first: Vec<String> = (0..50).map(|i| format!("r{i:05}")).collect();
    let first: Vec<&str> = first.iter().map(String::as_str).collect();
    app.tag("CLUSTER", &first, &[("k1", "a"), ("k2", "b")])
        .await;
    let mut conn = service_session(&app).await;
    for (i, (_, q, _)) in reads.iter().enumerate() {
        prepare(&mut conn, &format!("s{i}"), q).await;
        rows_read(&mut conn, &format!("s{i}"), q).await;
    }
    // Grown as the twin was, never analyzed.
    seed_bulk(&app).await;
    seed_filters(&app).await;
    let mut failures = Vec::new();
    for (i, (what, q, most)) in reads.iter().enumerate() {
        let (rows, plan) = rows_read(&mut conn, &format!("s{i}"), q).await;
        if rows > *most {
            failures.push(format!(
                "{what} read {rows} rows of a project of {RESOURCES}:\n{plan}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
