//! Paging: `next_token` is opaque and keyset-based, so every row comes exactly once and in order
//! even while rows are added; it is bound to its call, its parameters and its project, and any
//! other use of it is INVALID_ARGUMENT on `next_token`.

use std::collections::HashSet;

use tonic::Status;

use crate::helpers::{
    Backend, InProcessServer, PROJECT, TaggingServiceClient, TestApp, assert_invalid, authed, ids,
    pb, row, tag,
};

/// (resource id, key, value)
type Row = (String, String, String);
/// (resource id, its tags as key=value)
type Res = (String, Vec<String>);
/// (key, its values)
type Key = (String, Vec<String>);

const RUNAWAY: usize = 200;

fn env_filter() -> Vec<pb::Tag> {
    vec![tag("env", "")]
}

fn tag_rows_req(page_size: i32) -> pb::ListTagResourcesRequest {
    pb::ListTagResourcesRequest {
        resource_type: "CLUSTER".into(),
        tags: env_filter(),
        page_size,
        ..Default::default()
    }
}

fn resources_req(page_size: i32) -> pb::ListResourcesRequest {
    pb::ListResourcesRequest {
        resource_type: "CLUSTER".into(),
        page_size,
        ..Default::default()
    }
}

fn project_tags_req(page_size: i32) -> pb::ListProjectTagsRequest {
    pb::ListProjectTagsRequest {
        page_size,
        ..Default::default()
    }
}

async fn tag_rows_page(
    app: &TestApp,
    token: &str,
    req: pb::ListTagResourcesRequest,
) -> Result<(Vec<Row>, String), Status> {
    let resp = app
        .client
        .clone()
        .list_tag_resources(authed(token, req))
        .await?
        .into_inner();
    let rows = resp
        .tag_resources
        .into_iter()
        .map(|r| (r.resource_id, r.tag_key, r.tag_value))
        .collect();
    Ok((rows, resp.next_token))
}

async fn resources_page(
    app: &TestApp,
    token: &str,
    req: pb::ListResourcesRequest,
) -> Result<(Vec<Res>, String), Status> {
    let resp = app
        .client
        .clone()
        .list_resources(authed(token, req))
        .await?
        .into_inner();
    let resources = resp
        .resources
        .into_iter()
        .map(|r| {
            let tags = r.tags.iter().map(|t| format!("{}={}", t.key, t.value));
            (r.resource_id, tags.collect())
        })
        .collect();
    Ok((resources, resp.next_token))
}

async fn project_tags_page(
    app: &TestApp,
    token: &str,
    req: pb::ListProjectTagsRequest,
) -> Result<(Vec<Key>, String), Status> {
    let resp = app
        .client
        .clone()
        .list_project_tags(authed(token, req))
        .await?
        .into_inner();
    let keys = resp.tags.into_iter().map(|t| (t.key, t.values)).collect();
    Ok((keys, resp.next_token))
}

/// Every page of `req` in turn, with the app's token.
async fn tag_row_pages(app: &TestApp, mut req: pb::ListTagResourcesRequest) -> Vec<Vec<Row>> {
    let mut pages = Vec::new();
    loop {
        let (rows, next) = tag_rows_page(app, &app.token, req.clone())
            .await
            .expect("a page");
        pages.push(rows);
        if next.is_empty() {
            return pages;
        }
        assert!(pages.len() < RUNAWAY, "paging does not end");
        req.next_token = next;
    }
}

async fn resource_pages(app: &TestApp, mut req: pb::ListResourcesRequest) -> Vec<Vec<Res>> {
    let mut pages = Vec::new();
    loop {
        let (resources, next) = resources_page(app, &app.token, req.clone())
            .await
            .expect("a page");
        pages.push(resources);
        if next.is_empty() {
            return pages;
        }
        assert!(pages.len() < RUNAWAY, "paging does not end");
        req.next_token = next;
    }
}

