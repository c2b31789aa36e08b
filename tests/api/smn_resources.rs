//! The SMN routes of the RPCs that had none: a resource registered, renamed and deleted over REST
//! (`PUT`/`DELETE /v2/{project_id}/{resource_type}/{resource_id}`), and the count at its own path
//! (`POST …/resource_instances/count`), each the same operation gRPC calls.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tagging_service::proto::pb;
use tonic::Code;

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use crate::helpers::{Backend, TestApp, authed, report};

/// Sends `body` (JSON, or no body for `None`) with the app's token; answers status and JSON body.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("http://{}/v2/{path}", app.addr))
        .header("x-auth-token", &app.token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let res = request.send().await.expect("answered");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn put_resource_over_rest_registers_renames_and_delete_removes_it_with_its_tags(b: Backend) {
    let app = TestApp::spawn(b).await;
    let path = "p1/smn_topic/t9";
    let (status, body) = send(&app, Method::PUT, path, Some(json!({"name": "orders"}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"resource": {"resource_id": "t9", "resource_name": "orders", "resource_detail": {}, "tags": []}})
    );
    let by_name = pb::ListResourceTagsRequest {
        resource_type: "smn_topic".into(),
        resource_id: "orders".into(),
        resource_id_type: pb::ResourceIdType::Name.into(),
        ..Default::default()
    };
    let found = app
        .client
        .clone()
        .list_resource_tags(authed(&app.token, by_name))
        .await;
    assert!(found.is_ok(), "registered under its name: {found:?}");

    app.tag("smn_topic", &["t9"], &[("env", "dev")]).await;
    let (status, body) = send(&app, Method::PUT, path, Some(json!({"name": "billing"}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["resource"]["resource_name"], "billing");
    assert_eq!(
        body["resource"]["tags"],
        json!([{"key": "env", "value": "dev"}])
    );

    let (status, body) = send(
        &app,
        Method::PUT,
        "p1/smn_topic/t10",
        Some(json!({"name": "billing"})),
    )
    .await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::CONFLICT, &json!("SMN.00010409")),
        "{body}"
    );
    let (status, body) = send(&app, Method::PUT, "p1/smn_topic/t10", Some(json!([1]))).await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::BAD_REQUEST, &json!("SMN.00010400")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("body:"),
        "{body}"
    );
    assert_eq!(
        app.resource_tags("smn_topic", "t10")
            .await
            .expect_err("never registered")
            .code(),
        Code::NotFound
    );

    let (status, body) = send(&app, Method::DELETE, path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        app.resource_tags("smn_topic", "t9")
            .await
            .expect_err("deleted")
            .code(),
        Code::NotFound
    );
    let (status, body) = send(&app, Method::DELETE, path, None).await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::NOT_FOUND, &json!("SMN.00010404")),
        "{body}"
    );
}

async fn the_count_route_answers_what_the_count_action_and_grpc_answer(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1", "c2", "c3"], &[("env", "dev")])
        .await;
    app.tag("CLUSTER", &["c2", "c4"], &[("tier", "web")]).await;
    let filters = [
        json!({}),
        json!({"tags": [{"key": "env", "values": ["dev"]}]}),
        json!({"tags_any": [{"key": "tier"}], "not_tags": [{"key": "env"}]}),
        json!({"without_any_tag": true}),
    ];
    for filter in filters {
        let (status, counted) = send(
            &app,
            Method::POST,
            "p1/CLUSTER/resource_instances/count",
            Some(filter.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{counted}");
        let mut action = filter.clone();
        action["action"] = json!("count");
        let (_, by_action) = send(
            &app,
            Method::POST,
            "p1/CLUSTER/resource_instances/action",
            Some(action),
        )
        .await;
        assert_eq!(counted, by_action, "{filter}");
        let request: pb::CountResourcesRequest = pb::CountResourcesRequest {
            resource_type: "CLUSTER".into(),
            tags: filter_list(&filter["tags"]),
            tags_any: filter_list(&filter["tags_any"]),
            not_tags: filter_list(&filter["not_tags"]),
            without_any_tag: filter["without_any_tag"] == true,
            ..Default::default()
        };
        let grpc = app
            .client
            .clone()
            .count_resources(authed(&app.token, request))
            .await
            .expect("count")
            .into_inner();
        assert_eq!(
            counted,
            json!({"total_count": grpc.total_count}),
            "{filter}"
        );
    }
    let contradictory = json!({"without_any_tag": true, "tags": [{"key": "env"}]});
    let (status, body) = send(
        &app,
        Method::POST,
        "p1/CLUSTER/resource_instances/count",
        Some(contradictory),
    )
    .await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::BAD_REQUEST, &json!("SMN.00010400")),
        "{body}"
    );
}

/// SMN's filter answers a page and the total of all matches. Read apart, a write between the two
/// would show a total that disagrees with the page; read from one snapshot, they always agree.
async fn a_filter_page_and_its_total_count_agree_while_writers_change_the_matches(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag(
        "CLUSTER",
        &["base-1", "base-2", "base-3"],
        &[("env", "dev")],
    )
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (client, token, stop) = (app.client.clone(), app.token.clone(), stop.clone());
        tokio::spawn(async move {
            let batch: Vec<String> = (0..20).map(|i| format!("w-{i}")).collect();
            let mut writes = 0;
            while !stop.load(Ordering::Relaxed) {
                let tag = pb::TagResourcesRequest {
                    resource_type: "CLUSTER".into(),
                    resource_ids: batch.clone(),
                    tags: vec![pb::Tag {
                        key: "env".into(),
                        value: "dev".into(),
                    }],
                    ..Default::default()
                };
                client
                    .clone()
                    .tag_resources(authed(&token, tag))
                    .await
                    .expect("tag");
                let untag = pb::UntagResourcesRequest {
                    resource_type: "CLUSTER".into(),
                    resource_ids: batch.clone(),
                    all: true,
                    ..Default::default()
                };
                client
                    .clone()
                    .untag_resources(authed(&token, untag))
                    .await
                    .expect("untag");
                writes += 2;
            }
            writes
        })
    };
    let filter = json!({
        "action": "filter", "tags": [{"key": "env", "values": ["dev"]}], "limit": "1000", "offset": "2"
    });
    let mut totals = std::collections::BTreeSet::new();
    for read in 0..60 {
        let (status, page) = send(
            &app,
            Method::POST,
            "p1/CLUSTER/resource_instances/action",
            Some(filter.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let total = page["total_count"].as_i64().expect("a total");
        let listed = page["resources"].as_array().expect("resources").len() as i64;
        assert_eq!(
            listed,
            total - 2,
            "read {read}: the page skips 2 of the total: {page}"
        );
        totals.insert(total);
    }
    stop.store(true, Ordering::Relaxed);
    let writes = writer.await.expect("the writer");
    assert!(writes > 0, "the writer wrote while the filter read");
    report(&format!(
        "filter page vs total ({b:?}): 60 reads, totals seen {totals:?}, {writes} writes"
    ));
}

fn filter_list(list: &Value) -> Vec<pb::TagFilter> {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    list.as_array()
        .map(|filters| {
            filters
                .iter()
                .map(|f| pb::TagFilter {
                    key: f["key"].as_str().unwrap_or_default().to_owned(),
                    values: strings(&f["values"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

both_backends!(
    put_resource_over_rest_registers_renames_and_delete_removes_it_with_its_tags,
    the_count_route_answers_what_the_count_action_and_grpc_answer,
    a_filter_page_and_its_total_count_agree_while_writers_change_the_matches,
);
