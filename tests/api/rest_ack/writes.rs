//! `PUT` and `DELETE /tags`: what they change, and malformed writes that change nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::helpers::{Answer, Backend, TestApp, answer, assert_error, keys};

async fn put_tags_with_the_documented_body_tags_resources_seen_through_grpc(b: Backend) {
    let app = TestApp::spawn(b).await;
    let put = answer(
        app.rest()
            .put("/tags")
            .bearer_auth(&app.token)
            .json(&json!({
                "resource_type": "CLUSTER",
                "resource_ids": ["c1"],
                "tags": [{"key": "env", "value": "dev"}],
                "region_id": "cn-hangzhou"
            })),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(keys(&put.body), ["RequestId"]);
    assert_eq!(put.body["RequestId"], put.request_id.as_str());
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        [("env".to_owned(), "dev".to_owned())]
    );

    // The qualified type is accepted too, and a second PUT overwrites the value.
    let again = answer(
        app.rest()
            .put("/tags")
            .bearer_auth(&app.token)
            .json(&json!({
                "resource_type": "ALIYUN::CS::CLUSTER",
                "resource_ids": ["c1", "c2"],
                "tags": [{"key": "env", "value": "prod"}, {"key": "team", "value": "a"}]
            })),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        [
            ("env".to_owned(), "prod".to_owned()),
            ("team".to_owned(), "a".to_owned())
        ]
    );
    assert_eq!(
        app.resource_tags("CLUSTER", "c2").await.unwrap(),
        [
            ("env".to_owned(), "prod".to_owned()),
            ("team".to_owned(), "a".to_owned())
        ]
    );
}

async fn delete_tags_removes_only_the_named_keys_of_the_named_resources(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1", "c2"], &[("env", "dev"), ("team", "a")])
        .await;

    let deleted = answer(app.rest().delete("/tags").bearer_auth(&app.token).query(&[
        ("resource_type", "CLUSTER"),
        ("resource_ids", r#"["c1"]"#),
        ("tag_keys", r#"["env"]"#),
    ]))
    .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert_eq!(keys(&deleted.body), ["RequestId"]);
    assert_eq!(deleted.body["RequestId"], deleted.request_id.as_str());
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        [("team".to_owned(), "a".to_owned())]
    );
    assert_eq!(
        app.resource_tags("CLUSTER", "c2").await.unwrap(),
        [
            ("env".to_owned(), "dev".to_owned()),
            ("team".to_owned(), "a".to_owned())
        ]
    );
}

/// `DELETE /tags` of one CLUSTER with `all` and no `tag_keys`.
async fn delete_all(app: &TestApp, id: &str, all: &str) -> Answer {
    let ids = format!(r#"["{id}"]"#);
    answer(app.rest().delete("/tags").bearer_auth(&app.token).query(&[
        ("resource_type", "CLUSTER"),
        ("resource_ids", ids.as_str()),
        ("all", all),
    ]))
    .await
}

async fn delete_with_all_removes_every_tag_in_either_spelling_and_refuses_other_values(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag(
        "CLUSTER",
        &["c1", "c2", "c3"],
        &[("env", "dev"), ("team", "a")],
    )
    .await;
    for (id, spelling) in [("c1", "True"), ("c2", "true")] {
        let a = delete_all(&app, id, spelling).await;
        assert_eq!(a.status, StatusCode::OK, "all={spelling}: {}", a.body);
        assert_eq!(keys(&a.body), ["RequestId"]);
        let left = list(&app, &[("resource_ids", &format!(r#"["{id}"]"#))]).await;
        assert_eq!(rows(&left), [], "all={spelling} left tags on {id}");
    }

    let maybe = delete_all(&app, "c3", "maybe").await;
    assert_error(&maybe, 400, "InvalidParameter", "all");
    let unsure = delete_all(&app, "c3", "False").await;
    assert_error(&unsure, 400, "InvalidParameter", "tag_keys");
    assert_eq!(
        app.resource_tags("CLUSTER", "c3").await.unwrap().len(),
        2,
        "refused deletes removed tags"
    );
}

async fn malformed_writes_are_invalid_parameter_and_change_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1"], &[("env", "dev")]).await;
    let many_tags: Vec<Value> = (0..21)
        .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
        .collect();
    let many_ids: Vec<String> = (0..51).map(|i| format!("c{i}")).collect();

    let not_json = answer(
        app.rest()
            .put("/tags")
            .bearer_auth(&app.token)
            .header("content-type", "application/json")
            .body("resource_type=CLUSTER&resource_ids=c1"),
    )
    .await;
    assert_error(&not_json, 400, "InvalidParameter", "body");

    let bodies = [
        (
            json!({"resource_ids": ["c1"], "tags": [{"key": "env", "value": "x"}]}),
            "resource_type",
        ),
        (
            json!({"resource_type": "CLUSTER", "resource_ids": ["c1"], "tags": many_tags}),
            "tags",
        ),
        (
            json!({"resource_type": "CLUSTER", "resource_ids": many_ids, "tags": [{"key": "env", "value": "x"}]}),
            "resource_ids",
        ),
        (
            json!({"resource_type": "CLUSTER", "resource_ids": "c1", "tags": [{"key": "env", "value": "x"}]}),
            "body",
        ),
    ];
    for (body, field) in bodies {
        let a = answer(app.rest().put("/tags").bearer_auth(&app.token).json(&body)).await;
        assert_error(&a, 400, "InvalidParameter", field);
    }

    let twice = answer(app.rest().delete("/tags").bearer_auth(&app.token).query(&[
        ("resource_type", "CLUSTER"),
        ("resource_ids", r#"["c1"]"#),
        ("tag_keys", r#"["env"]"#),
        ("tag_keys", r#"["team"]"#),
    ]))
    .await;
    assert_error(&twice, 400, "InvalidParameter", "tag_keys");
    let bad_keys = answer(app.rest().delete("/tags").bearer_auth(&app.token).query(&[
        ("resource_type", "CLUSTER"),
        ("resource_ids", r#"["c1"]"#),
        ("tag_keys", "env"),
    ]))
    .await;
    assert_error(&bad_keys, 400, "InvalidParameter", "tag_keys");

    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        [("env".to_owned(), "dev".to_owned())]
    );
}

both_backends!(
    put_tags_with_the_documented_body_tags_resources_seen_through_grpc,
    delete_tags_removes_only_the_named_keys_of_the_named_resources,
    delete_with_all_removes_every_tag_in_either_spelling_and_refuses_other_values,
    malformed_writes_are_invalid_parameter_and_change_nothing,
);