async fn project_tag_pages(app: &TestApp, mut req: pb::ListProjectTagsRequest) -> Vec<Vec<Key>> {
    let mut pages = Vec::new();
    loop {
        let (keys, next) = project_tags_page(app, &app.token, req.clone())
            .await
            .expect("a page");
        pages.push(keys);
        if next.is_empty() {
            return pages;
        }
        assert!(pages.len() < RUNAWAY, "paging does not end");
        req.next_token = next;
    }
}

fn sizes<T>(pages: &[Vec<T>]) -> Vec<usize> {
    pages.iter().map(Vec::len).collect()
}

fn assert_distinct<T: std::hash::Hash + Eq + std::fmt::Debug>(items: &[T]) {
    let mut seen = HashSet::new();
    for item in items {
        assert!(seen.insert(item), "{item:?} came twice");
    }
}

/// Registers `r0`, `r1`, … one call each, so registration order is id order; each carries
/// `env=dev` and `team=t<i>`.
async fn seed_resources(app: &TestApp, range: std::ops::Range<usize>) {
    for i in range {
        let id = format!("r{i}");
        let team = format!("t{i}");
        app.tag("CLUSTER", &[&id], &[("env", "dev"), ("team", &team)])
            .await;
    }
}

fn seeded_rows(range: std::ops::Range<usize>) -> Vec<Row> {
    range
        .flat_map(|i| {
            let id = format!("r{i}");
            [row(&id, "env", "dev"), row(&id, "team", &format!("t{i}"))]
        })
        .collect()
}

fn seeded_resources(range: std::ops::Range<usize>) -> Vec<Res> {
    range
        .map(|i| {
            (
                format!("r{i}"),
                vec!["env=dev".to_owned(), format!("team=t{i}")],
            )
        })
        .collect()
}

/// Keys `k0`…`k<n-1>` on one smn_topic, each with value `a`, and the even ones also with `b`.
async fn seed_keys(app: &TestApp, n: usize) {
    let keys: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
    for chunk in keys.chunks(20) {
        let first: Vec<(&str, &str)> = chunk.iter().map(|k| (k.as_str(), "a")).collect();
        let id = format!("holder-{}", chunk[0]);
        app.tag("smn_topic", &[&id], &first).await;
    }
    let even: Vec<&String> = keys.iter().step_by(2).collect();
    for chunk in even.chunks(20) {
        let second: Vec<(&str, &str)> = chunk.iter().map(|k| (k.as_str(), "b")).collect();
        let id = format!("other-{}", chunk[0]);
        app.tag("smn_topic", &[&id], &second).await;
    }
}

fn seeded_keys(n: usize) -> Vec<Key> {
    let mut keys: Vec<Key> = (0..n)
        .map(|i| {
            let values = if i % 2 == 0 {
                vec!["a", "b"]
            } else {
                vec!["a"]
            };
            (
                format!("k{i}"),
                values.into_iter().map(str::to_owned).collect(),
            )
        })
        .collect();
    keys.sort();
    keys
}

async fn tag_rows_come_exactly_once_in_order_across_pages(b: Backend) {
    let app = TestApp::spawn(b).await;
    seed_resources(&app, 0..7).await;

    let pages = tag_row_pages(&app, tag_rows_req(3)).await;
    assert_eq!(sizes(&pages), [3, 3, 3, 3, 2]);
    let all: Vec<Row> = pages.concat();
    assert_distinct(&all);
    assert_eq!(all, seeded_rows(0..7));
}

