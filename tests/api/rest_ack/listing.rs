//! `GET /tags`: the seed's sample, malformed queries, paging, and the same rows as gRPC.

use serde_json::json;

use super::*;
use crate::helpers::{Backend, TestApp, answer, assert_error, authed, ids, pb, row, tag};

async fn seeds_sample_request_lists_the_tagged_rows_in_acks_exact_shape(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["xxx", "yyy"], &[("env", "dev"), ("dep", "IT")])
        .await;
    app.tag("CLUSTER", &["zzz"], &[("env", "dev"), ("dep", "IT")])
        .await;
    app.tag("CLUSTER", &["www"], &[("env", "dev")]).await;

    let sample = answer(app.rest().get("/tags").bearer_auth(&app.token).query(&[
        ("resource_ids", r#"["xxx","yyy"]"#),
        ("resource_type", "CLUSTER"),
        (
            "tags",
            r#"[{"key":"env","value":"dev"},{"key":"dep","value":"IT"}]"#,
        ),
    ]))
    .await;
    assert_eq!(
        rows(&sample),
        [
            row("xxx", "dep", "IT"),
            row("xxx", "env", "dev"),
            row("yyy", "dep", "IT"),
            row("yyy", "env", "dev"),
        ]
    );
    assert_eq!(sample.body["next_token"], "");
    assert!(!sample.request_id.is_empty());
    assert_eq!(sample.body["request_id"], sample.request_id.as_str());

    // The seed's request as written: brackets and braces raw, only the quotes percent-encoded.
    let raw = r#"/tags?resource_ids=["xxx","yyy"]&resource_type=CLUSTER&tags=[{"key":"env","value":"dev"},{"key":"dep","value":"IT"}]"#;
    let as_written = answer(app.rest().get(raw).bearer_auth(&app.token)).await;
    assert_eq!(rows(&as_written), rows(&sample));

    let again = list(&app, &[("tags", r#"[{"key":"dep","value":"IT"}]"#)]).await;
    assert_eq!(rows(&again).len(), 6, "{}", again.body);
    assert_ne!(
        again.request_id, sample.request_id,
        "every request gets an id of its own"
    );
    assert_eq!(again.body["request_id"], again.request_id.as_str());
}

async fn each_malformed_list_request_is_invalid_parameter_naming_its_field(b: Backend) {
    let app = TestApp::spawn(b).await;
    let tags21 = serde_json::to_string(
        &(0..21)
            .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let ids51 =
        serde_json::to_string(&(0..51).map(|i| format!("c{i}")).collect::<Vec<_>>()).unwrap();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("resource_ids", r#"["c1"]"#)], "resource_type"),
        (
            vec![("resource_type", "VPC"), ("resource_ids", r#"["c1"]"#)],
            "resource_type",
        ),
        (vec![("resource_type", "CLUSTER")], "resource_ids"),
        (
            vec![("resource_type", "CLUSTER"), ("resource_ids", r#"["c1""#)],
            "resource_ids",
        ),
        (
            vec![("resource_type", "CLUSTER"), ("resource_ids", "c1")],
            "resource_ids",
        ),
        // The seed's own example, with its typo.
        (
            vec![
                ("resource_type", "CLUSTER"),
                ("tags", r#"[{"key":"env","value","dev"}]"#),
            ],
            "tags",
        ),
        (
            vec![("resource_type", "CLUSTER"), ("tags", tags21.as_str())],
            "tags",
        ),
        (
            vec![
                ("resource_type", "CLUSTER"),
                ("resource_ids", ids51.as_str()),
            ],
            "resource_ids",
        ),
        (
            vec![
                ("resource_type", "CLUSTER"),
                ("resource_type", "CLUSTER"),
                ("resource_ids", r#"["c1"]"#),
            ],
            "resource_type",
        ),
        (
            vec![
                ("resource_type", "CLUSTER"),
                ("resource_ids", r#"["c1"]"#),
                ("resource_ids", r#"["c2"]"#),
            ],
            "resource_ids",
        ),
        (
            vec![
                ("resource_type", "CLUSTER"),
                ("resource_ids", r#"["c1"]"#),
                ("page_size", "two"),
            ],
            "page_size",
        ),
        (
            vec![
                ("resource_type", "CLUSTER"),
                ("resource_ids", r#"["c1"]"#),
                ("page_size", "1001"),
            ],
            "page_size",
        ),
    ];
    for (query, field) in cases {
        let a = answer(
            app.rest()
                .get("/tags")
                .bearer_auth(&app.token)
                .query(&query),
        )
        .await;
        assert_error(&a, 400, "InvalidParameter", field);
    }
}

async fn page_size_and_next_token_walk_every_row_exactly_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag(
        "CLUSTER",
        &["c1", "c2", "c3"],
        &[("env", "dev"), ("team", "a")],
    )
    .await;
    app.tag("CLUSTER", &["c4"], &[("team", "a")]).await;
    let filter = r#"[{"key":"env","value":"dev"}]"#;

    let everything = rows(&list(&app, &[("tags", filter)]).await);
    assert_eq!(everything.len(), 6);

    let mut walked = Vec::new();
    let mut pages = 0;
    let mut token = String::new();
    loop {
        let page = list(
            &app,
            &[("tags", filter), ("page_size", "2"), ("next_token", &token)],
        )
        .await;
        let got = rows(&page);
        assert!(got.len() <= 2, "page of {} rows", got.len());
        walked.extend(got);
        pages += 1;
        token = next_token(&page);
        if token.is_empty() {
            break;
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(walked, everything);
    assert_eq!(pages, 3);

    let first = list(&app, &[("tags", filter), ("page_size", "2")]).await;
    let token = next_token(&first);
    assert!(!token.is_empty());
    let mut tampered: Vec<char> = token.chars().collect();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    let refused = list(
        &app,
        &[
            ("tags", filter),
            ("page_size", "2"),
            ("next_token", &tampered),
        ],
    )
    .await;
    assert_error(&refused, 400, "InvalidParameter", "next_token");

    let other_query = list(
        &app,
        &[
            ("tags", r#"[{"key":"team","value":"a"}]"#),
            ("page_size", "2"),
            ("next_token", &token),
        ],
    )
    .await;
    assert_error(&other_query, 400, "InvalidParameter", "next_token");
}

/// A ListTagResources query of CLUSTER: resource ids and tag pairs.
type Query<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);

async fn rest_and_grpc_answer_the_same_query_with_the_same_rows(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1", "c2"], &[("env", "dev"), ("team", "a")])
        .await;
    app.tag("CLUSTER", &["c3"], &[("env", "prod"), ("team", "a")])
        .await;
    app.tag("CLUSTER", &["c4"], &[("owner", "ops")]).await;
    app.tag("smn_topic", &["c1"], &[("env", "dev")]).await;

    let queries: [Query; 4] = [
        (&["c1", "c3"], &[]),
        (&[], &[("env", "")]),
        (&["c2", "c3", "c4"], &[("team", "a")]),
        (&[], &[("env", "dev"), ("team", "a")]),
    ];
    for (resource_ids, tags) in queries {
        let req = pb::ListTagResourcesRequest {
            resource_type: "CLUSTER".into(),
            resource_ids: ids(resource_ids),
            tags: tags.iter().map(|(k, v)| tag(k, v)).collect(),
            ..Default::default()
        };
        let grpc: Vec<_> = app
            .client
            .clone()
            .list_tag_resources(authed(&app.token, req))
            .await
            .expect("gRPC list")
            .into_inner()
            .tag_resources
            .into_iter()
            .map(|r| {
                assert_eq!(r.resource_type, "ALIYUN::CS::CLUSTER");
                (r.resource_id, r.tag_key, r.tag_value)
            })
            .collect();
        assert!(!grpc.is_empty(), "query {resource_ids:?} {tags:?} matches");

        let ids_json = serde_json::to_string(resource_ids).unwrap();
        let tags_json = serde_json::to_string(
            &tags
                .iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let rest = list(&app, &[("resource_ids", &ids_json), ("tags", &tags_json)]).await;
        assert_eq!(rows(&rest), grpc, "query {resource_ids:?} {tags:?}");
    }
}

both_backends!(
    seeds_sample_request_lists_the_tagged_rows_in_acks_exact_shape,
    each_malformed_list_request_is_invalid_parameter_naming_its_field,
    page_size_and_next_token_walk_every_row_exactly_once,
    rest_and_grpc_answer_the_same_query_with_the_same_rows,
);