async fn a_page_ending_at_the_last_row_is_the_last_page(b: Backend) {
    let app = TestApp::spawn(b).await;
    seed_resources(&app, 0..6).await;
    seed_keys(&app, 6).await;

    let pages = tag_row_pages(&app, tag_rows_req(3)).await;
    assert_eq!(
        sizes(&pages),
        [3, 3, 3, 3],
        "12 rows are four full pages, not five"
    );
    assert_eq!(pages.concat(), seeded_rows(0..6));

    let pages = resource_pages(&app, resources_req(3)).await;
    assert_eq!(sizes(&pages), [3, 3]);
    assert_eq!(pages.concat(), seeded_resources(0..6));

    let mut req = project_tags_req(4);
    req.resource_type = "smn_topic".into();
    let pages = project_tag_pages(&app, req).await;
    assert_eq!(sizes(&pages), [4, 2]);
    let mut req = project_tags_req(3);
    req.resource_type = "smn_topic".into();
    let pages = project_tag_pages(&app, req).await;
    assert_eq!(sizes(&pages), [3, 3]);
    assert_eq!(pages.concat(), seeded_keys(6));

    // A page size equal to the whole result: one page, no token.
    let (rows, next) = tag_rows_page(&app, &app.token, tag_rows_req(12))
        .await
        .unwrap();
    assert_eq!((rows.len(), next.as_str()), (12, ""));
}

async fn rows_added_after_the_first_page_do_not_repeat_earlier_rows(b: Backend) {
    let app = TestApp::spawn(b).await;
    seed_resources(&app, 0..7).await;

    let (first, next) = tag_rows_page(&app, &app.token, tag_rows_req(3))
        .await
        .unwrap();
    assert_eq!(first, seeded_rows(0..7)[..3]);
    assert!(!next.is_empty());
    seed_resources(&app, 7..9).await;
    let mut req = tag_rows_req(3);
    req.next_token = next;
    let rest = tag_row_pages(&app, req).await;

    let all: Vec<Row> = [vec![first], rest].concat().concat();
    assert_distinct(&all);
    assert_eq!(all, seeded_rows(0..9));
}

async fn removing_the_row_a_token_points_at_does_not_break_the_next_page(b: Backend) {
    let app = TestApp::spawn(b).await;
    seed_resources(&app, 0..4).await;
    let (first, next) = tag_rows_page(&app, &app.token, tag_rows_req(3))
        .await
        .unwrap();
    assert_eq!(first.last(), Some(&row("r1", "env", "dev")));
    let delete = pb::DeleteResourceRequest {
        resource_type: "CLUSTER".into(),
        resource_id: "r1".into(),
        ..Default::default()
    };
    app.client
        .clone()
        .delete_resource(authed(&app.token, delete))
        .await
        .unwrap();

    let mut req = tag_rows_req(3);
    req.next_token = next;
    let rest = tag_row_pages(&app, req).await.concat();
    assert_eq!(rest, seeded_rows(2..4));
}

async fn resources_come_exactly_once_in_registration_order_across_pages(b: Backend) {
    let app = TestApp::spawn(b).await;
    // Registration order, not id order: r6 first.
    seed_resources(&app, 6..7).await;
    seed_resources(&app, 0..6).await;
    let mut expected = seeded_resources(6..7);
    expected.extend(seeded_resources(0..6));

    let pages = resource_pages(&app, resources_req(3)).await;
    assert_eq!(sizes(&pages), [3, 3, 1]);
    let all = pages.concat();
    assert_distinct(&all);
    assert_eq!(all, expected);

    // With a filter, and with resources added after the first page.
    let mut req = resources_req(2);
    req.tags = vec![pb::TagFilter {
        key: "env".into(),
        values: ids(&["dev"]),
    }];
    let (first, next) = resources_page(&app, &app.token, req.clone()).await.unwrap();
    assert_eq!(first, expected[..2]);
    seed_resources(&app, 7..9).await;
    req.next_token = next;
    let rest = resource_pages(&app, req).await;
    let all: Vec<Res> = [vec![first], rest].concat().concat();
    assert_distinct(&all);
    expected.extend(seeded_resources(7..9));
    assert_eq!(all, expected);
}

async fn project_tags_come_exactly_once_in_key_order_across_pages(b: Backend) {
    let app = TestApp::spawn(b).await;
    seed_keys(&app, 7).await;
    let pages = project_tag_pages(&app, project_tags_req(3)).await;
    assert_eq!(sizes(&pages), [3, 3, 1]);
    let all = pages.concat();
    assert_distinct(&all);
    assert_eq!(all, seeded_keys(7));

    // Keys added after the first page: one before the position, one after it.
    let (first, next) = project_tags_page(&app, &app.token, project_tags_req(3))
        .await
        .unwrap();
    assert_eq!(first, seeded_keys(7)[..3]);
    app.tag("CLUSTER", &["late"], &[("a-before", "x"), ("z-after", "y")])
        .await;
    let mut req = project_tags_req(3);
    req.next_token = next;
    let rest = project_tag_pages(&app, req).await.concat();
    let mut expected = seeded_keys(7)[3..].to_vec();
    expected.push(("z-after".into(), vec!["y".into()]));
    assert_eq!(rest, expected);
}

async fn the_default_page_size_is_50(b: Backend) {
    let app = TestApp::spawn(b).await;
    let all_ids: Vec<String> = (0..51).map(|i| format!("r{i:02}")).collect();
    let id_refs: Vec<&str> = all_ids.iter().map(String::as_str).collect();
    for id in &id_refs {
        let key = format!("k-{id}");
        app.tag("CLUSTER", &[id], &[("env", "dev"), (&key, "v")])
            .await;
    }

    // 102 tag rows.
    let (rows, next) = tag_rows_page(&app, &app.token, tag_rows_req(0))
        .await
        .unwrap();
    assert_eq!(rows.len(), 50);
    assert!(!next.is_empty());
    let pages = tag_row_pages(&app, tag_rows_req(0)).await;
    assert_eq!(sizes(&pages), [50, 50, 2]);
    assert_distinct(&pages.concat());

    // 51 resources.
    let pages = resource_pages(&app, resources_req(0)).await;
    assert_eq!(sizes(&pages), [50, 1]);
    let listed: Vec<String> = pages.concat().into_iter().map(|r| r.0).collect();
    assert_eq!(listed, all_ids);

    // 52 keys: `env` and the 51 `k-…`.
    let pages = project_tag_pages(&app, project_tags_req(0)).await;
    assert_eq!(sizes(&pages), [50, 2]);
    assert_distinct(&pages.concat());
}

async fn the_page_size_may_change_between_pages(b: Backend) {
    let app = TestApp::spawn(b).await;
    seed_resources(&app, 0..7).await;
    seed_keys(&app, 7).await;

    let mut all = Vec::new();
    let mut req = tag_rows_req(0);
    for size in [3, 5, 1, 1000] {
        req.page_size = size;
        let (rows, next) = tag_rows_page(&app, &app.token, req.clone()).await.unwrap();
        all.extend(rows);
        req.next_token = next;
    }
    assert!(req.next_token.is_empty(), "the 1000-row page was the last");
    assert_distinct(&all);
    assert_eq!(all, seeded_rows(0..7));

    let mut all = Vec::new();
    let mut req = resources_req(0);
    for size in [2, 4, 1] {
        req.page_size = size;
        let (resources, next) = resources_page(&app, &app.token, req.clone()).await.unwrap();
        all.extend(resources);
        req.next_token = next;
    }
    assert!(req.next_token.is_empty());
    assert_eq!(all, seeded_resources(0..7));

    let mut all = Vec::new();
    let mut req = project_tags_req(0);
    req.resource_type = "smn_topic".into();
    for size in [4, 1, 2] {
        req.page_size = size;
        let (keys, next) = project_tags_page(&app, &app.token, req.clone())
            .await
            .unwrap();
        all.extend(keys);
        req.next_token = next;
    }
    assert!(req.next_token.is_empty());
    assert_eq!(all, seeded_keys(7));
}

/// The token of the first page of each listing, 3 per page, over seeded data.
async fn first_tokens(app: &TestApp) -> (String, String, String) {
    let (_, rows) = tag_rows_page(app, &app.token, tag_rows_req(3))
        .await
        .unwrap();
    let (_, resources) = resources_page(app, &app.token, resources_req(3))
        .await
        .unwrap();
    let (_, keys) = project_tags_page(app, &app.token, project_tags_req(3))
        .await
        .unwrap();
    for t in [&rows, &resources, &keys] {
        assert!(!t.is_empty(), "the first page has a token");
    }
    (rows, resources, keys)
}

async fn a_token_is_refused_with_other_parameters(b: Backend) {
    let app = TestApp::spawn(b).await;
    seed_resources(&app, 0..7).await;
    seed_keys(&app, 7).await;
    let (rows, resources, keys) = first_tokens(&app).await;
    let t = &app.token;

    let with = |mut req: pb::ListTagResourcesRequest| {
        req.next_token = rows.clone();
        req
    };
    // The same query with another page size is fine.
    tag_rows_page(&app, t, with(tag_rows_req(5)))
        .await
        .expect("same query");
    let mut other_value = tag_rows_req(3);
    other_value.tags = vec![tag("env", "dev")];
    let mut more_tags = tag_rows_req(3);
    more_tags.tags.push(tag("team", ""));
    let mut with_ids = tag_rows_req(3);
    with_ids.resource_ids = ids(&["r0", "r1", "r2", "r3", "r4", "r5", "r6"]);
    let mut other_type = tag_rows_req(3);
    other_type.resource_type = "smn_topic".into();
    for req in [other_value, more_tags, with_ids, other_type] {
        let err = tag_rows_page(&app, t, with(req)).await.unwrap_err();
        assert_invalid(&err, "next_token");
    }

    let with = |mut req: pb::ListResourcesRequest| {
        req.next_token = resources.clone();
        req
    };
    resources_page(&app, t, with(resources_req(1)))
        .await
        .expect("same query");
    let mut filtered = resources_req(3);
    filtered.tags = vec![pb::TagFilter {
        key: "env".into(),
        values: vec![],
    }];
    let mut excluded = resources_req(3);
    excluded.not_tags_any = vec![pb::TagFilter {
        key: "nope".into(),
        values: vec![],
    }];
    let mut untagged = resources_req(3);
    untagged.without_any_tag = true;
    let mut named = resources_req(3);
    named.matches = vec![pb::Match {
        key: "resource_name".into(),
        value: "x".into(),
    }];
    let mut other_type = resources_req(3);
    other_type.resource_type = "smn_topic".into();
    for req in [filtered, excluded, untagged, named, other_type] {
        let err = resources_page(&app, t, with(req)).await.unwrap_err();
        assert_invalid(&err, "next_token");
    }

    let with = |mut req: pb::ListProjectTagsRequest| {
        req.next_token = keys.clone();
        req
    };
    project_tags_page(&app, t, with(project_tags_req(1)))
        .await
        .expect("same query");
    let mut one_type = project_tags_req(3);
    one_type.resource_type = "CLUSTER".into();
    let err = project_tags_page(&app, t, with(one_type))
        .await
        .unwrap_err();
    assert_invalid(&err, "next_token");
}

async fn a_token_of_one_project_is_refused_in_another(b: Backend) {
    let app = TestApp::spawn(b).await;
    seed_resources(&app, 0..7).await;
    seed_keys(&app, 7).await;
    let (rows, resources, keys) = first_tokens(&app).await;
    let other = app.token_for("p2", false, false).await;
    // Project p2 holds the same ids, so only the binding to the project can refuse the token.
    for i in 0..7 {
        let req = pb::TagResourcesRequest {
            project_id: "p2".into(),
            resource_type: "CLUSTER".into(),
            resource_ids: vec![format!("r{i}")],
            tags: vec![tag("env", "dev"), tag("team", &format!("t{i}"))],
            expected_revision: None,
        };
        app.client
            .clone()
            .tag_resources(authed(&other, req))
            .await
            .unwrap();
    }

    let mut req = tag_rows_req(3);
    req.project_id = "p2".into();
    req.next_token = rows;
    assert_invalid(
        &tag_rows_page(&app, &other, req).await.unwrap_err(),
        "next_token",
    );

    let mut req = resources_req(3);
    req.project_id = "p2".into();
    req.next_token = resources;
    assert_invalid(
        &resources_page(&app, &other, req).await.unwrap_err(),
        "next_token",
    );

    let mut req = project_tags_req(3);
    req.project_id = "p2".into();
    req.next_token = keys;
    assert_invalid(
        &project_tags_page(&app, &other, req).await.unwrap_err(),
        "next_token",
    );
}

async fn a_token_of_a_system_caller_is_refused_for_a_normal_one(b: Backend) {
    let app = TestApp::spawn(b).await;
    seed_resources(&app, 0..7).await;
    let system = app.token_for(PROJECT, false, true).await;
    let (_, next) = tag_rows_page(&app, &system, tag_rows_req(3)).await.unwrap();
    assert!(!next.is_empty());
    let mut req = tag_rows_req(3);
    req.next_token = next.clone();
    tag_rows_page(&app, &system, req.clone())
        .await
        .expect("the system caller goes on");
    assert_invalid(
        &tag_rows_page(&app, &app.token, req).await.unwrap_err(),
        "next_token",
    );
}

/// `token` with the character in its middle replaced by another base64url character.
fn tampered(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let mid = chars.len() / 2;
    chars[mid] = if chars[mid] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

async fn altered_and_foreign_tokens_are_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    seed_resources(&app, 0..7).await;
    seed_keys(&app, 7).await;
    let (rows, resources, keys) = first_tokens(&app).await;
    let t = &app.token;

    let bad_tokens = [
        tampered(&rows),
        "not-a-token".to_owned(),
        "not base64!".to_owned(),
        rows[..rows.len() - 2].to_owned(),
        format!("{rows}AA"),
        format!("{rows}="),
        "A".repeat(5000),
        // Tokens of the other calls.
        resources.clone(),
        keys.clone(),
    ];
    for bad in bad_tokens {
        let mut req = tag_rows_req(3);
        req.next_token = bad.clone();
        let err = tag_rows_page(&app, t, req).await.expect_err(&bad);
        assert_invalid(&err, "next_token");
    }
    for bad in [tampered(&resources), rows.clone(), keys.clone()] {
        let mut req = resources_req(3);
        req.next_token = bad.clone();
        let err = resources_page(&app, t, req).await.expect_err(&bad);
        assert_invalid(&err, "next_token");
    }
    for bad in [tampered(&keys), rows.clone(), resources.clone()] {
        let mut req = project_tags_req(3);
        req.next_token = bad.clone();
        let err = project_tags_page(&app, t, req).await.expect_err(&bad);
        assert_invalid(&err, "next_token");
    }
    // The genuine tokens still open.
    let mut req = tag_rows_req(3);
    req.next_token = rows;
    let (page, _) = tag_rows_page(&app, t, req).await.unwrap();
    assert_eq!(page, seeded_rows(0..7)[3..6]);
}

async fn a_token_survives_a_server_restart(b: Backend) {
    let mut app = TestApp::spawn(b).await;
    seed_resources(&app, 0..7).await;
    let (first, next) = tag_rows_page(&app, &app.token, tag_rows_req(3))
        .await
        .unwrap();
    app.stop().await;

    // A new server on the same database, as after a restart or on another replica.
    let mut server = InProcessServer::start(&app.database_url, &[]).await;
    let addr = server.addr;
    let mut client = TaggingServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connects");

    let mut all = first;
    let mut req = tag_rows_req(3);
    req.next_token = next;
    loop {
        let resp = client
            .list_tag_resources(authed(&app.token, req.clone()))
            .await
            .expect("the old token opens on the new server")
            .into_inner();
        all.extend(
            resp.tag_resources
                .into_iter()
                .map(|r| (r.resource_id, r.tag_key, r.tag_value)),
        );
        if resp.next_token.is_empty() {
            break;
        }
        assert!(all.len() < RUNAWAY, "paging does not end");
        req.next_token = resp.next_token;
    }
    assert_distinct(&all);
    assert_eq!(all, seeded_rows(0..7));

    server.stop().await;
}

async fn a_token_is_refused_for_filters_that_only_flatten_alike(b: Backend) {
    // Two different filters whose keys and values, written one after the other, read the same:
    // A = tags [any: (any value), 4: p|q]     -> all · any 0 · 4 2 p q · any · not_all · not_any
    // B = tags_any [0: 2|p|q|any]             -> all · any · 0 4 2 p q any · not_all · not_any
    let app = TestApp::spawn(b).await;
    for id in ["r0", "r1", "r2"] {
        app.tag("CLUSTER", &[id], &[("any", "x"), ("4", "p")]).await;
    }
    let filter = |key: &str, values: &[&str]| pb::TagFilter {
        key: key.into(),
        values: ids(values),
    };
    let mut a = resources_req(1);
    a.tags = vec![filter("any", &[]), filter("4", &["p", "q"])];
    let (first, next) = resources_page(&app, &app.token, a).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(!next.is_empty());

    let mut b = resources_req(1);
    b.tags_any = vec![filter("0", &["2", "p", "q", "any"])];
    b.next_token = next;
    let answer = resources_page(&app, &app.token, b).await;
    let err = answer.expect_err("a token of filter A must not open for filter B");
    assert_invalid(&err, "next_token");
}

async fn tokens_carry_the_longest_multibyte_keys(b: Backend) {
    let app = TestApp::spawn(b).await;
    // 128 characters of 4 bytes each: the largest position a token can carry.
    let keys: Vec<String> = ["😀", "😁", "😂"].iter().map(|c| c.repeat(128)).collect();
    let pairs: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), "v")).collect();
    app.tag("CLUSTER", &["r0", "r1"], &pairs).await;

    let mut req = tag_rows_req(1);
    req.tags = vec![tag(&keys[0], "")];
    let pages = tag_row_pages(&app, req).await;
    assert_eq!(sizes(&pages), [1, 1, 1, 1, 1, 1]);
    let expected: Vec<Row> = ["r0", "r1"]
        .iter()
        .flat_map(|id| keys.iter().map(move |k| row(id, k, "v")))
        .collect();
    assert_eq!(pages.concat(), expected);

    let pages = project_tag_pages(&app, project_tags_req(1)).await;
    let listed: Vec<String> = pages.concat().into_iter().map(|k| k.0).collect();
    assert_eq!(listed, keys);
}

both_backends!(
    tag_rows_come_exactly_once_in_order_across_pages,
    a_page_ending_at_the_last_row_is_the_last_page,
    rows_added_after_the_first_page_do_not_repeat_earlier_rows,
    removing_the_row_a_token_points_at_does_not_break_the_next_page,
    resources_come_exactly_once_in_registration_order_across_pages,
    project_tags_come_exactly_once_in_key_order_across_pages,
    the_default_page_size_is_50,
    the_page_size_may_change_between_pages,
    a_token_is_refused_with_other_parameters,
    a_token_of_one_project_is_refused_in_another,
    a_token_of_a_system_caller_is_refused_for_a_normal_one,
    altered_and_foreign_tokens_are_refused,
    a_token_survives_a_server_restart,
    a_token_is_refused_for_filters_that_only_flatten_alike,
    tokens_carry_the_longest_multibyte_keys,
);
